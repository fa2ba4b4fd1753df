//! The log filter decides what the log sinks write, never what the audit
//! trail keeps or what metrics time: at `warn`, every audit event of every
//! kind is stored, every operation has its metrics row, and every line
//! that is written keeps its correlation ID. On the `init()` stack and on
//! a stack built by hand as the README shows.

use std::time::Duration;

use tracing_subscriber::prelude::*;
use warden::audit::{AuditLayer, EventType, Query, StoreReader, audited};
use warden::correlation::CorrelationLayer;
use warden::metrics::{MetricsLayer, Window};
use warden::otlp::Otlp;
use warden::pii::PiiLayer;
use warden_test_support::{Buffer, Scratch, collector::Collector};

/// An audited function: its record is an audit event like the macros'.
#[audited]
fn export_orders(count: u64) -> Result<u64, String> {
    Ok(count)
}

/// Logs one request: every kind of audit event at every level, lines
/// below and at the log level, and a nested span.
fn request(n: u64) {
    let request = tracing::info_span!("checkout", correlation_id = %format!("req-{n}"));
    let _entered = request.enter();
    tracing::info!("an info line, below warn");
    tracing::debug!("a debug line, below warn");
    warden::audit::security!(action = "login_failed", user_id = "u-1");
    warden::audit::api_call!(action = "get_order", resource_id = "order-1");
    warden::audit::authentication!(action = "login", user_id = "u-1");
    warden::audit::authorization!(action = "grant", resource_id = "order-1");
    warden::audit::data_access!(action = "read_order", resource_id = "order-1");
    warden::audit::config_change!(action = "set_limit", resource_id = "limits");
    warden::audit::tool_invocation!(action = "refund_tool", resource_id = "order-1");
    warden::audit::audit_event!(DEBUG, "PAYMENT", action = "refund", resource_id = "order-1");
    tracing::info!(target: "audit", event_type = "API_CALL", action = "by_target");
    tracing::trace!(target: "audit::billing", event_type = "API_CALL", action = "below_target");
    export_orders(3).unwrap();
    {
        let _db = tracing::info_span!("db_query").entered();
        tracing::warn!(user = "ada@example.com", "slow query");
    }
    tracing::error!("payment failed");
}

/// The audit events `request` logs.
const AUDIT_EVENTS_PER_REQUEST: usize = 11;
const REQUESTS: u64 = 3;

/// What every stack must show after `REQUESTS` requests at `warn`.
fn check(lines: &[serde_json::Value], store: &StoreReader, metrics: &MetricsLayer) {
    let records = store.query(&Query::default()).unwrap();
    assert_eq!(
        records.len(),
        AUDIT_EVENTS_PER_REQUEST * REQUESTS as usize,
        "every audit event stored at warn: {:?}",
        records.iter().map(|r| &r.action).collect::<Vec<_>>()
    );
    for event_type in [
        EventType::Security,
        EventType::ApiCall,
        EventType::Authentication,
        EventType::Authorization,
        EventType::DataAccess,
        EventType::ConfigChange,
        EventType::ToolInvocation,
    ] {
        assert!(
            records.iter().any(|r| r.event_type == event_type),
            "{event_type:?} stored"
        );
    }
    for action in ["refund", "by_target", "below_target", "export_orders"] {
        assert_eq!(
            records.iter().filter(|r| r.action == action).count(),
            REQUESTS as usize,
            "{action} stored"
        );
    }
    assert!(
        records.iter().all(|r| r
            .correlation_id
            .as_ref()
            .is_some_and(|id| id.to_string().starts_with("req-"))),
        "every record has its request's correlation ID"
    );

    let snapshot = metrics.snapshot(Window::SinceStart);
    assert_eq!(snapshot.get("checkout").map(|op| op.count), Some(REQUESTS));
    assert_eq!(snapshot.get("db_query").map(|op| op.count), Some(REQUESTS));

    // The lines: what `warn` lets through, and nothing else.
    let levels: Vec<&str> = lines.iter().map(|l| l["level"].as_str().unwrap()).collect();
    assert!(
        levels.iter().all(|l| *l == "WARN" || *l == "ERROR"),
        "{levels:?}"
    );
    // Per request: the SECURITY event (WARN), the slow query and the error.
    assert_eq!(lines.len(), 3 * REQUESTS as usize, "{lines:#?}");
    for line in lines {
        let id = line["correlation_id"].as_str().unwrap_or_default();
        assert!(id.starts_with("req-"), "a line without its ID: {line}");
        assert!(!line.to_string().contains("ada@example.com"), "{line}");
    }
}

#[test]
fn init_stack_at_warn_keeps_the_audit_trail_and_the_metrics() {
    let dir = Scratch::new();
    let out = Buffer::default();
    let collector = Collector::start();
    let (subscriber, guard) = warden::Warden::builder()
        .filter("warn")
        .audit_sqlite(dir.path("audit.db"))
        .otlp(Otlp::builder().ignore_env().endpoint(collector.grpc()))
        .writer(out.clone())
        .build()
        .unwrap();
    tracing::subscriber::with_default(subscriber, || (0..REQUESTS).for_each(request));
    guard.flush(Duration::from_secs(10)).unwrap();
    let store = StoreReader::open(dir.path("audit.db")).unwrap();
    check(&out.lines(), &store, guard.metrics().unwrap());

    // OTLP: every audit record as an audit record; as log records, only
    // what `warn` lets through (the same three lines per request).
    let audit_records = AUDIT_EVENTS_PER_REQUEST * REQUESTS as usize;
    assert!(
        collector.wait_for(Duration::from_secs(10), |o| {
            o.matches("audit.action: Str(").count() == audit_records
                && o.matches("payment failed").count() == REQUESTS as usize
        }),
        "{}",
        collector.output()
    );
    let stats = guard.otlp().unwrap().stats();
    assert_eq!(stats.audit.exported, audit_records as u64, "{stats}");
    assert_eq!(stats.logs.exported, 3 * REQUESTS, "{stats}");
    let output = collector.output();
    assert!(!output.contains("an info line, below warn"), "{output}");
}

#[test]
fn hand_built_stack_at_warn_keeps_the_audit_trail_and_the_metrics() {
    let dir = Scratch::new();
    let out = Buffer::default();
    let audit = AuditLayer::sqlite(dir.path("audit.db")).unwrap();
    let metrics = MetricsLayer::new();
    let subscriber = tracing_subscriber::registry()
        .with(warden::StackFilter::parse("warn").unwrap())
        .with(CorrelationLayer::default())
        .with(PiiLayer::default())
        .with(metrics.clone())
        .with(audit.clone())
        .with(warden::json::layer().with_writer(out.clone()));
    tracing::subscriber::with_default(subscriber, || (0..REQUESTS).for_each(request));
    audit.flush(Duration::from_secs(10)).unwrap();
    let store = StoreReader::open(dir.path("audit.db")).unwrap();
    check(&out.lines(), &store, &metrics);
    audit.shutdown(Duration::from_secs(10)).unwrap();
}

#[test]
fn logs_only_is_the_plain_filter() {
    let dir = Scratch::new();
    let out = Buffer::default();
    let audit = AuditLayer::sqlite(dir.path("audit.db")).unwrap();
    let subscriber = tracing_subscriber::registry()
        .with(warden::StackFilter::parse("warn").unwrap().logs_only())
        .with(audit.clone())
        .with(warden::json::JsonLayer::new().with_writer(out.clone()));
    tracing::subscriber::with_default(subscriber, || request(0));
    audit.flush(Duration::from_secs(10)).unwrap();
    let store = StoreReader::open(dir.path("audit.db")).unwrap();
    // Only the SECURITY event is at warn or above.
    assert_eq!(store.query(&Query::default()).unwrap().len(), 1);
    assert_eq!(out.lines().len(), 3);
    audit.shutdown(Duration::from_secs(10)).unwrap();
}
