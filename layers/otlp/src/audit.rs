//! `OtlpAuditSink`: audit records to the collector as OTLP log records.

use std::sync::Arc;
use std::sync::atomic::Ordering::Relaxed;

use warden_audit::{AuditRecord, AuditSink, CheckpointWitness, SignedCheckpoint, SinkError};

use crate::queue::{AuditItem, Shared};

/// An [`AuditSink`] that sends audit records to the collector as OTLP log
/// records named `warden.audit`, their columns as `audit.*` attributes
/// (`audit.event_type`, `audit.action`, `audit.outcome`, `audit.user_id`,
/// `audit.duration_ms`, …, and `audit.metadata.<key>`), sanitized once more
/// on the export thread.
///
/// Made by [`Otlp::audit_sink`](crate::Otlp::audit_sink); give it to a route
/// of the audit router beside the durable store. A batch the export queue
/// cannot take whole is refused, so the router keeps it and offers it again
/// later; records that the collector then fails to take are counted in
/// [`ExportStats::audit`](crate::ExportStats::audit).
#[derive(Debug, Clone)]
pub struct OtlpAuditSink {
    pub(crate) shared: Arc<Shared>,
    pub(crate) endpoint: String,
}

impl AuditSink for OtlpAuditSink {
    fn name(&self) -> String {
        format!("otlp:{}", self.endpoint)
    }

    fn write(&mut self, records: &[AuditRecord]) -> Result<(), SinkError> {
        if self.shared.is_closed() {
            return Err("the OTLP exporter has shut down".into());
        }
        let queue = &self.shared.audit;
        let room = queue.capacity() - queue.len();
        if records.len() <= queue.capacity() && records.len() > room {
            self.shared.wake.notify_one();
            return Err(format!(
                "the OTLP audit queue has room for {room} records, not {}",
                records.len()
            )
            .into());
        }
        for record in records {
            if queue
                .push(AuditItem::Record(Box::new(record.clone())))
                .is_err()
            {
                self.shared.audit_counters.dropped.fetch_add(1, Relaxed);
            }
        }
        self.shared.wake.notify_one();
        Ok(())
    }
}

/// A [`CheckpointWitness`] that sends each checkpoint of an audit store to
/// the collector as an OTLP log record named `audit.checkpoint`: its body
/// is the checkpoint as one JSON line (what `warden audit verify --witness`
/// reads from an export of these records), with `audit.checkpoint.stream`,
/// `.last_seq`, `.head` and `.signer` attributes. Kept off the host by the
/// log pipeline, they catch a store that is later rewritten and re-signed.
///
/// Made by [`Otlp::checkpoint_witness`](crate::Otlp::checkpoint_witness);
/// counted with the audit records in [`ExportStats::audit`](crate::ExportStats::audit).
#[derive(Debug, Clone)]
pub struct OtlpCheckpointWitness {
    pub(crate) shared: Arc<Shared>,
    pub(crate) endpoint: String,
}

impl CheckpointWitness for OtlpCheckpointWitness {
    fn name(&self) -> String {
        format!("otlp:{}", self.endpoint)
    }

    fn witness(&mut self, checkpoint: &SignedCheckpoint) -> Result<(), SinkError> {
        if self.shared.is_closed() {
            return Err("the OTLP exporter has shut down".into());
        }
        let pushed = self
            .shared
            .audit
            .push(AuditItem::Checkpoint(Box::new(checkpoint.clone())));
        self.shared.wake.notify_one();
        if pushed.is_err() {
            self.shared.audit_counters.dropped.fetch_add(1, Relaxed);
            return Err("the OTLP audit queue is full".into());
        }
        Ok(())
    }
}
