//! The SQLite store: its schema, writing to it, and reading it.

mod chains;
mod query;
mod schema;
mod sink;
mod store;

pub(crate) use chains::SqliteChains;
pub use query::StoreReader;
pub use schema::SCHEMA_VERSION;
pub use sink::{SqliteSink, SqliteSinkBuilder};
pub use store::{SqliteStore, SyncMode};
