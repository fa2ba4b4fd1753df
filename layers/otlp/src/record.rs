//! What the layer hands to the export thread: the raw material of a span or
//! an event, captured cheaply on the application's thread and turned into
//! OpenTelemetry types (and sanitized once more) on the export thread.

use std::time::SystemTime;

use tracing_core::Metadata;
use warden_core::{CorrelationId, FieldValue};

/// The fields of a span or event, in recording order.
pub(crate) type Fields = Vec<(&'static str, FieldValue)>;

/// A closed span.
#[derive(Debug)]
pub(crate) struct SpanRecord {
    pub(crate) metadata: &'static Metadata<'static>,
    pub(crate) trace_id: u128,
    pub(crate) span_id: u64,
    /// 0 for a root span.
    pub(crate) parent_span_id: u64,
    pub(crate) start: SystemTime,
    pub(crate) end: SystemTime,
    pub(crate) fields: Fields,
    pub(crate) correlation_id: Option<CorrelationId>,
    /// An `ERROR` event happened inside it.
    pub(crate) error_event: bool,
}

/// An event.
#[derive(Debug)]
pub(crate) struct EventRecord {
    pub(crate) metadata: &'static Metadata<'static>,
    pub(crate) time: SystemTime,
    /// The span it happened in: `(trace_id, span_id)`.
    pub(crate) span: Option<(u128, u64)>,
    pub(crate) fields: Fields,
    pub(crate) correlation_id: Option<CorrelationId>,
}

/// Sets `name` to `value`, replacing an earlier value of the same field.
pub(crate) fn set_field(fields: &mut Fields, name: &'static str, value: FieldValue) {
    match fields.iter_mut().find(|(n, _)| *n == name) {
        Some(slot) => slot.1 = value,
        None => fields.push((name, value)),
    }
}
