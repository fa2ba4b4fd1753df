//! Export `tracing` spans and events, warden audit records and warden
//! metrics to any OpenTelemetry collector over OTLP (gRPC or HTTP/protobuf),
//! sanitized, without ever blocking the application.
//!
//! One [`Otlp`] exporter owns a background thread and three bounded queues.
//! From it come:
//!
//! - [`Otlp::layer`]: an [`OtlpLayer`] that exports spans (parent/child
//!   structure, status, `correlation.id`) and events (as log records with
//!   trace and span ids);
//! - [`Otlp::audit_sink`]: an audit-router sink that exports audit records
//!   as log records with `audit.*` attributes;
//! - [`OtlpBuilder::metrics`]: warden-metrics operations exported as
//!   exponential histograms (bucket for bucket), counters and gauges.
//!
//! Settings come from the standard environment (`OTEL_EXPORTER_OTLP_ENDPOINT`,
//! `…_PROTOCOL`, `…_HEADERS`, `…_COMPRESSION`, `…_TIMEOUT`, the per-signal
//! endpoints, `OTEL_SERVICE_NAME`, `OTEL_RESOURCE_ATTRIBUTES`,
//! `OTEL_BSP_*`, `OTEL_METRIC_EXPORT_INTERVAL`), and the builder overrides
//! them. A full queue drops and counts ([`Otlp::stats`]); an export that
//! fails is counted and the next one is tried; nothing the export thread
//! logs comes back into the export.
//!
//! ```no_run
//! use tracing_subscriber::prelude::*;
//! use warden_otlp::Otlp;
//!
//! # fn main() -> Result<(), warden_otlp::OtlpError> {
//! let otlp = Otlp::builder()
//!     .endpoint("http://localhost:4317")
//!     .service_name("checkout")
//!     .build()?;
//! let _guard = otlp.guard(); // flushes and stops the exporter on drop
//! tracing_subscriber::registry()
//!     .with(warden_pii::PiiLayer::default())
//!     .with(otlp.layer())
//!     .init();
//! let _span = tracing::info_span!("charge", user = "ada@example.com").entered();
//! tracing::info!("charged"); // user="[REDACTED:EMAIL]" at the collector
//! # Ok(()) }
//! ```

#[cfg(feature = "audit")]
mod audit;
mod config;
mod convert;
mod error;
mod exporter;
mod last_step;
mod layer;
pub mod metrics;
mod proto;
mod queue;
mod record;
mod tls;
mod transport;

use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use opentelemetry::KeyValue;
use tokio::sync::mpsc::UnboundedSender;
#[cfg(feature = "metrics")]
use warden_metrics::MetricsLayer;
#[cfg(feature = "pii")]
use warden_pii::Sanitizer;

#[cfg(feature = "audit")]
#[cfg_attr(docsrs, doc(cfg(feature = "audit")))]
pub use audit::{OtlpAuditSink, OtlpCheckpointWitness};
pub use config::{Compression, OtlpConfig, Protocol, Signal};
pub use convert::CORRELATION_ATTRIBUTE;
pub use error::OtlpError;
pub use layer::OtlpLayer;
pub use queue::{ExportStats, SignalStats};
pub use tls::{TlsFile, TlsFiles};
pub use warden_core::MAX_VALUE_BYTES;
pub use warden_core::{FlushError, FlushResult};

use exporter::{Control, Pipeline};
use queue::Shared;

/// A running OTLP exporter: its queues, its export thread and its counts.
/// Cheap to clone; every clone is the same exporter.
///
/// ```
/// use std::time::Duration;
/// use tracing_subscriber::prelude::*;
/// use warden_otlp::Otlp;
///
/// # let dead = "http://127.0.0.1:9"; // nothing listens: exports fail fast, counted
/// let otlp = Otlp::builder().ignore_env().endpoint(dead).service_name("checkout").build()?;
/// let subscriber = tracing_subscriber::registry().with(otlp.layer());
/// tracing::subscriber::with_default(subscriber, || {
///     let _span = tracing::info_span!("get_order", order_id = 7u64).entered();
///     tracing::info!("read");
/// });
/// let _ = otlp.flush(Duration::from_secs(5));
/// assert_eq!(otlp.stats().spans.lost() + otlp.stats().spans.exported, 1);
/// otlp.shutdown(Duration::from_secs(5))?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Debug)]
pub struct Otlp {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    shared: Arc<Shared>,
    control: UnboundedSender<Control>,
    thread: Mutex<Option<JoinHandle<()>>>,
    config: OtlpConfig,
}

impl Otlp {
    /// A builder that starts from the environment.
    ///
    /// ```
    /// // Endpoint, protocol and headers from `OTEL_EXPORTER_OTLP_*` when set.
    /// let builder = warden_otlp::Otlp::builder();
    /// assert!(builder.config().is_ok());
    /// ```
    pub fn builder() -> OtlpBuilder {
        OtlpBuilder::default()
    }

    /// A layer that exports spans and events through this exporter.
    pub fn layer(&self) -> OtlpLayer {
        OtlpLayer::new(Arc::clone(&self.inner.shared))
    }

    /// An audit sink that exports audit records through this exporter.
    ///
    /// ```
    /// use warden_audit::{AuditLayer, Route, RouteFilter};
    /// use warden_otlp::Otlp;
    ///
    /// # let dead = "http://127.0.0.1:9"; // nothing listens: exports fail fast, counted
    /// let otlp = Otlp::builder().ignore_env().endpoint(dead).build()?;
    /// let audit = AuditLayer::builder()
    ///     .route(Route::new("collector", RouteFilter::all()).sink(otlp.audit_sink()))
    ///     .build()?;
    /// # let _ = audit.shutdown(std::time::Duration::from_secs(5));
    /// # let _ = otlp.shutdown(std::time::Duration::from_secs(5));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    #[cfg(feature = "audit")]
    #[cfg_attr(docsrs, doc(cfg(feature = "audit")))]
    pub fn audit_sink(&self) -> OtlpAuditSink {
        OtlpAuditSink {
            shared: Arc::clone(&self.inner.shared),
            endpoint: self.inner.config.endpoint_for(Signal::Logs),
        }
    }

    /// A [`CheckpointWitness`](warden_audit::CheckpointWitness) that sends
    /// each checkpoint of an audit store to the collector as an
    /// `audit.checkpoint` log record, so that a copy lives off the host
    /// (see [`OtlpCheckpointWitness`]).
    ///
    /// ```
    /// use warden_audit::{SigningKey, SqliteSink};
    /// use warden_otlp::Otlp;
    /// # let dir = std::env::temp_dir().join(format!("warden-doc-{}-{}", std::process::id(), line!()));
    /// # std::fs::create_dir_all(&dir)?;
    /// let otlp = Otlp::builder().ignore_env().endpoint("http://127.0.0.1:4317").build()?;
    /// let sink = SqliteSink::builder(dir.join("audit.db"))
    ///     .signing_key(SigningKey::generate())
    ///     .witness(otlp.checkpoint_witness())
    ///     .build()?;
    /// # drop(sink);
    /// # let _ = otlp.shutdown(std::time::Duration::from_secs(1));
    /// # std::fs::remove_dir_all(&dir)?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    #[cfg(feature = "audit")]
    #[cfg_attr(docsrs, doc(cfg(feature = "audit")))]
    pub fn checkpoint_witness(&self) -> OtlpCheckpointWitness {
        OtlpCheckpointWitness {
            shared: Arc::clone(&self.inner.shared),
            endpoint: self.inner.config.endpoint_for(Signal::Logs),
        }
    }

    /// What has been exported, dropped and lost so far.
    ///
    /// ```
    /// # let otlp = warden_otlp::Otlp::builder().ignore_env().endpoint("http://127.0.0.1:9").build()?;
    /// let stats = otlp.stats();
    /// assert_eq!(stats.spans.dropped, 0);
    /// println!("{stats}"); // a table: exported, dropped, failed, queued per signal
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn stats(&self) -> ExportStats {
        self.inner.shared.stats()
    }

    /// The settings it runs with.
    pub fn config(&self) -> &OtlpConfig {
        &self.inner.config
    }

    fn request(
        &self,
        make: fn(std::sync::mpsc::SyncSender<()>) -> Control,
        timeout: Duration,
    ) -> FlushResult {
        let (reply, done) = std::sync::mpsc::sync_channel(1);
        self.inner
            .control
            .send(make(reply))
            .map_err(|_| FlushError::ShutDown)?;
        match done.recv_timeout(timeout) {
            Ok(()) => Ok(()),
            Err(std::sync::mpsc::RecvTimeoutError::Timeout) => Err(FlushError::Timeout(timeout)),
            Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => Err(FlushError::ShutDown),
        }
    }

    /// Sends everything queued now (and the metrics), waiting at most
    /// `timeout`.
    pub fn flush(&self, timeout: Duration) -> FlushResult {
        self.request(Control::Flush, timeout)
    }

    /// Sends everything queued, stops the export thread and waits for it,
    /// at most `timeout`. Later records are dropped and counted.
    pub fn shutdown(&self, timeout: Duration) -> FlushResult {
        let result = self.request(Control::Shutdown, timeout);
        if result.is_ok() {
            let thread = self.inner.thread.lock().ok().and_then(|mut t| t.take());
            if let Some(thread) = thread {
                let _ = thread.join();
            }
        }
        result
    }

    /// A guard that shuts the exporter down (flushing, 5 s at most) when
    /// dropped.
    ///
    /// ```
    /// # let otlp = warden_otlp::Otlp::builder().ignore_env().endpoint("http://127.0.0.1:9").build()?;
    /// {
    ///     let _guard = otlp.guard().with_timeout(std::time::Duration::from_secs(2));
    ///     // … the application runs …
    /// } // shut down here: what was queued is sent (or counted as failed)
    /// assert!(otlp.flush(std::time::Duration::from_secs(1)).is_err());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn guard(&self) -> OtlpGuard {
        OtlpGuard {
            otlp: self.clone(),
            timeout: Duration::from_secs(5),
        }
    }
}

/// Shuts an [`Otlp`] exporter down when dropped; see [`Otlp::guard`].
#[derive(Debug)]
#[must_use = "the exporter shuts down when the guard is dropped"]
pub struct OtlpGuard {
    otlp: Otlp,
    timeout: Duration,
}

impl OtlpGuard {
    /// How long the shutdown on drop may take (default 5 s).
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// The exporter.
    pub fn exporter(&self) -> &Otlp {
        &self.otlp
    }
}

impl Drop for OtlpGuard {
    fn drop(&mut self) {
        let _ = self.otlp.shutdown(self.timeout);
    }
}

/// Configures and starts an [`Otlp`] exporter. Every setting left unset
/// comes from the environment (unless [`ignore_env`](Self::ignore_env)),
/// then from the specification's defaults.
///
/// ```
/// use std::time::Duration;
/// use warden_otlp::{Compression, Otlp, Protocol};
///
/// let config = Otlp::builder()
///     .ignore_env()
///     .endpoint("http://collector.internal:4318")
///     .protocol(Protocol::HttpProtobuf)
///     .header("x-api-key", "k-123")
///     .compression(Compression::Gzip)
///     .timeout(Duration::from_secs(5))
///     .service_name("checkout")
///     .resource_attribute("deployment.environment", "prod")
///     .span_queue(32_768)
///     .max_batch(1_024)
///     .delay(Duration::from_millis(100))
///     .config()?;
/// assert_eq!(config.protocol, Protocol::HttpProtobuf);
/// assert_eq!(config.timeout, Duration::from_secs(5));
/// # Ok::<(), warden_otlp::OtlpError>(())
/// ```
#[derive(Debug, Default)]
pub struct OtlpBuilder {
    ignore_env: bool,
    endpoint: Option<String>,
    protocol: Option<Protocol>,
    headers: Vec<(String, String)>,
    compression: Option<Compression>,
    timeout: Option<Duration>,
    service_name: Option<String>,
    resource: Vec<(String, String)>,
    span_queue: Option<usize>,
    log_queue: Option<usize>,
    audit_queue: Option<usize>,
    max_batch: Option<usize>,
    delay: Option<Duration>,
    metrics_interval: Option<Duration>,
    max_concurrent_exports: Option<usize>,
    #[cfg(feature = "pii")]
    sanitizer: Option<Sanitizer>,
    metrics: Vec<metrics::Source>,
    ca_certificate: Option<std::path::PathBuf>,
    client_certificate: Option<(std::path::PathBuf, std::path::PathBuf)>,
    insecure: Option<bool>,
    span_exporter: Option<opentelemetry_otlp::SpanExporter>,
    log_exporter: Option<opentelemetry_otlp::LogExporter>,
}

impl OtlpBuilder {
    /// For a gRPC endpoint written without a scheme (`collector:4317`):
    /// `true` sends in clear, `false` over TLS (overrides
    /// `OTEL_EXPORTER_OTLP_INSECURE`; without either, TLS). A scheme always
    /// wins: `http://` is plain, `https://` is TLS.
    ///
    /// ```
    /// use warden_otlp::{Otlp, Signal};
    ///
    /// let plain = Otlp::builder().ignore_env().endpoint("collector:4317").insecure(true).config()?;
    /// assert_eq!(plain.endpoint_for(Signal::Traces), "http://collector:4317");
    /// let tls = Otlp::builder().ignore_env().endpoint("collector:4317").config()?;
    /// assert_eq!(tls.endpoint_for(Signal::Traces), "https://collector:4317");
    /// # Ok::<(), warden_otlp::OtlpError>(())
    /// ```
    pub fn insecure(mut self, insecure: bool) -> Self {
        self.insecure = Some(insecure);
        self
    }

    /// Trusts the CA certificates in this PEM file instead of the system's
    /// roots, for an `https://` endpoint (overrides
    /// `OTEL_EXPORTER_OTLP_CERTIFICATE`). A missing or malformed file is an
    /// error at build time.
    ///
    /// ```
    /// use warden_otlp::{Otlp, OtlpError, Protocol};
    ///
    /// let err = Otlp::builder()
    ///     .ignore_env()
    ///     .endpoint("https://collector.internal:4318")
    ///     .protocol(Protocol::HttpProtobuf)
    ///     .ca_certificate("/no/such/ca.pem")
    ///     .config()
    ///     .unwrap_err();
    /// assert!(matches!(err, OtlpError::TlsFile { variable: "builder", .. }));
    /// ```
    pub fn ca_certificate(mut self, pem_file: impl Into<std::path::PathBuf>) -> Self {
        self.ca_certificate = Some(pem_file.into());
        self
    }

    /// Presents this client certificate chain and key (PEM files) to a
    /// collector that requires mutual TLS (overrides
    /// `OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE` and `…_CLIENT_KEY`).
    pub fn client_certificate(
        mut self,
        certificate_pem: impl Into<std::path::PathBuf>,
        key_pem: impl Into<std::path::PathBuf>,
    ) -> Self {
        self.client_certificate = Some((certificate_pem.into(), key_pem.into()));
        self
    }

    /// Ignores `OTEL_EXPORTER_OTLP_*`, `OTEL_BSP_*` and
    /// `OTEL_METRIC_EXPORT_INTERVAL` (the resource variables still apply).
    pub fn ignore_env(mut self) -> Self {
        self.ignore_env = true;
        self
    }

    /// The collector's base address, such as `http://localhost:4317`.
    pub fn endpoint(mut self, endpoint: impl Into<String>) -> Self {
        self.endpoint = Some(endpoint.into());
        self
    }

    /// gRPC or HTTP/protobuf.
    pub fn protocol(mut self, protocol: Protocol) -> Self {
        self.protocol = Some(protocol);
        self
    }

    /// A header sent with every request (added to those of the environment).
    pub fn header(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.headers
            .push((name.into().to_lowercase(), value.into()));
        self
    }

    /// Request compression.
    pub fn compression(mut self, compression: Compression) -> Self {
        self.compression = Some(compression);
        self
    }

    /// The most one export may take (default 10 s).
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = Some(timeout);
        self
    }

    /// `service.name`.
    pub fn service_name(mut self, name: impl Into<String>) -> Self {
        self.service_name = Some(name.into());
        self
    }

    /// A resource attribute.
    pub fn resource_attribute(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.resource.push((key.into(), value.into()));
        self
    }

    /// Spans held for export at most (default 16,384).
    pub fn span_queue(mut self, capacity: usize) -> Self {
        self.span_queue = Some(capacity);
        self
    }

    /// Events held for export at most (default 16,384).
    pub fn log_queue(mut self, capacity: usize) -> Self {
        self.log_queue = Some(capacity);
        self
    }

    /// Audit records held for export at most (default 4,096).
    pub fn audit_queue(mut self, capacity: usize) -> Self {
        self.audit_queue = Some(capacity);
        self
    }

    /// Records per export request (default 512).
    pub fn max_batch(mut self, size: usize) -> Self {
        self.max_batch = Some(size);
        self
    }

    /// How long records may wait before they are sent (default 200 ms).
    pub fn delay(mut self, delay: Duration) -> Self {
        self.delay = Some(delay);
        self
    }

    /// Export requests of one signal in flight at once (default 4,
    /// `OTEL_BSP_MAX_CONCURRENT_EXPORTS`): over one connection, the next
    /// batches go out while the collector answers the first. With 1, each
    /// batch waits for the answer to the one before.
    pub fn max_concurrent_exports(mut self, n: usize) -> Self {
        self.max_concurrent_exports = Some(n);
        self
    }

    /// How often metrics are sent (default 60 s).
    pub fn metrics_interval(mut self, interval: Duration) -> Self {
        self.metrics_interval = Some(interval);
        self
    }

    /// The sanitizer of the last step before export (default
    /// [`Sanitizer::default`]); give it the gate's, so keyed hashes match.
    /// (With the `pii` feature; without it, texts are exported as the gate,
    /// if any, left them.)
    ///
    /// ```
    /// use warden_pii::{PiiLayer, Sanitizer, Strategy};
    ///
    /// let sanitizer = Sanitizer::builder()
    ///     .strategy(Strategy::Hmac)
    ///     .hmac_key("a key of at least sixteen bytes")
    ///     .build()?;
    /// let gate = PiiLayer::new(sanitizer.clone());
    /// let builder = warden_otlp::Otlp::builder().sanitizer(sanitizer);
    /// # drop((gate, builder));
    /// # Ok::<(), warden_pii::BuildError>(())
    /// ```
    #[cfg(feature = "pii")]
    #[cfg_attr(docsrs, doc(cfg(feature = "pii")))]
    pub fn sanitizer(mut self, sanitizer: Sanitizer) -> Self {
        self.sanitizer = Some(sanitizer);
        self
    }

    /// Exports this metrics layer's operations (a clone of the layer in the
    /// subscriber) every [`metrics_interval`](Self::metrics_interval).
    ///
    /// ```
    /// use tracing_subscriber::prelude::*;
    /// use warden_metrics::MetricsLayer;
    ///
    /// let metrics = MetricsLayer::new();
    /// let otlp = warden_otlp::Otlp::builder()
    ///     .ignore_env()
    ///     .endpoint("http://127.0.0.1:9")
    ///     .metrics(metrics.clone())
    ///     .metrics_interval(std::time::Duration::from_secs(15))
    ///     .build()?;
    /// let _subscriber = tracing_subscriber::registry().with(metrics).with(otlp.layer());
    /// # let _ = otlp.shutdown(std::time::Duration::from_secs(5));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    #[cfg(feature = "metrics")]
    #[cfg_attr(docsrs, doc(cfg(feature = "metrics")))]
    pub fn metrics(mut self, layer: MetricsLayer) -> Self {
        self.metrics.push(layer);
        self
    }

    /// Sends spans through this `opentelemetry-otlp` exporter instead of
    /// warden's own requests: for a transport warden does not configure
    /// (a custom interceptor, a channel shared with the application).
    ///
    /// Spans are then converted to the SDK's `SpanData`, which costs the
    /// export thread several times more per span than warden's own path;
    /// they are sanitized all the same, and the exporter is given warden's
    /// resource. The endpoint, headers, compression and TLS settings of
    /// this builder do not apply to it; the queue, batch size, delay and
    /// timeout do. A gRPC exporter must be built inside a Tokio runtime
    /// that outlives it (tonic's channel runs there).
    ///
    /// ```no_run
    /// use opentelemetry_otlp::{SpanExporter, WithExportConfig};
    /// use warden_otlp::Otlp;
    ///
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let runtime = tokio::runtime::Runtime::new()?;
    /// let exporter = {
    ///     let _in_runtime = runtime.enter();
    ///     SpanExporter::builder()
    ///         .with_tonic()
    ///         .with_endpoint("http://collector:4317")
    ///         .build()?
    /// };
    /// let otlp = Otlp::builder().span_exporter(exporter).build()?;
    /// # Ok(()) }
    /// ```
    pub fn span_exporter(mut self, exporter: opentelemetry_otlp::SpanExporter) -> Self {
        self.span_exporter = Some(exporter);
        self
    }

    /// Sends log records (events, audit records, checkpoints) through this
    /// `opentelemetry-otlp` exporter instead of warden's own requests; see
    /// [`span_exporter`](Self::span_exporter).
    pub fn log_exporter(mut self, exporter: opentelemetry_otlp::LogExporter) -> Self {
        self.log_exporter = Some(exporter);
        self
    }

    /// The settings this builder resolves to, without starting anything.
    pub fn config(&self) -> Result<OtlpConfig, OtlpError> {
        let mut config = if self.ignore_env {
            OtlpConfig::default()
        } else {
            OtlpConfig::from_env()?
        };
        if let Some(endpoint) = &self.endpoint {
            config.endpoint = Some(endpoint.clone());
            config.signal_endpoints.clear();
        }
        if let Some(protocol) = self.protocol {
            config.protocol = protocol;
        }
        config.headers.extend(self.headers.iter().cloned());
        macro_rules! apply {
            ($($field:ident),*) => { $( if let Some(v) = self.$field { config.$field = v; } )* };
        }
        apply!(
            compression,
            timeout,
            span_queue,
            log_queue,
            audit_queue,
            max_batch,
            delay,
            metrics_interval,
            max_concurrent_exports
        );
        if self.service_name.is_some() {
            config.service_name.clone_from(&self.service_name);
        }
        config
            .resource_attributes
            .extend(self.resource.iter().cloned());
        if self.insecure.is_some() {
            config.insecure = self.insecure;
        }
        // The builder wins over the variables, per-signal ones included.
        if let Some(ca) = &self.ca_certificate {
            config.tls.certificate = Some(TlsFile::new(ca.clone(), "builder"));
            for files in config.signal_tls.values_mut() {
                files.certificate = None;
            }
        }
        if let Some((cert, key)) = &self.client_certificate {
            config.tls.client_certificate = Some(TlsFile::new(cert.clone(), "builder"));
            config.tls.client_key = Some(TlsFile::new(key.clone(), "builder"));
            for files in config.signal_tls.values_mut() {
                files.client_certificate = None;
                files.client_key = None;
            }
        }
        config.validate()?;
        Ok(config)
    }

    /// Starts the exporter. Fails on a bad setting; a collector that is not
    /// there yet is not an error (records wait, then count as failed).
    pub fn build(self) -> Result<Otlp, OtlpError> {
        let config = self.config()?;
        let mut resource = opentelemetry_sdk::Resource::builder();
        if let Some(name) = &config.service_name {
            resource = resource.with_service_name(name.clone());
        }
        let resource = resource
            .with_attributes(
                config
                    .resource_attributes
                    .iter()
                    .map(|(k, v)| KeyValue::new(k.clone(), v.clone())),
            )
            .build();
        let shared = Arc::new(Shared::new(
            config.span_queue,
            config.log_queue,
            config.audit_queue,
            config.max_batch,
        ));
        let (thread, control) = exporter::spawn(
            Arc::clone(&shared),
            Pipeline {
                config: config.clone(),
                resource,
                #[cfg(feature = "pii")]
                sanitizer: last_step::LastStep::new(self.sanitizer.unwrap_or_default()),
                #[cfg(not(feature = "pii"))]
                sanitizer: last_step::LastStep::default(),
                metrics: self.metrics,
                span_exporter: self.span_exporter,
                log_exporter: self.log_exporter,
            },
        )?;
        Ok(Otlp {
            inner: Arc::new(Inner {
                shared,
                control,
                thread: Mutex::new(Some(thread)),
                config,
            }),
        })
    }
}
