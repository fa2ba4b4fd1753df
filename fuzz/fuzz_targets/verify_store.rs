//! Fuzzes `verify` on audit stores mutated at random: a real SQLite store
//! and a real signed JSONL file, written once, then bytes overwritten and
//! the file cut where the input says. Verification must report (a result
//! or an error), never panic or hang; the untouched stores verify.
#![no_main]

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use warden_audit::{
    AuditKey, AuditRecord, AuditSink, CheckpointPolicy, EventType, JsonlSink, SigningKey,
    SqliteSink, Verifier,
};

/// The stores as first written, and where the mutated copies go.
struct Stores {
    dir: PathBuf,
    sqlite: Vec<u8>,
    jsonl: Vec<u8>,
    /// With the stores' HMAC key and their signer's public key.
    verifier: Verifier,
}

fn records() -> Vec<AuditRecord> {
    (0..40)
        .map(|i| {
            AuditRecord::new(EventType::DataAccess, format!("read-{i}"))
                .with_user(format!("u-{}", i % 3))
        })
        .collect()
}

fn stores() -> &'static Stores {
    static STORES: OnceLock<Stores> = OnceLock::new();
    STORES.get_or_init(|| {
        let dir = std::env::temp_dir().join(format!("warden-fuzz-verify-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("a temporary folder");
        let policy = CheckpointPolicy {
            every_records: 8,
            every: std::time::Duration::from_secs(3600),
        };
        let signing = SigningKey::generate();

        let first = dir.join("first.db");
        let mut sqlite = SqliteSink::builder(&first)
            .signing_key(signing.clone())
            .checkpoints(policy)
            .build()
            .expect("a SQLite store");
        for chunk in records().chunks(5) {
            sqlite.write(chunk).expect("written");
        }
        sqlite.close().expect("closed");
        drop(sqlite);

        let first_jsonl = dir.join("first.jsonl");
        let mut jsonl = JsonlSink::open(&first_jsonl)
            .expect("a JSONL file")
            .signing_key(signing.clone())
            .checkpoints(policy);
        for chunk in records().chunks(5) {
            jsonl.write(chunk).expect("written");
        }
        jsonl.close().expect("closed");
        drop(jsonl);

        // The copies are verified with the first store's keys.
        let key = AuditKey::from_file(&warden_audit::key_file(&first), false)
            .expect("the store's key");
        let stores = Stores {
            sqlite: std::fs::read(&first).expect("the store's bytes"),
            jsonl: std::fs::read(&first_jsonl).expect("the file's bytes"),
            verifier: Verifier::new().hmac_key(key).public_key(signing.public_key()),
            dir,
        };
        assert!(verify(&stores, Kind::Sqlite, &stores.sqlite).is_ok_and(|r| r.is_ok()));
        assert!(verify(&stores, Kind::Jsonl, &stores.jsonl).is_ok_and(|r| r.is_ok()));
        stores
    })
}

/// The store kinds the target mutates.
#[derive(Clone, Copy)]
enum Kind {
    Sqlite,
    Jsonl,
}

/// Writes `bytes` as the store of `kind` and verifies it.
fn verify(
    stores: &Stores,
    kind: Kind,
    bytes: &[u8],
) -> Result<warden_audit::VerifyReport, warden_audit::AuditError> {
    let path = stores.dir.join(match kind {
        Kind::Sqlite => "store.db",
        Kind::Jsonl => "store.jsonl",
    });
    write(&path, bytes);
    match kind {
        Kind::Sqlite => stores.verifier.verify(&path),
        Kind::Jsonl => stores.verifier.verify_jsonl(&path),
    }
}

fn write(path: &Path, bytes: &[u8]) {
    for stale in ["-wal", "-shm", "-journal"] {
        let _ = std::fs::remove_file(format!("{}{stale}", path.display()));
    }
    std::fs::write(path, bytes).expect("the copy written");
}

fuzz_target!(|data: &[u8]| {
    let stores = stores();
    let Some((&mode, edits)) = data.split_first() else {
        return;
    };
    let kind = if mode & 1 == 0 { Kind::Sqlite } else { Kind::Jsonl };
    let mut bytes = match kind {
        Kind::Sqlite => stores.sqlite.clone(),
        Kind::Jsonl => stores.jsonl.clone(),
    };
    // Five bytes an edit: where (a 32-bit offset, wrapped) and the new byte.
    for edit in edits.chunks_exact(5) {
        let at = u32::from_le_bytes([edit[0], edit[1], edit[2], edit[3]]) as usize % bytes.len();
        bytes[at] = edit[4];
    }
    if mode & 2 != 0 {
        let cut = edits.first().map_or(0, |&b| b as usize * bytes.len() / 256);
        bytes.truncate(cut);
    }
    // A report or an error: both are answers.
    let _ = verify(stores, kind, &bytes);
});
