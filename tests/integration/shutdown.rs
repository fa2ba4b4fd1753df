//! The guard's shutdown always returns within its timeout (+1 s), whatever
//! the collector does and wherever it is called from (issue 27's matrix,
//! the OTLP rows): a collector that accepts and never answers, and one that
//! refuses connections; from the main thread, inside a multi-thread and a
//! current-thread tokio runtime, inside a task, and while a panic unwinds.

use std::net::TcpListener;
use std::time::{Duration, Instant};

use warden::Warden;
use warden::otlp::Otlp;
use warden_test_support::{Buffer, Scratch};

/// The shutdown timeout of every case.
const TIMEOUT: Duration = Duration::from_secs(2);

/// A collector that accepts connections and never reads or answers; its
/// address.
fn silent_collector() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for stream in listener.incoming() {
            held.push(stream);
        }
    });
    format!("http://{addr}")
}

/// An address where nothing listens: connections are refused.
fn refusing_collector() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    drop(listener);
    format!("http://{addr}")
}

/// The whole stack exporting to `endpoint`, with something logged and
/// audited to export; returns how long the guard's shutdown took.
fn log_then_shut_down(endpoint: &str, dir: &Scratch) -> (Duration, warden::core::FlushResult) {
    let (subscriber, guard) = Warden::builder()
        .audit_sqlite(dir.path("audit.db"))
        .otlp(
            Otlp::builder()
                .ignore_env()
                .endpoint(endpoint)
                .timeout(Duration::from_millis(500)),
        )
        .writer(Buffer::default())
        .shutdown_timeout(TIMEOUT)
        .build()
        .unwrap();
    tracing::subscriber::with_default(subscriber, || {
        for i in 0..200 {
            let _span = tracing::info_span!("request", i).entered();
            tracing::info!(i, "work");
        }
        tracing::info!(target: "audit", event_type = "api_call", action = "ping", "audited");
    });
    let start = Instant::now();
    let result = guard.shutdown(TIMEOUT);
    (start.elapsed(), result)
}

fn check(case: &str, (took, result): (Duration, warden::core::FlushResult)) {
    assert!(
        took <= TIMEOUT + Duration::from_secs(1),
        "{case}: shutdown took {took:?} ({result:?})"
    );
}

#[test]
fn shutdown_returns_within_its_timeout_in_every_context_and_against_any_collector() {
    for (collector, endpoint) in [
        ("silent", silent_collector()),
        ("refusing", refusing_collector()),
    ] {
        let dir = Scratch::new();
        check(
            &format!("{collector}, main thread"),
            log_then_shut_down(&endpoint, &dir),
        );

        let multi = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        let took = multi.block_on(async { log_then_shut_down(&endpoint, &dir) });
        check(&format!("{collector}, in a multi-thread runtime"), took);
        let task = {
            let endpoint = endpoint.clone();
            multi.spawn(async move {
                let dir = Scratch::new();
                log_then_shut_down(&endpoint, &dir)
            })
        };
        let took = multi.block_on(task).unwrap();
        check(&format!("{collector}, in a task"), took);

        let current = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let took = current.block_on(async { log_then_shut_down(&endpoint, &dir) });
        check(&format!("{collector}, in a current-thread runtime"), took);

        // Dropped while a panic unwinds: the guard's drop shuts down with
        // the builder's timeout.
        let start = Instant::now();
        let unwound = std::panic::catch_unwind(|| {
            let (subscriber, _guard) = Warden::builder()
                .audit_sqlite(dir.path("panic.db"))
                .otlp(
                    Otlp::builder()
                        .ignore_env()
                        .endpoint(endpoint.as_str())
                        .timeout(Duration::from_millis(500)),
                )
                .writer(Buffer::default())
                .shutdown_timeout(TIMEOUT)
                .build()
                .unwrap();
            tracing::subscriber::with_default(subscriber, || tracing::info!("before the panic"));
            panic!("unwinding with the guard alive");
        });
        assert!(unwound.is_err());
        let took = start.elapsed();
        assert!(
            took <= TIMEOUT + Duration::from_secs(1),
            "{collector}, during a panic: {took:?}"
        );
    }
}
