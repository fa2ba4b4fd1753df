//! The `init()` stack with every sink real: JSON lines into a buffer, the
//! SQLite audit store in a scratch directory, OTLP to a collector.

use warden::otlp::Otlp;
use warden::{Warden, WardenGuard};
use warden_test_support::{Buffer, Scratch, collector::Collector};

/// What a test reads back from the stack's sinks.
pub(crate) struct FullStack {
    pub(crate) collector: Collector,
    pub(crate) dir: Scratch,
    pub(crate) lines: Buffer,
}

impl FullStack {
    /// A collector started, a scratch directory, an empty buffer.
    pub(crate) fn start() -> Self {
        FullStack {
            collector: Collector::start(),
            dir: Scratch::new(),
            lines: Buffer::default(),
        }
    }

    /// The `init()` stack writing to these sinks (the store at `audit.db`).
    pub(crate) fn build(
        &self,
    ) -> (
        impl tracing::Subscriber + Send + Sync + 'static,
        WardenGuard,
    ) {
        Warden::builder()
            .audit_sqlite(self.dir.path("audit.db"))
            .otlp(Otlp::builder().ignore_env().endpoint(self.collector.grpc()))
            .writer(self.lines.clone())
            .build()
            .unwrap()
    }
}
