//! The audit router as an [`OpsSource`]: its counters per route, and
//! `/readyz` fails while a route's sinks have failed for longer than a
//! grace.

use std::time::{Duration, SystemTime};

use warden_audit::AuditLayer;
use warden_metrics::{ExpositionFormat, PrometheusEncoder};

use super::readiness::age;
use super::{Check, OpsSource};

/// The router and how long its sinks may fail before `/readyz` says so.
#[derive(Debug)]
pub(super) struct AuditSource {
    pub(super) audit: AuditLayer,
    pub(super) grace: Duration,
}

impl OpsSource for AuditSource {
    fn write_metrics(
        &self,
        encoder: &PrometheusEncoder,
        format: ExpositionFormat,
        out: &mut String,
    ) {
        let stats = self.audit.stats();
        let labels: Vec<[(&str, &str); 1]> =
            stats.iter().map(|r| [("route", r.name.as_str())]).collect();
        for (name, help, pick) in [
            (
                "audit_written",
                "Audit records written by every sink of the route.",
                0,
            ),
            (
                "audit_dropped",
                "Audit records lost to the route's full queue.",
                1,
            ),
            ("audit_sink_errors", "Failed sink writes (each retried).", 2),
        ] {
            encoder.encode_counter(
                name,
                help,
                stats
                    .iter()
                    .zip(&labels)
                    .map(|(r, l)| (&l[..], [r.written, r.dropped, r.sink_errors][pick])),
                format,
                out,
            );
        }
        encoder.encode_gauge(
            "audit_pending",
            "Audit records queued and not yet written (growing: the store refuses them).",
            stats
                .iter()
                .zip(&labels)
                .map(|(r, l)| (&l[..], r.pending as f64)),
            format,
            out,
        );
    }

    fn checks(&self, checks: &mut Vec<Check>) {
        let failing: Vec<String> = self
            .audit
            .stats()
            .into_iter()
            .filter_map(|r| {
                let since = r.failing_since?;
                let long = SystemTime::now()
                    .duration_since(since)
                    .is_ok_and(|d| d >= self.grace);
                long.then(|| format!("route {} failing for {}", r.name, age(since)))
            })
            .collect();
        checks.push(Check::new(
            "audit_store",
            failing.is_empty(),
            if failing.is_empty() {
                "every route's sinks are written to".into()
            } else {
                failing.join("; ")
            },
        ));
    }
}
