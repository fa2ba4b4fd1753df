//! The PII gate with real subscribers: what `fmt::layer().json()` and other
//! layers actually receive.

use std::error::Error;
use std::fmt;

use tracing::{info, info_span, warn};
use tracing_subscriber::EnvFilter;
use tracing_subscriber::filter::{LevelFilter, Targets, filter_fn};
use tracing_subscriber::prelude::*;
use warden::pii::{PiiKind, PiiLayer};
use warden_test_support::{Buffer, Capture, assert_clean};

/// `fmt::layer().json()` writing to `buf`: the peer every test here checks.
fn fmt_json<S>(buf: &Buffer) -> impl tracing_subscriber::Layer<S> + use<S>
where
    S: tracing::Subscriber + for<'a> tracing_subscriber::registry::LookupSpan<'a>,
{
    tracing_subscriber::fmt::layer()
        .json()
        .with_writer(buf.clone())
}

#[derive(Debug)]
#[allow(dead_code)]
struct Customer {
    name: &'static str,
    email: String,
    password: &'static str,
}

impl fmt::Display for Customer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} <{}>", self.name, self.email)
    }
}

/// An error with PII in both links of its chain.
fn lookup_failed() -> warden::core::ErrorChain {
    warden_test_support::chained([
        "lookup for bob@example.org failed",
        "no route to 10.20.30.40",
    ])
}

fn customer() -> Customer {
    Customer {
        name: "Ada",
        email: "ada@example.com".into(),
        password: "hunter2",
    }
}

/// Logs one event with PII in every kind of value.
fn log_everything() {
    let c = customer();
    let err = lookup_failed();
    let owned = String::from("call +1 415 555 2671");
    info!(
        email = "ada@example.com",
        owned = owned.as_str(),
        display = %c,
        debug = ?c,
        card = 4111111111111111u64,
        signed = 4111111111111111i64,
        error = &err as &(dyn Error + 'static),
        password = "hunter2",
        count = 3u64,
        ratio = 0.5,
        ok = true,
        "customer {} with ssn {} and iban {}",
        c.name,
        "123-45-6789",
        "DE89370400440532013000"
    );
}

fn json_stack_output(pii_first: bool) -> String {
    let buf = Buffer::default();
    if pii_first {
        let subscriber = tracing_subscriber::registry()
            .with(PiiLayer::default())
            .with(fmt_json(&buf));
        tracing::subscriber::with_default(subscriber, log_everything);
    } else {
        let subscriber = tracing_subscriber::registry()
            .with(fmt_json(&buf))
            .with(PiiLayer::default());
        tracing::subscriber::with_default(subscriber, log_everything);
    }
    buf.contents()
}

/// `fmt::layer().json()` behind a default gate, and what it writes.
fn json_behind_the_gate() -> (Buffer, impl tracing::Subscriber + Send + Sync) {
    let buf = Buffer::default();
    let subscriber = tracing_subscriber::registry()
        .with(PiiLayer::default())
        .with(fmt_json(&buf));
    (buf, subscriber)
}

/// A capture of what reaches a layer placed before the gate (which sees the
/// original, then the sanitized copy the gate dispatches again).
fn captured_before_the_gate() -> (Capture, impl tracing::Subscriber + Send + Sync) {
    let capture = Capture::default();
    let subscriber = tracing_subscriber::registry()
        .with(capture.clone())
        .with(PiiLayer::default());
    (capture, subscriber)
}

#[test]
fn fmt_json_never_sees_raw_values_in_either_order() {
    for pii_first in [true, false] {
        let out = json_stack_output(pii_first);
        assert_clean(&out);
        let line: serde_json::Value = serde_json::from_str(out.trim()).unwrap();
        let fields = &line["fields"];
        assert_eq!(
            fields["message"],
            "customer Ada with ssn [REDACTED:SSN] and iban [REDACTED:IBAN]"
        );
        for (field, written) in [
            ("email", "[REDACTED:EMAIL]"),
            ("owned", "call [REDACTED:PHONE]"),
            ("display", "Ada <[REDACTED:EMAIL]>"),
            (
                "debug",
                "Customer { name: \"Ada\", email: \"[REDACTED:EMAIL]\", password: \"[REDACTED:SECRET]\" }",
            ),
            ("card", "[REDACTED:CREDIT_CARD]"),
            ("signed", "[REDACTED:CREDIT_CARD]"),
            ("password", "[REDACTED:SECRET]"),
            ("error", "lookup for [REDACTED:EMAIL] failed"),
        ] {
            assert_eq!(fields[field], written, "{field}");
        }
        // Clean values keep their types.
        assert_eq!(
            (&fields["count"], &fields["ratio"], &fields["ok"]),
            (
                &serde_json::json!(3),
                &serde_json::json!(0.5),
                &serde_json::json!(true)
            )
        );
        assert_eq!(line["level"], "INFO");
        assert_eq!(line["target"], module_path!());
    }
}

#[test]
fn the_copy_keeps_metadata_types_and_the_error_chain() {
    let (capture, subscriber) = captured_before_the_gate();
    let mut original_meta = None;
    tracing::subscriber::with_default(subscriber, || {
        let err = lookup_failed();
        warn!(
            error = &err as &(dyn Error + 'static),
            n = 7u64,
            who = "ada@example.com"
        );
        original_meta = capture.seen().first().map(|s| s.metadata);
    });
    let seen = capture.seen();
    assert_eq!(seen.len(), 1);
    let event = &seen[0];
    assert_eq!(*event.metadata.level(), tracing::Level::WARN);
    assert_eq!(event.metadata.target(), module_path!());
    assert!(event.metadata.file().unwrap().ends_with("pii_events.rs"));
    assert_eq!(
        event.fields,
        "error=error:lookup for [REDACTED:EMAIL] failed <- no route to [REDACTED:IP_ADDRESS];\
         n=u64:7;who=str:[REDACTED:EMAIL];"
    );
}

#[test]
fn clean_events_are_not_copied_and_dirty_ones_are_replaced_once() {
    let capture = Capture::default();
    let pii = PiiLayer::default();
    let subscriber = tracing_subscriber::registry()
        .with(pii.clone())
        .with(capture.clone());
    tracing::subscriber::with_default(subscriber, || {
        info!(n = 1u64, "clean");
        info!(user = "ada@example.com", "dirty");
    });
    // Clean: asked once. Dirty: asked for the original (refused) and the copy.
    assert_eq!(*capture.asked.lock().unwrap(), 3);
    let seen = capture.seen();
    assert_eq!(seen.len(), 2);
    assert_eq!(seen[0].fields, "message=clean;n=u64:1;");
    assert_eq!(seen[1].fields, "message=dirty;user=str:[REDACTED:EMAIL];");
    assert_eq!(pii.redactions().get(&PiiKind::Email), 1);
    assert_eq!(pii.dropped_events(), 0);
}

#[test]
fn events_keep_their_place_in_the_span_tree() {
    let (capture, subscriber) = captured_before_the_gate();
    tracing::subscriber::with_default(subscriber, || {
        let outer = info_span!("outer");
        let other = info_span!("other");
        let _entered = outer.enter();
        info!(who = "ada@example.com", "contextual");
        info!(parent: &other, who = "ada@example.com", "explicit");
        info!(parent: None, who = "ada@example.com", "root");
        let seen = capture.seen();
        assert!(seen[0].contextual && !seen[0].root);
        assert_eq!(seen[0].current_span.as_deref(), Some("outer"));
        assert_eq!(seen[1].explicit_parent, other.id());
        assert_eq!(seen[1].current_span.as_deref(), Some("other"));
        assert!(seen[2].root && seen[2].explicit_parent.is_none());
        assert_eq!(seen[2].current_span, None);
    });
}

#[test]
fn per_layer_filters_behave_as_without_the_gate() {
    // Run the same script with and without the gate (in both positions):
    // each filtered sink must receive the same events (sanitized).
    fn script() {
        info!(target: "app::db", who = "ada@example.com", "db info");
        warn!(target: "app::web", who = "ada@example.com", "web warn");
        info!(target: "app::web", "web info clean");
        tracing::debug!(target: "app::db", "db debug clean");
        warn!(target: "app::db", n = 1u64, "db warn clean");
        info!(target: "app::db", "db info clean");
    }
    fn messages(buf: &Buffer) -> Vec<String> {
        buf.lines()
            .iter()
            .map(|l| l["fields"]["message"].as_str().unwrap().to_owned())
            .collect()
    }
    let run = |gate: Option<bool>| {
        let warn_only = Buffer::default();
        let db_only = Buffer::default();
        let env = Buffer::default();
        let (l1, l2, l3, l4) = (
            tracing_subscriber::fmt::layer()
                .json()
                .with_writer(warn_only.clone())
                .with_filter(LevelFilter::WARN),
            tracing_subscriber::fmt::layer()
                .json()
                .with_writer(db_only.clone())
                .with_filter(Targets::new().with_target("app::db", LevelFilter::DEBUG)),
            tracing_subscriber::fmt::layer()
                .json()
                .with_writer(env.clone())
                .with_filter(EnvFilter::new("app::web=info,app::db=warn")),
            tracing_subscriber::fmt::layer()
                .json()
                .with_writer(std::io::sink)
                .with_filter(filter_fn(|m| m.target() == "nothing")),
        );
        // The gate between the filtered sinks, after all of them, or none
        // (not an `Option`, which would not tell the gate its dispatcher).
        type Boxed = Box<dyn tracing_subscriber::Layer<tracing_subscriber::Registry> + Send + Sync>;
        let rest: Boxed = match gate {
            None => Box::new(l3.and_then(l4)),
            Some(true) => Box::new(PiiLayer::default().and_then(l3).and_then(l4)),
            Some(false) => Box::new(l3.and_then(l4).and_then(PiiLayer::default())),
        };
        let s = tracing_subscriber::registry().with(l1.and_then(l2).and_then(rest));
        tracing::subscriber::with_default(s, script);
        if gate.is_some() {
            for b in [&warn_only, &db_only, &env] {
                assert_clean(&b.contents());
            }
        }
        (messages(&warn_only), messages(&db_only), messages(&env))
    };
    let plain = run(None);
    assert_eq!(plain.0, ["web warn", "db warn clean"]);
    assert_eq!(
        plain.1,
        [
            "db info",
            "db debug clean",
            "db warn clean",
            "db info clean"
        ]
    );
    assert_eq!(plain.2, ["web warn", "web info clean", "db warn clean"]);
    assert_eq!(run(Some(true)), plain);
    assert_eq!(run(Some(false)), plain);
}

#[test]
fn a_debug_impl_that_logs_while_formatted_does_not_break_the_gate() {
    struct Noisy;
    impl fmt::Debug for Noisy {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            info!(inner = "bob@example.org", "from inside Debug");
            f.write_str("noisy ada@example.com")
        }
    }
    let (buf, subscriber) = json_behind_the_gate();
    tracing::subscriber::with_default(subscriber, || info!(value = ?Noisy, "outer"));
    let out = buf.contents();
    assert_clean(&out);
    assert!(out.contains("noisy [REDACTED:EMAIL]"), "{out}");
}

#[test]
fn large_and_odd_values() {
    let (buf, subscriber) = json_behind_the_gate();
    let big = format!("{}ada@example.com", "x ".repeat(5_000_000));
    let lossy = String::from_utf8_lossy(b"bad \xff bytes ada@example.com").into_owned();
    tracing::subscriber::with_default(subscriber, || {
        info!(big = big.as_str());
        info!(lossy = lossy.as_str());
        info!(bytes = &b"raw ada@example.com"[..]);
        info!(empty = "", password = "");
    });
    let out = buf.contents();
    assert_clean(&out);
    assert_eq!(buf.lines().len(), 4);
}

#[test]
fn an_optional_summary_says_what_was_replaced() {
    let buf = Buffer::default();
    let capture = Capture::default();
    let subscriber = tracing_subscriber::registry()
        .with(PiiLayer::default().with_redaction_summary(true))
        .with(
            tracing_subscriber::fmt::layer()
                .json()
                .with_writer(buf.clone())
                .with_filter(LevelFilter::INFO),
        )
        .with(capture.clone());
    tracing::subscriber::with_default(subscriber, || {
        for _ in 0..2 {
            info!(
                user = "ada@example.com",
                phone = "+1 415 555 2671",
                n = 1u64,
                "hello"
            );
        }
        tracing::debug!(
            user = "ada@example.com",
            "filtered out by the fmt layer's filter"
        );
        info!(n = 2u64, "clean");
    });
    let lines = buf.lines();
    assert_eq!(lines.len(), 3, "{lines:?}");
    let fields = &lines[0]["fields"];
    assert_eq!(fields["redaction.count"], 2);
    assert_eq!(fields["redaction.kinds"], "EMAIL,PHONE");
    assert_eq!(fields["user"], "[REDACTED:EMAIL]");
    assert_eq!(fields["n"], 1);
    assert_eq!(lines[0]["level"], "INFO");
    assert_eq!(lines[0]["target"], module_path!());
    assert!(lines[2]["fields"].get("redaction.count").is_none());
    // One shadow callsite per original callsite, reused.
    let seen = capture.seen();
    assert!(std::ptr::eq(seen[0].metadata, seen[1].metadata));
    assert_eq!(seen[0].metadata.fields().len(), 4 + 2);
    // The shadow keeps the original's name (which names its line) and line.
    let line = seen[0].metadata.line().unwrap();
    assert!(
        seen[0].metadata.name().ends_with(&format!(":{line}")),
        "{}",
        seen[0].metadata.name()
    );
    assert_eq!(
        seen.len(),
        4,
        "{:#?}",
        seen.iter()
            .map(|s| (&s.fields, s.metadata.fields().len()))
            .collect::<Vec<_>>()
    );
    assert_eq!(seen[3].fields, "message=clean;n=u64:2;");
}

#[test]
fn integers_are_counted_once() {
    let pii = PiiLayer::default();
    let subscriber = tracing_subscriber::registry().with(pii.clone());
    tracing::subscriber::with_default(subscriber, || {
        info!(card = 4111111111111111u64, "charged");
    });
    assert_eq!(pii.redactions().get(&PiiKind::CreditCard), 1);
}

#[test]
fn bare_numbers_in_phone_named_fields_are_phone_numbers() {
    let (buf, subscriber) = json_behind_the_gate();
    tracing::subscriber::with_default(subscriber, || {
        info!(
            phone = "5551234567",
            mobile_number = 4155552671u64,
            order_id = 4155552671u64,
            "sms sent"
        );
    });
    let line = &buf.lines()[0]["fields"];
    assert_eq!(line["phone"], "[REDACTED:PHONE]");
    assert_eq!(line["mobile_number"], "[REDACTED:PHONE]");
    assert_eq!(line["order_id"], 4155552671u64);
}

#[test]
fn clones_of_one_layer_in_two_subscribers_keep_their_events_apart() {
    let pii = PiiLayer::default();
    let first = Buffer::default();
    let second = Buffer::default();
    let one = tracing_subscriber::registry()
        .with(pii.clone())
        .with(fmt_json(&first));
    let two = tracing_subscriber::registry()
        .with(pii.clone())
        .with(fmt_json(&second));
    tracing::subscriber::with_default(one, || info!(who = "ada@example.com", "one"));
    tracing::subscriber::with_default(two, || info!(who = "bob@example.org", "two"));
    let first = first.lines();
    let second = second.lines();
    assert_eq!(first.len(), 1, "{first:?}");
    assert_eq!(second.len(), 1, "{second:?}");
    assert_eq!(first[0]["fields"]["message"], "one");
    assert_eq!(second[0]["fields"]["message"], "two");
    // Counts are shared by the clones.
    assert_eq!(pii.redactions().get(&PiiKind::Email), 2);
}

#[test]
fn a_gate_that_never_learned_its_subscriber_fails_closed_and_counts() {
    // `Option<L>` does not forward `on_register_dispatch` in
    // tracing-subscriber 0.3: the gate cannot re-dispatch, so it drops.
    let buf = Buffer::default();
    let out = buf.clone();
    let pii = PiiLayer::default();
    let subscriber = tracing_subscriber::registry()
        .with(Some(pii.clone()))
        .with(fmt_json(&buf));
    tracing::subscriber::with_default(subscriber, || {
        info!(user = "ada@example.com", "signed in");
        info!(user = "bob@example.org", "signed in");
        info!("a clean event passes");
    });
    let text = out.contents();
    assert!(
        !text.contains("example.com") && !text.contains("example.org"),
        "{text}"
    );
    assert!(text.contains("a clean event passes"), "{text}");
    assert_eq!(pii.dropped_events(), 2);
}

#[test]
fn a_disabled_gate_passes_everything_as_it_is() {
    let buf = Buffer::default();
    let out = buf.clone();
    let subscriber = tracing_subscriber::registry()
        .with(PiiLayer::default().enabled(false))
        .with(fmt_json(&buf));
    tracing::subscriber::with_default(subscriber, || {
        info!(user = "ada@example.com", "signed in");
    });
    assert!(out.contents().contains("ada@example.com"));
}

#[test]
fn a_dirty_debug_value_is_formatted_once_and_written_as_it_was_scanned() {
    /// An email the first time it is formatted, something else after.
    struct Changing(std::sync::atomic::AtomicUsize);
    impl fmt::Debug for Changing {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            match self.0.fetch_add(1, std::sync::atomic::Ordering::Relaxed) {
                0 => f.write_str("mail ada@example.com"),
                _ => f.write_str("formatted again"),
            }
        }
    }
    let capture = Capture::default();
    let pii = PiiLayer::default();
    let subscriber = tracing_subscriber::registry()
        .with(pii.clone())
        .with(capture.clone());
    let value = Changing(Default::default());
    tracing::subscriber::with_default(subscriber, || info!(note = ?value));
    let seen = capture.seen();
    assert_eq!(seen.len(), 1);
    assert_eq!(seen[0].fields, "note=mail [REDACTED:EMAIL];");
    assert_eq!(value.0.load(std::sync::atomic::Ordering::Relaxed), 1);
    assert_eq!(pii.redactions().get(&PiiKind::Email), 1);
}

/// A customer record as services log them, with personal data that only
/// the field names give away.
#[derive(Debug)]
#[allow(dead_code)]
struct Shopper {
    first_name: &'static str,
    last_name: &'static str,
    shipping_address: &'static str,
    dob: &'static str,
}

#[test]
fn personal_data_is_found_by_the_name_of_its_field() {
    let out = Buffer::default();
    let subscriber = tracing_subscriber::registry()
        .with(PiiLayer::default())
        .with(warden::json::layer().with_writer(out.clone()));
    tracing::subscriber::with_default(subscriber, || {
        let span = info_span!("checkout", customer_name = "Ada Lovelace", name = "web-3");
        let _entered = span.enter();
        let shopper = Shopper {
            first_name: "Ada",
            last_name: "Lovelace",
            shipping_address: "12 St James's Square",
            dob: "1815-12-10",
        };
        info!(
            first_name = "Ada",
            customer.lastName = "Lovelace",
            tax_id = "DE123456789",
            name = "worker-3",
            file_name = "orders.csv",
            shopper = ?shopper,
            "order placed"
        );
    });
    let line = &out.lines()[0];
    assert_eq!(line["first_name"], "[REDACTED:PERSON_NAME]", "{line}");
    assert_eq!(
        line["customer.lastName"], "[REDACTED:PERSON_NAME]",
        "{line}"
    );
    assert_eq!(line["tax_id"], "[REDACTED:NATIONAL_ID]", "{line}");
    assert_eq!(
        line["span"]["customer_name"], "[REDACTED:PERSON_NAME]",
        "{line}"
    );
    // A bare `name` (a service, a worker, a file) is nobody's name.
    assert_eq!(line["name"], "worker-3", "{line}");
    assert_eq!(line["file_name"], "orders.csv", "{line}");
    assert_eq!(line["span"]["name"], "web-3", "{line}");
    let text = out.contents();
    for raw in ["Lovelace", "St James", "1815-12-10", "DE123456789"] {
        assert!(!text.contains(raw), "{raw} in {text}");
    }
    let shopper = line["shopper"].as_str().unwrap();
    assert!(
        shopper.contains(r#"first_name: "[REDACTED:PERSON_NAME]""#),
        "{shopper}"
    );
    assert!(
        shopper.contains(r#"dob: "[REDACTED:DATE_OF_BIRTH]""#),
        "{shopper}"
    );
}

#[test]
fn short_numbers_are_replaced_under_names_that_say_what_they_are() {
    // The gate decides a short number under a plain name without a scan;
    // under a secret or personal name it is replaced all the same, on the
    // first event and on the next ones from the same call site.
    let (buf, subscriber) = json_behind_the_gate();
    tracing::subscriber::with_default(subscriber, || {
        for _ in 0..2 {
            info!(
                password = 1234u64,
                zipcode = 94107i64,
                attempts = 3u64,
                ratio = 0.5,
                "login"
            );
        }
    });
    let lines = buf.lines();
    assert_eq!(lines.len(), 2);
    for line in &lines {
        let fields = &line["fields"];
        assert_eq!(fields["password"], "[REDACTED:SECRET]");
        assert_ne!(fields["zipcode"], 94107, "{fields}");
        assert!(
            fields["zipcode"]
                .as_str()
                .is_some_and(|z| !z.contains("94107"))
        );
        assert_eq!(fields["attempts"], 3);
        assert_eq!(fields["ratio"], 0.5);
    }
}

#[test]
fn a_field_that_held_a_clean_text_is_scanned_when_it_holds_another() {
    let (buf, subscriber) = json_behind_the_gate();
    tracing::subscriber::with_default(subscriber, || {
        for who in ["ada", "ada", "ada@example.com", "ada"] {
            info!(who, "seen");
        }
    });
    let who: Vec<_> = buf
        .lines()
        .iter()
        .map(|l| l["fields"]["who"].clone())
        .collect();
    assert_eq!(who, ["ada", "ada", "[REDACTED:EMAIL]", "ada"]);
}
