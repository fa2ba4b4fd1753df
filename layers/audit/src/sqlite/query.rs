//! Reading the store: filters, indexed queries, daily counts, checkpoints.

use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use rusqlite::{Connection, OpenFlags, Row, params};

use super::schema::{check_is_audit_store, sql};
use crate::chain::hash_of;
use crate::chain::{Checkpoint, CheckpointKind, CheckpointSignature, SignedCheckpoint};
use crate::error::AuditError;
use crate::query::{DayCount, FilterValue, Query, query_sql};
use crate::record::{AuditRecord, StoredColumns, micros_since_epoch};

/// A read-only view of an existing store, for queries, counts and
/// verification: a missing file or a database that is not an audit store
/// is an error, never created.
///
/// ```
/// use warden_audit::{AuditKey, AuditRecord, EventType, Query, SqliteStore, StoreReader};
///
/// let dir = std::env::temp_dir().join(format!("warden-reader-doc-{}", std::process::id()));
/// std::fs::create_dir_all(&dir).unwrap();
/// let path = dir.join("audit.db");
/// let key = AuditKey::new(*b"a documentation key, 16+ bytes").unwrap();
/// let mut store = SqliteStore::open_with(&path, key, Default::default(), Default::default()).unwrap();
/// store.append(&[AuditRecord::new(EventType::Authentication, "login")]).unwrap();
///
/// let reader = StoreReader::open(&path).unwrap();
/// let rows = reader.query_with_seq(&Query::default()).unwrap();
/// assert_eq!(rows.len(), 1);
/// assert_eq!(reader.last_seq().unwrap(), 1);
/// # std::fs::remove_dir_all(dir).unwrap();
/// ```
#[derive(Debug)]
pub struct StoreReader {
    conn: Connection,
    path: PathBuf,
}

impl StoreReader {
    /// Opens the store at `path` for reading.
    pub fn open(path: impl AsRef<Path>) -> Result<Self, AuditError> {
        let path = path.as_ref();
        if !path.is_file() {
            return Err(AuditError::NotAnAuditStore(path.to_owned()));
        }
        let conn = Connection::open_with_flags(
            path,
            OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )
        .map_err(sql(path))?;
        conn.busy_timeout(Duration::from_secs(5))
            .map_err(sql(path))?;
        check_is_audit_store(&conn, path)?;
        Ok(StoreReader {
            conn,
            path: path.to_owned(),
        })
    }

    /// The file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The records matching `query` with their sequence numbers, newest
    /// first (oldest first with `after_seq`, for following a store).
    pub fn query_with_seq(&self, query: &Query) -> Result<Vec<(i64, AuditRecord)>, AuditError> {
        query_records(&self.conn, &self.path, query)
    }

    /// The records matching `query`, newest first.
    pub fn query(&self, query: &Query) -> Result<Vec<AuditRecord>, AuditError> {
        self.query_with_seq(query)
            .map(|rows| rows.into_iter().map(|(_, r)| r).collect())
    }

    /// Counts by day, event type, level and outcome, newest day first.
    pub fn stats(&self, since: Option<SystemTime>) -> Result<Vec<DayCount>, AuditError> {
        stats(&self.conn, &self.path, since)
    }

    /// The sequence number of the last record, 0 for an empty store.
    pub fn last_seq(&self) -> Result<i64, AuditError> {
        self.conn
            .query_row("SELECT COALESCE(MAX(seq), 0) FROM audit_records", [], |r| {
                r.get(0)
            })
            .map_err(sql(&self.path))
    }

    /// The connection, for verification.
    pub(crate) fn connection(&self) -> &Connection {
        &self.conn
    }
}

const COLUMNS: &str = concat!("seq, ", crate::record::record_columns!());

/// A stored row as a record. A column that no longer parses (an edited
/// row) is an error of that row, reported by `verify`.
pub(crate) fn record_from_row(
    row: &Row<'_>,
) -> rusqlite::Result<(i64, Result<AuditRecord, String>)> {
    // A column of the wrong type is an edited row, not a failed read.
    let columns = (|| {
        Ok::<_, rusqlite::Error>(StoredColumns {
            id: row.get(1)?,
            ts_us: row.get(2)?,
            level: row.get(3)?,
            event_type: row.get(4)?,
            action: row.get(5)?,
            outcome: row.get(6)?,
            resource_id: row.get(7)?,
            user_id: row.get(8)?,
            client_ip_hash: row.get(9)?,
            user_agent: row.get(10)?,
            correlation_id: row.get(11)?,
            duration_ms: row.get(12)?,
            error_message: row.get(13)?,
            metadata: row.get(14)?,
        })
    })();
    let record = columns
        .map_err(|e| e.to_string())
        .and_then(StoredColumns::parse);
    Ok((row.get(0)?, record))
}

/// Runs `query` on a connection to an audit store.
pub(crate) fn query_records(
    conn: &Connection,
    path: &Path,
    query: &Query,
) -> Result<Vec<(i64, AuditRecord)>, AuditError> {
    let (tail, values) = query_sql(query, "seq", |n| format!("?{n}"));
    let values = values.into_iter().map(|v| match v {
        FilterValue::Text(t) => rusqlite::types::Value::from(t),
        FilterValue::Int(n) => rusqlite::types::Value::from(n),
    });
    let text = format!("SELECT {COLUMNS} FROM audit_records {tail}");
    let mut statement = conn.prepare(&text).map_err(sql(path))?;
    let rows = statement
        .query_map(rusqlite::params_from_iter(values), record_from_row)
        .map_err(sql(path))?;
    let mut out = Vec::new();
    for row in rows {
        let (seq, record) = row.map_err(sql(path))?;
        if let Ok(record) = record {
            out.push((seq, record));
        }
    }
    Ok(out)
}

/// Counts by day, event type, level and outcome, newest day first.
pub(crate) fn stats(
    conn: &Connection,
    path: &Path,
    since: Option<SystemTime>,
) -> Result<Vec<DayCount>, AuditError> {
    let mut statement = conn
        .prepare(
            "SELECT date(ts_us / 1000000, 'unixepoch') AS day, event_type, level, outcome, COUNT(*)
             FROM audit_records WHERE ts_us >= ?1
             GROUP BY day, event_type, level, outcome
             ORDER BY day DESC, event_type, level, outcome",
        )
        .map_err(sql(path))?;
    let since = since.map_or(0, micros_since_epoch);
    let rows = statement
        .query_map(params![since], |r| {
            Ok(DayCount {
                day: r.get(0)?,
                event_type: r.get(1)?,
                level: r.get(2)?,
                outcome: r.get(3)?,
                count: r.get(4)?,
            })
        })
        .map_err(sql(path))?;
    rows.collect::<Result<_, _>>().map_err(sql(path))
}

/// A stored checkpoint: its row id, its content (`None` if its kind is not
/// one this build knows) and its MAC.
pub(crate) use crate::chain_store::StoredCheckpoint;

/// Reads the checkpoints of one stream (`stream` as its rows name it,
/// `None` for the store's first stream; `name`, its name), oldest first,
/// with their signatures.
pub(crate) fn checkpoints(
    conn: &Connection,
    path: &Path,
    stream: Option<&str>,
    name: &str,
) -> Result<Vec<StoredCheckpoint>, AuditError> {
    let version = check_is_audit_store(conn, path)?;
    // A version 1 store (read without migrating it) has HMAC checkpoints only.
    let signing = if version >= 2 {
        "algorithm, public_key"
    } else {
        "'hmac-sha256', NULL"
    };
    let of_stream = super::schema::stream_columns(version).stream;
    let mut statement = conn
        .prepare(&format!(
            "SELECT id, at_us, kind, last_seq, head_hash, record_count, anchor_seq, anchor_hash, mac, {signing}
             FROM audit_checkpoints WHERE {of_stream} IS ?1 ORDER BY id"
        ))
        .map_err(sql(path))?;
    let stream_name = name.to_owned();
    let rows = statement
        .query_map([stream], |r| {
            let stream = stream_name.clone();
            let kind: String = r.get(2)?;
            let algorithm: String = r.get(9)?;
            let public_key: Option<Vec<u8>> = r.get(10)?;
            let mac: Vec<u8> = r.get(8)?;
            let signature =
                CheckpointSignature::from_stored(&algorithm, public_key.as_deref(), mac);
            let checkpoint =
                CheckpointKind::parse(&kind).map(|kind| -> rusqlite::Result<Checkpoint> {
                    Ok(Checkpoint {
                        stream: stream.clone(),
                        at_us: r.get(1)?,
                        kind,
                        last_seq: r.get(3)?,
                        head: hash_of(r.get(4)?),
                        count: r.get(5)?,
                        anchor_seq: r.get(6)?,
                        anchor_hash: hash_of(r.get(7)?),
                    })
                });
            let checkpoint = checkpoint.transpose()?;
            Ok((
                r.get::<_, i64>(0)?,
                checkpoint
                    .zip(signature)
                    .map(|(c, s)| SignedCheckpoint::new(c, s)),
            ))
        })
        .map_err(sql(path))?;
    rows.collect::<Result<_, _>>().map_err(sql(path))
}
