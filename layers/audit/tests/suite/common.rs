//! A key and a store filled with records, for the audit tests.
// Shared by several test or bench binaries: `pub` here is for them.
#![allow(unreachable_pub)]
#![allow(dead_code)]

use std::path::Path;

use warden_audit::{AuditKey, AuditRecord, CheckpointPolicy, EventType, SqliteStore, SyncMode};

pub fn key() -> AuditKey {
    AuditKey::new(*b"test key, sixteen bytes plus").unwrap()
}

/// A store at `path` with `n` records, a checkpoint every `every` records.
pub fn filled(path: &Path, n: usize, every: u64) -> SqliteStore {
    let policy = CheckpointPolicy {
        every_records: every,
        every: std::time::Duration::from_secs(3600),
    };
    let mut store = SqliteStore::open_with(path, key(), SyncMode::Normal, policy).unwrap();
    let records: Vec<_> = (0..n)
        .map(|i| {
            AuditRecord::new(EventType::ApiCall, format!("call-{i}"))
                .with_user(format!("user-{}", i % 3))
                .with_resource(format!("res-{i}"))
        })
        .collect();
    for chunk in records.chunks(every.max(1) as usize) {
        store.append(chunk).unwrap();
    }
    store
}

/// Runs one SQL statement on the store's file, as an attacker would.
pub fn tamper(path: &Path, sql: &str) {
    let conn = rusqlite::Connection::open(path).unwrap();
    conn.execute_batch(sql).unwrap();
}
