//! The layer that gives spans their correlation IDs.

#[cfg(feature = "opentelemetry")]
use std::sync::OnceLock;

use tracing_core::Subscriber;
use tracing_core::field::Field;
use tracing_core::span::{Attributes, Id, Record};
use tracing_subscriber::field::RecordFields;
use tracing_subscriber::layer::{Context, Layer};
use tracing_subscriber::registry::{Extensions, ExtensionsMut, LookupSpan, SpanRef};
use warden_core::{
    Callbacks, CorrelationId, FieldRef, SpanPart, WardenSpan, correlation_id_in, visit_fields,
};

/// Gives every span the correlation ID of its request.
///
/// Where a span's ID comes from, in order:
/// 1. its own correlation field (`correlation_id` by default, see
///    [`field_name`](Self::field_name)), when it holds a valid ID — this is
///    how the ID of an incoming request enters;
/// 2. its parent span's ID;
/// 3. with [`use_otel_trace_id`](Self::use_otel_trace_id) (feature
///    `opentelemetry`), the trace id of the span's OpenTelemetry context;
/// 4. a fresh UUID v7 (time-ordered, so IDs sort by start time).
///
/// Recording the field later (`span.record("correlation_id", id)`) sets the
/// span's ID from then on; spans created under it after that inherit it.
/// An invalid value in the field (empty, too long, not printable ASCII) is
/// ignored as if absent.
///
/// ```
/// use tracing_subscriber::prelude::*;
/// use warden_correlation::CorrelationLayer;
///
/// let layer = CorrelationLayer::new().field_name("request_id");
/// let subscriber = tracing_subscriber::registry().with(layer);
/// tracing::subscriber::with_default(subscriber, || {
///     let span = tracing::info_span!("request", request_id = "abc-123");
///     let _entered = span.enter();
///     assert_eq!(warden_correlation::CorrelationId::current().unwrap().to_string(), "abc-123");
/// });
/// ```
#[derive(Debug)]
pub struct CorrelationLayer {
    field: &'static str,
    #[cfg(feature = "opentelemetry")]
    otel: Option<OtelTraceIds>,
}

/// What the layer needs to read a span's OpenTelemetry trace id: the
/// subscriber it is part of, learned when it is registered.
#[cfg(feature = "opentelemetry")]
#[derive(Debug, Default)]
struct OtelTraceIds {
    dispatch: OnceLock<tracing_core::dispatcher::WeakDispatch>,
}

impl Clone for CorrelationLayer {
    /// A clone learns its own subscriber when it is added to one.
    fn clone(&self) -> Self {
        CorrelationLayer {
            field: self.field,
            #[cfg(feature = "opentelemetry")]
            otel: self.otel.as_ref().map(|_| OtelTraceIds::default()),
        }
    }
}

impl Default for CorrelationLayer {
    /// Reads IDs from a field named `correlation_id`; a root span without one
    /// gets a fresh UUID v7.
    fn default() -> Self {
        // UUID v7s read the span clock, which calibrates on its first
        // reading: here, not in a logging call.
        let _ = warden_core::wall_now();
        CorrelationLayer {
            field: "correlation_id",
            #[cfg(feature = "opentelemetry")]
            otel: None,
        }
    }
}

impl CorrelationLayer {
    /// A layer that reads IDs from the field `correlation_id`.
    pub fn new() -> Self {
        Self::default()
    }

    /// Reads IDs from the field named `name` instead (e.g. `request_id`).
    ///
    /// ```
    /// use tracing_subscriber::prelude::*;
    /// use warden_correlation::{CorrelationId, CorrelationLayer};
    ///
    /// let subscriber = tracing_subscriber::registry().with(CorrelationLayer::new().field_name("request_id"));
    /// tracing::subscriber::with_default(subscriber, || {
    ///     let _request = tracing::info_span!("request", request_id = "r-42").entered();
    ///     assert_eq!(CorrelationId::current().unwrap().to_string(), "r-42");
    /// });
    /// ```
    pub fn field_name(mut self, name: &'static str) -> Self {
        self.field = name;
        self
    }

    /// Gives a root span without a correlation field the trace id of its
    /// OpenTelemetry span (32 hex digits, as in `traceparent`), so that log
    /// lines and traces share one ID; a UUID v7 remains the fallback.
    ///
    /// `tracing-opentelemetry`'s layer must come *before* this one in the
    /// stack (`registry().with(otel_layer).with(CorrelationLayer::new()
    /// .use_otel_trace_id(true))`), so that the OpenTelemetry span exists
    /// when this layer looks. Reading the trace id starts the OpenTelemetry
    /// span: give it a remote parent through the propagated context that is
    /// current when the span is created, not with `set_parent` afterwards.
    #[cfg(feature = "opentelemetry")]
    #[cfg_attr(docsrs, doc(cfg(feature = "opentelemetry")))]
    pub fn use_otel_trace_id(mut self, enabled: bool) -> Self {
        self.otel = enabled.then(OtelTraceIds::default);
        self
    }

    /// The ID in `record`'s correlation field, if it holds a valid one.
    fn id_in<R: RecordFields + ?Sized>(&self, record: &R, field: &Field) -> Option<CorrelationId> {
        let mut found = None;
        visit_fields(record, |f, value| {
            if f != field || found.is_some() {
                return;
            }
            found = match value {
                FieldRef::Str(s) => s.parse().ok(),
                FieldRef::Debug(d) => format!("{d:?}").parse().ok(),
                FieldRef::U64(n) => n.to_string().parse().ok(),
                FieldRef::I64(n) => n.to_string().parse().ok(),
                FieldRef::U128(n) => n.to_string().parse().ok(),
                _ => None,
            };
        });
        found
    }

    /// A new span's ID: its own field's, else its parent's (from the
    /// parent's extensions), else (for a root) `root`'s or a fresh one.
    fn correlation_of(
        &self,
        attrs: &Attributes<'_>,
        parent: Option<&Extensions<'_>>,
        root: impl FnOnce() -> Option<CorrelationId>,
        fresh: impl FnOnce() -> CorrelationId,
    ) -> CorrelationId {
        let own = attrs
            .metadata()
            .fields()
            .field(self.field)
            .and_then(|field| self.id_in(attrs, &field));
        match own {
            Some(own) => own,
            None => match parent {
                Some(parent) => match correlation_id_in(parent) {
                    Some(inherited) => inherited.clone(),
                    None => fresh(),
                },
                None => root().unwrap_or_else(fresh),
            },
        }
    }

    #[cfg(feature = "opentelemetry")]
    fn otel_trace_id(&self, id: &Id) -> Option<CorrelationId> {
        use opentelemetry::trace::TraceContextExt;
        let dispatch = self.otel.as_ref()?.dispatch.get()?.upgrade()?;
        let cx = tracing_opentelemetry::get_otel_context(id, &dispatch)?;
        let trace_id = cx.span().span_context().trace_id();
        CorrelationId::from_trace_id(u128::from_be_bytes(trace_id.to_bytes()))
    }

    #[cfg(not(feature = "opentelemetry"))]
    fn otel_trace_id(&self, _: &Id) -> Option<CorrelationId> {
        None
    }
}

impl<S> Layer<S> for CorrelationLayer
where
    S: Subscriber + for<'a> LookupSpan<'a>,
{
    #[cfg(feature = "opentelemetry")]
    fn on_register_dispatch(&self, subscriber: &tracing_core::Dispatch) {
        if let Some(otel) = &self.otel {
            let _ = otel.dispatch.set(subscriber.downgrade());
        }
    }

    fn on_new_span(&self, attrs: &Attributes<'_>, id: &Id, ctx: Context<'_, S>) {
        let Some(span) = ctx.span(id) else { return };
        let parent = span.parent();
        let parent_extensions = parent.as_ref().map(SpanRef::extensions);
        let correlation = self.correlation_of(
            attrs,
            parent_extensions.as_ref(),
            || self.otel_trace_id(id),
            CorrelationId::new,
        );
        drop(parent_extensions);
        if let Some(record) = WardenSpan::of_mut(&mut span.extensions_mut()) {
            record.set_correlation_id(correlation);
        }
    }

    fn on_record(&self, id: &Id, values: &Record<'_>, ctx: Context<'_, S>) {
        let Some(span) = ctx.span(id) else { return };
        let Some(field) = span.metadata().fields().field(self.field) else {
            return;
        };
        if let Some(correlation) = self.id_in(values, &field) {
            if let Some(record) = WardenSpan::of_mut(&mut span.extensions_mut()) {
                record.set_correlation_id(correlation);
            }
        }
    }
}

impl<S> SpanPart<S> for CorrelationLayer
where
    S: Subscriber + for<'a> LookupSpan<'a>,
{
    /// A recorded correlation field.
    fn callbacks(&self) -> Callbacks {
        Callbacks::RECORD
    }

    fn open(
        &self,
        attrs: &Attributes<'_>,
        _span: &SpanRef<'_, S>,
        parent: Option<(&SpanRef<'_, S>, &Extensions<'_>)>,
        extensions: &mut ExtensionsMut<'_>,
    ) {
        let Some(record) = WardenSpan::of_mut(extensions) else {
            return;
        };
        // A fresh ID takes its time from the span's open, read once for
        // every part (metrics times the span from the same reading).
        let correlation = self.correlation_of(
            attrs,
            parent.map(|(_, e)| e),
            || None,
            || CorrelationId::new_at(record.opened()),
        );
        record.set_correlation_id(correlation);
    }

    fn close(&self, _span: &SpanRef<'_, S>, _extensions: &mut ExtensionsMut<'_>) {}

    /// Not when it reads OpenTelemetry trace ids: that looks the span up
    /// through the dispatcher.
    fn opens_under_shared_lock(&self) -> bool {
        #[cfg(feature = "opentelemetry")]
        return self.otel.is_none();
        #[cfg(not(feature = "opentelemetry"))]
        true
    }
}
