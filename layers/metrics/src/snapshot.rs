//! What the metrics say at one moment, per operation.

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::time::Duration;

use crate::histogram::LatencyHistogram;
use crate::recorder::{MINUTES, OVERFLOW, OpStats};

/// The span of time a snapshot covers. Windows are whole minutes counted
/// from when the layer was created.
///
/// ```
/// use warden_metrics::{MetricsLayer, Window};
///
/// let metrics = MetricsLayer::new();
/// let last_minute = metrics.snapshot(Window::LastMinute);
/// let since_start = metrics.snapshot(Window::SinceStart);
/// assert!(last_minute.operations.is_empty() && since_start.operations.is_empty());
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum Window {
    /// The minute in progress.
    CurrentMinute,
    /// The last complete minute: what alert rules evaluate by default.
    LastMinute,
    /// The minute in progress and the one before it: at least the last
    /// full minute of samples, and fresh ones at once (what `/metrics`
    /// summaries and live views use).
    Recent,
    /// The minute in progress and the four before it.
    LastFiveMinutes,
    /// Everything since the layer was created.
    #[default]
    SinceStart,
}

impl Window {
    /// The minutes (since the recorder started) this window covers when
    /// the minute in progress is `now_minute`; `None` for a window with no
    /// minute yet (the last complete one, in the first minute), and for
    /// [`Window::SinceStart`], which is not counted in minutes.
    pub(crate) fn minutes(self, now_minute: u64) -> Option<std::ops::RangeInclusive<u64>> {
        match self {
            Window::CurrentMinute => Some(now_minute..=now_minute),
            Window::LastMinute => now_minute.checked_sub(1).map(|m| m..=m),
            Window::Recent => Some(now_minute.saturating_sub(1)..=now_minute),
            Window::LastFiveMinutes => {
                Some(now_minute.saturating_sub(MINUTES as u64 - 1)..=now_minute)
            }
            Window::SinceStart => None,
        }
    }
}

/// One operation's metrics over a window.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct OperationSnapshot {
    /// The operation's name (`__overflow__` for those beyond the bound).
    pub operation: String,
    /// Spans closed.
    pub count: u64,
    /// Of those, errors.
    pub errors: u64,
    /// `errors / count` (0 when nothing closed).
    pub error_rate: f64,
    /// `1 − error_rate` (1 when nothing closed).
    pub availability: f64,
    /// Spans open now (whatever the window).
    pub in_flight: i64,
    /// Quantiles of the duration, within 1%.
    pub p50: Duration,
    /// See `p50`.
    pub p90: Duration,
    /// See `p50`.
    pub p95: Duration,
    /// See `p50`.
    pub p99: Duration,
    /// The longest, exactly.
    pub max: Duration,
    /// The mean, exactly.
    pub mean: Duration,
    /// Errors by their `error.code` (since start).
    pub errors_by_code: BTreeMap<String, u64>,
    /// The distribution itself, for other quantiles or export.
    pub histogram: LatencyHistogram,
}

impl OperationSnapshot {
    fn new(operation: String, histogram: LatencyHistogram, errors: u64, stats: &OpStats) -> Self {
        let count = histogram.count();
        let error_rate = if count == 0 {
            0.0
        } else {
            errors as f64 / count as f64
        };
        OperationSnapshot {
            operation,
            count,
            errors,
            error_rate,
            availability: 1.0 - error_rate,
            in_flight: stats.in_flight,
            p50: histogram.quantile(0.50),
            p90: histogram.quantile(0.90),
            p95: histogram.quantile(0.95),
            p99: histogram.quantile(0.99),
            max: histogram.max().unwrap_or_default(),
            mean: histogram.mean().unwrap_or_default(),
            errors_by_code: stats
                .errors_by_code
                .iter()
                .map(|(k, v)| (k.clone(), *v))
                .collect(),
            histogram,
        }
    }

    /// The `q` quantile of the duration.
    ///
    /// ```
    /// use tracing_subscriber::prelude::*;
    /// use warden_metrics::{MetricsLayer, Window};
    ///
    /// let metrics = MetricsLayer::new();
    /// tracing::subscriber::with_default(tracing_subscriber::registry().with(metrics.clone()), || {
    ///     drop(tracing::info_span!("ping"));
    /// });
    /// let snapshot = metrics.snapshot(Window::SinceStart);
    /// let ping = snapshot.get("ping").unwrap();
    /// assert!(ping.quantile(0.99) >= ping.quantile(0.5));
    /// ```
    pub fn quantile(&self, q: f64) -> Duration {
        self.histogram.quantile(q)
    }
}

/// Every operation's metrics over one window, sorted by name.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct Snapshot {
    /// The window.
    pub window: Window,
    /// One entry per operation.
    pub operations: Vec<OperationSnapshot>,
    /// How many times an operation beyond the bound was counted as
    /// `__overflow__`.
    pub overflowed: usize,
}

impl Snapshot {
    pub(crate) fn build(
        merged: HashMap<String, OpStats>,
        window: Window,
        now_minute: u64,
        overflowed: usize,
    ) -> Self {
        let mut operations: Vec<_> = merged
            .into_iter()
            // A row with nothing in it (left behind when its only span was
            // renamed to another operation) is not shown.
            .filter(|(_, stats)| {
                stats.total.count() > 0 || stats.in_flight != 0 || stats.errors > 0
            })
            .map(|(name, stats)| {
                let (histogram, errors) = match window {
                    Window::SinceStart => (stats.total.clone(), stats.errors),
                    _ => {
                        let minutes = window.minutes(now_minute);
                        let mut histogram = LatencyHistogram::new();
                        let mut errors = 0;
                        let in_window = |m: u64| minutes.as_ref().is_some_and(|r| r.contains(&m));
                        for w in stats.minutes.iter().filter(|w| in_window(w.minute)) {
                            histogram.merge(&w.histogram);
                            errors += w.errors;
                        }
                        (histogram, errors)
                    }
                };
                OperationSnapshot::new(name, histogram, errors, &stats)
            })
            .collect();
        operations.sort_by(|a, b| a.operation.cmp(&b.operation));
        Snapshot {
            window,
            operations,
            overflowed,
        }
    }

    /// The metrics of `operation`, if it was seen.
    pub fn get(&self, operation: &str) -> Option<&OperationSnapshot> {
        self.operations.iter().find(|o| o.operation == operation)
    }

    /// The spans counted as `__overflow__`, if any.
    ///
    /// ```
    /// use tracing_subscriber::prelude::*;
    /// use warden_metrics::{MetricsLayer, Window};
    ///
    /// let metrics = MetricsLayer::builder().operation_field("route").max_operations(2).build();
    /// tracing::subscriber::with_default(tracing_subscriber::registry().with(metrics.clone()), || {
    ///     for route in ["/a", "/b", "/c", "/d"] {
    ///         drop(tracing::info_span!("request", route));
    ///     }
    /// });
    /// let snapshot = metrics.snapshot(Window::SinceStart);
    /// assert_eq!(snapshot.overflow().map(|o| o.count), Some(2)); // bounded cardinality
    /// ```
    pub fn overflow(&self) -> Option<&OperationSnapshot> {
        self.get(OVERFLOW)
    }
}

/// Milliseconds with 2 decimals.
struct Ms(Duration);

impl fmt::Display for Ms {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let text = format!("{:.2}", self.0.as_secs_f64() * 1e3);
        f.pad(&text)
    }
}

impl fmt::Display for Snapshot {
    /// An aligned table: operation, count, errors, error rate, p50, p90,
    /// p95, p99, max, mean (milliseconds), in flight.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let width = self
            .operations
            .iter()
            .map(|o| o.operation.chars().count())
            .max()
            .unwrap_or(9)
            .max(9);
        writeln!(
            f,
            "{:<width$}  {:>8}  {:>6}  {:>6}  {:>9}  {:>9}  {:>9}  {:>9}  {:>9}  {:>9}  {:>8}",
            "operation",
            "count",
            "errors",
            "err%",
            "p50 ms",
            "p90 ms",
            "p95 ms",
            "p99 ms",
            "max ms",
            "mean ms",
            "inflight"
        )?;
        for o in &self.operations {
            writeln!(
                f,
                "{:<width$}  {:>8}  {:>6}  {:>5.1}%  {:>9}  {:>9}  {:>9}  {:>9}  {:>9}  {:>9}  {:>8}",
                o.operation,
                o.count,
                o.errors,
                o.error_rate * 100.0,
                Ms(o.p50),
                Ms(o.p90),
                Ms(o.p95),
                Ms(o.p99),
                Ms(o.max),
                Ms(o.mean),
                o.in_flight
            )?;
        }
        Ok(())
    }
}
