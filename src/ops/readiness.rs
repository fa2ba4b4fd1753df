//! `/readyz`: named checks, each with what it found.

use std::time::SystemTime;

use warden_metrics::{AlertState, Severity};

use super::Ops;

/// One readiness check's result.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Check {
    /// Its name: `audit_store`, `exporter`, `critical_alerts`.
    pub name: &'static str,
    /// Whether it passes.
    pub ok: bool,
    /// What it found.
    pub detail: String,
}

/// Every readiness check, and whether all pass.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Readiness {
    /// The checks, in a fixed order.
    pub checks: Vec<Check>,
}

impl Readiness {
    /// Whether every check passes.
    pub fn is_ready(&self) -> bool {
        self.checks.iter().all(|c| c.ok)
    }

    /// `{"ready": bool, "checks": {"name": {"ok": bool, "detail": "…"}}}`.
    pub fn to_json(&self) -> String {
        let checks: serde_json::Map<String, serde_json::Value> = self
            .checks
            .iter()
            .map(|c| {
                (
                    c.name.to_owned(),
                    serde_json::json!({ "ok": c.ok, "detail": c.detail }),
                )
            })
            .collect();
        serde_json::json!({ "ready": self.is_ready(), "checks": checks }).to_string()
    }
}

fn age(since: SystemTime) -> String {
    let secs = SystemTime::now()
        .duration_since(since)
        .map_or(0.0, |d| d.as_secs_f64());
    format!("{secs:.1}s")
}

impl Ops {
    /// Runs the readiness checks of the parts it has.
    pub fn readiness(&self) -> Readiness {
        let inner = &self.inner;
        let mut checks = Vec::new();
        if let Some(audit) = &inner.audit {
            let failing: Vec<String> = audit
                .stats()
                .into_iter()
                .filter_map(|r| {
                    let since = r.failing_since?;
                    let long = SystemTime::now()
                        .duration_since(since)
                        .is_ok_and(|d| d >= inner.audit_grace);
                    long.then(|| format!("route {} failing for {}", r.name, age(since)))
                })
                .collect();
            checks.push(Check {
                name: "audit_store",
                ok: failing.is_empty(),
                detail: if failing.is_empty() {
                    "every route's sinks are written to".into()
                } else {
                    failing.join("; ")
                },
            });
        }
        if let Some(otlp) = &inner.otlp {
            let since = otlp.stats().failing_since;
            let failing_long = since.is_some_and(|s| {
                SystemTime::now()
                    .duration_since(s)
                    .is_ok_and(|d| d >= inner.exporter_grace)
            });
            checks.push(Check {
                name: "exporter",
                ok: !failing_long,
                detail: match since {
                    None => "exports succeed".into(),
                    Some(s) => format!(
                        "exports failing for {} (grace {}s)",
                        age(s),
                        inner.exporter_grace.as_secs()
                    ),
                },
            });
        }
        if let Some(alerts) = self.alerts() {
            let firing: Vec<String> = alerts
                .report()
                .into_iter()
                .filter(|a| a.severity == Severity::Critical && a.state == AlertState::Firing)
                .map(|a| a.rule)
                .collect();
            checks.push(Check {
                name: "critical_alerts",
                ok: firing.is_empty(),
                detail: if firing.is_empty() {
                    "none firing".into()
                } else {
                    format!("firing: {}", firing.join(", "))
                },
            });
        }
        Readiness { checks }
    }
}
