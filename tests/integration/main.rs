//! integration: the integration tests of this crate that share a process
//! (tests that install a global subscriber or change the environment keep
//! binaries of their own).

mod changing_text;
mod client_ids;
mod cyclic_errors;
mod examples;
mod flood;
mod full_stack;
mod init;
mod log_filter;
mod metrics_audit;
mod ops;
mod own_audit_sink;
mod pii_events;
mod pii_spans_otel;
mod request_lines;
mod shutdown;

/// An audit layer with one route, to the SQLite store at `db` keyed with
/// `key`.
fn sqlite_audit(db: &std::path::Path, key: &warden::audit::AuditKey) -> warden::audit::AuditLayer {
    use warden::audit::{AuditLayer, Route, RouteFilter, SqliteSink};
    let sink = SqliteSink::builder(db).key(key.clone()).build().unwrap();
    AuditLayer::builder()
        .route(Route::new("db", RouteFilter::all()).sink(sink))
        .build()
        .unwrap()
}
