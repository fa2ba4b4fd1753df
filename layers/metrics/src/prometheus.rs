//! The metrics in Prometheus' text exposition format (0.0.4) and in
//! OpenMetrics 1.0, for a `/metrics` endpoint.

use std::fmt::Write as _;
use std::time::Duration;

use crate::layer::MetricsLayer;
use crate::snapshot::{Snapshot, Window};

/// Which text format a scrape asked for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum ExpositionFormat {
    /// Prometheus' text format, version 0.0.4.
    #[default]
    Prometheus,
    /// OpenMetrics 1.0 text (`application/openmetrics-text`).
    OpenMetrics,
}

impl ExpositionFormat {
    /// The format an `Accept` header asks for: OpenMetrics when it names
    /// `application/openmetrics-text`, else Prometheus' text format.
    ///
    /// ```
    /// use warden_metrics::ExpositionFormat;
    ///
    /// let prometheus = "application/openmetrics-text;version=1.0.0,text/plain;version=0.0.4;q=0.5";
    /// assert_eq!(ExpositionFormat::from_accept(Some(prometheus)), ExpositionFormat::OpenMetrics);
    /// assert_eq!(ExpositionFormat::from_accept(Some("*/*")), ExpositionFormat::Prometheus);
    /// assert_eq!(ExpositionFormat::from_accept(None), ExpositionFormat::Prometheus);
    /// ```
    pub fn from_accept(accept: Option<&str>) -> Self {
        let wants_openmetrics = accept.is_some_and(|a| {
            a.split(',').any(|part| {
                let mut params = part.split(';').map(str::trim);
                let media = params.next().unwrap_or_default();
                let refused = params.any(|p| p.replace(' ', "") == "q=0");
                media.eq_ignore_ascii_case("application/openmetrics-text") && !refused
            })
        });
        if wants_openmetrics {
            ExpositionFormat::OpenMetrics
        } else {
            ExpositionFormat::Prometheus
        }
    }

    /// The response's `Content-Type`.
    pub fn content_type(self) -> &'static str {
        match self {
            ExpositionFormat::Prometheus => "text/plain; version=0.0.4; charset=utf-8",
            ExpositionFormat::OpenMetrics => {
                "application/openmetrics-text; version=1.0.0; charset=utf-8"
            }
        }
    }
}

/// The default classic-histogram bounds, in seconds: 0.5 ms to 10 s.
pub const DEFAULT_BUCKETS: [f64; 14] = [
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

/// The quantiles of the summary.
const QUANTILES: [(f64, &str); 4] = [(0.5, "0.5"), (0.9, "0.9"), (0.95, "0.95"), (0.99, "0.99")];

/// Writes a [`MetricsLayer`]'s metrics (and any other families) in
/// Prometheus or OpenMetrics text.
///
/// Per operation (label `operation`):
/// - `<ns>_operation_duration_seconds`: a summary, the quantiles 0.5, 0.9,
///   0.95 and 0.99 over the [`window`](Self::window) (default
///   [`Window::Recent`]: the minute in progress and the one before),
///   `_sum` and `_count` since start;
/// - `<ns>_operation_latency_seconds`: a classic histogram since start,
///   its buckets derived from the exponential histogram (default
///   [`DEFAULT_BUCKETS`]);
/// - `<ns>_operation_calls_total` and `<ns>_operation_errors_total` (label
///   `code`: the error's code, `none` without one): counters;
/// - `<ns>_operation_in_flight`: a gauge.
///
/// Names and label values are escaped as the formats say; there are never
/// more operations than the layer's cardinality bound.
///
/// ```
/// use tracing_subscriber::prelude::*;
/// use warden_metrics::{ExpositionFormat, MetricsLayer, PrometheusEncoder};
///
/// let metrics = MetricsLayer::new();
/// tracing::subscriber::with_default(tracing_subscriber::registry().with(metrics.clone()), || {
///     drop(tracing::info_span!("checkout", error = true).entered());
/// });
/// let mut out = String::new();
/// PrometheusEncoder::new().encode(&metrics, ExpositionFormat::Prometheus, &mut out);
/// assert!(out.contains(r#"warden_operation_calls_total{operation="checkout"} 1"#), "{out}");
/// assert!(out.contains(r#"warden_operation_errors_total{operation="checkout",code="none"} 1"#), "{out}");
/// ```
#[derive(Clone, Debug)]
pub struct PrometheusEncoder {
    namespace: String,
    window: Window,
    buckets: Vec<f64>,
}

impl Default for PrometheusEncoder {
    fn default() -> Self {
        PrometheusEncoder {
            namespace: "warden".into(),
            window: Window::Recent,
            buckets: DEFAULT_BUCKETS.to_vec(),
        }
    }
}

impl PrometheusEncoder {
    /// Names under `warden_`, quantiles over the recent minutes, the
    /// default buckets.
    pub fn new() -> Self {
        Self::default()
    }

    /// The prefix of every metric name (default `warden`); characters a
    /// Prometheus name cannot hold become `_`.
    pub fn namespace(mut self, namespace: &str) -> Self {
        self.namespace = sanitize_name(namespace);
        self
    }

    /// The window of the summary's quantiles (default [`Window::Recent`];
    /// counters and the histogram are always since start).
    pub fn window(mut self, window: Window) -> Self {
        self.window = window;
        self
    }

    /// The classic histogram's bounds in seconds (sorted; non-finite and
    /// non-positive ones dropped).
    pub fn buckets(mut self, bounds: impl IntoIterator<Item = f64>) -> Self {
        let mut bounds: Vec<f64> = bounds
            .into_iter()
            .filter(|b| b.is_finite() && *b > 0.0)
            .collect();
        bounds.sort_by(f64::total_cmp);
        bounds.dedup();
        self.buckets = bounds;
        self
    }

    /// Appends `metrics`' families to `out`.
    pub fn encode(&self, metrics: &MetricsLayer, format: ExpositionFormat, out: &mut String) {
        let windowed = metrics.snapshot(self.window);
        let total = if self.window == Window::SinceStart {
            None
        } else {
            Some(metrics.snapshot(Window::SinceStart))
        };
        self.encode_snapshots(&windowed, total.as_ref().unwrap_or(&windowed), format, out);
    }

    /// Appends the families of two snapshots of one layer: `windowed` (for
    /// the quantiles) and `total` (since start, for everything else).
    pub fn encode_snapshots(
        &self,
        windowed: &Snapshot,
        total: &Snapshot,
        format: ExpositionFormat,
        out: &mut String,
    ) {
        let ns = &self.namespace;

        let name = Family {
            ns,
            name: "operation_duration_seconds",
        };
        header(
            out,
            &name,
            "summary",
            "Operation latency: quantiles over the recent window, sum and count since start.",
            Some("seconds"),
            format,
        );
        for op in &total.operations {
            // No sample in the window: no quantile (NaN), as Prometheus'
            // own summaries say.
            let recent = windowed.get(&op.operation).filter(|r| r.count > 0);
            for (q, label) in QUANTILES {
                let value = recent.map_or(f64::NAN, |r| r.quantile(q).as_secs_f64());
                sample(
                    out,
                    &name,
                    "",
                    &[("operation", &op.operation), ("quantile", label)],
                    value,
                );
            }
            sample(
                out,
                &name,
                "_sum",
                &[("operation", &op.operation)],
                op.histogram.sum().as_secs_f64(),
            );
            sample_int(
                out,
                &name,
                "_count",
                &[("operation", &op.operation)],
                op.count,
            );
        }

        let name = Family {
            ns,
            name: "operation_latency_seconds",
        };
        header(
            out,
            &name,
            "histogram",
            "Operation latency since start, in classic buckets.",
            Some("seconds"),
            format,
        );
        for op in &total.operations {
            for bound in &self.buckets {
                let count = op.histogram.count_at_most(Duration::from_secs_f64(*bound));
                let mut le = String::new();
                write_float(&mut le, *bound);
                sample_int(
                    out,
                    &name,
                    "_bucket",
                    &[("operation", &op.operation), ("le", &le)],
                    count,
                );
            }
            sample_int(
                out,
                &name,
                "_bucket",
                &[("operation", &op.operation), ("le", "+Inf")],
                op.count,
            );
            sample(
                out,
                &name,
                "_sum",
                &[("operation", &op.operation)],
                op.histogram.sum().as_secs_f64(),
            );
            sample_int(
                out,
                &name,
                "_count",
                &[("operation", &op.operation)],
                op.count,
            );
        }

        let name = Family {
            ns,
            name: "operation_calls",
        };
        header(
            out,
            &name,
            "counter",
            "Operations completed since start.",
            None,
            format,
        );
        for op in &total.operations {
            sample_int(
                out,
                &name,
                "_total",
                &[("operation", &op.operation)],
                op.count,
            );
        }

        let name = Family {
            ns,
            name: "operation_errors",
        };
        header(
            out,
            &name,
            "counter",
            "Operations that failed since start, by error code.",
            None,
            format,
        );
        for op in &total.operations {
            let mut coded = 0;
            for (code, n) in &op.errors_by_code {
                coded += n;
                sample_int(
                    out,
                    &name,
                    "_total",
                    &[("operation", &op.operation), ("code", code)],
                    *n,
                );
            }
            if op.errors > coded || op.errors_by_code.is_empty() {
                sample_int(
                    out,
                    &name,
                    "_total",
                    &[("operation", &op.operation), ("code", "none")],
                    op.errors.saturating_sub(coded),
                );
            }
        }

        let name = Family {
            ns,
            name: "operation_in_flight",
        };
        header(
            out,
            &name,
            "gauge",
            "Operations started and not yet finished.",
            None,
            format,
        );
        for op in &total.operations {
            sample(
                out,
                &name,
                "",
                &[("operation", &op.operation)],
                op.in_flight as f64,
            );
        }
    }

    /// Appends the alert rules' states: `<ns>_alert_firing{rule}` 1 or 0.
    pub fn encode_alerts<'a>(
        &self,
        rules: impl IntoIterator<Item = (&'a str, bool)>,
        format: ExpositionFormat,
        out: &mut String,
    ) {
        let name = Family {
            ns: &self.namespace,
            name: "alert_firing",
        };
        header(
            out,
            &name,
            "gauge",
            "Whether each alert rule is firing.",
            None,
            format,
        );
        for (rule, firing) in rules {
            sample(
                out,
                &name,
                "",
                &[("rule", rule)],
                if firing { 1.0 } else { 0.0 },
            );
        }
    }

    /// Appends one counter family, `<ns>_<name>_total`, with one sample per
    /// label set: for the counters of warden's other parts (the exporter's
    /// and the audit router's drops and failures).
    pub fn encode_counter<'a>(
        &self,
        name: &str,
        help: &str,
        samples: impl IntoIterator<Item = (&'a [(&'a str, &'a str)], u64)>,
        format: ExpositionFormat,
        out: &mut String,
    ) {
        let family = sanitize_name(name);
        let name = Family {
            ns: &self.namespace,
            name: &family,
        };
        header(out, &name, "counter", help, None, format);
        for (labels, value) in samples {
            sample_int(out, &name, "_total", labels, value);
        }
    }

    /// Appends one gauge family, `<ns>_<name>`.
    pub fn encode_gauge<'a>(
        &self,
        name: &str,
        help: &str,
        samples: impl IntoIterator<Item = (&'a [(&'a str, &'a str)], f64)>,
        format: ExpositionFormat,
        out: &mut String,
    ) {
        let family = sanitize_name(name);
        let name = Family {
            ns: &self.namespace,
            name: &family,
        };
        header(out, &name, "gauge", help, None, format);
        for (labels, value) in samples {
            sample(out, &name, "", labels, value);
        }
    }

    /// Ends an OpenMetrics exposition (`# EOF`); nothing for Prometheus.
    pub fn finish(format: ExpositionFormat, out: &mut String) {
        if format == ExpositionFormat::OpenMetrics {
            out.push_str("# EOF\n");
        }
    }
}

/// A metric family's name: namespace and name.
struct Family<'a> {
    ns: &'a str,
    name: &'a str,
}

impl Family<'_> {
    fn write(&self, out: &mut String) {
        if !self.ns.is_empty() {
            out.push_str(self.ns);
            out.push('_');
        }
        out.push_str(self.name);
    }
}

fn header(
    out: &mut String,
    family: &Family<'_>,
    kind: &str,
    help: &str,
    unit: Option<&str>,
    format: ExpositionFormat,
) {
    // A counter's family is `x` in OpenMetrics, its samples `x_total`; in
    // Prometheus' format the family is named as its samples.
    let suffix = if kind == "counter" && format == ExpositionFormat::Prometheus {
        "_total"
    } else {
        ""
    };
    out.push_str("# HELP ");
    family.write(out);
    out.push_str(suffix);
    out.push(' ');
    escape(out, help, false);
    out.push_str("\n# TYPE ");
    family.write(out);
    out.push_str(suffix);
    out.push(' ');
    out.push_str(kind);
    out.push('\n');
    if let (Some(unit), ExpositionFormat::OpenMetrics) = (unit, format) {
        out.push_str("# UNIT ");
        family.write(out);
        out.push(' ');
        out.push_str(unit);
        out.push('\n');
    }
}

fn labels(out: &mut String, labels: &[(&str, &str)]) {
    if labels.is_empty() {
        return;
    }
    out.push('{');
    for (i, (name, value)) in labels.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push_str(name);
        out.push_str("=\"");
        escape(out, value, true);
        out.push('"');
    }
    out.push('}');
}

fn sample(
    out: &mut String,
    family: &Family<'_>,
    suffix: &str,
    label_set: &[(&str, &str)],
    value: f64,
) {
    family.write(out);
    out.push_str(suffix);
    labels(out, label_set);
    out.push(' ');
    write_float(out, value);
    out.push('\n');
}

fn sample_int(
    out: &mut String,
    family: &Family<'_>,
    suffix: &str,
    label_set: &[(&str, &str)],
    value: u64,
) {
    family.write(out);
    out.push_str(suffix);
    labels(out, label_set);
    out.push(' ');
    let _ = write!(out, "{value}");
    out.push('\n');
}

/// A float as both formats spell it (`NaN`, `+Inf`, `-Inf`).
fn write_float(out: &mut String, value: f64) {
    if value.is_nan() {
        out.push_str("NaN");
    } else if value.is_infinite() {
        out.push_str(if value > 0.0 { "+Inf" } else { "-Inf" });
    } else {
        let _ = write!(out, "{value}");
    }
}

/// Escapes `\` and newlines (and `"` in label values).
fn escape(out: &mut String, text: &str, quotes: bool) {
    for c in text.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '"' if quotes => out.push_str("\\\""),
            c => out.push(c),
        }
    }
}

/// `name` as a Prometheus metric name: `[a-zA-Z_:][a-zA-Z0-9_:]*`.
fn sanitize_name(name: &str) -> String {
    let mut out: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' || c == ':' {
                c
            } else {
                '_'
            }
        })
        .collect();
    if out.starts_with(|c: char| c.is_ascii_digit()) {
        out.insert(0, '_');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_and_names_are_escaped() {
        let mut out = String::new();
        labels(&mut out, &[("operation", "a\"b\\c\nd")]);
        assert_eq!(out, r#"{operation="a\"b\\c\nd"}"#);
        assert_eq!(sanitize_name("my-app.v2"), "my_app_v2");
        assert_eq!(sanitize_name("2xx"), "_2xx");
        let mut f = String::new();
        for v in [f64::NAN, f64::INFINITY, 0.5, 1.0, 1e-7] {
            write_float(&mut f, v);
            f.push(' ');
        }
        assert_eq!(f, "NaN +Inf 0.5 1 0.0000001 ");
    }
}
