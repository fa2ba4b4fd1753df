//! Audit events routed from `tracing` to durable, tamper-evident,
//! queryable stores.
#![deny(missing_docs)]
#![deny(unsafe_code)]

mod chain;
mod error;
mod record;
mod sqlite;
mod verify;

pub use chain::{key_file, AuditKey, Checkpoint, CheckpointKind, Hash, GENESIS};
pub use error::AuditError;
pub use record::{AuditLevel, AuditRecord, EventType, Outcome, UnknownName};
pub use sqlite::{query_records, stats, CheckpointPolicy, DayCount, Query, SqliteStore, SyncMode, SCHEMA_VERSION};
pub use verify::{verify, verify_with, Problem, VerifyReport};
