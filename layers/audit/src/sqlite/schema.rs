//! The store's schema: creating it, recognising it, migrating it.

use std::path::Path;

use rusqlite::{Connection, OptionalExtension};

use crate::error::AuditError;

/// The schema version this build writes.
pub const SCHEMA_VERSION: i64 = 3;

const SCHEMA_V1: &str = "
CREATE TABLE warden_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE audit_records (
    seq INTEGER PRIMARY KEY,
    id TEXT NOT NULL,
    ts_us INTEGER NOT NULL,
    level TEXT NOT NULL,
    event_type TEXT NOT NULL,
    action TEXT NOT NULL,
    outcome TEXT NOT NULL,
    resource_id TEXT,
    user_id TEXT,
    client_ip_hash TEXT,
    user_agent TEXT,
    correlation_id TEXT,
    duration_ms REAL,
    error_message TEXT,
    metadata TEXT NOT NULL,
    prev_hash BLOB NOT NULL,
    hash BLOB NOT NULL
);
CREATE INDEX audit_records_ts ON audit_records (ts_us);
CREATE INDEX audit_records_event_type ON audit_records (event_type);
CREATE INDEX audit_records_user ON audit_records (user_id);
CREATE INDEX audit_records_resource ON audit_records (resource_id);
CREATE INDEX audit_records_correlation ON audit_records (correlation_id);
CREATE TABLE audit_checkpoints (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    at_us INTEGER NOT NULL,
    kind TEXT NOT NULL,
    last_seq INTEGER NOT NULL,
    head_hash BLOB NOT NULL,
    record_count INTEGER NOT NULL,
    anchor_seq INTEGER NOT NULL,
    anchor_hash BLOB NOT NULL,
    mac BLOB NOT NULL
);
INSERT INTO warden_meta (key, value) VALUES ('kind', 'warden-audit');
INSERT INTO warden_meta (key, value) VALUES ('schema_version', '1');
";

/// Version 2: checkpoints say how they are signed (HMAC or Ed25519, with
/// the public key), and the store names its stream.
const MIGRATE_TO_V2: &str = "
ALTER TABLE audit_checkpoints ADD COLUMN algorithm TEXT NOT NULL DEFAULT 'hmac-sha256';
ALTER TABLE audit_checkpoints ADD COLUMN public_key BLOB;
UPDATE warden_meta SET value = '2' WHERE key = 'schema_version';
";

/// Version 3: each writer (each process that opens the store) keeps a
/// chain of its own, its *stream*: records and checkpoints name their
/// stream, and records are numbered within it (`stream_seq`; `seq` stays
/// the row's number across the store). Rows of earlier versions have no
/// stream: they are the store's first stream, named in `warden_meta`, and
/// numbered by `seq`.
const MIGRATE_TO_V3: &str = "
ALTER TABLE audit_records ADD COLUMN stream TEXT;
ALTER TABLE audit_records ADD COLUMN stream_seq INTEGER;
ALTER TABLE audit_checkpoints ADD COLUMN stream TEXT;
CREATE INDEX audit_records_stream ON audit_records (stream, stream_seq);
UPDATE warden_meta SET value = '3' WHERE key = 'schema_version';
";

/// How a store of `version` names each row's stream and numbers it within
/// the stream, as SQL expressions (a store read without migrating it has
/// one stream, its rows numbered by `seq`).
pub(crate) fn stream_columns(version: i64) -> StreamColumns {
    if version >= 3 {
        StreamColumns {
            stream: "stream",
            seq: "COALESCE(stream_seq, seq)",
        }
    } else {
        StreamColumns {
            stream: "NULL",
            seq: "seq",
        }
    }
}

/// SQL expressions for a row's stream (`NULL`: the store's first stream)
/// and its number within the stream; see [`stream_columns`].
#[derive(Clone, Copy, Debug)]
pub(crate) struct StreamColumns {
    pub(crate) stream: &'static str,
    pub(crate) seq: &'static str,
}

/// Maps a SQLite error to the store's error, naming its file.
pub(crate) fn sql(path: &Path) -> impl Fn(rusqlite::Error) -> AuditError + '_ {
    move |e| AuditError::sqlite(path, e)
}

/// Creates the schema in an empty database, or checks and migrates an
/// existing one.
pub(crate) fn migrate(conn: &Connection, path: &Path) -> Result<(), AuditError> {
    let tables: i64 = conn
        .query_row(
            "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table'",
            [],
            |r| r.get(0),
        )
        .map_err(sql(path))?;
    if tables == 0 {
        conn.execute_batch(&format!("BEGIN IMMEDIATE; {SCHEMA_V1} COMMIT;"))
            .map_err(sql(path))
            .or_else(|e| {
                // Another process created it first: the batch stopped at
                // its first CREATE, inside the transaction it began.
                if !conn.is_autocommit() {
                    conn.execute_batch("ROLLBACK").map_err(sql(path))?;
                }
                check_is_audit_store(conn, path).map(drop).map_err(|_| e)
            })?;
    }
    let version = check_is_audit_store(conn, path)?;
    if version > SCHEMA_VERSION {
        return Err(AuditError::NewerSchema {
            path: path.to_owned(),
            found: version,
            supported: SCHEMA_VERSION,
        });
    }
    if version < 2 {
        let stream = format!(
            "sqlite-{}",
            &uuid::Uuid::new_v4().simple().to_string()[..16]
        );
        // Under a write lock, and only if nobody migrated meanwhile.
        conn.execute_batch("BEGIN IMMEDIATE").map_err(sql(path))?;
        let result = (|| {
            if check_is_audit_store(conn, path)? < 2 {
                conn.execute_batch(MIGRATE_TO_V2).map_err(sql(path))?;
                conn.execute(
                    "INSERT OR IGNORE INTO warden_meta (key, value) VALUES ('stream', ?1)",
                    [&stream],
                )
                .map_err(sql(path))?;
            }
            Ok(())
        })();
        let end = if result.is_ok() { "COMMIT" } else { "ROLLBACK" };
        conn.execute_batch(end).map_err(sql(path))?;
        result?;
    }
    if version < 3 {
        conn.execute_batch("BEGIN IMMEDIATE").map_err(sql(path))?;
        let result = (|| {
            if check_is_audit_store(conn, path)? < 3 {
                conn.execute_batch(MIGRATE_TO_V3).map_err(sql(path))?;
            }
            Ok(())
        })();
        let end = if result.is_ok() { "COMMIT" } else { "ROLLBACK" };
        conn.execute_batch(end).map_err(sql(path))?;
        result?;
    }
    Ok(())
}

/// The streams of the store, each as its name in the rows (`None`: the
/// store's first stream, whose rows have none) and its name: every stream
/// a record or a checkpoint names, in name order.
pub(crate) fn streams(
    conn: &Connection,
    path: &Path,
) -> Result<Vec<(Option<String>, String)>, AuditError> {
    let version = check_is_audit_store(conn, path)?;
    let first = stream_of(conn, path)?;
    if version < 3 {
        return Ok(vec![(None, first)]);
    }
    let mut statement = conn
        .prepare(
            "SELECT DISTINCT stream FROM audit_records
             UNION SELECT DISTINCT stream FROM audit_checkpoints",
        )
        .map_err(sql(path))?;
    let mut streams: Vec<(Option<String>, String)> = statement
        .query_map([], |r| r.get::<_, Option<String>>(0))
        .map_err(sql(path))?
        .map(|row| row.map(|s| (s.clone(), s.unwrap_or_else(|| first.clone()))))
        .collect::<Result<_, _>>()
        .map_err(sql(path))?;
    if streams.is_empty() {
        streams.push((None, first));
    }
    streams.sort_by(|a, b| a.1.cmp(&b.1));
    Ok(streams)
}

/// The store's stream: the name its checkpoints carry (empty for a
/// version 1 store not yet migrated).
pub(crate) fn stream_of(conn: &Connection, path: &Path) -> Result<String, AuditError> {
    Ok(conn
        .query_row(
            "SELECT value FROM warden_meta WHERE key = 'stream'",
            [],
            |r| r.get(0),
        )
        .optional()
        .map_err(sql(path))?
        .unwrap_or_default())
}

/// The schema version, if `conn` is a warden audit store.
pub(crate) fn check_is_audit_store(conn: &Connection, path: &Path) -> Result<i64, AuditError> {
    let not_audit = || AuditError::NotAnAuditStore(path.to_owned());
    let kind: Option<String> = conn
        .query_row(
            "SELECT value FROM warden_meta WHERE key = 'kind'",
            [],
            |r| r.get(0),
        )
        .optional()
        .map_err(|_| not_audit())?;
    if kind.as_deref() != Some("warden-audit") {
        return Err(not_audit());
    }
    let version: String = conn
        .query_row(
            "SELECT value FROM warden_meta WHERE key = 'schema_version'",
            [],
            |r| r.get(0),
        )
        .map_err(|_| not_audit())?;
    version.parse().map_err(|_| not_audit())
}
