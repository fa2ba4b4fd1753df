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
