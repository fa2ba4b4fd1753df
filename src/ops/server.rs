//! A small HTTP/1.1 server for the endpoints, on a thread of its own: for
//! services without an HTTP stack of their own.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::thread::JoinHandle;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full, LengthLimitError, Limited};
use hyper_util::rt::{TokioIo, TokioTimer};

use super::Ops;
use super::filter::MAX_BODY;
use super::service::text;

/// How the server treats its clients ([`OpsBuilder`](super::OpsBuilder)).
#[derive(Clone, Copy, Debug)]
pub(super) struct Limits {
    pub(super) header_read_timeout: Duration,
    pub(super) max_connections: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            header_read_timeout: Duration::from_secs(10),
            max_connections: 2048,
        }
    }
}

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
    /// Reads the request's body (a `PUT /filter`'s directives, at most
    /// [`MAX_BODY`] bytes) and answers it.
    async fn answer(
        &self,
        request: http::Request<hyper::body::Incoming>,
    ) -> http::Response<Full<Bytes>> {
        let (parts, body) = request.into_parts();
        let body = match Limited::new(body, MAX_BODY).collect().await {
            Ok(body) => body.to_bytes(),
            Err(e) if e.is::<LengthLimitError>() => {
                return text(
                    http::StatusCode::PAYLOAD_TOO_LARGE,
                    "text/plain",
                    format!("the body is over {MAX_BODY} bytes\n"),
                );
            }
            Err(e) => {
                return text(
                    http::StatusCode::BAD_REQUEST,
                    "text/plain",
                    format!("the body could not be read: {e}\n"),
                );
            }
        };
        self.respond_with_body(&http::Request::from_parts(parts, body))
    }

    /// Serves the endpoints on `addr` from a thread of its own (a
    /// single-threaded runtime). A client that has not sent a full request
    /// head within the header-read timeout of its connecting (10 s by
    /// default) is cut, whether it sent nothing or a byte at a time; past
    /// the connection cap (2,048), a new connection is closed at once
    /// (see [`OpsBuilder`](super::OpsBuilder)). An error if the address
    /// cannot be bound. Give it a loopback address unless the endpoints
    /// must be reached from elsewhere.
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
        let limits = self.inner.limits;
        let permits = std::sync::Arc::new(tokio::sync::Semaphore::new(limits.max_connections));
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
                        // Past the cap: closed at once (dropped).
                        let Ok(permit) = std::sync::Arc::clone(&permits).try_acquire_owned() else {
                            continue;
                        };
                        let ops = ops.clone();
                        tokio::spawn(async move {
                            let _permit = permit;
                            // hyper's header timeout runs from the first
                            // byte: a client that sends none is cut here.
                            let first =
                                tokio::time::timeout(limits.header_read_timeout, stream.readable());
                            if !matches!(first.await, Ok(Ok(()))) {
                                return;
                            }
                            let service = hyper::service::service_fn(
                                move |request: http::Request<hyper::body::Incoming>| {
                                    let ops = ops.clone();
                                    async move { Ok::<_, Infallible>(ops.answer(request).await) }
                                },
                            );
                            let _ = hyper::server::conn::http1::Builder::new()
                                .timer(TokioTimer::new())
                                .header_read_timeout(limits.header_read_timeout)
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
