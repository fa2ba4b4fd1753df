//! What a shutdown did: [`ShutdownReport`], from
//! [`WardenGuard::shutdown_report`](crate::WardenGuard::shutdown_report).

use std::fmt;
use std::time::Duration;

use warden_audit::RouteStats;
use warden_core::FlushResult;
use warden_otlp::ExportStats;

/// What a shutdown did: whether it finished within its time, how long it
/// took, and for each part what it delivered and what it lost, read once
/// it returned. Written whole by `Display`, for the last line a service
/// logs.
///
/// The counts add up: each audit route's `written + dropped + pending` is
/// what it was given; each OTLP signal's `exported + dropped + failed +
/// queued` is what was captured (`queued` is what a shutdown that timed
/// out left behind, and is lost when the process exits).
///
/// ```
/// # let dir = std::env::temp_dir().join(format!("warden-doc-{}", std::process::id()));
/// # std::fs::create_dir_all(&dir)?;
/// let (subscriber, guard) = warden::Warden::builder()
///     .audit_sqlite(dir.join("audit.db"))
///     .without_otlp()
///     .writer(std::io::sink)
///     .build()?;
/// tracing::subscriber::with_default(subscriber, || {
///     tracing::info!(target: "audit", event_type = "api_call", action = "ping", "audited");
/// });
/// let report = guard.shutdown_report(std::time::Duration::from_secs(5));
/// assert!(report.is_complete(), "{report}");
/// assert_eq!(report.audit[0].written, 1);
/// # drop(guard);
/// # std::fs::remove_dir_all(&dir)?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct ShutdownReport {
    /// `Ok` when every part finished within the time given; else the
    /// first part's error (the others were still stopped).
    pub result: FlushResult,
    /// How long the shutdown took.
    pub took: Duration,
    /// Each audit route's counts.
    pub audit: Vec<RouteStats>,
    /// The exporter's counts per signal, if there is an exporter.
    pub otlp: Option<ExportStats>,
    /// JSON lines written and dropped by the non-blocking writer, if the
    /// stack has one (the blocking writer drops nothing).
    pub lines: Option<LineCounts>,
}

/// The non-blocking JSON writer's counts.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct LineCounts {
    /// Lines written.
    pub written: u64,
    /// Lines dropped (the queue was full, or the writer stopped).
    pub dropped: u64,
}

impl ShutdownReport {
    /// Everything that will not arrive: audit records dropped or left
    /// unwritten, OTLP records dropped, failed or left queued, JSON lines
    /// dropped.
    pub fn lost(&self) -> u64 {
        let audit: u64 = self.audit.iter().map(|r| r.dropped + r.pending).sum();
        let otlp = self.otlp.as_ref().map_or(0, |s| {
            s.records()
                .iter()
                .map(|(_, signal)| signal.lost() + signal.queued)
                .sum()
        });
        audit + otlp + self.lines.map_or(0, |l| l.dropped)
    }

    /// Whether it finished in time and lost nothing.
    pub fn is_complete(&self) -> bool {
        self.result.is_ok() && self.lost() == 0
    }
}

impl fmt::Display for ShutdownReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.result {
            Ok(()) => write!(f, "shutdown in {:?}", self.took)?,
            Err(e) => write!(f, "shutdown not complete ({e}) after {:?}", self.took)?,
        }
        if self.is_complete() {
            f.write_str(", nothing lost")?;
        } else {
            write!(f, ", {} lost", self.lost())?;
        }
        for route in &self.audit {
            write!(
                f,
                "; audit route {}: {} written, {} dropped, {} unwritten",
                route.name, route.written, route.dropped, route.pending
            )?;
        }
        if let Some(stats) = &self.otlp {
            for (name, s) in stats.records() {
                write!(
                    f,
                    "; OTLP {name}: {} exported, {} dropped, {} failed, {} queued",
                    s.exported, s.dropped, s.failed, s.queued
                )?;
            }
        }
        if let Some(lines) = self.lines {
            write!(
                f,
                "; JSON lines: {} written, {} dropped",
                lines.written, lines.dropped
            )?;
        }
        Ok(())
    }
}
