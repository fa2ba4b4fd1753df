//! `AuditLayer`: picks audit events out of the stream and routes their
//! records to sinks through bounded queues and writer threads.

#[cfg(feature = "sqlite")]
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crossbeam_channel::{
    Receiver, RecvTimeoutError, SendTimeoutError, Sender, TrySendError, bounded,
};
use tracing_core::{Event, Subscriber};
use tracing_subscriber::layer::{Context, Layer};
use tracing_subscriber::registry::{LookupSpan, SpanRef};
use warden_core::{Callbacks, FlushError, FlushResult, SpanPart};
use warden_pii::Sanitizer;

use crate::chain::AuditKey;
use crate::error::AuditError;
use crate::from_event::{AuditFields, capture};
use crate::identity::{DEFAULT_IDENTITY_FIELDS, Pseudonyms};
use crate::record::AuditRecord;
use crate::route::{Durability, Overflow, Route, RouteFilter, RouteStats};
#[cfg(feature = "sqlite")]
use crate::sqlite::SqliteSink;
use crate::writer::{Command, Counters, MAX_BATCH, Pending, Writer};

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
    /// What the logging thread takes from a gate's lent originals.
    pseudonyms: Option<Pseudonyms>,
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
/// The fields of an audit event it reads into the record's columns:
///
/// | field | column |
/// |---|---|
/// | `event_type` | the event type (`SECURITY`, `AUTHENTICATION`, … or a custom name; default `EVENT`) |
/// | `action` (else the message, else the callsite's name) | `action` |
/// | `outcome` | `SUCCESS` for `success`/`ok`/`succeeded`/`allowed`/`true`, `FIRED`/`RESOLVED` for `fired`/`resolved` (alerts; an `ALERT` without one is `FIRED` unless its action ends in `resolved`), else `FAILURE`; without it, `FAILURE` when there is an error message or the action's name says it failed (`login_failed`, `access_denied`, `token_rejected`…), else `SUCCESS` |
/// | `user_id` or `user` | `user_id`: a keyed hash with [`AuditLayerBuilder::pseudonym_key`] (see [`AuditKey::pseudonym`]), else the value sanitized |
/// | `resource_id` or `resource` | `resource_id` |
/// | `client_ip` or `ip` | `client_ip_hash`: a keyed hash with [`AuditLayerBuilder::pseudonym_key`], else `[REDACTED:IP_ADDRESS]` |
/// | `user_agent` | `user_agent` |
/// | `duration_ms` | `duration_ms` |
/// | `error_message` or `error` | `error_message` (an error's `source()` chain joined by `": "`) |
/// | `audit_level` | the level (default from the event type and the event's level) |
/// | `correlation_id` | `correlation_id` (default: the span's, from warden-correlation) |
/// | `parameters` | `metadata.parameters`, a JSON object (`#[audited]` writes it) |
///
/// Every other field goes into `metadata`, sanitized by its content and by
/// its name (a secret-named field is replaced whole), or as a keyed hash if
/// it is named in [`AuditLayerBuilder::identity_fields`].
///
/// # Identity fields behind a PII gate
///
/// A [`PiiLayer`](warden_pii::PiiLayer) in front of the audit layer
/// replaces an event that carries an email or an IP with a sanitized copy,
/// so the audit layer would see `[REDACTED:EMAIL]` for the user. The gate
/// therefore lends the original values of audit events (target `audit`,
/// or one added with `PiiLayer::with_audit_target`) to the audit layer for
/// the length of the dispatch, and the audit layer takes its identity
/// fields from them — to hash them, never to store them. Every other layer
/// sees the sanitized copy. `warden::init()` sets this up; in a hand-built
/// stack give the audit layer a [`pseudonym_key`](AuditLayerBuilder::pseudonym_key)
/// (as [`AuditLayer::sqlite`] does) and, for audit targets other than
/// `audit`, tell the gate with `with_audit_target`.
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
///
/// ```
/// use warden_audit::{AuditKey, AuditLayer, Route, RouteFilter, SqliteSink};
/// use warden_pii::Sanitizer;
/// # let dir = std::env::temp_dir().join(format!("warden-doc-{}-{}", std::process::id(), line!()));
/// # std::fs::create_dir_all(&dir)?;
/// let key = AuditKey::new(*b"a key of at least sixteen bytes")?;
/// let audit = AuditLayer::builder()
///     .route(Route::new("db", RouteFilter::all()).sink(SqliteSink::builder(dir.join("audit.db")).key(key.clone()).build()?))
///     .target("compliance") // besides `audit`, which warden's own emitters use
///     .sanitizer(Sanitizer::default())
///     .pseudonym_key(key) // users and client IPs stored as keyed hashes
///     .build()?;
/// # audit.shutdown(std::time::Duration::from_secs(5))?;
/// # std::fs::remove_dir_all(&dir)?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug)]
pub struct AuditLayerBuilder {
    routes: Vec<Route>,
    target: String,
    sanitizer: Option<Sanitizer>,
    pseudonym_key: Option<AuditKey>,
    identity_fields: Vec<String>,
}

impl AuditLayer {
    /// Every audit event to the SQLite store at `path` (created if
    /// missing), batched, with the store's key signing checkpoints and
    /// hashing the identity fields (users, client IPs).
    #[cfg(feature = "sqlite")]
    #[cfg_attr(docsrs, doc(cfg(feature = "sqlite")))]
    pub fn sqlite(path: impl AsRef<Path>) -> Result<Self, AuditError> {
        let path = path.as_ref();
        let key = AuditKey::for_store(path)?;
        let sink = SqliteSink::builder(path).key(key.clone()).build()?;
        Self::builder()
            .route(Route::new("sqlite", RouteFilter::all()).sink(sink))
            .pseudonym_key(key)
            .build()
    }

    /// A builder with no routes yet.
    pub fn builder() -> AuditLayerBuilder {
        AuditLayerBuilder {
            routes: Vec::new(),
            target: warden_core::AUDIT_TARGET.into(),
            sanitizer: None,
            pseudonym_key: None,
            identity_fields: DEFAULT_IDENTITY_FIELDS.map(String::from).to_vec(),
        }
    }

    /// Waits until every record queued so far is written by its sinks, or
    /// `timeout` passes.
    ///
    /// ```
    /// use std::time::Duration;
    /// use tracing_subscriber::prelude::*;
    /// use warden_audit::{AuditLayer, Route, RouteFilter, StdoutSink};
    ///
    /// let audit = AuditLayer::builder()
    ///     .route(Route::new("stdout", RouteFilter::all()).sink(StdoutSink::new()))
    ///     .build()?;
    /// tracing::subscriber::with_default(tracing_subscriber::registry().with(audit.clone()), || {
    ///     warden_audit::security!(action = "access_denied", outcome = "FAILURE");
    /// });
    /// audit.flush(Duration::from_secs(5))?; // written by every sink now
    /// assert_eq!(audit.stats()[0].written, 1);
    /// audit.shutdown(Duration::from_secs(5))?;
    /// assert_eq!(audit.flush(Duration::from_secs(1)), Err(warden_audit::FlushError::ShutDown));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
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
    ///
    /// ```
    /// use tracing_subscriber::prelude::*;
    /// use warden_audit::{AuditLayer, Route, RouteFilter, StdoutSink};
    ///
    /// let audit = AuditLayer::builder()
    ///     .route(Route::new("stdout", RouteFilter::all()).sink(StdoutSink::new()))
    ///     .build()?;
    /// let _guard = audit.guard(); // flush, checkpoint and stop when main returns
    /// tracing::subscriber::with_default(tracing_subscriber::registry().with(audit.clone()), || {
    ///     warden_audit::api_call!(action = "get_order", resource_id = "order-9");
    /// });
    /// # Ok::<(), warden_audit::AuditError>(())
    /// ```
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
            .map(|r| {
                let c = &r.counters;
                // A record is counted as queued once its send returns, so
                // the writer may count it written first: saturate.
                let statements = c.statements.load(Ordering::Relaxed);
                let written = c.written.load(Ordering::Relaxed);
                let abandoned = c.abandoned.load(Ordering::Relaxed);
                let queued = c.queued.load(Ordering::Relaxed);
                let done = written.saturating_sub(statements) + abandoned;
                (r, queued, written, queued.saturating_sub(done))
            })
            .map(|(r, queued, written, pending)| RouteStats {
                name: r.name.clone(),
                queued,
                written,
                pending,
                dropped: r.counters.dropped.load(Ordering::Relaxed),
                sink_errors: r.counters.sink_errors.load(Ordering::Relaxed),
                sync_timeouts: r.counters.sync_timeouts.load(Ordering::Relaxed),
                failing_since: match r.counters.failing_since_us.load(Ordering::Relaxed) {
                    0 => None,
                    us => Some(crate::record::from_micros(us)),
                },
            })
            .collect()
    }

    /// Records lost to full queues, over every route.
    ///
    /// ```
    /// use std::time::Duration;
    /// use warden_audit::{AuditLayer, Overflow, Route, RouteFilter, StdoutSink};
    ///
    /// let audit = AuditLayer::builder()
    ///     .route(Route::new("tiny", RouteFilter::all()).sink(StdoutSink::new()).capacity(1).overflow(Overflow::Drop))
    ///     .build()?;
    /// // A full queue drops and counts; a SECURITY record states the loss.
    /// println!("lost so far: {}", audit.dropped());
    /// # audit.shutdown(Duration::from_secs(5))?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn dropped(&self) -> u64 {
        self.stats().iter().map(|s| s.dropped).sum()
    }

    /// Routes one record built by hand, as an audit event with `target`
    /// would be.
    ///
    /// ```
    /// use warden_audit::{AuditLayer, AuditRecord, EventType, Route, RouteFilter, StdoutSink};
    ///
    /// let audit = AuditLayer::builder()
    ///     .route(Route::new("stdout", RouteFilter::all()).sink(StdoutSink::new()))
    ///     .build()?;
    /// audit.submit(AuditRecord::new(EventType::DataAccess, "export").with_user("u-7"), "audit");
    /// audit.flush(std::time::Duration::from_secs(5))?;
    /// assert_eq!(audit.stats()[0].written, 1);
    /// # audit.shutdown(std::time::Duration::from_secs(5))?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn submit(&self, record: AuditRecord, target: &str) {
        self.shared.route(Pending::Record(Box::new(record)), target);
    }

    /// The target prefix of the events this layer takes besides `audit`
    /// ([`AuditLayerBuilder::target`]; `audit` itself by default).
    ///
    /// ```
    /// use warden_audit::{AuditLayer, Route, RouteFilter, StdoutSink};
    ///
    /// let audit = AuditLayer::builder()
    ///     .target("compliance")
    ///     .route(Route::new("stdout", RouteFilter::all()).sink(StdoutSink::new()))
    ///     .build()?;
    /// assert_eq!(audit.target(), "compliance");
    /// # Ok::<(), warden_audit::AuditError>(())
    /// ```
    pub fn target(&self) -> &str {
        &self.shared.target
    }

    fn is_audit_target(&self, target: &str) -> bool {
        // Asked of every event: its first byte turns most targets away
        // without comparing strings.
        let first = target.as_bytes().first();
        if first != Some(&b'a') && first != self.shared.target.as_bytes().first() {
            return false;
        }
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

    /// Stores the identity fields — users and client IPs, and the fields
    /// named with [`identity_fields`](Self::identity_fields) — as keyed
    /// hashes made with `key` ([`AuditKey::pseudonym`],
    /// [`AuditKey::hash_ip`]): never the value, never a bare placeholder,
    /// the same hash for the same value. Without a key, client IPs are
    /// stored as `[REDACTED:IP_ADDRESS]` and users as sanitized text.
    pub fn pseudonym_key(mut self, key: AuditKey) -> Self {
        self.pseudonym_key = Some(key);
        self
    }

    /// Hashes client IPs (and users) with `key`.
    #[deprecated(note = "use `pseudonym_key`, which this now is: users are hashed too")]
    pub fn ip_key(self, key: AuditKey) -> Self {
        self.pseudonym_key(key)
    }

    /// The fields stored as keyed hashes when there is a
    /// [`pseudonym_key`](Self::pseudonym_key), in place of
    /// [`DEFAULT_IDENTITY_FIELDS`](crate::DEFAULT_IDENTITY_FIELDS) (`user_id`,
    /// `user`, `client_ip`, `ip`). Client IPs are hashed whatever the list
    /// says; leave the user fields out to keep user IDs as (sanitized) text.
    ///
    /// ```
    /// use warden_audit::{AuditLayer, DEFAULT_IDENTITY_FIELDS};
    ///
    /// let builder = AuditLayer::builder()
    ///     .identity_fields(DEFAULT_IDENTITY_FIELDS.into_iter().chain(["account_email", "device_id"]));
    /// # drop(builder);
    /// ```
    pub fn identity_fields<I>(mut self, names: I) -> Self
    where
        I: IntoIterator,
        I::Item: Into<String>,
    {
        self.identity_fields = names.into_iter().map(Into::into).collect();
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
        let identity_fields: std::sync::Arc<[String]> = self.identity_fields.into();
        let pseudonyms = self
            .pseudonym_key
            .map(|key| Pseudonyms::new(key, identity_fields));
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
                pseudonyms: pseudonyms.clone(),
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
                pseudonyms,
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

impl<S> Layer<S> for AuditLayer
where
    S: Subscriber + for<'a> LookupSpan<'a>,
{
    warden_core::part_callbacks!(S: on_event);
}

impl AuditLayer {
    /// Routes an audit event (inside `span`, if it has one).
    fn record_event<S>(&self, event: &Event<'_>, span: Option<&SpanRef<'_, S>>)
    where
        S: Subscriber + for<'a> LookupSpan<'a>,
    {
        let target = event.metadata().target();
        let correlation =
            span.and_then(|span| warden_core::correlation_id_in(&span.extensions()).cloned());
        let recycled = self.shared.recycled.try_recv().ok();
        let captured = capture(
            event,
            correlation,
            recycled,
            self.shared.pseudonyms.as_ref(),
        );
        self.shared.route(Pending::Event(captured), target);
    }
}

/// No work on spans: an audit layer reads a span's correlation ID when an
/// audit event happens in it (the span the parts looked up once).
impl<S> SpanPart<S> for AuditLayer
where
    S: Subscriber + for<'a> LookupSpan<'a>,
{
    fn callbacks(&self) -> Callbacks {
        Callbacks::EVENT
    }

    fn event(&self, event: &Event<'_>, span: Option<&SpanRef<'_, S>>, _ctx: Context<'_, S>) {
        if self.is_audit_target(event.metadata().target()) {
            self.record_event(event, span);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sink::{AuditSink, SinkError};

    struct Discard;

    impl AuditSink for Discard {
        fn name(&self) -> String {
            "discard".into()
        }
        fn write(&mut self, _: &[AuditRecord]) -> Result<(), SinkError> {
            Ok(())
        }
    }

    fn layer(target: &str) -> AuditLayer {
        AuditLayer::builder()
            .route(Route::new("r", RouteFilter::all()).sink(Discard))
            .target(target)
            .build()
            .unwrap()
    }

    #[test]
    fn audit_targets_are_whole_path_segments() {
        let default = layer(warden_core::AUDIT_TARGET);
        assert!(default.is_audit_target("audit"));
        assert!(default.is_audit_target("audit::billing"));
        assert!(!default.is_audit_target("auditing"));
        assert!(!default.is_audit_target("app::audit"));
        let custom = layer("compliance");
        assert!(custom.is_audit_target("compliance::export"));
        assert!(custom.is_audit_target("audit"), "warden's own emitters");
        assert!(!custom.is_audit_target("compliant"));
        assert_eq!(default.shutdown(Duration::from_secs(5)), Ok(()));
        assert_eq!(
            default.shutdown(Duration::from_secs(5)),
            Err(FlushError::ShutDown)
        );
        let _ = custom.shutdown(Duration::from_secs(5));
    }

    #[test]
    fn a_layer_needs_a_route_with_a_sink() {
        assert!(matches!(
            AuditLayer::builder().build(),
            Err(AuditError::Config(_))
        ));
        assert!(matches!(
            AuditLayer::builder()
                .route(Route::new("empty", RouteFilter::all()))
                .build(),
            Err(AuditError::Config(_))
        ));
    }
}
