//! correlation: the integration tests of this crate that share a process
//! (the concurrency test installs a global subscriber and keeps a binary of
//! its own).

#[path = "../common/mod.rs"]
mod common;
mod correlation;
mod http_propagation;
mod otel_trace_id;
