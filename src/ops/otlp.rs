//! The OTLP exporter as an [`OpsSource`]: its counters per signal, and
//! `/readyz` fails while exports have failed for longer than a grace.

use std::time::{Duration, SystemTime};

use warden_metrics::{ExpositionFormat, PrometheusEncoder};
use warden_otlp::Otlp;

use super::readiness::age;
use super::{Check, OpsSource};

/// The exporter and how long its exports may fail before `/readyz` says so.
#[derive(Debug)]
pub(super) struct OtlpSource {
    pub(super) otlp: Otlp,
    pub(super) grace: Duration,
}

impl OpsSource for OtlpSource {
    fn write_metrics(
        &self,
        encoder: &PrometheusEncoder,
        format: ExpositionFormat,
        out: &mut String,
    ) {
        let stats = self.otlp.stats();
        let signals = [
            ("spans", stats.spans),
            ("logs", stats.logs),
            ("audit", stats.audit),
            ("metrics", stats.metrics),
        ];
        let labels: Vec<[(&str, &str); 1]> =
            signals.iter().map(|(s, _)| [("signal", *s)]).collect();
        for (name, help, pick) in [
            ("otlp_exported", "Records the collector accepted.", 0),
            (
                "otlp_dropped",
                "Records dropped because the export queue was full.",
                1,
            ),
            ("otlp_failed", "Records whose export failed.", 2),
        ] {
            encoder.encode_counter(
                name,
                help,
                signals.iter().zip(&labels).map(|((_, s), l)| {
                    let value = [s.exported, s.dropped, s.failed][pick];
                    (&l[..], value)
                }),
                format,
                out,
            );
        }
    }

    fn checks(&self, checks: &mut Vec<Check>) {
        let since = self.otlp.stats().failing_since;
        let failing_long = since.is_some_and(|s| {
            SystemTime::now()
                .duration_since(s)
                .is_ok_and(|d| d >= self.grace)
        });
        checks.push(Check::new(
            "exporter",
            !failing_long,
            match since {
                None => "exports succeed".into(),
                Some(s) => format!(
                    "exports failing for {} (grace {}s)",
                    age(s),
                    self.grace.as_secs()
                ),
            },
        ));
    }
}
