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
//! | [`ops`] | this crate | `/metrics` (Prometheus, OpenMetrics), `/healthz`, `/readyz`, `/alerts` |
//! | [`core`] | `warden-core` | field visiting, span extension types and `SpanParts` (layers as one) |
//!
//! Each layer is a feature, all on by default. A service that wants only
//! the PII gate takes `warden = { version = "0.1", default-features = false,
//! features = ["pii"] }` and gets warden-pii's small dependency tree, with
//! no SQLite, gRPC or HTTP client.
//!
//! `init` assembles the recommended stack in one call (and
//! `Warden::builder` returns a `WardenBuilder` to change each part; they
//! need every layer); or compose the layers yourself:
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

#![cfg_attr(docsrs, feature(doc_cfg))]

#[cfg(feature = "audit")]
#[cfg_attr(docsrs, doc(cfg(feature = "audit")))]
pub use warden_audit as audit;
pub use warden_core as core;
#[cfg(feature = "correlation")]
#[cfg_attr(docsrs, doc(cfg(feature = "correlation")))]
pub use warden_correlation as correlation;
#[cfg(feature = "json")]
#[cfg_attr(docsrs, doc(cfg(feature = "json")))]
pub use warden_json as json;
#[cfg(feature = "metrics")]
#[cfg_attr(docsrs, doc(cfg(feature = "metrics")))]
pub use warden_metrics as metrics;
#[cfg(feature = "otlp")]
#[cfg_attr(docsrs, doc(cfg(feature = "otlp")))]
pub use warden_otlp as otlp;
#[cfg(feature = "pii")]
#[cfg_attr(docsrs, doc(cfg(feature = "pii")))]
pub use warden_pii as pii;

#[cfg(feature = "ops")]
#[cfg_attr(docsrs, doc(cfg(feature = "ops")))]
pub mod ops;

/// The HTTP request layer that goes with [`init`]'s stack: correlation IDs
/// in and out of headers, the request span, and an access line per
/// request at INFO. Give it a route finder for one metrics row per route:
///
/// ```
/// // With axum: .route(|ext| ext.get::<MatchedPath>().map(|p| p.as_str().to_owned()))
/// let requests = warden::request_layer().route(|_ext| Some("/orders/{id}".to_owned()));
/// # drop(requests);
/// ```
#[cfg(feature = "tower")]
#[cfg_attr(docsrs, doc(cfg(feature = "tower")))]
pub fn request_layer() -> warden_correlation::tower::CorrelationIdLayer {
    warden_correlation::tower::CorrelationIdLayer::new().access_log(true)
}

/// Items of the assembled stack, which needs every layer (the features
/// listed once, for the build and for the docs).
macro_rules! with_every_layer {
    (@ $features:meta; $($item:item)*) => {
        $(
            #[cfg($features)]
            #[cfg_attr(docsrs, doc(cfg($features)))]
            $item
        )*
    };
    ($($item:item)*) => {
        with_every_layer! {
            @ all(
                feature = "pii",
                feature = "correlation",
                feature = "json",
                feature = "audit",
                feature = "metrics",
                feature = "otlp"
            );
            $($item)*
        }
    };
}

mod filter;
pub use filter::{FilterChange, FilterError, FilterHandle, StackFilter};
pub mod flood;
pub mod request_lines;
#[cfg(feature = "signal")]
#[cfg_attr(docsrs, doc(cfg(feature = "signal")))]
mod signal;
#[cfg(feature = "signal")]
pub use signal::shutdown_signal;

with_every_layer! {
    mod init;

    pub use init::{
        init, BoxedLayer, Filtered, InitError, Losses, Subscriber, Warden, WardenBuilder,
        WardenGuard, DEFAULT_AUDIT_DB,
    };

    mod shutdown;

    pub use shutdown::{LineCounts, ShutdownReport};
}
