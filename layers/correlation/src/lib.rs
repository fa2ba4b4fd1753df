//! Correlation IDs for `tracing`: every span carries the ID of the request
//! it belongs to, and so does every event inside it.
//!
//! [`CorrelationLayer`] gives each root span an ID when it is created —
//! the value of its `correlation_id` field if it has one (how an incoming
//! request's header enters), else a fresh time-ordered UUID v7 — and every
//! child span the ID of its parent. The ID lives in the span's extensions,
//! so finding it for an event is one lookup, with no walk up the tree.
//! [`CorrelationId::current`] returns it from anywhere inside the span: any
//! thread the span is entered on, `.instrument(span)` futures, tasks
//! spawned with `.in_current_span()`.
//!
//! Features:
//! - `http`: [`http::HeaderPropagation`] reads an incoming request's ID
//!   from `x-correlation-id`, `x-request-id` or `traceparent`, and writes
//!   it into outgoing headers.
//! - `tower`: [`tower::CorrelationIdLayer`] runs each request of an
//!   axum/hyper/tonic service in a span carrying its ID, and returns the ID
//!   in the response.
//! - `opentelemetry`: [`CorrelationLayer::use_otel_trace_id`] makes the
//!   OpenTelemetry trace id the correlation ID of root spans.
//!
//! ```
//! use tracing_subscriber::prelude::*;
//! use warden_correlation::{CorrelationId, CorrelationLayer};
//!
//! let subscriber = tracing_subscriber::registry().with(CorrelationLayer::default());
//! tracing::subscriber::with_default(subscriber, || {
//!     let request = tracing::info_span!("request", correlation_id = "req-7f3a");
//!     let _entered = request.enter();
//!     let child = tracing::info_span!("db_query");
//!     let _child = child.enter();
//!     assert_eq!(warden_correlation::CorrelationId::current().unwrap().to_string(), "req-7f3a");
//! });
//! ```
#![cfg_attr(docsrs, feature(doc_cfg))]

mod current;
#[cfg(feature = "http")]
#[cfg_attr(docsrs, doc(cfg(feature = "http")))]
pub mod http;
mod layer;
#[cfg(feature = "tower")]
#[cfg_attr(docsrs, doc(cfg(feature = "tower")))]
pub mod tower;

pub use current::CorrelationIdExt;
pub use layer::CorrelationLayer;
pub use warden_core::{CorrelationId, InvalidCorrelationId};
