//! The export thread: a single-threaded Tokio runtime of its own that
//! drains the queues in batches, converts them, and sends them with every
//! attempt bounded by the configured timeout.
//!
//! By default spans and log records are built as `opentelemetry-proto`
//! messages kept from batch to batch ([`proto`](crate::proto)) and sent by
//! warden's own [`Sender`]; an `opentelemetry-otlp` exporter the user
//! built replaces that path for its signal.

use std::sync::Arc;
use std::sync::atomic::Ordering::Relaxed;
use std::sync::mpsc::SyncSender;
use std::thread::JoinHandle;
use std::time::{Instant, SystemTime};

use crate::last_step::LastStep;
use crossbeam_queue::ArrayQueue;
use opentelemetry::InstrumentationScope;
use opentelemetry::logs::LoggerProvider as _;
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::logs::{LogBatch as SdkLogBatch, LogExporter as _, SdkLoggerProvider};
use opentelemetry_sdk::trace::SpanExporter as _;
use prost::Message as _;
use tokio::sync::mpsc::{UnboundedReceiver, UnboundedSender};

use crate::OtlpError;
use crate::config::{OtlpConfig, Signal};
use crate::convert::{Converter, LogOut};
use crate::metrics::{build_request, resource_proto};
use crate::proto::{Batch as _, LogBatch, SpanBatch};
use crate::queue::{AuditItem, Counters, Shared};
use crate::record::EventRecord;
use crate::transport::{Accepted, Sender};
use warden_core::internal::WallAnchor;

/// Requests to the export thread.
pub(crate) enum Control {
    /// Send everything queued now, then answer.
    Flush(SyncSender<()>),
    /// Send everything queued, shut the exporters down, answer and stop.
    Shutdown(SyncSender<()>),
}

/// What the export thread needs besides the queues.
pub(crate) struct Pipeline {
    pub(crate) config: OtlpConfig,
    pub(crate) resource: Resource,
    pub(crate) sanitizer: LastStep,
    pub(crate) metrics: Vec<crate::metrics::Source>,
    /// An exporter the user built, used for spans instead of warden's own.
    pub(crate) span_exporter: Option<opentelemetry_otlp::SpanExporter>,
    /// The same for log records (events and audit records).
    pub(crate) log_exporter: Option<opentelemetry_otlp::LogExporter>,
}

/// Starts the export thread; returns once its exporters are built.
pub(crate) fn spawn(
    shared: Arc<Shared>,
    pipeline: Pipeline,
) -> Result<(JoinHandle<()>, UnboundedSender<Control>), OtlpError> {
    let (control, commands) = tokio::sync::mpsc::unbounded_channel();
    let (ready, started) = std::sync::mpsc::sync_channel::<Result<(), String>>(1);
    let handle = std::thread::Builder::new()
        .name("warden-otlp".into())
        .spawn(move || {
            // Nothing this thread logs (the SDK's diagnostics, tonic, hyper)
            // may come back into the subscriber it exports for.
            let _quiet = tracing::subscriber::set_default(tracing::subscriber::NoSubscriber::new());
            let runtime = match tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            {
                Ok(runtime) => runtime,
                Err(e) => {
                    let _ = ready.send(Err(e.to_string()));
                    return;
                }
            };
            runtime.block_on(async move {
                let worker = match Worker::new(shared, pipeline) {
                    Ok(worker) => worker,
                    Err(e) => {
                        let _ = ready.send(Err(e));
                        return;
                    }
                };
                let _ = ready.send(Ok(()));
                worker.run(commands).await;
            });
        })?;
    match started.recv() {
        Ok(Ok(())) => Ok((handle, control)),
        Ok(Err(e)) => Err(OtlpError::Exporter(e)),
        Err(_) => Err(OtlpError::Exporter(
            "the export thread ended while starting".into(),
        )),
    }
}

/// Where spans go.
enum SpanPath {
    /// warden's own requests, kept from batch to batch.
    Direct { batch: SpanBatch, sender: Sender },
    /// An exporter the user built.
    Sdk(opentelemetry_otlp::SpanExporter),
}

/// Where log records (events, audit records, checkpoints) go.
enum LogPath {
    Direct { batch: LogBatch, sender: Sender },
    Sdk(opentelemetry_otlp::LogExporter),
}

struct Worker {
    shared: Arc<Shared>,
    spans: SpanPath,
    logs: LogPath,
    metrics_sender: Sender,
    converter: Converter,
    config: OtlpConfig,
    metrics: Vec<crate::metrics::Source>,
    resource: opentelemetry_proto::tonic::resource::v1::Resource,
    started: SystemTime,
    /// Keeps the logger's provider alive (it has no processors: records go
    /// to our own queue and exporter).
    _provider: SdkLoggerProvider,
    /// Reports export failures on stderr once per outage.
    outage: Outage,
    /// Exports sent and not yet answered (warden's own path).
    in_flight: tokio::task::JoinSet<Done>,
}

/// The counters of `kind`'s records.
fn counters(shared: &Shared, kind: Kind) -> &Counters {
    match kind {
        Kind::Spans => &shared.spans.counters,
        Kind::Events => &shared.events.counters,
        Kind::Audit => &shared.audit_counters,
    }
}

/// Which counters an export's items count against.
#[derive(Debug, Clone, Copy)]
enum Kind {
    Spans,
    Events,
    Audit,
}

/// An export that ended.
struct Done {
    kind: Kind,
    n: usize,
    result: Result<Accepted, String>,
}

/// Says once on stderr that exports fail, with the first reason (an
/// unreachable collector, a refused or untrusted certificate…), and once
/// that they work again. Failures are counted either way.
#[derive(Debug, Default)]
struct Outage {
    failing: std::cell::Cell<bool>,
    /// The collector refused part of a request (partial success) since
    /// the last request it took whole: said once, counted always.
    refusing: std::cell::Cell<bool>,
}

impl Outage {
    fn record(&self, what: &str, result: Result<(), String>, since: &std::sync::atomic::AtomicU64) {
        match (result, self.failing.get()) {
            (Err(reason), false) => {
                self.failing.set(true);
                let now = SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map_or(1, |d| d.as_millis() as u64);
                since.store(now.max(1), std::sync::atomic::Ordering::Relaxed);
                eprintln!(
                    "warden-otlp: exporting {what} failed: {reason}; what fails is counted and later records are tried again"
                );
            }
            (Ok(()), true) => {
                self.failing.set(false);
                since.store(0, std::sync::atomic::Ordering::Relaxed);
                eprintln!("warden-otlp: exports succeed again");
            }
            _ => {}
        }
    }
}

impl Worker {
    /// Must run inside the export thread's runtime.
    fn new(shared: Arc<Shared>, pipeline: Pipeline) -> Result<Self, String> {
        let provider = SdkLoggerProvider::builder().build();
        let scope = InstrumentationScope::builder("warden-otlp")
            .with_version(env!("CARGO_PKG_VERSION"))
            .build();
        let logger = provider.logger_with_scope(scope.clone());
        let config = pipeline.config;
        let resource = resource_proto(&pipeline.resource);
        let spans = match pipeline.span_exporter {
            Some(mut exporter) => {
                exporter.set_resource(&pipeline.resource);
                SpanPath::Sdk(exporter)
            }
            None => SpanPath::Direct {
                batch: SpanBatch::new(resource.clone(), crate::proto::scope("warden-otlp")),
                sender: Sender::new(&config, Signal::Traces)?,
            },
        };
        let logs = match pipeline.log_exporter {
            Some(mut exporter) => {
                exporter.set_resource(&pipeline.resource);
                LogPath::Sdk(exporter)
            }
            None => LogPath::Direct {
                batch: LogBatch::new(resource.clone()),
                sender: Sender::new(&config, Signal::Logs)?,
            },
        };
        Ok(Worker {
            shared,
            spans,
            logs,
            metrics_sender: Sender::new(&config, Signal::Metrics)?,
            converter: Converter {
                sanitizer: pipeline.sanitizer,
                scope,
                logger,
            },
            resource,
            config,
            metrics: pipeline.metrics,
            started: SystemTime::now(),
            _provider: provider,
            outage: Outage::default(),
            in_flight: tokio::task::JoinSet::new(),
        })
    }

    async fn run(mut self, mut commands: UnboundedReceiver<Control>) {
        let mut next_metrics = Instant::now() + self.config.metrics_interval;
        loop {
            let wait = self
                .config
                .delay
                .min(next_metrics.saturating_duration_since(Instant::now()));
            let command = tokio::select! {
                _ = self.shared.wake.notified() => None,
                _ = tokio::time::sleep(wait) => None,
                command = commands.recv() => Some(command),
                Some(done) = self.in_flight.join_next(), if !self.in_flight.is_empty() => {
                    if let Ok(done) = done {
                        self.settle_done(done);
                    }
                    continue;
                }
            };
            self.shared.woke();
            self.drain().await;
            match command {
                None => {
                    if Instant::now() >= next_metrics {
                        self.export_metrics().await;
                        next_metrics = Instant::now() + self.config.metrics_interval;
                    }
                }
                Some(Some(Control::Flush(reply))) => {
                    self.drain_all().await;
                    self.export_metrics().await;
                    let _ = reply.send(());
                }
                Some(Some(Control::Shutdown(reply))) => {
                    self.stop().await;
                    let _ = reply.send(());
                    return;
                }
                Some(None) => {
                    self.stop().await;
                    return;
                }
            }
        }
    }

    async fn stop(&mut self) {
        self.shared.close();
        self.drain_all().await;
        // What is still queued (the collector failed) will never be sent.
        for (queue_len, counters) in [
            (self.shared.spans.queue.len(), &self.shared.spans.counters),
            (self.shared.events.queue.len(), &self.shared.events.counters),
            (self.shared.audit.len(), &self.shared.audit_counters),
        ] {
            counters.dropped.fetch_add(queue_len as u64, Relaxed);
        }
        while self.shared.spans.queue.pop().is_some() {}
        while self.shared.events.queue.pop().is_some() {}
        while self.shared.audit.pop().is_some() {}
        self.export_metrics().await;
        if let SpanPath::Sdk(exporter) = &mut self.spans {
            let _ = exporter.shutdown_with_timeout(self.config.timeout);
        }
        if let LogPath::Sdk(exporter) = &mut self.logs {
            let _ = exporter.shutdown_with_timeout(self.config.timeout);
        }
    }

    /// Drains until the queues are empty or an export fails.
    async fn drain_all(&mut self) {
        while !self.shared.is_empty() {
            if !self.drain().await {
                break;
            }
        }
        self.settle_in_flight().await;
    }

    /// Waits for every export in flight, counting each; `false` if one
    /// failed.
    async fn settle_in_flight(&mut self) -> bool {
        let mut ok = true;
        while let Some(done) = self.in_flight.join_next().await {
            if let Ok(done) = done {
                ok &= self.settle_done(done);
            }
        }
        ok
    }

    /// Sends `body` (`n` items of `kind`) without waiting for the answer,
    /// once fewer than `max_concurrent_exports` requests are in flight;
    /// `false` if an export that ended meanwhile failed (the caller then
    /// leaves the rest queued for later).
    async fn launch(&mut self, kind: Kind, n: usize, mut sender: Sender, body: Vec<u8>) -> bool {
        let mut ok = true;
        while self.in_flight.len() >= self.config.max_concurrent_exports.max(1) {
            match self.in_flight.join_next().await {
                Some(Ok(done)) => ok &= self.settle_done(done),
                Some(Err(_)) => {}
                None => break,
            }
        }
        let timeout = self.config.timeout;
        self.in_flight.spawn(async move {
            let result = bounded(timeout, sender.send(body)).await;
            Done { kind, n, result }
        });
        ok
    }

    /// Counts an export that ended.
    fn settle_done(&self, done: Done) -> bool {
        let what = match done.kind {
            Kind::Spans => "spans",
            Kind::Events | Kind::Audit => "log records",
        };
        self.settle(what, counters(&self.shared, done.kind), done.n, done.result)
    }

    /// One pass over each queue; `false` if an export failed.
    async fn drain(&mut self) -> bool {
        let spans = self.drain_spans().await;
        let events = self.drain_events().await;
        let audit = self.drain_audit().await;
        spans && events && audit
    }

    /// Counts the outcome of an export of `n` items, and reports the first
    /// failure of an outage (and its end); `false` if it failed.
    fn settle(
        &self,
        what: &str,
        counters: &Counters,
        n: usize,
        result: Result<Accepted, String>,
    ) -> bool {
        let (ok, rejected) = match &result {
            Ok(accepted) => (true, accepted.rejected.min(n as u64)),
            Err(_) => (false, n as u64),
        };
        // Counted as an outcome before it stops counting as sent, so that
        // a reader never misses it (it may see it twice, for a moment).
        if rejected > 0 {
            counters.failed.fetch_add(rejected, Relaxed);
        }
        if ok {
            counters.exported.fetch_add(n as u64 - rejected, Relaxed);
        }
        counters.sending.fetch_sub(n as u64, Relaxed);
        if let Ok(accepted) = &result {
            let refusing = accepted.rejected > 0;
            if refusing && !self.outage.refusing.get() {
                eprintln!(
                    "warden-otlp: the collector refused {} of {n} {what}: {}; refusals are counted as failed",
                    accepted.rejected, accepted.message
                );
            }
            self.outage.refusing.set(refusing);
        }
        self.outage
            .record(what, result.map(|_| ()), &self.shared.failing_since_ms);
        ok
    }

    async fn drain_spans(&mut self) -> bool {
        let max = self.config.max_batch;
        let rounds = self.shared.spans.queue.len().div_ceil(max);
        for _ in 0..rounds {
            let clock = WallAnchor::now();
            let (n, result) = match &mut self.spans {
                SpanPath::Direct { batch, sender } => {
                    while batch.len() < max {
                        let Some(record) = self.shared.spans.queue.pop() else {
                            break;
                        };
                        batch.push(&self.converter, &record, &clock);
                        self.shared.spans.recycle(record);
                    }
                    let Some((n, body)) = batch.take_body() else {
                        break;
                    };
                    let sender = sender.clone();
                    self.shared
                        .spans
                        .counters
                        .sending
                        .fetch_add(n as u64, Relaxed);
                    if !self.launch(Kind::Spans, n, sender, body).await {
                        return false;
                    }
                    continue;
                }
                SpanPath::Sdk(exporter) => {
                    let mut spans = Vec::with_capacity(max);
                    while spans.len() < max {
                        let Some(record) = self.shared.spans.queue.pop() else {
                            break;
                        };
                        spans.push(self.converter.span_data(&record, &clock));
                        self.shared.spans.recycle(record);
                    }
                    let n = spans.len();
                    if n == 0 {
                        break;
                    }
                    self.shared
                        .spans
                        .counters
                        .sending
                        .fetch_add(n as u64, Relaxed);
                    let export = async { exporter.export(spans).await.map_err(|e| e.to_string()) };
                    (n, bounded_sdk(self.config.timeout, export).await)
                }
            };
            if !self.settle_done(Done {
                kind: Kind::Spans,
                n,
                result,
            }) {
                return false;
            }
        }
        true
    }

    async fn drain_events(&mut self) -> bool {
        let shared = Arc::clone(&self.shared);
        let events = &shared.events;
        self.drain_log_queue(&events.queue, Kind::Events, |record| events.recycle(record))
            .await
    }

    async fn drain_audit(&mut self) -> bool {
        let shared = Arc::clone(&self.shared);
        self.drain_log_queue(&shared.audit, Kind::Audit, drop).await
    }

    /// Sends what `queue` holds now as log records, a batch at a time,
    /// handing each item to `done` once converted; `false` if an export
    /// failed.
    async fn drain_log_queue<T: ToLog>(
        &mut self,
        queue: &ArrayQueue<T>,
        kind: Kind,
        done: impl Fn(T),
    ) -> bool {
        let max = self.config.max_batch;
        let rounds = queue.len().div_ceil(max);
        for _ in 0..rounds {
            let (n, result) = match &mut self.logs {
                LogPath::Direct { batch, sender } => {
                    while batch.len() < max {
                        let Some(item) = queue.pop() else { break };
                        let mut writer = batch.writer();
                        item.to_log(&self.converter, &mut writer);
                        batch.push(writer);
                        done(item);
                    }
                    let Some((n, body)) = batch.take_body() else {
                        break;
                    };
                    let sender = sender.clone();
                    counters(&self.shared, kind)
                        .sending
                        .fetch_add(n as u64, Relaxed);
                    if !self.launch(kind, n, sender, body).await {
                        return false;
                    }
                    continue;
                }
                LogPath::Sdk(exporter) => {
                    let mut records = Vec::with_capacity(max);
                    while records.len() < max {
                        let Some(item) = queue.pop() else { break };
                        let mut log = self.converter.sdk_log();
                        item.to_log(&self.converter, &mut log);
                        records.push(log.0);
                        done(item);
                    }
                    let n = records.len();
                    if n == 0 {
                        break;
                    }
                    counters(&self.shared, kind)
                        .sending
                        .fetch_add(n as u64, Relaxed);
                    let scope = &self.converter.scope;
                    let refs: Vec<_> = records.iter().map(|r| (r, scope)).collect();
                    let export = async {
                        exporter
                            .export(SdkLogBatch::new(&refs))
                            .await
                            .map_err(|e| e.to_string())
                    };
                    (n, bounded_sdk(self.config.timeout, export).await)
                }
            };
            if !self.settle_done(Done { kind, n, result }) {
                return false;
            }
        }
        true
    }

    async fn export_metrics(&mut self) {
        let request = build_request(
            &self.metrics,
            &self.shared.stats(),
            &self.resource,
            self.started,
        );
        let body = request.encode_to_vec();
        let result = bounded(self.config.timeout, self.metrics_sender.send(body))
            .await
            .map(|_| ());
        crate::metrics::count(&self.shared.metric_counters, &result);
        self.outage
            .record("metrics", result, &self.shared.failing_since_ms);
    }
}

/// `send`, or an error if it does not finish within `timeout`.
async fn bounded(
    timeout: std::time::Duration,
    send: impl std::future::Future<Output = Result<Accepted, String>>,
) -> Result<Accepted, String> {
    match tokio::time::timeout(timeout, send).await {
        Ok(result) => result,
        Err(_) => Err(format!("no answer within {timeout:?}")),
    }
}

/// The same for an SDK exporter's export.
async fn bounded_sdk(
    timeout: std::time::Duration,
    export: impl std::future::Future<Output = Result<(), String>>,
) -> Result<Accepted, String> {
    bounded(timeout, async {
        export.await.map(|()| Accepted::default())
    })
    .await
}

/// What becomes one log record.
trait ToLog {
    fn to_log<O: LogOut>(&self, converter: &Converter, out: &mut O);
}

impl ToLog for Box<EventRecord> {
    fn to_log<O: LogOut>(&self, converter: &Converter, out: &mut O) {
        converter.event(self, out);
    }
}

impl ToLog for AuditItem {
    fn to_log<O: LogOut>(&self, converter: &Converter, out: &mut O) {
        // Without the audit glue nothing is queued here (the enum is empty).
        #[cfg(not(feature = "audit"))]
        let _ = (converter, out);
        match *self {
            #[cfg(feature = "audit")]
            AuditItem::Record(ref record) => converter.audit(record, out),
            #[cfg(feature = "audit")]
            AuditItem::Checkpoint(ref checkpoint) => converter.checkpoint(checkpoint, out),
        }
    }
}
