//! Warden: composable `tracing-subscriber` layers that make a service's
//! telemetry safe and useful by default.
//!
//! Each layer lives in its own crate and works alone, beside layers warden
//! did not write; this crate re-exports them under one name.
//!
//! | module | crate | what it does |
//! |---|---|---|
//! | [`pii`] | `warden-pii` | keeps emails, phone numbers, card numbers, secrets… out of every sink |
//! | [`correlation`] | `warden-correlation` | gives every span and event its request's correlation ID |
//! | [`json`] | `warden-json` | a JSON event format for `fmt`: typed fields, span fields serialized once, correlation IDs |
//! | [`audit`] | `warden-audit` | routes audit events to tamper-evident SQLite/JSONL stores; `#[audited]` |
//! | [`metrics`] | `warden-metrics` | per-operation counts, errors and p50/p95/p99 from spans; alert rules |
//! | [`otlp`] | `warden-otlp` | spans, events, audit records and metrics to any OpenTelemetry collector |
//! | [`core`] | `warden-core` | field visiting and span extension types the layers share |
//!
//! [`init`] assembles the recommended stack in one call (and
//! [`Warden::builder`] returns a [`WardenBuilder`] to change each part); or compose the layers
//! yourself:
//!
//! ```
//! use tracing_subscriber::prelude::*;
//!
//! let subscriber = tracing_subscriber::registry()
//!     .with(warden::pii::PiiLayer::default())
//!     .with(warden::json::layer().with_writer(std::io::sink));
//! tracing::subscriber::with_default(subscriber, || {
//!     tracing::info!(user = "ada@example.com", "signed in");
//! });
//! ```

pub use warden_audit as audit;
pub use warden_core as core;
pub use warden_correlation as correlation;
pub use warden_json as json;
pub use warden_metrics as metrics;
pub use warden_otlp as otlp;
pub use warden_pii as pii;

mod init;

pub use init::{
    init, BoxedLayer, Filtered, InitError, Subscriber, Warden, WardenBuilder, WardenGuard,
    DEFAULT_AUDIT_DB,
};
