//! A JSON event format for `tracing-subscriber`'s `fmt` layer, made to be
//! read by machines and to cost little.
//!
//! [`Json`] is a [`FormatEvent`](tracing_subscriber::fmt::FormatEvent), so
//! `fmt`'s writers, `EnvFilter` and `tracing-appender`'s non-blocking writer
//! work as they do with `fmt::layer().json()`. [`JsonFields`] serializes a
//! span's fields once, when the span records them, and `Json` copies that
//! text into each line rather than re-parsing it. [`layer`] puts the two
//! together.
//!
//! Each line carries the event's correlation ID when a
//! `warden_correlation::CorrelationLayer` is in the stack, and the span
//! fields the `warden_pii::PiiLayer` sanitized in place of the raw ones.
//!
//! ```
//! use tracing_subscriber::prelude::*;
//!
//! let subscriber = tracing_subscriber::registry()
//!     .with(warden_json::layer().with_writer(std::io::sink));
//! tracing::subscriber::with_default(subscriber, || {
//!     let span = tracing::info_span!("checkout", order = 42u64);
//!     let _entered = span.enter();
//!     tracing::info!(amount = 9.5, "charged");
//! });
//! ```
#![cfg_attr(docsrs, feature(doc_cfg))]

mod callsite;
mod fields;
mod format;
mod layer;
mod names;
mod non_blocking;
mod write;

pub use fields::JsonFields;
pub use format::Json;
pub use layer::JsonLayer;
pub use names::FieldNames;
pub use non_blocking::{LineWriter, NonBlocking, NonBlockingGuard};

use tracing_core::Subscriber;
use tracing_subscriber::registry::LookupSpan;

/// `fmt::layer()` with [`JsonFields`] and [`Json`], writing to stdout;
/// configure it further as any `fmt` layer (`.with_writer(..)`,
/// `.with_filter(..)`, `.map_event_format(|json| json.with_span_list(false))`).
///
/// `fmt` lets span events be chosen only while its event format is its own,
/// so for span-close lines (with `duration_ms`) build the layer in this
/// order instead:
///
/// ```
/// use tracing_subscriber::fmt::{self, format::FmtSpan};
/// use tracing_subscriber::prelude::*;
/// use warden_json::{Json, JsonFields};
///
/// let layer = fmt::layer()
///     .with_span_events(FmtSpan::CLOSE)
///     .fmt_fields(JsonFields::default())
///     .event_format(Json::default());
/// let subscriber = tracing_subscriber::registry().with(layer.with_writer(std::io::sink));
/// # let _ = subscriber;
/// ```
pub fn layer<S>() -> tracing_subscriber::fmt::Layer<S, JsonFields, Json>
where
    S: Subscriber + for<'a> LookupSpan<'a>,
{
    tracing_subscriber::fmt::layer()
        .fmt_fields(JsonFields::default())
        .event_format(Json::default())
}
