//! A layer that records every event it is given.

use std::fmt::Write as _;
use std::sync::{Arc, Mutex, PoisonError};

use tracing::field::{Field, Visit};
use tracing::{span, Event, Subscriber};
use tracing_subscriber::layer::{Context, Layer};
use tracing_subscriber::registry::LookupSpan;

/// What a [`Capture`] layer saw of one event.
#[derive(Clone, Debug)]
pub struct Seen {
    /// The event's metadata.
    pub metadata: &'static tracing::Metadata<'static>,
    /// Its fields as `name=type:value;` (`name=value;` for `Debug` values,
    /// `name=error:outer <- inner;` for errors).
    pub fields: String,
    /// Each field's name and value as text (a string as it is, anything
    /// else as `Debug` prints it), in recording order.
    pub values: Vec<(&'static str, String)>,
    /// Whether its parent is the current span.
    pub contextual: bool,
    /// Whether it was given no parent.
    pub root: bool,
    /// The parent it was given explicitly.
    pub explicit_parent: Option<span::Id>,
    /// The name of the span it happened in.
    pub current_span: Option<String>,
}

/// A layer that records every event it is given, and how many times its
/// `event_enabled` was asked.
#[derive(Clone, Debug, Default)]
pub struct Capture {
    /// Every event, in order.
    pub events: Arc<Mutex<Vec<Seen>>>,
    /// How many times `event_enabled` was called.
    pub asked: Arc<Mutex<usize>>,
}

impl Seen {
    /// The text of the field `name`, if the event had it.
    pub fn value(&self, name: &str) -> Option<&str> {
        self.values
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| v.as_str())
    }
}

impl Capture {
    /// A copy of every event seen so far.
    pub fn seen(&self) -> Vec<Seen> {
        self.events
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }
}

#[derive(Default)]
struct Fields(String, Vec<(&'static str, String)>);

impl Visit for Fields {
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        let _ = write!(self.0, "{}={:?};", field.name(), value);
        self.1.push((field.name(), format!("{value:?}")));
    }
    fn record_str(&mut self, field: &Field, value: &str) {
        let _ = write!(self.0, "{}=str:{};", field.name(), value);
        self.1.push((field.name(), value.to_owned()));
    }
    fn record_u64(&mut self, field: &Field, value: u64) {
        let _ = write!(self.0, "{}=u64:{};", field.name(), value);
        self.1.push((field.name(), value.to_string()));
    }
    fn record_i64(&mut self, field: &Field, value: i64) {
        let _ = write!(self.0, "{}=i64:{};", field.name(), value);
        self.1.push((field.name(), value.to_string()));
    }
    fn record_error(&mut self, field: &Field, value: &(dyn std::error::Error + 'static)) {
        let chain: Vec<String> = warden_core::error_chain(value)
            .map(|e| e.to_string())
            .collect();
        let _ = write!(self.0, "{}=error:{};", field.name(), chain.join(" <- "));
        self.1.push((field.name(), chain.join(": ")));
    }
}

impl<S: Subscriber + for<'a> LookupSpan<'a>> Layer<S> for Capture {
    fn event_enabled(&self, _event: &Event<'_>, _ctx: Context<'_, S>) -> bool {
        *self.asked.lock().unwrap_or_else(PoisonError::into_inner) += 1;
        true
    }

    fn on_event(&self, event: &Event<'_>, ctx: Context<'_, S>) {
        let mut fields = Fields::default();
        event.record(&mut fields);
        self.events
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(Seen {
                metadata: event.metadata(),
                fields: fields.0,
                values: fields.1,
                contextual: event.is_contextual(),
                root: event.is_root(),
                explicit_parent: event.parent().cloned(),
                current_span: ctx.event_span(event).map(|s| s.name().to_owned()),
            });
    }
}
