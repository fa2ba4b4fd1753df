//! The metrics in Prometheus' text exposition format (0.0.4) and in
//! OpenMetrics 1.0, for a `/metrics` endpoint.

use std::fmt::Write as _;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::histogram::LatencyHistogram;
use crate::layer::MetricsLayer;
use crate::recorder::MergedStats;
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
/// more operations than the layer's cardinality bound. A scrape reuses the
/// memory of the one before: once every operation has been seen, it
/// allocates nothing but the output's growth.
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
    /// The bounds in nanoseconds and as `le` labels, made once.
    limits_nanos: Vec<u64>,
    le_labels: Vec<String>,
    scratch: Arc<Mutex<Scratch>>,
}

/// What a scrape reuses from the one before.
#[derive(Debug, Default)]
struct Scratch {
    merged: MergedStats,
    /// The operations' names, sorted (rebuilt when one appears).
    order: Vec<String>,
    window: LatencyHistogram,
    cumulative: Vec<u64>,
    line: String,
}

impl Default for PrometheusEncoder {
    fn default() -> Self {
        PrometheusEncoder {
            namespace: "warden".into(),
            window: Window::Recent,
            buckets: Vec::new(),
            limits_nanos: Vec::new(),
            le_labels: Vec::new(),
            scratch: Arc::default(),
        }
        .buckets(DEFAULT_BUCKETS)
    }
}

/// One operation as the families need it.
struct OpView<'a> {
    name: &'a str,
    count: u64,
    errors: u64,
    in_flight: i64,
    total: &'a LatencyHistogram,
    /// The histogram of the summary's window (only where asked for).
    recent: Option<&'a LatencyHistogram>,
    codes: CodeVisitor<'a>,
}

/// Calls its argument with each error code and count.
type CodeVisitor<'a> = &'a dyn Fn(&mut dyn FnMut(&str, u64));

/// Visits the operations (`true`: with the summary's window histogram).
type EachOperation<'e> = dyn FnMut(bool, &mut dyn FnMut(&OpView<'_>)) + 'e;

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
        self.limits_nanos = bounds
            .iter()
            .map(|b| {
                Duration::from_secs_f64(*b)
                    .as_nanos()
                    .min(u128::from(u64::MAX)) as u64
            })
            .collect();
        self.le_labels = bounds
            .iter()
            .map(|b| {
                let mut text = String::new();
                write_float(&mut text, *b);
                text
            })
            .collect();
        self.buckets = bounds;
        self
    }

    /// Appends `metrics`' families to `out`: merged straight from the
    /// layer's shards into memory kept from the last scrape.
    pub fn encode(&self, metrics: &MetricsLayer, format: ExpositionFormat, out: &mut String) {
        let Ok(mut scratch) = self.scratch.lock() else {
            // A scrape that panicked left it poisoned: go the slow way.
            let windowed = metrics.snapshot(self.window);
            let total = metrics.snapshot(Window::SinceStart);
            return self.encode_snapshots(&windowed, &total, format, out);
        };
        let Scratch {
            merged,
            order,
            window,
            cumulative,
            line,
        } = &mut *scratch;
        let now_minute = metrics.recorder().merge_now(merged);
        if order.len() != merged.len() {
            *order = merged.keys().cloned().collect();
            order.sort();
        }
        let minutes = self.window.minutes(now_minute);
        let since_start = self.window == Window::SinceStart;
        let mut each = |needs_recent: bool, f: &mut dyn FnMut(&OpView<'_>)| {
            for name in order.iter() {
                let Some(stats) = merged.get(name.as_str()) else {
                    continue;
                };
                if stats.total.count() == 0 && stats.in_flight == 0 && stats.errors == 0 {
                    continue;
                }
                if needs_recent && !since_start {
                    window.reset();
                    for w in stats
                        .minutes
                        .iter()
                        .filter(|w| minutes.as_ref().is_some_and(|r| r.contains(&w.minute)))
                    {
                        window.merge(&w.histogram);
                    }
                }
                let codes = |g: &mut dyn FnMut(&str, u64)| {
                    for (code, n) in &stats.errors_by_code {
                        if *n > 0 {
                            g(code, *n);
                        }
                    }
                };
                f(&OpView {
                    name,
                    count: stats.total.count(),
                    errors: stats.errors,
                    in_flight: stats.in_flight,
                    total: &stats.total,
                    recent: needs_recent.then_some(if since_start {
                        &stats.total
                    } else {
                        &*window
                    }),
                    codes: &codes,
                });
            }
        };
        self.write_operations(&mut each, cumulative, line, format, out);
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
        let mut each = |needs_recent: bool, f: &mut dyn FnMut(&OpView<'_>)| {
            for op in &total.operations {
                let codes = |g: &mut dyn FnMut(&str, u64)| {
                    for (code, n) in &op.errors_by_code {
                        g(code, *n);
                    }
                };
                let recent = if needs_recent {
                    windowed.get(&op.operation).map(|r| &r.histogram)
                } else {
                    None
                };
                f(&OpView {
                    name: &op.operation,
                    count: op.count,
                    errors: op.errors,
                    in_flight: op.in_flight,
                    total: &op.histogram,
                    recent,
                    codes: &codes,
                });
            }
        };
        let (mut cumulative, mut line) = (Vec::new(), String::new());
        self.write_operations(&mut each, &mut cumulative, &mut line, format, out);
    }

    /// The five per-operation families, over the operations `each` visits.
    fn write_operations(
        &self,
        each: &mut EachOperation<'_>,
        cumulative: &mut Vec<u64>,
        line: &mut String,
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
        each(true, &mut |op| {
            line.clear();
            name.write(line);
            line.push_str("{operation=\"");
            escape(line, op.name, true);
            line.push_str("\",quantile=\"");
            for (q, label) in QUANTILES {
                out.push_str(line);
                // No sample in the window: no quantile (NaN), as Prometheus'
                // own summaries say.
                let value = op
                    .recent
                    .filter(|h| h.count() > 0)
                    .map_or(f64::NAN, |h| h.quantile(q).as_secs_f64());
                out.push_str(label);
                out.push_str("\"} ");
                write_float(out, value);
                out.push('\n');
            }
            sample(
                out,
                &name,
                "_sum",
                &[("operation", op.name)],
                op.total.sum().as_secs_f64(),
            );
            sample_int(out, &name, "_count", &[("operation", op.name)], op.count);
        });

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
        cumulative.resize(self.limits_nanos.len(), 0);
        each(false, &mut |op| {
            op.total.cumulative_counts(&self.limits_nanos, cumulative);
            // `<family>_bucket{operation="…",le="` once per operation.
            line.clear();
            name.write(line);
            line.push_str("_bucket{operation=\"");
            escape(line, op.name, true);
            line.push_str("\",le=\"");
            for (le, count) in self.le_labels.iter().zip(cumulative.iter()) {
                out.push_str(line);
                out.push_str(le);
                out.push_str("\"} ");
                push_u64(out, *count);
                out.push('\n');
            }
            out.push_str(line);
            out.push_str("+Inf\"} ");
            push_u64(out, op.count);
            out.push('\n');
            sample(
                out,
                &name,
                "_sum",
                &[("operation", op.name)],
                op.total.sum().as_secs_f64(),
            );
            sample_int(out, &name, "_count", &[("operation", op.name)], op.count);
        });

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
        each(false, &mut |op| {
            sample_int(out, &name, "_total", &[("operation", op.name)], op.count);
        });

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
        each(false, &mut |op| {
            let mut coded = 0;
            (op.codes)(&mut |code, n| {
                coded += n;
                sample_int(
                    out,
                    &name,
                    "_total",
                    &[("operation", op.name), ("code", code)],
                    n,
                );
            });
            if op.errors > coded || coded == 0 {
                sample_int(
                    out,
                    &name,
                    "_total",
                    &[("operation", op.name), ("code", "none")],
                    op.errors.saturating_sub(coded),
                );
            }
        });

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
        each(false, &mut |op| {
            sample(
                out,
                &name,
                "",
                &[("operation", op.name)],
                op.in_flight as f64,
            );
        });
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
    push_u64(out, value);
    out.push('\n');
}

/// `value` in decimal, without the formatting machinery.
fn push_u64(out: &mut String, mut value: u64) {
    let mut digits = [0u8; 20];
    let mut at = digits.len();
    loop {
        at -= 1;
        digits[at] = b'0' + (value % 10) as u8;
        value /= 10;
        if value == 0 {
            break;
        }
    }
    for &d in &digits[at..] {
        out.push(d as char);
    }
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
    if !text
        .bytes()
        .any(|b| b == b'\\' || b == b'\n' || (quotes && b == b'"'))
    {
        out.push_str(text);
        return;
    }
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
