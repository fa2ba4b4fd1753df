//! Ed25519 checkpoints: they verify with the public key alone, a
//! checkpoint forged with another key is named, and a store rewritten and
//! re-signed with the stolen key is caught by the checkpoints its witness
//! kept elsewhere.

use std::path::Path;

use crate::common::{key, tamper};
use warden_audit::{
    AuditRecord, CheckpointKind, CheckpointPolicy, EventType, JsonlWitness, Problem, Query,
    SignerTrust, SigningKey, SqliteStore, StoreReader, SyncMode, Verifier, read_witness_file,
};
use warden_test_support::Scratch;

fn policy(every: u64) -> CheckpointPolicy {
    CheckpointPolicy {
        every_records: every,
        every: std::time::Duration::from_secs(3600),
    }
}

/// A store at `path` signed by `signing`, with `records` appended `every`
/// at a time (a checkpoint after each batch) and a shutdown checkpoint.
fn write_store(
    path: &Path,
    signing: &SigningKey,
    records: &[AuditRecord],
    every: u64,
) -> SqliteStore {
    let mut store = SqliteStore::open_with(path, key(), SyncMode::Normal, policy(every)).unwrap();
    store.sign_with(signing.clone());
    for chunk in records.chunks(every as usize) {
        store.append(chunk).unwrap();
    }
    store.checkpoint(CheckpointKind::Shutdown).unwrap();
    store
}

fn records(n: usize) -> Vec<AuditRecord> {
    (0..n)
        .map(|i| {
            AuditRecord::new(EventType::Authentication, format!("login-{i}"))
                .with_user(format!("user-{}", i % 4))
        })
        .collect()
}

#[test]
fn ed25519_checkpoints_verify_with_the_public_key_alone_and_say_who_signed() {
    let dir = Scratch::new();
    let db = dir.path("audit.db");
    let signing = SigningKey::generate();
    drop(write_store(&db, &signing, &records(20), 5));
    let report = Verifier::new()
        .public_key(signing.public_key())
        .verify(&db)
        .unwrap();
    assert!(report.is_ok(), "{report}");
    assert_eq!(
        (report.records, report.valid, report.valid_checkpoints),
        (20, 20, 5)
    );
    assert_eq!(report.signers.len(), 1);
    assert_eq!(report.signers[0].id, signing.public_key().id());
    assert_eq!(report.signers[0].trust, SignerTrust::TrustedPublicKey);
    assert_eq!(
        (report.signers[0].checkpoints, report.signers[0].last_seq),
        (5, 20)
    );
    assert!(
        report.to_string().contains(&format!(
            "signed by:   {} (a trusted public key): 5 checkpoints, records up to 20",
            signing.public_key().id()
        )),
        "{report}"
    );
    // Without a pinned key, the key recorded in the store is used, and the
    // report says it is not pinned.
    let unpinned = Verifier::new().verify(&db).unwrap();
    assert!(unpinned.is_ok(), "{unpinned}");
    assert_eq!(unpinned.signers[0].trust, SignerTrust::RecordedInStore);
    // An edit is caught with the public key alone.
    tamper(
        &db,
        "UPDATE audit_records SET user_id = 'mallory' WHERE seq = 7",
    );
    let report = Verifier::new()
        .public_key(signing.public_key())
        .verify(&db)
        .unwrap();
    assert_eq!(report.problems[0], Problem::Edited { seq: 7 }, "{report}");
}

#[test]
fn a_checkpoint_signed_with_another_key_is_named() {
    let dir = Scratch::new();
    let db = dir.path("audit.db");
    let signing = SigningKey::generate();
    let mut store = write_store(&db, &signing, &records(10), 5);
    // Mallory edits a record, re-links the chain and signs a checkpoint
    // over it with a key of her own.
    let mallory = SigningKey::generate();
    store.sign_with(mallory.clone());
    store.checkpoint(CheckpointKind::Periodic).unwrap();
    drop(store);
    let report = Verifier::new()
        .public_key(signing.public_key())
        .verify(&db)
        .unwrap();
    assert_eq!(
        report.problems,
        [Problem::UntrustedSigner {
            id: 4,
            signer: mallory.public_key().id()
        }],
        "{report}"
    );
    // A checkpoint whose signature does not hold is forged, whoever it names.
    tamper(
        &db,
        "UPDATE audit_checkpoints SET record_count = 99 WHERE id = 1",
    );
    let report = Verifier::new()
        .public_key(signing.public_key())
        .verify(&db)
        .unwrap();
    assert!(
        report
            .problems
            .contains(&Problem::ForgedCheckpoint { id: 1 }),
        "{report}"
    );
}

#[test]
fn a_store_rewritten_and_resigned_with_the_stolen_key_is_caught_by_its_witness() {
    let dir = Scratch::new();
    let db = dir.path("audit.db");
    let witness_file = dir.path("witness.jsonl");
    let signing = SigningKey::generate();
    let mut store = SqliteStore::open_with(&db, key(), SyncMode::Normal, policy(5)).unwrap();
    store.sign_with(signing.clone());
    store.add_witness(JsonlWitness::open(&witness_file).unwrap());
    let original = records(20);
    for chunk in original.chunks(5) {
        store.append(chunk).unwrap();
    }
    store.checkpoint(CheckpointKind::Shutdown).unwrap();
    let stream = store.stream().to_owned();
    drop(store);
    let witnessed = read_witness_file(&witness_file).unwrap();
    assert_eq!(witnessed.len(), 5);
    assert!(witnessed.iter().all(|w| w.checkpoint.stream == stream));

    // The attacker, with the signing key, writes the history anew with one
    // record changed, under the same stream name, and puts it in place.
    let mut history: Vec<AuditRecord> = StoreReader::open(&db)
        .unwrap()
        .query_with_seq(&Query::default())
        .unwrap()
        .into_iter()
        .rev()
        .map(|(_, r)| r)
        .collect();
    history[6].user_id = Some("someone-else".into());
    let forged = dir.path("forged.db");
    let mut forger = SqliteStore::open_with(&forged, key(), SyncMode::Normal, policy(5)).unwrap();
    forger.continue_stream(&stream).unwrap();
    forger.sign_with(signing.clone());
    for chunk in history.chunks(5) {
        forger.append(chunk).unwrap();
    }
    forger.checkpoint(CheckpointKind::Shutdown).unwrap();
    drop(forger);
    std::fs::copy(&forged, &db).unwrap();

    // The public key alone cannot tell: every signature is the key's own.
    let report = Verifier::new()
        .public_key(signing.public_key())
        .verify(&db)
        .unwrap();
    assert!(report.is_ok(), "{report}");
    // The checkpoints kept off the host can.
    let report = Verifier::new()
        .public_key(signing.public_key())
        .witness(witnessed)
        .verify(&db)
        .unwrap();
    assert!(!report.is_ok(), "{report}");
    assert!(
        report
            .problems
            .iter()
            .all(|p| matches!(p, Problem::WitnessMismatch { last_seq, .. } if *last_seq >= 7)),
        "{report}"
    );
    assert_eq!(
        report.witnessed, 1,
        "the checkpoint of records 1 to 5 still matches: {report}"
    );
    assert!(
        report.to_string().contains("the store was rewritten"),
        "{report}"
    );
}

#[test]
fn a_store_moved_from_hmac_to_ed25519_verifies_with_both_and_with_the_public_key() {
    let dir = Scratch::new();
    let db = dir.path("audit.db");
    let mut store = SqliteStore::open_with(&db, key(), SyncMode::Normal, policy(5)).unwrap();
    store.append(&records(5)).unwrap(); // an HMAC checkpoint
    let signing = SigningKey::generate();
    store.sign_with(signing.clone());
    store.append(&records(5)).unwrap(); // an Ed25519 one
    drop(store);
    let both = Verifier::new()
        .hmac_key(key())
        .public_key(signing.public_key())
        .verify(&db)
        .unwrap();
    assert!(both.is_ok() && both.valid_checkpoints == 2, "{both}");
    assert_eq!(both.signers.len(), 2);
    let public_only = Verifier::new()
        .public_key(signing.public_key())
        .verify(&db)
        .unwrap();
    assert!(public_only.is_ok(), "{public_only}");
    assert_eq!(
        (
            public_only.valid_checkpoints,
            public_only.unchecked_checkpoints
        ),
        (1, 1)
    );
}

#[test]
fn a_version_1_store_is_migrated_and_its_hmac_checkpoints_still_verify() {
    let dir = Scratch::new();
    let db = dir.path("audit.db");
    let mut store = SqliteStore::open_with(&db, key(), SyncMode::Normal, policy(5)).unwrap();
    store.append(&records(10)).unwrap();
    drop(store);
    // As version 1 left it: no signature columns, no streams.
    tamper(
        &db,
        "DROP INDEX audit_records_stream;
         ALTER TABLE audit_records DROP COLUMN stream;
         ALTER TABLE audit_records DROP COLUMN stream_seq;
         ALTER TABLE audit_checkpoints DROP COLUMN stream;
         ALTER TABLE audit_checkpoints DROP COLUMN algorithm;
         ALTER TABLE audit_checkpoints DROP COLUMN public_key;
         DELETE FROM warden_meta WHERE key = 'stream';
         UPDATE warden_meta SET value = '1' WHERE key = 'schema_version';",
    );
    let old = Verifier::new().hmac_key(key()).verify(&db).unwrap();
    assert!(
        old.is_ok() && old.valid_checkpoints == 1,
        "read without migrating: {old}"
    );
    let mut store = SqliteStore::open_with(&db, key(), SyncMode::Normal, policy(5)).unwrap();
    assert!(store.stream().starts_with("sqlite-"));
    store.append(&records(5)).unwrap();
    drop(store);
    let report = Verifier::new().hmac_key(key()).verify(&db).unwrap();
    assert!(report.is_ok() && report.valid_checkpoints == 2, "{report}");
    // The store's first stream (the migrated rows) and the new writer's.
    assert_eq!(report.streams.len(), 2, "{report}");
    // Without any key, nothing vouches for either chain: a problem each,
    // not an OK.
    let report = Verifier::new().verify(&db).unwrap();
    assert_eq!(
        report.problems,
        [
            Problem::Unchecked { checkpoints: 1 },
            Problem::Unchecked { checkpoints: 1 }
        ],
        "{report}"
    );
}
