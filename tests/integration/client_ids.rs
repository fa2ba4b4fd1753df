//! A correlation ID from a client is checked at the door: an email, an
//! IBAN or an IP address sent as `x-request-id` (or put in the
//! `correlation_id` field) is never the ID, so it reaches no JSON line, no
//! collector and no audit record in clear. The span and the response get a
//! fresh ID instead, the same one everywhere.

use std::time::Duration;

use tower::ServiceExt;
use warden::audit::{Query, StoreReader};

use crate::full_stack::FullStack;

const CLIENT_IDS: [&str; 3] = [
    "max.mustermann@example.de",
    "DE89370400440532013000",
    "198.51.100.23",
];

/// A handler that logs a line and an audit event inside the request.
async fn handler(
    _: http::Request<String>,
) -> Result<http::Response<String>, std::convert::Infallible> {
    tracing::info!("handling");
    warden::audit::data_access!(action = "read_order", resource_id = "order-1");
    Ok(http::Response::new(String::new()))
}

#[test]
fn pii_as_a_client_correlation_id_reaches_no_sink() {
    let stack = FullStack::start();
    let (collector, dir, lines) = (&stack.collector, &stack.dir, &stack.lines);
    let (subscriber, guard) = stack.build();
    let mut answered = Vec::new();
    tracing::subscriber::with_default(subscriber, || {
        // The field.
        for id in CLIENT_IDS {
            let _request = tracing::info_span!("request", correlation_id = id).entered();
            tracing::info!("handling");
            warden::audit::data_access!(action = "read_order", resource_id = "order-1");
        }
        // The header, through the request layer.
        let runtime = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        for id in CLIENT_IDS {
            let service = tower::ServiceBuilder::new()
                .layer(warden::request_layer())
                .service_fn(handler);
            let request = http::Request::builder()
                .uri("/orders/1")
                .header("x-request-id", id)
                .body(String::new())
                .unwrap();
            let response = runtime.block_on(service.oneshot(request)).unwrap();
            answered.push(
                response.headers()["x-correlation-id"]
                    .to_str()
                    .unwrap()
                    .to_owned(),
            );
        }
        // A clean ID from a client is kept.
        let _request = tracing::info_span!("request", correlation_id = "req-7f3a").entered();
        tracing::info!("handling");
    });
    guard.flush(Duration::from_secs(10)).unwrap();

    let text = lines.contents();
    let json = lines.lines();
    for raw in CLIENT_IDS {
        assert!(!text.contains(raw), "{raw} in the JSON lines:\n{text}");
        assert!(!answered.iter().any(|a| a == raw), "{raw} answered");
    }
    // Every line has an ID; the answered IDs are the ones the lines carry.
    let ids: Vec<&str> = json
        .iter()
        .map(|l| l["correlation_id"].as_str().unwrap())
        .collect();
    assert!(ids.iter().all(|id| !id.is_empty()));
    for answer in &answered {
        assert!(ids.contains(&answer.as_str()), "{answer} not on any line");
    }
    assert_eq!(ids.last(), Some(&"req-7f3a"), "a clean client ID is kept");
    let rejected = text.matches("[REDACTED:").count();
    assert!(
        rejected >= 3,
        "the originals stay in the span field, sanitized"
    );

    // The audit store.
    let store = StoreReader::open(dir.path("audit.db")).unwrap();
    let records = store.query(&Query::default()).unwrap();
    assert_eq!(records.len(), 6);
    for record in &records {
        let id = record.correlation_id.as_ref().unwrap().to_string();
        assert!(!CLIENT_IDS.contains(&id.as_str()), "{id} stored");
        assert!(
            ids.contains(&id.as_str()),
            "{id}: the record's ID is its lines'"
        );
    }

    // The collector.
    assert!(
        collector.wait_for(Duration::from_secs(10), |o| o
            .matches("audit.action: Str(read_order)")
            .count()
            == 6
            && o.matches("handling").count() >= 7),
        "{}",
        collector.output()
    );
    let output = collector.output();
    for raw in CLIENT_IDS {
        assert!(!output.contains(raw), "{raw} reached the collector");
    }
}
