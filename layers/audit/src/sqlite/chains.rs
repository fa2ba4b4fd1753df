//! The SQLite store as a [`ChainStore`]: what a verifier reads of it.

use std::collections::HashMap;
use std::path::Path;

use rusqlite::Connection;

use super::query::{checkpoints, record_from_row};
use super::schema::{check_is_audit_store, stream_columns, streams};
use crate::chain::hash_of;
use crate::chain_store::{ChainStore, EachRecord, StoredCheckpoint};
use crate::error::AuditError;

/// A SQLite store's streams, read through an open connection.
pub(crate) struct SqliteChains<'a> {
    conn: &'a Connection,
    path: &'a Path,
    /// Each stream's name and the value its rows hold (`None`: the rows
    /// written before streams, the store's first stream).
    ids: HashMap<String, Option<String>>,
}

impl<'a> SqliteChains<'a> {
    /// The store at `path`, open on `conn`.
    pub(crate) fn new(conn: &'a Connection, path: &'a Path) -> Self {
        SqliteChains {
            conn,
            path,
            ids: HashMap::new(),
        }
    }

    fn id(&self, stream: &str) -> Option<&str> {
        self.ids.get(stream).and_then(Option::as_deref)
    }
}

impl ChainStore for SqliteChains<'_> {
    fn streams(&mut self) -> Result<Vec<String>, AuditError> {
        let found = streams(self.conn, self.path)?;
        let names = found.iter().map(|(_, name)| name.clone()).collect();
        self.ids = found.into_iter().map(|(id, name)| (name, id)).collect();
        Ok(names)
    }

    fn checkpoints(&mut self, stream: &str) -> Result<Vec<StoredCheckpoint>, AuditError> {
        checkpoints(self.conn, self.path, self.id(stream), stream)
    }

    fn walk(&mut self, stream: &str, each: &mut EachRecord<'_>) -> Result<(), AuditError> {
        let path = self.path;
        let sql = |e| AuditError::sqlite(path, e);
        let version = check_is_audit_store(self.conn, path)?;
        let columns = stream_columns(version);
        let (of_stream, seq) = (columns.stream, columns.seq);
        let mut statement = self
            .conn
            .prepare(&format!(
                "SELECT {seq}, {}, prev_hash, hash
                 FROM audit_records WHERE {of_stream} IS ?1 ORDER BY {seq}",
                crate::record::record_columns!()
            ))
            .map_err(sql)?;
        let mut rows = statement.query([self.id(stream)]).map_err(sql)?;
        while let Some(row) = rows.next().map_err(sql)? {
            let (seq, record) = record_from_row(row).map_err(sql)?;
            let prev_hash = hash_of(row.get(15).map_err(sql)?);
            let stored = hash_of(row.get(16).map_err(sql)?);
            each(seq, record.as_ref().ok(), prev_hash, stored);
        }
        Ok(())
    }
}
