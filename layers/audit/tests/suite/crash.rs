//! A writer SIGKILLed mid-stream loses no record it acknowledged, and its
//! store opens cleanly and verifies (the unsigned tail reported as such).

use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};
use std::time::Duration;

use crate::common::key;
use tracing_subscriber::prelude::*;
use warden_audit::{
    AuditLayer, CheckpointPolicy, Durability, Query, Route, RouteFilter, SqliteSink, SqliteStore,
};
use warden_test_support::Scratch;

const DB_VAR: &str = "WARDEN_CRASH_CHILD_DB";

#[test]
#[ignore = "the child process of every_acknowledged_record_survives_a_sigkill"]
fn child_writer() {
    let db = std::env::var(DB_VAR).expect("run by the crash test");
    let sink = SqliteSink::builder(&db)
        .key(key())
        .checkpoints(CheckpointPolicy {
            every_records: 100,
            every: Duration::from_secs(3600),
        })
        .build()
        .unwrap();
    let layer = AuditLayer::builder()
        .route(
            Route::new("db", RouteFilter::all())
                .sink(sink)
                .durability(Durability::Sync {
                    timeout: Duration::from_secs(5),
                }),
        )
        .build()
        .unwrap();
    let out = std::io::stdout();
    tracing::subscriber::with_default(tracing_subscriber::registry().with(layer.clone()), || {
        for n in 0u64.. {
            let timeouts = layer.stats()[0].sync_timeouts;
            warden_audit::security!(action = "write", n = n);
            if layer.stats()[0].sync_timeouts == timeouts {
                let mut out = out.lock();
                writeln!(out, "ACK {n}").unwrap();
                out.flush().unwrap();
            }
        }
    });
}

#[test]
fn every_acknowledged_record_survives_a_sigkill() {
    let dir = Scratch::new();
    let db = dir.path("audit.db");
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args([
            "--ignored",
            "--exact",
            "crash::child_writer",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(DB_VAR, &db)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut acknowledged = Vec::new();
    for line in BufReader::new(child.stdout.take().unwrap()).lines() {
        let line = line.unwrap();
        if let Some(n) = line.strip_prefix("ACK ") {
            acknowledged.push(n.parse::<u64>().unwrap());
            if acknowledged.len() == 350 {
                child.kill().unwrap(); // SIGKILL: no destructor, no shutdown checkpoint
                break;
            }
        }
    }
    child.wait().unwrap();
    assert_eq!(acknowledged.len(), 350, "the child stopped early");

    let store = SqliteStore::open_with(&db, key(), Default::default(), Default::default()).unwrap();
    let stored: std::collections::HashSet<u64> = store
        .query(&Query::default())
        .unwrap()
        .iter()
        .map(|r| r.metadata["n"].as_u64().unwrap())
        .collect();
    let missing: Vec<_> = acknowledged
        .iter()
        .filter(|n| !stored.contains(n))
        .collect();
    assert!(missing.is_empty(), "acknowledged but lost: {missing:?}");
    drop(store);

    let report = warden_audit::verify_with(&db, &key()).unwrap();
    assert!(report.is_ok(), "{report}");
    assert!(report.valid_checkpoints >= 3, "{report}");
    assert!(report.records >= 350);
    // Checkpoints come every 100 records; what follows the last one is the
    // unsigned tail, reported but not a failure.
    assert!(report.unverified_tail <= 100, "{report}");
}
