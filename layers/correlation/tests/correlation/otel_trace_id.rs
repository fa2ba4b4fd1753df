//! The OpenTelemetry trace id as the correlation ID, with a real SDK tracer.
#![cfg(feature = "opentelemetry")]

use opentelemetry::trace::{TraceContextExt, TracerProvider as _};
use opentelemetry_sdk::trace::{InMemorySpanExporter, SdkTracerProvider};
use tracing_opentelemetry::OpenTelemetrySpanExt;
use tracing_subscriber::prelude::*;
use warden_correlation::{CorrelationIdExt, CorrelationLayer};

/// A real SDK tracer exporting to memory, and the layer that feeds it.
fn otel<S>() -> (
    InMemorySpanExporter,
    SdkTracerProvider,
    impl tracing_subscriber::Layer<S>,
)
where
    S: tracing::Subscriber + for<'a> tracing_subscriber::registry::LookupSpan<'a>,
{
    let exporter = InMemorySpanExporter::default();
    let provider = SdkTracerProvider::builder()
        .with_simple_exporter(exporter.clone())
        .build();
    let otel = tracing_opentelemetry::layer().with_tracer(provider.tracer("correlation-test"));
    (exporter, provider, otel)
}

#[test]
fn root_spans_take_the_trace_id_and_children_inherit_it() {
    let (exporter, provider, otel) = otel();
    let subscriber = tracing_subscriber::registry()
        .with(otel)
        .with(CorrelationLayer::new().use_otel_trace_id(true));
    tracing::subscriber::with_default(subscriber, || {
        let root = tracing::info_span!("request");
        let trace_id = root.context().span().span_context().trace_id();
        let id = root.correlation_id().unwrap();
        assert_eq!(id.to_string(), format!("{trace_id:032x}"));
        let child = root.in_scope(|| tracing::info_span!("db"));
        assert_eq!(child.correlation_id(), Some(id));
        // A field still wins over the trace id.
        let named = tracing::info_span!("request", correlation_id = "req-1");
        assert_eq!(named.correlation_id().unwrap().to_string(), "req-1");
    });
    provider.force_flush().unwrap();
    let spans = exporter.get_finished_spans().unwrap();
    assert_eq!(spans.len(), 3);
}

#[test]
fn without_the_option_or_without_otel_a_uuid_is_used() {
    let subscriber =
        tracing_subscriber::registry().with(CorrelationLayer::new().use_otel_trace_id(true));
    tracing::subscriber::with_default(subscriber, || {
        let root = tracing::info_span!("request");
        let id = root.correlation_id().unwrap();
        assert!(id.as_uuid().is_some());
    });
}

#[test]
fn inside_span_parts_the_trace_id_is_read_without_deadlock() {
    // Reading the trace id looks the span up through the dispatcher, so the
    // layer opens alone rather than under the parts' shared lock.
    let (_exporter, _provider, otel) = otel();
    let parts = warden_core::SpanParts::new()
        .with(CorrelationLayer::new())
        .with(CorrelationLayer::new().use_otel_trace_id(true));
    let subscriber = tracing_subscriber::registry().with(otel).with(parts);
    tracing::subscriber::with_default(subscriber, || {
        let root = tracing::info_span!("request");
        let trace_id = root.context().span().span_context().trace_id();
        assert_eq!(
            root.correlation_id().unwrap().to_string(),
            format!("{trace_id:032x}")
        );
        let child = root.in_scope(|| tracing::info_span!("db"));
        assert_eq!(child.correlation_id(), root.correlation_id());
    });
}
