//! Latency metrics from `tracing` spans.
//!
//! [`LatencyHistogram`] is the quantile sketch: base-2 exponential buckets
//! (OpenTelemetry's layout at scale 6), within 1% relative error on any
//! quantile from 1 µs to 1 hour, bounded memory, exact merges.
#![deny(missing_docs)]
#![deny(unsafe_code)]

mod histogram;

pub use histogram::{LatencyHistogram, SCALE};
