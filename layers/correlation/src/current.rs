//! Reading a span's correlation ID from outside the subscriber (for the
//! current span: `CorrelationId::current()`).

use tracing::Span;
use tracing_subscriber::registry::{LookupSpan, Registry};
use warden_core::CorrelationId;

/// Reads the correlation ID of a [`Span`].
///
/// Works when the subscriber is built on `tracing_subscriber`'s
/// [`Registry`] (as `tracing_subscriber::registry().with(..)` stacks are)
/// with a [`CorrelationLayer`](crate::CorrelationLayer) in it.
///
/// ```
/// use tracing_subscriber::prelude::*;
/// use warden_correlation::{CorrelationIdExt, CorrelationLayer};
///
/// let subscriber = tracing_subscriber::registry().with(CorrelationLayer::new());
/// tracing::subscriber::with_default(subscriber, || {
///     let span = tracing::info_span!("request", correlation_id = "abc-123");
///     // Read without entering it, e.g. to put it in a response header.
///     assert_eq!(span.correlation_id().unwrap().to_string(), "abc-123");
/// });
/// ```
pub trait CorrelationIdExt {
    /// The span's correlation ID, or `None` if the span is disabled or no
    /// correlation layer saw it.
    fn correlation_id(&self) -> Option<CorrelationId>;
}

impl CorrelationIdExt for Span {
    fn correlation_id(&self) -> Option<CorrelationId> {
        self.with_subscriber(|(id, dispatch)| {
            let registry = dispatch.downcast_ref::<Registry>()?;
            let span = registry.span(id)?;
            let extensions = span.extensions();
            warden_core::correlation_id_in(&extensions).cloned()
        })
        .flatten()
    }
}
