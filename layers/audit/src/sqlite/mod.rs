//! The SQLite store: its schema, writing to it, and reading it.

mod query;
mod schema;
mod sink;
mod store;

pub use query::StoreReader;
pub(crate) use query::{checkpoints, record_from_row};
pub use schema::SCHEMA_VERSION;
pub(crate) use schema::{check_is_audit_store, stream_columns, streams};
pub use sink::{SqliteSink, SqliteSinkBuilder};
pub use store::{SqliteStore, SyncMode};
