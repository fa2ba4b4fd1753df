//! `MetricsLayer`: per-operation counts, errors, durations and in-flight
//! gauges from the spans the application already has.

use std::sync::Arc;
use std::time::{Duration, Instant};

use tracing_core::span::{Attributes, Id, Record};
use tracing_core::{Event, Level, Subscriber};
use tracing_subscriber::field::RecordFields;
use tracing_subscriber::layer::{Context, Layer};
use tracing_subscriber::registry::LookupSpan;
use warden_core::{FieldRef, visit_fields};

use crate::recorder::{Recorder, Sample};
use crate::snapshot::{Snapshot, Window};

/// What a span's duration measures.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Timing {
    /// Wall time from creation to close (default).
    #[default]
    Wall,
    /// Time spent entered (busy), not counting time the span was idle,
    /// such as an async span waiting on I/O.
    Busy,
}

/// Collects per-operation latency, error and in-flight metrics from spans.
///
/// - The operation is the span's name, or the value of a configured field
///   (`http.route`, `operation`) when the span has it.
/// - A span is an error when it has a field `error` (any value but
///   `false`), `otel.status_code = "ERROR"`, or when an ERROR event
///   happened inside it; `error.code`, `error_code` or `error.type` give
///   the error's code, counted separately.
/// - At most `max_operations` (default 1,000) operations are tracked; spans
///   of others are counted under `__overflow__`, so memory stays bounded.
/// - Recording takes no global lock: each thread records into a shard of
///   its own, and reading merges the shards.
///
/// ```
/// use tracing_subscriber::prelude::*;
/// use warden_metrics::{MetricsLayer, Window};
///
/// let metrics = MetricsLayer::new();
/// let subscriber = tracing_subscriber::registry().with(metrics.clone());
/// tracing::subscriber::with_default(subscriber, || {
///     for _ in 0..10 {
///         let _span = tracing::info_span!("checkout").entered();
///     }
///     let span = tracing::info_span!("checkout", error = true);
///     drop(span);
/// });
/// let snapshot = metrics.snapshot(Window::SinceStart);
/// let checkout = snapshot.get("checkout").unwrap();
/// assert_eq!((checkout.count, checkout.errors), (11, 1));
/// println!("{snapshot}");
/// ```
#[derive(Clone, Debug)]
pub struct MetricsLayer {
    shared: Arc<Shared>,
}

#[derive(Debug)]
struct Shared {
    recorder: Recorder,
    operation_field: Option<&'static str>,
    timing: Timing,
}

/// Configures a [`MetricsLayer`].
#[derive(Clone, Debug)]
pub struct MetricsLayerBuilder {
    operation_field: Option<&'static str>,
    timing: Timing,
    max_operations: usize,
    shards: usize,
}

impl Default for MetricsLayer {
    fn default() -> Self {
        Self::builder().build()
    }
}

impl MetricsLayer {
    /// Operations by span name, wall time, at most 1,000 operations.
    pub fn new() -> Self {
        Self::default()
    }

    /// A builder.
    ///
    /// ```
    /// use tracing_subscriber::prelude::*;
    /// use warden_metrics::{MetricsLayer, Window};
    ///
    /// let metrics = MetricsLayer::builder()
    ///     .operation_field("http.route") // one row per route, not per span name
    ///     .max_operations(500)
    ///     .build();
    /// let subscriber = tracing_subscriber::registry().with(metrics.clone());
    /// tracing::subscriber::with_default(subscriber, || {
    ///     drop(tracing::info_span!("request", http.route = "/orders/{id}"));
    ///     drop(tracing::info_span!("request", http.route = "/health"));
    /// });
    /// let snapshot = metrics.snapshot(Window::SinceStart);
    /// assert_eq!(snapshot.get("/orders/{id}").map(|op| op.count), Some(1));
    /// assert_eq!(snapshot.operations.len(), 2);
    /// ```
    pub fn builder() -> MetricsLayerBuilder {
        MetricsLayerBuilder {
            operation_field: None,
            timing: Timing::Wall,
            max_operations: 1_000,
            shards: 16,
        }
    }

    /// This layer's identity among metrics layers of one stack.
    /// The per-operation statistics (for encoders in this crate).
    pub(crate) fn recorder(&self) -> &Recorder {
        &self.shared.recorder
    }

    fn owner(&self) -> usize {
        Arc::as_ptr(&self.shared) as usize
    }

    /// The metrics of every operation over `window`.
    ///
    /// ```
    /// use tracing_subscriber::prelude::*;
    /// use warden_metrics::{MetricsLayer, Window};
    ///
    /// let metrics = MetricsLayer::new();
    /// let subscriber = tracing_subscriber::registry().with(metrics.clone());
    /// tracing::subscriber::with_default(subscriber, || {
    ///     for i in 0..10u64 {
    ///         drop(tracing::info_span!("checkout", error = i == 3));
    ///     }
    /// });
    /// let snapshot = metrics.snapshot(Window::SinceStart);
    /// let checkout = snapshot.get("checkout").unwrap();
    /// assert_eq!((checkout.count, checkout.errors), (10, 1));
    /// println!("{snapshot}"); // the p50/p90/p95/p99 table
    /// ```
    pub fn snapshot(&self, window: Window) -> Snapshot {
        let now = Instant::now();
        let recorder = &self.shared.recorder;
        Snapshot::build(
            recorder.merged(recorder.minute(now)),
            window,
            recorder.minute(now),
            recorder.overflowed(),
        )
    }
}

impl MetricsLayerBuilder {
    /// Names operations by this field's value when a span has it (e.g.
    /// `http.route`), else by the span's name.
    pub fn operation_field(mut self, field: &'static str) -> Self {
        self.operation_field = Some(field);
        self
    }

    /// What a span's duration measures (default wall time).
    pub fn timing(mut self, timing: Timing) -> Self {
        self.timing = timing;
        self
    }

    /// The most operations tracked (default 1,000); others count under
    /// `__overflow__`.
    pub fn max_operations(mut self, max: usize) -> Self {
        self.max_operations = max;
        self
    }

    /// The layer.
    pub fn build(self) -> MetricsLayer {
        MetricsLayer {
            shared: Arc::new(Shared {
                recorder: Recorder::new(self.shards, self.max_operations),
                operation_field: self.operation_field,
                timing: self.timing,
            }),
        }
    }
}

/// What the layer keeps in each span's extensions. The first metrics
/// layer of a stack keeps its own directly; others (rare: two layers with
/// different settings) keep theirs in [`MoreSpanMetrics`].
struct SpanMetrics {
    owner: usize,
    operation: Operation,
    started: Instant,
    busy: Duration,
    entered: Option<Instant>,
    entries: u32,
    error: bool,
    code: Option<String>,
}

/// The span metrics of further metrics layers in the same stack.
#[derive(Default)]
struct MoreSpanMetrics(Vec<SpanMetrics>);

type Ext<'a> = tracing_subscriber::registry::ExtensionsMut<'a>;

fn metrics_of<'e>(extensions: &'e mut Ext<'_>, owner: usize) -> Option<&'e mut SpanMetrics> {
    if extensions
        .get_mut::<SpanMetrics>()
        .is_some_and(|m| m.owner == owner)
    {
        return extensions.get_mut::<SpanMetrics>();
    }
    extensions
        .get_mut::<MoreSpanMetrics>()?
        .0
        .iter_mut()
        .find(|m| m.owner == owner)
}

fn insert_metrics(extensions: &mut Ext<'_>, metrics: SpanMetrics) {
    match extensions.get_mut::<SpanMetrics>() {
        Some(first) if first.owner != metrics.owner => {
            if extensions.get_mut::<MoreSpanMetrics>().is_none() {
                extensions.insert(MoreSpanMetrics::default());
            }
            if let Some(more) = extensions.get_mut::<MoreSpanMetrics>() {
                more.0.retain(|m| m.owner != metrics.owner);
                more.0.push(metrics);
            }
        }
        _ => {
            extensions.replace(metrics);
        }
    }
}

fn take_metrics(extensions: &mut Ext<'_>, owner: usize) -> Option<SpanMetrics> {
    if extensions
        .get_mut::<SpanMetrics>()
        .is_some_and(|m| m.owner == owner)
    {
        return extensions.remove::<SpanMetrics>();
    }
    let more = extensions.get_mut::<MoreSpanMetrics>()?;
    let at = more.0.iter().position(|m| m.owner == owner)?;
    Some(more.0.swap_remove(at))
}

/// An operation's name: the span's static name, or a field's value.
enum Operation {
    Static(&'static str),
    Owned(String),
}

impl Operation {
    fn as_str(&self) -> &str {
        match self {
            Operation::Static(s) => s,
            Operation::Owned(s) => s,
        }
    }
}

/// What a span's fields say about errors and the operation.
#[derive(Default)]
struct Findings {
    error: Option<bool>,
    code: Option<String>,
    operation: Option<String>,
}

fn text(value: FieldRef<'_>) -> String {
    match value {
        FieldRef::Str(s) => s.to_owned(),
        FieldRef::Debug(d) => format!("{d:?}"),
        FieldRef::I64(n) => n.to_string(),
        FieldRef::U64(n) => n.to_string(),
        FieldRef::Error(e) => e.to_string(),
        other => format!("{other:?}"),
    }
}

fn inspect<R: RecordFields + ?Sized>(fields: &R, operation_field: Option<&str>) -> Findings {
    let mut found = Findings::default();
    visit_fields(fields, |field, value| match field.name() {
        "error" => found.error = Some(!matches!(value, FieldRef::Bool(false))),
        "otel.status_code" if text(value).eq_ignore_ascii_case("error") => found.error = Some(true),
        "error.code" | "error_code" | "error.type" => found.code = Some(text(value)),
        name if Some(name) == operation_field => found.operation = Some(text(value)),
        _ => {}
    });
    found
}

impl<S> Layer<S> for MetricsLayer
where
    S: Subscriber + for<'a> LookupSpan<'a>,
{
    fn on_new_span(&self, attrs: &Attributes<'_>, id: &Id, ctx: Context<'_, S>) {
        let Some(span) = ctx.span(id) else { return };
        let meta = attrs.metadata();
        let wants_field = self
            .shared
            .operation_field
            .is_some_and(|f| meta.fields().field(f).is_some());
        let has_error_fields = meta.fields().iter().any(|f| {
            matches!(
                f.name(),
                "error" | "otel.status_code" | "error.code" | "error_code" | "error.type"
            )
        });
        let found = if wants_field || has_error_fields {
            inspect(attrs, self.shared.operation_field)
        } else {
            Findings::default()
        };
        let operation = match found.operation {
            Some(name) => Operation::Owned(name),
            None => Operation::Static(meta.name()),
        };
        self.shared.recorder.started_span(operation.as_str());
        insert_metrics(
            &mut span.extensions_mut(),
            SpanMetrics {
                owner: self.owner(),
                operation,
                started: Instant::now(),
                busy: Duration::ZERO,
                entered: None,
                entries: 0,
                error: found.error.unwrap_or(false),
                code: found.code,
            },
        );
    }

    fn on_record(&self, id: &Id, values: &Record<'_>, ctx: Context<'_, S>) {
        let Some(span) = ctx.span(id) else { return };
        let found = inspect(values, self.shared.operation_field);
        let mut extensions = span.extensions_mut();
        let Some(metrics) = extensions.get_mut::<SpanMetrics>() else {
            return;
        };
        if let Some(error) = found.error {
            metrics.error = error;
        }
        if found.code.is_some() {
            metrics.code = found.code;
        }
        if let Some(name) = found.operation {
            if name != metrics.operation.as_str() {
                // The in-flight count follows the span to its new name.
                self.shared
                    .recorder
                    .moved_span(metrics.operation.as_str(), &name);
                metrics.operation = Operation::Owned(name);
            }
        }
    }

    fn on_event(&self, event: &Event<'_>, ctx: Context<'_, S>) {
        if *event.metadata().level() != Level::ERROR {
            return;
        }
        if let Some(span) = ctx.event_span(event) {
            if let Some(metrics) = metrics_of(&mut span.extensions_mut(), self.owner()) {
                metrics.error = true;
            }
        }
    }

    fn on_enter(&self, id: &Id, ctx: Context<'_, S>) {
        if self.shared.timing != Timing::Busy {
            return;
        }
        if let Some(span) = ctx.span(id) {
            if let Some(metrics) = metrics_of(&mut span.extensions_mut(), self.owner()) {
                // Entered again while entered (re-entrant): counted once.
                if metrics.entries == 0 {
                    metrics.entered = Some(Instant::now());
                }
                metrics.entries += 1;
            }
        }
    }

    fn on_exit(&self, id: &Id, ctx: Context<'_, S>) {
        if self.shared.timing != Timing::Busy {
            return;
        }
        if let Some(span) = ctx.span(id) {
            if let Some(metrics) = metrics_of(&mut span.extensions_mut(), self.owner()) {
                metrics.entries = metrics.entries.saturating_sub(1);
                if metrics.entries == 0 {
                    if let Some(entered) = metrics.entered.take() {
                        metrics.busy += entered.elapsed();
                    }
                }
            }
        }
    }

    fn on_close(&self, id: Id, ctx: Context<'_, S>) {
        let Some(span) = ctx.span(&id) else { return };
        let Some(metrics) = take_metrics(&mut span.extensions_mut(), self.owner()) else {
            return;
        };
        let now = Instant::now();
        let duration = match self.shared.timing {
            Timing::Wall => now.saturating_duration_since(metrics.started),
            Timing::Busy => metrics.busy + metrics.entered.map_or(Duration::ZERO, |e| now - e),
        };
        self.shared.recorder.closed_span(
            Sample {
                operation: metrics.operation.as_str(),
                duration,
                error: metrics.error,
                code: metrics.code.as_deref(),
            },
            now,
        );
    }
}
