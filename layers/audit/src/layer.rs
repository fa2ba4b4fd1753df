//! `AuditLayer`: picks audit events out of the stream and routes their
//! records to sinks through bounded queues and writer threads.

use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crossbeam_channel::{
    bounded, Receiver, RecvTimeoutError, SendTimeoutError, Sender, TryRecvError, TrySendError,
};
use tracing_core::{Event, Subscriber};
use tracing_subscriber::layer::{Context, Layer};
use tracing_subscriber::registry::LookupSpan;
use warden_core::{CorrelationId, FlushError, FlushResult};
use warden_pii::Sanitizer;

use crate::chain::AuditKey;
use crate::error::AuditError;
use crate::from_event::{capture, record_from_captured, AuditFields, Captured};
use crate::record::{AuditLevel, AuditRecord, EventType, Outcome};
use crate::sink::{AuditSink, SqliteSink};

/// When the logging call returns.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Durability {
    /// As soon as the record is queued; the writer commits it within its
    /// batching delay (default).
    #[default]
    Batched,
    /// Once the record is committed by every sink of the route, or after
    /// `timeout` (then the record stays queued and the wait is counted as
    /// a timeout): fail-closed auditing for the events that need it.
    Sync {
        /// The longest the logging call waits.
        timeout: Duration,
    },
}

/// What happens when a route's queue is full.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Overflow {
    /// Wait for space at most this long, then drop (counted).
    Block(Duration),
    /// Drop at once (counted).
    Drop,
}

impl Default for Overflow {
    /// Wait up to 100 ms.
    fn default() -> Self {
        Overflow::Block(Duration::from_millis(100))
    }
}

/// Which records a route takes.
#[derive(Clone, Debug, Default)]
pub struct RouteFilter {
    min_level: Option<AuditLevel>,
    event_types: Option<Vec<EventType>>,
    target_prefix: Option<String>,
}

impl RouteFilter {
    /// Every record.
    pub fn all() -> Self {
        Self::default()
    }

    /// Only records at `level` or above (`INFO` < `WARNING` < `ERROR` <
    /// `SECURITY`).
    pub fn min_level(mut self, level: AuditLevel) -> Self {
        self.min_level = Some(level);
        self
    }

    /// Only records of these types.
    pub fn event_types(mut self, types: impl IntoIterator<Item = EventType>) -> Self {
        self.event_types = Some(types.into_iter().collect());
        self
    }

    /// Only events whose target starts with `prefix`.
    pub fn target(mut self, prefix: impl Into<String>) -> Self {
        self.target_prefix = Some(prefix.into());
        self
    }

    fn matches(&self, level: AuditLevel, event_type: &EventType, target: &str) -> bool {
        self.min_level.is_none_or(|min| level >= min)
            && self
                .event_types
                .as_ref()
                .is_none_or(|types| types.contains(event_type))
            && self
                .target_prefix
                .as_deref()
                .is_none_or(|prefix| target.starts_with(prefix))
    }
}

/// One route: a filter, the sinks it feeds, and its queue's policies.
pub struct Route {
    name: String,
    filter: RouteFilter,
    sinks: Vec<Box<dyn AuditSink>>,
    durability: Durability,
    overflow: Overflow,
    capacity: usize,
}

impl std::fmt::Debug for Route {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Route")
            .field("name", &self.name)
            .field("filter", &self.filter)
            .field(
                "sinks",
                &self.sinks.iter().map(|s| s.name()).collect::<Vec<_>>(),
            )
            .field("durability", &self.durability)
            .field("overflow", &self.overflow)
            .field("capacity", &self.capacity)
            .finish()
    }
}

impl Route {
    /// A route named `name` taking the records `filter` matches, batched,
    /// blocking up to 100 ms when its 16,384-record queue is full.
    pub fn new(name: impl Into<String>, filter: RouteFilter) -> Self {
        Route {
            name: name.into(),
            filter,
            sinks: Vec::new(),
            durability: Durability::Batched,
            overflow: Overflow::default(),
            capacity: 16_384,
        }
    }

    /// Adds a sink.
    pub fn sink(mut self, sink: impl AuditSink) -> Self {
        self.sinks.push(Box::new(sink));
        self
    }

    /// When the logging call returns.
    pub fn durability(mut self, durability: Durability) -> Self {
        self.durability = durability;
        self
    }

    /// What a full queue does.
    pub fn overflow(mut self, overflow: Overflow) -> Self {
        self.overflow = overflow;
        self
    }

    /// The queue's bound, in records (at least 1).
    pub fn capacity(mut self, capacity: usize) -> Self {
        self.capacity = capacity.max(1);
        self
    }
}

/// What the logging thread hands the writer.
enum Pending {
    /// An audit event, to be turned into a record by the writer.
    Event(Captured),
    /// A record built by hand.
    Record(Box<AuditRecord>),
}

impl Pending {
    fn routing(&self) -> (AuditLevel, &EventType) {
        match self {
            Pending::Event(c) => (c.audit_level, &c.event_type),
            Pending::Record(r) => (r.level, &r.event_type),
        }
    }
}

impl Clone for Pending {
    fn clone(&self) -> Self {
        match self {
            Pending::Event(c) => Pending::Event(c.clone()),
            Pending::Record(r) => Pending::Record(r.clone()),
        }
    }
}

enum Command {
    Record(Pending, Option<Sender<()>>),
    Flush(Sender<()>),
    Shutdown,
}

/// Counters of one route, shared with its writer.
#[derive(Debug, Default)]
struct Counters {
    queued: AtomicU64,
    written: AtomicU64,
    dropped: AtomicU64,
    unreported_loss: AtomicU64,
    sink_errors: AtomicU64,
    sync_timeouts: AtomicU64,
}

/// What a route has done so far.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RouteStats {
    /// The route's name.
    pub name: String,
    /// Records accepted into the queue.
    pub queued: u64,
    /// Records written by every sink.
    pub written: u64,
    /// Records lost to a full queue.
    pub dropped: u64,
    /// Failed sink writes (each retried).
    pub sink_errors: u64,
    /// `Sync` waits that timed out.
    pub sync_timeouts: u64,
}

struct RouteHandle {
    name: String,
    filter: RouteFilter,
    durability: Durability,
    overflow: Overflow,
    tx: Sender<Command>,
    counters: Arc<Counters>,
    capacity: usize,
    wake: std::thread::Thread,
    writer: Mutex<Option<JoinHandle<()>>>,
}

struct Shared {
    routes: Vec<RouteHandle>,
    target: String,
    /// Capture buffers the writers handed back.
    recycled: Receiver<AuditFields>,
    closed: AtomicBool,
}

/// A [`Layer`] that turns audit events into [`AuditRecord`]s and routes
/// them to sinks.
///
/// Audit events are those whose target is [`AUDIT_TARGET`](crate::AUDIT_TARGET)
/// (`audit`) or starts with `audit::`, plus those under a target of the
/// application's choosing ([`AuditLayerBuilder::target`]); the helper macros ([`security!`](crate::security) and
/// its siblings) log them. Each record goes to every route whose filter
/// matches. The logging thread only builds the record and enqueues it; a
/// writer thread per route batches records into its sinks. Nothing here
/// panics or blocks without bound: a full queue waits at most the route's
/// [`Overflow::Block`] time, then drops and counts, and a `SECURITY` record
/// stating the loss is written when space returns; a failing sink is
/// reported once on stderr, counted, and retried with the records kept.
///
/// ```no_run
/// use tracing_subscriber::prelude::*;
/// use warden_audit::AuditLayer;
///
/// let audit = AuditLayer::sqlite("audit.db")?;
/// let _guard = audit.guard(); // flushes and signs a checkpoint on drop
/// tracing_subscriber::registry().with(audit).init();
/// warden_audit::security!(action = "login_failed", user_id = "u-42", ip = "203.0.113.9");
/// # Ok::<(), warden_audit::AuditError>(())
/// ```
#[derive(Clone)]
pub struct AuditLayer {
    shared: Arc<Shared>,
}

impl std::fmt::Debug for AuditLayer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AuditLayer")
            .field("target", &self.shared.target)
            .field(
                "routes",
                &self
                    .shared
                    .routes
                    .iter()
                    .map(|r| &r.name)
                    .collect::<Vec<_>>(),
            )
            .finish()
    }
}

/// Configures an [`AuditLayer`].
#[derive(Debug)]
pub struct AuditLayerBuilder {
    routes: Vec<Route>,
    target: String,
    sanitizer: Option<Sanitizer>,
    ip_key: Option<AuditKey>,
}

impl AuditLayer {
    /// Every audit event to the SQLite store at `path` (created if
    /// missing), batched, with the store's key hashing client IPs.
    pub fn sqlite(path: impl AsRef<Path>) -> Result<Self, AuditError> {
        let path = path.as_ref();
        let key = AuditKey::for_store(path)?;
        let sink = SqliteSink::builder(path).key(key.clone()).build()?;
        Self::builder()
            .route(Route::new("sqlite", RouteFilter::all()).sink(sink))
            .ip_key(key)
            .build()
    }

    /// A builder with no routes yet.
    pub fn builder() -> AuditLayerBuilder {
        AuditLayerBuilder {
            routes: Vec::new(),
            target: warden_core::AUDIT_TARGET.into(),
            sanitizer: None,
            ip_key: None,
        }
    }

    /// Waits until every record queued so far is written by its sinks, or
    /// `timeout` passes.
    pub fn flush(&self, timeout: Duration) -> FlushResult {
        let deadline = Instant::now() + timeout;
        let mut waits = Vec::new();
        for route in &self.shared.routes {
            let (ack, done) = bounded(1);
            route
                .tx
                .send_deadline(Command::Flush(ack), deadline)
                .map_err(|e| match e {
                    SendTimeoutError::Timeout(_) => FlushError::Timeout(timeout),
                    SendTimeoutError::Disconnected(_) => FlushError::ShutDown,
                })?;
            route.wake.unpark();
            waits.push(done);
        }
        for done in waits {
            done.recv_deadline(deadline).map_err(|e| match e {
                RecvTimeoutError::Timeout => FlushError::Timeout(timeout),
                RecvTimeoutError::Disconnected => FlushError::ShutDown,
            })?;
        }
        Ok(())
    }

    /// Flushes, signs the stores' shutdown checkpoints and stops the
    /// writers (all within `timeout`). Later audit events are dropped and
    /// counted. A second call returns [`FlushError::ShutDown`]; a writer
    /// still busy at the deadline, [`FlushError::Timeout`].
    pub fn shutdown(&self, timeout: Duration) -> FlushResult {
        if self.shared.closed.swap(true, Ordering::AcqRel) {
            return Err(FlushError::ShutDown);
        }
        let mut result = Ok(());
        let deadline = Instant::now() + timeout;
        for route in &self.shared.routes {
            let _ = route.tx.send_deadline(Command::Shutdown, deadline);
            route.wake.unpark();
        }
        for route in &self.shared.routes {
            let handle = route.writer.lock().ok().and_then(|mut w| w.take());
            if let Some(handle) = handle {
                while !handle.is_finished() && Instant::now() < deadline {
                    std::thread::sleep(Duration::from_millis(2));
                }
                if handle.is_finished() {
                    let _ = handle.join();
                } else {
                    result = Err(FlushError::Timeout(timeout));
                }
            }
        }
        result
    }

    /// A guard that shuts the layer down (flush, checkpoint, stop) when
    /// dropped, waiting up to 5 seconds.
    pub fn guard(&self) -> AuditGuard {
        AuditGuard {
            layer: self.clone(),
            timeout: Duration::from_secs(5),
        }
    }

    /// Each route's counters.
    pub fn stats(&self) -> Vec<RouteStats> {
        self.shared
            .routes
            .iter()
            .map(|r| RouteStats {
                name: r.name.clone(),
                queued: r.counters.queued.load(Ordering::Relaxed),
                written: r.counters.written.load(Ordering::Relaxed),
                dropped: r.counters.dropped.load(Ordering::Relaxed),
                sink_errors: r.counters.sink_errors.load(Ordering::Relaxed),
                sync_timeouts: r.counters.sync_timeouts.load(Ordering::Relaxed),
            })
            .collect()
    }

    /// Records lost to full queues, over every route.
    pub fn dropped(&self) -> u64 {
        self.stats().iter().map(|s| s.dropped).sum()
    }

    /// Routes one record built by hand, as an audit event with `target`
    /// would be.
    pub fn submit(&self, record: AuditRecord, target: &str) {
        self.shared.route(Pending::Record(Box::new(record)), target);
    }

    fn is_audit_target(&self, target: &str) -> bool {
        let under = |prefix: &str| {
            target == prefix
                || (target.starts_with(prefix) && target[prefix.len()..].starts_with("::"))
        };
        under(&self.shared.target) || under(warden_core::AUDIT_TARGET)
    }
}

impl Shared {
    fn route(&self, record: Pending, target: &str) {
        let (level, event_type) = record.routing();
        let matches = |r: &&RouteHandle| r.filter.matches(level, event_type, target);
        // The last matching route takes the record; any before it, a copy.
        let Some(last) = self.routes.iter().rposition(|r| matches(&r)) else {
            return;
        };
        for route in self.routes[..last].iter().filter(matches) {
            self.send(route, record.clone());
        }
        self.send(&self.routes[last], record);
    }

    fn send(&self, route: &RouteHandle, record: Pending) {
        if self.closed.load(Ordering::Acquire) {
            route.counters.dropped.fetch_add(1, Ordering::Relaxed);
            return;
        }
        let (ack, confirmed) = match route.durability {
            Durability::Sync { timeout } => {
                let (tx, rx) = bounded(1);
                (Some(tx), Some((rx, timeout)))
            }
            Durability::Batched => (None, None),
        };
        let command = Command::Record(record, ack);
        let sent = match route.overflow {
            Overflow::Drop => route
                .tx
                .try_send(command)
                .map_err(|e| matches!(e, TrySendError::Full(_))),
            Overflow::Block(wait) => route
                .tx
                .send_timeout(command, wait)
                .map_err(|e| matches!(e, SendTimeoutError::Timeout(_))),
        };
        match sent {
            Ok(()) => {
                route.counters.queued.fetch_add(1, Ordering::Relaxed);
                if confirmed.is_some() || route.tx.len() > route.capacity / 2 {
                    route.wake.unpark();
                }
                if let Some((rx, timeout)) = confirmed {
                    if rx.recv_timeout(timeout).is_err() {
                        route.counters.sync_timeouts.fetch_add(1, Ordering::Relaxed);
                    }
                }
            }
            Err(_) => {
                route.counters.dropped.fetch_add(1, Ordering::Relaxed);
                route
                    .counters
                    .unreported_loss
                    .fetch_add(1, Ordering::Relaxed);
            }
        }
    }
}

impl AuditLayerBuilder {
    /// Adds a route.
    pub fn route(mut self, route: Route) -> Self {
        self.routes.push(route);
        self
    }

    /// Takes events whose target is `prefix` or starts with `prefix::`
    /// (default `audit`), for the application's own audit events. Events
    /// of warden's emitters (the macros, `#[audited]`, metrics alerts) carry
    /// [`AUDIT_TARGET`](crate::AUDIT_TARGET) and are taken whatever `prefix`
    /// is.
    pub fn target(mut self, prefix: impl Into<String>) -> Self {
        self.target = prefix.into();
        self
    }

    /// Sanitizes records with `sanitizer` (default: `Sanitizer::default()`).
    pub fn sanitizer(mut self, sanitizer: Sanitizer) -> Self {
        self.sanitizer = Some(sanitizer);
        self
    }

    /// Hashes client IPs with `key`. Without a key, client IPs are stored
    /// as `[REDACTED:IP_ADDRESS]`.
    pub fn ip_key(mut self, key: AuditKey) -> Self {
        self.ip_key = Some(key);
        self
    }

    /// Starts one writer thread per route.
    pub fn build(self) -> Result<AuditLayer, AuditError> {
        if self.routes.is_empty() {
            return Err(AuditError::Config(
                "an audit layer needs at least one route".into(),
            ));
        }
        let sanitizer = self.sanitizer.unwrap_or_default();
        let (recycle_tx, recycle_rx) = bounded(4096);
        let mut handles = Vec::new();
        for route in self.routes {
            if route.sinks.is_empty() {
                return Err(AuditError::Config(format!(
                    "route {:?} has no sink",
                    route.name
                )));
            }
            let (tx, rx) = bounded(route.capacity);
            let counters = Arc::new(Counters::default());
            let writer = Writer {
                rx,
                batch_limit: route.capacity.min(MAX_BATCH),
                recycle: recycle_tx.clone(),
                sanitizer: sanitizer.clone(),
                ip_key: self.ip_key.clone(),
                sinks: route.sinks,
                counters: Arc::clone(&counters),
                route: route.name.clone(),
                failing: false,
            };
            let thread = std::thread::Builder::new()
                .name(format!("warden-audit-{}", route.name))
                .spawn(move || writer.run())
                .map_err(|e| AuditError::Config(format!("cannot start the audit writer: {e}")))?;
            let wake = thread.thread().clone();
            handles.push(RouteHandle {
                capacity: route.capacity,
                wake,
                name: route.name,
                filter: route.filter,
                durability: route.durability,
                overflow: route.overflow,
                tx,
                counters,
                writer: Mutex::new(Some(thread)),
            });
        }
        Ok(AuditLayer {
            shared: Arc::new(Shared {
                routes: handles,
                target: self.target,
                recycled: recycle_rx,
                closed: AtomicBool::new(false),
            }),
        })
    }
}

/// Shuts an [`AuditLayer`] down when dropped: flushes, signs the shutdown
/// checkpoints, stops the writers.
#[must_use = "the guard shuts the audit layer down when it is dropped"]
#[derive(Debug)]
pub struct AuditGuard {
    layer: AuditLayer,
    timeout: Duration,
}

impl Drop for AuditGuard {
    fn drop(&mut self) {
        let _ = self.layer.shutdown(self.timeout);
    }
}

/// The most records one transaction takes.
const MAX_BATCH: usize = 4096;
/// How often the writer's sinks do their housekeeping.
const TICK: Duration = Duration::from_millis(250);
/// The longest a batched record waits in the queue before the writer
/// takes it.
const BATCH_DELAY: Duration = Duration::from_millis(5);

struct Writer {
    rx: Receiver<Command>,
    /// The most records taken out of the queue at once: no more than the
    /// queue holds, so that what waits for a stalled sink stays within
    /// about twice the route's bound.
    batch_limit: usize,
    recycle: Sender<AuditFields>,
    sanitizer: Sanitizer,
    ip_key: Option<AuditKey>,
    sinks: Vec<Box<dyn AuditSink>>,
    counters: Arc<Counters>,
    route: String,
    failing: bool,
}

impl Writer {
    fn run(mut self) {
        let mut batch: Vec<AuditRecord> = Vec::new();
        let mut acks: Vec<Sender<()>> = Vec::new();
        let mut shutting_down = false;
        let mut last_tick = Instant::now();
        while !shutting_down {
            // Nobody wakes the writer for a batched record: it drains the
            // queue every BATCH_DELAY, so a logging call never pays for a
            // wake-up. `Sync` records, flushes and a half-full queue unpark it.
            let mut received = false;
            while batch.len() < self.batch_limit {
                match self.rx.try_recv() {
                    Ok(command) => {
                        received = true;
                        shutting_down |= self.take(command, &mut batch, &mut acks);
                    }
                    Err(TryRecvError::Empty) => break,
                    Err(TryRecvError::Disconnected) => {
                        shutting_down = true;
                        break;
                    }
                }
            }
            let lost = self.counters.unreported_loss.swap(0, Ordering::AcqRel);
            if lost > 0 {
                batch.push(loss_record(lost, &self.route));
            }
            self.write_until_done(&mut batch, shutting_down);
            for ack in acks.drain(..) {
                let _ = ack.send(());
            }
            if last_tick.elapsed() >= TICK {
                last_tick = Instant::now();
                for sink in &mut self.sinks {
                    if let Err(e) = sink.tick() {
                        self.counters.sink_errors.fetch_add(1, Ordering::Relaxed);
                        if !self.failing {
                            eprintln!("warden-audit: route {}: {}: {e}", self.route, sink.name());
                        }
                    }
                }
            }
            if !received && !shutting_down {
                std::thread::park_timeout(BATCH_DELAY);
            }
        }
        for sink in &mut self.sinks {
            if let Err(e) = sink.close() {
                eprintln!("warden-audit: closing {}: {e}", sink.name());
            }
        }
    }

    /// Adds a command's record to the batch; whether it asks to stop.
    fn take(
        &self,
        command: Command,
        batch: &mut Vec<AuditRecord>,
        acks: &mut Vec<Sender<()>>,
    ) -> bool {
        match command {
            Command::Record(pending, ack) => {
                batch.push(match pending {
                    Pending::Record(record) => *record,
                    Pending::Event(captured) => {
                        let (record, buffers) =
                            record_from_captured(captured, &self.sanitizer, self.ip_key.as_ref());
                        let _ = self.recycle.try_send(buffers);
                        record
                    }
                });
                acks.extend(ack);
                false
            }
            Command::Flush(ack) => {
                acks.push(ack);
                false
            }
            Command::Shutdown => true,
        }
    }

    /// Writes the batch to every sink, retrying with backoff while a sink
    /// fails (the queue fills meanwhile, and its overflow policy applies).
    /// At shutdown, gives up after a few attempts.
    fn write_until_done(&mut self, batch: &mut Vec<AuditRecord>, shutting_down: bool) {
        if batch.is_empty() {
            return;
        }
        // Sinks that have already taken this batch are not given it twice.
        let mut done = vec![false; self.sinks.len()];
        let mut backoff = Duration::from_millis(50);
        let mut attempts = 0;
        loop {
            let mut all = true;
            for (i, sink) in self.sinks.iter_mut().enumerate() {
                if done[i] {
                    continue;
                }
                match sink.write(batch) {
                    Ok(()) => done[i] = true,
                    Err(e) => {
                        all = false;
                        self.counters.sink_errors.fetch_add(1, Ordering::Relaxed);
                        if !self.failing {
                            eprintln!("warden-audit: route {}: writing to {} failed: {e}; records are kept and retried", self.route, sink.name());
                        }
                        self.failing = true;
                    }
                }
            }
            if all {
                if self.failing {
                    eprintln!("warden-audit: route {}: writing resumed", self.route);
                    self.failing = false;
                }
                self.counters
                    .written
                    .fetch_add(batch.len() as u64, Ordering::Relaxed);
                batch.clear();
                return;
            }
            attempts += 1;
            if shutting_down && attempts >= 3 {
                eprintln!(
                    "warden-audit: route {}: {} records could not be written at shutdown",
                    self.route,
                    batch.len()
                );
                self.counters
                    .dropped
                    .fetch_add(batch.len() as u64, Ordering::Relaxed);
                batch.clear();
                return;
            }
            std::thread::sleep(backoff);
            backoff = (backoff * 2).min(Duration::from_secs(2));
        }
    }
}

/// The record that states how many records a route lost.
fn loss_record(lost: u64, route: &str) -> AuditRecord {
    let mut record = AuditRecord::new(EventType::Security, "audit_records_lost")
        .with_level(AuditLevel::Security)
        .with_outcome(Outcome::Failure);
    record.error_message = Some(format!(
        "{lost} audit records were dropped because the queue of route {route} was full"
    ));
    record.metadata.insert("lost".into(), lost.into());
    record.metadata.insert("route".into(), route.into());
    record
}

impl<S> Layer<S> for AuditLayer
where
    S: Subscriber + for<'a> LookupSpan<'a>,
{
    fn on_event(&self, event: &Event<'_>, ctx: Context<'_, S>) {
        let target = event.metadata().target();
        if !self.is_audit_target(target) {
            return;
        }
        let correlation = ctx
            .event_span(event)
            .and_then(|span| span.extensions().get::<CorrelationId>().cloned());
        let recycled = self.shared.recycled.try_recv().ok();
        let captured = capture(event, correlation, recycled);
        self.shared.route(Pending::Event(captured), target);
    }
}
