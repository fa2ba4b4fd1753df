//! `verify` passes on an intact store and names each kind of tampering.

use crate::common::{filled, key, tamper};
use warden_audit::{CheckpointKind, Problem, verify_with};
use warden_test_support::Scratch;

#[test]
fn an_intact_store_verifies_and_its_unsigned_tail_is_reported_not_failed() {
    let dir = Scratch::new();
    let db = dir.path("audit.db");
    let mut store = filled(&db, 25, 10);
    let report = verify_with(&db, &key()).unwrap();
    assert!(report.is_ok(), "{report}");
    assert_eq!(
        (report.records, report.valid, report.valid_checkpoints),
        (25, 25, 2)
    );
    assert_eq!(report.unverified_tail, 5);
    store.checkpoint(CheckpointKind::Shutdown).unwrap();
    let report = verify_with(&db, &key()).unwrap();
    assert!(report.is_ok() && report.unverified_tail == 0, "{report}");
}

fn problems_after(sql: &str) -> Vec<Problem> {
    let dir = Scratch::new();
    let db = dir.path("audit.db");
    let mut store = filled(&db, 30, 10);
    store.checkpoint(CheckpointKind::Shutdown).unwrap();
    drop(store);
    tamper(&db, sql);
    let report = verify_with(&db, &key()).unwrap();
    assert!(!report.is_ok(), "tampering went unnoticed: {sql}");
    report.problems
}

#[test]
fn an_edited_row_is_named() {
    let problems = problems_after("UPDATE audit_records SET user_id = 'mallory' WHERE seq = 7");
    assert_eq!(problems[0], Problem::Edited { seq: 7 });
}

#[test]
fn a_deleted_row_is_named() {
    let problems = problems_after("DELETE FROM audit_records WHERE seq = 12");
    assert_eq!(
        problems,
        [Problem::Deleted {
            after_seq: 11,
            before_seq: 13
        }]
    );
    assert_eq!(problems[0].to_string(), "record 12 was deleted");
}

#[test]
fn the_record_after_a_deletion_is_not_counted_invalid() {
    let dir = Scratch::new();
    let db = dir.path("audit.db");
    let mut store = filled(&db, 30, 10);
    store.checkpoint(CheckpointKind::Shutdown).unwrap();
    drop(store);
    tamper(&db, "DELETE FROM audit_records WHERE seq BETWEEN 12 AND 14");
    let report = verify_with(&db, &key()).unwrap();
    assert_eq!((report.records, report.valid), (27, 27), "{report}");
    assert_eq!(
        report
            .problems
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>(),
        ["records 12 to 14 were deleted"]
    );
    assert!(
        report.to_string().contains("(27 valid, 0 invalid)"),
        "{report}"
    );
}

#[test]
fn reordered_rows_are_named() {
    // Swap the contents (and hashes) of records 5 and 6 of the stream.
    let problems = problems_after(
        "UPDATE audit_records SET stream_seq = -5 WHERE stream_seq = 5;
         UPDATE audit_records SET stream_seq = 5 WHERE stream_seq = 6;
         UPDATE audit_records SET stream_seq = 6 WHERE stream_seq = -5;",
    );
    assert!(
        problems.contains(&Problem::Reordered { seq: 5 }),
        "{problems:?}"
    );
}

#[test]
fn a_truncated_tail_is_named() {
    let problems = problems_after("DELETE FROM audit_records WHERE seq > 24");
    assert_eq!(
        problems,
        vec![Problem::TailTruncated {
            checkpoint_last_seq: 30,
            last_seq: Some(24)
        }]
    );
}

#[test]
fn a_deleted_head_is_named() {
    let problems = problems_after("DELETE FROM audit_records WHERE seq <= 3");
    assert!(
        matches!(
            problems[0],
            Problem::HeadDeleted {
                expected_first_seq: 1,
                first_seq: Some(4)
            }
        ),
        "{problems:?}"
    );
}

#[test]
fn a_forged_checkpoint_is_named() {
    let problems = problems_after("UPDATE audit_checkpoints SET record_count = 99 WHERE id = 2");
    assert_eq!(problems, vec![Problem::ForgedCheckpoint { id: 2 }]);
}

#[test]
fn a_rewritten_chain_is_caught_by_the_signed_checkpoints() {
    // Recompute the whole chain after an edit, as an attacker without the
    // key can: every link is consistent again, the checkpoints are not.
    let dir = Scratch::new();
    let db = dir.path("audit.db");
    let mut store = filled(&db, 12, 5);
    store.checkpoint(CheckpointKind::Shutdown).unwrap();
    drop(store);
    tamper(
        &db,
        "UPDATE audit_records SET user_id = 'mallory' WHERE seq = 2",
    );
    let conn = rusqlite::Connection::open(&db).unwrap();
    let mut prev = [0u8; 32];
    for seq in 1..=12i64 {
        let record = warden_audit::StoreReader::open(&db)
            .unwrap()
            .query_with_seq(&warden_audit::Query::default())
            .unwrap()
            .into_iter()
            .find(|(s, _)| *s == seq)
            .unwrap()
            .1;
        let hash = warden_audit::link(&prev, &record);
        conn.execute(
            "UPDATE audit_records SET prev_hash = ?1, hash = ?2 WHERE seq = ?3",
            rusqlite::params![&prev[..], &hash[..], seq],
        )
        .unwrap();
        prev = hash;
    }
    let report = verify_with(&db, &key()).unwrap();
    assert!(
        report
            .problems
            .iter()
            .any(|p| matches!(p, Problem::CheckpointMismatch { .. })),
        "{report}"
    );
    assert_eq!(
        report.valid, 12,
        "the links themselves are consistent: {report}"
    );
}

#[test]
fn the_wrong_key_fails_every_checkpoint() {
    let dir = Scratch::new();
    let db = dir.path("audit.db");
    drop(filled(&db, 10, 5));
    let other = warden_audit::AuditKey::new(*b"another sixteen-byte key").unwrap();
    let report = verify_with(&db, &other).unwrap();
    assert_eq!(report.problems.len(), 2, "{report}");
}

#[test]
fn a_purge_keeps_verify_passing_and_deleting_more_is_caught() {
    let dir = Scratch::new();
    let db = dir.path("audit.db");
    let mut store = filled(&db, 20, 10);
    let now = std::time::SystemTime::now() + std::time::Duration::from_secs(1);
    // Everything written so far has expired; then more records arrive.
    assert_eq!(store.purge(now).unwrap(), 20);
    let more: Vec<_> = (0..5)
        .map(|i| {
            warden_audit::AuditRecord::new(warden_audit::EventType::Security, format!("late-{i}"))
        })
        .collect();
    store.append(&more).unwrap();
    store.checkpoint(CheckpointKind::Shutdown).unwrap();
    let report = verify_with(&db, &key()).unwrap();
    assert!(report.is_ok(), "{report}");
    assert_eq!(report.records, 5);
    drop(store);
    // The stream goes on from 21 (the rows' own numbers start again).
    tamper(&db, "DELETE FROM audit_records WHERE stream_seq = 21");
    let report = verify_with(&db, &key()).unwrap();
    assert!(
        matches!(
            report.problems[0],
            Problem::HeadDeleted {
                expected_first_seq: 21,
                ..
            }
        ),
        "{report}"
    );
}

#[test]
fn a_missing_file_or_another_database_is_a_clear_error() {
    let dir = Scratch::new();
    let missing = dir.path("missing.db");
    let err = verify_with(&missing, &key()).unwrap_err().to_string();
    assert!(err.contains("is not a warden audit database"), "{err}");
    assert!(!missing.exists(), "verify must not create the file");
    let other = dir.path("other.db");
    tamper(&other, "CREATE TABLE t (x INTEGER)");
    let err = verify_with(&other, &key()).unwrap_err().to_string();
    assert!(err.contains("is not a warden audit database"), "{err}");
    std::fs::write(dir.path("text.db"), "not sqlite at all, just text").unwrap();
    assert!(verify_with(dir.path("text.db"), &key()).is_err());
}
