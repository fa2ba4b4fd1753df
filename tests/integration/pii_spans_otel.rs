//! Span attributes through `PiiLayer::wrap`: `fmt` and a real
//! tracing-opentelemetry pipeline with an in-memory exporter.

use opentelemetry::trace::{TraceContextExt, TracerProvider as _};
use opentelemetry_sdk::trace::{InMemorySpanExporter, SdkTracerProvider};
use tracing::{info, info_span};
use tracing_opentelemetry::OpenTelemetrySpanExt;
use tracing_subscriber::prelude::*;
use warden::pii::PiiLayer;
use warden_test_support::{Buffer, assert_clean};

#[test]
fn otel_spans_and_span_events_are_sanitized_and_context_still_works() {
    let exporter = InMemorySpanExporter::default();
    let provider = SdkTracerProvider::builder()
        .with_simple_exporter(exporter.clone())
        .build();
    let otel = tracing_opentelemetry::layer().with_tracer(provider.tracer("pii-test"));
    let subscriber = tracing_subscriber::registry().with(PiiLayer::default().wrap(otel));
    tracing::subscriber::with_default(subscriber, || {
        let span = info_span!(
            "checkout",
            customer = "ada@example.com",
            card = 4111111111111111u64,
            items = 3u64,
            client_ip = tracing::field::Empty,
            password = tracing::field::Empty,
        );
        let _entered = span.enter();
        span.record("client_ip", "10.20.30.40");
        span.record("password", "hunter2");
        // The wrapper forwards downcast_raw: the OTel context is reachable.
        let cx = span.context();
        assert!(cx.span().span_context().is_valid());
        let child = info_span!("charge", note = "phone +1 415 555 2671");
        child.in_scope(|| info!(iban = "DE89370400440532013000", "charging ssn 123-45-6789"));
    });
    provider.force_flush().unwrap();
    let spans = exporter.get_finished_spans().unwrap();
    assert_eq!(spans.len(), 2);
    let dump = format!("{spans:?}");
    assert_clean(&dump);
    let checkout = spans.iter().find(|s| s.name == "checkout").unwrap();
    let charge = spans.iter().find(|s| s.name == "charge").unwrap();
    assert_eq!(charge.parent_span_id, checkout.span_context.span_id());
    let attr = |s: &opentelemetry_sdk::trace::SpanData, key: &str| {
        s.attributes
            .iter()
            .find(|kv| kv.key.as_str() == key)
            .map(|kv| kv.value.to_string())
    };
    for (span, key, written) in [
        (checkout, "customer", "[REDACTED:EMAIL]"),
        (checkout, "card", "[REDACTED:CREDIT_CARD]"),
        (checkout, "items", "3"),
        (checkout, "client_ip", "[REDACTED:IP_ADDRESS]"),
        (checkout, "password", "[REDACTED:SECRET]"),
        (charge, "note", "phone [REDACTED:PHONE]"),
    ] {
        assert_eq!(attr(span, key).as_deref(), Some(written), "{key}");
    }
    let event = &charge.events.events[0];
    assert_eq!(event.name, "charging ssn [REDACTED:SSN]");
}

#[test]
fn fmt_span_fields_are_sanitized_through_wrap() {
    let buf = Buffer::default();
    let fmt = tracing_subscriber::fmt::layer()
        .json()
        .with_span_list(true)
        .with_writer(buf.clone());
    let subscriber = tracing_subscriber::registry().with(PiiLayer::default().wrap(fmt));
    tracing::subscriber::with_default(subscriber, || {
        let span = info_span!(
            "request",
            user = "ada@example.com",
            ip = tracing::field::Empty
        );
        span.record("ip", "10.20.30.40");
        span.in_scope(|| info!("inside"));
    });
    let out = buf.contents();
    assert_clean(&out);
    let line = &buf.lines()[0];
    assert_eq!(line["span"]["user"], "[REDACTED:EMAIL]");
    assert_eq!(line["span"]["ip"], "[REDACTED:IP_ADDRESS]");
}

#[test]
fn a_wrapped_layer_keeps_its_per_layer_filter() {
    use tracing_subscriber::filter::LevelFilter;
    let warn_only = Buffer::default();
    let everything = Buffer::default();
    let subscriber = tracing_subscriber::registry()
        .with(
            PiiLayer::default().wrap(
                tracing_subscriber::fmt::layer()
                    .json()
                    .with_writer(warn_only.clone())
                    .with_filter(LevelFilter::WARN),
            ),
        )
        .with(
            tracing_subscriber::fmt::layer()
                .json()
                .with_writer(everything.clone()),
        );
    tracing::subscriber::with_default(subscriber, || {
        let span = info_span!("req", user = "ada@example.com");
        let _e = span.enter();
        info!(who = "bob@example.org", "info");
        tracing::warn!(who = "bob@example.org", "warn");
        info!("info clean");
    });
    let warn_lines = warn_only.lines();
    assert_eq!(warn_lines.len(), 1);
    assert_eq!(warn_lines[0]["fields"]["message"], "warn");
    assert_eq!(everything.lines().len(), 3);
    assert_clean(&warn_only.contents());
    assert_clean(&everything.contents().replace("ada@example.com", ""));
}
