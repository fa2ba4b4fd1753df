//! Audit events through a real subscriber into real SQLite and JSONL files.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::time::Duration;

use crate::common::key;
use tracing_subscriber::prelude::*;
use warden_audit::{
    AuditLayer, AuditLevel, AuditRecord, AuditSink, Durability, EventType, JsonlSink, Outcome,
    Overflow, Query, Route, RouteFilter, SinkError, SqliteSink, SqliteStore,
};
use warden_test_support::Scratch;

const WAIT: Duration = Duration::from_secs(10);

fn sqlite(path: &std::path::Path) -> SqliteSink {
    SqliteSink::builder(path).key(key()).build().unwrap()
}

fn read(path: &std::path::Path) -> Vec<AuditRecord> {
    let store =
        SqliteStore::open_with(path, key(), Default::default(), Default::default()).unwrap();
    let mut records = store.query(&Query::default()).unwrap();
    records.reverse();
    records
}

#[test]
fn events_land_in_sqlite_and_jsonl_with_every_field() {
    let dir = Scratch::new();
    let (db, jsonl) = (dir.path("audit.db"), dir.path("audit.jsonl"));
    let layer = AuditLayer::builder()
        .route(Route::new("all", RouteFilter::all()).sink(sqlite(&db)))
        .route(
            Route::new(
                "security",
                RouteFilter::all().min_level(AuditLevel::Security),
            )
            .sink(JsonlSink::open(&jsonl).unwrap()),
        )
        .pseudonym_key(key())
        .build()
        .unwrap();
    let subscriber = tracing_subscriber::registry()
        .with(warden_correlation::CorrelationLayer::default())
        .with(layer.clone());
    tracing::subscriber::with_default(subscriber, || {
        let request = tracing::info_span!("request", correlation_id = "req-77");
        let _entered = request.enter();
        warden_audit::api_call!(
            action = "get_order",
            user_id = "user-1",
            resource_id = "order-9",
            ip = "203.0.113.9",
            user_agent = "curl/8.5",
            duration_ms = 12.5,
            status = 200u64,
            "served"
        );
        warden_audit::security!(
            action = "login_failed",
            user_id = "user-2",
            outcome = "failure",
            error_message = "bad password for ada@example.com",
            password = "hunter2",
            note = "from 10.1.2.3"
        );
        tracing::info!(user = "not audit");
    });
    layer.flush(WAIT).unwrap();
    let records = read(&db);
    assert_eq!(records.len(), 2, "{records:?}");
    let call = &records[0];
    assert_eq!(call.event_type, EventType::ApiCall);
    assert_eq!(
        (call.level, call.outcome),
        (AuditLevel::Info, Outcome::Success)
    );
    assert_eq!(call.action, "get_order");
    assert_eq!(call.user_id, Some(key().pseudonym("user-1")));
    assert_eq!(call.resource_id.as_deref(), Some("order-9"));
    assert_eq!(call.client_ip_hash, Some(key().hash_ip("203.0.113.9")));
    assert_eq!(call.user_agent.as_deref(), Some("curl/8.5"));
    assert_eq!(call.duration_ms, Some(12.5));
    assert_eq!(
        call.correlation_id
            .as_ref()
            .map(ToString::to_string)
            .as_deref(),
        Some("req-77")
    );
    assert_eq!(call.metadata["status"], 200);
    assert_eq!(call.metadata["message"], "served");
    let login = &records[1];
    assert_eq!(
        (login.level, login.outcome),
        (AuditLevel::Security, Outcome::Failure)
    );
    assert_eq!(
        login.error_message.as_deref(),
        Some("bad password for [REDACTED:EMAIL]")
    );
    assert_eq!(login.metadata["password"], "[REDACTED:SECRET]");
    assert_eq!(login.metadata["note"], "from [REDACTED:IP_ADDRESS]");

    let lines = std::fs::read_to_string(&jsonl).unwrap();
    let lines: Vec<serde_json::Value> = lines
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(
        lines.len(),
        1,
        "only the SECURITY record goes to the security route"
    );
    let line: AuditRecord = serde_json::from_value(lines[0].clone()).unwrap();
    assert_eq!(&line, login);
    assert_eq!(lines[0]["prev_hash"], "0".repeat(64));
    assert_eq!(lines[0]["hash"].as_str().unwrap().len(), 64);
    let text = std::fs::read(&db).unwrap();
    assert!(!String::from_utf8_lossy(&text).contains("hunter2"));
}

#[test]
fn sync_durability_returns_after_the_commit() {
    let dir = Scratch::new();
    let db = dir.path("audit.db");
    let layer = AuditLayer::builder()
        .route(
            Route::new("db", RouteFilter::all())
                .sink(sqlite(&db))
                .durability(Durability::Sync { timeout: WAIT }),
        )
        .build()
        .unwrap();
    tracing::subscriber::with_default(tracing_subscriber::registry().with(layer.clone()), || {
        for i in 0..20u64 {
            warden_audit::authentication!(action = "login", n = i);
            // No flush: the record is already committed.
            assert_eq!(read(&db).len() as u64, i + 1);
        }
    });
}

/// A sink that blocks until released, then counts what it wrote.
#[derive(Clone, Default)]
struct Stalled {
    open: Arc<(Mutex<bool>, Condvar)>,
    written: Arc<Mutex<Vec<AuditRecord>>>,
}

impl Stalled {
    fn release(&self) {
        *self.open.0.lock().unwrap() = true;
        self.open.1.notify_all();
    }
}

impl AuditSink for Stalled {
    fn name(&self) -> String {
        "stalled".into()
    }
    fn write(&mut self, records: &[AuditRecord]) -> Result<(), SinkError> {
        let mut open = self.open.0.lock().unwrap();
        while !*open {
            open = self.open.1.wait(open).unwrap();
        }
        self.written.lock().unwrap().extend_from_slice(records);
        Ok(())
    }
}

#[test]
fn a_full_queue_drops_counts_and_then_writes_a_loss_record() {
    let sink = Stalled::default();
    let layer = AuditLayer::builder()
        .route(
            Route::new("stalled", RouteFilter::all())
                .sink(sink.clone())
                .capacity(8)
                .overflow(Overflow::Drop),
        )
        .build()
        .unwrap();
    let started = std::time::Instant::now();
    tracing::subscriber::with_default(tracing_subscriber::registry().with(layer.clone()), || {
        for i in 0..200u64 {
            warden_audit::data_access!(action = "read", n = i);
        }
    });
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "logging calls must not block"
    );
    let dropped = layer.dropped();
    assert!(dropped > 150, "{dropped}");
    sink.release();
    layer.flush(WAIT).unwrap();
    let written = sink.written.lock().unwrap().clone();
    let (losses, kept): (Vec<_>, Vec<_>) = written
        .iter()
        .partition(|r| r.action == "audit_records_lost");
    assert_eq!(
        kept.len() as u64 + dropped,
        200,
        "every record is either written or counted"
    );
    // Each loss is stated once, in one or more SECURITY records written as
    // space returned.
    assert!(!losses.is_empty());
    assert!(losses.iter().all(|r| r.level == AuditLevel::Security));
    let stated: u64 = losses
        .iter()
        .map(|r| r.metadata["lost"].as_u64().unwrap())
        .sum();
    assert_eq!(stated, dropped);
    assert_eq!(layer.stats()[0].queued, kept.len() as u64);
}

#[test]
fn block_waits_a_bounded_time() {
    let sink = Stalled::default();
    let layer = AuditLayer::builder()
        .route(
            Route::new("stalled", RouteFilter::all())
                .sink(sink.clone())
                .capacity(1)
                .overflow(Overflow::Block(Duration::from_millis(20))),
        )
        .build()
        .unwrap();
    let started = std::time::Instant::now();
    tracing::subscriber::with_default(tracing_subscriber::registry().with(layer.clone()), || {
        for i in 0..10u64 {
            warden_audit::data_access!(action = "read", n = i);
        }
    });
    let elapsed = started.elapsed();
    assert!(
        elapsed >= Duration::from_millis(100) && elapsed < Duration::from_secs(3),
        "{elapsed:?}"
    );
    assert!(layer.dropped() >= 7);
    sink.release();
    layer.flush(WAIT).unwrap();
}

/// A sink that fails its first `failures` writes.
struct Flaky {
    failures: Arc<AtomicUsize>,
    written: Arc<Mutex<Vec<AuditRecord>>>,
}

impl AuditSink for Flaky {
    fn name(&self) -> String {
        "flaky".into()
    }
    fn write(&mut self, records: &[AuditRecord]) -> Result<(), SinkError> {
        if self.failures.load(Ordering::SeqCst) > 0 {
            self.failures.fetch_sub(1, Ordering::SeqCst);
            return Err("disk full".into());
        }
        self.written.lock().unwrap().extend_from_slice(records);
        Ok(())
    }
}

#[test]
fn a_failing_sink_loses_nothing_and_resumes() {
    let written = Arc::new(Mutex::new(Vec::new()));
    let layer = AuditLayer::builder()
        .route(Route::new("flaky", RouteFilter::all()).sink(Flaky {
            failures: Arc::new(AtomicUsize::new(3)),
            written: Arc::clone(&written),
        }))
        .build()
        .unwrap();
    tracing::subscriber::with_default(tracing_subscriber::registry().with(layer.clone()), || {
        for i in 0..50u64 {
            warden_audit::config_change!(action = "set", n = i);
        }
    });
    layer.flush(WAIT).unwrap();
    assert_eq!(written.lock().unwrap().len(), 50);
    let stats = &layer.stats()[0];
    assert_eq!(
        (stats.sink_errors, stats.dropped, stats.written),
        (3, 0, 50)
    );
}

#[test]
fn event_type_and_target_filters_route_records() {
    let dir = Scratch::new();
    let (a, b) = (dir.path("a.db"), dir.path("b.db"));
    let layer = AuditLayer::builder()
        .route(
            Route::new(
                "auth",
                RouteFilter::all().event_types([EventType::Authentication]),
            )
            .sink(sqlite(&a)),
        )
        .route(Route::new("billing", RouteFilter::all().target("audit::billing")).sink(sqlite(&b)))
        .build()
        .unwrap();
    tracing::subscriber::with_default(tracing_subscriber::registry().with(layer.clone()), || {
        warden_audit::authentication!(action = "login");
        tracing::info!(target: "audit::billing", event_type = "PAYMENT", action = "charge");
        tracing::info!(target: "auditing", action = "not an audit target");
    });
    layer.flush(WAIT).unwrap();
    let (ra, rb) = (read(&a), read(&b));
    assert_eq!(
        ra.iter().map(|r| r.action.as_str()).collect::<Vec<_>>(),
        ["login"]
    );
    assert_eq!(
        rb.iter().map(|r| r.action.as_str()).collect::<Vec<_>>(),
        ["charge"]
    );
    assert_eq!(rb[0].event_type, EventType::Custom("PAYMENT".into()));
}

#[test]
fn a_custom_target_adds_to_the_one_warden_emits_on() {
    let dir = Scratch::new();
    let db = dir.path("audit.db");
    let layer = AuditLayer::builder()
        .route(Route::new("db", RouteFilter::all()).sink(sqlite(&db)))
        .target("compliance")
        .build()
        .unwrap();
    tracing::subscriber::with_default(tracing_subscriber::registry().with(layer.clone()), || {
        tracing::info!(target: "compliance::export", event_type = "DATA_ACCESS", action = "export");
        // The macros (and `#[audited]`, and metrics alerts) log on
        // AUDIT_TARGET: a custom target must not lose them.
        warden_audit::security!(action = "access_denied", outcome = "FAILURE");
        tracing::info!(target: "compliant", action = "not an audit target");
    });
    layer.flush(WAIT).unwrap();
    let actions: Vec<String> = read(&db).into_iter().map(|r| r.action).collect();
    assert_eq!(actions, ["export", "access_denied"]);
}

#[test]
fn shutdown_signs_a_checkpoint_and_the_store_verifies() {
    let dir = Scratch::new();
    let db = dir.path("audit.db");
    let layer = AuditLayer::builder()
        .route(Route::new("db", RouteFilter::all()).sink(sqlite(&db)))
        .build()
        .unwrap();
    let guard = layer.guard();
    tracing::subscriber::with_default(tracing_subscriber::registry().with(layer.clone()), || {
        for i in 0..30u64 {
            warden_audit::api_call!(action = "call", n = i);
        }
    });
    drop(guard);
    let report = warden_audit::verify_with(&db, &key()).unwrap();
    assert!(
        report.is_ok() && report.unverified_tail == 0 && report.records == 30,
        "{report}"
    );
    // After shutdown, events are counted as dropped, not queued.
    tracing::subscriber::with_default(tracing_subscriber::registry().with(layer.clone()), || {
        warden_audit::api_call!(action = "late");
    });
    assert_eq!(layer.dropped(), 1);
}

#[test]
fn bad_configurations_are_errors() {
    assert!(AuditLayer::builder().build().is_err());
    assert!(
        AuditLayer::builder()
            .route(Route::new("empty", RouteFilter::all()))
            .build()
            .is_err()
    );
    let dir = Scratch::new();
    let unwritable = dir.path("no/such/dir/audit.db");
    let err = SqliteSink::builder(&unwritable)
        .key(key())
        .build()
        .unwrap_err()
        .to_string();
    assert!(err.contains("audit database"), "{err}");
}
