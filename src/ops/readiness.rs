//! `/readyz`: named checks, each with what it found.

use warden_metrics::{AlertState, Severity};

use super::Ops;

/// One readiness check's result.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Check {
    /// Its name: `audit_store`, `exporter`, `critical_alerts`, or a
    /// source's own.
    pub name: &'static str,
    /// Whether it passes.
    pub ok: bool,
    /// What it found.
    pub detail: String,
}

impl Check {
    /// A check named `name` (`snake_case`, unique in the body), passing or
    /// not, with what it found.
    pub fn new(name: &'static str, ok: bool, detail: impl Into<String>) -> Self {
        Check {
            name,
            ok,
            detail: detail.into(),
        }
    }
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

#[cfg(any(feature = "audit", feature = "otlp"))]
pub(super) fn age(since: std::time::SystemTime) -> String {
    let secs = std::time::SystemTime::now()
        .duration_since(since)
        .map_or(0.0, |d| d.as_secs_f64());
    format!("{secs:.1}s")
}

impl Ops {
    /// Runs the readiness checks of the parts it has.
    pub fn readiness(&self) -> Readiness {
        let inner = &self.inner;
        let mut checks = Vec::new();
        for source in &inner.sources {
            source.checks(&mut checks);
        }
        if let Some(alerts) = self.alerts() {
            let firing: Vec<String> = alerts
                .report()
                .into_iter()
                .filter(|a| a.severity == Severity::Critical && a.state == AlertState::Firing)
                .map(|a| a.rule)
                .collect();
            checks.push(Check::new(
                "critical_alerts",
                firing.is_empty(),
                if firing.is_empty() {
                    "none firing".into()
                } else {
                    format!("firing: {}", firing.join(", "))
                },
            ));
        }
        Readiness { checks }
    }
}
