//! The non-blocking JSON writer as an [`OpsSource`]: the lines it dropped.

use warden_json::NonBlocking;
use warden_metrics::{ExpositionFormat, PrometheusEncoder};

use super::OpsSource;

impl OpsSource for NonBlocking {
    /// `warden_json_dropped_lines_total`: lines dropped because the writer
    /// was behind (a stdout nobody read).
    fn write_metrics(
        &self,
        encoder: &PrometheusEncoder,
        format: ExpositionFormat,
        out: &mut String,
    ) {
        let what = (
            "json_dropped_lines",
            "JSON lines the non-blocking writer dropped (its queue was full).",
        );
        super::unlabelled_counter(encoder, what, self.dropped(), format, out);
    }
}
