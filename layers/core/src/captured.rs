//! `CapturedFields`: a span's or event's field values, with every text in
//! one buffer, so that capturing fields allocates nothing once a recycled
//! buffer has grown, and nothing is freed field by field by the thread that
//! reads them.

use std::fmt::Write as _;
use std::ops::Range;

use smallvec::SmallVec;

use crate::{FieldRef, FieldValue};

/// The most bytes of one text value [`CapturedFields::new`] keeps. Longer
/// values are cut at a whitespace or punctuation boundary before the limit
/// (so no token is split) and marked `…[truncated N bytes]`.
pub const MAX_VALUE_BYTES: usize = 64 * 1024;

/// Buffers larger than this are not kept when a record is recycled.
const KEEP_TEXT_CAPACITY: usize = 4 * 1024;

/// One value; a text is a range of the buffer.
#[derive(Clone, Debug, PartialEq)]
enum Slot {
    Text(Range<u32>),
    Bytes(Box<[u8]>),
    I64(i64),
    U64(u64),
    /// 128-bit integers as two halves (high, low): keeps the slot at
    /// 8-byte alignment, so four fit inline in a small buffer.
    I128([u64; 2]),
    U128([u64; 2]),
    F64(f64),
    Bool(bool),
}

/// Field values in recording order, copied out of a visit so that another
/// thread can read them later; a field recorded again replaces its value.
///
/// Every text (a string, a `Debug` or `Display` value, an error with its
/// `source()` chain joined by `": "`) goes into one shared buffer, cut at
/// [`MAX_VALUE_BYTES`] (or the limit given to
/// [`with_max_value_bytes`](Self::with_max_value_bytes)), and comes back as
/// [`FieldRef::Str`]; numbers and booleans keep their types; bytes are kept
/// as they are. [`clear`](Self::clear) keeps a small buffer, so a recycled
/// capture allocates nothing.
///
/// ```
/// use warden_core::{CapturedFields, FieldRef};
///
/// let mut fields = CapturedFields::new();
/// fields.push("user", FieldRef::Str("ada"));
/// fields.push("attempt", FieldRef::U64(2));
/// fields.push("point", FieldRef::Debug(&(1, 2)));
/// fields.set("attempt", FieldRef::U64(3));
/// let shown: Vec<String> = fields.iter().map(|(n, v)| format!("{n}={v:?}")).collect();
/// assert_eq!(shown, [r#"user=Str("ada")"#, "attempt=U64(3)", r#"point=Str("(1, 2)")"#]);
/// ```
///
/// `INLINE` fields are kept without allocating (default 4: most spans need
/// no allocation of their own). A capture that moves through a channel by
/// value can take 0, to stay three words wide.
#[derive(Clone, Debug)]
pub struct CapturedFields<const INLINE: usize = 4> {
    slots: SmallVec<[(&'static str, Slot); INLINE]>,
    text: String,
    max_value_bytes: usize,
}

impl<const INLINE: usize> Default for CapturedFields<INLINE> {
    /// An empty capture that keeps at most [`MAX_VALUE_BYTES`] of a text.
    fn default() -> Self {
        Self::with_max_value_bytes(MAX_VALUE_BYTES)
    }
}

impl CapturedFields {
    /// An empty capture that keeps at most [`MAX_VALUE_BYTES`] of a text.
    pub fn new() -> Self {
        Self::with_max_value_bytes(MAX_VALUE_BYTES)
    }
}

impl<const INLINE: usize> CapturedFields<INLINE> {
    /// An empty capture that keeps at most `max` bytes of a text (up to
    /// 1 GiB).
    ///
    /// ```
    /// use warden_core::{CapturedFields, FieldRef};
    ///
    /// let mut fields: CapturedFields = CapturedFields::with_max_value_bytes(16);
    /// fields.push("note", FieldRef::Str("a rather long note that goes on"));
    /// match fields.get("note") {
    ///     Some(FieldRef::Str(kept)) => assert!(kept.starts_with("a rather long ") && kept.contains("[truncated")),
    ///     other => panic!("{other:?}"),
    /// }
    /// ```
    pub fn with_max_value_bytes(max: usize) -> Self {
        CapturedFields {
            slots: SmallVec::new(),
            text: String::new(),
            max_value_bytes: max.min(1 << 30),
        }
    }

    /// Makes room for `fields` more fields and `text_bytes` more bytes of
    /// text, so that a fresh capture grows once instead of field by field.
    pub fn reserve(&mut self, fields: usize, text_bytes: usize) {
        self.slots.reserve(fields);
        self.text.reserve(text_bytes);
    }

    /// How many fields it holds.
    pub fn len(&self) -> usize {
        self.slots.len()
    }

    /// Whether it holds no field.
    pub fn is_empty(&self) -> bool {
        self.slots.is_empty()
    }

    /// Empties it, keeping a small buffer for the next record.
    pub fn clear(&mut self) {
        self.slots.clear();
        if self.text.capacity() > KEEP_TEXT_CAPACITY {
            self.text = String::new();
        } else {
            self.text.clear();
        }
    }

    /// Appends a value (of a field not recorded yet).
    pub fn push(&mut self, name: &'static str, value: FieldRef<'_>) {
        let slot = self.slot_of(value);
        self.slots.push((name, slot));
    }

    /// Sets a field, replacing an earlier value.
    pub fn set(&mut self, name: &'static str, value: FieldRef<'_>) {
        self.release(name);
        let slot = self.slot_of(value);
        self.put(name, slot);
    }

    /// Sets a field from an owned value (a sanitized one the PII layer left).
    pub fn set_owned(&mut self, name: &'static str, value: &FieldValue) {
        self.set(name, value.as_ref());
    }

    /// Before `name` gets a new value: gives back its old text when that
    /// text is the last in the buffer, and compacts the buffer when
    /// replaced texts fill most of it. A span that records the same field
    /// again and again keeps a bounded buffer.
    fn release(&mut self, name: &'static str) {
        let Some(Slot::Text(old)) = self
            .slots
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, s)| s.clone())
        else {
            return;
        };
        if old.end as usize == self.text.len() {
            self.text.truncate(old.start as usize);
            if let Some(entry) = self.slots.iter_mut().find(|(n, _)| *n == name) {
                entry.1 = Slot::Bool(false);
            }
            return;
        }
        let live: usize = self
            .slots
            .iter()
            .map(|(_, s)| match s {
                Slot::Text(r) => (r.end - r.start) as usize,
                _ => 0,
            })
            .sum();
        if self.text.len() > KEEP_TEXT_CAPACITY && self.text.len() > 2 * live {
            self.compact();
        }
    }

    /// Rewrites the buffer with only the texts still in use.
    fn compact(&mut self) {
        let mut text = String::with_capacity(self.text.len() / 2);
        for (_, slot) in self.slots.iter_mut() {
            if let Slot::Text(r) = slot {
                let start = text.len();
                text.push_str(
                    self.text
                        .get(r.start as usize..r.end as usize)
                        .unwrap_or_default(),
                );
                *r = start as u32..text.len() as u32;
            }
        }
        self.text = text;
    }

    fn put(&mut self, name: &'static str, slot: Slot) {
        match self.slots.iter_mut().find(|(n, _)| *n == name) {
            Some(entry) => entry.1 = slot,
            None => self.slots.push((name, slot)),
        }
    }

    fn slot_of(&mut self, value: FieldRef<'_>) -> Slot {
        match value {
            FieldRef::Str(s) => self.text_slot(|t| t.push_str(s)),
            FieldRef::Debug(d) => self.text_slot(|t| {
                let _ = write!(t, "{d:?}");
            }),
            FieldRef::I64(n) => Slot::I64(n),
            FieldRef::U64(n) => Slot::U64(n),
            FieldRef::I128(n) => Slot::I128(halves(n as u128)),
            FieldRef::U128(n) => Slot::U128(halves(n)),
            FieldRef::F64(n) => Slot::F64(n),
            FieldRef::Bool(b) => Slot::Bool(b),
            FieldRef::Bytes(b) => Slot::Bytes(b.into()),
            FieldRef::Error(e) => self.text_slot(|t| {
                for (link, cause) in crate::error_chain(e).enumerate() {
                    if link > 0 {
                        t.push_str(": ");
                    }
                    let _ = write!(t, "{cause}");
                }
            }),
        }
    }

    /// Writes a text with `write`, then cuts it to the limit.
    fn text_slot(&mut self, write: impl FnOnce(&mut String)) -> Slot {
        let start = self.text.len();
        write(&mut self.text);
        if self.text.len() - start > self.max_value_bytes {
            let cut = cut_point(&self.text[start..], self.max_value_bytes);
            let dropped = self.text.len() - start - cut;
            self.text.truncate(start + cut);
            let _ = write!(self.text, "…[truncated {dropped} bytes]");
        }
        let end = self.text.len();
        // Offsets fit: a record holds few values of at most 1 GiB each.
        Slot::Text(start as u32..end.min(u32::MAX as usize) as u32)
    }

    /// Every field, in recording order. A text (a string, a `Debug` or
    /// `Display` value, or an error with its `source()` chain joined by
    /// `": "`) comes back as [`FieldRef::Str`].
    pub fn iter(&self) -> impl Iterator<Item = (&'static str, FieldRef<'_>)> {
        self.slots
            .iter()
            .map(|(name, slot)| (*name, self.view(slot)))
    }

    /// The value of the field `name`, if it was recorded.
    pub fn get(&self, name: &str) -> Option<FieldRef<'_>> {
        self.slots
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, slot)| self.view(slot))
    }

    fn view<'a>(&'a self, slot: &'a Slot) -> FieldRef<'a> {
        match slot {
            Slot::Text(r) => FieldRef::Str(
                self.text
                    .get(r.start as usize..r.end as usize)
                    .unwrap_or_default(),
            ),
            Slot::Bytes(b) => FieldRef::Bytes(b),
            Slot::I64(n) => FieldRef::I64(*n),
            Slot::U64(n) => FieldRef::U64(*n),
            Slot::I128(h) => FieldRef::I128(whole(*h) as i128),
            Slot::U128(h) => FieldRef::U128(whole(*h)),
            Slot::F64(n) => FieldRef::F64(*n),
            Slot::Bool(b) => FieldRef::Bool(*b),
        }
    }
}

fn halves(n: u128) -> [u64; 2] {
    [(n >> 64) as u64, n as u64]
}

fn whole([high, low]: [u64; 2]) -> u128 {
    (u128::from(high) << 64) | u128::from(low)
}

/// Where to cut `text` to at most `max` bytes: after the last whitespace or
/// punctuation before `max` (on a character boundary), so that no token is
/// split; at `max`'s character boundary if there is none.
fn cut_point(text: &str, max: usize) -> usize {
    let mut at = max.min(text.len());
    while !text.is_char_boundary(at) {
        at -= 1;
    }
    text[..at]
        .rfind(|c: char| c.is_whitespace() || matches!(c, ',' | ';' | '&' | '|'))
        .map_or(at, |i| i + 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The fields as `name: Debug` strings, to compare.
    fn shown(fields: &CapturedFields) -> Vec<String> {
        fields.iter().map(|(n, v)| format!("{n}: {v:?}")).collect()
    }

    fn text(fields: &CapturedFields) -> &str {
        match fields.iter().next() {
            Some((_, FieldRef::Str(t))) => t,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn values_keep_their_types_and_later_records_replace_earlier_ones() {
        let mut fields = CapturedFields::new();
        fields.push("user", FieldRef::Str("ada"));
        fields.push("n", FieldRef::U64(1));
        fields.push("dbg", FieldRef::Debug(&vec![1, 2]));
        fields.set("n", FieldRef::U64(2));
        fields.set("late", FieldRef::Bool(true));
        fields.set_owned("user", &FieldValue::Str("[REDACTED:EMAIL]".into()));
        assert_eq!(
            shown(&fields),
            [
                r#"user: Str("[REDACTED:EMAIL]")"#,
                "n: U64(2)",
                r#"dbg: Str("[1, 2]")"#,
                "late: Bool(true)",
            ]
        );
        fields.clear();
        assert_eq!(fields.len(), 0);
        assert!(fields.text.capacity() > 0, "a small buffer is kept");
    }

    #[test]
    fn recording_a_field_again_and_again_keeps_the_buffer_bounded() {
        let mut fields = CapturedFields::new();
        fields.push("stage", FieldRef::Str("start"));
        fields.push("other", FieldRef::Str("x"));
        for i in 0..100_000 {
            let text = format!("step {i} of a long-running job, with some padding text");
            fields.set("stage", FieldRef::Str(&text));
            // Interleave another field, so the replaced text is not always last.
            if i % 3 == 0 {
                fields.set("other", FieldRef::Debug(&i));
            }
        }
        assert!(
            fields.text.len() < 3 * KEEP_TEXT_CAPACITY,
            "{}",
            fields.text.len()
        );
        assert_eq!(
            shown(&fields),
            [
                r#"stage: Str("step 99999 of a long-running job, with some padding text")"#,
                r#"other: Str("99999")"#,
            ]
        );
    }

    #[test]
    fn wide_integers_keep_every_bit() {
        let mut fields = CapturedFields::new();
        fields.push("i", FieldRef::I128(i128::MIN + 7));
        fields.push("u", FieldRef::U128(u128::MAX - 3));
        assert!(matches!(fields.get("i"), Some(FieldRef::I128(n)) if n == i128::MIN + 7));
        assert!(matches!(fields.get("u"), Some(FieldRef::U128(n)) if n == u128::MAX - 3));
        assert_eq!(std::mem::size_of::<Slot>(), 24);
    }

    #[test]
    fn bytes_are_kept_as_they_are() {
        let mut fields = CapturedFields::new();
        fields.push("raw", FieldRef::Bytes(&[0xff, 0x00, b'a']));
        assert!(matches!(
            fields.get("raw"),
            Some(FieldRef::Bytes([0xff, 0x00, b'a']))
        ));
        assert!(fields.get("missing").is_none());
    }

    #[test]
    fn owned_values_read_as_their_borrowed_view() {
        use crate::{DebugText, ErrorChain};
        let mut fields = CapturedFields::new();
        fields.set_owned("d", &FieldValue::Debug(DebugText::from("Point { x: 1 }")));
        let chain = ErrorChain::from_messages(["top".to_owned(), "root".to_owned()]).unwrap();
        fields.set_owned("e", &FieldValue::Error(chain));
        assert_eq!(
            shown(&fields),
            [r#"d: Str("Point { x: 1 }")"#, r#"e: Str("top: root")"#]
        );
    }

    #[test]
    fn errors_keep_their_chain() {
        let outer = warden_test_support::chained(["write failed", "disk full"]);
        let mut fields = CapturedFields::new();
        fields.push("error", FieldRef::Error(&outer));
        assert_eq!(text(&fields), "write failed: disk full");
    }

    #[test]
    fn a_cyclic_chain_ends() {
        let mut fields = CapturedFields::new();
        fields.push(
            "error",
            FieldRef::Error(&warden_test_support::Cyclic("again")),
        );
        let expected = vec!["again"; crate::MAX_ERROR_CHAIN].join(": ");
        assert_eq!(text(&fields), expected);
    }

    #[test]
    fn huge_values_are_cut_between_tokens_and_marked() {
        let word = "ab ";
        let huge = word.repeat(10 * 1024 * 1024 / word.len());
        let mut fields = CapturedFields::new();
        fields.push("blob", FieldRef::Str(&huge));
        let kept = text(&fields);
        assert!(kept.len() < MAX_VALUE_BYTES + 40, "{}", kept.len());
        let (body, marker) = kept.split_once('…').unwrap();
        assert!(body.ends_with(' '), "cut after a space");
        assert!(marker.starts_with("[truncated "), "{marker}");
        fields.clear();
        assert_eq!(fields.text.capacity(), 0, "a big buffer is not kept");
        // Multi-byte text with no boundary is cut on a character boundary.
        let mut fields = CapturedFields::new();
        fields.push("blob", FieldRef::Str(&"é".repeat(MAX_VALUE_BYTES)));
        assert!(text(&fields).contains("[truncated"));
    }
}
