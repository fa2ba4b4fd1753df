//! `OtlpAuditSink`: audit records to the collector as OTLP log records.

use std::sync::Arc;
use std::sync::atomic::Ordering::Relaxed;

use warden_audit::{AuditRecord, AuditSink, SinkError};

use crate::queue::Shared;

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
            if queue.push(record.clone()).is_err() {
                self.shared.audit_counters.dropped.fetch_add(1, Relaxed);
            }
        }
        self.shared.wake.notify_one();
        Ok(())
    }
}
