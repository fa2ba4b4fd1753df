//! The layer that gives spans their correlation IDs.

use tracing_core::span::{Attributes, Id, Record};
use tracing_core::Subscriber;
use tracing_subscriber::field::RecordFields;
use tracing_subscriber::layer::{Context, Layer};
use tracing_subscriber::registry::LookupSpan;
use warden_core::{visit_fields, CorrelationId, FieldRef};

/// Gives every span the correlation ID of its request.
///
/// Where a span's ID comes from, in order:
/// 1. its own correlation field (`correlation_id` by default, see
///    [`field_name`](Self::field_name)), when it holds a valid ID — this is
///    how the ID of an incoming request enters;
/// 2. its parent span's ID;
/// 3. a fresh UUID v7 (root spans only).
///
/// Recording the field later (`span.record("correlation_id", id)`) sets the
/// span's ID from then on; spans created under it after that inherit it.
/// An invalid value in the field (empty, too long, not printable ASCII) is
/// ignored as if absent.
#[derive(Debug, Clone)]
pub struct CorrelationLayer {
    field: &'static str,
}

impl Default for CorrelationLayer {
    /// Reads IDs from a field named `correlation_id`.
    fn default() -> Self {
        CorrelationLayer {
            field: "correlation_id",
        }
    }
}

impl CorrelationLayer {
    /// A layer that reads IDs from the field `correlation_id`.
    pub fn new() -> Self {
        Self::default()
    }

    /// Reads IDs from the field named `name` instead (e.g. `request_id`).
    pub fn field_name(mut self, name: &'static str) -> Self {
        self.field = name;
        self
    }

    /// The ID in `record`'s correlation field, if it holds a valid one.
    fn id_in<R: RecordFields + ?Sized>(&self, record: &R) -> Option<CorrelationId> {
        let mut found = None;
        visit_fields(record, |field, value| {
            if field.name() != self.field || found.is_some() {
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
}

impl<S> Layer<S> for CorrelationLayer
where
    S: Subscriber + for<'a> LookupSpan<'a>,
{
    fn on_new_span(&self, attrs: &Attributes<'_>, id: &Id, ctx: Context<'_, S>) {
        let Some(span) = ctx.span(id) else { return };
        let has_field = attrs.metadata().fields().field(self.field).is_some();
        let own = if has_field { self.id_in(attrs) } else { None };
        let correlation = own
            .or_else(|| {
                span.parent()
                    .and_then(|p| p.extensions().get::<CorrelationId>().cloned())
            })
            .unwrap_or_default();
        span.extensions_mut().replace(correlation);
    }

    fn on_record(&self, id: &Id, values: &Record<'_>, ctx: Context<'_, S>) {
        if let Some(correlation) = self.id_in(values) {
            if let Some(span) = ctx.span(id) {
                span.extensions_mut().replace(correlation);
            }
        }
    }
}
