//! A sink shared by the correlation tests.
// Shared by several test or bench binaries: `pub` here is for them.
#![allow(unreachable_pub)]

use std::sync::{Arc, Mutex};

use tracing_subscriber::Layer;
use tracing_subscriber::layer::Context;
use tracing_subscriber::registry::LookupSpan;
use warden_correlation::CorrelationId;

/// What one event showed: its `task` field and the correlation ID of the
/// span it happened in (as a formatter would print it).
pub type Line = (Option<u64>, Option<CorrelationId>);

/// A layer that keeps a [`Line`] for every event.
#[derive(Clone, Default)]
pub struct Lines(pub Arc<Mutex<Vec<Line>>>);

impl<S: tracing::Subscriber + for<'a> LookupSpan<'a>> Layer<S> for Lines {
    fn on_event(&self, event: &tracing::Event<'_>, ctx: Context<'_, S>) {
        let id = ctx
            .event_span(event)
            .and_then(|span| warden_core::correlation_id_in(&span.extensions()).cloned());
        let mut task = None;
        warden_core::visit_fields(event, |field, value| {
            if let (true, warden_core::FieldRef::U64(n)) = (field.name() == "task", value) {
                task = Some(n);
            }
        });
        self.0.lock().unwrap().push((task, id));
    }
}
