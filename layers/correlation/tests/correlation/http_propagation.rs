//! Header round trips through a real `tower` service: extract → span → inject.
#![cfg(feature = "tower")]

use std::convert::Infallible;

use crate::common::Lines;
use http::{Request, Response, StatusCode};
use tower::{Layer, ServiceExt, service_fn};
use tracing::Instrument;
use tracing_subscriber::prelude::*;
use warden_correlation::http::{HeaderPropagation, X_CORRELATION_ID};
use warden_correlation::tower::CorrelationIdLayer;
use warden_correlation::{CorrelationId, CorrelationLayer};

/// A handler that logs, calls a downstream service with the ID in its
/// headers, and answers with what the downstream call carried.
async fn handler(request: Request<()>) -> Result<Response<String>, Infallible> {
    tracing::info!(task = 1u64, "handling");
    let from_extension = request.extensions().get::<CorrelationId>().cloned();
    assert_eq!(from_extension, warden_correlation::CorrelationId::current());
    let mut outgoing = Request::new(());
    let current = warden_correlation::CorrelationId::current().expect("inside the request span");
    HeaderPropagation::default().inject(&current, outgoing.headers_mut());
    let downstream = async {
        tracing::info!(task = 2u64, "downstream");
    }
    .instrument(tracing::info_span!("downstream"));
    tokio::spawn(downstream).await.unwrap();
    let sent = outgoing.headers()[X_CORRELATION_ID]
        .to_str()
        .unwrap()
        .to_owned();
    Ok(Response::builder()
        .status(StatusCode::ACCEPTED)
        .body(sent)
        .unwrap())
}

/// This thread's subscriber, until the guard drops: the correlation layer
/// and the lines it gives their IDs to.
fn traced() -> (Lines, tracing::subscriber::DefaultGuard) {
    let lines = Lines::default();
    let subscriber = tracing_subscriber::registry()
        .with(CorrelationLayer::default())
        .with(lines.clone());
    (lines, tracing::subscriber::set_default(subscriber))
}

#[tokio::test]
async fn an_incoming_id_is_carried_by_the_span_sent_downstream_and_returned() {
    let (lines, _guard) = traced();
    let service = CorrelationIdLayer::default().layer(service_fn(handler));
    let request = Request::builder()
        .header("x-request-id", "req-7f3a")
        .body(())
        .unwrap();
    let response = service.oneshot(request).await.unwrap();
    assert_eq!(response.status(), StatusCode::ACCEPTED);
    assert_eq!(response.headers()["x-correlation-id"], "req-7f3a");
    assert_eq!(response.body(), "req-7f3a");
    let seen = lines.0.lock().unwrap().clone();
    let expected: CorrelationId = "req-7f3a".parse().unwrap();
    assert_eq!(seen.len(), 2, "{seen:?}");
    assert!(
        seen.iter().all(|(_, id)| id.as_ref() == Some(&expected)),
        "{seen:?}"
    );
}

#[tokio::test]
async fn a_request_without_an_id_gets_a_fresh_one_and_a_traceparent_is_understood() {
    let (_lines, _guard) = traced();
    let service = CorrelationIdLayer::default().layer(service_fn(handler));
    let response = service.clone().oneshot(Request::new(())).await.unwrap();
    let fresh: CorrelationId = response.headers()["x-correlation-id"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert_eq!(fresh.as_uuid().map(|u| u.get_version_num()), Some(7));

    let request = Request::builder()
        .header(
            "traceparent",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
        )
        .body(())
        .unwrap();
    let response = service.oneshot(request).await.unwrap();
    assert_eq!(
        response.headers()["x-correlation-id"],
        "4bf92f3577b34da6a3ce929d0e0e4736"
    );
}

#[tokio::test]
async fn a_header_the_handler_set_is_kept() {
    let service = CorrelationIdLayer::default().layer(service_fn(|_: Request<()>| async {
        Ok::<_, Infallible>(
            Response::builder()
                .header("x-correlation-id", "chosen")
                .body(())
                .unwrap(),
        )
    }));
    let request = Request::builder()
        .header("x-correlation-id", "incoming")
        .body(())
        .unwrap();
    let response = service.oneshot(request).await.unwrap();
    assert_eq!(response.headers()["x-correlation-id"], "chosen");
}
