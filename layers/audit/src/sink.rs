//! Where audit records go: the `AuditSink` trait and the built-in sinks.

use std::io::{self, Write};

use crate::record::AuditRecord;

/// Why a sink could not write.
pub type SinkError = Box<dyn std::error::Error + Send + Sync>;

/// A destination for audit records.
///
/// A router's writer thread owns each sink and calls it from that thread
/// only, with batches of records in the order they were logged. When
/// `write` fails, the same batch is offered again later (after a backoff),
/// so a sink must either write a whole batch or nothing of it.
///
/// ```
/// use warden_audit::{AuditRecord, AuditSink, SinkError};
///
/// /// Counts records instead of storing them.
/// #[derive(Default)]
/// struct Counting(usize);
///
/// impl AuditSink for Counting {
///     fn name(&self) -> String {
///         "counting".into()
///     }
///     fn write(&mut self, records: &[AuditRecord]) -> Result<(), SinkError> {
///         self.0 += records.len();
///         Ok(())
///     }
/// }
///
/// let layer = warden_audit::AuditLayer::builder()
///     .route(warden_audit::Route::new("count", warden_audit::RouteFilter::all()).sink(Counting::default()))
///     .build()?;
/// # layer.shutdown(std::time::Duration::from_secs(5))?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub trait AuditSink: Send + 'static {
    /// A short name for error messages (`sqlite:audit.db`).
    fn name(&self) -> String;

    /// Writes `records` durably, all or nothing.
    fn write(&mut self, records: &[AuditRecord]) -> Result<(), SinkError>;

    /// Called about every 250 ms while the writer is idle: time-based
    /// housekeeping (checkpoints, retention).
    fn tick(&mut self) -> Result<(), SinkError> {
        Ok(())
    }

    /// Called once when the router shuts down, after the last write.
    fn close(&mut self) -> Result<(), SinkError> {
        Ok(())
    }
}

/// Records as JSON lines on standard output.
///
/// ```
/// use warden_audit::{AuditLayer, Route, RouteFilter, StdoutSink};
///
/// // Audit records as JSON lines on stdout, for a platform that collects them.
/// let audit = AuditLayer::builder()
///     .route(Route::new("stdout", RouteFilter::all()).sink(StdoutSink::new()))
///     .build()?;
/// # audit.shutdown(std::time::Duration::from_secs(5))?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Default)]
pub struct StdoutSink {
    _private: (),
}

impl StdoutSink {
    /// The sink.
    pub fn new() -> Self {
        Self::default()
    }
}

impl AuditSink for StdoutSink {
    fn name(&self) -> String {
        "stdout".into()
    }

    fn write(&mut self, records: &[AuditRecord]) -> Result<(), SinkError> {
        let mut out = io::stdout().lock();
        for record in records {
            serde_json::to_writer(&mut out, record)?;
            out.write_all(b"\n")?;
        }
        Ok(out.flush()?)
    }
}
