//! `warden::init()`: the recommended stack in one call.

use std::path::PathBuf;
use std::time::Duration;

use tracing::level_filters::LevelFilter;
use tracing_subscriber::fmt::writer::BoxMakeWriter;
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::layer::{Layer, Layered, SubscriberExt};
use tracing_subscriber::Registry;

mod store;

use crate::StackFilter;
use warden_audit::{
    AuditError, AuditKey, AuditLayer, Route, RouteFilter, SigningKey,
};
use warden_core::{FlushResult, SpanParts};

use crate::request_lines::RequestLines;
use warden_correlation::CorrelationLayer;
use warden_metrics::MetricsLayer;
use warden_otlp::{Otlp, OtlpBuilder, OtlpConfig, OtlpError};
use warden_pii::{PiiLayer, Sanitizer};

/// The subscriber [`WardenBuilder::build`] assembles: a registry with its
/// level filter ([`StackFilter`]), then warden's layers.
pub type Subscriber = Layered<BoxedLayer, Filtered>;
/// The registry with its filter: what each of warden's layers sits on.
pub type Filtered = Layered<StackFilter, Registry>;
/// One layer of the stack, boxed.
pub type BoxedLayer = Box<dyn Layer<Filtered> + Send + Sync>;

/// What can stop [`init`] from assembling the stack.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum InitError {
    /// `RUST_LOG` (or the builder's filter) is not a valid directive list.
    #[error(
        "invalid log filter {filter:?} (RUST_LOG or WardenBuilder::filter): {reason}; the syntax is EnvFilter's, such as \"info,my_app::db=debug\""
    )]
    Filter {
        /// The filter text.
        filter: String,
        /// Why it was refused.
        reason: String,
    },
    /// The audit store could not be opened or created.
    #[error("audit store: {0}")]
    Audit(#[from] AuditError),
    /// The OTLP exporter is misconfigured.
    #[error("OTLP export: {0}")]
    Otlp(#[from] OtlpError),
    /// Another global subscriber is already set.
    #[error(
        "a global tracing subscriber is already set (another init(), a fmt().init(), a test harness): set one only, or use Warden::builder().build() with tracing::subscriber::with_default"
    )]
    AlreadySet,
    /// Another `log` logger is already set, so `log` records cannot be
    /// bridged into the stack.
    #[error(
        "a `log` logger is already set (env_logger, another LogTracer…): remove it, or keep it with WardenBuilder::without_log_bridge()"
    )]
    LogAlreadySet,
    /// The operations endpoint could not listen on its address.
    #[error(
        "operations endpoint on {addr}: {source} (another process on that port? choose another with WardenBuilder::ops_addr, port 0 for a free one)"
    )]
    Ops {
        /// The address asked for.
        addr: std::net::SocketAddr,
        /// Why.
        source: std::io::Error,
    },
}

enum AuditChoice {
    Off,
    /// A router configured by the application.
    Layer(AuditLayer),
    /// A store made when the stack is built (`store.rs`).
    Store(Box<dyn store::StoreChoice>),
}

enum OtlpChoice {
    Off,
    FromEnv,
    Builder(Box<OtlpBuilder>),
}

/// The entry point to the assembled stack: [`Warden::builder`] (or the
/// one-call [`init`]).
#[derive(Debug)]
#[non_exhaustive]
pub struct Warden;

impl Warden {
    /// The defaults: correlation IDs, the PII gate (events and span
    /// fields), JSON lines to stdout, metrics, audit records to
    /// `./warden-audit.db`, OTLP export when the environment names a
    /// collector, and `RUST_LOG` (else `info`) as the filter. Each part is
    /// changed with a `WardenBuilder` method, or left out with its
    /// `without_*` method.
    pub fn builder() -> WardenBuilder {
        WardenBuilder::default()
    }
}

/// Configures the stack [`init`] assembles; every choice has a builder
/// method, and every default is the safe one.
///
/// ```
/// use tracing_subscriber::prelude::*;
///
/// # fn main() -> Result<(), warden::InitError> {
/// let dir = std::env::temp_dir().join(format!("warden-doc-{}", std::process::id()));
/// std::fs::create_dir_all(&dir).unwrap();
/// let (subscriber, guard) = warden::Warden::builder()
///     .audit_sqlite(dir.join("audit.db"))
///     .filter("info")
///     .writer(std::io::sink)
///     .build()?;
/// tracing::subscriber::with_default(subscriber, || {
///     let _request = tracing::info_span!("request").entered();
///     tracing::info!(user = "ada@example.com", "signed in"); // sanitized
/// });
/// assert_eq!(guard.metrics().unwrap().snapshot(Default::default()).operations.len(), 1);
/// # drop(guard); std::fs::remove_dir_all(dir).unwrap();
/// # Ok(()) }
/// ```
pub struct WardenBuilder {
    filter: Option<String>,
    stack_filter: Option<StackFilter>,
    correlation: bool,
    pii: Option<PiiLayer>,
    metrics: Option<MetricsLayer>,
    operation_field: Option<&'static str>,
    audit: AuditChoice,
    audit_signing_key: Option<SigningKey>,
    audit_key: Option<AuditKey>,
    identity_fields: Vec<String>,
    #[cfg(feature = "ops")]
    ops_addr: Option<std::net::SocketAddr>,
    #[cfg(feature = "ops")]
    ops_token: Option<String>,
    otlp: OtlpChoice,
    json: bool,
    non_blocking: Option<usize>,
    writer: Option<BoxMakeWriter>,
    shutdown_timeout: Duration,
    log_bridge: bool,
    flood: Option<crate::flood::FloodLimitBuilder>,
    request_lines: Option<crate::request_lines::RequestLinesBuilder>,
}

impl Default for WardenBuilder {
    fn default() -> Self {
        WardenBuilder {
            filter: None,
            stack_filter: None,
            correlation: true,
            pii: Some(PiiLayer::default()),
            metrics: Some(MetricsLayer::new()),
            operation_field: Some("http.route"),
            audit: AuditChoice::Store(Box::new(store::Sqlite(PathBuf::from(DEFAULT_AUDIT_DB)))),
            audit_signing_key: None,
            audit_key: None,
            identity_fields: Vec::new(),
            #[cfg(feature = "ops")]
            ops_addr: None,
            #[cfg(feature = "ops")]
            ops_token: None,
            otlp: OtlpChoice::FromEnv,
            json: true,
            non_blocking: None,
            writer: None,
            shutdown_timeout: Duration::from_secs(5),
            log_bridge: cfg!(feature = "log"),
            flood: Some(crate::flood::FloodLimit::builder()),
            request_lines: None,
        }
    }
}

/// The checkpoint signing key: the builder's, else the file
/// `WARDEN_AUDIT_SIGNING_KEY` names.
fn signing_key(given: Option<SigningKey>) -> Result<Option<SigningKey>, AuditError> {
    match given {
        Some(key) => Ok(Some(key)),
        None => std::env::var_os("WARDEN_AUDIT_SIGNING_KEY")
            .map(SigningKey::from_file)
            .transpose(),
    }
}

/// The audit layer of the assembled stack: the store's route, the OTLP
/// route if exporting, identity fields keyed-hashed with `key`.
fn audit_layer(
    store: Route,
    key: AuditKey,
    identity_fields: &[String],
    otlp: Option<&Otlp>,
    sanitizer: Option<&Sanitizer>,
) -> Result<AuditLayer, AuditError> {
    let identity = warden_audit::DEFAULT_IDENTITY_FIELDS
        .into_iter()
        .map(str::to_owned)
        .chain(identity_fields.iter().cloned());
    let mut builder = AuditLayer::builder()
        .route(store)
        .pseudonym_key(key)
        .identity_fields(identity);
    if let Some(otlp) = otlp {
        builder = builder.route(Route::new("otlp", RouteFilter::all()).sink(otlp.audit_sink()));
    }
    if let Some(s) = sanitizer {
        builder = builder.sanitizer(s.clone());
    }
    builder.build()
}

/// Where [`init`] keeps the audit store unless told otherwise.
pub const DEFAULT_AUDIT_DB: &str = "./warden-audit.db";

impl std::fmt::Debug for WardenBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WardenBuilder")
            .field("filter", &self.filter)
            .field("correlation", &self.correlation)
            .field("pii", &self.pii.is_some())
            .field("metrics", &self.metrics.is_some())
            .field("json", &self.json)
            .finish_non_exhaustive()
    }
}

impl WardenBuilder {
    /// The filter directives, instead of `RUST_LOG`. They decide what the
    /// JSON lines and OTLP log records hold; audit events are stored and
    /// spans at the metrics layer's level (INFO) are timed and carry
    /// correlation IDs whatever they say (see [`StackFilter`]).
    ///
    /// ```
    /// # let dir = std::env::temp_dir().join(format!("warden-filter-doc-{}", std::process::id()));
    /// # std::fs::create_dir_all(&dir).unwrap();
    /// let (subscriber, guard) = warden::Warden::builder()
    ///     .filter("warn")
    ///     .audit_sqlite(dir.join("audit.db"))
    ///     .without_otlp()
    ///     .writer(std::io::sink)
    ///     .build()?;
    /// tracing::subscriber::with_default(subscriber, || {
    ///     let _request = tracing::info_span!("checkout").entered();
    ///     tracing::info!("not written at warn");
    ///     warden::audit::data_access!(action = "export", resource_id = "order-7"); // stored
    /// });
    /// assert!(guard.metrics().unwrap().snapshot(Default::default()).get("checkout").is_some());
    /// guard.flush(std::time::Duration::from_secs(5))?;
    /// assert_eq!(guard.audit().unwrap().stats()[0].written, 1);
    /// # drop(guard); std::fs::remove_dir_all(dir).unwrap();
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn filter(mut self, directives: impl Into<String>) -> Self {
        self.filter = Some(directives.into());
        self
    }

    /// This filter as it is, instead of [`filter`](Self::filter)'s
    /// directives or `RUST_LOG`: its audit targets and span level are not
    /// adjusted to the stack's audit and metrics layers. For a span level
    /// or audit targets of your own, or the plain directives
    /// ([`StackFilter::logs_only`], what a stack filtered before warden
    /// kept audit events and spans whatever the log level).
    ///
    /// ```
    /// use warden::StackFilter;
    ///
    /// let builder = warden::Warden::builder().stack_filter(StackFilter::parse("warn")?.logs_only());
    /// # drop(builder);
    /// # Ok::<(), String>(())
    /// ```
    pub fn stack_filter(mut self, filter: StackFilter) -> Self {
        self.stack_filter = Some(filter);
        self
    }

    /// This flood limit instead of the default one (10,000 events a
    /// second per call site, bursts of 20,000: see
    /// [`FloodLimit`](crate::flood::FloodLimit)). The audit layer's target
    /// is added to its audit targets, which it never limits.
    ///
    /// ```
    /// use warden::flood::{FloodLimit, Rate};
    ///
    /// let flood = FloodLimit::builder().target("app::retry", Rate::new(10, 100));
    /// let builder = warden::Warden::builder().flood_limit(flood);
    /// # drop(builder);
    /// ```
    pub fn flood_limit(mut self, flood: crate::flood::FloodLimitBuilder) -> Self {
        self.flood = Some(flood);
        self
    }

    /// Holds each request's lines below the log level (DEBUG by default)
    /// until it ends, and writes them, marked `"buffered": true`, only if
    /// it failed (an `ERROR` event, `error` recorded on one of its spans,
    /// a 5xx from the request layer): see
    /// [`RequestLines`](crate::request_lines::RequestLines). Off by
    /// default: each call site at the held level is then asked on each
    /// event instead of never (about 40 ns a line held or turned down:
    /// see BENCHMARKS.md).
    ///
    /// ```
    /// use warden::request_lines::RequestLines;
    ///
    /// let builder = warden::Warden::builder().request_lines(RequestLines::builder().max_events(100));
    /// # drop(builder);
    /// ```
    pub fn request_lines(mut self, lines: crate::request_lines::RequestLinesBuilder) -> Self {
        self.request_lines = Some(lines);
        self
    }

    /// No flood limit: every call site writes as fast as it logs.
    pub fn without_flood_limit(mut self) -> Self {
        self.flood = None;
        self
    }

    /// No correlation IDs on spans (they are on by default).
    pub fn without_correlation(mut self) -> Self {
        self.correlation = false;
        self
    }

    /// The PII gate to use (its sanitizer also sanitizes audit records and
    /// the last step before OTLP export).
    pub fn pii(mut self, gate: PiiLayer) -> Self {
        self.pii = Some(gate);
        self
    }

    /// Turns the PII gate off. The OTLP exporter still sanitizes what it
    /// sends; the JSON lines will carry raw values.
    pub fn without_pii(mut self) -> Self {
        self.pii = None;
        self
    }

    /// No latency metrics (operations are timed by default).
    pub fn without_metrics(mut self) -> Self {
        self.metrics = None;
        self
    }

    /// The metrics layer to use: one you configured (its operation field,
    /// cardinality bound, timing), or a clone you keep for alert rules.
    pub fn metrics_layer(mut self, layer: MetricsLayer) -> Self {
        self.metrics = Some(layer);
        self.operation_field = None;
        self
    }

    /// The span field whose value names an operation's metrics row instead
    /// of the span's name. The default is `http.route`, which the request
    /// span of `warden::correlation::tower::CorrelationIdLayer` carries
    /// when it is given a `route` finder: one row per route. Spans without
    /// the field keep their name. It replaces a layer given with
    /// [`metrics_layer`](Self::metrics_layer).
    pub fn operation_field(mut self, field: &'static str) -> Self {
        self.operation_field = Some(field);
        if self.metrics.is_none() {
            self.metrics = Some(MetricsLayer::new());
        }
        self
    }

    /// Audit records to the SQLite store at `path` (created if missing).
    pub fn audit_sqlite(mut self, path: impl Into<PathBuf>) -> Self {
        self.audit = AuditChoice::Store(Box::new(store::Sqlite(path.into())));
        self
    }

    /// Signs the SQLite store's checkpoints with `key` (Ed25519), so that
    /// they verify with its public key alone (`warden audit keygen` makes a
    /// pair). Without it, `WARDEN_AUDIT_SIGNING_KEY` names the secret key's
    /// file if set; else checkpoints are HMAC-signed with the store's key.
    /// With OTLP export on, every checkpoint is also sent to the collector
    /// as an `audit.checkpoint` log record, a witness kept off the host.
    pub fn audit_signing_key(mut self, key: SigningKey) -> Self {
        self.audit_signing_key = Some(key);
        self
    }

    /// Audit records to the PostgreSQL database at `target` (a URL or
    /// key/value string; `PGPASSWORD`, `.pgpass` and the other `PG*`
    /// variables apply), shared by every instance of the service: each
    /// process writes a stream of its own. The users and client IPs are
    /// keyed-hashed with [`audit_key`](Self::audit_key), else
    /// `WARDEN_AUDIT_KEY`, which every instance must share (one of them is
    /// required: a key per process would make them unjoinable);
    /// checkpoints are signed as
    /// [`audit_signing_key`](Self::audit_signing_key) says.
    #[cfg(feature = "postgres")]
    #[cfg_attr(docsrs, doc(cfg(feature = "postgres")))]
    pub fn audit_postgres(mut self, target: impl Into<String>) -> Self {
        self.audit = AuditChoice::Store(Box::new(store::Postgres(target.into())));
        self
    }

    /// The audit store's secret key — it keys the hashes of users and
    /// client IPs (and signs HMAC checkpoints) — instead of
    /// `WARDEN_AUDIT_KEY` or, for SQLite, the key file beside the store.
    pub fn audit_key(mut self, key: AuditKey) -> Self {
        self.audit_key = Some(key);
        self
    }

    /// Also stores these fields of audit events as keyed hashes, beside
    /// the users and client IPs (see `AuditLayerBuilder::identity_fields`).
    ///
    /// ```
    /// let builder = warden::Warden::builder().audit_identity_fields(["account_email", "device_id"]);
    /// # drop(builder);
    /// ```
    pub fn audit_identity_fields<I>(mut self, names: I) -> Self
    where
        I: IntoIterator,
        I::Item: Into<String>,
    {
        self.identity_fields.extend(names.into_iter().map(Into::into));
        self
    }

    /// Serves the operations endpoints (`/metrics`, `/healthz`, `/readyz`,
    /// `/alerts`, `/filter`) on [`ops::DEFAULT_ADDR`](crate::ops::DEFAULT_ADDR),
    /// `127.0.0.1:9464`: loopback, so only the host (its Prometheus agent,
    /// a shell running `warden top`) reaches them. Bind another address,
    /// after deciding who may reach it, with [`ops_addr`](Self::ops_addr).
    ///
    /// ```no_run
    /// let (_subscriber, guard) = warden::Warden::builder().ops().build()?;
    /// assert_eq!(guard.ops_addr(), Some(warden::ops::DEFAULT_ADDR));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    #[cfg(feature = "ops")]
    #[cfg_attr(docsrs, doc(cfg(feature = "ops")))]
    pub fn ops(self) -> Self {
        self.ops_addr(crate::ops::DEFAULT_ADDR)
    }

    /// Serves the operations endpoints on `addr` from a thread of their
    /// own (off by default; port 0 picks a free one: see
    /// [`WardenGuard::ops_addr`]). To mount them in your own HTTP stack
    /// instead, use [`WardenGuard::ops`]'s `service()`.
    #[cfg(feature = "ops")]
    #[cfg_attr(docsrs, doc(cfg(feature = "ops")))]
    pub fn ops_addr(mut self, addr: std::net::SocketAddr) -> Self {
        self.ops_addr = Some(addr);
        self
    }

    /// The bearer token that lets a client change the log directives with
    /// `PUT /filter` on the ops endpoint (by default `WARDEN_OPS_TOKEN`;
    /// without either, `PUT /filter` is refused). Compared in constant
    /// time.
    ///
    /// ```
    /// let builder = warden::Warden::builder().ops_token(std::env::var("OPS_SECRET").unwrap_or_default());
    /// # drop(builder);
    /// ```
    #[cfg(feature = "ops")]
    #[cfg_attr(docsrs, doc(cfg(feature = "ops")))]
    pub fn ops_token(mut self, token: impl Into<String>) -> Self {
        self.ops_token = Some(token.into());
        self
    }

    /// Audit events to a sink of your own (a Kafka producer, an object
    /// store, a test double): any [`AuditSink`](warden_audit::AuditSink),
    /// routed as the built-in stores are, beside the OTLP export when it is
    /// on, with the identity fields hashed under the key of
    /// [`audit_key`](Self::audit_key) or `WARDEN_AUDIT_KEY` (one of them is
    /// required: a sink of your own has no key file).
    ///
    /// ```
    /// use warden::Warden;
    /// use warden::audit::{AuditKey, AuditRecord, AuditSink, SinkError};
    ///
    /// #[derive(Default)]
    /// struct Count(usize);
    /// impl AuditSink for Count {
    ///     fn name(&self) -> String {
    ///         "count".into()
    ///     }
    ///     fn write(&mut self, records: &[AuditRecord]) -> Result<(), SinkError> {
    ///         self.0 += records.len();
    ///         Ok(())
    ///     }
    /// }
    ///
    /// let (subscriber, guard) = Warden::builder()
    ///     .audit_sink("count", Count::default())
    ///     .audit_key(AuditKey::new(b"0123456789abcdef0123456789abcdef".to_vec())?)
    ///     .without_otlp()
    ///     .writer(std::io::sink)
    ///     .build()?;
    /// # drop((subscriber, guard));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn audit_sink(mut self, name: impl Into<String>, sink: impl warden_audit::AuditSink) -> Self {
        let route = Route::new(name, RouteFilter::all()).sink(sink);
        self.audit = AuditChoice::Store(Box::new(store::Own(route)));
        self
    }

    /// A router you configured yourself (the OTLP audit sink is not added
    /// to it).
    pub fn audit(mut self, layer: AuditLayer) -> Self {
        self.audit = AuditChoice::Layer(layer);
        self
    }

    /// No audit routing.
    pub fn without_audit(mut self) -> Self {
        self.audit = AuditChoice::Off;
        self
    }

    /// OTLP export with these settings, whatever the environment says.
    pub fn otlp(mut self, builder: OtlpBuilder) -> Self {
        self.otlp = OtlpChoice::Builder(Box::new(builder));
        self
    }

    /// No OTLP export, whatever the environment says.
    ///
    /// ```
    /// // Only the gate and JSON lines: no metrics, audit store or export.
    /// let (subscriber, _guard) = warden::Warden::builder()
    ///     .without_metrics()
    ///     .without_audit()
    ///     .without_otlp()
    ///     .writer(std::io::sink)
    ///     .build()?;
    /// # drop(subscriber);
    /// # Ok::<(), warden::InitError>(())
    /// ```
    pub fn without_otlp(mut self) -> Self {
        self.otlp = OtlpChoice::Off;
        self
    }

    /// No JSON lines (they are written by default).
    pub fn without_json(mut self) -> Self {
        self.json = false;
        self
    }

    /// JSON lines to stdout through a queue of `capacity` lines and a
    /// writer thread, so that a stdout nobody reads (a full pipe) never
    /// blocks the logging call: a line that finds the queue full is dropped
    /// and counted (`warden_json_dropped_lines_total` in `/metrics`), and
    /// the writer says `warden: N lines dropped` in-band once writing
    /// resumes. Without it (the default) a line waits until stdout takes
    /// it. For a writer of your own, give `.writer(…)` a
    /// [`NonBlocking`](crate::json::NonBlocking) and keep its guard.
    ///
    /// ```
    /// let (subscriber, guard) = warden::Warden::builder()
    ///     .non_blocking(10_000)
    ///     .without_audit()
    ///     .without_otlp()
    ///     .build()?;
    /// # drop((subscriber, guard));
    /// # Ok::<(), warden::InitError>(())
    /// ```
    pub fn non_blocking(mut self, capacity: usize) -> Self {
        self.non_blocking = Some(capacity);
        self
    }

    /// Where JSON lines go (default stdout).
    pub fn writer<W>(mut self, writer: W) -> Self
    where
        W: for<'a> MakeWriter<'a> + Send + Sync + 'static,
    {
        self.writer = Some(BoxMakeWriter::new(writer));
        self
    }

    /// Leaves the `log` crate alone: [`init`](Self::init) does not install
    /// the bridge that turns `log` records into events of the stack (on by
    /// default with the `log` feature), for a service that keeps a logger
    /// of its own.
    ///
    /// ```
    /// let builder = warden::Warden::builder().without_log_bridge();
    /// # drop(builder);
    /// ```
    pub fn without_log_bridge(mut self) -> Self {
        self.log_bridge = false;
        self
    }

    /// How long the guard's drop may take to flush each part (default 5 s).
    pub fn shutdown_timeout(mut self, timeout: Duration) -> Self {
        self.shutdown_timeout = timeout;
        self
    }

    /// Assembles the subscriber without installing it, for
    /// `tracing::subscriber::with_default` or your own `set_global_default`.
    pub fn build(self) -> Result<(Subscriber, WardenGuard), InitError> {
        let filter_text = self
            .filter
            .clone()
            .or_else(|| {
                std::env::var("RUST_LOG")
                    .ok()
                    .filter(|f| !f.trim().is_empty())
            })
            .unwrap_or_else(|| "info".to_owned());
        let given = self.stack_filter.is_some();
        let mut filter = match self.stack_filter {
            Some(filter) => filter,
            None => StackFilter::parse(&filter_text).map_err(|reason| InitError::Filter {
                filter: filter_text.clone(),
                reason,
            })?,
        };
        let sanitizer = self.pii.as_ref().map(|p| p.sanitizer().clone());
        let metrics = match (self.metrics, self.operation_field) {
            (Some(_), Some(field)) => Some(MetricsLayer::builder().operation_field(field).build()),
            (layer, _) => layer,
        };

        let otlp_builder = match self.otlp {
            OtlpChoice::Off => None,
            OtlpChoice::FromEnv => OtlpConfig::env_configured().then(Otlp::builder),
            OtlpChoice::Builder(b) => Some(*b),
        };
        let otlp = match otlp_builder {
            None => None,
            Some(mut builder) => {
                if let Some(m) = &metrics {
                    builder = builder.metrics(m.clone());
                }
                if let Some(s) = &sanitizer {
                    builder = builder.sanitizer(s.clone());
                }
                Some(builder.build()?)
            }
        };

        // What every store of the choices below gets: the checkpoint
        // signing key, the collector as a witness, the OTLP route beside it.
        let signing = || signing_key(self.audit_signing_key.clone());
        let witness = || otlp.as_ref().map(Otlp::checkpoint_witness);
        let layer = |route: Route, key: AuditKey| {
            audit_layer(route, key, &self.identity_fields, otlp.as_ref(), sanitizer.as_ref())
        };
        let audit = match self.audit {
            AuditChoice::Off => None,
            AuditChoice::Layer(layer) => Some(layer),
            AuditChoice::Store(store) => {
                let key = store.key(self.audit_key)?;
                let route = store.route(&key, signing()?, witness())?;
                Some(layer(route, key)?)
            }
        };

        // The log filter decides what the JSON lines and OTLP log records
        // hold; the audit trail and the metrics never depend on it.
        if !given {
            filter = match &audit {
                Some(a) => filter.audit_target(a.target()),
                None => filter.without_audit_events(),
            };
            filter = filter.span_level(match &metrics {
                Some(m) => m.span_level(),
                None if self.correlation => LevelFilter::INFO,
                None => LevelFilter::OFF,
            });
        }

        // Every layer as one `SpanParts`: each span is looked up and locked
        // once when it opens and once when it closes, not once per layer,
        // and each callback reaches every layer without a chain of boxed
        // `Layered`s. (Not a `Vec` of layers or `Option`s: those do not
        // forward `on_register_dispatch`, which the PII gate needs.) The PII
        // gate first, so that the others see sanitized events and the JSON
        // layer writes span values it sanitized.
        let mut parts = SpanParts::new();
        // The flood limit first: a suppressed event reaches no other part
        // (the gate does not scan it). It never limits the audit layer's
        // events, whatever their target.
        let flood = self.flood.map(|builder| match &audit {
            Some(a) => builder.audit_target(a.target()).build(),
            None => builder.build(),
        });
        if let Some(flood) = &flood {
            parts = parts.with(flood.clone());
        }
        // Correlation before the request lines, which sample a request by
        // its ID when it opens.
        if self.correlation {
            let mut correlation = CorrelationLayer::default();
            // An ID from a client is kept only if the gate finds nothing in
            // it: an email sent as `x-request-id` is not printed on every
            // line nor stored in the audit trail.
            if let Some(s) = &sanitizer {
                let s = s.clone();
                correlation = correlation.accept_ids(move |id| !s.contains_pii(id));
            }
            parts = parts.with(correlation);
        }
        // The request lines: after the gate by default (a held line is
        // sanitized as it is held); before it if asked (scanned only if it
        // is written).
        let request_lines = self.request_lines.map(|builder| match &audit {
            Some(a) => builder.audit_target(a.target()).build(),
            None => builder.build(),
        });
        let held_after_gate = request_lines.as_ref().is_some_and(RequestLines::sanitizes_held);
        if let Some(lines) = &request_lines {
            if !held_after_gate {
                parts = parts.with(lines.clone());
            }
            filter = filter.held_level(lines.level());
        }
        if let Some(gate) = &self.pii {
            parts = parts.with(gate.clone());
        }
        // Lines sanitized as they are held (the default): the gate first.
        if let Some(lines) = request_lines.as_ref().filter(|_| held_after_gate) {
            parts = parts.with(lines.clone());
        }
        if let Some(a) = &audit {
            parts = parts.with(a.clone());
        }
        if let Some(m) = &metrics {
            parts = parts.with(m.clone());
        }
        if let Some(o) = &otlp {
            parts = parts.with(o.layer());
        }
        let mut json_writer = None;
        if self.json {
            let writer = match (self.writer, self.non_blocking) {
                (Some(writer), _) => writer,
                (None, Some(capacity)) => {
                    let (writer, guard) = warden_json::NonBlocking::new(std::io::stdout(), capacity);
                    json_writer = Some((writer.clone(), guard));
                    BoxMakeWriter::new(writer)
                }
                (None, None) => BoxMakeWriter::new(std::io::stdout),
            };
            parts = parts.with(warden_json::JsonLayer::new().with_writer(writer));
        }
        let log_level = filter.log_level();
        // Changed while running through the guard and `PUT /filter`.
        let (filter, filter_handle) = filter.reloadable();
        let stack: BoxedLayer = Box::new(parts);
        let subscriber = tracing_subscriber::registry().with(filter).with(stack);
        #[cfg(feature = "ops")]
        let ops = {
            let mut ops = crate::ops::Ops::builder();
            if let Some(m) = &metrics {
                ops = ops.metrics(m.clone());
            }
            if let Some(a) = &audit {
                ops = ops.audit(a.clone());
            }
            if let Some(o) = &otlp {
                ops = ops.otlp(o.clone());
            }
            if let Some(gate) = &self.pii {
                ops = ops.pii(gate.clone());
            }
            if let Some(flood) = &flood {
                ops = ops.source(flood.clone());
            }
            if let Some(lines) = &request_lines {
                ops = ops.source(lines.clone());
            }
            if let Some((writer, _)) = &json_writer {
                ops = ops.source(writer.clone());
            }
            ops = ops.filter(filter_handle.clone());
            let token = self
                .ops_token
                .clone()
                .or_else(|| std::env::var(crate::ops::TOKEN_ENV).ok());
            if let Some(token) = token.filter(|t| !t.is_empty()) {
                ops = ops.token(token);
            }
            ops.build()
        };
        #[cfg(feature = "ops")]
        let ops_server = match self.ops_addr {
            Some(addr) => Some(
                ops.serve(addr)
                    .map_err(|source| InitError::Ops { addr, source })?,
            ),
            None => None,
        };
        Ok((
            subscriber,
            WardenGuard {
                flood,
                request_lines,
                filter: filter_handle,
                json_writer: json_writer.map(|(_, guard)| guard),
                pii: self.pii,
                #[cfg(feature = "ops")]
                ops,
                #[cfg(feature = "ops")]
                ops_server,
                metrics,
                audit,
                otlp,
                timeout: self.shutdown_timeout,
                shut_down: std::sync::atomic::AtomicBool::new(false),
                log_level,
            },
        ))
    }

    /// Assembles the stack and installs it as the global default, with
    /// (feature `log`, on by default) the bridge from the `log` crate:
    /// a dependency's `log::warn!` becomes an event of the stack, through
    /// the PII gate, written with its own target, module and file.
    pub fn init(self) -> Result<WardenGuard, InitError> {
        let log_bridge = self.log_bridge;
        let (subscriber, guard) = self.build()?;
        if log_bridge {
            #[cfg(feature = "log")]
            {
                tracing_log::LogTracer::builder()
                    .with_max_level(crate::filter::log_level_filter(guard.log_level))
                    .init()
                    .map_err(|_| InitError::LogAlreadySet)?;
                // A change of directives moves the bridge's level too.
                guard.filter.follow_log_bridge();
            }
        }
        tracing::subscriber::set_global_default(subscriber).map_err(|_| InitError::AlreadySet)?;
        Ok(guard)
    }
}

/// Assembles the recommended stack from the environment and defaults and
/// installs it globally; see [`WardenBuilder`] for each choice. Keep
/// the guard alive: dropping it flushes the audit store and the OTLP
/// exporter.
///
/// ```no_run
/// fn main() -> Result<(), warden::InitError> {
///     let _warden = warden::init()?;
///     tracing::info!(user = "ada@example.com", "started"); // user="[REDACTED:EMAIL]"
///     Ok(())
/// }
/// ```
pub fn init() -> Result<WardenGuard, InitError> {
    Warden::builder().init()
}

/// The handles of a running stack; flushes everything when dropped
/// (audit first, as it feeds the OTLP exporter).
#[must_use = "dropping the guard flushes and stops the audit writer and the OTLP exporter"]
pub struct WardenGuard {
    pii: Option<PiiLayer>,
    request_lines: Option<crate::request_lines::RequestLines>,
    filter: crate::FilterHandle,
    flood: Option<crate::flood::FloodLimit>,
    #[cfg(feature = "ops")]
    ops: crate::ops::Ops,
    #[cfg(feature = "ops")]
    ops_server: Option<crate::ops::OpsServer>,
    metrics: Option<MetricsLayer>,
    audit: Option<AuditLayer>,
    otlp: Option<Otlp>,
    timeout: Duration,
    /// Whether [`shutdown`](Self::shutdown) was called (the drop then
    /// does nothing more).
    shut_down: std::sync::atomic::AtomicBool,
    /// The most verbose level the log directives enable, for the `log`
    /// bridge.
    #[cfg_attr(not(feature = "log"), allow(dead_code))]
    log_level: LevelFilter,
    /// The non-blocking JSON writer's thread, stopped last (after the
    /// other parts have flushed, and maybe logged).
    json_writer: Option<warden_json::NonBlockingGuard>,
}

impl std::fmt::Debug for WardenGuard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WardenGuard")
            .field("pii", &self.pii.is_some())
            .field("metrics", &self.metrics.is_some())
            .field("audit", &self.audit.is_some())
            .field("otlp", &self.otlp.as_ref().map(Otlp::stats))
            .finish()
    }
}

impl WardenGuard {
    /// Changes the log directives while the stack runs (`EnvFilter`'s
    /// syntax): applied to every call site before it returns, written to
    /// the audit trail as a `CONFIG_CHANGE` record, and refused with the
    /// parser's message (changing nothing) when invalid. See
    /// [`FilterHandle`](crate::FilterHandle), which [`filter`](Self::filter)
    /// hands out for other threads.
    ///
    /// ```no_run
    /// let guard = warden::init()?;
    /// let change = guard.set_filter("info,my_app::db=debug")?;
    /// println!("log filter: {} -> {}", change.old, change.new);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn set_filter(&self, directives: &str) -> Result<crate::FilterChange, crate::FilterError> {
        self.filter.set(directives)
    }

    /// The handle that changes the log directives (a clone of the one the
    /// ops endpoint's `PUT /filter` uses).
    pub fn filter(&self) -> crate::FilterHandle {
        self.filter.clone()
    }

    /// The part that holds requests' lines below the log level, if
    /// [`WardenBuilder::request_lines`] added it: its counts, and
    /// `flush_current` to fail the current request.
    pub fn request_lines(&self) -> Option<&crate::request_lines::RequestLines> {
        self.request_lines.as_ref()
    }

    /// The flood limit, for what it suppressed per call site.
    pub fn flood(&self) -> Option<&crate::flood::FloodLimit> {
        self.flood.as_ref()
    }

    /// The PII gate, for its redaction counts.
    pub fn pii(&self) -> Option<&PiiLayer> {
        self.pii.as_ref()
    }

    /// The operations endpoints' state: mount its `service()` in your HTTP
    /// stack, or give it alerts to show with `set_alerts`.
    #[cfg(feature = "ops")]
    #[cfg_attr(docsrs, doc(cfg(feature = "ops")))]
    pub fn ops(&self) -> &crate::ops::Ops {
        &self.ops
    }

    /// Where the operations server listens, if
    /// [`WardenBuilder::ops_addr`] started one.
    #[cfg(feature = "ops")]
    #[cfg_attr(docsrs, doc(cfg(feature = "ops")))]
    pub fn ops_addr(&self) -> Option<std::net::SocketAddr> {
        self.ops_server.as_ref().map(crate::ops::OpsServer::addr)
    }

    /// The metrics layer, for snapshots and alert rules.
    pub fn metrics(&self) -> Option<&MetricsLayer> {
        self.metrics.as_ref()
    }

    /// The audit router, for flushes and drop counts.
    pub fn audit(&self) -> Option<&AuditLayer> {
        self.audit.as_ref()
    }

    /// The OTLP exporter, when one runs, for its counts.
    pub fn otlp(&self) -> Option<&Otlp> {
        self.otlp.as_ref()
    }

    /// Flushes the audit router, then the OTLP exporter (which the audit
    /// router may feed), each within `timeout`; the first failure is
    /// returned after both were tried.
    ///
    /// ```
    /// use std::time::Duration;
    ///
    /// # let dir = std::env::temp_dir().join(format!("warden-guard-doc-{}", std::process::id()));
    /// # std::fs::create_dir_all(&dir)?;
    /// let (subscriber, guard) = warden::Warden::builder()
    ///     .audit_sqlite(dir.join("audit.db"))
    ///     .without_otlp()
    ///     .writer(std::io::sink)
    ///     .build()?;
    /// tracing::subscriber::with_default(subscriber, || {
    ///     warden::audit::security!(action = "login_failed", outcome = "FAILURE");
    /// });
    /// guard.flush(Duration::from_secs(5))?; // the audit record is in the store
    /// assert_eq!(guard.audit().unwrap().stats()[0].written, 1);
    /// guard.shutdown(Duration::from_secs(5))?;
    /// # std::fs::remove_dir_all(dir)?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn flush(&self, timeout: Duration) -> FlushResult {
        let audit = self.audit.as_ref().map_or(Ok(()), |a| a.flush(timeout));
        let otlp = self.otlp.as_ref().map_or(Ok(()), |o| o.flush(timeout));
        audit.and(otlp)
    }

    /// Shuts the audit router down (flush, checkpoint, stop), then the OTLP
    /// exporter, then the non-blocking JSON writer if there is one, each
    /// within `timeout`; the first failure is returned after all were
    /// tried. Dropping the guard does the same with the builder's
    /// [`shutdown_timeout`](WardenBuilder::shutdown_timeout).
    pub fn shutdown(&self, timeout: Duration) -> FlushResult {
        self.shut_down
            .store(true, std::sync::atomic::Ordering::Release);
        let audit = self.audit.as_ref().map_or(Ok(()), |a| a.shutdown(timeout));
        let otlp = self.otlp.as_ref().map_or(Ok(()), |o| o.shutdown(timeout));
        // The JSON writer last: the others may have logged while stopping.
        let json = self.json_writer.as_ref().map_or(Ok(()), |w| w.shutdown(timeout));
        audit.and(otlp).and(json)
    }
}

/// What a stack lost: each audit route's records that were not written,
/// and the OTLP exporter's losses ([`WardenGuard::losses`]).
///
/// ```
/// let (_subscriber, guard) = warden::Warden::builder()
///     .without_audit()
///     .without_otlp()
///     .writer(std::io::sink)
///     .build()?;
/// guard.shutdown(std::time::Duration::from_secs(5))?;
/// assert!(guard.losses().is_empty());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Losses {
    /// The audit routes that lost records or did not write all of them:
    /// `dropped` (a full queue, or given up at shutdown) and `pending`
    /// (still unwritten when asked: after a shutdown that timed out, kept
    /// for a store that refused them).
    pub audit: Vec<warden_audit::RouteStats>,
    /// The exporter's counts, if it lost anything.
    pub otlp: Option<warden_otlp::ExportStats>,
}

impl Losses {
    /// Whether nothing was lost.
    pub fn is_empty(&self) -> bool {
        self.audit.is_empty() && self.otlp.is_none()
    }
}

impl std::fmt::Display for Losses {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.is_empty() {
            return f.write_str("nothing lost");
        }
        let mut parts = Vec::new();
        for route in &self.audit {
            parts.push(format!(
                "audit route {}: {} records not written ({} lost to a full queue or given up at shutdown, {} still unwritten; {} failed writes)",
                route.name,
                route.dropped + route.pending,
                route.dropped,
                route.pending,
                route.sink_errors
            ));
        }
        if let Some(stats) = &self.otlp {
            parts.push(format!("OTLP export: {} records lost\n{stats}", stats.lost()));
        }
        f.write_str(&parts.join("; "))
    }
}

impl WardenGuard {
    /// [`shutdown`](Self::shutdown), and what it did: the result, how long
    /// it took, and each part's counts of what it delivered and lost
    /// ([`ShutdownReport`](crate::ShutdownReport)). Returns within
    /// `timeout` (plus the moment it takes to read the counts), whatever
    /// the collector, the store or the reader of the lines does.
    ///
    /// ```
    /// let (_subscriber, guard) = warden::Warden::builder()
    ///     .without_audit()
    ///     .without_otlp()
    ///     .writer(std::io::sink)
    ///     .build()?;
    /// let report = guard.shutdown_report(std::time::Duration::from_secs(5));
    /// assert!(report.is_complete(), "{report}");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn shutdown_report(&self, timeout: Duration) -> crate::ShutdownReport {
        let start = std::time::Instant::now();
        let result = self.shutdown(timeout);
        let took = start.elapsed();
        crate::ShutdownReport {
            result,
            took,
            audit: self.audit.iter().flat_map(AuditLayer::stats).collect(),
            otlp: self.otlp.as_ref().map(Otlp::stats),
            lines: self.json_writer.as_ref().map(|w| crate::LineCounts {
                written: w.written(),
                dropped: w.dropped(),
            }),
        }
    }

    /// What the stack has lost so far: after [`shutdown`](Self::shutdown)
    /// (above all one that timed out), what it did not deliver. Dropping
    /// the guard says it on stderr.
    ///
    /// ```
    /// # let dir = std::env::temp_dir().join(format!("warden-losses-doc-{}", std::process::id()));
    /// # std::fs::create_dir_all(&dir)?;
    /// let (subscriber, guard) = warden::Warden::builder()
    ///     .audit_sqlite(dir.join("audit.db"))
    ///     .without_otlp()
    ///     .writer(std::io::sink)
    ///     .build()?;
    /// tracing::subscriber::with_default(subscriber, || {
    ///     warden::audit::security!(action = "login_failed");
    /// });
    /// if let Err(e) = guard.shutdown(std::time::Duration::from_secs(5)) {
    ///     eprintln!("shutdown: {e}: {}", guard.losses());
    /// }
    /// assert!(guard.losses().is_empty());
    /// # std::fs::remove_dir_all(dir)?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn losses(&self) -> Losses {
        let audit = self
            .audit
            .iter()
            .flat_map(AuditLayer::stats)
            .filter(|route| route.dropped + route.pending > 0)
            .collect();
        let otlp = self
            .otlp
            .as_ref()
            .map(Otlp::stats)
            .filter(|stats| stats.lost() > 0);
        Losses { audit, otlp }
    }
}

impl Drop for WardenGuard {
    /// Shuts down as [`shutdown`](WardenGuard::shutdown) does, unless that
    /// was done already, and says on stderr what was lost, if anything: a
    /// drop has no caller to tell.
    fn drop(&mut self) {
        if self.shut_down.load(std::sync::atomic::Ordering::Acquire) {
            return;
        }
        let result = self.shutdown(self.timeout);
        let losses = self.losses();
        match result {
            Err(e) => eprintln!("warden: shutdown not complete ({e}): {losses}"),
            Ok(()) if !losses.is_empty() => eprintln!("warden: {losses}"),
            Ok(()) => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use warden_audit::{AuditRecord, AuditSink, SinkError};

    /// A store that refuses every write.
    struct Refusing;

    impl AuditSink for Refusing {
        fn name(&self) -> String {
            "refusing".into()
        }
        fn write(&mut self, _: &[AuditRecord]) -> Result<(), SinkError> {
            Err("the disk is full".into())
        }
    }

    #[test]
    fn a_shutdown_that_loses_records_says_how_many() {
        let audit = AuditLayer::builder()
            .route(Route::new("store", RouteFilter::all()).sink(Refusing))
            .build()
            .unwrap();
        let (subscriber, guard) = Warden::builder()
            .audit(audit)
            .without_otlp()
            .writer(std::io::sink)
            .build()
            .unwrap();
        tracing::subscriber::with_default(subscriber, || {
            for _ in 0..5 {
                warden_audit::security!(action = "login_failed");
            }
        });
        let started = std::time::Instant::now();
        let _ = guard.shutdown(Duration::from_secs(2));
        assert!(started.elapsed() < Duration::from_secs(3), "{:?}", started.elapsed());
        let losses = guard.losses();
        assert_eq!(losses.audit.len(), 1, "{losses}");
        assert_eq!(losses.audit[0].dropped + losses.audit[0].pending, 5);
        assert!(
            losses.to_string().starts_with("audit route store: 5 records not written"),
            "{losses}"
        );
        let clean = Warden::builder()
            .without_audit()
            .without_otlp()
            .writer(std::io::sink)
            .build()
            .unwrap()
            .1;
        assert!(clean.losses().is_empty());
    }
}
