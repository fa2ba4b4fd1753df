//! JSON lines parsed back and checked field by field, through real
//! subscribers with the correlation and PII layers.

use serde_json::json;
use tracing_subscriber::fmt::format::FmtSpan;
use tracing_subscriber::prelude::*;
use warden_correlation::CorrelationLayer;
use warden_json::{FieldNames, Json};
use warden_pii::PiiLayer;
use warden_test_support::Buffer;

/// Each test once through `fmt`'s layer with `Json` (`warden_json::layer()`)
/// and once through `JsonLayer`: the lines must be the same.
macro_rules! through_both_layers {
    ($(fn $name:ident($out:ident, $json:ident) $body:block)*) => {
        mod fmt_layer {
            use super::*;
            $(#[test]
            fn $name() {
                let $out = Buffer::default();
                let $json = warden_json::layer().with_writer($out.clone());
                $body
            })*
        }
        mod json_layer {
            use super::*;
            $(#[test]
            fn $name() {
                let $out = Buffer::default();
                let $json = warden_json::JsonLayer::new().with_writer($out.clone());
                $body
            })*
        }
    };
}

through_both_layers! {
    fn every_key_is_there_with_its_type(out, json) {
    let subscriber = tracing_subscriber::registry()
        .with(CorrelationLayer::default())
        .with(PiiLayer::default())
        .with(json);
    tracing::subscriber::with_default(subscriber, || {
        let request = tracing::info_span!("request", correlation_id = "req-7f3a", method = "POST");
        let _r = request.enter();
        let checkout = tracing::info_span!(
            "checkout",
            customer = "ada@example.com",
            items = 3u64,
            paid = tracing::field::Empty
        );
        let _c = checkout.enter();
        checkout.record("paid", true);
        tracing::warn!(
            order = 42u64,
            delta = -7i64,
            amount = 9.5,
            note = "line\n\"two\"",
            "charged {}",
            "twice"
        );
        let error = warden_test_support::chained(["payment failed", "card declined"]);
        tracing::error!(error = &error as &(dyn std::error::Error + 'static), "oops");
    });
    let lines = out.lines();
    assert_eq!(lines.len(), 2);
    let line = &lines[0];
    let ts = line["timestamp"].as_str().unwrap();
    assert_eq!(ts.len(), "2026-11-22T09:31:07.123456Z".len(), "{ts}");
    assert!(ts.ends_with('Z') && ts.as_bytes()[10] == b'T' && ts.as_bytes()[19] == b'.');
    assert_eq!(line["level"], "WARN");
    assert!(line["target"].as_str().unwrap().starts_with("lines::"));
    assert_eq!(line["message"], "charged twice");
    assert_eq!(line["order"], json!(42));
    assert_eq!(line["delta"], json!(-7));
    assert_eq!(line["amount"], json!(9.5));
    assert_eq!(line["note"], "line\n\"two\"");
    assert_eq!(line["correlation_id"], "req-7f3a");
    assert_eq!(line["span"]["name"], "checkout");
    assert_eq!(line["span"]["items"], json!(3));
    assert_eq!(line["span"]["paid"], json!(true));
    assert_eq!(line["span"]["customer"], "[REDACTED:EMAIL]");
    let spans = line["spans"].as_array().unwrap();
    assert_eq!(spans.len(), 2);
    assert_eq!(
        spans[0],
        json!({"name": "request", "correlation_id": "req-7f3a", "method": "POST"})
    );
    assert_eq!(spans[1], line["span"]);
    let text = serde_json::to_string(&lines).unwrap();
    assert!(!text.contains("ada@example.com"), "{text}");
    assert_eq!(lines[1]["error"], "payment failed: card declined");
    assert_eq!(lines[1]["level"], "ERROR");
}

    fn records_replace_span_fields_and_sanitized_records_stay_sanitized(out, json) {
    let subscriber = tracing_subscriber::registry()
        .with(PiiLayer::default())
        .with(json);
    tracing::subscriber::with_default(subscriber, || {
        let span = tracing::info_span!(
            "job",
            step = 1u64,
            contact = tracing::field::Empty,
            state = "new"
        );
        let _e = span.enter();
        tracing::info!("first");
        span.record("step", 2u64);
        span.record("contact", "call +1 415 555 2671");
        span.record("state", "done");
        tracing::info!("second");
    });
    let lines = out.lines();
    assert_eq!(
        lines[0]["span"],
        json!({"name": "job", "step": 1, "state": "new"})
    );
    let second = &lines[1]["span"];
    assert_eq!(second["step"], json!(2));
    assert_eq!(second["state"], "done");
    assert_eq!(second["contact"], "call [REDACTED:PHONE]");
    assert!(!serde_json::to_string(&lines).unwrap().contains("555 2671"));
}

    fn a_value_that_logs_while_formatted_does_not_break_the_line(out, json) {
    struct Noisy;
    impl std::fmt::Debug for Noisy {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            tracing::info!("inner");
            f.write_str("noisy")
        }
    }
    let subscriber = tracing_subscriber::registry().with(json);
    tracing::subscriber::with_default(subscriber, || tracing::info!(v = ?Noisy, "outer"));
    // tracing-core drops the nested event (a dispatcher is not re-entered);
    // the outer line must still come out whole.
    let lines = out.lines();
    assert_eq!(lines.len(), 1);
    assert_eq!(lines[0]["message"], "outer");
    assert_eq!(lines[0]["v"], "noisy");
}
}
#[test]
fn names_nesting_and_options() {
    let out = Buffer::default();
    let format = Json::default()
        .field_names(FieldNames::camel_case().timestamp("ts").level("lvl"))
        .flatten_event(false)
        .with_span_list(false)
        .with_target(false)
        .with_line_number(true)
        .with_thread_names(true);
    let subscriber = tracing_subscriber::registry()
        .with(CorrelationLayer::default())
        .with(
            // `fmt` offers span events only before the event format is
            // replaced, so they are set first.
            tracing_subscriber::fmt::layer()
                .with_span_events(FmtSpan::CLOSE)
                .fmt_fields(warden_json::JsonFields::default())
                .event_format(format)
                .with_writer(out.clone()),
        );
    std::thread::Builder::new()
        .name("worker-1".into())
        .spawn(move || {
            tracing::subscriber::with_default(subscriber, || {
                let span = tracing::info_span!("load", correlation_id = "job-9");
                span.in_scope(|| {
                    tracing::info!(rows = 10u64, "loaded");
                    std::thread::sleep(std::time::Duration::from_millis(20));
                });
            })
        })
        .unwrap()
        .join()
        .unwrap();
    let lines = out.lines();
    assert_eq!(lines.len(), 2, "{lines:?}");
    let event = &lines[0];
    assert!(event["ts"].is_string() && event.get("timestamp").is_none());
    assert_eq!(event["lvl"], "INFO");
    assert!(event.get("target").is_none() && event.get("spans").is_none());
    assert_eq!(event["fields"], json!({"rows": 10}));
    assert_eq!(event["message"], "loaded");
    assert_eq!(event["correlationId"], "job-9");
    assert_eq!(event["threadName"], "worker-1");
    assert!(event["line"].is_u64());
    let close = &lines[1];
    assert_eq!(close["message"], "close");
    assert_eq!(close["span"]["name"], "load");
    let ms = close["durationMs"].as_f64().unwrap();
    assert!((19.0..2000.0).contains(&ms), "{ms}");
}

#[test]
fn other_field_formatters_and_filters_still_work() {
    let out = Buffer::default();
    let subscriber = tracing_subscriber::registry()
        .with(PiiLayer::default())
        .with(
            tracing_subscriber::fmt::layer()
                .event_format(Json::default())
                .with_writer(out.clone())
                .with_ansi(true)
                .with_filter(tracing_subscriber::EnvFilter::new("info,noisy=error")),
        );
    tracing::subscriber::with_default(subscriber, || {
        let plain = tracing::info_span!("plain", n = 1u64);
        plain.in_scope(|| tracing::info!("in plain"));
        let dirty = tracing::info_span!("dirty", user = "ada@example.com", n = 2u64);
        dirty.in_scope(|| tracing::info!("in dirty"));
        tracing::warn!(target: "noisy", "dropped by the filter");
        tracing::debug!("dropped too");
    });
    let lines = out.lines();
    assert_eq!(lines.len(), 2);
    // Another formatter's text, with its terminal colours taken out.
    assert_eq!(lines[0]["span"], json!({"name": "plain", "fields": "n=1"}));
    // The raw text is not printed when the PII layer replaced a field.
    assert_eq!(
        lines[1]["span"],
        json!({"name": "dirty", "user": "[REDACTED:EMAIL]", "n": 2})
    );
}

#[test]
fn fields_from_fmt_json_are_understood() {
    let out = Buffer::default();
    let subscriber = tracing_subscriber::registry().with(
        tracing_subscriber::fmt::layer()
            .fmt_fields(tracing_subscriber::fmt::format::JsonFields::new())
            .event_format(Json::default())
            .with_writer(out.clone()),
    );
    tracing::subscriber::with_default(subscriber, || {
        tracing::info_span!("s", a = 1u64, b = "x").in_scope(|| tracing::info!("e"));
    });
    assert_eq!(
        out.lines()[0]["span"],
        json!({"name": "s", "a": 1, "b": "x"})
    );
}
