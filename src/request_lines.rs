//! A failed request's debug lines: the events a request logs below the log
//! directives, held in the request until it ends, written if it failed and
//! dropped if it did not.
//!
//! [`RequestLines`] is a part of the stack (`init()`'s, with
//! [`WardenBuilder::request_lines`](crate::WardenBuilder::request_lines);
//! or a layer beside a [`StackFilter`](crate::StackFilter) with
//! [`held_level`](crate::StackFilter::held_level)):
//!
//! - The filter enables the events its directives turn down at the held
//!   level (DEBUG by default) and above, marked *held*
//!   (`warden_core::internal::mark_event_held`): no log sink writes them.
//! - This part, right after the PII gate (which sanitizes the event as it
//!   does every event), copies a held event into its request (the root
//!   span of its span: its call site, its time, its span, its values) and
//!   stops it there, so that a held line costs the gate's scan and its
//!   copy, and no formatting.
//! - A request *fails* when an `ERROR` event happens inside it, when one
//!   of its spans records `error` (any value but `false`; the request
//!   layer's 5xx does) or `otel.status_code = "ERROR"`, or on
//!   [`RequestLines::flush_current`]. Its held lines are then dispatched
//!   again, in order, each with its own time and span (its root if its own
//!   has closed) and the correlation ID of the request: through the PII
//!   gate, which sanitizes them as it does every event, to every sink, which
//!   writes them with `"buffered": true`. They are written before the
//!   `ERROR` line that failed the request; once it failed, its later held
//!   lines are written as they come.
//! - A request that ends without failing drops its held lines.
//! - Each request holds at most `max_events` lines and `max_bytes` of them,
//!   and all requests together at most `memory` bytes; a line past a bound
//!   is dropped. Every line is counted: held, written, discarded (its
//!   request ended clean), dropped (a bound), in [`RequestLinesStats`] and
//!   in `/metrics`.
//!
//! With [`RequestLinesBuilder::sanitize_held`]`(false)`, the part stands
//! before the gate instead: the held values are copied as the application
//! logged them and sanitized only if they are written (the gate's scan is
//! then paid only by requests that fail), and nothing held leaves the
//! process unless it went through the gate.

use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use tracing::dispatcher::WeakDispatch;
use tracing::level_filters::LevelFilter;
use tracing::span::{Id, Record};
use tracing::{Dispatch, Event, Level, Metadata, Subscriber};
use tracing_subscriber::Layer;
use tracing_subscriber::layer::Context;
use tracing_subscriber::registry::{ExtensionsMut, LookupSpan, SpanRef};
use warden_core::internal::{
    LocalPool, Pool, event_held, event_logged, mark_event_logged, random_u64, replayed_at,
    replaying, wall_since_epoch_at,
};
use warden_core::{
    Callbacks, CorrelationId, DebugText, FieldRef, FieldValue, Moment, Opening, OwnedFields,
    SpanPart, WardenSpan, visit_fields,
};

/// What one held line is counted as, besides its text: its record and
/// each field's slot (an estimate of what it takes in memory).
const LINE_OVERHEAD: usize = 96;
const FIELD_OVERHEAD: usize = 48;

/// Holds each request's lines below the log level until it ends; see the
/// [module](self). Cheap to clone: clones share their counts.
///
/// ```
/// use tracing::level_filters::LevelFilter;
/// use tracing_subscriber::prelude::*;
/// use warden::StackFilter;
/// use warden::request_lines::RequestLines;
///
/// let lines = RequestLines::builder().level(LevelFilter::DEBUG).build();
/// let subscriber = tracing_subscriber::registry()
///     .with(StackFilter::parse("info")?.held_level(lines.level()))
///     .with(lines.clone())
///     .with(warden::json::JsonLayer::new().with_writer(std::io::sink));
/// tracing::subscriber::with_default(subscriber, || {
///     let _request = tracing::info_span!("request").entered();
///     tracing::debug!("cache miss"); // held
///     tracing::error!("payment refused"); // the request failed: "cache miss" is written first
/// });
/// assert_eq!((lines.stats().held, lines.stats().written), (1, 1));
/// # Ok::<(), String>(())
/// ```
#[derive(Clone, Debug)]
pub struct RequestLines {
    shared: Arc<Shared>,
}

/// Configures [`RequestLines`].
#[derive(Clone, Debug)]
pub struct RequestLinesBuilder {
    level: LevelFilter,
    max_events: usize,
    max_bytes: usize,
    memory: usize,
    sample: Option<f64>,
    slow: Duration,
    audit_targets: Vec<String>,
    sanitize_held: bool,
}

/// What [`RequestLines`] did with the lines it held, since it was built.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RequestLinesStats {
    /// Lines held in their request.
    pub held: u64,
    /// Held lines written because their request failed.
    pub written: u64,
    /// Held lines dropped because their request ended without failing.
    pub discarded: u64,
    /// Lines not held because their request held `max_events` lines or
    /// `max_bytes` already.
    pub dropped_request_full: u64,
    /// Lines not held because all requests held `memory` bytes already.
    pub dropped_memory: u64,
    /// Bytes held now, all requests together.
    pub bytes_held: u64,
    /// Requests sampling did not keep that ended clean and fast (their
    /// lines are counted in `discarded`).
    pub requests_sampled_out: u64,
    /// Requests sampling did not keep whose lines were written because
    /// they failed or were slow.
    pub requests_kept_late: u64,
}

#[derive(Debug)]
struct Shared {
    level: LevelFilter,
    max_events: usize,
    max_bytes: usize,
    memory: usize,
    /// Requests whose ID hashes below this are kept.
    sample: Option<u64>,
    slow: Duration,
    audit_targets: Vec<String>,
    sanitize_held: bool,
    requests_sampled_out: AtomicU64,
    requests_kept_late: AtomicU64,
    in_use: AtomicUsize,
    held: AtomicU64,
    written: AtomicU64,
    discarded: AtomicU64,
    dropped_request_full: AtomicU64,
    dropped_memory: AtomicU64,
    /// The stack, to write held lines into.
    dispatch: OnceLock<WeakDispatch>,
}

/// A request's held lines, in a slot of its root span's [`WardenSpan`]:
/// every line's values in two arenas (`values`, and `text` for the text of
/// string and `Debug` values), so that holding a line allocates nothing
/// once the record has grown. Records come from a per-thread pool.
#[derive(Debug, Default)]
struct Request {
    lines: Vec<Held>,
    values: Vec<Value>,
    text: String,
    bytes: usize,
    failed: bool,
}

/// One held line.
#[derive(Debug)]
struct Held {
    meta: &'static Metadata<'static>,
    at: Moment,
    /// Its span, if not the root.
    span: Option<Id>,
    /// Its values: `Request::values[start..end]`.
    values: (u32, u32),
    /// Held until the request fails (below the log level), not because
    /// sampling did not keep the request: a slow request does not write it.
    for_failure: bool,
}

/// One held value: its field's index in the call site's field set, and
/// the value (text as a range of `Request::text`).
#[derive(Debug)]
struct Value {
    index: usize,
    kind: Kind,
}

#[derive(Debug)]
enum Kind {
    Str(u32, u32),
    Debug(u32, u32),
    I64(i64),
    U64(u64),
    F64(f64),
    Bool(bool),
    /// 128-bit integers, bytes, errors (their chain): rare, kept whole.
    Other(Box<FieldValue>),
}

thread_local! {
    /// Request records given back when their request ended, for reuse.
    static RECORDS: Pool<Box<Request>, 64> = const { Pool::new() };
}

impl Request {
    /// A record from this thread's pool, or a new one.
    fn take() -> Box<Request> {
        RECORDS.take_one().unwrap_or_default()
    }

    /// Empties the record and gives it back to this thread's pool (kept
    /// only if it did not grow past what a request usually holds).
    fn recycle(mut self: Box<Self>) {
        if self.text.capacity() > 64 * 1024 || self.lines.capacity() > 1024 {
            return;
        }
        self.lines.clear();
        self.values.clear();
        self.text.clear();
        self.bytes = 0;
        self.failed = false;
        RECORDS.give_back(self);
    }

    /// Copies `event`'s values in: returns the line's values and the bytes
    /// it counts for.
    fn copy(&mut self, event: &Event<'_>) -> ((u32, u32), usize) {
        let start = self.values.len();
        let text_before = self.text.len();
        let (values, text) = (&mut self.values, &mut self.text);
        visit_fields(event, |field, value| {
            let at = || text.len() as u32;
            let kind = match value {
                FieldRef::Str(s) => {
                    let from = at();
                    text.push_str(s);
                    Kind::Str(from, text.len() as u32)
                }
                FieldRef::Debug(d) => {
                    let from = at();
                    let _ = write!(text, "{d:?}");
                    Kind::Debug(from, text.len() as u32)
                }
                FieldRef::I64(n) => Kind::I64(n),
                FieldRef::U64(n) => Kind::U64(n),
                FieldRef::F64(n) => Kind::F64(n),
                FieldRef::Bool(b) => Kind::Bool(b),
                other => Kind::Other(Box::new(FieldValue::from_ref(other))),
            };
            values.push(Value {
                index: field.index(),
                kind,
            });
        });
        let n = self.values.len() - start;
        let bytes = LINE_OVERHEAD + n * FIELD_OVERHEAD + (self.text.len() - text_before);
        ((start as u32, self.values.len() as u32), bytes)
    }

    /// Forgets the values of a line that was not held after all.
    fn forget(&mut self, (start, _): (u32, u32), text_before: usize) {
        self.values.truncate(start as usize);
        self.text.truncate(text_before);
    }

    /// A held line's values, owned, to dispatch again.
    fn fields_of(&self, line: &Held) -> OwnedFields {
        let mut fields = OwnedFields::with_len(line.meta.fields().len());
        let (start, end) = line.values;
        let text = |from: u32, to: u32| {
            self.text
                .get(from as usize..to as usize)
                .unwrap_or_default()
                .to_owned()
        };
        for value in self
            .values
            .get(start as usize..end as usize)
            .unwrap_or_default()
        {
            let owned = match &value.kind {
                Kind::Str(from, to) => FieldValue::Str(text(*from, *to)),
                Kind::Debug(from, to) => FieldValue::Debug(DebugText::from(text(*from, *to))),
                Kind::I64(n) => FieldValue::I64(*n),
                Kind::U64(n) => FieldValue::U64(*n),
                Kind::F64(n) => FieldValue::F64(*n),
                Kind::Bool(b) => FieldValue::Bool(*b),
                Kind::Other(other) => (**other).clone(),
            };
            fields.set(value.index, owned);
        }
        fields
    }
}

impl Default for RequestLinesBuilder {
    fn default() -> Self {
        RequestLinesBuilder {
            level: LevelFilter::DEBUG,
            max_events: 256,
            max_bytes: 64 * 1024,
            memory: 32 * 1024 * 1024,
            sample: None,
            slow: Duration::from_secs(1),
            audit_targets: vec![warden_core::AUDIT_TARGET.to_owned()],
            sanitize_held: true,
        }
    }
}

impl RequestLinesBuilder {
    /// The most verbose level held (default DEBUG: DEBUG lines are held
    /// and TRACE ones not, when the directives write neither).
    pub fn level(mut self, level: LevelFilter) -> Self {
        self.level = level;
        self
    }

    /// At most this many lines held per request (default 256).
    pub fn max_events(mut self, n: usize) -> Self {
        self.max_events = n;
        self
    }

    /// At most this many bytes held per request (default 64 KiB).
    pub fn max_bytes(mut self, bytes: usize) -> Self {
        self.max_bytes = bytes;
        self
    }

    /// At most this many bytes held by all requests together (default
    /// 32 MiB).
    pub fn memory(mut self, bytes: usize) -> Self {
        self.memory = bytes;
        self
    }

    /// Keeps only this share of requests' lines at INFO and below (`0.1`:
    /// one request in ten; default: every request). A request is kept or
    /// not by its correlation ID, so that every service that sees the ID
    /// decides the same (see [`keeps`]); one without an ID is drawn at
    /// random. A request not kept holds its lines until it ends, and
    /// writes them anyway if it failed (as for its DEBUG lines) or ran
    /// longer than [`slow`](Self::slow): no failed or slow request is ever
    /// sampled out. `WARN` and `ERROR` lines, audit events and what is
    /// logged outside any request are never sampled.
    ///
    /// ```
    /// use std::time::Duration;
    ///
    /// let lines = warden::request_lines::RequestLines::builder()
    ///     .sample(0.1)
    ///     .slow(Duration::from_millis(500))
    ///     .build();
    /// # drop(lines);
    /// ```
    pub fn sample(mut self, ratio: f64) -> Self {
        self.sample = Some(ratio.clamp(0.0, 1.0));
        self
    }

    /// A request that ran at least this long is slow: its lines are
    /// written even if sampling did not keep it (default 1 s).
    pub fn slow(mut self, threshold: Duration) -> Self {
        self.slow = threshold;
        self
    }

    /// Whether each line is sanitized as it is held (default `true`: in
    /// `init()`'s stack the part stands after the PII gate, which scans
    /// every held line, so that no raw copy waits in memory for the length
    /// of its request), or only if it is written (`false`: the part stands
    /// before the gate, and a held line costs its copy alone; the gate
    /// scans it when its request fails, like any event, so nothing raw
    /// leaves the process either). BENCHMARKS.md has both costs. Beside a
    /// gate of your own, put the part after the gate, or before it.
    ///
    /// ```
    /// use warden::request_lines::RequestLines;
    ///
    /// assert!(RequestLines::builder().build().sanitizes_held());
    /// let cheaper = RequestLines::builder().sanitize_held(false).build();
    /// assert!(!cheaper.sanitizes_held());
    /// ```
    pub fn sanitize_held(mut self, yes: bool) -> Self {
        self.sanitize_held = yes;
        self
    }

    /// Also never sample the events of `target` (or below it): an audit
    /// layer's own target (`audit` always is). `init()` adds its audit
    /// layer's.
    pub fn audit_target(mut self, target: impl Into<String>) -> Self {
        self.audit_targets.push(target.into());
        self
    }

    /// The part, ready for a stack.
    pub fn build(self) -> RequestLines {
        if self.sample.is_some() {
            // Exporters look for requests' verdicts from now on.
            warden_core::internal::sampling_started();
        }
        RequestLines {
            shared: Arc::new(Shared {
                level: self.level,
                max_events: self.max_events,
                max_bytes: self.max_bytes,
                memory: self.memory,
                // The share as a bound on a 64-bit hash (1.0: all of them).
                sample: self.sample.map(|r| (r * u64::MAX as f64) as u64),
                slow: self.slow,
                audit_targets: self.audit_targets,
                sanitize_held: self.sanitize_held,
                requests_sampled_out: AtomicU64::new(0),
                requests_kept_late: AtomicU64::new(0),
                in_use: AtomicUsize::new(0),
                held: AtomicU64::new(0),
                written: AtomicU64::new(0),
                discarded: AtomicU64::new(0),
                dropped_request_full: AtomicU64::new(0),
                dropped_memory: AtomicU64::new(0),
                dispatch: OnceLock::new(),
            }),
        }
    }
}

impl Default for RequestLines {
    fn default() -> Self {
        RequestLines::builder().build()
    }
}

impl RequestLines {
    /// A builder with the defaults: DEBUG, 256 lines and 64 KiB per
    /// request, 32 MiB in all.
    pub fn builder() -> RequestLinesBuilder {
        RequestLinesBuilder::default()
    }

    /// The most verbose level held: give it to the stack's filter
    /// ([`StackFilter::held_level`](crate::StackFilter::held_level)).
    pub fn level(&self) -> LevelFilter {
        self.shared.level
    }

    /// Whether lines are to be sanitized as they are held
    /// ([`RequestLinesBuilder::sanitize_held`]).
    pub fn sanitizes_held(&self) -> bool {
        self.shared.sanitize_held
    }

    /// What it did with the lines it held.
    pub fn stats(&self) -> RequestLinesStats {
        let s = &self.shared;
        let load = |n: &AtomicU64| n.load(Ordering::Relaxed);
        RequestLinesStats {
            held: load(&s.held),
            written: load(&s.written),
            discarded: load(&s.discarded),
            dropped_request_full: load(&s.dropped_request_full),
            dropped_memory: load(&s.dropped_memory),
            bytes_held: s.in_use.load(Ordering::Relaxed) as u64,
            requests_sampled_out: load(&s.requests_sampled_out),
            requests_kept_late: load(&s.requests_kept_late),
        }
    }

    /// Fails the current request (the root of the current span) of the
    /// current dispatcher: its held lines are written now, and its later
    /// ones as they come. Returns how many were written; 0 outside a
    /// request or when the dispatcher's registry is not
    /// `tracing_subscriber`'s.
    ///
    /// ```
    /// # use tracing_subscriber::prelude::*;
    /// # let lines = warden::request_lines::RequestLines::default();
    /// # let subscriber = tracing_subscriber::registry()
    /// #     .with(warden::StackFilter::parse("info").unwrap().held_level(lines.level()))
    /// #     .with(lines.clone());
    /// # tracing::subscriber::with_default(subscriber, || {
    /// let _request = tracing::info_span!("request").entered();
    /// tracing::debug!("retrying the payment provider");
    /// // A failure the code knows of without an ERROR line:
    /// assert_eq!(lines.flush_current(), 1);
    /// # });
    /// ```
    pub fn flush_current(&self) -> usize {
        tracing::dispatcher::get_default(|dispatch| {
            let Some(registry) = dispatch.downcast_ref::<tracing_subscriber::Registry>() else {
                return 0;
            };
            let Some(id) = dispatch.current_span().id().cloned() else {
                return 0;
            };
            let Some(span) = registry.span(&id) else {
                return 0;
            };
            let root = root_of(span);
            let lines = self.fail(&root);
            self.write(lines, &root.id(), |_| true)
        })
    }

    /// Marks the request failed and takes its held lines out (in a
    /// record of their own, the request keeping a fresh one).
    fn fail<S>(&self, root: &SpanRef<'_, S>) -> Option<Box<Request>>
    where
        S: Subscriber + for<'a> LookupSpan<'a>,
    {
        let mut extensions = root.extensions_mut();
        let shared = WardenSpan::of_mut(&mut extensions)?;
        if shared.kept() == Some(false) {
            // Sampling did not keep it; failing, it is kept whole (its
            // spans too).
            shared.set_kept(true);
            self.shared
                .requests_kept_late
                .fetch_add(1, Ordering::Relaxed);
        }
        match shared.slot_mut::<Request>() {
            Some(request) => {
                request.failed = true;
                if request.lines.is_empty() {
                    return None;
                }
                self.release(request.bytes);
                let mut fresh = Request::take();
                fresh.failed = true;
                Some(std::mem::replace(request, *fresh).into())
            }
            None => {
                let mut failed = Request::take();
                failed.failed = true;
                let _ = shared.put_slot(failed);
                None
            }
        }
    }

    /// Writes a record's held lines (those `keep` picks) again through the
    /// stack, in order: each inside its own span while it is open, else
    /// inside the root (or the root alone, when the registry is not
    /// `tracing_subscriber`'s); the others are counted discarded. The
    /// record goes back to the pool.
    fn write(
        &self,
        request: Option<Box<Request>>,
        root: &Id,
        keep: impl Fn(&Held) -> bool,
    ) -> usize {
        let Some(request) = request else {
            return 0;
        };
        let s = &self.shared;
        let kept = request.lines.iter().filter(|l| keep(l)).count();
        s.discarded
            .fetch_add((request.lines.len() - kept) as u64, Ordering::Relaxed);
        let dispatch = match s.dispatch.get().and_then(WeakDispatch::upgrade) {
            Some(dispatch) if kept > 0 => dispatch,
            _ => {
                // Nothing to write, or no stack to write into any more.
                s.discarded.fetch_add(kept as u64, Ordering::Relaxed);
                request.recycle();
                return 0;
            }
        };
        let registry = dispatch.downcast_ref::<tracing_subscriber::Registry>();
        for line in request.lines.iter().filter(|l| keep(l)) {
            let parent = match &line.span {
                Some(id) if registry.is_some_and(|r| r.span(id).is_some()) => id.clone(),
                _ => root.clone(),
            };
            let at = wall_since_epoch_at(line.at);
            let fields = request.fields_of(line);
            fields.with_value_set(line.meta.fields(), |values| {
                let event = Event::new_child_of(parent, line.meta, values);
                replaying(at, || dispatch.event(&event));
            });
        }
        s.written.fetch_add(kept as u64, Ordering::Relaxed);
        request.recycle();
        kept
    }

    /// Gives back `bytes` of the memory bound.
    fn release(&self, bytes: usize) {
        if bytes > 0 {
            self.shared.in_use.fetch_sub(bytes, Ordering::Relaxed);
        }
    }

    /// Holds `event` in the request of `root`: a line below the log level
    /// (`for_failure`), or one sampling may not keep. Returns whether the
    /// event goes on as it is instead (its request failed already, or
    /// sampling keeps it).
    fn hold<S>(
        &self,
        event: &Event<'_>,
        span: &SpanRef<'_, S>,
        root: &SpanRef<'_, S>,
        for_failure: bool,
    ) -> bool
    where
        S: Subscriber + for<'a> LookupSpan<'a>,
    {
        let s = &self.shared;
        let mut extensions = root.extensions_mut();
        let Some(shared) = WardenSpan::of_mut(&mut extensions) else {
            return false;
        };
        if shared.slot::<Request>().is_some_and(|r| r.failed) {
            return true;
        }
        if !for_failure {
            let kept = match shared.kept() {
                Some(kept) => kept,
                None => {
                    // Not decided when it opened (no sampling part then).
                    let kept = self.keeps_request(shared.correlation_id());
                    shared.set_kept(kept);
                    kept
                }
            };
            if kept {
                return true;
            }
        }
        let request = match shared.slot_mut::<Request>() {
            Some(request) => request,
            None => {
                let _ = shared.put_slot(Request::take());
                match shared.slot_mut::<Request>() {
                    Some(request) => request,
                    None => return false,
                }
            }
        };
        if request.lines.len() >= s.max_events {
            s.dropped_request_full.fetch_add(1, Ordering::Relaxed);
            return false;
        }
        let text_before = request.text.len();
        let (values, bytes) = request.copy(event);
        if request.bytes + bytes > s.max_bytes {
            request.forget(values, text_before);
            s.dropped_request_full.fetch_add(1, Ordering::Relaxed);
            return false;
        }
        if s.in_use.fetch_add(bytes, Ordering::Relaxed) + bytes > s.memory {
            s.in_use.fetch_sub(bytes, Ordering::Relaxed);
            request.forget(values, text_before);
            s.dropped_memory.fetch_add(1, Ordering::Relaxed);
            return false;
        }
        let own = span.id();
        request.lines.push(Held {
            meta: event.metadata(),
            at: Moment::now(),
            span: (own != root.id()).then_some(own),
            values,
            for_failure,
        });
        request.bytes += bytes;
        s.held.fetch_add(1, Ordering::Relaxed);
        false
    }

    /// Whether sampling keeps the request with correlation ID `id` (one
    /// without: drawn at random).
    fn keeps_request(&self, id: Option<&CorrelationId>) -> bool {
        let Some(bound) = self.shared.sample else {
            return true;
        };
        let hash = match id {
            Some(id) => id.with_str(hash_id),
            None => random_u64(),
        };
        hash <= bound && bound > 0
    }

    /// Whether an event of `target` is an audit event (never sampled).
    fn is_audit(&self, target: &str) -> bool {
        self.shared
            .audit_targets
            .iter()
            .any(|a| crate::filter::target_is_under(target, a))
    }

    /// Marks the request of `span` failed if `fields` say so.
    fn watch<S, R>(&self, fields: &R, span: SpanRef<'_, S>)
    where
        S: Subscriber + for<'a> LookupSpan<'a>,
        R: warden_core::RecordFields + ?Sized,
    {
        if !says_failed(fields) {
            return;
        }
        let root = root_of(span);
        let lines = self.fail(&root);
        self.write(lines, &root.id(), |_| true);
    }
}

/// Whether sampling at `ratio` keeps the request with correlation ID `id`:
/// the same answer in every process, for any service to reproduce —
/// FNV-1a (64 bits) of the ID's text, mixed by SplitMix64's finalizer,
/// at most `ratio` × 2⁶⁴.
///
/// ```
/// use warden::request_lines::keeps;
///
/// assert!(keeps("0193a4f2-7c1e-7d5a-9b1e-3f2a1c0d4e5f", 1.0));
/// assert!(!keeps("0193a4f2-7c1e-7d5a-9b1e-3f2a1c0d4e5f", 0.0));
/// let kept = (0..10_000).filter(|n| keeps(&format!("req-{n}"), 0.1)).count();
/// assert!((900..1_100).contains(&kept), "{kept}");
/// ```
pub fn keeps(id: &str, ratio: f64) -> bool {
    let bound = (ratio.clamp(0.0, 1.0) * u64::MAX as f64) as u64;
    bound > 0 && hash_id(id) <= bound
}

/// FNV-1a of `id`, mixed (SplitMix64's finalizer) so that IDs that differ
/// in their last characters spread over the whole range.
fn hash_id(id: &str) -> u64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in id.bytes() {
        hash ^= u64::from(byte);
        hash = hash.wrapping_mul(0x0100_0000_01b3);
    }
    hash ^= hash >> 30;
    hash = hash.wrapping_mul(0xbf58_476d_1ce4_e5b9);
    hash ^= hash >> 27;
    hash = hash.wrapping_mul(0x94d0_49bb_1331_11eb);
    hash ^ (hash >> 31)
}

/// Whether a span's fields say it failed: `error` (any value but
/// `false`) or `otel.status_code = "ERROR"`, as the metrics layer counts
/// errors.
fn says_failed<R: warden_core::RecordFields + ?Sized>(fields: &R) -> bool {
    let mut failed = false;
    visit_fields(fields, |field, value| match field.name() {
        "error" => failed |= !matches!(value, FieldRef::Bool(false)),
        "otel.status_code" => {
            failed |= matches!(value, FieldRef::Str(s) if s.eq_ignore_ascii_case("error"));
        }
        _ => {}
    });
    failed
}

/// The root of `span`'s tree: its request.
fn root_of<'a, S>(span: SpanRef<'a, S>) -> SpanRef<'a, S>
where
    S: Subscriber + for<'l> LookupSpan<'l>,
{
    let mut span = span;
    while let Some(parent) = span.parent() {
        span = parent;
    }
    span
}

impl<S> Layer<S> for RequestLines
where
    S: Subscriber + for<'a> LookupSpan<'a>,
{
    warden_core::part_callbacks!(S: on_new_span, on_close);

    fn on_register_dispatch(&self, dispatch: &Dispatch) {
        let _ = self.shared.dispatch.set(dispatch.downgrade());
    }

    fn event_enabled(&self, event: &Event<'_>, ctx: Context<'_, S>) -> bool {
        if replayed_at().is_some() {
            return true;
        }
        let meta = event.metadata();
        if *meta.level() == Level::ERROR {
            // The request failed: what it held is written before this line.
            if let Some(span) = ctx.event_span(event) {
                let root = root_of(span);
                let lines = self.fail(&root);
                self.write(lines, &root.id(), |_| true);
            }
            return true;
        }
        let for_failure = event_held(meta);
        if !for_failure
            && (self.shared.sample.is_none()
                || *meta.level() < Level::INFO
                || !event_logged(meta)
                || self.is_audit(meta.target()))
        {
            // Neither held below the log level nor sampled.
            return true;
        }
        // Held, if inside a request: else nobody writes a held one, and a
        // line outside requests is not sampled.
        let Some(span) = ctx.event_span(event) else {
            return !for_failure;
        };
        let above = span.parent().map(root_of);
        let root = above.as_ref().unwrap_or(&span);
        if self.hold(event, &span, root, for_failure) {
            // Its request failed already: written as it comes.
            mark_event_logged(meta, true);
            return true;
        }
        false
    }

    fn on_record(&self, id: &Id, values: &Record<'_>, ctx: Context<'_, S>) {
        if let Some(span) = ctx.span(id) {
            self.watch(values, span);
        }
    }
}

impl<S> SpanPart<S> for RequestLines
where
    S: Subscriber + for<'a> LookupSpan<'a>,
{
    fn callbacks(&self) -> Callbacks {
        Callbacks::EVENT_ENABLED
            .and(Callbacks::RECORD)
            .and(Callbacks::OPEN)
            .and(Callbacks::BEFORE_CLOSE)
    }

    fn open(&self, opening: &Opening<'_, '_, S>, extensions: &mut ExtensionsMut<'_>) {
        // A request is sampled when it opens (after the correlation part
        // gave it its ID), so that an exporter knows whether to hold its
        // spans; and it fails at once if it opens with `error` set. A span
        // below it opened so is not seen (its root may be locked by another
        // part now); one that records `error` later is.
        let sampling = self.shared.sample.is_some();
        let fields = opening.attrs.fields();
        let error = fields.field("error").is_some() || fields.field("otel.status_code").is_some();
        if !sampling && !error {
            return;
        }
        if opening.span.parent().is_some() {
            return;
        }
        let Some(shared) = WardenSpan::of_mut(extensions) else {
            return;
        };
        if sampling {
            let kept = self.keeps_request(shared.correlation_id());
            shared.set_kept(kept);
        }
        if error && says_failed(opening.attrs) {
            let mut failed = Request::take();
            failed.failed = true;
            let _ = shared.put_slot(failed);
            if shared.kept() == Some(false) {
                shared.set_kept(true);
                self.shared
                    .requests_kept_late
                    .fetch_add(1, Ordering::Relaxed);
            }
        }
    }

    fn before_close(&self, span: &SpanRef<'_, S>) {
        if span.parent().is_some() {
            return;
        }
        let s = &self.shared;
        let (request, failed, slow, unkept) = {
            let mut extensions = span.extensions_mut();
            let Some(shared) = extensions.get_mut::<WardenSpan>() else {
                return;
            };
            let request = shared.take_slot::<Request>();
            let failed = shared.had_error_event() || request.as_ref().is_some_and(|r| r.failed);
            let unkept = shared.kept() == Some(false);
            let slow = unkept && Moment::now().saturating_duration_since(shared.opened()) >= s.slow;
            if unkept && (failed || slow) {
                // Kept after all: an exporter sends its spans.
                shared.set_kept(true);
            }
            (request, failed, slow, unkept)
        };
        if unkept {
            let counter = if failed || slow {
                &s.requests_kept_late
            } else {
                &s.requests_sampled_out
            };
            counter.fetch_add(1, Ordering::Relaxed);
        }
        let Some(request) = request else {
            return;
        };
        self.release(request.bytes);
        if failed {
            self.write(Some(request), &span.id(), |_| true);
            return;
        }
        // Ended clean: a slow request not kept writes what sampling held
        // (its lines below the log level are still only for a failure).
        let write_sampled = unkept && slow;
        self.write(Some(request), &span.id(), |line| {
            write_sampled && !line.for_failure
        });
    }
}
