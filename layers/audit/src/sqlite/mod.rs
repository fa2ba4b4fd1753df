//! The SQLite store: its schema, writing to it, and reading it.

mod query;
mod schema;
mod store;

pub use query::{DayCount, Query, StoreReader};
#[cfg(feature = "postgres")]
pub(crate) use query::{FilterValue, query_sql};
pub(crate) use query::{checkpoints, record_from_row};
pub use schema::SCHEMA_VERSION;
pub(crate) use schema::{check_is_audit_store, hash_of, stream_columns, streams};
pub use store::{CheckpointPolicy, SqliteStore, SyncMode};
