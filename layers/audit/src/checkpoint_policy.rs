//! How often a store signs a checkpoint: one policy for every store
//! (SQLite, PostgreSQL, JSONL).

use std::time::Duration;

/// How often the store signs a checkpoint.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CheckpointPolicy {
    /// After this many records…
    pub every_records: u64,
    /// …or this much time with records written, whichever comes first.
    pub every: Duration,
}

impl Default for CheckpointPolicy {
    /// Every 1,000 records or 60 seconds.
    fn default() -> Self {
        CheckpointPolicy {
            every_records: 1_000,
            every: Duration::from_secs(60),
        }
    }
}
