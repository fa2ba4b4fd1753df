//! `Fields`: a span's or event's field values, with every text in one
//! buffer, so that capturing fields allocates nothing once a recycled
//! record's buffer has grown, and nothing is freed field by field on the
//! export thread.

use std::fmt::Write as _;
use std::ops::Range;

use smallvec::SmallVec;
use warden_core::{FieldRef, FieldValue};

/// The most bytes of one text value kept. Longer values are cut at a
/// whitespace or punctuation boundary before the limit (so no token is
/// split) and marked; the export thread sanitizes what is kept.
pub const MAX_VALUE_BYTES: usize = 64 * 1024;

/// Buffers larger than this are not kept when a record is recycled.
const KEEP_TEXT_CAPACITY: usize = 4 * 1024;

/// One value; a text is a range of the buffer.
#[derive(Clone, Debug, PartialEq)]
enum Slot {
    Text(Range<u32>),
    I64(i64),
    U64(u64),
    I128(i128),
    U128(u128),
    F64(f64),
    Bool(bool),
}

/// Field values in recording order; a field recorded again replaces its
/// value.
#[derive(Debug, Default)]
pub(crate) struct Fields {
    slots: SmallVec<[(&'static str, Slot); 4]>,
    text: String,
}

impl Fields {
    pub(crate) fn new() -> Self {
        Self::default()
    }

    pub(crate) fn len(&self) -> usize {
        self.slots.len()
    }

    /// Empties it, keeping a small buffer for the next record.
    pub(crate) fn clear(&mut self) {
        self.slots.clear();
        if self.text.capacity() > KEEP_TEXT_CAPACITY {
            self.text = String::new();
        } else {
            self.text.clear();
        }
    }

    /// Appends a value (of a field not recorded yet).
    pub(crate) fn push(&mut self, name: &'static str, value: FieldRef<'_>) {
        let slot = self.slot_of(value);
        self.slots.push((name, slot));
    }

    /// Sets a field, replacing an earlier value.
    pub(crate) fn set(&mut self, name: &'static str, value: FieldRef<'_>) {
        self.release(name);
        let slot = self.slot_of(value);
        self.put(name, slot);
    }

    /// Sets a field from an owned value (a sanitized one the PII layer left).
    pub(crate) fn set_owned(&mut self, name: &'static str, value: &FieldValue) {
        self.release(name);
        let slot = match value {
            FieldValue::Str(s) | FieldValue::Debug(s) => self.text_slot(|t| t.push_str(s)),
            FieldValue::I64(n) => Slot::I64(*n),
            FieldValue::U64(n) => Slot::U64(*n),
            FieldValue::I128(n) => Slot::I128(*n),
            FieldValue::U128(n) => Slot::U128(*n),
            FieldValue::F64(n) => Slot::F64(*n),
            FieldValue::Bool(b) => Slot::Bool(*b),
            FieldValue::Bytes(b) => self.text_slot(|t| t.push_str(&String::from_utf8_lossy(b))),
            FieldValue::Error(chain) => self.text_slot(|t| {
                for (i, message) in chain.messages().enumerate() {
                    if i > 0 {
                        t.push_str(": ");
                    }
                    t.push_str(message);
                }
            }),
        };
        self.put(name, slot);
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
            FieldRef::I128(n) => Slot::I128(n),
            FieldRef::U128(n) => Slot::U128(n),
            FieldRef::F64(n) => Slot::F64(n),
            FieldRef::Bool(b) => Slot::Bool(b),
            FieldRef::Bytes(b) => self.text_slot(|t| t.push_str(&String::from_utf8_lossy(b))),
            FieldRef::Error(e) => self.text_slot(|t| {
                for (link, cause) in warden_core::error_chain(e).enumerate() {
                    if link > 0 {
                        t.push_str(": ");
                    }
                    let _ = write!(t, "{cause}");
                }
            }),
        }
    }

    /// Writes a text with `write`, then cuts it to [`MAX_VALUE_BYTES`].
    fn text_slot(&mut self, write: impl FnOnce(&mut String)) -> Slot {
        let start = self.text.len();
        write(&mut self.text);
        if self.text.len() - start > MAX_VALUE_BYTES {
            let cut = cut_point(&self.text[start..], MAX_VALUE_BYTES);
            let dropped = self.text.len() - start - cut;
            self.text.truncate(start + cut);
            let _ = write!(self.text, "…[truncated {dropped} bytes]");
        }
        let end = self.text.len();
        // Offsets fit: a record holds few values of at most 64 KiB each.
        Slot::Text(start as u32..end.min(u32::MAX as usize) as u32)
    }

    /// Every field, in recording order. A text (a string, a `Debug` or
    /// `Display` value, bytes read lossily, or an error with its `source()`
    /// chain joined by `": "`) comes back as [`FieldRef::Str`].
    pub(crate) fn iter(&self) -> impl Iterator<Item = (&'static str, FieldRef<'_>)> {
        self.slots.iter().map(|(name, slot)| {
            let view = match slot {
                Slot::Text(r) => FieldRef::Str(
                    self.text
                        .get(r.start as usize..r.end as usize)
                        .unwrap_or_default(),
                ),
                Slot::I64(n) => FieldRef::I64(*n),
                Slot::U64(n) => FieldRef::U64(*n),
                Slot::I128(n) => FieldRef::I128(*n),
                Slot::U128(n) => FieldRef::U128(*n),
                Slot::F64(n) => FieldRef::F64(*n),
                Slot::Bool(b) => FieldRef::Bool(*b),
            };
            (*name, view)
        })
    }
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
    fn shown(fields: &Fields) -> Vec<String> {
        fields.iter().map(|(n, v)| format!("{n}: {v:?}")).collect()
    }

    fn text(fields: &Fields) -> &str {
        match fields.iter().next() {
            Some((_, FieldRef::Str(t))) => t,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn values_keep_their_types_and_later_records_replace_earlier_ones() {
        let mut fields = Fields::new();
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
        let mut fields = Fields::new();
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
    fn errors_keep_their_chain() {
        let outer = warden_test_support::chained(["write failed", "disk full"]);
        let mut fields = Fields::new();
        fields.push("error", FieldRef::Error(&outer));
        assert_eq!(text(&fields), "write failed: disk full");
    }

    #[test]
    fn a_cyclic_chain_ends() {
        let mut fields = Fields::new();
        fields.push(
            "error",
            FieldRef::Error(&warden_test_support::Cyclic("again")),
        );
        let expected = vec!["again"; warden_core::MAX_ERROR_CHAIN].join(": ");
        assert_eq!(text(&fields), expected);
    }

    #[test]
    fn huge_values_are_cut_between_tokens_and_marked() {
        let word = "ab ";
        let huge = word.repeat(10 * 1024 * 1024 / word.len());
        let mut fields = Fields::new();
        fields.push("blob", FieldRef::Str(&huge));
        let kept = text(&fields);
        assert!(kept.len() < MAX_VALUE_BYTES + 40, "{}", kept.len());
        let (body, marker) = kept.split_once('…').unwrap();
        assert!(body.ends_with(' '), "cut after a space");
        assert!(marker.starts_with("[truncated "), "{marker}");
        fields.clear();
        assert_eq!(fields.text.capacity(), 0, "a big buffer is not kept");
        // Multi-byte text with no boundary is cut on a character boundary.
        let mut fields = Fields::new();
        fields.push("blob", FieldRef::Str(&"é".repeat(MAX_VALUE_BYTES)));
        assert!(text(&fields).contains("[truncated"));
    }
}
