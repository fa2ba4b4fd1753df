//! [`OpsSource`]: what `/metrics` and `/readyz` read besides the
//! operations' latencies and the alerts.

use warden_metrics::{ExpositionFormat, PrometheusEncoder};

use super::Check;

/// A part of the service that shows counters in `/metrics` and may say
/// the service is not ready in `/readyz`: the OTLP exporter, the audit
/// router and the PII gate are sources (each behind its feature), and so
/// can be anything of the service's own.
///
/// ```
/// use std::sync::atomic::{AtomicU64, Ordering};
/// use std::sync::Arc;
/// use warden::metrics::{ExpositionFormat, PrometheusEncoder};
/// use warden::ops::{Check, Ops, OpsSource};
///
/// /// The jobs a worker has queued: a gauge, and not ready past 1,000.
/// #[derive(Debug, Default)]
/// struct Queue(AtomicU64);
///
/// impl OpsSource for Queue {
///     fn write_metrics(&self, encoder: &PrometheusEncoder, format: ExpositionFormat, out: &mut String) {
///         let queued = self.0.load(Ordering::Relaxed) as f64;
///         encoder.encode_gauge("jobs_queued", "Jobs waiting.", [(&[][..], queued)], format, out);
///     }
///     fn checks(&self, checks: &mut Vec<Check>) {
///         let queued = self.0.load(Ordering::Relaxed);
///         checks.push(Check::new("job_queue", queued <= 1_000, format!("{queued} queued")));
///     }
/// }
///
/// let queue = Arc::new(Queue::default());
/// queue.0.store(5_000, Ordering::Relaxed);
/// let ops = Ops::builder().source(Arc::clone(&queue)).build();
/// let mut page = String::new();
/// ops.write_metrics(ExpositionFormat::Prometheus, &mut page);
/// assert!(page.contains("jobs_queued 5000"), "{page}");
/// assert!(!ops.readiness().is_ready());
/// ```
pub trait OpsSource: Send + Sync + std::fmt::Debug {
    /// Appends this source's metrics to the `/metrics` body, through
    /// `encoder` (which prefixes and formats the names).
    fn write_metrics(
        &self,
        encoder: &PrometheusEncoder,
        format: ExpositionFormat,
        out: &mut String,
    );

    /// Appends this source's readiness checks (none by default).
    fn checks(&self, checks: &mut Vec<Check>) {
        let _ = checks;
    }
}

impl<S: OpsSource + ?Sized> OpsSource for std::sync::Arc<S> {
    fn write_metrics(
        &self,
        encoder: &PrometheusEncoder,
        format: ExpositionFormat,
        out: &mut String,
    ) {
        (**self).write_metrics(encoder, format, out);
    }

    fn checks(&self, checks: &mut Vec<Check>) {
        (**self).checks(checks);
    }
}
