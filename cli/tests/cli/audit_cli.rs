//! `warden audit`, run as a user would, on stores written by the library.

use std::path::{Path, PathBuf};
use std::process::Command;

use warden_audit::{AuditLevel, AuditRecord, CheckpointKind, EventType, Outcome, SqliteStore};

struct Scratch(PathBuf);

impl Scratch {
    fn new() -> Self {
        let dir = std::env::temp_dir().join(format!("warden-cli-audit-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&dir).unwrap();
        Scratch(dir)
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn warden(args: &[&str]) -> (i32, String, String) {
    warden_with_env(args, &[])
}

/// Runs the CLI with `args` and these environment variables set (and
/// `WARDEN_AUDIT_KEY` unset): its exit code, stdout and stderr.
pub(crate) fn warden_with_env(args: &[&str], env: &[(&str, &str)]) -> (i32, String, String) {
    let mut command = Command::new(env!("CARGO_BIN_EXE_warden"));
    command.args(args).env_remove("WARDEN_AUDIT_KEY");
    for (name, value) in env {
        command.env(name, value);
    }
    let out = command.output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// A store with logins, failed logins and API calls by three users.
fn store(dir: &Path) -> PathBuf {
    let db = dir.join("audit.db");
    let mut store = SqliteStore::open(&db).unwrap();
    let mut records = Vec::new();
    for i in 0..30 {
        let mut r = match i % 3 {
            0 => AuditRecord::new(EventType::Authentication, "login"),
            1 => AuditRecord::new(EventType::Security, "login_failed")
                .with_level(AuditLevel::Security)
                .with_outcome(Outcome::Failure),
            _ => AuditRecord::new(EventType::ApiCall, "get_order")
                .with_resource(format!("order-{i}")),
        }
        .with_user(format!("user-{}", i % 5));
        r.correlation_id = Some(format!("req-{i}").parse().unwrap());
        records.push(r);
    }
    store.append(&records).unwrap();
    store.checkpoint(CheckpointKind::Shutdown).unwrap();
    db
}

#[test]
fn query_filters_and_formats() {
    let dir = Scratch::new();
    let db = store(&dir.0);
    let db = db.to_str().unwrap();
    let (code, out, err) = warden(&[
        "audit", "query", "--db", db, "--event", "security", "--format", "json",
    ]);
    assert_eq!(code, 0, "{err}");
    let records: Vec<AuditRecord> = out
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(records.len(), 10);
    assert!(records.iter().all(|r| r.action == "login_failed"));
    assert!(
        records.windows(2).all(|w| w[0].timestamp >= w[1].timestamp),
        "newest first"
    );

    let (_, out, _) = warden(&[
        "audit", "query", "--db", db, "--user", "user-2", "--level", "SECURITY", "--format", "json",
    ]);
    assert_eq!(out.lines().count(), 2, "{out}");
    let (_, out, _) = warden(&[
        "audit",
        "query",
        "--db",
        db,
        "--correlation",
        "req-7",
        "--format",
        "json",
    ]);
    assert_eq!(out.lines().count(), 1);
    let (_, out, _) = warden(&[
        "audit",
        "query",
        "--db",
        db,
        "--resource",
        "order-5",
        "--since",
        "1h",
        "--format",
        "json",
    ]);
    assert_eq!(out.lines().count(), 1);
    let (_, out, _) = warden(&[
        "audit", "query", "--db", db, "--until", "1h", "--format", "json",
    ]);
    assert_eq!(out.lines().count(), 0);
    let (_, out, _) = warden(&["audit", "query", "--db", db, "--limit", "4"]);
    assert_eq!(out.lines().count(), 5, "a header and four rows: {out}");
    assert!(
        out.starts_with("TIME") && out.contains("login_failed"),
        "{out}"
    );
    let (code, _, err) = warden(&["audit", "query", "--db", db, "--since", "yesterdayish"]);
    assert_eq!(code, 2, "{err}");
}

#[test]
fn stats_count_by_day_type_level_and_outcome() {
    let dir = Scratch::new();
    let db = store(&dir.0);
    let (code, out, err) = warden(&["audit", "stats", "--db", db.to_str().unwrap()]);
    assert_eq!(code, 0, "{err}");
    assert!(
        out.contains("SECURITY") && out.contains("FAILURE") && out.contains("30 records"),
        "{out}"
    );
}

#[test]
fn verify_passes_then_fails_after_tampering_and_purge_keeps_it_passing() {
    let dir = Scratch::new();
    let db = store(&dir.0);
    let path = db.to_str().unwrap();
    let (code, out, err) = warden(&["audit", "verify", "--db", path]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("result:      OK"), "{out}");

    let (code, out, err) = warden(&["audit", "purge", "--db", path, "--older-than", "0s"]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("deleted 30 records"), "{out}");
    let (code, out, _) = warden(&["audit", "verify", "--db", path]);
    assert_eq!(code, 0, "{out}");

    let dir2 = Scratch::new();
    let db2 = store(&dir2.0);
    rusqlite::Connection::open(&db2)
        .unwrap()
        .execute(
            "UPDATE audit_records SET action = 'nothing_to_see' WHERE seq = 4",
            [],
        )
        .unwrap();
    let (code, out, _) = warden(&["audit", "verify", "--db", db2.to_str().unwrap()]);
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains("record 4 was edited") && out.contains("FAILED"),
        "{out}"
    );
}

#[test]
fn tail_prints_the_newest_records() {
    let dir = Scratch::new();
    let db = store(&dir.0);
    let (code, out, _) = warden(&[
        "audit",
        "tail",
        "--db",
        db.to_str().unwrap(),
        "-n",
        "3",
        "--format",
        "json",
    ]);
    assert_eq!(code, 0);
    let records: Vec<AuditRecord> = out
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(records.len(), 3);
    assert_eq!(
        records[2].correlation_id.as_ref().unwrap().to_string(),
        "req-29",
        "oldest first, ending with the newest"
    );
}

#[test]
fn a_missing_or_foreign_database_is_a_one_line_error() {
    let dir = Scratch::new();
    let missing = dir.0.join("missing.db");
    for sub in ["query", "verify", "stats", "tail", "purge"] {
        let (code, out, err) = warden(&["audit", sub, "--db", missing.to_str().unwrap()]);
        assert_eq!(code, 1, "{sub}: {out}{err}");
        assert_eq!(err.lines().count(), 1, "{sub}: {err}");
        assert!(
            err.contains("is not a warden audit database"),
            "{sub}: {err}"
        );
        assert!(!err.contains("panicked"));
    }
    assert!(!missing.exists(), "nothing may create the file");
    let foreign = dir.0.join("foreign.db");
    rusqlite::Connection::open(&foreign)
        .unwrap()
        .execute_batch("CREATE TABLE t (x)")
        .unwrap();
    let (code, _, err) = warden(&["audit", "query", "--db", foreign.to_str().unwrap()]);
    assert_eq!((code, err.lines().count()), (1, 1), "{err}");
}

/// Behind a PII gate, a store written with the store's key keeps users and
/// client IPs as keyed hashes, and `--user` finds a user by hashing it.
#[test]
fn query_finds_a_pseudonymized_user_by_hashing_the_argument() {
    use tracing_subscriber::prelude::*;

    let dir = Scratch::new();
    let db = dir.0.join("audit.db");
    let audit = warden_audit::AuditLayer::sqlite(&db).unwrap();
    let subscriber = tracing_subscriber::registry()
        .with(warden_pii::PiiLayer::default())
        .with(audit.clone());
    tracing::subscriber::with_default(subscriber, || {
        for user in ["ada@example.com", "ada@example.com", "bob@example.com"] {
            warden_audit::security!(action = "login_failed", user_id = user, ip = "203.0.113.9");
        }
    });
    audit.shutdown(std::time::Duration::from_secs(10)).unwrap();
    let bytes = std::fs::read(&db).unwrap();
    let raw = String::from_utf8_lossy(&bytes);
    assert!(!raw.contains("ada@example.com") && !raw.contains("203.0.113.9"));

    let db = db.to_str().unwrap();
    let (code, out, err) = warden(&[
        "audit",
        "query",
        "--db",
        db,
        "--user",
        "ada@example.com",
        "--format",
        "json",
    ]);
    assert_eq!(code, 0, "{err}");
    let ada: Vec<AuditRecord> = out
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(ada.len(), 2, "{out}");
    assert!(ada.iter().all(|r| r.outcome == Outcome::Failure));
    assert!(ada[0].user_id.as_deref().unwrap().starts_with("hmac:"));
    let (_, out, _) = warden(&["audit", "query", "--db", db, "--user", "bob@example.com"]);
    assert_eq!(out.lines().count(), 2, "a header and bob's row: {out}");
    // A key file that is not there is a clear error, not an empty answer.
    let (code, out, err) = warden(&[
        "audit",
        "query",
        "--db",
        db,
        "--user",
        "ada@example.com",
        "--key-file",
        "/nonexistent/key",
    ]);
    assert_ne!(code, 0, "{out}");
    assert!(err.contains("/nonexistent/key"), "{err}");
}

/// `keygen` writes a pair; a store signed with the secret key verifies with
/// the public key alone, fails with another one, and is held to a witness.
#[test]
fn keygen_then_verify_with_the_public_key_and_a_witness() {
    use warden_audit::{JsonlWitness, SigningKey, SqliteSink};

    let dir = Scratch::new();
    let secret = dir.0.join("signing.key");
    let (code, out, err) = warden(&["audit", "keygen", "--out", secret.to_str().unwrap()]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("ed25519:"), "{out}");
    let public = dir.0.join("signing.key.pub");
    assert!(public.exists());
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&secret).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    // keygen never overwrites a key.
    let (code, _, err) = warden(&["audit", "keygen", "--out", secret.to_str().unwrap()]);
    assert_ne!(code, 0);
    assert!(err.contains("signing.key"), "{err}");

    let db = dir.0.join("audit.db");
    let witness = dir.0.join("witness.jsonl");
    let mut sink = SqliteSink::builder(&db)
        .signing_key(SigningKey::from_file(&secret).unwrap())
        .witness(JsonlWitness::open(&witness).unwrap())
        .build()
        .unwrap();
    use warden_audit::AuditSink;
    sink.write(&[AuditRecord::new(EventType::Authentication, "login")])
        .unwrap();
    sink.close().unwrap();
    drop(sink);
    // Without the HMAC key file: the public key is all the verifier needs.
    std::fs::remove_file(warden_audit::key_file(&db)).unwrap();
    let (db, public, witness) = (
        db.to_str().unwrap(),
        public.to_str().unwrap(),
        witness.to_str().unwrap(),
    );
    let (code, out, err) = warden(&[
        "audit",
        "verify",
        "--db",
        db,
        "--public-key",
        public,
        "--witness",
        witness,
    ]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(
        out.contains("(a trusted public key): 1 checkpoints, records up to 1"),
        "{out}"
    );
    assert!(out.contains("witnessed:   1 checkpoints"), "{out}");

    let other = dir.0.join("other.key");
    warden(&["audit", "keygen", "--out", other.to_str().unwrap()]);
    let other_public = format!("{}.pub", other.display());
    let (code, out, _) = warden(&["audit", "verify", "--db", db, "--public-key", &other_public]);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("not a trusted public key"), "{out}");
}

/// `verify --db FILE.jsonl` checks JSONL files, rotations included.
#[test]
fn verify_checks_jsonl_files() {
    use warden_audit::{AuditSink, JsonlSink, SigningKey};

    let dir = Scratch::new();
    let path = dir.0.join("audit.jsonl");
    let signing = SigningKey::generate();
    signing.write(dir.0.join("signing.key")).unwrap();
    let mut sink = JsonlSink::open(&path)
        .unwrap()
        .rotate_at_size(1_000)
        .signing_key(signing);
    for i in 0..12 {
        sink.write(&[AuditRecord::new(
            EventType::Authentication,
            format!("login-{i}"),
        )])
        .unwrap();
    }
    sink.close().unwrap();
    drop(sink);
    let public = dir.0.join("signing.key.pub");
    let (code, out, err) = warden(&[
        "audit",
        "verify",
        "--db",
        path.to_str().unwrap(),
        "--public-key",
        public.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(
        out.contains("records:     12 (12 valid, 0 invalid)"),
        "{out}"
    );
    let text = std::fs::read_to_string(&path).unwrap();
    std::fs::write(&path, text.replace("login-11", "login-99")).unwrap();
    let (code, out, _) = warden(&[
        "audit",
        "verify",
        "--db",
        path.to_str().unwrap(),
        "--public-key",
        public.to_str().unwrap(),
    ]);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("record 12 was edited"), "{out}");
}
