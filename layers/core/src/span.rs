//! The one record warden's layers share for each open span.

use std::any::Any;
use std::time::Duration;

use tracing_subscriber::registry::{Extensions, ExtensionsMut};

use crate::{CorrelationId, Moment};

/// What warden's layers keep for one open span, in a single registry
/// extension instead of one per layer: its correlation ID, the clock
/// readings at its open and close (read once, whichever layer needs them
/// first), whether an `ERROR` event happened inside it, what a metrics
/// layer measures of it, and the record an exporter fills.
///
/// Each layer still works alone: the first one to touch a span creates the
/// record ([`WardenSpan::of_mut`]); the others find it. Layers written
/// elsewhere can read a span's correlation ID with
/// [`correlation_id_in`].
///
/// ```
/// use tracing_subscriber::prelude::*;
/// use warden_core::WardenSpan;
///
/// struct Ids;
/// impl<S: tracing::Subscriber + for<'a> tracing_subscriber::registry::LookupSpan<'a>>
///     tracing_subscriber::Layer<S> for Ids
/// {
///     fn on_new_span(&self, _: &tracing::span::Attributes<'_>, id: &tracing::span::Id, ctx: tracing_subscriber::layer::Context<'_, S>) {
///         let span = ctx.span(id).unwrap();
///         let mut extensions = span.extensions_mut();
///         if let Some(record) = WardenSpan::of_mut(&mut extensions) {
///             record.set_correlation_id("req-1".parse().unwrap());
///         }
///     }
/// }
/// tracing::subscriber::with_default(tracing_subscriber::registry().with(Ids), || {
///     let _request = tracing::info_span!("request").entered();
///     assert_eq!(warden_core::CorrelationId::current().unwrap().to_string(), "req-1");
/// });
/// ```
#[derive(Debug, Default)]
pub struct WardenSpan {
    correlation: Option<CorrelationId>,
    correlation_changes: u32,
    opened: Option<Moment>,
    closed: Option<Moment>,
    error_event: bool,
    /// What the first metrics layer of the stack measures of the span.
    pub measure: Option<SpanMeasure>,
    export: Option<Box<dyn Any + Send + Sync>>,
    /// The span as the first line formatter of the stack wrote it.
    pub text: Option<SpanText>,
}

/// A span written once, when it opens or records a field, for a line
/// formatter to copy into each event line instead of writing it again.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct SpanText {
    /// Which layer wrote it (two formatters with different settings may
    /// share a stack).
    pub owner: usize,
    /// The span alone: its name and fields, as the formatter writes one.
    pub object: String,
    /// Where the name ends in `object` (its fields, if any, follow after a
    /// comma), for a later record to rewrite them.
    pub fields_start: usize,
    /// Every span from the root to this one, as the formatter lists them.
    pub path: String,
    /// The formatter's count of span records when `path` was written: a
    /// record to an ancestor since then makes `path` stale.
    pub path_records: u64,
    /// [`SanitizedFields::changes`](crate::SanitizedFields::changes) when
    /// `object` was written (0 when the span had none).
    pub sanitized_changes: u64,
    /// The span's correlation ID as the formatter writes it (a whole
    /// member, `"correlation_id":"…"`), empty if it had none.
    pub ids: String,
    /// [`WardenSpan::correlation_changes`] when `ids` was written: a line
    /// of a span whose ID has changed since writes it again.
    pub ids_changes: u32,
}

/// A span's timing and outcome as a metrics layer keeps them while it is
/// open.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct SpanMeasure {
    /// Which layer this belongs to (two metrics layers with different
    /// settings may share a stack).
    pub owner: usize,
    /// The operation, when a field names it; `None` means the span's name.
    pub operation: Option<String>,
    /// The layer's own index of the operation, to find its statistics
    /// again without hashing the name.
    pub operation_index: usize,
    /// Time spent entered, so far.
    pub busy: Duration,
    /// When it was last entered, while it is.
    pub entered: Option<Moment>,
    /// How deep it is entered now (re-entrant spans count once).
    pub entries: u32,
    /// Whether a field marked it an error.
    pub error: bool,
    /// The error's code, from a field.
    pub code: Option<String>,
}

impl WardenSpan {
    /// The span's record, if a warden layer made one.
    #[inline]
    pub fn of<'a>(extensions: &'a Extensions<'_>) -> Option<&'a WardenSpan> {
        extensions.get::<WardenSpan>()
    }

    /// The span's record, made now if no layer has yet (so always
    /// `Some`; an `Option` only because the registry's API hands back what
    /// was inserted by looking it up again).
    #[inline]
    pub fn of_mut<'a>(extensions: &'a mut ExtensionsMut<'_>) -> Option<&'a mut WardenSpan> {
        if extensions.get_mut::<WardenSpan>().is_none() {
            extensions.insert(WardenSpan::default());
        }
        extensions.get_mut::<WardenSpan>()
    }

    /// The span's correlation ID, if a correlation layer gave it one.
    #[inline]
    pub fn correlation_id(&self) -> Option<&CorrelationId> {
        self.correlation.as_ref()
    }

    /// Gives the span its correlation ID.
    #[inline]
    pub fn set_correlation_id(&mut self, id: CorrelationId) {
        self.correlation = Some(id);
        self.correlation_changes = self.correlation_changes.wrapping_add(1);
    }

    /// How many times the span's correlation ID was set: a formatter that
    /// wrote the ID once compares this to know whether its text is current.
    #[inline]
    pub fn correlation_changes(&self) -> u32 {
        self.correlation_changes
    }

    /// When the span opened: the clock is read by the first layer that
    /// asks, and every later one gets the same instant.
    #[inline]
    pub fn opened(&mut self) -> Moment {
        *self.opened.get_or_insert_with(Moment::now)
    }

    /// When the span closed, read once in the same way (ask only while it
    /// closes).
    #[inline]
    pub fn closed(&mut self) -> Moment {
        *self.closed.get_or_insert_with(Moment::now)
    }

    /// Marks that an `ERROR` event happened inside the span.
    #[inline]
    pub fn mark_error_event(&mut self) {
        self.error_event = true;
    }

    /// Whether an `ERROR` event happened inside the span.
    #[inline]
    pub fn had_error_event(&self) -> bool {
        self.error_event
    }

    /// Leaves an exporter's record in the span (a box the exporter
    /// recycles: moving it here allocates nothing).
    #[inline]
    pub fn set_export(&mut self, record: Box<dyn Any + Send + Sync>) {
        self.export = Some(record);
    }

    /// The exporter's record, if it is a `T`.
    #[inline]
    pub fn export<T: Any>(&self) -> Option<&T> {
        self.export.as_deref()?.downcast_ref()
    }

    /// The exporter's record, if it is a `T`, to change.
    #[inline]
    pub fn export_mut<T: Any>(&mut self) -> Option<&mut T> {
        self.export.as_deref_mut()?.downcast_mut()
    }

    /// Takes the exporter's record out, if it is a `T`.
    #[inline]
    pub fn take_export<T: Any + Send + Sync>(&mut self) -> Option<Box<T>> {
        let record = self.export.take()?;
        match record.downcast::<T>() {
            Ok(record) => Some(record),
            Err(other) => {
                self.export = Some(other);
                None
            }
        }
    }
}

/// The correlation ID in a span's extensions: warden's [`WardenSpan`]
/// record's, or else a bare [`CorrelationId`] extension another layer left.
/// In a layer: `warden_core::correlation_id_in(&span.extensions())`.
#[inline]
pub fn correlation_id_in<'a>(extensions: &'a Extensions<'_>) -> Option<&'a CorrelationId> {
    match extensions.get::<WardenSpan>() {
        Some(span) => span
            .correlation
            .as_ref()
            .or_else(|| extensions.get::<CorrelationId>()),
        None => extensions.get::<CorrelationId>(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_clock_is_read_once_and_exports_come_back_by_type() {
        let mut span = WardenSpan::default();
        let opened = span.opened();
        std::thread::sleep(Duration::from_millis(2));
        assert_eq!(span.opened(), opened);
        let closed = span.closed();
        assert!(closed > opened);
        assert_eq!(span.closed(), closed);
        span.set_export(Box::new(7u32));
        assert_eq!(span.export::<u64>(), None);
        assert_eq!(span.take_export::<u64>(), None);
        assert_eq!(span.export::<u32>(), Some(&7));
        *span.export_mut::<u32>().unwrap() += 1;
        assert_eq!(span.take_export::<u32>().map(|b| *b), Some(8));
        assert_eq!(span.export::<u32>(), None);
    }
}
