//! `warden::init()`'s stack reads the environment: `RUST_LOG` for the
//! filter, `OTEL_EXPORTER_OTLP_ENDPOINT` to turn OTLP export on. One test in
//! this binary, so nothing else reads the variables while it sets them.

use std::net::TcpListener;
use std::time::Duration;

use warden::Warden;
use warden_test_support::Buffer;

#[test]
fn rust_log_filters_and_an_otlp_endpoint_turns_export_on() {
    let dir = std::env::temp_dir().join(format!("warden-init-env-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    // A port nobody listens on: export is on, and fails, counted.
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    warden_test_support::set_env("RUST_LOG", "warn");
    warden_test_support::set_env(
        "OTEL_EXPORTER_OTLP_ENDPOINT",
        format!("http://127.0.0.1:{port}"),
    );
    warden_test_support::set_env("OTEL_EXPORTER_OTLP_TIMEOUT", "500");
    let lines = Buffer::default();
    let (subscriber, guard) = Warden::builder()
        .audit_sqlite(dir.join("audit.db"))
        .writer(lines.clone())
        .build()
        .unwrap();
    tracing::subscriber::with_default(subscriber, || {
        tracing::info!("filtered out by RUST_LOG=warn");
        tracing::warn!(user = "ada@example.com", "kept");
    });
    let json = lines.lines();
    assert_eq!(json.len(), 1, "{}", lines.contents());
    assert_eq!(json[0]["message"], "kept");
    assert_eq!(json[0]["user"], "[REDACTED:EMAIL]");
    let otlp = guard
        .otlp()
        .expect("OTLP export is on when an endpoint is set");
    let _ = otlp.flush(Duration::from_secs(10));
    let stats = otlp.stats();
    assert_eq!(stats.logs.failed + stats.logs.queued, 1, "{stats}");

    warden_test_support::remove_env("OTEL_EXPORTER_OTLP_ENDPOINT");
    warden_test_support::remove_env("RUST_LOG");
    warden_test_support::remove_env("OTEL_EXPORTER_OTLP_TIMEOUT");
    let (_subscriber, guard2) = Warden::builder()
        .audit_sqlite(dir.join("audit2.db"))
        .writer(std::io::sink)
        .build()
        .unwrap();
    assert!(guard2.otlp().is_none(), "no endpoint, no export");
    drop((guard, guard2));
    std::fs::remove_dir_all(dir).unwrap();
}
