//! Alert rules over snapshots: states ok → firing → resolved, with
//! hysteresis, callbacks, and an audit event for every transition.

use std::fmt;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use crate::layer::MetricsLayer;
use crate::snapshot::{Snapshot, Window};

type Measure = Arc<dyn Fn(&Snapshot) -> Option<f64> + Send + Sync>;
type Callback = Box<dyn Fn(&Transition) + Send>;

/// What a rule measures.
#[derive(Clone)]
enum Metric {
    Quantile(f64),
    ErrorRate,
    Availability,
    Custom(Measure),
}

/// Which side of the threshold is bad.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Direction {
    Above,
    Below,
}

/// An alert rule: a value read from a snapshot, a threshold, and how many
/// evaluation periods in a row must breach it before the alert fires (and
/// must not, before it resolves).
///
/// ```
/// use std::time::Duration;
/// use warden_metrics::Rule;
///
/// let slow = Rule::p95("checkout").above(Duration::from_secs(2)).for_periods(2);
/// let failing = Rule::error_rate("checkout").above(0.05);
/// let down = Rule::availability("checkout").below(0.95);
/// let busy = Rule::custom("too_many_in_flight", |s| {
///     s.get("checkout").map(|o| o.in_flight as f64)
/// })
/// .above(100.0);
/// # let _ = (slow, failing, down, busy);
/// ```
#[derive(Clone)]
pub struct Rule {
    severity: Severity,
    name: String,
    operation: Option<String>,
    metric: Metric,
    direction: Direction,
    threshold: f64,
    for_periods: u32,
    resolve_periods: Option<u32>,
    window: Window,
}

impl fmt::Debug for Rule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Rule")
            .field("name", &self.name)
            .field("operation", &self.operation)
            .field("direction", &self.direction)
            .field("threshold", &self.threshold)
            .field("for_periods", &self.for_periods)
            .field("window", &self.window)
            .finish_non_exhaustive()
    }
}

/// A latency rule waiting for its threshold.
#[derive(Debug)]
pub struct LatencyRule {
    operation: String,
    q: f64,
}

/// A ratio rule (error rate, availability) waiting for its threshold.
#[derive(Debug)]
pub struct RatioRule {
    operation: String,
    error_rate: bool,
}

/// A custom rule waiting for its threshold.
pub struct CustomRule {
    name: String,
    measure: Measure,
}

impl fmt::Debug for CustomRule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CustomRule")
            .field("name", &self.name)
            .finish_non_exhaustive()
    }
}

impl Rule {
    /// The operation's median duration.
    pub fn p50(operation: impl Into<String>) -> LatencyRule {
        Self::quantile(operation, 0.50)
    }

    /// The operation's 90th percentile duration.
    pub fn p90(operation: impl Into<String>) -> LatencyRule {
        Self::quantile(operation, 0.90)
    }

    /// The operation's 95th percentile duration.
    pub fn p95(operation: impl Into<String>) -> LatencyRule {
        Self::quantile(operation, 0.95)
    }

    /// The operation's 99th percentile duration.
    pub fn p99(operation: impl Into<String>) -> LatencyRule {
        Self::quantile(operation, 0.99)
    }

    /// The operation's `q` quantile duration.
    pub fn quantile(operation: impl Into<String>, q: f64) -> LatencyRule {
        LatencyRule {
            operation: operation.into(),
            q,
        }
    }

    /// The operation's error rate (0 to 1).
    ///
    /// ```
    /// use warden_metrics::{Rule, Window};
    ///
    /// let rule = Rule::error_rate("checkout").above(0.05).over(Window::LastFiveMinutes).for_periods(2);
    /// assert_eq!(rule.name(), "error_rate(checkout) > 0.05");
    /// ```
    pub fn error_rate(operation: impl Into<String>) -> RatioRule {
        RatioRule {
            operation: operation.into(),
            error_rate: true,
        }
    }

    /// The operation's availability, `1 − error rate` (0 to 1).
    ///
    /// ```
    /// use warden_metrics::Rule;
    ///
    /// let rule = Rule::availability("checkout").below(0.999);
    /// assert_eq!(rule.name(), "availability(checkout) < 0.999");
    /// ```
    pub fn availability(operation: impl Into<String>) -> RatioRule {
        RatioRule {
            operation: operation.into(),
            error_rate: false,
        }
    }

    /// Any value computed from a snapshot; `None` means no data (never a
    /// breach).
    ///
    /// ```
    /// use warden_metrics::Rule;
    ///
    /// // Any value a snapshot gives: here, the busiest operation's error count.
    /// let rule = Rule::custom("most errors", |s| s.operations.iter().map(|o| o.errors as f64).reduce(f64::max))
    ///     .above(100.0);
    /// assert_eq!(rule.name(), "most errors");
    /// ```
    pub fn custom(
        name: impl Into<String>,
        measure: impl Fn(&Snapshot) -> Option<f64> + Send + Sync + 'static,
    ) -> CustomRule {
        CustomRule {
            name: name.into(),
            measure: Arc::new(measure),
        }
    }

    fn new(
        name: String,
        operation: Option<String>,
        metric: Metric,
        direction: Direction,
        threshold: f64,
    ) -> Self {
        Rule {
            name,
            operation,
            metric,
            direction,
            threshold,
            for_periods: 1,
            resolve_periods: None,
            window: Window::LastMinute,
            severity: Severity::Warning,
        }
    }

    /// Fires only after `n` periods in a row breach the threshold (default 1).
    ///
    /// ```
    /// use std::time::Duration;
    /// use warden_metrics::Rule;
    ///
    /// // Fires after three evaluations in a row above 2 s, resolves after two below.
    /// let rule = Rule::p99("search").above(Duration::from_secs(2)).for_periods(3).resolve_after(2);
    /// assert_eq!(rule.name(), "p99(search) > 2000ms");
    /// ```
    pub fn for_periods(mut self, n: u32) -> Self {
        self.for_periods = n.max(1);
        self
    }

    /// Resolves only after `n` periods in a row do not breach it (default:
    /// the same as `for_periods`).
    pub fn resolve_after(mut self, n: u32) -> Self {
        self.resolve_periods = Some(n.max(1));
        self
    }

    /// Evaluates over `window` (default the last complete minute).
    pub fn over(mut self, window: Window) -> Self {
        self.window = window;
        self
    }

    /// Marks the rule critical: while it fires, a readiness check that
    /// watches alerts (warden's `/readyz`) reports the service not ready.
    pub fn critical(mut self) -> Self {
        self.severity = Severity::Critical;
        self
    }

    /// The rule's severity (default [`Severity::Warning`]).
    pub fn severity(&self) -> Severity {
        self.severity
    }

    /// Renames the rule (default: the metric and the operation, as
    /// `p95(checkout)`).
    pub fn named(mut self, name: impl Into<String>) -> Self {
        self.name = name.into();
        self
    }

    /// The rule's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The rule's value in `snapshot` (milliseconds for latencies).
    pub fn value(&self, snapshot: &Snapshot) -> Option<f64> {
        let op = || {
            self.operation
                .as_deref()
                .and_then(|o| snapshot.get(o))
                .filter(|o| o.count > 0)
        };
        match &self.metric {
            Metric::Quantile(q) => op().map(|o| o.quantile(*q).as_secs_f64() * 1e3),
            Metric::ErrorRate => op().map(|o| o.error_rate),
            Metric::Availability => op().map(|o| o.availability),
            Metric::Custom(measure) => measure(snapshot),
        }
    }

    fn breached(&self, value: Option<f64>) -> bool {
        match (value, self.direction) {
            (Some(v), Direction::Above) => v > self.threshold,
            (Some(v), Direction::Below) => v < self.threshold,
            (None, _) => false,
        }
    }
}

impl LatencyRule {
    fn finish(self, direction: Direction, threshold: Duration, word: &str) -> Rule {
        let name = format!(
            "p{}({}) {word} {}ms",
            self.q * 100.0,
            self.operation,
            threshold.as_secs_f64() * 1e3
        );
        Rule::new(
            name,
            Some(self.operation),
            Metric::Quantile(self.q),
            direction,
            threshold.as_secs_f64() * 1e3,
        )
    }

    /// Breached when the quantile is above `threshold`.
    pub fn above(self, threshold: Duration) -> Rule {
        self.finish(Direction::Above, threshold, ">")
    }

    /// Breached when the quantile is below `threshold`.
    pub fn below(self, threshold: Duration) -> Rule {
        self.finish(Direction::Below, threshold, "<")
    }
}

impl RatioRule {
    fn finish(self, direction: Direction, threshold: f64, word: &str) -> Rule {
        let (metric, label) = if self.error_rate {
            (Metric::ErrorRate, "error_rate")
        } else {
            (Metric::Availability, "availability")
        };
        let name = format!("{label}({}) {word} {threshold}", self.operation);
        Rule::new(name, Some(self.operation), metric, direction, threshold)
    }

    /// Breached when the ratio is above `threshold`.
    pub fn above(self, threshold: f64) -> Rule {
        self.finish(Direction::Above, threshold, ">")
    }

    /// Breached when the ratio is below `threshold`.
    pub fn below(self, threshold: f64) -> Rule {
        self.finish(Direction::Below, threshold, "<")
    }
}

impl CustomRule {
    /// Breached when the value is above `threshold`.
    pub fn above(self, threshold: f64) -> Rule {
        Rule::new(
            self.name,
            None,
            Metric::Custom(self.measure),
            Direction::Above,
            threshold,
        )
    }

    /// Breached when the value is below `threshold`.
    pub fn below(self, threshold: f64) -> Rule {
        Rule::new(
            self.name,
            None,
            Metric::Custom(self.measure),
            Direction::Below,
            threshold,
        )
    }
}

/// Whether a rule's alert is firing.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AlertState {
    /// Not firing (never fired, or resolved).
    Ok,
    /// Firing.
    Firing,
}

/// What changed at an evaluation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TransitionKind {
    /// The alert started firing.
    Fired,
    /// The alert stopped firing.
    Resolved,
}

/// One alert changing state.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct Transition {
    /// The rule's name.
    pub rule: String,
    /// The operation it watches, if one.
    pub operation: Option<String>,
    /// Fired or resolved.
    pub kind: TransitionKind,
    /// The value at this evaluation (`None`: no data).
    pub value: Option<f64>,
    /// The threshold.
    pub threshold: f64,
}

/// How much a firing rule matters.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Severity {
    /// Worth a look (the default).
    #[default]
    Warning,
    /// The service is not fit to take traffic while it fires.
    Critical,
}

impl Severity {
    /// `warning` or `critical`.
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Warning => "warning",
            Severity::Critical => "critical",
        }
    }
}

/// One rule as it stands, for endpoints and dashboards.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct AlertStatus {
    /// The rule's name.
    pub rule: String,
    /// The operation it watches, if one.
    pub operation: Option<String>,
    /// Firing or not.
    pub state: AlertState,
    /// How much it matters.
    pub severity: Severity,
    /// The value at the last evaluation (`None`: no data, or not evaluated yet).
    pub value: Option<f64>,
    /// The threshold.
    pub threshold: f64,
    /// When it last fired or resolved.
    pub since: Option<std::time::SystemTime>,
}

struct Tracked {
    rule: Rule,
    state: AlertState,
    streak: u32,
    last_value: Option<f64>,
    changed_at: Option<std::time::SystemTime>,
    /// Whether the rule's operation was reported as never seen.
    warned_unseen: bool,
}

/// A set of alert rules and what they have fired.
///
/// [`evaluate`](Self::evaluate) reads each rule's window from the metrics
/// and moves each alert: `Ok` → `Firing` after `for_periods` breaching
/// evaluations in a row, `Firing` → `Ok` (resolved) after `resolve_after`
/// clear ones. Every transition calls the `on_fire`/`on_resolve` callbacks
/// and is logged as a `tracing` event with target `audit` and
/// `event_type = "ALERT"`, so an audit layer stores it.
/// [`spawn`](Self::spawn) evaluates on a period in a background thread.
#[derive(Default)]
pub struct Alerts {
    tracked: Vec<Tracked>,
    on_fire: Vec<Callback>,
    on_resolve: Vec<Callback>,
}

impl fmt::Debug for Alerts {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list()
            .entries(self.tracked.iter().map(|t| (&t.rule.name, t.state)))
            .finish()
    }
}

impl Alerts {
    /// The evaluation period the issue's alarms use: one minute.
    pub const DEFAULT_PERIOD: Duration = Duration::from_secs(60);

    /// No rules yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a rule.
    pub fn rule(mut self, rule: Rule) -> Self {
        self.tracked.push(Tracked {
            rule,
            state: AlertState::Ok,
            streak: 0,
            last_value: None,
            changed_at: None,
            warned_unseen: false,
        });
        self
    }

    /// Calls `f` when an alert fires.
    pub fn on_fire(mut self, f: impl Fn(&Transition) + Send + 'static) -> Self {
        self.on_fire.push(Box::new(f));
        self
    }

    /// Calls `f` when an alert resolves.
    pub fn on_resolve(mut self, f: impl Fn(&Transition) + Send + 'static) -> Self {
        self.on_resolve.push(Box::new(f));
        self
    }

    /// Each rule's name and state.
    pub fn states(&self) -> Vec<(String, AlertState)> {
        self.tracked
            .iter()
            .map(|t| (t.rule.name.clone(), t.state))
            .collect()
    }

    /// Each rule as it stands: state, severity, last value, threshold.
    pub fn report(&self) -> Vec<AlertStatus> {
        self.tracked
            .iter()
            .map(|t| AlertStatus {
                rule: t.rule.name.clone(),
                operation: t.rule.operation.clone(),
                state: t.state,
                severity: t.rule.severity,
                value: t.last_value,
                threshold: t.rule.threshold,
                since: t.changed_at,
            })
            .collect()
    }

    /// Evaluates every rule once against `metrics`; the transitions.
    ///
    /// ```
    /// use std::time::Duration;
    /// use tracing_subscriber::prelude::*;
    /// use warden_metrics::{Alerts, MetricsLayer, Rule, TransitionKind, Window};
    ///
    /// let metrics = MetricsLayer::new();
    /// let mut alerts = Alerts::new().rule(Rule::error_rate("pay").above(0.2).over(Window::SinceStart));
    /// tracing::subscriber::with_default(tracing_subscriber::registry().with(metrics.clone()), || {
    ///     for i in 0..10 {
    ///         drop(tracing::info_span!("pay", error = i < 5));
    ///     }
    /// });
    /// let changes = alerts.evaluate(&metrics);
    /// assert_eq!(changes.len(), 1);
    /// assert_eq!(changes[0].kind, TransitionKind::Fired);
    /// assert!(alerts.evaluate(&metrics).is_empty()); // still firing: no new transition
    /// ```
    pub fn evaluate(&mut self, metrics: &MetricsLayer) -> Vec<Transition> {
        let mut snapshots: Vec<Snapshot> = Vec::new();
        let mut transitions = Vec::new();
        let mut since_start: Option<Snapshot> = None;
        for tracked in &mut self.tracked {
            if let (Some(operation), false) = (&tracked.rule.operation, tracked.warned_unseen) {
                let seen = since_start.get_or_insert_with(|| metrics.snapshot(Window::SinceStart));
                // Other operations have traffic and this one never had: a
                // name that matches nothing (a typo, or a span name where
                // the rows are keyed by route).
                if !seen.operations.is_empty() && seen.get(operation).is_none() {
                    tracked.warned_unseen = true;
                    let known: Vec<&str> = seen
                        .operations
                        .iter()
                        .take(10)
                        .map(|o| o.operation.as_str())
                        .collect();
                    tracing::warn!(
                        target: "warden::metrics",
                        rule = tracked.rule.name(),
                        operation = operation.as_str(),
                        "alert rule {} names operation {:?}, which has never been seen; operations seen: {}",
                        tracked.rule.name(),
                        operation,
                        known.join(", ")
                    );
                }
            }
            let window = tracked.rule.window;
            let snapshot = match snapshots.iter().position(|s| s.window == window) {
                Some(i) => &snapshots[i],
                None => {
                    snapshots.push(metrics.snapshot(window));
                    &snapshots[snapshots.len() - 1]
                }
            };
            let value = tracked.rule.value(snapshot);
            tracked.last_value = value;
            let breached = tracked.rule.breached(value);
            let needed = match tracked.state {
                AlertState::Ok => tracked.rule.for_periods,
                AlertState::Firing => tracked
                    .rule
                    .resolve_periods
                    .unwrap_or(tracked.rule.for_periods),
            };
            // The streak counts evaluations in a row pointing away from the
            // current state.
            let toward_change = match tracked.state {
                AlertState::Ok => breached,
                AlertState::Firing => !breached,
            };
            tracked.streak = if toward_change { tracked.streak + 1 } else { 0 };
            if tracked.streak < needed {
                continue;
            }
            tracked.streak = 0;
            let kind = match tracked.state {
                AlertState::Ok => TransitionKind::Fired,
                AlertState::Firing => TransitionKind::Resolved,
            };
            tracked.state = match kind {
                TransitionKind::Fired => AlertState::Firing,
                TransitionKind::Resolved => AlertState::Ok,
            };
            tracked.changed_at = Some(std::time::SystemTime::now());
            transitions.push(Transition {
                rule: tracked.rule.name.clone(),
                operation: tracked.rule.operation.clone(),
                kind,
                value,
                threshold: tracked.rule.threshold,
            });
        }
        for transition in &transitions {
            let callbacks = match transition.kind {
                TransitionKind::Fired => &self.on_fire,
                TransitionKind::Resolved => &self.on_resolve,
            };
            callbacks.iter().for_each(|f| f(transition));
            log(transition);
        }
        transitions
    }

    /// Evaluates every `period` (usually [`Alerts::DEFAULT_PERIOD`]) in a
    /// background thread until the handle is dropped.
    ///
    /// ```
    /// use std::time::Duration;
    /// use warden_metrics::{AlertState, Alerts, MetricsLayer, Rule};
    ///
    /// let metrics = MetricsLayer::new();
    /// let handle = Alerts::new()
    ///     .rule(Rule::p95("checkout").above(Duration::from_secs(2)))
    ///     .on_fire(|t| eprintln!("ALERT {} fired at {:?}", t.rule, t.value))
    ///     .spawn(metrics.clone(), Duration::from_secs(60));
    /// assert!(handle.states().iter().all(|(_, state)| *state == AlertState::Ok));
    /// ```
    pub fn spawn(self, metrics: MetricsLayer, period: Duration) -> AlertsHandle {
        let alerts = Arc::new(Mutex::new(self));
        let stop = Arc::new(AtomicBool::new(false));
        let thread = {
            let (alerts, stop) = (Arc::clone(&alerts), Arc::clone(&stop));
            std::thread::Builder::new()
                .name("warden-alerts".into())
                .spawn(move || {
                    while !stop.load(Ordering::Acquire) {
                        std::thread::park_timeout(period);
                        if stop.load(Ordering::Acquire) {
                            break;
                        }
                        if let Ok(mut alerts) = alerts.lock() {
                            alerts.evaluate(&metrics);
                        }
                    }
                })
                .ok()
        };
        AlertsHandle {
            alerts,
            stop,
            thread,
        }
    }
}

/// Logs a transition as an audit event: a WARN when a rule fires, an INFO
/// when it resolves.
fn log(t: &Transition) {
    let operation = t.operation.as_deref().unwrap_or("");
    macro_rules! transition {
        ($level:ident, $action:literal, $outcome:literal, $verb:literal) => {
            tracing::$level!(
                target: warden_core::AUDIT_TARGET,
                event_type = "ALERT",
                action = $action,
                outcome = $outcome,
                rule = t.rule.as_str(),
                operation,
                value = t.value,
                threshold = t.threshold,
                "alert {} {}",
                t.rule,
                $verb
            )
        };
    }
    match t.kind {
        TransitionKind::Fired => transition!(warn, "alert_fired", "FIRED", "fired"),
        TransitionKind::Resolved => transition!(info, "alert_resolved", "RESOLVED", "resolved"),
    }
}

/// The background evaluation of [`Alerts::spawn`]; stops when dropped.
#[derive(Debug)]
pub struct AlertsHandle {
    alerts: Arc<Mutex<Alerts>>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl AlertsHandle {
    /// Each rule's name and state.
    pub fn states(&self) -> Vec<(String, AlertState)> {
        self.alerts.lock().map(|a| a.states()).unwrap_or_default()
    }

    /// Each rule as it stands.
    pub fn report(&self) -> Vec<AlertStatus> {
        self.view().report()
    }

    /// A view of these alerts that can be cloned and kept (by an HTTP
    /// endpoint, say) while the handle evaluates them.
    pub fn view(&self) -> AlertsView {
        AlertsView(Arc::clone(&self.alerts))
    }
}

/// A read-only, cloneable view of alerts being evaluated by an
/// [`AlertsHandle`] (or of an [`Alerts`] given to [`AlertsView::new`]).
#[derive(Clone, Debug)]
pub struct AlertsView(Arc<Mutex<Alerts>>);

impl AlertsView {
    /// A view of `alerts` held here (evaluate it with [`AlertsView::evaluate`]).
    pub fn new(alerts: Alerts) -> Self {
        AlertsView(Arc::new(Mutex::new(alerts)))
    }

    /// Evaluates the rules once (see [`Alerts::evaluate`]).
    pub fn evaluate(&self, metrics: &MetricsLayer) -> Vec<Transition> {
        self.0
            .lock()
            .map(|mut a| a.evaluate(metrics))
            .unwrap_or_default()
    }

    /// Each rule as it stands.
    pub fn report(&self) -> Vec<AlertStatus> {
        self.0.lock().map(|a| a.report()).unwrap_or_default()
    }
}

impl Drop for AlertsHandle {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Release);
        if let Some(thread) = self.thread.take() {
            thread.thread().unpark();
            let _ = thread.join();
        }
    }
}
