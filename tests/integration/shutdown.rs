//! The guard's shutdown always returns within its timeout (+1 s), whatever
//! the collector does and wherever it is called from (issue 27's matrix,
//! the OTLP rows): a collector that accepts and never answers, and one that
//! refuses connections; from the main thread, inside a multi-thread and a
//! current-thread tokio runtime, inside a task, and while a panic unwinds.

use std::net::TcpListener;
use std::time::{Duration, Instant};

use warden::otlp::Otlp;
use warden::{ShutdownReport, Warden};
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

/// A collector that answers every request with a 503 and closes the
/// connection (an HTTP/1.1 answer to gRPC's HTTP/2 too: a protocol error).
fn refusing_collector() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let _ = std::io::Write::write_all(
                &mut stream,
                b"HTTP/1.1 503 Service Unavailable\r\ncontent-length: 0\r\nconnection: close\r\n\r\n",
            );
        }
    });
    format!("http://{addr}")
}

/// An address where nothing listens: the collector is down, connections
/// are refused.
fn down_collector() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    drop(listener);
    format!("http://{addr}")
}

/// The whole stack exporting to `endpoint`, with something logged and
/// audited to export; returns how long the guard's shutdown took.
fn log_then_shut_down(endpoint: &str, dir: &Scratch) -> (Duration, ShutdownReport) {
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
    let report = guard.shutdown_report(TIMEOUT);
    (start.elapsed(), report)
}

/// Within the timeout plus a second, and every record accounted for:
/// none of these collectors takes anything, so each signal's records are
/// all failed, dropped or still queued, and the SQLite route wrote its one.
fn check(case: &str, (took, report): (Duration, ShutdownReport)) {
    assert!(
        took <= TIMEOUT + Duration::from_secs(1),
        "{case}: shutdown took {took:?} ({report})"
    );
    let otlp = report.otlp.expect("an exporter");
    let all = |s: warden::otlp::SignalStats| s.exported + s.dropped + s.failed + s.queued;
    for (signal, stats, produced) in [
        ("spans", otlp.spans, 200),
        // The 200 lines, and the audit event's line.
        ("logs", otlp.logs, 201),
        // The audit record, and the store's shutdown checkpoint (the
        // exporter is its witness).
        ("audit", otlp.audit, 2),
    ] {
        assert_eq!(stats.exported, 0, "{case}, {signal}: {report}");
        assert_eq!(all(stats), produced, "{case}, {signal}: {report}");
    }
    let sqlite = report.audit.iter().find(|r| r.name == "sqlite");
    assert_eq!(
        sqlite.map(|r| (r.written, r.dropped, r.pending)),
        Some((1, 0, 0)),
        "{case}: {report}"
    );
    assert_eq!(report.lost(), 200 + 201 + 2, "{case}: {report}");
    assert!(!report.is_complete());
}

#[test]
fn shutdown_returns_within_its_timeout_in_every_context_and_against_any_collector() {
    for (collector, endpoint) in [
        ("silent", silent_collector()),
        ("refusing", refusing_collector()),
        ("down", down_collector()),
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
        let exporter = std::sync::Mutex::new(None);
        let unwound = std::panic::catch_unwind(|| {
            let (subscriber, guard) = Warden::builder()
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
            // A handle on the exporter, to read its counts after the drop.
            *exporter.lock().unwrap() = guard.otlp().cloned();
            panic!("unwinding with the guard alive");
        });
        assert!(unwound.is_err());
        let took = start.elapsed();
        let stats = exporter
            .lock()
            .unwrap()
            .take()
            .expect("an exporter")
            .stats();
        let all = |s: warden::otlp::SignalStats| s.exported + s.dropped + s.failed + s.queued;
        assert_eq!(
            (stats.logs.exported, all(stats.logs), all(stats.spans)),
            (0, 1, 0),
            "{collector}, during a panic: {stats}"
        );
        assert!(
            took <= TIMEOUT + Duration::from_secs(1),
            "{collector}, during a panic: {took:?}"
        );
    }
}

/// The PostgreSQL store stopped under the stack: the shutdown returns within
/// its timeout (+1 s), and every audit record is accounted for: written
/// before the stop, or counted unwritten (`pending`) or dropped.
#[cfg(feature = "postgres")]
#[test]
fn shutdown_returns_within_its_timeout_with_postgresql_stopped() {
    let server = warden_test_support::Postgres::start();
    let (subscriber, guard) = Warden::builder()
        .audit_postgres(server.admin_url())
        .audit_key(warden::audit::AuditKey::new(*b"the fleet's shared audit key").unwrap())
        .without_otlp()
        .writer(Buffer::default())
        .shutdown_timeout(TIMEOUT)
        .build()
        .unwrap();
    let dispatch = tracing::Dispatch::new(subscriber);
    tracing::dispatcher::with_default(&dispatch, || {
        warden::audit::security!(action = "before_the_stop");
    });
    // Written before the server goes away.
    let deadline = Instant::now() + Duration::from_secs(10);
    while guard.losses().audit.iter().any(|r| r.pending > 0) || written(&guard) < 1 {
        assert!(
            Instant::now() < deadline,
            "the first record was never written"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    server.stop();
    tracing::dispatcher::with_default(&dispatch, || {
        for i in 0..5u64 {
            warden::audit::security!(action = "after_the_stop", attempt = i);
        }
    });
    let start = Instant::now();
    let report = guard.shutdown_report(TIMEOUT);
    let took = start.elapsed();
    assert!(
        took <= TIMEOUT + Duration::from_secs(1),
        "shutdown took {took:?}: {report}"
    );
    let route = &report.audit[0];
    assert_eq!(route.written, 1, "{report}");
    assert_eq!(route.written + route.dropped + route.pending, 6, "{report}");
    assert_eq!(report.lost(), 5, "{report}");
}

/// Records the guard's audit routes have written.
#[cfg(feature = "postgres")]
fn written(guard: &warden::WardenGuard) -> u64 {
    guard
        .audit()
        .map_or(0, |a| a.stats().iter().map(|r| r.written).sum())
}
