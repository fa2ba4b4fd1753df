//! The audit store a command reads: a SQLite file or a PostgreSQL
//! database, behind one interface, so that `query`, `tail` and `stats`
//! are written once.

use std::time::SystemTime;

use warden_audit::{AuditError, AuditRecord, DayCount, PostgresStore, Query, StoreReader};

/// An opened store.
#[derive(Debug)]
pub(crate) enum Store {
    Sqlite(StoreReader),
    Postgres(Box<PostgresStore>),
}

impl Store {
    /// Opens `db`: a `postgres://` URL or key/value string, else a SQLite
    /// file.
    pub(crate) fn open(db: &str) -> Result<Self, AuditError> {
        if warden_audit::is_postgres(db) {
            Ok(Store::Postgres(Box::new(PostgresStore::open(db)?)))
        } else {
            Ok(Store::Sqlite(StoreReader::open(db)?))
        }
    }

    /// Records matching `query`, each with its number (`after_seq`
    /// compares with it).
    pub(crate) fn query_with_seq(
        &mut self,
        query: &Query,
    ) -> Result<Vec<(i64, AuditRecord)>, AuditError> {
        match self {
            Store::Sqlite(reader) => reader.query_with_seq(query),
            Store::Postgres(store) => store.query_with_seq(query),
        }
    }

    /// Counts by day, event type, level and outcome.
    pub(crate) fn stats(&mut self, since: Option<SystemTime>) -> Result<Vec<DayCount>, AuditError> {
        match self {
            Store::Sqlite(reader) => reader.stats(since),
            Store::Postgres(store) => store.stats(since),
        }
    }

    /// The highest record number.
    pub(crate) fn last_seq(&mut self) -> Result<i64, AuditError> {
        match self {
            Store::Sqlite(reader) => reader.last_seq(),
            Store::Postgres(store) => store.last_seq(),
        }
    }
}
