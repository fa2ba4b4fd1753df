//! A request's held lines as an [`OpsSource`]: what was held, written,
//! discarded and dropped.

use warden_metrics::{ExpositionFormat, PrometheusEncoder};

use super::OpsSource;
use crate::request_lines::RequestLines;

impl OpsSource for RequestLines {
    /// `warden_request_lines_total{outcome}` (`held`, `written`,
    /// `discarded`), `warden_request_lines_dropped_total{reason}`
    /// (`request_full`, `memory`) and `warden_request_lines_bytes_held`.
    fn write_metrics(
        &self,
        encoder: &PrometheusEncoder,
        format: ExpositionFormat,
        out: &mut String,
    ) {
        let stats = self.stats();
        let held: &[(&str, &str)] = &[("outcome", "held")];
        let written: &[(&str, &str)] = &[("outcome", "written")];
        let discarded: &[(&str, &str)] = &[("outcome", "discarded")];
        encoder.encode_counter(
            "request_lines",
            "Lines below the log level held in their request; written when it failed, discarded when it ended clean.",
            [(held, stats.held), (written, stats.written), (discarded, stats.discarded)],
            format,
            out,
        );
        let full: &[(&str, &str)] = &[("reason", "request_full")];
        let memory: &[(&str, &str)] = &[("reason", "memory")];
        encoder.encode_counter(
            "request_lines_dropped",
            "Lines not held: their request's bound, or all requests' memory bound, reached.",
            [
                (full, stats.dropped_request_full),
                (memory, stats.dropped_memory),
            ],
            format,
            out,
        );
        let none: &[(&str, &str)] = &[];
        encoder.encode_gauge(
            "request_lines_bytes_held",
            "Bytes of lines held now, all requests together.",
            [(none, stats.bytes_held as f64)],
            format,
            out,
        );
    }
}
