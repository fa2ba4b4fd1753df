//! Latency metrics from `tracing` spans: per-operation counts, errors,
//! in-flight gauges and p50/p90/p95/p99, over one-minute, five-minute or
//! whole-run windows.
//!
//! - [`LatencyHistogram`] is the quantile sketch: base-2 exponential
//!   buckets (OpenTelemetry's layout at scale 6), within 1% relative error
//!   on any quantile from 1 µs to 1 hour, bounded memory, exact merges.
//! - [`MetricsLayer`] records every span into it, per operation, without
//!   a global lock; [`MetricsLayer::snapshot`] reads a [`Snapshot`].
//! - [`Alerts`] evaluates [`Rule`]s (p95 above a threshold for N periods,
//!   error rate, availability, custom) and fires and resolves them, with
//!   callbacks and an `ALERT` audit event per transition.
//! - [`PrometheusEncoder`] writes them in Prometheus' text format or
//!   OpenMetrics, for a `/metrics` endpoint.

mod alert;
mod histogram;
mod layer;
mod prometheus;
mod recorder;
mod snapshot;

pub use alert::{
    AlertState, AlertStatus, Alerts, AlertsHandle, AlertsView, CustomRule, LatencyRule, RatioRule,
    Rule, Severity, Transition, TransitionKind,
};
pub use histogram::{LatencyHistogram, SCALE};
pub use layer::{MetricsLayer, MetricsLayerBuilder, Timing};
pub use prometheus::{DEFAULT_BUCKETS, ExpositionFormat, PrometheusEncoder};
pub use recorder::OVERFLOW;
pub use snapshot::{OperationSnapshot, Snapshot, Window};
