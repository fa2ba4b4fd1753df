//! Reading the store: filters, indexed queries, daily counts, checkpoints.

use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use rusqlite::{Connection, OpenFlags, Row, params};

use super::schema::{check_is_audit_store, hash_of, sql};
use crate::chain::{Checkpoint, CheckpointKind, CheckpointSignature, SignedCheckpoint};
use crate::error::AuditError;
use crate::record::{
    AuditLevel, AuditRecord, EventType, Outcome, StoredColumns, micros_since_epoch,
};

/// Filters for [`SqliteStore::query`](super::SqliteStore::query) and
/// [`StoreReader::query`]; every one given must match.
///
/// ```
/// use std::time::{Duration, SystemTime};
/// use warden_audit::{EventType, Outcome, Query};
///
/// let failed_logins_today = Query {
///     event_type: Some(EventType::Security),
///     action: Some("login_failed".into()),
///     outcome: Some(Outcome::Failure),
///     since: SystemTime::now().checked_sub(Duration::from_secs(86_400)),
///     limit: Some(100),
///     ..Query::default()
/// };
/// # drop(failed_logins_today);
/// ```
#[derive(Clone, Debug, Default)]
pub struct Query {
    /// Only this level.
    pub level: Option<AuditLevel>,
    /// Only this event type.
    pub event_type: Option<EventType>,
    /// Only this action.
    pub action: Option<String>,
    /// Only records whose `user_id` is one of these; empty: any user. To
    /// find a user in a store that keeps users as keyed hashes, give the
    /// ID and its [`AuditKey::pseudonym`](crate::AuditKey::pseudonym), as
    /// [`Query::user`] does.
    pub user_ids: Vec<String>,
    /// Only this resource.
    pub resource_id: Option<String>,
    /// Only this correlation ID.
    pub correlation_id: Option<String>,
    /// Only this outcome.
    pub outcome: Option<Outcome>,
    /// At or after this time.
    pub since: Option<SystemTime>,
    /// Before this time.
    pub until: Option<SystemTime>,
    /// At most this many (newest first); `None`: all.
    pub limit: Option<usize>,
    /// Only records with a sequence number above this (for `tail -f`);
    /// returned oldest first.
    pub after_seq: Option<i64>,
}

impl Query {
    /// Only the records of `user`: stored as given, or as its keyed hash
    /// with `key` (the store's key), as an audit layer with a
    /// [`pseudonym_key`](crate::AuditLayerBuilder::pseudonym_key) stores it.
    ///
    /// ```
    /// use warden_audit::{AuditKey, Query};
    ///
    /// let key = AuditKey::new(*b"a key of at least sixteen bytes")?;
    /// let query = Query::default().user("ada@example.com", Some(&key));
    /// assert_eq!(query.user_ids, ["ada@example.com".to_owned(), key.pseudonym("ada@example.com")]);
    /// # Ok::<(), warden_audit::AuditError>(())
    /// ```
    pub fn user(mut self, user: &str, key: Option<&crate::AuditKey>) -> Self {
        self.user_ids.push(user.to_owned());
        if let Some(key) = key {
            self.user_ids.push(key.pseudonym(user));
        }
        self
    }
}

/// One day's counts from [`StoreReader::stats`].
///
/// ```
/// use warden_audit::{AuditKey, AuditRecord, EventType, SqliteStore, StoreReader};
/// # let dir = std::env::temp_dir().join(format!("warden-doc-{}-{}", std::process::id(), line!()));
/// # std::fs::create_dir_all(&dir)?;
/// # let key = AuditKey::new(*b"a key of at least sixteen bytes")?;
/// # let mut store = SqliteStore::open_with(dir.join("audit.db"), key, Default::default(), Default::default())?;
/// # store.append(&[AuditRecord::new(EventType::Authentication, "login")])?;
/// let reader = StoreReader::open(dir.join("audit.db"))?;
/// for day in reader.stats(None)? {
///     println!("{} {} {} {}: {}", day.day, day.event_type, day.level, day.outcome, day.count);
/// }
/// # std::fs::remove_dir_all(&dir)?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct DayCount {
    /// The day, `YYYY-MM-DD` (UTC).
    pub day: String,
    /// The event type.
    pub event_type: String,
    /// The level.
    pub level: String,
    /// The outcome.
    pub outcome: String,
    /// How many records.
    pub count: i64,
}

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

const COLUMNS: &str = "seq, id, ts_us, level, event_type, action, outcome, resource_id, user_id,
    client_ip_hash, user_agent, correlation_id, duration_ms, error_message, metadata";

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

/// A value a query's filter compares with.
#[derive(Clone, Debug)]
pub(crate) enum FilterValue {
    Text(String),
    Int(i64),
}

/// The `WHERE` clause, `ORDER BY` and `LIMIT` of a query, written for any
/// SQL dialect: `slot(n)` names parameter `n` (`?n`, `$n`), and `seq` is
/// the column that numbers records (for `after_seq`).
pub(crate) fn query_sql(
    query: &Query,
    seq: &str,
    slot: impl Fn(usize) -> String,
) -> (String, Vec<FilterValue>) {
    let mut clauses = Vec::new();
    let mut values = Vec::new();
    let mut compare = |column: &str, op: &str, value: FilterValue| {
        values.push(value);
        clauses.push(format!("{column} {op} {}", slot(values.len())));
    };
    let texts = [
        ("level", query.level.map(|l| l.as_str().to_owned())),
        (
            "event_type",
            query.event_type.as_ref().map(|t| t.as_str().to_owned()),
        ),
        ("action", query.action.clone()),
        ("resource_id", query.resource_id.clone()),
        ("correlation_id", query.correlation_id.clone()),
        ("outcome", query.outcome.map(|o| o.as_str().to_owned())),
    ];
    for (column, value) in texts {
        if let Some(v) = value {
            compare(column, "=", FilterValue::Text(v));
        }
    }
    if let Some(since) = query.since {
        compare("ts_us", ">=", FilterValue::Int(micros_since_epoch(since)));
    }
    if let Some(until) = query.until {
        compare("ts_us", "<", FilterValue::Int(micros_since_epoch(until)));
    }
    if let Some(after) = query.after_seq {
        compare(seq, ">", FilterValue::Int(after));
    }
    if !query.user_ids.is_empty() {
        let first = values.len() + 1;
        let slots: Vec<String> = (first..first + query.user_ids.len()).map(&slot).collect();
        clauses.push(format!("user_id IN ({})", slots.join(", ")));
        values.extend(query.user_ids.iter().cloned().map(FilterValue::Text));
    }
    let filter = if clauses.is_empty() {
        String::new()
    } else {
        format!("WHERE {}", clauses.join(" AND "))
    };
    let order = if query.after_seq.is_some() {
        format!("{seq} ASC")
    } else {
        format!("ts_us DESC, {seq} DESC")
    };
    let limit = query
        .limit
        .map(|n| format!("LIMIT {n}"))
        .unwrap_or_default();
    (format!("{filter} ORDER BY {order} {limit}"), values)
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
pub(crate) type StoredCheckpoint = (i64, Option<SignedCheckpoint>);

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
