//! `warden audit` on a PostgreSQL store, against a real server: the
//! append-only role, query, stats, verify per stream, retention.

use std::time::{Duration, SystemTime};

use warden_audit::{AuditRecord, AuditSink, EventType, PostgresSink, SigningKey};
use warden_test_support::{Postgres, Scratch};

use crate::audit_cli::warden_with_env as warden;

#[test]
fn setup_role_query_stats_verify_and_purge_on_postgres() {
    let server = Postgres::start();
    let dir = Scratch::new();
    let admin = server.admin_url();
    let (code, out, err) = warden(
        &[
            "audit",
            "setup-role",
            "--db",
            &admin,
            "--role",
            "api_svc",
            "--password-env",
            "SVC_PW",
        ],
        &[("SVC_PW", "svc-secret")],
    );
    assert_eq!(code, 0, "{out}{err}");
    let (code, sql, _) = warden(
        &[
            "audit",
            "setup-role",
            "--db",
            &admin,
            "--role",
            "x",
            "--print",
        ],
        &[],
    );
    assert_eq!(code, 0);
    assert!(
        sql.contains("GRANT INSERT ON audit_records") && !sql.contains("UPDATE"),
        "{sql}"
    );

    // The service writes as its own role: yesterday's records, then today's.
    let writer_key = dir.path("writer.key");
    let (code, _, err) = warden(
        &["audit", "keygen", "--out", writer_key.to_str().unwrap()],
        &[],
    );
    assert_eq!(code, 0, "{err}");
    let mut sink = PostgresSink::builder(server.url("api_svc", "svc-secret"))
        .stream("api")
        .signing_key(SigningKey::from_file(&writer_key).unwrap())
        .build()
        .unwrap();
    let yesterday = SystemTime::now() - Duration::from_secs(86_400 + 3_600);
    let old: Vec<AuditRecord> = (0..10)
        .map(|i| {
            let mut r =
                AuditRecord::new(EventType::Authentication, "login").with_user(format!("u-{i}"));
            r.timestamp = yesterday;
            r
        })
        .collect();
    sink.write(&old).unwrap();
    let new: Vec<AuditRecord> = (0..10)
        .map(|i| AuditRecord::new(EventType::Security, "login_failed").with_user(format!("u-{i}")))
        .collect();
    sink.write(&new).unwrap();
    sink.close().unwrap();
    drop(sink);

    let (code, out, err) = warden(
        &[
            "audit", "query", "--db", &admin, "--user", "u-3", "--format", "json",
        ],
        &[],
    );
    assert_eq!(code, 0, "{err}");
    assert_eq!(out.lines().count(), 2, "{out}");
    let (code, out, err) = warden(
        &[
            "audit", "tail", "--db", &admin, "-n", "3", "--format", "json",
        ],
        &[],
    );
    assert_eq!(code, 0, "{err}");
    assert_eq!(out.lines().count(), 3, "{out}");
    assert!(
        out.lines().all(|l| l.contains("login_failed")),
        "the newest three: {out}"
    );
    let (code, out, _) = warden(&["audit", "stats", "--db", &admin], &[]);
    assert_eq!(code, 0);
    assert!(out.contains("20 records"), "{out}");
    let writer_pub = format!("{}.pub", writer_key.display());
    let (code, out, err) = warden(
        &[
            "audit",
            "verify",
            "--db",
            &admin,
            "--public-key",
            &writer_pub,
        ],
        &[],
    );
    assert_eq!(code, 0, "{out}{err}");
    assert!(
        out.contains("stream api:") && out.contains("1 streams: OK"),
        "{out}"
    );

    // Retention drops yesterday's partition and signs an anchor.
    let purge_key = dir.path("purge.key");
    warden(
        &["audit", "keygen", "--out", purge_key.to_str().unwrap()],
        &[],
    );
    let (code, _, err) = warden(
        &["audit", "purge", "--db", &admin, "--older-than", "0s"],
        &[],
    );
    assert_ne!(code, 0);
    assert!(err.contains("--signing-key"), "{err}");
    let (code, out, err) = warden(
        &[
            "audit",
            "purge",
            "--db",
            &admin,
            "--older-than",
            "0s",
            "--signing-key",
            purge_key.to_str().unwrap(),
        ],
        &[],
    );
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("deleted 10 records"), "{out}");
    let purge_pub = format!("{}.pub", purge_key.display());
    let (code, out, err) = warden(
        &[
            "audit",
            "verify",
            "--db",
            &admin,
            "--public-key",
            &writer_pub,
            "--public-key",
            &purge_pub,
        ],
        &[],
    );
    assert_eq!(code, 0, "{out}{err}");
    assert!(
        out.contains("records:     10 (10 valid, 0 invalid)"),
        "{out}"
    );
    // Without the purger's key its anchor is not trusted.
    let (code, out, _) = warden(
        &[
            "audit",
            "verify",
            "--db",
            &admin,
            "--public-key",
            &writer_pub,
        ],
        &[],
    );
    assert_eq!(code, 1, "{out}");
}
