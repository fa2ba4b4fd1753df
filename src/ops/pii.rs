//! The PII gate as an [`OpsSource`]: its redactions by kind, and national
//! identifiers by scheme.

use warden_metrics::{ExpositionFormat, PrometheusEncoder};
use warden_pii::PiiLayer;

use super::OpsSource;

/// The gate whose counts `/metrics` shows.
#[derive(Debug)]
pub(super) struct PiiSource {
    pub(super) gate: PiiLayer,
}

impl OpsSource for PiiSource {
    fn write_metrics(
        &self,
        encoder: &PrometheusEncoder,
        format: ExpositionFormat,
        out: &mut String,
    ) {
        let counts = self.gate.redactions();
        let labels: Vec<[(&str, &str); 1]> =
            counts.iter().map(|(k, _)| [("kind", k.name())]).collect();
        encoder.encode_counter(
            "pii_redactions",
            "Values the PII gate replaced, by kind (a jump is worth a look).",
            counts.iter().zip(&labels).map(|((_, n), l)| (&l[..], n)),
            format,
            out,
        );
        let schemes: Vec<_> = counts.national_ids().collect();
        if !schemes.is_empty() {
            let labels: Vec<[(&str, &str); 1]> = schemes
                .iter()
                .map(|(s, _)| [("scheme", s.name())])
                .collect();
            encoder.encode_counter(
                "pii_national_id_redactions",
                "National identifiers the PII gate replaced, by scheme.",
                schemes.iter().zip(&labels).map(|((_, n), l)| (&l[..], *n)),
                format,
                out,
            );
        }
    }
}
