//! With the exporter's layer in the global subscriber, nothing the export
//! thread logs (the SDK's diagnostics, tonic, hyper, h2) comes back into
//! the subscriber or the export. One test in this binary: it sets the
//! global default.

use std::time::Duration;

use tracing_subscriber::prelude::*;
use warden_otlp::Otlp;
use warden_test_support::Capture;

#[test]
fn the_export_threads_own_logs_never_reach_the_subscriber() {
    // A collector that refuses every connection makes the SDK and tonic
    // report errors on the export thread.
    let port = warden_test_support::collector::closed_port();
    let otlp = Otlp::builder()
        .ignore_env()
        .endpoint(format!("http://127.0.0.1:{port}"))
        .timeout(Duration::from_secs(1))
        .delay(Duration::from_millis(10))
        .build()
        .unwrap();
    let seen = Capture::default();
    tracing_subscriber::registry()
        .with(otlp.layer())
        .with(seen.clone())
        .with(tracing_subscriber::filter::LevelFilter::TRACE)
        .init();
    for i in 0..10 {
        tracing::info!(i, "application event");
    }
    otlp.flush(Duration::from_secs(15)).unwrap();
    std::thread::sleep(Duration::from_millis(300));
    otlp.flush(Duration::from_secs(15)).unwrap();
    let targets: Vec<&str> = seen.seen().iter().map(|e| e.metadata.target()).collect();
    assert_eq!(targets.len(), 10, "{targets:?}");
    assert!(targets.iter().all(|t| *t == "no_loop"), "{targets:?}");
    let stats = otlp.stats();
    assert_eq!(
        stats.logs.failed + stats.logs.queued + stats.logs.dropped,
        10,
        "{stats}"
    );
    assert!(stats.logs.failed > 0, "{stats}");
}
