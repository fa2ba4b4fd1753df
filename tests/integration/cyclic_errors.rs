//! An error whose `source()` chain leads back to itself must not hang the
//! application's logging call in any layer: each walks at most
//! `MAX_ERROR_CHAIN` links.

use std::error::Error;
use std::time::Duration;

use tracing_subscriber::prelude::*;
use warden::audit::{AuditKey, Query, SqliteStore};
use warden::core::MAX_ERROR_CHAIN;
use warden::pii::PiiLayer;
use warden_test_support::{Buffer, Capture, Cyclic, Scratch};

/// The text of a cyclic chain cut at the limit, links joined by `sep`.
fn cut_chain(message: &str, sep: &str) -> String {
    vec![message; MAX_ERROR_CHAIN].join(sep)
}

fn log_cyclic(message: &'static str) {
    let err = Cyclic(message);
    tracing::error!(error = &err as &(dyn Error + 'static), "it failed");
}

#[test]
fn the_json_layer_prints_a_cyclic_chain_cut_at_the_limit() {
    let out = Buffer::default();
    let subscriber =
        tracing_subscriber::registry().with(warden::json::layer().with_writer(out.clone()));
    tracing::subscriber::with_default(subscriber, || log_cyclic("again"));
    let lines = out.lines();
    assert_eq!(lines.len(), 1);
    assert_eq!(lines[0]["error"], cut_chain("again", ": "));
}

#[test]
fn the_pii_gate_sanitizes_a_cyclic_chain_and_passes_it_on() {
    let capture = Capture::default();
    let subscriber = tracing_subscriber::registry()
        .with(capture.clone())
        .with(PiiLayer::default());
    tracing::subscriber::with_default(subscriber, || {
        log_cyclic("clean");
        log_cyclic("mail ada@example.com");
    });
    let seen = capture.seen();
    assert_eq!(seen.len(), 2);
    assert!(
        seen[0].fields.contains(&cut_chain("clean", " <- ")),
        "{}",
        seen[0].fields
    );
    assert!(
        !seen[1].fields.contains("ada@example.com"),
        "{}",
        seen[1].fields
    );
    assert!(
        seen[1].fields.contains("[REDACTED:EMAIL]"),
        "{}",
        seen[1].fields
    );
}

#[test]
fn the_audit_layer_stores_a_cyclic_chain_cut_at_the_limit() {
    let dir = Scratch::new();
    let db = dir.path("audit.db");
    let key = AuditKey::new(*b"cyclic-error test key, 16+ bytes").unwrap();
    let audit = crate::sqlite_audit(&db, &key);
    let subscriber = tracing_subscriber::registry().with(audit.clone());
    tracing::subscriber::with_default(subscriber, || {
        let err = Cyclic("again");
        tracing::warn!(
            target: "audit",
            event_type = "security",
            action = "access_denied",
            error = &err as &(dyn Error + 'static),
        );
    });
    audit.flush(Duration::from_secs(10)).unwrap();
    let store = SqliteStore::open_with(&db, key, Default::default(), Default::default()).unwrap();
    let records = store.query(&Query::default()).unwrap();
    assert_eq!(records.len(), 1, "{records:?}");
    assert_eq!(
        records[0].error_message.as_deref(),
        Some(cut_chain("again", ": ").as_str())
    );
}

#[test]
fn the_otlp_layer_records_a_cyclic_chain_without_hanging() {
    // A collector that is not there: the record is built on the logging
    // thread (where a hang would be), then fails to export, counted.
    let port = warden_test_support::collector::closed_port();
    let otlp = warden::otlp::Otlp::builder()
        .ignore_env()
        .endpoint(format!("http://127.0.0.1:{port}"))
        .timeout(Duration::from_secs(1))
        .build()
        .unwrap();
    let subscriber = tracing_subscriber::registry().with(otlp.layer());
    tracing::subscriber::with_default(subscriber, || log_cyclic("again"));
    let _ = otlp.flush(Duration::from_secs(10));
    let stats = otlp.stats();
    assert_eq!(
        stats.logs.failed + stats.logs.queued + stats.logs.dropped,
        1,
        "{stats}"
    );
}
