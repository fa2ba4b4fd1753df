//! The export thread: a single-threaded Tokio runtime of its own that
//! drains the queues in batches through `opentelemetry-otlp`'s exporters,
//! with every attempt bounded by the configured timeout.

use std::sync::Arc;
use std::sync::atomic::Ordering::Relaxed;
use std::sync::mpsc::SyncSender;
use std::thread::JoinHandle;
use std::time::{Instant, SystemTime};

use crossbeam_queue::ArrayQueue;
use opentelemetry::InstrumentationScope;
use opentelemetry::logs::LoggerProvider as _;
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::logs::{LogBatch, LogExporter as _, SdkLogRecord, SdkLoggerProvider};
use opentelemetry_sdk::trace::SpanExporter as _;
use tokio::sync::mpsc::{UnboundedReceiver, UnboundedSender};
use warden_metrics::MetricsLayer;
use warden_pii::Sanitizer;

use crate::OtlpError;
use crate::config::OtlpConfig;
use crate::convert::Converter;
use crate::metrics::{build_request, resource_proto};
use crate::queue::{AuditItem, Counters, Shared};
use crate::transport::Exporters;

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
    pub(crate) sanitizer: Sanitizer,
    pub(crate) metrics: Vec<MetricsLayer>,
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
                let exporters = match Exporters::build(&pipeline.config, &pipeline.resource) {
                    Ok(exporters) => exporters,
                    Err(e) => {
                        let _ = ready.send(Err(e));
                        return;
                    }
                };
                let _ = ready.send(Ok(()));
                Worker::new(shared, exporters, pipeline).run(commands).await;
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

struct Worker {
    shared: Arc<Shared>,
    exporters: Exporters,
    converter: Converter,
    config: OtlpConfig,
    metrics: Vec<MetricsLayer>,
    resource: opentelemetry_proto::tonic::resource::v1::Resource,
    started: SystemTime,
    /// Keeps the logger's provider alive (it has no processors: records go
    /// to our own queue and exporter).
    _provider: SdkLoggerProvider,
    /// Reports export failures on stderr once per outage.
    outage: Outage,
}

/// Says once on stderr that exports fail, with the first reason (an
/// unreachable collector, a refused or untrusted certificate…), and once
/// that they work again. Failures are counted either way.
#[derive(Debug, Default)]
struct Outage {
    failing: std::cell::Cell<bool>,
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
    fn new(shared: Arc<Shared>, exporters: Exporters, pipeline: Pipeline) -> Self {
        let provider = SdkLoggerProvider::builder().build();
        let scope = InstrumentationScope::builder("warden-otlp")
            .with_version(env!("CARGO_PKG_VERSION"))
            .build();
        let logger = provider.logger_with_scope(scope.clone());
        Worker {
            shared,
            exporters,
            converter: Converter {
                sanitizer: pipeline.sanitizer,
                scope,
                logger,
            },
            resource: resource_proto(&pipeline.resource),
            config: pipeline.config,
            metrics: pipeline.metrics,
            started: SystemTime::now(),
            _provider: provider,
            outage: Outage::default(),
        }
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
        let _ = self
            .exporters
            .spans
            .shutdown_with_timeout(self.config.timeout);
        let _ = self
            .exporters
            .logs
            .shutdown_with_timeout(self.config.timeout);
    }

    /// Drains until the queues are empty or an export fails.
    async fn drain_all(&mut self) {
        while !self.shared.is_empty() {
            if !self.drain().await {
                return;
            }
        }
    }

    /// One pass over each queue; `false` if an export failed.
    async fn drain(&mut self) -> bool {
        let spans = self.drain_spans().await;
        let events = self.drain_events().await;
        let audit = self.drain_audit().await;
        spans && events && audit
    }

    async fn export_bounded<F>(&self, what: &str, counters: &Counters, n: usize, export: F) -> bool
    where
        F: std::future::Future<Output = opentelemetry_sdk::error::OTelSdkResult>,
    {
        let mut result = match tokio::time::timeout(self.config.timeout, export).await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(e)) => Err(e.to_string()),
            Err(_) => Err(format!("no answer within {:?}", self.config.timeout)),
        };
        // The first failure of an outage is reported: over HTTP, ask the
        // transport why, as the SDK says only "network error".
        if let (Err(reason), false, Some((client, url))) = (
            &mut result,
            self.outage.failing.get(),
            &self.exporters.http_probe,
        ) {
            let probe = crate::transport::why_http_fails(client, url);
            if let Ok(Some(why)) = tokio::time::timeout(self.config.timeout, probe).await {
                reason.push_str(&format!(" ({why})"));
            }
        }
        let ok = result.is_ok();
        self.outage
            .record(what, result, &self.shared.failing_since_ms);
        let counter = if ok {
            &counters.exported
        } else {
            &counters.failed
        };
        counter.fetch_add(n as u64, Relaxed);
        ok
    }

    async fn drain_spans(&mut self) -> bool {
        let rounds = self
            .shared
            .spans
            .queue
            .len()
            .div_ceil(self.config.max_batch);
        for _ in 0..rounds {
            let mut batch = Vec::with_capacity(self.config.max_batch);
            while batch.len() < self.config.max_batch {
                match self.shared.spans.queue.pop() {
                    Some(mut record) => {
                        batch.push(self.converter.span(&mut record));
                        self.shared.spans.recycle(record);
                    }
                    None => break,
                }
            }
            if batch.is_empty() {
                break;
            }
            let n = batch.len();
            let export = self.exporters.spans.export(batch);
            if !self
                .export_bounded("spans", &self.shared.spans.counters, n, export)
                .await
            {
                return false;
            }
        }
        true
    }

    async fn drain_events(&self) -> bool {
        let shared = &self.shared;
        let events = &shared.events;
        self.drain_log_queue(&events.queue, &events.counters, |c, r| {
            let log = c.event(&r);
            events.recycle(r);
            log
        })
        .await
    }

    async fn drain_audit(&self) -> bool {
        let shared = &self.shared;
        self.drain_log_queue(
            &shared.audit,
            &shared.audit_counters,
            |c, item| match item {
                AuditItem::Record(r) => c.audit(&r),
                AuditItem::Checkpoint(checkpoint) => c.checkpoint(&checkpoint),
            },
        )
        .await
    }

    /// Sends what `queue` holds now as log records, a batch at a time;
    /// `false` if an export failed.
    async fn drain_log_queue<T>(
        &self,
        queue: &ArrayQueue<T>,
        counters: &Counters,
        convert: impl Fn(&Converter, T) -> SdkLogRecord,
    ) -> bool {
        let rounds = queue.len().div_ceil(self.config.max_batch);
        for _ in 0..rounds {
            let mut records = Vec::with_capacity(self.config.max_batch);
            while records.len() < self.config.max_batch {
                match queue.pop() {
                    Some(record) => records.push(convert(&self.converter, record)),
                    None => break,
                }
            }
            if records.is_empty() {
                break;
            }
            if !self.export_logs(&records, counters).await {
                return false;
            }
        }
        true
    }

    async fn export_logs(&self, records: &[SdkLogRecord], counters: &Counters) -> bool {
        let scope = &self.converter.scope;
        let refs: Vec<_> = records.iter().map(|r| (r, scope)).collect();
        let export = self.exporters.logs.export(LogBatch::new(&refs));
        self.export_bounded("log records", counters, records.len(), export)
            .await
    }

    async fn export_metrics(&mut self) {
        let request = build_request(
            &self.metrics,
            &self.shared.stats(),
            &self.resource,
            self.started,
        );
        let result =
            match tokio::time::timeout(self.config.timeout, self.exporters.metrics.send(request))
                .await
            {
                Ok(result) => result,
                Err(_) => Err("timed out".to_owned()),
            };
        crate::metrics::count(&self.shared.metric_counters, &result);
        self.outage
            .record("metrics", result, &self.shared.failing_since_ms);
    }
}
