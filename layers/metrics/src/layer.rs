//! `MetricsLayer`: per-operation counts, errors, durations and in-flight
//! gauges from the spans the application already has.

use std::sync::Arc;
use std::time::Duration;

use tracing_core::span::{Attributes, Id, Record};
use tracing_core::{Event, Level, LevelFilter, Subscriber};
use tracing_subscriber::field::RecordFields;
use tracing_subscriber::layer::{Context, Layer};
use tracing_subscriber::registry::{LookupSpan, SpanRef};
use warden_core::internal::{LocalPool, LocalSiteCache, Pool, SiteCache, SiteKey};
use warden_core::{Callbacks, FieldRef, Moment, Opening, SpanPart, WardenSpan, visit_fields};

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
    span_level: LevelFilter,
}

/// Configures a [`MetricsLayer`].
#[derive(Clone, Debug)]
pub struct MetricsLayerBuilder {
    operation_field: Option<&'static str>,
    timing: Timing,
    max_operations: usize,
    shards: usize,
    span_level: LevelFilter,
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
            span_level: LevelFilter::INFO,
        }
    }

    /// This layer's identity among metrics layers of one stack.
    /// The per-operation statistics (for encoders in this crate).
    pub(crate) fn recorder(&self) -> &Recorder {
        &self.shared.recorder
    }

    /// The least severe level of the spans this layer needs: a warden stack
    /// (`warden::StackFilter`) enables spans at this level and above
    /// whatever its log filter says, so that `RUST_LOG=warn` still times
    /// every operation. INFO unless set with
    /// [`MetricsLayerBuilder::span_level`].
    ///
    /// ```
    /// use tracing::level_filters::LevelFilter;
    ///
    /// assert_eq!(warden_metrics::MetricsLayer::new().span_level(), LevelFilter::INFO);
    /// ```
    pub fn span_level(&self) -> LevelFilter {
        self.shared.span_level
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
        let now = Moment::now();
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

    /// The least severe level of spans a warden stack enables for this
    /// layer whatever its log filter says (default INFO): with
    /// `LevelFilter::DEBUG`, DEBUG spans are timed at `RUST_LOG=warn` too.
    /// Spans the log filter enables are timed whatever their level.
    ///
    /// ```
    /// use tracing::level_filters::LevelFilter;
    ///
    /// let metrics = warden_metrics::MetricsLayer::builder().span_level(LevelFilter::DEBUG).build();
    /// assert_eq!(metrics.span_level(), LevelFilter::DEBUG);
    /// ```
    pub fn span_level(mut self, level: LevelFilter) -> Self {
        self.span_level = level;
        self
    }

    /// The layer.
    pub fn build(self) -> MetricsLayer {
        // The span clock calibrates on its first reading: here, not in a
        // logging call.
        let _ = Moment::now();
        MetricsLayer {
            shared: Arc::new(Shared {
                recorder: Recorder::new(self.shards, self.max_operations),
                operation_field: self.operation_field,
                timing: self.timing,
                span_level: self.span_level,
            }),
        }
    }
}

/// A span's timing and outcome as the layer keeps them while it is open:
/// its state for a span, in its slot of the span's [`WardenSpan`] record.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub(crate) struct SpanMeasure {
    /// Which layer this belongs to (two metrics layers with different
    /// settings may share a stack).
    owner: usize,
    /// The operation, when a field names it; `None` means the span's name.
    operation: Option<String>,
    /// The recorder's index of the operation, to find its statistics
    /// again without hashing the name.
    operation_index: usize,
    /// Time spent entered, so far.
    busy: Duration,
    /// When it was last entered, while it is.
    entered: Option<Moment>,
    /// How deep it is entered now (re-entrant spans count once).
    entries: u32,
    /// Whether a field marked it an error.
    error: bool,
    /// The error's code, from a field.
    code: Option<String>,
}

thread_local! {
    /// Measures' boxes kept for reuse: a span's slot allocates nothing.
    static MEASURES: Pool<Box<SpanMeasure>, 64> = const { Pool::new() };
}

/// The first metrics layer of a stack keeps its measure in the span's
/// record; others (rare: two layers with different settings) keep theirs
/// here, with when the span opened.
#[derive(Default)]
struct MoreSpanMetrics(Vec<(Box<SpanMeasure>, Moment)>);

type Ext<'a> = tracing_subscriber::registry::ExtensionsMut<'a>;

/// This layer's measure of the span, and when the span opened.
fn measure_of<'e>(extensions: &'e mut Ext<'_>, owner: usize) -> Option<&'e mut SpanMeasure> {
    let first = |e: &mut Ext<'_>| {
        e.get_mut::<WardenSpan>()
            .and_then(|s| s.slot::<SpanMeasure>())
            .is_some_and(|m| m.owner == owner)
    };
    if first(extensions) {
        return extensions
            .get_mut::<WardenSpan>()?
            .slot_mut::<SpanMeasure>();
    }
    extensions
        .get_mut::<MoreSpanMetrics>()?
        .0
        .iter_mut()
        .find(|(m, _)| m.owner == owner)
        .map(|(m, _)| &mut **m)
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

/// Marks that an `ERROR` event happened in `span`.
fn mark_error<S>(span: Option<&SpanRef<'_, S>>)
where
    S: Subscriber + for<'a> LookupSpan<'a>,
{
    if let Some(span) = span {
        if let Some(record) = span.extensions_mut().get_mut::<WardenSpan>() {
            record.mark_error_event();
        }
    }
}

thread_local! {
    /// Whether spans of a call site have a field the layer reads, by call
    /// site and recorder.
    static INSPECTED: SiteCache<bool, 16> = const { SiteCache::new(false) };
}

/// A closing span's measure, taken out of its extensions.
struct Closed {
    metrics: Box<SpanMeasure>,
    opened: Moment,
    now: Moment,
    error_event: bool,
}

impl MetricsLayer {
    /// Starts measuring a new span, in its extensions.
    fn open_measure(&self, attrs: &Attributes<'_>, extensions: &mut Ext<'_>) {
        let meta = attrs.metadata();
        let found = if self.fields_to_inspect(meta) {
            inspect(attrs, self.shared.operation_field)
        } else {
            Findings::default()
        };
        let operation_index = match found.operation.as_deref() {
            Some(name) => self.shared.recorder.started_span(name, None),
            None => {
                let callsite = meta as *const tracing_core::Metadata<'static> as usize;
                self.shared
                    .recorder
                    .started_span(meta.name(), Some(callsite))
            }
        };
        let mut measure = MEASURES.take_one().unwrap_or_default();
        *measure = SpanMeasure {
            owner: self.owner(),
            operation: found.operation,
            operation_index,
            error: found.error.unwrap_or(false),
            code: found.code,
            ..SpanMeasure::default()
        };
        let Some(record) = WardenSpan::of_mut(extensions) else {
            return;
        };
        let opened = record.opened();
        // The record's slot, unless another metrics layer's is there: then
        // this one's is kept among the others, with when the span opened.
        let owner = self.owner();
        match record.put_slot_unless(measure, |old| old.owner != owner) {
            Ok(replaced) => replaced.into_iter().for_each(|old| MEASURES.give_back(old)),
            Err(mine) => {
                let more = extensions.get_mut::<MoreSpanMetrics>();
                if more.is_none() {
                    extensions.insert(MoreSpanMetrics(vec![(mine, opened)]));
                } else if let Some(more) = more {
                    more.0.retain(|(m, _)| m.owner != owner);
                    more.0.push((mine, opened));
                }
            }
        }
    }

    /// Whether spans of `meta`'s call site have a field this layer reads
    /// (the operation field, or one that marks an error), remembered per
    /// call site and thread.
    fn fields_to_inspect(&self, meta: &'static tracing_core::Metadata<'static>) -> bool {
        let site = meta as *const tracing_core::Metadata<'static> as usize;
        // The recorder's number, unique (a layer's address could be reused
        // by another with another operation field).
        let key = SiteKey::new(self.shared.recorder.id(), site);
        INSPECTED.cached(key, || {
            let wants_field = self
                .shared
                .operation_field
                .is_some_and(|f| meta.fields().field(f).is_some());
            wants_field
                || meta.fields().iter().any(|f| {
                    matches!(
                        f.name(),
                        "error" | "otel.status_code" | "error.code" | "error_code" | "error.type"
                    )
                })
        })
    }

    /// Takes this layer's measure out of a closing span's extensions.
    fn take_measure(&self, extensions: &mut Ext<'_>) -> Option<Closed> {
        let owner = self.owner();
        let record = extensions.get_mut::<WardenSpan>()?;
        let now = record.closed();
        let error_event = record.had_error_event();
        let first = record
            .slot::<SpanMeasure>()
            .is_some_and(|m| m.owner == owner);
        let (metrics, opened) = if first {
            (record.take_slot::<SpanMeasure>()?, record.opened())
        } else {
            // Another layer's is in the record: this one's is among the
            // others.
            let more = extensions.get_mut::<MoreSpanMetrics>()?;
            let at = more.0.iter().position(|(m, _)| m.owner == owner)?;
            more.0.swap_remove(at)
        };
        Some(Closed {
            metrics,
            opened,
            now,
            error_event,
        })
    }

    /// Records a closed span's measure.
    fn record_close(&self, closed: Closed) {
        let Closed {
            metrics,
            opened,
            now,
            error_event,
        } = closed;
        let duration = match self.shared.timing {
            Timing::Wall => now.saturating_duration_since(opened),
            Timing::Busy => {
                metrics.busy
                    + metrics
                        .entered
                        .map_or(Duration::ZERO, |e| now.saturating_duration_since(e))
            }
        };
        self.shared.recorder.closed_span(
            Sample {
                operation: metrics.operation_index,
                duration,
                error: metrics.error || error_event,
                code: metrics.code.as_deref(),
            },
            now,
        );
        MEASURES.give_back(metrics);
    }
}

impl<S> Layer<S> for MetricsLayer
where
    S: Subscriber + for<'a> LookupSpan<'a>,
{
    warden_core::part_callbacks!(S: on_new_span, on_close, on_event);

    fn on_record(&self, id: &Id, values: &Record<'_>, ctx: Context<'_, S>) {
        let Some(span) = ctx.span(id) else { return };
        let found = inspect(values, self.shared.operation_field);
        if found.error.is_none() && found.code.is_none() && found.operation.is_none() {
            return;
        }
        let mut extensions = span.extensions_mut();
        let Some(measure) = measure_of(&mut extensions, self.owner()) else {
            return;
        };
        if let Some(error) = found.error {
            measure.error = error;
        }
        if found.code.is_some() {
            measure.code = found.code;
        }
        if let Some(name) = found.operation {
            let current = measure.operation.as_deref().unwrap_or(span.name());
            if name != current {
                // The in-flight count follows the span to its new name.
                measure.operation_index = self
                    .shared
                    .recorder
                    .moved_span(measure.operation_index, &name);
                measure.operation = Some(name);
            }
        }
    }

    fn on_enter(&self, id: &Id, ctx: Context<'_, S>) {
        if self.shared.timing != Timing::Busy {
            return;
        }
        if let Some(span) = ctx.span(id) {
            if let Some(metrics) = measure_of(&mut span.extensions_mut(), self.owner()) {
                // Entered again while entered (re-entrant): counted once.
                if metrics.entries == 0 {
                    metrics.entered = Some(Moment::now());
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
            if let Some(metrics) = measure_of(&mut span.extensions_mut(), self.owner()) {
                metrics.entries = metrics.entries.saturating_sub(1);
                if metrics.entries == 0 {
                    if let Some(entered) = metrics.entered.take() {
                        metrics.busy += Moment::now().saturating_duration_since(entered);
                    }
                }
            }
        }
    }
}

impl<S> SpanPart<S> for MetricsLayer
where
    S: Subscriber + for<'a> LookupSpan<'a>,
{
    /// `ERROR` events, recorded error and operation fields, and entering
    /// and leaving spans when it times busy time.
    fn callbacks(&self) -> Callbacks {
        let callbacks = Callbacks::EVENT
            .and(Callbacks::RECORD)
            .and(Callbacks::OPEN)
            .and(Callbacks::CLOSE);
        match self.shared.timing {
            Timing::Busy => callbacks.and(Callbacks::ENTER_EXIT),
            Timing::Wall => callbacks,
        }
    }

    fn open(&self, opening: &Opening<'_, '_, S>, extensions: &mut Ext<'_>) {
        self.open_measure(opening.attrs, extensions);
    }

    fn event(&self, event: &Event<'_>, span: Option<&SpanRef<'_, S>>, _ctx: Context<'_, S>) {
        if *event.metadata().level() == Level::ERROR {
            mark_error(span);
        }
    }

    fn close(&self, _span: &SpanRef<'_, S>, extensions: &mut Ext<'_>) {
        if let Some(closed) = self.take_measure(extensions) {
            self.record_close(closed);
        }
    }
}
