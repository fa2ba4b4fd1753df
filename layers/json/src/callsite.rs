//! Each call site's constant texts, written once per thread and layer: an
//! event's level and target members, and the key (`"name":`) of each of its
//! fields, so that a line copies them instead of escaping them again.

use tracing_core::Metadata;
use warden_core::internal::{LocalSiteTable, SiteKey, SiteTable};

use crate::write;

/// One call site's texts, for one layer.
#[derive(Default)]
pub(crate) struct Texts {
    /// The level and target members (`"level":"INFO","target":"app"`),
    /// as the layer's format writes them; empty if it writes neither.
    pub(crate) head: String,
    /// Each field's `"name":`, by index.
    keys: Vec<String>,
}

impl Texts {
    /// The key of the field at `index`.
    pub(crate) fn key(&self, index: usize) -> Option<&str> {
        self.keys.get(index).map(String::as_str)
    }
}

thread_local! {
    static TEXTS: SiteTable<Texts, 64> = const { SiteTable::new() };
}

/// Runs `f` once, with the texts of `meta` for the layer `owner` (written
/// by `head` on this thread's first sight of them), or with `None` when
/// this thread's cache is in use (a value's `Debug` that logs while a line
/// is written finds the entry it needs, or does without).
pub(crate) fn with_texts<R>(
    owner: u64,
    meta: &'static Metadata<'static>,
    head: impl FnOnce(&mut String),
    f: impl FnMut(Option<&Texts>) -> R,
) -> R {
    let site = meta as *const Metadata<'static> as usize;
    let fill = |entry: &mut Texts| {
        entry.head.clear();
        head(&mut entry.head);
        entry.keys.clear();
        entry.keys.extend(meta.fields().iter().map(|field| {
            let mut key = String::new();
            write::key(&mut key, field.name());
            key
        }));
    };
    TEXTS.read_entry(SiteKey::new(owner, site), fill, f)
}

#[cfg(test)]
mod tests {
    use std::cell::Cell;

    use super::*;

    /// The metadata of two call sites with fields.
    fn sites() -> (&'static Metadata<'static>, &'static Metadata<'static>) {
        tracing::subscriber::with_default(tracing_subscriber::registry(), || {
            let a = tracing::info_span!("a", user = 1u64, "odd\"name" = 2u64);
            let b = tracing::info_span!("b", other = 1u64);
            (a.metadata().unwrap(), b.metadata().unwrap())
        })
    }

    #[test]
    fn texts_are_written_once_per_layer_and_call_site_with_escaped_keys() {
        let (a, b) = sites();
        let written = Cell::new(0);
        let head = |out: &mut String| {
            written.set(written.get() + 1);
            out.push_str("\"level\":\"INFO\"");
        };
        let keys = |owner, meta| {
            with_texts(owner, meta, head, |texts| {
                let texts = texts.expect("the cache is free");
                assert_eq!(texts.head, "\"level\":\"INFO\"");
                (0..3)
                    .map(|i| texts.key(i).map(str::to_owned))
                    .collect::<Vec<_>>()
            })
        };
        let expected = vec![
            Some("\"user\":".to_owned()),
            Some("\"odd\\\"name\":".to_owned()),
            None,
        ];
        assert_eq!(keys(1, a), expected);
        assert_eq!(keys(1, a), expected);
        assert_eq!(written.get(), 1);
        keys(2, a);
        keys(1, b);
        assert_eq!(written.get(), 3);
    }

    #[test]
    fn a_nested_line_reads_the_entries_there_are_and_does_without_the_others() {
        let (a, b) = sites();
        with_texts(
            7,
            a,
            |_| {},
            |outer| {
                assert!(outer.is_some());
                // The same entry: read beside the outer line.
                assert!(with_texts(7, a, |_| {}, |inner| inner.is_some()));
                // A missing one cannot be written while the outer line reads.
                assert!(with_texts(7, b, |_| {}, |inner| inner.is_none()));
            },
        );
    }
}
