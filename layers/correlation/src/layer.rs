//! The layer that gives spans their correlation IDs.

use std::sync::Arc;
#[cfg(feature = "opentelemetry")]
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};

use tracing_core::Subscriber;
use tracing_core::field::Field;
use tracing_core::span::{Attributes, Id, Record};
use tracing_subscriber::field::RecordFields;
use tracing_subscriber::layer::{Context, Layer};
use tracing_subscriber::registry::{Extensions, ExtensionsMut, LookupSpan};
#[cfg(feature = "opentelemetry")]
use warden_core::Unlocked;
use warden_core::{
    Callbacks, CorrelationId, FieldRef, Opening, SpanPart, WardenSpan, correlation_id_in,
    visit_fields,
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
///
/// **An ID from outside is checked at the door.** It comes from a client (a
/// header the `tower` layer put in the field) and is printed on every line
/// and stored in the audit trail, so it is kept only if it is an ID: at
/// most [`MAX_CORRELATION_ID_LEN`](warden_core::MAX_CORRELATION_ID_LEN)
/// bytes of letters, digits and `-_.:/+=~`, and accepted by the check given
/// with [`accept_ids`](Self::accept_ids) (`warden::init()` gives the PII
/// gate's: an email, an IBAN or an IP address is not an ID). Anything else
/// is treated as absent, so the span gets its parent's ID or a fresh one;
/// the original stays in the span's field, where the PII gate sanitizes it
/// like any other value, and [`rejected_ids`](Self::rejected_ids) counts it.
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
pub struct CorrelationLayer {
    field: &'static str,
    /// The check an ID from outside must pass besides the charset.
    accept: Option<IdCheck>,
    /// IDs from outside refused, shared by the layer's clones.
    rejected: Arc<AtomicU64>,
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

/// Whether an ID from outside may be kept (see
/// [`CorrelationLayer::accept_ids`]).
type IdCheck = Arc<dyn Fn(&str) -> bool + Send + Sync>;

impl std::fmt::Debug for CorrelationLayer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CorrelationLayer")
            .field("field", &self.field)
            .field("accept", &self.accept.as_ref().map(|_| "…"))
            .field("rejected", &self.rejected_ids())
            .finish_non_exhaustive()
    }
}

/// Whether `text` is made of the characters an ID is made of: letters,
/// digits and `-_.:/+=~` (UUIDs, ULIDs, trace ids, `X-Amzn-Trace-Id`
/// roots, base64 tokens), not the `@` of an address or the quotes, angle
/// brackets and spaces of anything else.
fn id_charset(text: &str) -> bool {
    text.bytes()
        .all(|b| b.is_ascii_alphanumeric() || b"-_.:/+=~".contains(&b))
}

impl Clone for CorrelationLayer {
    /// A clone learns its own subscriber when it is added to one.
    fn clone(&self) -> Self {
        CorrelationLayer {
            field: self.field,
            accept: self.accept.clone(),
            rejected: Arc::clone(&self.rejected),
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
        let _ = warden_core::internal::wall_now();
        CorrelationLayer {
            field: "correlation_id",
            accept: None,
            rejected: Arc::default(),
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

    /// Keeps an ID from outside only if `check` accepts it (besides the
    /// length and charset every ID must have): give the PII gate's test, so
    /// that an email, an IBAN or an IP address sent as `x-request-id` never
    /// becomes the ID printed on every line. A refused ID is treated as
    /// absent and counted ([`rejected_ids`](Self::rejected_ids)).
    ///
    /// ```
    /// use tracing_subscriber::prelude::*;
    /// use warden_correlation::{CorrelationId, CorrelationLayer};
    ///
    /// // The PII gate's test in a real stack: `move |id| !sanitizer.contains_pii(id)`.
    /// let layer = CorrelationLayer::new().accept_ids(|id| !id.starts_with("DE"));
    /// let rejected = layer.clone();
    /// tracing::subscriber::with_default(tracing_subscriber::registry().with(layer), || {
    ///     let _request = tracing::info_span!("request", correlation_id = "DE89370400440532013000").entered();
    ///     assert_ne!(CorrelationId::current().unwrap().to_string(), "DE89370400440532013000");
    /// });
    /// assert_eq!(rejected.rejected_ids(), 1);
    /// ```
    pub fn accept_ids(mut self, check: impl Fn(&str) -> bool + Send + Sync + 'static) -> Self {
        self.accept = Some(Arc::new(check));
        self
    }

    /// How many IDs from outside this layer (and its clones) refused.
    pub fn rejected_ids(&self) -> u64 {
        self.rejected.load(Ordering::Relaxed)
    }

    /// Whether an ID from outside may be kept.
    fn accepted(&self, text: &str) -> bool {
        let ok = id_charset(text) && self.accept.as_ref().is_none_or(|check| check(text));
        if !ok {
            self.rejected.fetch_add(1, Ordering::Relaxed);
        }
        ok
    }

    /// `text` as an ID from outside, if it is a valid one and accepted.
    fn external(&self, text: &str) -> Option<CorrelationId> {
        let id = text.parse().ok()?;
        self.accepted(text).then_some(id)
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
                FieldRef::Str(s) => self.external(s),
                FieldRef::Debug(d) => self.external(&format!("{d:?}")),
                FieldRef::U64(n) => self.external(&n.to_string()),
                FieldRef::I64(n) => self.external(&n.to_string()),
                FieldRef::U128(n) => self.external(&n.to_string()),
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

    warden_core::part_callbacks!(S: on_new_span);

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
    /// A new span (reading its parent, and an OpenTelemetry trace id
    /// first when it reads those) and a recorded correlation field.
    fn callbacks(&self) -> Callbacks {
        let callbacks = Callbacks::OPEN
            .and(Callbacks::PARENT)
            .and(Callbacks::RECORD);
        #[cfg(feature = "opentelemetry")]
        if self.otel.is_some() {
            return callbacks.and(Callbacks::EARLY_ID);
        }
        callbacks
    }

    fn open(&self, opening: &Opening<'_, '_, S>, extensions: &mut ExtensionsMut<'_>) {
        let Some(record) = WardenSpan::of_mut(extensions) else {
            return;
        };
        // A fresh ID takes its time from the span's open, read once for
        // every part (metrics times the span from the same reading).
        let correlation = self.correlation_of(
            opening.attrs,
            opening.parent.map(|(_, e)| e),
            || opening.early.clone(),
            || CorrelationId::new_at(record.opened()),
        );
        record.set_correlation_id(correlation);
    }

    /// A root span's OpenTelemetry trace id, when it reads those (through
    /// the dispatcher, so before the span is locked).
    #[cfg(feature = "opentelemetry")]
    fn early_id(&self, span: &Unlocked<'_, S>) -> Option<CorrelationId> {
        let attrs = span.attrs;
        let own = attrs
            .metadata()
            .fields()
            .field(self.field)
            .is_some_and(|field| self.id_in(attrs, &field).is_some());
        let root =
            attrs.is_root() || (attrs.is_contextual() && span.ctx.current_span().id().is_none());
        if own || !root {
            return None;
        }
        self.otel_trace_id(span.id)
    }
}

#[cfg(test)]
mod door_tests {
    use super::*;

    #[test]
    fn the_charset_is_that_of_ids() {
        for id in [
            "req-7f3a",
            "01a249fd-8f23-76fa-932f-a64c04de0b42",
            "Root=1-67891233-abcdef012345678912345678",
            "b64+token/with=padding",
            "trace:span.1~x_y",
        ] {
            assert!(id_charset(id), "{id}");
        }
        for not_id in [
            "ada@example.com",
            "<script>",
            "a\"b",
            "x,y",
            "semi;colon",
            "naïve",
        ] {
            assert!(!id_charset(not_id), "{not_id}");
        }
    }

    #[test]
    fn refused_ids_are_counted_by_every_clone() {
        let layer = CorrelationLayer::new().accept_ids(|id| id != "refused");
        let clone = layer.clone();
        assert!(layer.external("kept").is_some());
        assert!(layer.external("refused").is_none());
        assert!(layer.external("a@b").is_none());
        assert!(
            layer.external("").is_none(),
            "not an ID at all: not counted"
        );
        assert_eq!(clone.rejected_ids(), 2);
    }
}
