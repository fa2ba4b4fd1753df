//! What the layer hands to the export thread: the raw material of a span or
//! an event, captured cheaply on the application's thread and turned into
//! OpenTelemetry types (and sanitized once more) on the export thread.

use std::sync::OnceLock;
use std::time::SystemTime;

use tracing_core::Metadata;
use warden_core::{CorrelationId, Moment};

use crate::queue::Recycle;
use warden_core::CapturedFields;

/// A span: filled in while it is open, queued when it closes. Boxes
/// circulate between the application's threads and the export thread (see
/// [`Lane`](crate::queue::Lane)), so a span
/// costs no allocation of its own and moves as one pointer.
#[derive(Debug)]
pub(crate) struct SpanRecord {
    /// `None` only while the box waits for reuse.
    pub(crate) metadata: Option<&'static Metadata<'static>>,
    pub(crate) trace_id: u128,
    pub(crate) span_id: u64,
    /// 0 for a root span.
    pub(crate) parent_span_id: u64,
    /// Read once per span for every warden layer (see
    /// [`WardenSpan`](warden_core::WardenSpan)); made wall-clock times on
    /// the export thread.
    pub(crate) start: Moment,
    pub(crate) end: Moment,
    pub(crate) fields: CapturedFields,
    pub(crate) correlation_id: Option<CorrelationId>,
    /// An `ERROR` event happened inside it.
    pub(crate) error_event: bool,
}

impl Recycle for SpanRecord {
    fn reset(&mut self) {
        self.metadata = None;
        self.fields.clear();
        self.correlation_id = None;
        self.error_event = false;
    }

    fn empty() -> Self {
        // Any moment will do: the layer sets both before the record is
        // queued. One taken once, rather than two clock readings a box.
        static PLACEHOLDER: OnceLock<Moment> = OnceLock::new();
        let placeholder = *PLACEHOLDER.get_or_init(Moment::now);
        SpanRecord {
            metadata: None,
            trace_id: 0,
            span_id: 0,
            parent_span_id: 0,
            start: placeholder,
            end: placeholder,
            fields: CapturedFields::new(),
            correlation_id: None,
            error_event: false,
        }
    }
}

/// An event; recycled as span records are.
#[derive(Debug)]
pub(crate) struct EventRecord {
    /// `None` only while the box waits for reuse.
    pub(crate) metadata: Option<&'static Metadata<'static>>,
    pub(crate) time: SystemTime,
    /// The span it happened in: `(trace_id, span_id)`.
    pub(crate) span: Option<(u128, u64)>,
    pub(crate) fields: CapturedFields,
    pub(crate) correlation_id: Option<CorrelationId>,
}

impl Recycle for EventRecord {
    fn reset(&mut self) {
        self.metadata = None;
        self.fields.clear();
        self.correlation_id = None;
        self.span = None;
    }

    fn empty() -> Self {
        EventRecord {
            metadata: None,
            time: SystemTime::UNIX_EPOCH,
            span: None,
            fields: CapturedFields::new(),
            correlation_id: None,
        }
    }
}
