//! Owned field values, and lending them back to `tracing` as a `ValueSet`.

use std::error::Error;
use std::fmt;

use tracing_core::field::{DebugValue, FieldSet, Value, ValueSet, debug};

/// The owned form of one field value.
///
/// Built from a [`FieldRef`](crate::FieldRef) (formatting `Debug` values to
/// text and capturing an error's `source()` chain), or by a layer that
/// replaces a value, such as the PII layer writing `[REDACTED:EMAIL]`.
#[derive(Clone, Debug, PartialEq)]
pub enum FieldValue {
    /// A string, recorded again with `record_str`.
    Str(String),
    /// Text that was recorded through `Debug`/`Display`; recorded again with
    /// `record_debug`, printing the text exactly as it is (no quotes added).
    Debug(DebugText),
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
    /// A byte string.
    Bytes(Vec<u8>),
    /// An error, recorded again with `record_error` so that layers that walk
    /// `source()` still see the whole chain.
    Error(ErrorChain),
}

impl FieldValue {
    /// Copies a borrowed value into its owned form.
    pub fn from_ref(value: crate::FieldRef<'_>) -> Self {
        use crate::FieldRef as R;
        match value {
            R::Str(s) => FieldValue::Str(s.to_owned()),
            R::Debug(d) => FieldValue::Debug(DebugText(format!("{d:?}"))),
            R::I64(n) => FieldValue::I64(n),
            R::U64(n) => FieldValue::U64(n),
            R::I128(n) => FieldValue::I128(n),
            R::U128(n) => FieldValue::U128(n),
            R::F64(n) => FieldValue::F64(n),
            R::Bool(b) => FieldValue::Bool(b),
            R::Bytes(b) => FieldValue::Bytes(b.to_vec()),
            R::Error(e) => FieldValue::Error(ErrorChain::capture(e)),
        }
    }

    /// The borrowed view of this value, as a visit would hand it over: one
    /// `match` over [`FieldRef`](crate::FieldRef) serves owned and borrowed
    /// values alike.
    ///
    /// ```
    /// use warden_core::{FieldRef, FieldValue};
    ///
    /// let owned = FieldValue::Debug("Point { x: 1 }".into());
    /// match owned.as_ref() {
    ///     FieldRef::Debug(d) => assert_eq!(format!("{d:?}"), "Point { x: 1 }"),
    ///     other => panic!("{other:?}"),
    /// }
    /// assert!(matches!(FieldValue::U64(7).as_ref(), FieldRef::U64(7)));
    /// ```
    pub fn as_ref(&self) -> crate::FieldRef<'_> {
        use crate::FieldRef as R;
        match self {
            FieldValue::Str(s) => R::Str(s),
            FieldValue::Debug(d) => R::Debug(d),
            FieldValue::I64(n) => R::I64(*n),
            FieldValue::U64(n) => R::U64(*n),
            FieldValue::I128(n) => R::I128(*n),
            FieldValue::U128(n) => R::U128(*n),
            FieldValue::F64(n) => R::F64(*n),
            FieldValue::Bool(b) => R::Bool(*b),
            FieldValue::Bytes(b) => R::Bytes(b),
            FieldValue::Error(e) => R::Error(e),
        }
    }

    /// The text of a string or `Debug` value; `None` for the other kinds.
    pub fn as_text(&self) -> Option<&str> {
        match self {
            FieldValue::Str(s) => Some(s),
            FieldValue::Debug(d) => Some(d.as_str()),
            _ => None,
        }
    }
}

/// Text recorded through `Debug` or `Display`, kept as text. Its own `Debug`
/// (and `Display`) prints the text exactly as it is, with no quotes added,
/// so that recording it again reproduces what the original value printed.
///
/// ```
/// use warden_core::{DebugText, FieldValue};
///
/// // `Debug` of the text is the text itself: recording it again prints what
/// // the original value printed, with no quotes added.
/// let text = DebugText::from("Point { x: 1 }");
/// assert_eq!(format!("{text:?}"), "Point { x: 1 }");
/// assert_eq!(FieldValue::Debug(text).as_text(), Some("Point { x: 1 }"));
/// ```
#[derive(Clone, Default, PartialEq, Eq, Hash)]
pub struct DebugText(String);

impl DebugText {
    /// The text.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The text, owned.
    pub fn into_string(self) -> String {
        self.0
    }
}

impl From<String> for DebugText {
    fn from(text: String) -> Self {
        DebugText(text)
    }
}

impl From<&str> for DebugText {
    fn from(text: &str) -> Self {
        DebugText(text.to_owned())
    }
}

impl std::ops::Deref for DebugText {
    type Target = str;

    fn deref(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for DebugText {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Display for DebugText {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// An owned copy of an error and its `source()` chain: each link keeps only
/// its `Display` text.
///
/// It implements [`Error`], so it can be recorded as `&dyn Error` in place of
/// the original, with the same chain.
///
/// ```
/// use std::error::Error;
/// use warden_core::ErrorChain;
///
/// let io = std::io::Error::other("disk full");
/// let chain = ErrorChain::capture(&io);
/// assert_eq!(chain.to_string(), "disk full");
/// let wrapped = ErrorChain::from_messages(["write failed".to_owned(), "disk full".to_owned()]).unwrap();
/// assert_eq!(wrapped.source().unwrap().to_string(), "disk full");
/// let upper = wrapped.map_messages(|m| m.to_uppercase());
/// assert_eq!(upper.messages().collect::<Vec<_>>(), ["WRITE FAILED", "DISK FULL"]);
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ErrorChain {
    message: String,
    source: Option<Box<ErrorChain>>,
}

impl ErrorChain {
    /// Builds a chain from the message of each link, outermost first.
    ///
    /// Returns `None` when `messages` is empty.
    pub fn from_messages<I>(messages: I) -> Option<Self>
    where
        I: IntoIterator<Item = String>,
        I::IntoIter: DoubleEndedIterator,
    {
        messages.into_iter().rev().fold(None, |source, message| {
            Some(ErrorChain {
                message,
                source: source.map(Box::new),
            })
        })
    }

    /// Copies `error` and its sources. Chains longer than
    /// [`MAX_ERROR_CHAIN`](crate::MAX_ERROR_CHAIN) links (or cyclic ones) are
    /// cut there.
    pub fn capture(error: &(dyn Error + 'static)) -> Self {
        let messages: Vec<String> = crate::error_chain(error).map(|e| e.to_string()).collect();
        Self::from_messages(messages).unwrap_or_else(|| ErrorChain {
            message: String::new(),
            source: None,
        })
    }

    /// The `Display` text of this link.
    pub fn message(&self) -> &str {
        &self.message
    }

    /// The messages of this link and every source, outermost first.
    pub fn messages(&self) -> impl Iterator<Item = &str> {
        std::iter::successors(Some(self), |e| e.source.as_deref()).map(|e| e.message.as_str())
    }

    /// Rewrites every link's message with `f`.
    pub fn map_messages(&self, mut f: impl FnMut(&str) -> String) -> Self {
        let messages: Vec<String> = self.messages().map(&mut f).collect();
        Self::from_messages(messages).unwrap_or_else(|| self.clone())
    }
}

impl fmt::Display for ErrorChain {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl Error for ErrorChain {
    fn source(&self) -> Option<&(dyn Error + 'static)> {
        self.source.as_deref().map(|e| e as &(dyn Error + 'static))
    }
}

/// One owned value per field of a callsite, in the callsite's field order.
///
/// A layer that must pass on a modified event or span fills one of these and
/// calls [`OwnedFields::with_value_set`] to get a
/// [`ValueSet`] for `Event::new`, `Attributes::new` or `Record::new`.
///
/// ```
/// use tracing_subscriber::prelude::*;
/// use warden_core::{FieldValue, OwnedFields};
///
/// // Re-record a span's fields with one value replaced, as the PII gate does.
/// let span = tracing::info_span!("checkout", user = tracing::field::Empty, items = 3u64);
/// if let Some(meta) = span.metadata() {
///     let mut owned = OwnedFields::with_len(meta.fields().len());
///     owned.set(0, FieldValue::Str("[REDACTED:EMAIL]".into()));
///     owned.set(1, FieldValue::U64(3));
///     owned.with_value_set(meta.fields(), |values| assert_eq!(values.len(), 2));
/// }
/// ```
#[derive(Clone, Debug, Default, PartialEq)]
pub struct OwnedFields {
    values: Vec<Option<FieldValue>>,
}

impl OwnedFields {
    /// Room for the `len` fields of a [`FieldSet`], all empty.
    pub fn with_len(len: usize) -> Self {
        // Not `vec![None; len]`: that clones the `None` into each place
        // (a call per field); this writes it.
        let mut values = Vec::with_capacity(len);
        values.resize_with(len, || None);
        OwnedFields { values }
    }

    /// Sets the value of the field at `index` (see `Field::index`). An index
    /// out of range is ignored.
    pub fn set(&mut self, index: usize, value: FieldValue) {
        if let Some(slot) = self.values.get_mut(index) {
            *slot = Some(value);
        }
    }

    /// The value of the field at `index`, if one was set.
    pub fn get(&self, index: usize) -> Option<&FieldValue> {
        self.values.get(index).and_then(Option::as_ref)
    }

    /// The number of field slots.
    pub fn len(&self) -> usize {
        self.values.len()
    }

    /// Whether there are no field slots.
    pub fn is_empty(&self) -> bool {
        self.values.is_empty()
    }

    /// Lends the values out as a [`ValueSet`] over `fields` and calls `f`
    /// with it. Slots that were never set are absent from the set.
    ///
    /// `fields` must be the field set these slots were sized for; if the
    /// lengths differ, `f` is given the values of the common prefix.
    pub fn with_value_set<R>(&self, fields: &FieldSet, f: impl FnOnce(&ValueSet<'_>) -> R) -> R {
        // On the stack for the field counts events have (`tracing`'s macros
        // take at most 32).
        // Filled in place: a `collect` returns the vector by value, and
        // moving its inline buffer cost more than filling it.
        let mut lent: smallvec::SmallVec<[Option<Lent<'_>>; 16]> = smallvec::SmallVec::new();
        for value in self.values.iter().take(fields.len()) {
            lent.push(value.as_ref().map(Lent::new));
        }
        let mut refs: smallvec::SmallVec<[Option<&dyn Value>; 16]> = smallvec::SmallVec::new();
        for value in &lent {
            refs.push(value.as_ref().map(Lent::as_value));
        }
        refs.resize(fields.len(), None);
        f(&fields.value_set_all(&refs))
    }
}

/// A [`FieldValue`] in a form that `tracing`'s sealed `Value` trait accepts:
/// the value itself where it is a `Value` as stored, else what wraps it.
enum Lent<'a> {
    /// A string, a number or a boolean.
    Itself(&'a dyn Value),
    /// Text recorded through `Debug`, recorded the same way again.
    Debug(DebugValue<&'a dyn fmt::Debug>),
    /// Bytes (`[u8]` is a `Value`, but unsized).
    Bytes(&'a [u8]),
    /// An error chain, recorded as an error again.
    Error(&'a (dyn Error + 'static)),
}

impl<'a> Lent<'a> {
    fn new(value: &'a FieldValue) -> Self {
        match value {
            FieldValue::Str(s) => Lent::Itself(s),
            FieldValue::Debug(d) => Lent::Debug(debug(d)),
            FieldValue::I64(n) => Lent::Itself(n),
            FieldValue::U64(n) => Lent::Itself(n),
            FieldValue::I128(n) => Lent::Itself(n),
            FieldValue::U128(n) => Lent::Itself(n),
            FieldValue::F64(n) => Lent::Itself(n),
            FieldValue::Bool(b) => Lent::Itself(b),
            FieldValue::Bytes(b) => Lent::Bytes(b),
            FieldValue::Error(e) => Lent::Error(e),
        }
    }

    fn as_value(&self) -> &dyn Value {
        match self {
            Lent::Itself(v) => *v,
            Lent::Debug(d) => d,
            Lent::Bytes(b) => b,
            Lent::Error(e) => e,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tracing_core::field::Visit;

    #[test]
    fn error_chain_keeps_every_link() {
        let err = warden_test_support::chained(["wrapper", "disk full"]);
        let chain = ErrorChain::capture(&err);
        assert_eq!(
            chain.messages().collect::<Vec<_>>(),
            ["wrapper", "disk full"]
        );
        assert_eq!(
            chain.source().map(|s| s.to_string()).as_deref(),
            Some("disk full")
        );
        let cyclic = ErrorChain::capture(&warden_test_support::Cyclic("again"));
        assert_eq!(cyclic.messages().count(), crate::MAX_ERROR_CHAIN);
        let upper = chain.map_messages(|m| m.to_uppercase());
        assert_eq!(
            upper.messages().collect::<Vec<_>>(),
            ["WRAPPER", "DISK FULL"]
        );
    }

    struct Record(Vec<String>);
    impl Visit for Record {
        fn record_debug(&mut self, field: &tracing_core::Field, value: &dyn fmt::Debug) {
            self.0.push(format!("{}:debug:{value:?}", field.name()));
        }
        fn record_str(&mut self, field: &tracing_core::Field, value: &str) {
            self.0.push(format!("{}:str:{value}", field.name()));
        }
        fn record_u64(&mut self, field: &tracing_core::Field, value: u64) {
            self.0.push(format!("{}:u64:{value}", field.name()));
        }
        fn record_error(&mut self, field: &tracing_core::Field, value: &(dyn Error + 'static)) {
            let chain = ErrorChain::capture(value);
            let text = chain.messages().collect::<Vec<_>>().join("<-");
            self.0.push(format!("{}:error:{text}", field.name()));
        }
    }

    /// Runs `f` with the metadata of a real span callsite.
    fn with_span_metadata(
        span: impl FnOnce() -> tracing::Span,
        f: impl FnOnce(&'static tracing::Metadata<'static>),
    ) {
        tracing::subscriber::with_default(tracing_subscriber::registry(), || {
            let span = span();
            f(span.metadata().expect("a registry enables every span"))
        })
    }

    #[test]
    fn lent_values_record_with_their_original_types() {
        with_span_metadata(
            || tracing::info_span!("s", a = tracing::field::Empty, b = 1u64, c = "x", d = 2u64),
            lent_values_check,
        );
    }

    fn lent_values_check(meta: &'static tracing::Metadata<'static>) {
        let mut owned = OwnedFields::with_len(meta.fields().len());
        owned.set(0, FieldValue::Debug("Point { x: 1 }".into()));
        owned.set(1, FieldValue::U64(7));
        owned.set(2, FieldValue::Str("plain".into()));
        owned.set(
            3,
            FieldValue::Error(
                ErrorChain::from_messages(["top".to_owned(), "root".to_owned()]).unwrap(),
            ),
        );
        let mut seen = Record(Vec::new());
        owned.with_value_set(meta.fields(), |values| values.record(&mut seen));
        assert_eq!(
            seen.0,
            [
                "a:debug:Point { x: 1 }",
                "b:u64:7",
                "c:str:plain",
                "d:error:top<-root"
            ]
        );
    }

    #[test]
    fn unset_slots_are_absent() {
        with_span_metadata(
            || tracing::info_span!("s", a = 1u64, b = 2u64),
            unset_slots_check,
        );
    }

    fn unset_slots_check(meta: &'static tracing::Metadata<'static>) {
        let mut owned = OwnedFields::with_len(meta.fields().len());
        owned.set(1, FieldValue::U64(9));
        owned.set(99, FieldValue::U64(1));
        let mut seen = Record(Vec::new());
        owned.with_value_set(meta.fields(), |values| values.record(&mut seen));
        assert_eq!(seen.0, ["b:u64:9"]);
    }
}
