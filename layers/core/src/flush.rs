//! The one result type of every flush and shutdown in warden.

use std::time::Duration;

/// Why a flush or a shutdown did not complete.
///
/// The audit router, the OTLP exporter and `warden::init()`'s guard all
/// return [`FlushResult`], as the OpenTelemetry SDK has one result for its
/// providers' `force_flush` and `shutdown`.
///
/// ```
/// use std::time::Duration;
/// use warden_core::{FlushError, FlushResult};
///
/// fn report(result: FlushResult) -> String {
///     match result {
///         Ok(()) => "done".into(),
///         Err(FlushError::Timeout(after)) => format!("gave up after {after:?}"),
///         Err(other) => other.to_string(),
///     }
/// }
/// assert_eq!(report(Err(FlushError::Timeout(Duration::from_secs(5)))), "gave up after 5s");
/// assert_eq!(report(Err(FlushError::ShutDown)), "already shut down");
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum FlushError {
    /// The component was shut down before (or its worker thread is gone):
    /// nothing more can be flushed.
    #[error("already shut down")]
    ShutDown,
    /// The work did not complete within the time given; it goes on in the
    /// background, and what it still holds is counted if it is lost.
    #[error("not done within {0:?}")]
    Timeout(Duration),
}

/// The result of a flush or a shutdown.
pub type FlushResult = Result<(), FlushError>;
