//! Borrowed, typed views of `tracing` field values.

use std::error::Error;
use std::fmt;

use tracing_core::field::{Field, Visit};
use tracing_subscriber::field::RecordFields;

use crate::rendered;

/// One field value as `tracing` recorded it, borrowed for the length of a visit.
///
/// `tracing` hands values to a [`Visit`] one method per type; this enum folds
/// those methods into one value so a layer can `match` on it. `%x` and `?x`
/// values, and the event message, arrive as [`FieldRef::Debug`].
///
/// ```
/// use warden_core::FieldRef;
///
/// fn describe(value: FieldRef<'_>) -> String {
///     match value {
///         FieldRef::Str(s) => format!("text {s:?}"),
///         FieldRef::U64(n) => format!("number {n}"),
///         FieldRef::Error(e) => format!("error {e}"),
///         other => format!("{other:?}"),
///     }
/// }
/// assert_eq!(describe(FieldRef::U64(7)), "number 7");
/// assert_eq!(describe(FieldRef::Bool(true)), "Bool(true)");
/// ```
#[derive(Clone, Copy)]
pub enum FieldRef<'a> {
    /// A string slice (`field = "text"` or a `&str`/`String` value).
    Str(&'a str),
    /// A value recorded through `Debug` or `Display` (`?x`, `%x`, the message).
    Debug(&'a dyn fmt::Debug),
    /// A signed 64-bit integer.
    I64(i64),
    /// An unsigned 64-bit integer.
    U64(u64),
    /// A signed 128-bit integer.
    I128(i128),
    /// An unsigned 128-bit integer.
    U128(u128),
    /// A 64-bit float.
    F64(f64),
    /// A boolean.
    Bool(bool),
    /// A byte slice.
    Bytes(&'a [u8]),
    /// An error recorded as `&dyn Error`; its `source()` chain is reachable.
    Error(&'a (dyn Error + 'static)),
}

impl fmt::Debug for FieldRef<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FieldRef::Str(s) => f.debug_tuple("Str").field(s).finish(),
            FieldRef::Debug(d) => f.debug_tuple("Debug").field(d).finish(),
            FieldRef::I64(n) => f.debug_tuple("I64").field(n).finish(),
            FieldRef::U64(n) => f.debug_tuple("U64").field(n).finish(),
            FieldRef::I128(n) => f.debug_tuple("I128").field(n).finish(),
            FieldRef::U128(n) => f.debug_tuple("U128").field(n).finish(),
            FieldRef::F64(n) => f.debug_tuple("F64").field(n).finish(),
            FieldRef::Bool(b) => f.debug_tuple("Bool").field(b).finish(),
            FieldRef::Bytes(b) => f.debug_tuple("Bytes").field(b).finish(),
            FieldRef::Error(e) => f.debug_tuple("Error").field(&format_args!("{e}")).finish(),
        }
    }
}

/// Calls `f` once for every field value `record` carries, in recording order.
///
/// Nothing is copied or formatted: `Debug` values are handed over as
/// `&dyn Debug`, to be formatted only if the caller needs the text. If a
/// gate opened a rendering for `record` (see the PII gate), a `Debug`
/// value is formatted once for all the layers that read it, and each gets
/// that text: the text the gate scanned is the text every sink writes.
pub fn visit_fields<R, F>(record: &R, mut f: F)
where
    R: RecordFields + ?Sized,
    F: FnMut(&Field, FieldRef<'_>),
{
    visit_fields_with_text(record, |field, value, _| f(field, value));
}

/// [`visit_fields`], also giving the text of a `Debug` value that was
/// formatted in the record's rendering (`None` for other values, and for
/// every value of a record no gate opened a rendering for).
pub fn visit_fields_with_text<R, F>(record: &R, f: F)
where
    R: RecordFields + ?Sized,
    F: FnMut(&Field, FieldRef<'_>, Option<&str>),
{
    record.record(&mut Adapter { f: Closure(f) });
}

/// [`visit_fields_with_text`] with a [`TextVisitor`] in place of the
/// closure.
pub fn visit_fields_with<R, V>(record: &R, visitor: &mut V)
where
    R: RecordFields + ?Sized,
    V: TextVisitor,
{
    record.record(&mut Adapter { f: visitor });
}

/// What [`visit_fields_with`] hands each value to, as
/// [`visit_fields_with_text`] hands it to a closure.
///
/// A `visit` marked `#[inline(always)]` is compiled into each typed
/// method of the visitor (`record_u64`, `record_str`, …), where the
/// [`FieldRef`]'s variant is known: a check per value costs a few
/// instructions, not a call (a closure's body is one function, called
/// from each of them). For a layer's hot path on every event.
///
/// ```
/// use tracing_core::field::Field;
/// use warden_core::FieldRef;
/// use warden_core::internal::{TextVisitor, visit_fields_with};
///
/// /// Counts the integers of a record.
/// struct Integers(usize);
///
/// impl TextVisitor for Integers {
///     #[inline(always)]
///     fn visit(&mut self, _: &Field, value: FieldRef<'_>, _: Option<&str>) {
///         if matches!(value, FieldRef::U64(_) | FieldRef::I64(_)) {
///             self.0 += 1;
///         }
///     }
/// }
///
/// struct Counter;
/// impl<S: tracing_core::Subscriber> tracing_subscriber::Layer<S> for Counter {
///     fn on_event(&self, event: &tracing_core::Event<'_>, _: tracing_subscriber::layer::Context<'_, S>) {
///         let mut integers = Integers(0);
///         visit_fields_with(event, &mut integers);
///         assert_eq!(integers.0, 2);
///     }
/// }
///
/// use tracing_subscriber::layer::SubscriberExt;
/// tracing::subscriber::with_default(tracing_subscriber::registry().with(Counter), || {
///     tracing::info!(a = 1u64, b = -2i64, c = "three", "four");
/// });
/// ```
pub trait TextVisitor {
    /// Called once for each value, as [`visit_fields_with_text`] calls
    /// its closure.
    fn visit(&mut self, field: &Field, value: FieldRef<'_>, text: Option<&str>);
}

impl<V: TextVisitor + ?Sized> TextVisitor for &mut V {
    #[inline(always)]
    fn visit(&mut self, field: &Field, value: FieldRef<'_>, text: Option<&str>) {
        (**self).visit(field, value, text)
    }
}

/// A closure as a [`TextVisitor`].
struct Closure<F>(F);

impl<F: FnMut(&Field, FieldRef<'_>, Option<&str>)> TextVisitor for Closure<F> {
    #[inline(always)]
    fn visit(&mut self, field: &Field, value: FieldRef<'_>, text: Option<&str>) {
        (self.0)(field, value, text)
    }
}

struct Adapter<F> {
    f: F,
}

impl<F: TextVisitor> Visit for Adapter<F> {
    fn record_f64(&mut self, field: &Field, value: f64) {
        self.f.visit(field, FieldRef::F64(value), None)
    }
    fn record_i64(&mut self, field: &Field, value: i64) {
        self.f.visit(field, FieldRef::I64(value), None)
    }
    fn record_u64(&mut self, field: &Field, value: u64) {
        self.f.visit(field, FieldRef::U64(value), None)
    }
    fn record_i128(&mut self, field: &Field, value: i128) {
        self.f.visit(field, FieldRef::I128(value), None)
    }
    fn record_u128(&mut self, field: &Field, value: u128) {
        self.f.visit(field, FieldRef::U128(value), None)
    }
    fn record_bool(&mut self, field: &Field, value: bool) {
        self.f.visit(field, FieldRef::Bool(value), None)
    }
    fn record_str(&mut self, field: &Field, value: &str) {
        self.f.visit(field, FieldRef::Str(value), None)
    }
    fn record_bytes(&mut self, field: &Field, value: &[u8]) {
        self.f.visit(field, FieldRef::Bytes(value), None)
    }
    fn record_error(&mut self, field: &Field, value: &(dyn Error + 'static)) {
        let f = &mut self.f;
        rendered::with_error(field, value, |chain| match chain {
            Some(chain) => f.visit(field, FieldRef::Error(chain), None),
            None => f.visit(field, FieldRef::Error(value), None),
        })
    }
    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        let f = &mut self.f;
        rendered::with_text(field, value, |text| match text {
            Some(text) => f.visit(field, FieldRef::Debug(&rendered::Text(text)), Some(text)),
            None => f.visit(field, FieldRef::Debug(value), None),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::{Arc, Mutex};
    use tracing_subscriber::Layer;
    use tracing_subscriber::layer::{Context, SubscriberExt};

    #[derive(Clone, Default)]
    struct Probe(Arc<Mutex<Vec<String>>>);

    impl<S: tracing::Subscriber> Layer<S> for Probe {
        fn on_event(&self, event: &tracing::Event<'_>, _: Context<'_, S>) {
            visit_fields(event, |field, value| {
                self.0
                    .lock()
                    .unwrap()
                    .push(format!("{}={:?}", field.name(), value));
            });
        }
    }

    #[test]
    fn every_type_arrives_as_its_variant() {
        let probe = Probe::default();
        let err = warden_test_support::chained(["outer", "inner"]);
        tracing::subscriber::with_default(
            tracing_subscriber::registry().with(probe.clone()),
            || {
                tracing::info!(
                    s = "text",
                    i = -1i64,
                    u = 2u64,
                    big = 3u128,
                    f = 1.5f64,
                    b = true,
                    d = ?vec![1, 2],
                    e = &err as &(dyn Error + 'static),
                    "msg {}",
                    7
                );
            },
        );
        let seen = probe.0.lock().unwrap().join(" ");
        assert_eq!(
            seen,
            "message=Debug(msg 7) s=Str(\"text\") i=I64(-1) u=U64(2) big=U128(3) \
             f=F64(1.5) b=Bool(true) d=Debug([1, 2]) e=Error(outer)"
        );
    }
}
