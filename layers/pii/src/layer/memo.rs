//! What the gate learned of each field, per thread: its name's kind, and
//! the last text it held that the sanitizer found clean, so that a clean
//! value (a message's literal, a method, a route, a status) is not scanned
//! again the next time the same field holds the same text.
//!
//! Only the exact text is remembered, with the field (its call site and
//! index) and the sanitizer that scanned it: the sanitizer's verdict depends
//! on nothing else, so a remembered verdict is the verdict a scan would
//! give. Texts longer than [`MAX_TEXT`] bytes are always scanned.

use tracing_core::field::FieldSet;
use warden_core::internal::{LocalSiteTable, SiteKey, SiteTable};

use crate::FieldNameKind;

/// The longest text remembered.
const MAX_TEXT: usize = 256;

/// What the memo holds for one field (of one call site, under one
/// sanitizer).
struct Slot {
    kind: FieldNameKind,
    /// The last clean text, when `has_clean`.
    clean: String,
    has_clean: bool,
}

/// What the memo holds for one call site under one sanitizer (the entry's
/// key): a slot per field, by index, each with its name's kind, read when
/// the entry is made. Looked up once per record, not once per field.
#[derive(Default)]
struct Site {
    fields: Vec<Slot>,
    /// Bit `i`: field `i`'s name says nothing (its kind is `Plain`).
    plain: u64,
}

thread_local! {
    static MEMO: SiteTable<Site, 64> = const { SiteTable::new() };
}

/// The memo's entry for the call site of the record being read (none when
/// the memo is in use: a value's `Debug` that logs, a detector that logs).
pub(crate) struct SiteMemo<'a> {
    site: Option<&'a mut Site>,
}

impl SiteMemo<'_> {
    /// Whether the name of the field at `index` is known to say nothing
    /// (`false` when it is not known: no memo, or past the 64th field).
    #[inline]
    pub(crate) fn is_plain(&self, index: usize) -> bool {
        let plain = self.site.as_deref().map_or(0, |site| site.plain);
        index < 64 && plain & (1 << index) != 0
    }

    /// Whether the field at `index` last held `text`, found clean
    /// ([`FieldMemo::is_dirty`] would say `false` without a scan).
    #[inline]
    pub(crate) fn remembers_clean(&self, index: usize, text: &str) -> bool {
        let slot = self.site.as_deref().and_then(|site| site.fields.get(index));
        slot.is_some_and(|slot| slot.has_clean && slot.clean == text)
    }

    /// The slot of the field at `index`.
    #[inline]
    pub(crate) fn field(&mut self, index: usize) -> FieldMemo<'_> {
        FieldMemo {
            slot: self
                .site
                .as_deref_mut()
                .and_then(|site| site.fields.get_mut(index)),
        }
    }
}

/// The memo's slot for one field (none when the memo is in use).
pub(crate) struct FieldMemo<'a> {
    slot: Option<&'a mut Slot>,
}

impl FieldMemo<'_> {
    /// The field name's kind: read when the site's entry was made, or
    /// `compute`d now without a memo.
    #[inline]
    pub(crate) fn kind(&self, compute: impl FnOnce() -> FieldNameKind) -> FieldNameKind {
        match &self.slot {
            Some(slot) => slot.kind,
            None => compute(),
        }
    }

    /// Whether `text` holds something to replace: `scan` decides, unless
    /// the field last held the same text and it was found clean.
    #[inline]
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

/// Runs `f` with what this thread's memo holds for the call site whose
/// fields are `fields`, under the sanitizer `owner` (`f` runs once, with
/// an empty memo if this thread's is in use). `kind` tells a field name's
/// kind, read once per field when the site's entry is made.
#[inline]
pub(crate) fn with_site<R>(
    owner: u64,
    fields: &FieldSet,
    kind: impl Fn(&'static str) -> FieldNameKind,
    mut f: impl FnMut(&mut SiteMemo<'_>) -> R,
) -> R {
    // A site with no fields has nothing to remember: any key will do.
    let site = fields.iter().next().map_or(0, |field| {
        field.callsite().0 as *const dyn tracing_core::Callsite as *const () as usize
    });
    let key = SiteKey::new(owner, site);
    let fill = |site: &mut Site| {
        site.plain = 0;
        site.fields.truncate(fields.len());
        for (i, field) in fields.iter().enumerate() {
            let kind = kind(field.name());
            if kind == FieldNameKind::Plain && i < 64 {
                site.plain |= 1 << i;
            }
            match site.fields.get_mut(i) {
                Some(slot) => {
                    slot.kind = kind;
                    slot.has_clean = false;
                }
                None => site.fields.push(Slot {
                    kind,
                    clean: String::new(),
                    has_clean: false,
                }),
            }
        }
    };
    MEMO.with_entry(key, fill, |site| f(&mut SiteMemo { site }))
}

#[cfg(test)]
mod tests {
    use std::cell::Cell;

    use tracing_core::field::Field;

    use super::*;

    /// A field of a call site, with the site's fields.
    struct Of(&'static FieldSet, Field);

    /// Two fields of one call site.
    fn fields() -> (Of, Of) {
        let subscriber = tracing_subscriber::registry();
        tracing::subscriber::with_default(subscriber, || {
            let span = tracing::info_span!("memo", a = 1u64, b = 2u64);
            let fields = span.metadata().expect("enabled").fields();
            (
                Of(fields, fields.field("a").unwrap()),
                Of(fields, fields.field("b").unwrap()),
            )
        })
    }

    /// [`with_site`] for one field.
    fn with_field<R>(owner: u64, field: &Of, mut f: impl FnMut(&mut FieldMemo<'_>) -> R) -> R {
        let plain = |_: &'static str| FieldNameKind::Plain;
        with_site(owner, field.0, plain, |site| {
            f(&mut site.field(field.1.index()))
        })
    }

    fn is_dirty(owner: u64, field: &Of, text: &str, scans: &Cell<u32>, dirty: bool) -> bool {
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
    fn kinds_are_read_once_per_site_and_sanitizer() {
        let (a, b) = fields();
        let computed = Cell::new(0);
        let kind = |name: &'static str| {
            computed.set(computed.get() + 1);
            match name {
                "a" => FieldNameKind::Phone,
                _ => FieldNameKind::Plain,
            }
        };
        for owner in [7, 7, 8] {
            with_site(owner, a.0, kind, |site| {
                let read = site.field(a.1.index()).kind(|| unreachable!("read before"));
                assert_eq!(read, FieldNameKind::Phone);
                assert!(!site.is_plain(a.1.index()));
                assert!(site.is_plain(b.1.index()));
            });
        }
        assert_eq!(computed.get(), 4, "two fields, read for two sanitizers");
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
