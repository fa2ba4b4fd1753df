//! What the gate learned of each field, per thread: its name's kind, and
//! the last text it held that the sanitizer found clean, so that a clean
//! value (a message's literal, a method, a route, a status) is not scanned
//! again the next time the same field holds the same text.
//!
//! Only the exact text is remembered, with the field (its call site and
//! index) and the sanitizer that scanned it: the sanitizer's verdict depends
//! on nothing else, so a remembered verdict is the verdict a scan would
//! give. Texts longer than [`MAX_TEXT`] bytes are always scanned.

use tracing_core::field::Field;
use warden_core::internal::{LocalSiteTable, SiteKey, SiteTable};

use crate::FieldNameKind;

/// The longest text remembered.
const MAX_TEXT: usize = 256;

/// What the memo holds for one field (of one call site, under one
/// sanitizer: the entry's key).
#[derive(Default)]
struct Slot {
    kind: Option<FieldNameKind>,
    /// The last clean text, when `has_clean`.
    clean: String,
    has_clean: bool,
}

thread_local! {
    static MEMO: SiteTable<Slot, 64> = const { SiteTable::new() };
}

/// The memo's slot for one field (none when the memo is in use: a value's
/// `Debug` that logs, a detector that logs).
pub(crate) struct FieldMemo<'a> {
    slot: Option<&'a mut Slot>,
}

impl FieldMemo<'_> {
    /// The field name's kind, computed once.
    pub(crate) fn kind(&mut self, compute: impl FnOnce() -> FieldNameKind) -> FieldNameKind {
        match &mut self.slot {
            Some(slot) => *slot.kind.get_or_insert_with(compute),
            None => compute(),
        }
    }

    /// Whether `text` holds something to replace: `scan` decides, unless
    /// the field last held the same text and it was found clean.
    pub(crate) fn is_dirty(&mut self, text: &str, scan: impl FnOnce(&str) -> bool) -> bool {
        let Some(slot) = self.slot.as_deref_mut().filter(|_| text.len() <= MAX_TEXT) else {
            return scan(text);
        };
        if slot.has_clean && slot.clean == text {
            return false;
        }
        let dirty = scan(text);
        if !dirty {
            slot.clean.clear();
            slot.clean.push_str(text);
            slot.has_clean = true;
        }
        dirty
    }
}

/// Runs `f` with what this thread's memo holds for `field` under the
/// sanitizer `owner` (`f` runs once, with an empty memo if this thread's
/// is in use).
pub(crate) fn with_field<R>(owner: u64, field: &Field, f: impl Fn(&mut FieldMemo<'_>) -> R) -> R {
    let site = field.callsite().0 as *const dyn tracing_core::Callsite as *const () as usize;
    let key = SiteKey::field(owner, site, field.index());
    let forget = |slot: &mut Slot| {
        slot.kind = None;
        slot.has_clean = false;
    };
    MEMO.with_entry(key, forget, |slot| f(&mut FieldMemo { slot }))
}

#[cfg(test)]
mod tests {
    use std::cell::Cell;

    use super::*;

    /// Two fields of one call site.
    fn fields() -> (Field, Field) {
        let subscriber = tracing_subscriber::registry();
        tracing::subscriber::with_default(subscriber, || {
            let span = tracing::info_span!("memo", a = 1u64, b = 2u64);
            let fields = span.metadata().expect("enabled").fields();
            (fields.field("a").unwrap(), fields.field("b").unwrap())
        })
    }

    fn is_dirty(owner: u64, field: &Field, text: &str, scans: &Cell<u32>, dirty: bool) -> bool {
        with_field(owner, field, |memo| {
            memo.is_dirty(text, |_| {
                scans.set(scans.get() + 1);
                dirty
            })
        })
    }

    #[test]
    fn only_the_same_clean_text_of_the_same_field_and_sanitizer_skips_the_scan() {
        let (a, b) = fields();
        let scans = Cell::new(0);
        assert!(!is_dirty(1, &a, "GET", &scans, false));
        assert!(!is_dirty(1, &a, "GET", &scans, false));
        assert_eq!(scans.get(), 1, "the same clean text is remembered");
        assert!(!is_dirty(1, &a, "POST", &scans, false));
        assert!(!is_dirty(1, &b, "POST", &scans, false));
        assert!(!is_dirty(2, &a, "POST", &scans, false));
        assert_eq!(
            scans.get(),
            4,
            "another text, field or sanitizer is scanned"
        );
        assert!(is_dirty(1, &a, "ada@example.com", &scans, true));
        assert!(is_dirty(1, &a, "ada@example.com", &scans, true));
        assert_eq!(scans.get(), 6, "a dirty text is never remembered");
        let long = "x".repeat(MAX_TEXT + 1);
        assert!(!is_dirty(1, &a, &long, &scans, false));
        assert!(!is_dirty(1, &a, &long, &scans, false));
        assert_eq!(scans.get(), 8, "a long text is always scanned");
    }

    #[test]
    fn kinds_are_computed_once_per_field_and_sanitizer() {
        let (a, _) = fields();
        let computed = Cell::new(0);
        for owner in [7, 7, 8] {
            let kind = with_field(owner, &a, |memo| {
                memo.kind(|| {
                    computed.set(computed.get() + 1);
                    FieldNameKind::Phone
                })
            });
            assert_eq!(kind, FieldNameKind::Phone);
        }
        assert_eq!(computed.get(), 2);
    }

    #[test]
    fn a_scan_that_logs_finds_the_memo_in_use_and_scans() {
        let (a, _) = fields();
        let scans = Cell::new(0);
        let nested = with_field(1, &a, |_| is_dirty(1, &a, "inner", &scans, true));
        assert!(nested);
        assert_eq!(scans.get(), 1);
    }
}
