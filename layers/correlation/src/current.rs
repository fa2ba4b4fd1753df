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
            extensions.get::<CorrelationId>().cloned()
        })
        .flatten()
    }
}
