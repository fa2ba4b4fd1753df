//! Shadow callsites: the metadata of a sanitized copy that carries the
//! redaction summary fields besides the original's.

use std::sync::OnceLock;

use tracing_core::Metadata;
use tracing_core::callsite::{Callsite, Identifier};
use tracing_core::metadata::Kind;
use tracing_core::subscriber::Interest;

/// The names of the fields [`PiiLayer::with_redaction_summary`] adds.
pub(super) const SUMMARY_FIELDS: [&str; 2] = ["redaction.count", "redaction.kinds"];

/// The callsite of a sanitized copy that carries summary fields: the
/// original's name, target, level and location, and its fields plus
/// [`SUMMARY_FIELDS`]. One is made (and leaked) per original callsite.
struct ShadowCallsite {
    original: &'static Metadata<'static>,
    metadata: OnceLock<Metadata<'static>>,
}

impl Callsite for ShadowCallsite {
    fn set_interest(&self, _interest: Interest) {}

    fn metadata(&self) -> &Metadata<'_> {
        self.metadata.get().unwrap_or(self.original)
    }
}

pub(super) fn make_shadow(original: &'static Metadata<'static>) -> &'static Metadata<'static> {
    let names: Vec<&'static str> = original
        .fields()
        .iter()
        .map(|f| f.name())
        .chain(SUMMARY_FIELDS)
        .collect();
    let names: &'static [&'static str] = Box::leak(names.into_boxed_slice());
    let callsite: &'static ShadowCallsite = Box::leak(Box::new(ShadowCallsite {
        original,
        metadata: OnceLock::new(),
    }));
    let metadata = Metadata::new(
        original.name(),
        original.target(),
        *original.level(),
        original.file(),
        original.line(),
        original.module_path(),
        tracing_core::field::FieldSet::new(names, Identifier(callsite)),
        Kind::EVENT,
    );
    let _ = callsite.metadata.set(metadata);
    callsite.metadata.get().unwrap_or(original)
}
