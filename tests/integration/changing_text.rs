//! The text the gate scans is the text every sink writes: a value read
//! through `Debug` or `Display` that says something clean the first time
//! it is formatted and an email address every time after reaches no sink
//! in clear, on every path — `init()` (JSON lines, the audit store, the
//! collector), `JsonLayer`, `warden::json::layer()` and a wrapped
//! `fmt::layer().json()` — in an event's fields, its message, a span's
//! fields and a `Span::record` value; and `fmt::layer().json()` beside a
//! gate that copies events with formatted values, in events.

use std::fmt;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use tracing_subscriber::prelude::*;
use warden::audit::{Query, StoreReader};
use warden::pii::PiiLayer;
use warden_test_support::Buffer;

use crate::full_stack::FullStack;

const FIRST: &str = "order 17";
const LATER: &str = "ada@example.com";

/// Says [`FIRST`] the first time it is formatted, [`LATER`] after.
struct Turncoat(AtomicUsize);

impl Turncoat {
    fn new() -> Self {
        Turncoat(AtomicUsize::new(0))
    }
    fn text(&self) -> &'static str {
        match self.0.fetch_add(1, Ordering::Relaxed) {
            0 => FIRST,
            _ => LATER,
        }
    }
}

impl fmt::Debug for Turncoat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.text())
    }
}

impl fmt::Display for Turncoat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.text())
    }
}

/// An error whose message is a [`Turncoat`]'s.
#[derive(Debug)]
struct TurncoatError(Turncoat);

impl fmt::Display for TurncoatError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0, f)
    }
}

impl std::error::Error for TurncoatError {}

/// Logs each kind of formatted value, each a fresh one: a span's field,
/// a recorded span field, an event's `?` and `%` fields, its message's
/// argument, an error's message, and an audit event's field. Returns how
/// many were logged.
fn log_turncoats() -> usize {
    let span = tracing::info_span!(
        "request",
        order = ?Turncoat::new(),
        later = tracing::field::Empty
    );
    span.record("later", tracing::field::display(Turncoat::new()));
    let _entered = span.enter();
    tracing::info!(debug = ?Turncoat::new(), display = %Turncoat::new(), "charged");
    tracing::info!("charged {}", Turncoat::new());
    let error = TurncoatError(Turncoat::new());
    tracing::warn!(
        error = &error as &(dyn std::error::Error + 'static),
        "charge failed"
    );
    warden::audit::data_access!(action = "read_order", resource_id = %Turncoat::new());
    7
}

/// No sink got the second text; `at_least` of them got the first.
fn assert_written_as_scanned(sink: &str, text: &str, at_least: usize) {
    assert!(
        !text.contains(LATER),
        "{sink} wrote a text the gate never scanned:\n{text}"
    );
    let seen = text.matches(FIRST).count();
    assert!(
        seen >= at_least,
        "{sink}: {seen} of {at_least} values written:\n{text}"
    );
}

#[test]
fn through_the_init_stack_every_sink_writes_what_the_gate_scanned() {
    let stack = FullStack::start();
    let (collector, dir, lines) = (&stack.collector, &stack.dir, &stack.lines);
    let (subscriber, guard) = stack.build();
    let logged = tracing::subscriber::with_default(subscriber, log_turncoats);
    guard.flush(Duration::from_secs(10)).unwrap();

    // Every line carries the span's two fields, and its own values.
    assert_written_as_scanned("JSON lines", &lines.contents(), logged);

    let store = StoreReader::open(dir.path("audit.db")).unwrap();
    let records = store.query(&Query::default()).unwrap();
    assert_eq!(records.len(), 1);
    assert_eq!(records[0].resource_id.as_deref(), Some(FIRST));

    assert!(
        collector.wait_for(Duration::from_secs(10), |o| o.contains("charged")
            && o.contains("read_order")
            && o.contains("request")),
        "{}",
        collector.output()
    );
    assert_written_as_scanned("the collector", &collector.output(), logged);
}

#[test]
fn through_json_layer_json_fmt_and_a_wrapped_fmt_too() {
    fn check<L>(sink: &str, layer: impl FnOnce(Buffer) -> L)
    where
        L: tracing_subscriber::Layer<
                tracing_subscriber::layer::Layered<PiiLayer, tracing_subscriber::Registry>,
            > + Send
            + Sync
            + 'static,
    {
        let out = Buffer::default();
        let subscriber = tracing_subscriber::registry()
            .with(PiiLayer::default())
            .with(layer(out.clone()));
        let logged = tracing::subscriber::with_default(subscriber, log_turncoats);
        assert_written_as_scanned(sink, &out.contents(), logged);
    }
    check("JsonLayer", |out| {
        warden::json::JsonLayer::new().with_writer(out)
    });
    check("warden::json::layer()", |out| {
        warden::json::layer().with_writer(out)
    });

    // A layer warden did not write formats values itself: wrapped, it is
    // given the texts the gate scanned (the wrapper is the gate).
    let out = Buffer::default();
    let subscriber = tracing_subscriber::registry().with(
        PiiLayer::default().wrap(
            tracing_subscriber::fmt::layer()
                .json()
                .with_writer(out.clone()),
        ),
    );
    let logged = tracing::subscriber::with_default(subscriber, log_turncoats);
    assert_written_as_scanned("fmt::layer().json(), wrapped", &out.contents(), logged);

    // Beside the gate, not wrapped, it is given copies of the events that
    // hold formatted values when the gate is asked to (its spans need the
    // wrapper, as for sanitized span fields).
    let out = Buffer::default();
    let subscriber = tracing_subscriber::registry()
        .with(PiiLayer::default().copy_formatted_events(true))
        .with(
            tracing_subscriber::fmt::layer()
                .json()
                .with_current_span(false)
                .with_span_list(false)
                .with_writer(out.clone()),
        );
    tracing::subscriber::with_default(subscriber, log_turncoats);
    // The `?` and `%` fields, the message's argument, the error and the
    // audit field.
    assert_written_as_scanned("fmt::layer().json() beside the gate", &out.contents(), 5);
}
