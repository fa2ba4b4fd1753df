//! Shared building blocks for the warden layers.
//!
//! Every warden layer reads `tracing` fields, and several of them must hand a
//! modified copy of an event or span on to other layers. This crate holds the
//! pieces they share so that no layer re-implements them:
//!
//! - [`visit_fields`] turns the fields of any [`RecordFields`] (an event, span
//!   attributes, a `Span::record`) into borrowed, typed [`FieldRef`]s, without
//!   copying anything.
//! - [`FieldValue`] is the owned form of a field value, and [`OwnedFields`]
//!   keeps one per field of a callsite and lends them back out as a
//!   [`ValueSet`](tracing_core::field::ValueSet), which is how a layer
//!   re-emits a sanitized copy of an event or span.
//! - [`SanitizedFields`] is the span extension in which the PII layer leaves a
//!   span's sanitized fields for the layers that print or export them.
//! - `internal::lend_original` / `internal::with_original_fields` let the audit layer read
//!   the original identity fields of an audit event the PII gate replaced,
//!   to store them as keyed hashes rather than placeholders.
//! - [`CorrelationId`] is the request ID the correlation layer keeps in span
//!   extensions and the other layers print, store and export.
//!
//! ```
//! use std::sync::{Arc, Mutex};
//! use tracing_subscriber::{layer::{Context, SubscriberExt}, Layer};
//! use warden_core::{visit_fields, FieldRef};
//!
//! /// A layer that keeps the integer fields of every event.
//! #[derive(Clone, Default)]
//! struct Integers(Arc<Mutex<Vec<(String, u64)>>>);
//!
//! impl<S: tracing::Subscriber> Layer<S> for Integers {
//!     fn on_event(&self, event: &tracing::Event<'_>, _: Context<'_, S>) {
//!         visit_fields(event, |field, value| {
//!             if let FieldRef::U64(n) = value {
//!                 self.0.lock().unwrap().push((field.name().to_owned(), n));
//!             }
//!         });
//!     }
//! }
//!
//! let seen = Integers::default();
//! let subscriber = tracing_subscriber::registry().with(seen.clone());
//! tracing::subscriber::with_default(subscriber, || {
//!     tracing::info!(attempts = 3u64, user = "ada", "login");
//! });
//! assert_eq!(*seen.0.lock().unwrap(), vec![("attempts".to_owned(), 3)]);
//! ```

mod ascii;
mod cache;
mod captured;
mod clock;
mod correlation;
mod error_chain;
mod extensions;
mod field_name;
mod flush;
mod logged;
mod original;
mod owned;
mod parts;
mod redispatch;
mod rendered;
mod scratch;
mod span;
mod time;
mod visit;

pub use captured::{CapturedFields, MAX_VALUE_BYTES};
pub use clock::Moment;
pub use correlation::{CorrelationId, InvalidCorrelationId, MAX_CORRELATION_ID_LEN};
pub use error_chain::{ErrorChainIter, MAX_ERROR_CHAIN, error_chain};
pub use extensions::SanitizedFields;
pub use field_name::FieldNameKind;
pub use flush::{FlushError, FlushResult};
pub use owned::{DebugText, ErrorChain, FieldValue, OwnedFields};
pub use parts::{
    BoxedSpanPart, Callbacks, Opening, SpanPart, SpanParts, Unlocked, close_alone, event_alone,
    open_alone,
};
pub use span::{WardenSpan, correlation_id_in};
pub use tracing_subscriber::field::RecordFields;

/// Helpers the warden crates share that are not part of warden's API: a
/// fast per-thread random generator, UUID v7s, RFC 3339 timestamps, and the
/// mark by which a stack's filter tells the log sinks an event is not theirs.
/// They may change in any release; use `uuid`, `rand` or `time` instead.
#[doc(hidden)]
pub mod internal {
    pub use crate::cache::{
        LocalPool, LocalSiteCache, LocalSiteTable, Pool, SiteCache, SiteKey, SiteTable, next_owner,
    };
    pub use crate::clock::{WallAnchor, wall_now, wall_now_since_epoch, wall_since_epoch_at};
    pub use crate::correlation::{new_uuid_v7, new_uuid_v7_at, random_u64, random_u128};
    pub use crate::field_name::cached_field_name_kind;
    pub use crate::logged::{
        Written, event_held, event_logged, forget_marks, mark_event_held, mark_event_logged,
        replayed_at, replaying, sampling_on, sampling_started, written,
    };
    pub use crate::original::{lend_original, with_original_fields};
    pub use crate::redispatch::{dispatching_copy, is_copy};
    pub use crate::rendered::open as open_rendering;
    pub use crate::rendered::{close as close_rendering, has_texts as has_rendered_texts};
    pub use crate::scratch::{with_scratch, with_scratch_pair};
    pub use crate::time::{parse_rfc3339, rfc3339_micros, rfc3339_micros_since_epoch};
    pub use crate::visit::{TextVisitor, visit_fields_with, visit_fields_with_text};
    #[doc(hidden)]
    pub use tracing_core::{Event, span::Attributes, span::Id};
    #[doc(hidden)]
    pub use tracing_subscriber::layer::Context;
}

/// The target of the audit events warden's own emitters log: the
/// `warden-audit` macros, `#[audited]` and warden-metrics' alerts. The
/// audit layer always takes events with this target (or one starting with
/// `audit::`), whatever other target it is configured with.
pub const AUDIT_TARGET: &str = "audit";
pub use visit::{FieldRef, visit_fields};
