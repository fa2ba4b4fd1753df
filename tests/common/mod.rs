//! Sinks shared by the integration tests.
#![allow(dead_code)]

use std::io;
use std::sync::{Arc, Mutex};

use tracing::span;
use tracing::{Event, Subscriber};
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::layer::{Context, Layer};
use tracing_subscriber::registry::LookupSpan;

/// An in-memory writer for `fmt` layers.
#[derive(Clone, Default)]
pub struct Buffer(Arc<Mutex<Vec<u8>>>);

impl Buffer {
    pub fn contents(&self) -> String {
        String::from_utf8(self.0.lock().unwrap().clone()).unwrap()
    }

    pub fn lines(&self) -> Vec<serde_json::Value> {
        self.contents()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
            .collect()
    }
}

impl io::Write for Buffer {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl<'a> MakeWriter<'a> for Buffer {
    type Writer = Buffer;
    fn make_writer(&'a self) -> Self::Writer {
        self.clone()
    }
}

/// What a capture layer saw of one event.
#[derive(Clone, Debug)]
pub struct Seen {
    pub metadata: &'static tracing::Metadata<'static>,
    pub fields: String,
    pub contextual: bool,
    pub root: bool,
    pub explicit_parent: Option<span::Id>,
    pub current_span: Option<String>,
}

/// A layer that records every event it is given, and how many times its
/// `event_enabled` was asked.
#[derive(Clone, Default)]
pub struct Capture {
    pub events: Arc<Mutex<Vec<Seen>>>,
    pub asked: Arc<Mutex<usize>>,
}

struct Fields(String);
impl tracing::field::Visit for Fields {
    fn record_debug(&mut self, field: &tracing::field::Field, value: &dyn std::fmt::Debug) {
        self.0.push_str(&format!("{}={:?};", field.name(), value));
    }
    fn record_str(&mut self, field: &tracing::field::Field, value: &str) {
        self.0.push_str(&format!("{}=str:{};", field.name(), value));
    }
    fn record_u64(&mut self, field: &tracing::field::Field, value: u64) {
        self.0.push_str(&format!("{}=u64:{};", field.name(), value));
    }
    fn record_i64(&mut self, field: &tracing::field::Field, value: i64) {
        self.0.push_str(&format!("{}=i64:{};", field.name(), value));
    }
    fn record_error(
        &mut self,
        field: &tracing::field::Field,
        value: &(dyn std::error::Error + 'static),
    ) {
        let mut chain = vec![value.to_string()];
        let mut next = value.source();
        while let Some(e) = next {
            chain.push(e.to_string());
            next = e.source();
        }
        self.0
            .push_str(&format!("{}=error:{};", field.name(), chain.join(" <- ")));
    }
}

impl<S: Subscriber + for<'a> LookupSpan<'a>> Layer<S> for Capture {
    fn event_enabled(&self, _event: &Event<'_>, _ctx: Context<'_, S>) -> bool {
        *self.asked.lock().unwrap() += 1;
        true
    }

    fn on_event(&self, event: &Event<'_>, ctx: Context<'_, S>) {
        let mut fields = Fields(String::new());
        event.record(&mut fields);
        self.events.lock().unwrap().push(Seen {
            metadata: event.metadata(),
            fields: fields.0,
            contextual: event.is_contextual(),
            root: event.is_root(),
            explicit_parent: event.parent().cloned(),
            current_span: ctx.event_span(event).map(|s| s.name().to_owned()),
        });
    }
}

impl Capture {
    pub fn seen(&self) -> Vec<Seen> {
        self.events.lock().unwrap().clone()
    }
}

/// Raw values that must never reach a sink.
pub const RAW: &[&str] = &[
    "ada@example.com",
    "bob@example.org",
    "4111111111111111",
    "4111 1111 1111 1111",
    "+1 415 555 2671",
    "123-45-6789",
    "10.20.30.40",
    "hunter2",
    "DE89370400440532013000",
];

pub fn assert_clean(text: &str) {
    for raw in RAW {
        assert!(!text.contains(raw), "raw value {raw:?} leaked into: {text}");
    }
}
