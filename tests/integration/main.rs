//! integration: the integration tests of this crate that share a process
//! (tests that install a global subscriber or change the environment keep
//! binaries of their own).

mod changing_text;
mod client_ids;
mod cyclic_errors;
mod examples;
mod full_stack;
mod init;
mod log_filter;
mod metrics_audit;
mod ops;
mod own_audit_sink;
mod pii_events;
mod pii_spans_otel;
