//! The bounded queues between the application's threads and the export
//! thread, and the counters that make every drop visible.

use std::fmt;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::Relaxed};

use crossbeam_queue::ArrayQueue;
use tokio::sync::Notify;
#[cfg(feature = "audit")]
use warden_audit::{AuditRecord, SignedCheckpoint};

use crate::record::{EventRecord, SpanRecord};

/// Counters of one signal.
#[derive(Debug, Default)]
pub(crate) struct Counters {
    pub(crate) exported: AtomicU64,
    pub(crate) dropped: AtomicU64,
    pub(crate) failed: AtomicU64,
    pub(crate) sampled_out: AtomicU64,
    /// Taken off the queue and in a request not answered yet (counted
    /// `exported` or `failed` when it is).
    pub(crate) sending: AtomicU64,
}

impl Counters {
    fn read(&self, queued: usize) -> SignalStats {
        SignalStats {
            exported: self.exported.load(Relaxed),
            dropped: self.dropped.load(Relaxed),
            failed: self.failed.load(Relaxed),
            queued: queued as u64 + self.sending.load(Relaxed),
            sampled_out: self.sampled_out.load(Relaxed),
        }
    }
}

/// A record that can be emptied and used again.
pub(crate) trait Recycle {
    /// A record with nothing in it.
    fn empty() -> Self;
    /// Empties it, keeping what is worth keeping (buffers).
    fn reset(&mut self);
}

/// The queue of one kind of record, with the boxes of exported records
/// kept for the next ones: as many as the queue holds, so that boxes
/// circulate and are never freed on the export thread (a free there of
/// memory a logging thread allocated makes that thread's next allocations
/// slow).
pub(crate) struct Lane<T> {
    pub(crate) queue: ArrayQueue<Box<T>>,
    free: ArrayQueue<Box<T>>,
    pub(crate) counters: Counters,
}

impl<T: Recycle> Lane<T> {
    fn new(capacity: usize) -> Self {
        Lane {
            queue: ArrayQueue::new(capacity),
            free: ArrayQueue::new(capacity),
            counters: Counters::default(),
        }
    }

    /// A box for a new record: a recycled one when there is one.
    #[inline]
    pub(crate) fn buffer(&self) -> Box<T> {
        self.free.pop().unwrap_or_else(|| Box::new(T::empty()))
    }

    /// Empties `record` and keeps it for a later one.
    #[inline]
    pub(crate) fn recycle(&self, mut record: Box<T>) {
        record.reset();
        let _ = self.free.push(record);
    }

    /// Queues `record`, or counts it dropped (queue full, or `closed`).
    /// Returns the queue's length when queued and `look` asks for it.
    #[inline]
    fn push(&self, record: Box<T>, closed: bool, look: bool) -> Option<usize> {
        if closed {
            self.counters.dropped.fetch_add(1, Relaxed);
            self.recycle(record);
            return None;
        }
        match self.queue.push(record) {
            Ok(()) => look.then(|| self.queue.len()),
            Err(record) => {
                self.counters.dropped.fetch_add(1, Relaxed);
                self.recycle(record);
                None
            }
        }
    }
}

/// What the audit queue carries: records, and the checkpoints of the
/// stores they go to (as witness).
#[derive(Debug)]
pub(crate) enum AuditItem {
    #[cfg(feature = "audit")]
    Record(Box<AuditRecord>),
    #[cfg(feature = "audit")]
    Checkpoint(Box<SignedCheckpoint>),
}

/// What the application's threads and the export thread share.
pub(crate) struct Shared {
    pub(crate) spans: Lane<SpanRecord>,
    pub(crate) events: Lane<EventRecord>,
    pub(crate) audit: ArrayQueue<AuditItem>,
    pub(crate) audit_counters: Counters,
    pub(crate) metric_counters: Counters,
    /// When exports began to fail (ms since the epoch), 0 while they work.
    pub(crate) failing_since_ms: std::sync::atomic::AtomicU64,
    /// Wakes the export thread early when a batch is ready.
    pub(crate) wake: Notify,
    wake_pending: AtomicBool,
    /// Set at shutdown: nothing more is queued.
    closed: AtomicBool,
    max_batch: usize,
}

impl fmt::Debug for Shared {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Shared")
            .field("stats", &self.stats())
            .finish()
    }
}

impl Shared {
    pub(crate) fn new(
        span_queue: usize,
        log_queue: usize,
        audit_queue: usize,
        max_batch: usize,
    ) -> Self {
        Shared {
            spans: Lane::new(span_queue),
            events: Lane::new(log_queue),
            audit: ArrayQueue::new(audit_queue),
            audit_counters: Counters::default(),
            metric_counters: Counters::default(),
            failing_since_ms: std::sync::atomic::AtomicU64::new(0),
            wake: Notify::new(),
            wake_pending: AtomicBool::new(false),
            closed: AtomicBool::new(false),
            max_batch,
        }
    }

    /// Recycles the span of a request sampling did not keep, counted.
    pub(crate) fn sample_out(&self, span: Box<SpanRecord>) {
        self.spans.counters.sampled_out.fetch_add(1, Relaxed);
        self.spans.recycle(span);
    }

    /// Queues a closed span, or counts it dropped when the queue is full.
    /// Never blocks.
    #[inline]
    pub(crate) fn push_span(&self, span: Box<SpanRecord>) {
        // Reading the queue's length touches both of its ends, which the
        // export thread is moving: only one span in 64 (by its random id)
        // looks.
        let look = span.span_id & 63 == 0;
        if let Some(len) = self.spans.push(span, self.closed.load(Relaxed), look) {
            self.wake_if_batch_ready(len);
        }
    }

    /// Queues an event, or counts it dropped. Never blocks.
    #[inline]
    pub(crate) fn push_event(&self, event: Box<EventRecord>) {
        if let Some(len) = self.events.push(event, self.closed.load(Relaxed), true) {
            self.wake_if_batch_ready(len);
        }
    }

    #[inline]
    fn wake_if_batch_ready(&self, len: usize) {
        if len >= self.max_batch && !self.wake_pending.swap(true, Relaxed) {
            self.wake.notify_one();
        }
    }

    /// Refuses every later record (counted as dropped).
    pub(crate) fn close(&self) {
        self.closed.store(true, Relaxed);
    }

    #[cfg_attr(not(feature = "audit"), allow(dead_code))]
    pub(crate) fn is_closed(&self) -> bool {
        self.closed.load(Relaxed)
    }

    /// Called by the export thread each time it wakes.
    pub(crate) fn woke(&self) {
        self.wake_pending.store(false, Relaxed);
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.spans.queue.is_empty() && self.events.queue.is_empty() && self.audit.is_empty()
    }

    pub(crate) fn stats(&self) -> ExportStats {
        ExportStats {
            spans: self.spans.counters.read(self.spans.queue.len()),
            logs: self.events.counters.read(self.events.queue.len()),
            audit: self.audit_counters.read(self.audit.len()),
            metrics: self.metric_counters.read(0),
            failing_since: match self.failing_since_ms.load(Relaxed) {
                0 => None,
                ms => Some(std::time::UNIX_EPOCH + std::time::Duration::from_millis(ms)),
            },
        }
    }
}

/// The counts of one signal.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct SignalStats {
    /// Accepted by the collector.
    pub exported: u64,
    /// Dropped because the queue was full (the collector was slow or
    /// away for longer than the queue lasts).
    pub dropped: u64,
    /// Sent, but the export failed (collector unreachable or refusing);
    /// for metrics, the number of failed exports.
    pub failed: u64,
    /// Not sent yet: waiting in the queue, or in a request the collector
    /// has not answered (after a shutdown that timed out, what the process
    /// loses when it exits). So `exported + dropped + failed + queued` is
    /// every record captured (and not `sampled_out`).
    pub queued: u64,
    /// Not sent by design: spans of requests sampling did not keep (and
    /// that neither failed nor were slow).
    pub sampled_out: u64,
}

impl SignalStats {
    /// Everything that will never arrive: `dropped + failed`.
    pub fn lost(&self) -> u64 {
        self.dropped + self.failed
    }
}

/// What an exporter has sent and lost, per signal.
///
/// ```
/// # let otlp = warden_otlp::Otlp::builder().ignore_env().endpoint("http://127.0.0.1:9").build()?;
/// let stats = otlp.stats();
/// if stats.lost() > 0 {
///     eprintln!("telemetry lost: {} spans, {} events", stats.spans.lost(), stats.logs.lost());
/// }
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct ExportStats {
    /// Spans.
    pub spans: SignalStats,
    /// Events, as OTLP log records.
    pub logs: SignalStats,
    /// Audit records, as OTLP log records.
    pub audit: SignalStats,
    /// Metric exports (each one a request carrying every operation).
    pub metrics: SignalStats,
    /// Since when exports have been failing (the collector unreachable,
    /// refusing, untrusted…), if they are: what a readiness check reads.
    pub failing_since: Option<std::time::SystemTime>,
}

impl ExportStats {
    /// Records lost across every signal.
    pub fn lost(&self) -> u64 {
        self.spans.lost() + self.logs.lost() + self.audit.lost() + self.metrics.lost()
    }

    /// The signals that carry records (`spans`, `logs`, `audit`: not the
    /// metric exports), each with its name, for a report.
    ///
    /// ```
    /// # let otlp = warden_otlp::Otlp::builder().ignore_env().endpoint("http://127.0.0.1:9").build()?;
    /// for (name, signal) in otlp.stats().records() {
    ///     println!("{name}: {} exported, {} queued", signal.exported, signal.queued);
    /// }
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn records(&self) -> [(&'static str, SignalStats); 3] {
        [
            ("spans", self.spans),
            ("logs", self.logs),
            ("audit", self.audit),
        ]
    }
}

impl fmt::Display for ExportStats {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "{:<8} {:>10} {:>10} {:>10} {:>8}",
            "signal", "exported", "dropped", "failed", "queued"
        )?;
        for (name, s) in self
            .records()
            .into_iter()
            .chain([("metrics", self.metrics)])
        {
            writeln!(
                f,
                "{name:<8} {:>10} {:>10} {:>10} {:>8}",
                s.exported, s.dropped, s.failed, s.queued
            )?;
        }
        Ok(())
    }
}
