//! `warden::init()`'s stack, assembled by `Warden::builder().build()`:
//! every part works together, against a real SQLite file and a real
//! collector.

use std::time::Duration;

use warden::audit::{Outcome, Query, SqliteStore};
use warden::otlp::Otlp;
use warden::{InitError, Warden};
use warden_test_support::{Buffer, collector};

fn temp_dir(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("warden-init-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

#[test]
fn the_whole_stack_logs_times_audits_and_exports_without_leaking() {
    let collector = collector::Collector::start();
    let dir = temp_dir("stack");
    let db = dir.join("audit.db");
    let lines = Buffer::default();
    let (subscriber, guard) = Warden::builder()
        .filter("info")
        .audit_sqlite(&db)
        .otlp(Otlp::builder().ignore_env().endpoint(collector.grpc()))
        .writer(lines.clone())
        .build()
        .unwrap();
    tracing::subscriber::with_default(subscriber, || {
        for n in 0..20 {
            let _request =
                tracing::info_span!("request", correlation_id = %format!("req-{n}")).entered();
            let _op = tracing::info_span!("login", user = "ada@example.com").entered();
            tracing::debug!("not at the default level");
            warden::audit::authentication!(action = "login", user_id = %n, ip = "203.0.113.9");
            tracing::info!(card = "4111 1111 1111 1111", "paid");
        }
    });
    guard.flush(Duration::from_secs(10)).unwrap();

    // JSON lines: sanitized, with their request's ID, filter honoured.
    let json = lines.lines();
    assert_eq!(json.len(), 40, "{}", lines.contents());
    let text = lines.contents();
    for raw in ["ada@example.com", "4111 1111 1111 1111", "203.0.113.9"] {
        assert!(!text.contains(raw), "{raw} in the JSON lines");
    }
    assert!(
        json.iter()
            .all(|l| l["correlation_id"].as_str().unwrap().starts_with("req-"))
    );
    assert!(!text.contains("not at the default level"));

    // Metrics.
    let login = guard.metrics().unwrap().snapshot(Default::default());
    assert_eq!(login.get("login").unwrap().count, 20);

    // Audit: in SQLite, verified, and at the collector.
    assert!(
        collector.wait_for(Duration::from_secs(10), |o| {
            o.matches("audit.action: Str(login)").count() == 20
                && o.matches("Name           : login").count() == 20
                && o.contains("warden.operation.duration")
        }),
        "{}",
        collector.output()
    );
    let output = collector.output();
    for raw in ["ada@example.com", "4111 1111 1111 1111", "203.0.113.9"] {
        assert!(!output.contains(raw), "{raw} reached the collector");
    }
    let stats = guard.otlp().unwrap().stats();
    assert_eq!((stats.audit.exported, stats.lost()), (20, 0), "{stats}");
    drop(guard);
    // The shutdown checkpoint is witnessed at the collector.
    assert!(
        collector.wait_for(Duration::from_secs(10), |o| o
            .contains("audit.checkpoint.last_seq: Int(20)")),
        "{}",
        collector.output()
    );
    let store = SqliteStore::open(&db).unwrap();
    assert_eq!(store.query(&Query::default()).unwrap().len(), 20);
    assert!(warden::audit::verify(&db).unwrap().is_ok());
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn bad_settings_are_clear_errors() {
    let err = Warden::builder()
        .filter("info,[")
        .without_audit()
        .without_otlp()
        .build()
        .err()
        .unwrap();
    assert!(matches!(err, InitError::Filter { .. }), "{err}");
    let dir = temp_dir("bad");
    std::fs::write(dir.join("not-a-dir"), b"x").unwrap();
    let err = Warden::builder()
        .audit_sqlite(dir.join("not-a-dir").join("audit.db"))
        .without_otlp()
        .build()
        .err()
        .unwrap();
    assert!(matches!(err, InitError::Audit(_)), "{err}");
    let err = Warden::builder()
        .without_audit()
        .otlp(Otlp::builder().ignore_env().endpoint("http://"))
        .build()
        .err()
        .unwrap();
    assert!(err.to_string().contains("invalid OTLP endpoint"), "{err}");
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn each_part_can_be_left_out() {
    let lines = Buffer::default();
    let (subscriber, guard) = Warden::builder()
        .without_audit()
        .without_otlp()
        .without_pii()
        .without_metrics()
        .without_correlation()
        .writer(lines.clone())
        .build()
        .unwrap();
    tracing::subscriber::with_default(subscriber, || tracing::info!(n = 1, "plain"));
    assert!(guard.metrics().is_none() && guard.audit().is_none() && guard.otlp().is_none());
    let line = &lines.lines()[0];
    assert_eq!(line["n"], 1, "{line}");
    assert!(line.get("correlation_id").is_none(), "{line}");
}

/// The audit trail still says who and from where: behind the stack's PII
/// gate, users and client IPs reach the store as keyed hashes of the real
/// values (stable, so joinable), while the log lines show placeholders as
/// they always did.
#[test]
fn audit_identity_fields_are_keyed_hashes_in_the_store_and_placeholders_elsewhere() {
    let dir = temp_dir("identity");
    let db = dir.join("audit.db");
    let lines = Buffer::default();
    let (subscriber, guard) = Warden::builder()
        .audit_sqlite(&db)
        .audit_identity_fields(["account_email"])
        .without_otlp()
        .writer(lines.clone())
        .build()
        .unwrap();
    tracing::subscriber::with_default(subscriber, || {
        warden::audit::security!(
            action = "password_reset",
            user_id = "u-7",
            account_email = "carol@example.com",
            note = "asked by carol@example.com"
        );
        for (user, ip) in [
            ("ada@example.com", "203.0.113.9"),
            ("ada@example.com", "198.51.100.7"),
            ("bob@example.com", "203.0.113.9"),
        ] {
            warden::audit::security!(action = "login_failed", user_id = user, ip = ip);
        }
        warden::audit::authentication!(action = "login", user = "u-42", client_ip = "2001:db8::1");
    });
    guard.shutdown(Duration::from_secs(10)).unwrap();

    let text = lines.contents();
    for raw in ["ada@example.com", "203.0.113.9", "2001:db8::1"] {
        assert!(!text.contains(raw), "{raw} in the JSON lines: {text}");
    }
    assert!(
        text.contains("[REDACTED:EMAIL]") && !text.contains("hmac:"),
        "{text}"
    );

    let key = warden::audit::AuditKey::for_store(&db).unwrap();
    let store = SqliteStore::open(&db).unwrap();
    let mut records = store.query(&Query::default()).unwrap();
    records.reverse();
    // A field the user named: hashed; any other: sanitized as always.
    let reset = records.remove(0);
    assert_eq!(
        reset.metadata["account_email"],
        key.pseudonym("carol@example.com")
    );
    assert_eq!(reset.metadata["note"], "asked by [REDACTED:EMAIL]");
    assert!(!text.contains("carol@example.com"), "{text}");
    let who: Vec<_> = records
        .iter()
        .map(|r| {
            (
                r.user_id.clone().unwrap(),
                r.client_ip_hash.clone().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        who,
        [
            (key.pseudonym("ada@example.com"), key.hash_ip("203.0.113.9")),
            (
                key.pseudonym("ada@example.com"),
                key.hash_ip("198.51.100.7")
            ),
            (key.pseudonym("bob@example.com"), key.hash_ip("203.0.113.9")),
            (key.pseudonym("u-42"), key.hash_ip("2001:db8::1")),
        ]
    );
    assert_eq!(
        records.iter().map(|r| r.outcome).collect::<Vec<_>>(),
        [
            Outcome::Failure,
            Outcome::Failure,
            Outcome::Failure,
            Outcome::Success
        ]
    );
    let ada = store
        .query(&Query::default().user("ada@example.com", Some(&key)))
        .unwrap();
    assert_eq!(ada.len(), 2);
    let bytes = String::from_utf8_lossy(&std::fs::read(&db).unwrap()).into_owned();
    assert!(!bytes.contains("ada@example.com") && !bytes.contains("203.0.113.9"));
    assert!(warden::audit::verify(&db).unwrap().is_ok());
    std::fs::remove_dir_all(dir).unwrap();
}

/// The assembled stack on a shared PostgreSQL store: identities
/// keyed-hashed with the fleet's key, the stream verifies.
#[cfg(feature = "postgres")]
#[test]
fn the_stack_audits_to_postgres() {
    let server = warden_test_support::Postgres::start();
    let key = warden::audit::AuditKey::new(*b"the fleet's shared audit key").unwrap();
    let (subscriber, guard) = Warden::builder()
        .audit_postgres(server.admin_url())
        .audit_key(key.clone())
        .without_otlp()
        .writer(Buffer::default())
        .build()
        .unwrap();
    tracing::subscriber::with_default(subscriber, || {
        warden::audit::security!(
            action = "login_failed",
            user_id = "ada@example.com",
            ip = "203.0.113.9"
        );
    });
    guard.shutdown(Duration::from_secs(10)).unwrap();
    let mut store = warden::audit::PostgresStore::open(&server.admin_url()).unwrap();
    let records = store
        .query(&Query::default().user("ada@example.com", Some(&key)))
        .unwrap();
    assert_eq!(records.len(), 1);
    assert_eq!(records[0].outcome, Outcome::Failure);
    assert_eq!(records[0].client_ip_hash, Some(key.hash_ip("203.0.113.9")));
    let reports = warden::audit::Verifier::new()
        .verify_postgres(&server.admin_url())
        .unwrap();
    assert!(reports.is_ok(), "{reports}");
    // Without a shared key, the fleet's pseudonyms would not join: refused.
    let refused = Warden::builder()
        .audit_postgres(server.admin_url())
        .without_otlp()
        .build();
    if std::env::var_os("WARDEN_AUDIT_KEY").is_none() {
        assert!(matches!(refused, Err(InitError::Audit(_))));
    }
}

#[test]
fn a_non_blocking_stdout_shows_its_drops_in_metrics_and_stops_with_the_guard() {
    let (subscriber, guard) = Warden::builder()
        .non_blocking(1_000)
        .without_audit()
        .without_otlp()
        .build()
        .unwrap();
    tracing::subscriber::with_default(subscriber, || tracing::info!("through the queue"));
    let mut page = String::new();
    guard.ops().write_metrics(Default::default(), &mut page);
    assert!(page.contains("warden_json_dropped_lines_total 0"), "{page}");
    guard.shutdown(std::time::Duration::from_secs(5)).unwrap();
}
