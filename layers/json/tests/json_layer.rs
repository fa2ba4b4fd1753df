//! What `JsonLayer` keeps of each span (its object and the list from the
//! root, written once) stays true to the spans: after records to any of
//! them, with the PII layer on either side of it, beside another JSON
//! layer, for events with an explicit parent.

use serde_json::json;
use tracing_subscriber::prelude::*;
use warden_json::{FieldNames, Json, JsonLayer};
use warden_pii::PiiLayer;
use warden_test_support::Buffer;

#[test]
fn a_record_to_an_ancestor_reaches_the_lines_of_every_span_below_it() {
    let out = Buffer::default();
    let subscriber = tracing_subscriber::registry().with(JsonLayer::new().with_writer(out.clone()));
    tracing::subscriber::with_default(subscriber, || {
        let root = tracing::info_span!("root", status = tracing::field::Empty, n = 1u64);
        let _r = root.enter();
        let child = tracing::info_span!("child", k = "a");
        let _c = child.enter();
        tracing::info!("before");
        root.record("status", 200u64);
        root.record("n", 2u64);
        tracing::info!("after, in the older child");
        let grandchild = tracing::info_span!("grandchild");
        let _g = grandchild.enter();
        tracing::info!("in a span opened after the record");
        child.record("k", "b");
        tracing::info!("after a record to the middle span");
    });
    let lines = out.lines();
    assert_eq!(lines.len(), 4);
    assert_eq!(lines[0]["spans"][0], json!({"name": "root", "n": 1}));
    assert_eq!(
        lines[1]["spans"],
        json!([{"name": "root", "n": 2, "status": 200}, {"name": "child", "k": "a"}])
    );
    assert_eq!(
        lines[2]["spans"],
        json!([
            {"name": "root", "n": 2, "status": 200},
            {"name": "child", "k": "a"},
            {"name": "grandchild"}
        ])
    );
    assert_eq!(lines[3]["spans"][1], json!({"name": "child", "k": "b"}));
    assert_eq!(lines[3]["span"], json!({"name": "grandchild"}));
}

#[test]
fn span_fields_stay_sanitized_with_the_pii_layer_on_either_side() {
    for pii_first in [true, false] {
        let out = Buffer::default();
        let json = JsonLayer::new().with_writer(out.clone());
        let run = || {
            let root = tracing::info_span!(
                "request",
                user = "ada@example.com",
                contact = tracing::field::Empty
            );
            let _r = root.enter();
            let child = tracing::info_span!("step", card = "4111 1111 1111 1111");
            let _c = child.enter();
            tracing::info!("one");
            root.record("contact", "call +1 415 555 2671");
            tracing::info!("two");
            let late = tracing::info_span!("late");
            let _l = late.enter();
            tracing::info!("three");
        };
        if pii_first {
            let subscriber = tracing_subscriber::registry()
                .with(PiiLayer::default())
                .with(json);
            tracing::subscriber::with_default(subscriber, run);
        } else {
            let subscriber = tracing_subscriber::registry()
                .with(json)
                .with(PiiLayer::default());
            tracing::subscriber::with_default(subscriber, run);
        }
        let text = out.contents();
        for raw in ["ada@example.com", "4111 1111", "555 2671"] {
            assert!(!text.contains(raw), "pii first: {pii_first}: {text}");
        }
        let lines = out.lines();
        assert_eq!(lines.len(), 3);
        assert_eq!(lines[0]["spans"][0]["user"], "[REDACTED:EMAIL]");
        assert_eq!(lines[2]["spans"][0]["contact"], "call [REDACTED:PHONE]");
        assert_eq!(lines[2]["spans"][1]["card"], "[REDACTED:CREDIT_CARD]");
    }
}

#[test]
fn two_json_layers_in_one_stack_each_write_their_own_format() {
    let (plain, camel) = (Buffer::default(), Buffer::default());
    let subscriber = tracing_subscriber::registry()
        .with(JsonLayer::new().with_writer(plain.clone()))
        .with(
            JsonLayer::new()
                .format(Json::new().field_names(FieldNames::camel_case().span_name("spanName")))
                .with_writer(camel.clone()),
        );
    tracing::subscriber::with_default(subscriber, || {
        let span = tracing::info_span!("request", n = 1u64);
        let _e = span.enter();
        tracing::info!("hello");
        span.record("n", 2u64);
        tracing::info!("again");
    });
    let (plain, camel) = (plain.lines(), camel.lines());
    assert_eq!(plain[0]["span"], json!({"name": "request", "n": 1}));
    assert_eq!(camel[0]["span"], json!({"spanName": "request", "n": 1}));
    assert_eq!(camel[1]["spans"], json!([{"spanName": "request", "n": 2}]));
    assert_eq!(plain[1]["spans"], json!([{"name": "request", "n": 2}]));
}

#[test]
fn an_event_with_an_explicit_parent_is_placed_in_it_and_one_without_a_span_has_none() {
    let out = Buffer::default();
    let subscriber = tracing_subscriber::registry().with(JsonLayer::new().with_writer(out.clone()));
    tracing::subscriber::with_default(subscriber, || {
        let outer = tracing::info_span!("outer");
        let job = tracing::info_span!(parent: &outer, "job", id = 7u64);
        tracing::info!(parent: &job, "explicit");
        tracing::info!("no span");
        let _o = outer.enter();
        tracing::info!(parent: None, "explicit root");
    });
    let lines = out.lines();
    assert_eq!(lines[0]["span"], json!({"name": "job", "id": 7}));
    assert_eq!(
        lines[0]["spans"],
        json!([{"name": "outer"}, {"name": "job", "id": 7}])
    );
    for line in &lines[1..] {
        assert!(
            line.get("span").is_none() && line.get("spans").is_none(),
            "{line}"
        );
    }
}

#[test]
fn a_writer_that_fails_loses_the_line_without_breaking_the_logging_call() {
    struct Broken;
    impl std::io::Write for Broken {
        fn write(&mut self, _: &[u8]) -> std::io::Result<usize> {
            Err(std::io::Error::other("disk full"))
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let subscriber = tracing_subscriber::registry().with(JsonLayer::new().with_writer(|| Broken));
    tracing::subscriber::with_default(subscriber, || {
        let span = tracing::info_span!("s", a = 1u64);
        let _e = span.enter();
        tracing::info!("lost");
        tracing::info!("lost too");
    });
}

#[test]
fn the_clean_values_before_a_dirty_one_keep_their_text_and_types() {
    let out = Buffer::default();
    let subscriber = tracing_subscriber::registry()
        .with(PiiLayer::default())
        .with(JsonLayer::new().with_writer(out.clone()));
    tracing::subscriber::with_default(subscriber, || {
        tracing::info!(
            n = 42u64,
            ok = true,
            route = "/api/v1/orders",
            state = ?"ready",
            customer = "ada@example.com",
            after = "call +1 415 555 2671",
            "charging {}",
            "now"
        );
    });
    let line = &out.lines()[0];
    assert_eq!(line["message"], "charging now");
    assert_eq!(line["n"], json!(42));
    assert_eq!(line["ok"], json!(true));
    assert_eq!(line["route"], "/api/v1/orders");
    assert_eq!(line["state"], "\"ready\"");
    assert_eq!(line["customer"], "[REDACTED:EMAIL]");
    assert_eq!(line["after"], "call [REDACTED:PHONE]");
}

#[test]
fn a_correlation_id_recorded_later_reaches_the_next_lines_on_either_side() {
    use warden_correlation::CorrelationLayer;
    for correlation_first in [true, false] {
        let out = Buffer::default();
        let json = JsonLayer::new().with_writer(out.clone());
        let run = || {
            let root = tracing::info_span!("request", correlation_id = "req-1");
            let _r = root.enter();
            let child = tracing::info_span!("step", correlation_id = tracing::field::Empty);
            let _c = child.enter();
            tracing::info!("one");
            child.record("correlation_id", "req-2");
            tracing::info!("two");
            let unnamed = tracing::info_span!("fresh", correlation_id = tracing::field::Empty);
            let _u = unnamed.enter();
            tracing::info!("three");
        };
        if correlation_first {
            let subscriber = tracing_subscriber::registry()
                .with(CorrelationLayer::new())
                .with(json);
            tracing::subscriber::with_default(subscriber, run);
        } else {
            let subscriber = tracing_subscriber::registry()
                .with(json)
                .with(CorrelationLayer::new());
            tracing::subscriber::with_default(subscriber, run);
        }
        let lines = out.lines();
        let ids: Vec<_> = lines.iter().map(|l| l["correlation_id"].clone()).collect();
        assert_eq!(
            ids,
            [json!("req-1"), json!("req-2"), json!("req-2")],
            "correlation first: {correlation_first}"
        );
    }
}
