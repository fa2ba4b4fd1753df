//! The JSONL sink's rotation and chain, and the SQLite sink's retention.

use std::time::{Duration, SystemTime};

use crate::common::key;
use warden_audit::{
    AuditRecord, AuditSink, EventType, GENESIS, JsonlSink, Query, SqliteSink, SqliteStore, link,
};
use warden_test_support::Scratch;

fn records(n: usize) -> Vec<AuditRecord> {
    (0..n)
        .map(|i| AuditRecord::new(EventType::DataAccess, format!("read-{i}")).with_user("u-1"))
        .collect()
}

#[test]
fn jsonl_rotates_by_size_and_the_chain_runs_across_files() {
    let dir = Scratch::new();
    let path = dir.path("audit.jsonl");
    let mut sink = JsonlSink::open(&path).unwrap().rotate_at_size(2_000);
    let written = records(40);
    for chunk in written.chunks(4) {
        sink.write(chunk).unwrap();
    }
    sink.close().unwrap();
    let mut files: Vec<_> = std::fs::read_dir(&dir.0)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p != &path)
        .collect();
    files.sort();
    assert!(files.len() >= 3, "{files:?}");
    files.push(path.clone());
    let mut head = GENESIS;
    let mut seen = Vec::new();
    for file in &files {
        let text = std::fs::read_to_string(file).unwrap();
        assert!(
            text.len() <= 2_000 || text.lines().count() <= 4,
            "{file:?} too big"
        );
        for line in text.lines() {
            let value: serde_json::Value = serde_json::from_str(line).unwrap();
            let record: AuditRecord = serde_json::from_value(value.clone()).unwrap();
            let hex = |h: &[u8]| h.iter().map(|b| format!("{b:02x}")).collect::<String>();
            assert_eq!(value["prev_hash"], hex(&head));
            head = link(&head, &record);
            assert_eq!(value["hash"], hex(&head));
            seen.push(record);
        }
    }
    assert_eq!(seen, written, "every record once, in order");

    // Reopening continues the chain from the last line.
    let mut again = JsonlSink::open(&path).unwrap();
    again.write(&records(1)).unwrap();
    let last = std::fs::read_to_string(&path).unwrap();
    let last: serde_json::Value = serde_json::from_str(last.lines().last().unwrap()).unwrap();
    let hex: String = head.iter().map(|b| format!("{b:02x}")).collect();
    assert_eq!(last["prev_hash"], hex);
}

#[test]
fn the_sqlite_sink_purges_expired_records_when_it_opens() {
    let dir = Scratch::new();
    let db = dir.path("audit.db");
    let mut old = records(10);
    for (i, r) in old.iter_mut().enumerate() {
        r.timestamp =
            SystemTime::now() - Duration::from_secs(100 * 86_400) + Duration::from_secs(i as u64);
    }
    let fresh = records(5);
    {
        let mut store =
            SqliteStore::open_with(&db, key(), Default::default(), Default::default()).unwrap();
        store.append(&old).unwrap();
        store.append(&fresh).unwrap();
    }
    let mut sink = SqliteSink::builder(&db).key(key()).build().unwrap();
    let left = sink.store().query(&Query::default()).unwrap();
    assert_eq!(left.len(), 5, "the default retention is 90 days");
    sink.close().unwrap();
    let report = warden_audit::verify_with(&db, &key()).unwrap();
    assert!(report.is_ok(), "{report}");
}
