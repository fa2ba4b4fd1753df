//! [`Sanitized`]: a layer behind the gate that also gets sanitized span
//! attributes and `Span::record` values.

use std::any::TypeId;

use tracing_core::field::FieldSet;
use tracing_core::span::{Attributes, Id, Record};
use tracing_core::subscriber::Interest;
use tracing_core::{Dispatch, Event, LevelFilter, Metadata, Subscriber};
use tracing_subscriber::field::RecordFields;
use tracing_subscriber::layer::{Context, Layer};
use tracing_subscriber::registry::LookupSpan;
use warden_core::{DebugText, FieldValue, OwnedFields};

use super::{PiiLayer, event_like};

/// A layer wrapped by [`PiiLayer::wrap`]: it sees sanitized events (as
/// every layer does behind the gate) and, in addition, sanitized span
/// attributes and `Span::record` values.
#[derive(Debug, Clone)]
pub struct Sanitized<L> {
    pub(super) gate: PiiLayer,
    pub(super) inner: L,
}

impl<L> Sanitized<L> {
    /// The gate.
    pub fn gate(&self) -> &PiiLayer {
        &self.gate
    }

    /// The wrapped layer.
    ///
    /// ```
    /// use warden_pii::PiiLayer;
    ///
    /// let fmt = tracing_subscriber::fmt::layer::<tracing_subscriber::Registry>().with_writer(std::io::sink);
    /// let wrapped = PiiLayer::default().wrap(fmt);
    /// let _fmt = wrapped.inner(); // the formatter, to inspect or reconfigure
    /// assert_eq!(wrapped.gate().dropped_events(), 0);
    /// ```
    pub fn inner(&self) -> &L {
        &self.inner
    }

    /// The wrapped layer, mutably.
    pub fn inner_mut(&mut self) -> &mut L {
        &mut self.inner
    }

    /// What the wrapped layer gets of a span's fields (`record`): the
    /// sanitized copy, kept in the span's extensions too, if a value was
    /// replaced; else a copy with the texts the gate scanned, if it
    /// formatted any; else `None`, and the fields go on as they are.
    fn span_copy<S, R>(
        &self,
        id: &Id,
        ctx: &Context<'_, S>,
        fields: &FieldSet,
        record: &R,
    ) -> Option<OwnedFields>
    where
        S: Subscriber + for<'a> LookupSpan<'a>,
        R: RecordFields + ?Sized,
    {
        match self.gate.sanitized_copy(fields, record, 0) {
            Some((owned, _)) => {
                self.gate.store_span_fields(id, ctx, fields, &owned);
                Some(owned)
            }
            None => rendered_copy(fields, record),
        }
    }
}

impl<S, L> Layer<S> for Sanitized<L>
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    L: Layer<S>,
{
    fn on_register_dispatch(&self, subscriber: &Dispatch) {
        <PiiLayer as Layer<S>>::on_register_dispatch(&self.gate, subscriber);
        self.inner.on_register_dispatch(subscriber);
    }

    fn on_layer(&mut self, subscriber: &mut S) {
        self.inner.on_layer(subscriber);
    }

    fn register_callsite(&self, metadata: &'static Metadata<'static>) -> Interest {
        self.inner.register_callsite(metadata)
    }

    fn enabled(&self, metadata: &Metadata<'_>, ctx: Context<'_, S>) -> bool {
        self.inner.enabled(metadata, ctx)
    }

    fn max_level_hint(&self) -> Option<LevelFilter> {
        self.inner.max_level_hint()
    }

    fn event_enabled(&self, event: &Event<'_>, ctx: Context<'_, S>) -> bool {
        self.gate.event_enabled(event, ctx.clone()) && self.inner.event_enabled(event, ctx)
    }

    fn on_new_span(&self, attrs: &Attributes<'_>, id: &Id, ctx: Context<'_, S>) {
        let meta = attrs.metadata();
        let Some(owned) = self.span_copy(id, &ctx, meta.fields(), attrs) else {
            return self.inner.on_new_span(attrs, id, ctx);
        };
        owned.with_value_set(meta.fields(), |values| {
            let copy = if attrs.is_root() {
                Attributes::new_root(meta, values)
            } else if let Some(parent) = attrs.parent() {
                Attributes::child_of(parent.clone(), meta, values)
            } else {
                Attributes::new(meta, values)
            };
            self.inner.on_new_span(&copy, id, ctx);
        });
    }

    fn on_record(&self, id: &Id, values: &Record<'_>, ctx: Context<'_, S>) {
        let Some(meta) = ctx.metadata(id) else {
            return self.inner.on_record(id, values, ctx);
        };
        let Some(owned) = self.span_copy(id, &ctx, meta.fields(), values) else {
            return self.inner.on_record(id, values, ctx);
        };
        owned.with_value_set(meta.fields(), |set| {
            self.inner.on_record(id, &Record::new(set), ctx)
        });
    }

    fn on_follows_from(&self, span: &Id, follows: &Id, ctx: Context<'_, S>) {
        self.inner.on_follows_from(span, follows, ctx);
    }

    fn on_event(&self, event: &Event<'_>, ctx: Context<'_, S>) {
        // Behind the gate, every event that arrives is clean or a copy. A
        // clean one whose `Debug` values the gate formatted goes on with
        // those texts, not the values: formatted again, a value may say
        // something else (the text scanned is the text written).
        // The gate's own copies hold texts already.
        let meta = event.metadata();
        let copy = !warden_core::internal::is_copy(event);
        let Some(owned) = copy.then(|| rendered_copy(meta.fields(), event)).flatten() else {
            return self.inner.on_event(event, ctx);
        };
        owned.with_value_set(meta.fields(), |values| {
            self.inner.on_event(&event_like(event, meta, values), ctx);
        });
    }

    fn on_enter(&self, id: &Id, ctx: Context<'_, S>) {
        self.inner.on_enter(id, ctx);
    }

    fn on_exit(&self, id: &Id, ctx: Context<'_, S>) {
        self.inner.on_exit(id, ctx);
    }

    fn on_close(&self, id: Id, ctx: Context<'_, S>) {
        self.inner.on_close(id, ctx);
    }

    fn on_id_change(&self, old: &Id, new: &Id, ctx: Context<'_, S>) {
        self.inner.on_id_change(old, new, ctx);
    }

    #[allow(unsafe_code)]
    unsafe fn downcast_raw(&self, id: TypeId) -> Option<*const ()> {
        if id == TypeId::of::<Self>() {
            return Some(self as *const Self as *const ());
        }
        if id == TypeId::of::<PiiLayer>() {
            return Some(&self.gate as *const PiiLayer as *const ());
        }
        // SAFETY: `downcast_raw` must return a pointer to a value of the
        // type `id` names, valid as long as `self`. We return the inner
        // layer's own answer unchanged; it upholds that contract for the
        // ids it knows (tracing-opentelemetry's `WithContext`, the
        // per-layer-filter marker), and `self.inner` lives as long as `self`.
        unsafe { self.inner.downcast_raw(id) }
    }
}

/// A copy of `record`'s values with the texts the gate scanned in place of
/// its `Debug` values, if the gate formatted any of them (else `None`: the
/// record can be passed on as it is).
pub(super) fn rendered_copy<R: RecordFields + ?Sized>(
    fields: &FieldSet,
    record: &R,
) -> Option<OwnedFields> {
    if !warden_core::internal::has_rendered_texts(fields) {
        return None;
    }
    let mut owned = OwnedFields::with_len(fields.len());
    warden_core::internal::visit_fields_with_text(record, |field, value, text| {
        let value = match text {
            Some(text) => FieldValue::Debug(DebugText::from(text.to_owned())),
            None => FieldValue::from_ref(value),
        };
        owned.set(field.index(), value);
    });
    Some(owned)
}
