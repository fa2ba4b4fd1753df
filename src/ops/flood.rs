//! The flood limit as an [`OpsSource`]: events suppressed per call site.

use warden_metrics::{ExpositionFormat, PrometheusEncoder};

use super::OpsSource;
use crate::flood::FloodLimit;

impl OpsSource for FloodLimit {
    /// `warden_flood_suppressed_total{target, file, line}` for each call
    /// site that suppressed any, and `warden_flood_untracked_total` (events
    /// of sites beyond the limit's table, not limited).
    fn write_metrics(
        &self,
        encoder: &PrometheusEncoder,
        format: ExpositionFormat,
        out: &mut String,
    ) {
        let sites = self.suppressed_by_site();
        let lines: Vec<String> = sites
            .iter()
            .map(|s| s.line.map_or_else(String::new, |l| l.to_string()))
            .collect();
        let labels: Vec<[(&str, &str); 3]> = sites
            .iter()
            .zip(&lines)
            .map(|(s, line)| {
                [
                    ("target", s.target),
                    ("file", s.file.unwrap_or("")),
                    ("line", line.as_str()),
                ]
            })
            .collect();
        encoder.encode_counter(
            "flood_suppressed",
            "Events the flood limit suppressed, by call site.",
            sites
                .iter()
                .zip(&labels)
                .map(|(s, l)| (&l[..], s.suppressed)),
            format,
            out,
        );
        let what = (
            "flood_untracked",
            "Events of call sites beyond the flood limit's table (not limited).",
        );
        super::unlabelled_counter(encoder, what, self.untracked(), format, out);
    }
}
