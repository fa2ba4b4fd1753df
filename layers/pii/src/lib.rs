//! A PII gate for `tracing`: emails, phone numbers, SSNs, card numbers, IP
//! and MAC addresses, IBANs, passport numbers, tokens and secrets never
//! reach a sink in clear.
//!
//! Two pieces:
//!
//! - [`Sanitizer`] finds sensitive values in text, with the validation the
//!   best detectors use (Luhn and issuer ranges for cards, mod-97 for
//!   IBANs, calling codes for phone numbers, SSA rules for SSNs), the
//!   token boundaries and context words a person reads a line by (a
//!   timestamp's digits are no phone number; `call me on 206 5550143`
//!   is one), and
//!   replaces them by [`Strategy`]: a typed placeholder, a mask that keeps
//!   the last four characters, or a keyed hash that stays joinable.
//! - [`PiiLayer`] is a `tracing-subscriber` layer that lets no layer of the
//!   subscriber see an event with a raw value, and
//!   [`PiiLayer::wrap`] gives any layer sanitized span fields.
//!
//! ```
//! use tracing_subscriber::prelude::*;
//! use warden_pii::PiiLayer;
//!
//! let subscriber = tracing_subscriber::registry()
//!     .with(PiiLayer::default())
//!     .with(tracing_subscriber::fmt::layer().json().with_writer(std::io::sink));
//! tracing::subscriber::with_default(subscriber, || {
//!     // Every layer sees `user="[REDACTED:EMAIL]"`.
//!     tracing::info!(user = "ada@example.com", "signed in");
//! });
//! ```
#![deny(missing_docs)]
#![deny(unsafe_code)]

mod detect;
mod kind;
mod layer;
mod national_id;
mod sanitizer;
mod stats;
mod strategy;

pub use detect::DEFAULT_SECRET_KEYS;
pub use kind::{PiiKind, UnknownKind};
pub use layer::{PiiLayer, Sanitized};
pub use national_id::{NationalIdScheme, UnknownScheme};
pub use sanitizer::{
    BuildError, CustomDetector, Finding, HMAC_KEY_ENV, PatternError, Sanitizer, SanitizerBuilder,
    Validator,
};
pub use stats::RedactionCounts;
pub use strategy::{Strategy, UnknownStrategy};
pub use warden_core::FieldNameKind;
