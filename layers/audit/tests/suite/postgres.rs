//! The PostgreSQL store against a real server: a private cluster from
//! Debian's packages, started per test on a free port.

use std::time::Duration;

use warden_audit::{
    AuditRecord, AuditSink, CheckpointPolicy, EventType, PostgresSink, PostgresStore, Problem,
    Query, SigningKey, Verifier,
};
use warden_test_support::Postgres;

fn records(n: usize, tag: &str) -> Vec<AuditRecord> {
    (0..n)
        .map(|i| {
            AuditRecord::new(EventType::ApiCall, format!("{tag}-{i}"))
                .with_user(format!("user-{}", i % 7))
                .with_resource(format!("order-{i}"))
        })
        .collect()
}

fn every(n: u64) -> CheckpointPolicy {
    CheckpointPolicy {
        every_records: n,
        every: Duration::from_secs(3600),
    }
}

#[test]
fn a_stream_is_written_queried_and_verified() {
    let server = Postgres::start();
    let signing = SigningKey::generate();
    let mut sink = PostgresSink::builder(server.admin_url())
        .stream("checkout-a")
        .signing_key(signing.clone())
        .checkpoints(every(50))
        .build()
        .unwrap();
    for chunk in records(120, "get").chunks(40) {
        sink.write(chunk).unwrap();
    }
    sink.close().unwrap();
    drop(sink);

    let mut store = PostgresStore::open(&server.admin_url()).unwrap();
    assert_eq!(store.streams().unwrap(), ["checkout-a"]);
    let all = store.query(&Query::default()).unwrap();
    assert_eq!(all.len(), 120);
    let user = store.query(&Query::default().user("user-3", None)).unwrap();
    assert_eq!(user.len(), 17);
    let reports = Verifier::new()
        .public_key(signing.public_key())
        .verify_postgres(&server.admin_url())
        .unwrap();
    assert!(reports.is_ok(), "{reports}");
    let (_, report) = &reports.streams[0];
    assert_eq!((report.records, report.valid), (120, 120));
    assert_eq!(report.unverified_tail, 0, "{report}");
    // A restarted writer with the same stream continues its chain.
    let mut again = PostgresSink::builder(server.admin_url())
        .stream("checkout-a")
        .signing_key(signing.clone())
        .build()
        .unwrap();
    again.write(&records(5, "more")).unwrap();
    again.close().unwrap();
    let reports = Verifier::new()
        .public_key(signing.public_key())
        .verify_postgres(&server.admin_url())
        .unwrap();
    assert!(
        reports.is_ok() && reports.streams[0].1.records == 125,
        "{reports}"
    );
    // An edit by the superuser is named.
    server.psql(
        "UPDATE audit_records SET user_id = 'mallory' WHERE stream = 'checkout-a' AND seq = 7",
    );
    let reports = Verifier::new()
        .public_key(signing.public_key())
        .verify_postgres(&server.admin_url())
        .unwrap();
    assert_eq!(
        reports.streams[0].1.problems,
        [Problem::Edited { seq: 7 }],
        "{reports}"
    );
}

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

use tracing_subscriber::prelude::*;
use warden_audit::{
    AuditLayer, CheckpointKind, Durability, JsonlWitness, Overflow, Route, RouteFilter,
    read_witness_file,
};

/// Runs one test of this binary in a child process, with `env` set.
fn child(test: &str, env: &[(&str, &str)]) -> Command {
    let mut command = Command::new(std::env::current_exe().unwrap());
    command.args([test, "--exact", "--nocapture", "--test-threads=1", "-q"]);
    for (name, value) in env {
        command.env(name, value);
    }
    command
}

/// A writer process (run by the tests below; a no-op on its own): logs
/// `WARDEN_PG_COUNT` audit events through an `AuditLayer` with a
/// PostgreSQL route, then shuts the layer down.
#[test]
fn writer_process() {
    let Ok(url) = std::env::var("WARDEN_PG_URL") else {
        return;
    };
    let count: usize = std::env::var("WARDEN_PG_COUNT").unwrap().parse().unwrap();
    let sync = std::env::var("WARDEN_PG_SYNC").is_ok();
    let sink = PostgresSink::builder(url)
        .service("writer")
        .build()
        .unwrap();
    let durability = if sync {
        Durability::Sync {
            timeout: Duration::from_secs(30),
        }
    } else {
        Durability::Batched
    };
    let layer = AuditLayer::builder()
        .route(
            Route::new("postgres", RouteFilter::all())
                .sink(sink)
                .durability(durability)
                .overflow(Overflow::Block(Duration::from_secs(30))),
        )
        .build()
        .unwrap();
    let subscriber = tracing_subscriber::registry().with(layer.clone());
    tracing::subscriber::with_default(subscriber, || {
        for i in 0..count {
            warden_audit::api_call!(action = "charge", resource_id = %format!("order-{i}"), amount = i as u64);
            if sync {
                // Acknowledged: committed in the database.
                println!("acked {i}");
            }
        }
    });
    layer.shutdown(Duration::from_secs(60)).unwrap();
    assert_eq!(layer.dropped(), 0);
}

#[test]
fn four_writer_processes_at_once_each_a_stream_that_verifies() {
    let server = Postgres::start();
    warden_audit::create_schema(&server.admin_url()).unwrap();
    let url = server.admin_url();
    let mut writers: Vec<_> = (0..4)
        .map(|_| {
            child(
                "postgres::writer_process",
                &[
                    ("WARDEN_PG_URL", url.as_str()),
                    ("WARDEN_PG_COUNT", "10000"),
                ],
            )
            .stdout(Stdio::null())
            .spawn()
            .unwrap()
        })
        .collect();
    for writer in &mut writers {
        assert!(writer.wait().unwrap().success());
    }
    let mut store = PostgresStore::open(&url).unwrap();
    let streams = store.streams().unwrap();
    assert_eq!(streams.len(), 4, "{streams:?}");
    assert!(
        streams.iter().all(|s| s.starts_with("writer-")),
        "{streams:?}"
    );
    let count = server.psql("SELECT COUNT(*) FROM audit_records");
    assert_eq!(count.trim(), "40000");
    let reports = Verifier::new().verify_postgres(&url).unwrap();
    assert!(reports.is_ok(), "{reports}");
    for (stream, report) in &reports.streams {
        assert_eq!(
            (report.records, report.valid),
            (10_000, 10_000),
            "{stream}: {report}"
        );
        assert_eq!(report.unverified_tail, 0, "{stream}: {report}");
    }
}

#[test]
fn the_server_stopped_mid_run_loses_nothing_it_did_not_state() {
    let server = Postgres::start();
    let url = server.admin_url();
    let sink = PostgresSink::builder(&url)
        .stream("checkout")
        .build()
        .unwrap();
    let layer = AuditLayer::builder()
        .route(
            Route::new("postgres", RouteFilter::all())
                .sink(sink)
                .capacity(500)
                .overflow(Overflow::Drop),
        )
        .build()
        .unwrap();
    let subscriber = tracing_subscriber::registry().with(layer.clone());
    let total = 3_000;
    tracing::subscriber::with_default(subscriber, || {
        for i in 0..total {
            if i == 1_000 {
                layer.flush(Duration::from_secs(10)).unwrap();
                server.stop();
            }
            if i == 2_000 {
                // Several seconds down, then back.
                std::thread::sleep(Duration::from_secs(3));
                server.start_again();
            }
            warden_audit::api_call!(action = "charge", resource_id = %format!("order-{i}"));
            if (1_000..2_000).contains(&i) && i % 100 == 0 {
                std::thread::sleep(Duration::from_millis(10));
            }
        }
    });
    layer.flush(Duration::from_secs(30)).unwrap();
    let dropped = layer.dropped();
    layer.shutdown(Duration::from_secs(30)).unwrap();
    assert!(
        dropped > 0,
        "the queue of 500 should have overflowed while the server was down"
    );
    let mut store = PostgresStore::open(&url).unwrap();
    let charges = store
        .query(&Query {
            action: Some("charge".into()),
            ..Query::default()
        })
        .unwrap();
    assert_eq!(
        charges.len() as u64 + dropped,
        total as u64,
        "every record is stored or counted"
    );
    let lost: Vec<_> = store
        .query(&Query {
            action: Some("audit_records_lost".into()),
            ..Query::default()
        })
        .unwrap();
    let stated: u64 = lost
        .iter()
        .map(|r| r.metadata["lost"].as_u64().unwrap())
        .sum();
    assert_eq!(
        stated, dropped,
        "the loss is stated once the database is back: {lost:?}"
    );
    let reports = Verifier::new().verify_postgres(&url).unwrap();
    assert!(reports.is_ok(), "{reports}");
}

#[test]
fn a_writer_killed_keeps_every_acknowledged_record_and_its_stream_verifies() {
    let server = Postgres::start();
    let url = server.admin_url();
    warden_audit::create_schema(&url).unwrap();
    let mut writer = child(
        "postgres::writer_process",
        &[
            ("WARDEN_PG_URL", url.as_str()),
            ("WARDEN_PG_COUNT", "100000"),
            ("WARDEN_PG_SYNC", "1"),
        ],
    )
    .stdout(Stdio::piped())
    .spawn()
    .unwrap();
    let mut lines = BufReader::new(writer.stdout.take().unwrap()).lines();
    let mut acked = Vec::new();
    for line in lines.by_ref() {
        let line = line.unwrap();
        if let Some(i) = line.strip_prefix("acked ") {
            acked.push(i.parse::<usize>().unwrap());
            if acked.len() == 300 {
                writer.kill().unwrap(); // SIGKILL
                break;
            }
        }
    }
    // What it printed before it died.
    for line in lines {
        if let Some(i) = line.unwrap_or_default().strip_prefix("acked ") {
            acked.push(i.parse().unwrap());
        }
    }
    writer.wait().unwrap();
    let mut store = PostgresStore::open(&url).unwrap();
    let stored: std::collections::HashSet<String> = store
        .query(&Query::default())
        .unwrap()
        .into_iter()
        .filter_map(|r| r.resource_id)
        .collect();
    for i in &acked {
        assert!(
            stored.contains(&format!("order-{i}")),
            "acknowledged record {i} is missing"
        );
    }
    let reports = Verifier::new().verify_postgres(&url).unwrap();
    assert!(reports.is_ok(), "{reports}");
    assert!(reports.streams[0].1.records >= acked.len() as u64);
}

#[test]
fn the_append_only_role_cannot_update_or_delete() {
    let server = Postgres::start();
    warden_audit::setup_role(&server.admin_url(), "checkout_svc", Some("svc-password")).unwrap();
    let svc = server.url("checkout_svc", "svc-password");
    let mut sink = PostgresSink::builder(&svc)
        .stream("checkout")
        .build()
        .unwrap();
    sink.write(&records(10, "get")).unwrap();
    sink.close().unwrap();
    drop(sink);
    // Restarted with the same stream, it reads its head and continues.
    let mut sink = PostgresSink::builder(&svc)
        .stream("checkout")
        .build()
        .unwrap();
    sink.write(&records(5, "more")).unwrap();
    sink.close().unwrap();
    let mut client = postgres::Client::connect(
        &format!(
            "host=127.0.0.1 port={} user=checkout_svc password=svc-password dbname=postgres",
            server.port
        ),
        postgres::NoTls,
    )
    .unwrap();
    for sql in [
        "UPDATE audit_records SET action = 'x'",
        "DELETE FROM audit_records",
        "UPDATE audit_checkpoints SET kind = 'PERIODIC'",
        "DELETE FROM audit_checkpoints",
        "TRUNCATE audit_records",
        "DROP TABLE audit_records",
        "SELECT * FROM audit_records",
    ] {
        let error = client.batch_execute(sql).unwrap_err();
        let text = error
            .as_db_error()
            .map(|e| e.message().to_owned())
            .unwrap_or_default();
        assert!(
            text.contains("permission denied") || text.contains("must be owner"),
            "{sql}: {error}"
        );
    }
    let reports = Verifier::new()
        .verify_postgres(&server.admin_url())
        .unwrap();
    assert!(
        reports.is_ok() && reports.streams[0].1.records == 15,
        "{reports}"
    );
}

/// A store with one stream of 40 records, signed by `signing`, checkpoints
/// every 10 also kept by a witness file.
fn signed_store(server: &Postgres, signing: &SigningKey, witness: &std::path::Path) {
    let mut sink = PostgresSink::builder(server.admin_url())
        .stream("checkout")
        .signing_key(signing.clone())
        .checkpoints(every(10))
        .witness(JsonlWitness::open(witness).unwrap())
        .build()
        .unwrap();
    for chunk in records(40, "get").chunks(10) {
        sink.write(chunk).unwrap();
    }
    sink.close().unwrap();
}

#[test]
fn tampering_by_a_superuser_is_detected() {
    let signing = SigningKey::generate();
    let dir = warden_test_support::Scratch::new();
    let check = |tamper: &str| {
        let server = Postgres::start();
        let witness = dir.path(&format!("witness-{}.jsonl", server.port));
        signed_store(&server, &signing, &witness);
        server.psql(tamper);
        let reports = Verifier::new()
            .public_key(signing.public_key())
            .verify_postgres(&server.admin_url())
            .unwrap();
        assert!(!reports.is_ok(), "unnoticed: {tamper}");
        reports.streams[0].1.problems.clone()
    };
    assert_eq!(
        check("UPDATE audit_records SET action = 'refund' WHERE seq = 12"),
        [Problem::Edited { seq: 12 }]
    );
    assert_eq!(
        check("DELETE FROM audit_records WHERE seq = 20"),
        [Problem::Deleted {
            after_seq: 19,
            before_seq: 21
        }]
    );
    let reordered = check(
        "UPDATE audit_records SET seq = -5 WHERE seq = 5;
         UPDATE audit_records SET seq = 5 WHERE seq = 6;
         UPDATE audit_records SET seq = 6 WHERE seq = -5;",
    );
    assert!(
        reordered.contains(&Problem::Reordered { seq: 5 }),
        "{reordered:?}"
    );
    assert_eq!(
        check("DELETE FROM audit_records WHERE seq > 33"),
        [Problem::TailTruncated {
            checkpoint_last_seq: 40,
            last_seq: Some(33)
        }]
    );
    // A checkpoint forged with another key.
    let mallory = SigningKey::generate();
    let forged = check(&format!(
        "INSERT INTO audit_checkpoints (stream, at_us, kind, last_seq, head_hash, record_count,
            anchor_seq, anchor_hash, signature, algorithm, public_key)
         SELECT stream, at_us + 1, kind, last_seq, head_hash, record_count, anchor_seq, anchor_hash,
                signature, algorithm, '\\x{}'::bytea
         FROM audit_checkpoints ORDER BY id DESC LIMIT 1",
        mallory.public_key().to_hex()
    ));
    assert!(
        forged.iter().any(|p| matches!(
            p,
            Problem::ForgedCheckpoint { .. } | Problem::UntrustedSigner { .. }
        )),
        "{forged:?}"
    );
}

#[test]
fn a_stream_rewritten_and_resigned_with_the_stolen_key_is_caught_by_its_witness() {
    let server = Postgres::start();
    let dir = warden_test_support::Scratch::new();
    let witness = dir.path("witness.jsonl");
    let signing = SigningKey::generate();
    signed_store(&server, &signing, &witness);
    let url = server.admin_url();
    // The attacker reads the stream, deletes it, and writes it again with
    // one record changed, signing with the stolen key.
    let mut history: Vec<AuditRecord> = PostgresStore::open(&url)
        .unwrap()
        .query(&Query::default())
        .unwrap();
    history.reverse();
    history[14].action = "nothing-to-see".into();
    server.psql("DELETE FROM audit_records; DELETE FROM audit_checkpoints;");
    let mut sink = PostgresSink::builder(&url)
        .stream("checkout")
        .signing_key(signing.clone())
        .checkpoints(every(10))
        .build()
        .unwrap();
    for chunk in history.chunks(10) {
        sink.write(chunk).unwrap();
    }
    sink.close().unwrap();
    let key_only = Verifier::new()
        .public_key(signing.public_key())
        .verify_postgres(&url)
        .unwrap();
    assert!(key_only.is_ok(), "the key alone cannot tell: {key_only}");
    let witnessed = read_witness_file(&witness).unwrap();
    assert!(witnessed.iter().all(|w| w.checkpoint.stream == "checkout"));
    assert!(
        witnessed
            .iter()
            .any(|w| w.checkpoint.kind == CheckpointKind::Shutdown)
    );
    let reports = Verifier::new()
        .public_key(signing.public_key())
        .witness(witnessed)
        .verify_postgres(&url)
        .unwrap();
    let problems = &reports.streams[0].1.problems;
    assert!(
        problems
            .iter()
            .any(|p| matches!(p, Problem::WitnessMismatch { last_seq: 20, .. })),
        "{reports}"
    );
}

/// `sslmode` as libpq users expect it, on rustls.
#[test]
fn sslmode_verify_full_checks_the_certificate_and_the_host() {
    let certs = warden_test_support::Scratch::new();
    warden_test_support::write_certificates(&certs.0);
    let server = Postgres::start_with_tls(&certs.0);
    let (user, password) = warden_test_support::postgres::ADMIN;
    let ca = certs.path("ca.pem");
    let url = |host: &str, mode: &str, root: Option<&std::path::Path>| {
        let root = root.map_or(String::new(), |r| format!("&sslrootcert={}", r.display()));
        format!(
            "postgres://{user}:{password}@{host}:{}/postgres?sslmode={mode}{root}",
            server.port
        )
    };
    let write_one = |target: String| -> Result<(), String> {
        let mut sink = PostgresSink::builder(target)
            .stream("tls")
            .build()
            .map_err(|e| e.to_string())?;
        sink.write(&records(1, "tls")).map_err(|e| e.to_string())?;
        sink.close().map_err(|e| e.to_string())
    };
    write_one(url("localhost", "verify-full", Some(&ca))).unwrap();
    write_one(url("localhost", "require", None)).unwrap();
    // The certificate names localhost, not 127.0.0.1: verify-full refuses,
    // verify-ca (the chain only) accepts.
    let wrong_host = write_one(url("127.0.0.1", "verify-full", Some(&ca))).unwrap_err();
    assert!(wrong_host.contains("certificate"), "{wrong_host}");
    write_one(url("127.0.0.1", "verify-ca", Some(&ca))).unwrap();
    let other_ca = write_one(url(
        "localhost",
        "verify-full",
        Some(&certs.path("other-ca.pem")),
    ))
    .unwrap_err();
    assert!(other_ca.to_lowercase().contains("issuer"), "{other_ca}");
    // The password is never in an error.
    assert!(!other_ca.contains(password), "{other_ca}");
    let connections = server.psql("SELECT COUNT(*) FROM audit_records");
    assert_eq!(connections.trim(), "3");
}

/// A URL without a password takes it from `.pgpass`, as libpq does.
#[test]
fn the_password_comes_from_pgpass() {
    let server = Postgres::start();
    let dir = warden_test_support::Scratch::new();
    let pgpass = dir.path("pgpass");
    let (user, password) = warden_test_support::postgres::ADMIN;
    std::fs::write(
        &pgpass,
        format!("127.0.0.1:{}:*:{user}:{password}\n", server.port),
    )
    .unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&pgpass, std::fs::Permissions::from_mode(0o600)).unwrap();
    }
    let target = format!(
        "host=127.0.0.1 port={} user={user} dbname=postgres sslmode=disable",
        server.port
    );
    let without = PostgresSink::builder(&target)
        .build()
        .unwrap_err()
        .to_string();
    assert!(without.contains("password"), "{without}");
    warden_test_support::set_env("PGPASSFILE", &pgpass);
    let built = PostgresSink::builder(&target).build();
    warden_test_support::remove_env("PGPASSFILE");
    built.unwrap();
}

/// A database written by a newer warden is refused, clearly, not misread.
#[test]
fn a_newer_schema_is_refused() {
    let server = Postgres::start();
    warden_audit::create_schema(&server.admin_url()).unwrap();
    server.psql("UPDATE warden_meta SET value = '99' WHERE key = 'schema_version'");
    let error = PostgresSink::builder(server.admin_url())
        .build()
        .unwrap_err()
        .to_string();
    assert!(error.contains("schema version 99"), "{error}");
    assert!(
        !error.contains(warden_test_support::postgres::ADMIN.1),
        "{error}"
    );
    let error = PostgresStore::open(&server.admin_url())
        .unwrap_err()
        .to_string();
    assert!(error.contains("schema version 99"), "{error}");
}
