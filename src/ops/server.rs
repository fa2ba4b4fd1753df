//! A small HTTP/1.1 server for the endpoints, on a thread of its own: for
//! services without an HTTP stack of their own.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::thread::JoinHandle;
use std::time::Duration;

use hyper_util::rt::{TokioIo, TokioTimer};

use super::Ops;

/// The running server of [`Ops::serve`]; stops when dropped.
#[derive(Debug)]
pub struct OpsServer {
    addr: SocketAddr,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl OpsServer {
    /// The address it listens on (with the port the system chose for `:0`).
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }
}

impl Drop for OpsServer {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

impl Ops {
    /// Serves the endpoints on `addr` from a thread of its own (a
    /// single-threaded runtime; slow clients are cut after 10 s without a
    /// full request head). An error if the address cannot be bound.
    pub fn serve(&self, addr: SocketAddr) -> std::io::Result<OpsServer> {
        let listener = std::net::TcpListener::bind(addr)?;
        listener.set_nonblocking(true)?;
        let addr = listener.local_addr()?;
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_io()
            .enable_time()
            .build()?;
        let (stop, mut stopped) = tokio::sync::oneshot::channel::<()>();
        let ops = self.clone();
        let thread = std::thread::Builder::new()
            .name("warden-ops".into())
            .spawn(move || {
                runtime.block_on(async move {
                    let Ok(listener) = tokio::net::TcpListener::from_std(listener) else {
                        return;
                    };
                    loop {
                        let stream = tokio::select! {
                            _ = &mut stopped => break,
                            accepted = listener.accept() => match accepted {
                                Ok((stream, _)) => stream,
                                Err(_) => continue,
                            },
                        };
                        let ops = ops.clone();
                        tokio::spawn(async move {
                            let service = hyper::service::service_fn(
                                move |request: http::Request<hyper::body::Incoming>| {
                                    let accept = request
                                        .headers()
                                        .get(http::header::ACCEPT)
                                        .and_then(|v| v.to_str().ok());
                                    let response =
                                        ops.respond(request.method(), request.uri().path(), accept);
                                    async move { Ok::<_, Infallible>(response) }
                                },
                            );
                            let _ = hyper::server::conn::http1::Builder::new()
                                .timer(TokioTimer::new())
                                .header_read_timeout(Duration::from_secs(10))
                                .serve_connection(TokioIo::new(stream), service)
                                .await;
                        });
                    }
                });
            })?;
        Ok(OpsServer {
            addr,
            stop: Some(stop),
            thread: Some(thread),
        })
    }
}
