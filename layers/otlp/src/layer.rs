//! `OtlpLayer`: captures spans and events for export, never blocking.

use std::sync::Arc;

use tracing_core::span::{Attributes, Id, Record};
use tracing_core::{Event, Level, Subscriber};
use tracing_subscriber::layer::{Context, Layer};
use tracing_subscriber::registry::{Extensions, ExtensionsMut, LookupSpan, SpanRef};
use warden_core::internal::Written;
use warden_core::internal::{random_u64, random_u128};
use warden_core::{
    Callbacks, CorrelationId, Opening, SanitizedFields, SpanPart, WardenSpan, visit_fields,
};

use crate::queue::Shared;
use crate::record::SpanRecord;
use warden_core::CapturedFields;

/// A `tracing-subscriber` layer that exports spans (with their parent/child
/// structure, status and `correlation.id`) and events (as OTLP log records
/// carrying trace and span ids) through an [`Otlp`](crate::Otlp) exporter.
///
/// Made by [`Otlp::layer`](crate::Otlp::layer). Closing a span or logging
/// an event costs a copy of its fields and a push onto a bounded lock-free
/// queue; when the queue is full the record is dropped and counted
/// ([`Otlp::stats`](crate::Otlp::stats)), so the application never waits
/// for the collector.
///
/// Sanitized span fields that a PII gate (warden-pii's `PiiLayer`) left in
/// the span's extensions replace the raw ones, and the export thread runs
/// every text through its own sanitizer before it leaves the process, so a
/// stack without a gate (or with the gate in the wrong place) still cannot
/// leak. A span's trace id is its correlation ID when that ID is a UUID or
/// a W3C trace id (put the [`CorrelationLayer`] before this layer), so a
/// request's ID and its trace join.
///
/// [`CorrelationLayer`]: https://docs.rs/warden-correlation
#[derive(Clone, Debug)]
pub struct OtlpLayer {
    shared: Arc<Shared>,
    spans: bool,
    events: bool,
    /// What `spans` and `events` ask for, worked out when they are set,
    /// not on each span.
    callbacks: Callbacks,
}

impl OtlpLayer {
    pub(crate) fn new(shared: Arc<Shared>) -> Self {
        // The span clock calibrates on its first reading: here, not in a
        // logging call.
        let _ = warden_core::Moment::now();
        OtlpLayer {
            shared,
            spans: true,
            events: true,
            callbacks: Self::callbacks_for(true, true),
        }
    }

    /// Events; spans when it exports them (or events, which carry their
    /// span's trace context).
    fn callbacks_for(spans: bool, events: bool) -> Callbacks {
        let mut callbacks = Callbacks::EVENT.and(Callbacks::RECORD);
        if spans || events {
            callbacks = callbacks.and(Callbacks::OPEN).and(Callbacks::PARENT);
        }
        if spans {
            callbacks = callbacks.and(Callbacks::CLOSE);
        }
        callbacks
    }

    /// Whether spans are exported (default `true`).
    pub fn with_spans(mut self, enabled: bool) -> Self {
        self.spans = enabled;
        self.callbacks = Self::callbacks_for(self.spans, self.events);
        self
    }

    /// Whether events are exported as log records (default `true`).
    pub fn with_events(mut self, enabled: bool) -> Self {
        self.events = enabled;
        self.callbacks = Self::callbacks_for(self.spans, self.events);
        self
    }
}

/// Appends every field of `record` (a new span's or an event's: each name
/// once).
fn capture<R: tracing_subscriber::field::RecordFields + ?Sized>(
    record: &R,
    fields: &mut CapturedFields,
) {
    visit_fields(record, |field, value| fields.push(field.name(), value));
}

/// The trace id a root span gets: its correlation ID's 128 bits when the ID
/// is a W3C trace id or a UUID, else a fresh random one.
fn root_trace_id(correlation: Option<&CorrelationId>) -> u128 {
    correlation
        .and_then(|c| c.as_trace_id().or_else(|| c.as_uuid().map(|u| u.as_u128())))
        .filter(|&t| t != 0)
        .unwrap_or_else(|| random_u128().max(1))
}

impl<S> Layer<S> for OtlpLayer
where
    S: Subscriber + for<'a> LookupSpan<'a>,
{
    warden_core::part_callbacks!(S: on_new_span, on_close, on_event);

    fn on_record(&self, id: &Id, values: &Record<'_>, ctx: Context<'_, S>) {
        if !self.spans {
            return;
        }
        let Some(span) = ctx.span(id) else { return };
        let mut extensions = span.extensions_mut();
        let record = extensions
            .get_mut::<WardenSpan>()
            .and_then(|s| s.slot_mut::<SpanRecord>());
        if let Some(record) = record {
            let fields = &mut record.fields;
            visit_fields(values, |field, value| fields.set(field.name(), value));
        }
    }
}

impl OtlpLayer {
    /// Captures an event (inside `span`, if it has one) for export.
    fn capture_event<S>(&self, event: &Event<'_>, span: Option<&SpanRef<'_, S>>)
    where
        S: Subscriber + for<'a> LookupSpan<'a>,
    {
        let mut ids = None;
        let mut correlation_id = None;
        if let Some(span) = span {
            if *event.metadata().level() == Level::ERROR {
                if let Some(shared) = span.extensions_mut().get_mut::<WardenSpan>() {
                    shared.mark_error_event();
                }
            }
            let extensions = span.extensions();
            if let Some(shared) = WardenSpan::of(&extensions) {
                ids = shared.slot::<SpanRecord>().map(|r| (r.trace_id, r.span_id));
            }
            if self.events {
                correlation_id = warden_core::correlation_id_in(&extensions).cloned();
            }
        }
        // An audit event the stack's log filter turned down is the audit
        // layer's alone (its record reaches the collector through the
        // audit sink).
        let late = match warden_core::internal::written(event.metadata()) {
            _ if !self.events => return,
            Written::Not => return,
            Written::Now => None,
            Written::Late(at) => Some(at),
        };
        let mut record = self.shared.events.buffer();
        capture(event, &mut record.fields);
        record.metadata = Some(event.metadata());
        record.time = match late {
            // A request's held line, written late: its own time, marked.
            Some(at) => {
                record
                    .fields
                    .push("buffered", warden_core::FieldRef::Bool(true));
                std::time::UNIX_EPOCH + at
            }
            None => warden_core::internal::wall_now(),
        };
        record.span = ids;
        record.correlation_id = correlation_id;
        self.shared.push_event(record);
    }

    /// Starts a new span's export record, in its extensions.
    fn open_record(
        &self,
        attrs: &Attributes<'_>,
        parent: Option<&Extensions<'_>>,
        extensions: &mut ExtensionsMut<'_>,
    ) {
        let parent = parent.and_then(|p| {
            WardenSpan::of(p)?
                .slot::<SpanRecord>()
                .map(|r| (r.trace_id, r.span_id))
        });
        let mut record = self.shared.spans.buffer();
        if self.spans {
            capture(attrs, &mut record.fields);
        }
        record.span_id = random_u64().max(1);
        let Some(shared) = WardenSpan::of_mut(extensions) else {
            self.shared.spans.recycle(record);
            return;
        };
        record.start = shared.opened();
        (record.trace_id, record.parent_span_id) = match parent {
            Some(ids) => ids,
            None => (root_trace_id(shared.correlation_id()), 0),
        };
        if let Some(old) = shared.put_slot(record) {
            self.shared.spans.recycle(old);
        }
    }

    /// Takes a closing span's export record out of its extensions, with
    /// its end, error and sanitized values, and queues it.
    fn close_record(
        &self,
        metadata: &'static tracing_core::Metadata<'static>,
        extensions: &mut ExtensionsMut<'_>,
    ) {
        if let Some(mut record) = self.take_record(extensions) {
            record.metadata = Some(metadata);
            self.shared.push_span(record);
        }
    }

    /// Closes a span of a stack that samples requests: a span of a request
    /// not kept (its root's verdict) waits in the root until the request
    /// ends, and is sent with the root if the request is kept by then (it
    /// failed or was slow), else counted `sampled_out`.
    fn close_sampled<S>(&self, span: &SpanRef<'_, S>, extensions: &mut ExtensionsMut<'_>)
    where
        S: Subscriber + for<'a> LookupSpan<'a>,
    {
        let Some(mut record) = self.take_record(extensions) else {
            return;
        };
        record.metadata = Some(span.metadata());
        let Some(parent) = span.parent() else {
            // The root: its verdict is final now.
            let (kept, held) = match extensions.get_mut::<WardenSpan>() {
                Some(shared) => (shared.kept(), shared.take_slot::<HeldSpans>()),
                None => (None, None),
            };
            let send = |record| match kept {
                Some(false) => self.shared.sample_out(record),
                _ => self.shared.push_span(record),
            };
            for waiting in held.into_iter().flat_map(|h| h.0) {
                send(waiting);
            }
            send(record);
            return;
        };
        let mut root = parent;
        while let Some(up) = root.parent() {
            root = up;
        }
        let mut root_extensions = root.extensions_mut();
        match WardenSpan::of_mut(&mut root_extensions) {
            Some(shared) if shared.kept() == Some(false) => match shared.slot_mut::<HeldSpans>() {
                Some(held) => held.0.push(record),
                None => {
                    let _ = shared.put_slot(Box::new(HeldSpans(vec![record])));
                }
            },
            _ => {
                drop(root_extensions);
                self.shared.push_span(record);
            }
        }
    }

    /// The closing span's record, finished from its shared record.
    fn take_record(&self, extensions: &mut ExtensionsMut<'_>) -> Option<Box<SpanRecord>> {
        let shared = extensions.get_mut::<WardenSpan>()?;
        let mut record = shared.take_slot::<SpanRecord>()?;
        record.end = shared.closed();
        record.error_event = shared.had_error_event();
        // The record came empty from the pool: nothing to drop first.
        if let Some(id) = shared.correlation_id() {
            record.correlation_id = Some(id.clone());
        }
        if let Some(sanitized) = extensions.get_mut::<SanitizedFields>() {
            for (name, value) in sanitized.iter() {
                record.fields.set_owned(name, value);
            }
        }
        Some(record)
    }
}

/// The closed spans of a request sampling did not keep, waiting in its
/// root for the request's end (boxed as the queue and the pool take them).
#[allow(clippy::vec_box)]
struct HeldSpans(Vec<Box<SpanRecord>>);

impl<S> SpanPart<S> for OtlpLayer
where
    S: Subscriber + for<'a> LookupSpan<'a>,
{
    /// Events; spans when it exports them (or events, which carry their
    /// span's trace context).
    #[inline]
    fn callbacks(&self) -> Callbacks {
        self.callbacks
    }

    fn open(&self, opening: &Opening<'_, '_, S>, extensions: &mut ExtensionsMut<'_>) {
        let parent = opening.parent.map(|(_, e)| e);
        self.open_record(opening.attrs, parent, extensions);
    }

    fn event(&self, event: &Event<'_>, span: Option<&SpanRef<'_, S>>, _ctx: Context<'_, S>) {
        self.capture_event(event, span);
    }

    fn close(&self, span: &SpanRef<'_, S>, extensions: &mut ExtensionsMut<'_>) {
        if warden_core::internal::sampling_on() {
            self.close_sampled(span, extensions);
        } else {
            self.close_record(span.metadata(), extensions);
        }
    }
}
