//! `trace_id`/`span_id` from a real tracing-opentelemetry pipeline.
#![cfg(feature = "opentelemetry")]

use opentelemetry::trace::{TraceContextExt, TracerProvider as _};
use opentelemetry_sdk::trace::SdkTracerProvider;
use tracing_opentelemetry::OpenTelemetrySpanExt;
use tracing_subscriber::prelude::*;
use warden_test_support::Buffer;

#[test]
fn lines_carry_the_otel_ids_of_their_span() {
    let provider = SdkTracerProvider::builder().build();
    let out = Buffer::default();
    let subscriber = tracing_subscriber::registry()
        .with(tracing_opentelemetry::layer().with_tracer(provider.tracer("json-test")))
        .with(warden_json::layer().with_writer(out.clone()));
    // The ids are reachable from a global default (tracing-core hands a
    // scoped dispatcher to nobody while it is dispatching).
    tracing::subscriber::set_global_default(subscriber).unwrap();
    tracing::info!("outside any span");
    let span = tracing::info_span!("request");
    span.in_scope(|| tracing::info!("inside"));
    let cx = span.context();
    let context = cx.span().span_context().clone();
    let (trace_id, span_id) = (context.trace_id(), context.span_id());
    let lines = out.lines();
    assert!(lines[0].get("trace_id").is_none());
    assert_eq!(lines[1]["trace_id"], format!("{trace_id:032x}"));
    assert_eq!(lines[1]["span_id"], format!("{span_id:016x}"));
}
