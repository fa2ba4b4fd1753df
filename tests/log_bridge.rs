//! `init()` bridges the `log` crate: a dependency's `log::info!` is an
//! event of the stack, sanitized by the gate, written with its own target,
//! module and file, and filtered by the same directives (changed ones too). One test in this
//! binary: it installs the global subscriber and the global `log` logger.

use std::time::Duration;

use warden::Warden;
use warden::otlp::Otlp;
use warden_test_support::{Buffer, Scratch, collector::Collector};

/// Stands for a dependency that logs with the `log` crate.
mod dependency {
    pub(crate) fn connect(user: &str) {
        log::info!(target: "dep::client", "connected as {user}");
        log::debug!(target: "dep::client", "handshake details");
        log::warn!("retrying");
    }
}

#[test]
fn log_records_are_events_of_the_stack() {
    let dir = Scratch::new();
    let lines = Buffer::default();
    let collector = Collector::start();
    let guard = Warden::builder()
        .filter("info")
        .audit_sqlite(dir.path("audit.db"))
        .otlp(Otlp::builder().ignore_env().endpoint(collector.grpc()))
        .writer(lines.clone())
        .init()
        .unwrap();
    {
        let _request = tracing::info_span!("request", correlation_id = "req-1").entered();
        dependency::connect("ada@example.com");
    }
    let json = lines.lines();
    assert_eq!(json.len(), 2, "the DEBUG record is filtered: {json:#?}");
    let connected = &json[0];
    assert_eq!(connected["target"], "dep::client", "{connected}");
    assert_eq!(connected["level"], "INFO");
    assert_eq!(connected["message"], "connected as [REDACTED:EMAIL]");
    assert_eq!(connected["correlation_id"], "req-1");
    assert!(
        connected.get("log.target").is_none() && connected.get("log.file").is_none(),
        "the bridge's own fields are not repeated: {connected}"
    );
    let retrying = &json[1];
    assert_eq!(retrying["target"], "log_bridge::dependency", "{retrying}");
    assert_eq!(retrying["level"], "WARN");
    assert!(!lines.contents().contains("ada@example.com"));

    // The collector gets them under their own target (the scope), with
    // their module, file and line, and without the bridge's fields.
    guard.flush(Duration::from_secs(10)).unwrap();
    assert!(
        collector.wait_for(Duration::from_secs(10), |o| o.contains("retrying")),
        "{}",
        collector.output()
    );
    let output = collector.output();
    assert!(!output.contains("ada@example.com"), "{output}");
    assert!(output.contains("dep::client"), "{output}");
    assert!(output.contains("connected as [REDACTED:EMAIL]"), "{output}");
    assert!(output.contains("log_bridge::dependency"), "{output}");
    assert!(
        output.contains("code.filepath: Str(tests/log_bridge.rs)"),
        "{output}"
    );
    assert!(!output.contains("log.target"), "{output}");

    // A change of directives moves the `log` crate's level with them: the
    // DEBUG record the bridge capped at INFO is written once they allow it.
    guard.set_filter("info,dep=debug").unwrap();
    assert_eq!(log::max_level(), log::LevelFilter::Debug);
    dependency::connect("bob");
    let handshakes = || lines.contents().matches("handshake details").count();
    assert_eq!(handshakes(), 1, "{}", lines.contents());
    guard.set_filter("warn").unwrap();
    assert_eq!(log::max_level(), log::LevelFilter::Warn);
    dependency::connect("bob");
    assert_eq!(handshakes(), 1);

    // A second init finds the logger taken and says which switch keeps it.
    let second = Warden::builder()
        .audit_sqlite(dir.path("other.db"))
        .without_otlp()
        .writer(std::io::sink)
        .init();
    let error = second.expect_err("a second logger is refused").to_string();
    assert!(error.contains("without_log_bridge"), "{error}");
    drop(guard);
}
