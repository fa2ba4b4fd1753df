//! `#[audited]` on sync and async functions and methods, Ok and Err,
//! through a real subscriber into SQLite and JSONL.

use std::time::Duration;

use crate::common::key;
use tracing_subscriber::prelude::*;
use warden_audit::{
    AuditLayer, AuditRecord, EventType, JsonlSink, Outcome, Query, Route, RouteFilter, SqliteSink,
    SqliteStore, audited,
};
use warden_test_support::Scratch;

#[derive(Debug, PartialEq)]
struct Declined;

impl std::fmt::Display for Declined {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("card declined for ada@example.com")
    }
}

#[audited(skip(api_token), fields(tenant = "acme", attempt = 1u64))]
fn charge(email: &str, cents: u64, password: &str, api_token: &str) -> Result<u64, Declined> {
    let _ = (password, api_token);
    if cents > 1_000 {
        return Err(Declined);
    }
    std::thread::sleep(Duration::from_millis(3));
    Ok(cents)
}

#[audited(action = "search_documents")]
async fn search(query: String, limit: usize) -> Result<Vec<String>, String> {
    tokio::time::sleep(Duration::from_millis(2)).await;
    if limit == 0 {
        Err("limit must be positive".to_owned())?;
    }
    Ok(vec![query; limit])
}

struct Tool {
    name: &'static str,
}

impl Tool {
    #[audited(skip_all, event_type = "DATA_ACCESS")]
    fn run(&self, input: u32) -> u32 {
        let _ = self.name;
        input * 2
    }
}

#[test]
fn each_call_is_one_record_with_parameters_outcome_and_duration() {
    let dir = Scratch::new();
    let (db, jsonl) = (dir.path("audit.db"), dir.path("audit.jsonl"));
    let layer = AuditLayer::builder()
        .route(
            Route::new("all", RouteFilter::all())
                .sink(SqliteSink::builder(&db).key(key()).build().unwrap())
                .sink(JsonlSink::open(&jsonl).unwrap()),
        )
        .build()
        .unwrap();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    tracing::subscriber::with_default(tracing_subscriber::registry().with(layer.clone()), || {
        assert_eq!(
            charge("ada@example.com", 500, "hunter2", "tok_123"),
            Ok(500)
        );
        assert!(charge("bob@example.com", 5_000, "pw", "tok_456").is_err());
        runtime.block_on(async {
            assert_eq!(search("rust".into(), 2).await.unwrap().len(), 2);
            assert!(search("rust".into(), 0).await.is_err());
        });
        assert_eq!(Tool { name: "doubler" }.run(21), 42);
    });
    layer.flush(Duration::from_secs(10)).unwrap();

    let store = SqliteStore::open_with(&db, key(), Default::default(), Default::default()).unwrap();
    let mut records = store.query(&Query::default()).unwrap();
    records.reverse();
    assert_eq!(records.len(), 5);
    let by_action = |action: &str| -> Vec<&AuditRecord> {
        records.iter().filter(|r| r.action == action).collect()
    };

    let charges = by_action("charge");
    assert_eq!(charges[0].event_type, EventType::ToolInvocation);
    assert_eq!(charges[0].outcome, Outcome::Success);
    assert!(
        charges[0].duration_ms.unwrap() >= 3.0,
        "{:?}",
        charges[0].duration_ms
    );
    let params = &charges[0].metadata["parameters"];
    assert_eq!(params["email"], "\"[REDACTED:EMAIL]\"");
    assert_eq!(params["cents"], 500, "numbers keep their type");
    assert_eq!(params["password"], "[REDACTED:SECRET]");
    assert!(params.get("api_token").is_none(), "skipped");
    assert_eq!(charges[0].metadata["tenant"], "acme");
    assert_eq!(charges[0].metadata["attempt"], 1);
    assert_eq!(charges[1].outcome, Outcome::Failure);
    assert_eq!(
        charges[1].error_message.as_deref(),
        Some("card declined for [REDACTED:EMAIL]")
    );

    let searches = by_action("search_documents");
    assert_eq!(searches.len(), 2);
    assert_eq!(searches[0].outcome, Outcome::Success);
    assert_eq!(searches[0].metadata["parameters"]["query"], "\"rust\"");
    assert!(searches[0].duration_ms.unwrap() >= 2.0);
    assert_eq!(searches[1].outcome, Outcome::Failure);
    assert_eq!(
        searches[1].error_message.as_deref(),
        Some("limit must be positive")
    );

    let runs = by_action("run");
    assert_eq!(runs[0].event_type, EventType::DataAccess);
    assert_eq!(runs[0].metadata["parameters"], serde_json::json!({}));

    let lines: Vec<AuditRecord> = std::fs::read_to_string(&jsonl)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines, records, "the JSONL file holds the same records");
    let raw = std::fs::read_to_string(&jsonl).unwrap();
    assert!(
        !raw.contains("hunter2") && !raw.contains("ada@example.com") && !raw.contains("tok_123")
    );
}
