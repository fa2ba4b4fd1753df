//! Layers composed: an alert from warden-metrics is stored by warden-audit
//! as an ALERT record, with its rule, value and threshold, and an outcome
//! that reads right (FIRED, then RESOLVED).

use std::time::Duration;

use tracing_subscriber::prelude::*;
use warden::audit::{AuditKey, EventType, Outcome, Query, SqliteStore};
use warden::metrics::{Alerts, MetricsLayer, Rule, Window};

#[test]
fn a_fired_alert_becomes_an_audit_record() {
    let dir = std::env::temp_dir().join(format!("warden-metrics-audit-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let db = dir.join("audit.db");
    let key = AuditKey::new(*b"metrics-audit test key, 16+ bytes").unwrap();
    let audit = crate::sqlite_audit(&db, &key);
    let metrics = MetricsLayer::new();
    let mut alerts = Alerts::new().rule(
        Rule::error_rate("checkout")
            .above(0.05)
            .over(Window::SinceStart),
    );
    let subscriber = tracing_subscriber::registry()
        .with(metrics.clone())
        .with(audit.clone());
    tracing::subscriber::with_default(subscriber, || {
        for i in 0..20 {
            drop(tracing::info_span!("checkout", error = i % 4 == 0));
        }
        assert_eq!(alerts.evaluate(&metrics).len(), 1);
        for _ in 0..200 {
            drop(tracing::info_span!("checkout", error = false));
        }
        assert_eq!(alerts.evaluate(&metrics).len(), 1, "resolved");
    });
    audit.flush(Duration::from_secs(10)).unwrap();
    let store = SqliteStore::open_with(&db, key, Default::default(), Default::default()).unwrap();
    let records = store
        .query(&Query {
            event_type: Some(EventType::Alert),
            ..Query::default()
        })
        .unwrap();
    assert_eq!(records.len(), 2, "{records:?}");
    let (alert, resolved) = (&records[1], &records[0]);
    assert_eq!(alert.action, "alert_fired");
    assert_eq!(
        alert.outcome,
        Outcome::Fired,
        "an alert reads as fired, not SUCCESS"
    );
    assert_eq!(
        (resolved.action.as_str(), resolved.outcome),
        ("alert_resolved", Outcome::Resolved)
    );
    assert_eq!(alert.metadata["rule"], "error_rate(checkout) > 0.05");
    assert_eq!(alert.metadata["operation"], "checkout");
    assert_eq!(alert.metadata["value"], 0.25);
    assert_eq!(alert.metadata["threshold"], 0.05);
    let _ = std::fs::remove_dir_all(dir);
}
