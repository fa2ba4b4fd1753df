//! The SQLite store: records chained by hash, signed checkpoints, indexed
//! queries, retention.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime};

use rusqlite::{params, Connection, OpenFlags, OptionalExtension, Row};

use crate::chain::{link, AuditKey, Checkpoint, CheckpointKind, Hash, GENESIS};
use crate::error::AuditError;
use crate::record::{from_micros, micros_since_epoch, AuditLevel, AuditRecord, EventType, Outcome};

/// The schema version this build writes.
pub const SCHEMA_VERSION: i64 = 1;

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

/// SQLite's `synchronous` setting for the store.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum SyncMode {
    /// `NORMAL` (the default in WAL mode): a commit survives a crash of the
    /// process; the last commits may be lost if the machine loses power.
    #[default]
    Normal,
    /// `FULL`: each commit is on disk before it returns.
    Full,
}

/// An open SQLite audit store.
pub struct SqliteStore {
    conn: Connection,
    path: PathBuf,
    key: AuditKey,
    next_seq: i64,
    head: Hash,
    policy: CheckpointPolicy,
    since_checkpoint: u64,
    last_checkpoint: Instant,
}

impl std::fmt::Debug for SqliteStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqliteStore")
            .field("path", &self.path)
            .field("next_seq", &self.next_seq)
            .finish_non_exhaustive()
    }
}

/// Filters for [`SqliteStore::query`]; every one given must match.
#[derive(Clone, Debug, Default)]
pub struct Query {
    /// Only this level.
    pub level: Option<AuditLevel>,
    /// Only this event type.
    pub event_type: Option<EventType>,
    /// Only this action.
    pub action: Option<String>,
    /// Only this user.
    pub user_id: Option<String>,
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

/// One day's counts from [`SqliteStore::stats`].
#[derive(Clone, Debug, PartialEq, Eq)]
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

fn sql(path: &Path) -> impl Fn(rusqlite::Error) -> AuditError + '_ {
    move |e| AuditError::sqlite(path, e)
}

impl SqliteStore {
    /// Opens (creating or migrating if needed) the store at `path`, with
    /// the key from [`AuditKey::for_store`].
    pub fn open(path: impl AsRef<Path>) -> Result<Self, AuditError> {
        let path = path.as_ref();
        let key = AuditKey::for_store(path)?;
        Self::open_with(path, key, SyncMode::Normal, CheckpointPolicy::default())
    }

    /// Opens the store at `path` with an explicit key, sync mode and
    /// checkpoint policy.
    pub fn open_with(
        path: impl AsRef<Path>,
        key: AuditKey,
        sync: SyncMode,
        policy: CheckpointPolicy,
    ) -> Result<Self, AuditError> {
        let path = path.as_ref().to_owned();
        let conn = Connection::open(&path).map_err(sql(&path))?;
        conn.busy_timeout(Duration::from_secs(5))
            .map_err(sql(&path))?;
        conn.pragma_update(None, "journal_mode", "WAL")
            .map_err(sql(&path))?;
        let mode = match sync {
            SyncMode::Normal => "NORMAL",
            SyncMode::Full => "FULL",
        };
        conn.pragma_update(None, "synchronous", mode)
            .map_err(sql(&path))?;
        // Index pages stay in memory (64 MiB of cache, reads through mmap):
        // five indexes of a growing store otherwise cost a read per insert.
        conn.pragma_update(None, "cache_size", -65_536)
            .map_err(sql(&path))?;
        conn.pragma_update(None, "mmap_size", 256 * 1024 * 1024)
            .map_err(sql(&path))?;
        migrate(&conn, &path)?;
        let (next_seq, head) = conn
            .query_row(
                "SELECT seq, hash FROM audit_records ORDER BY seq DESC LIMIT 1",
                [],
                |r| Ok((r.get::<_, i64>(0)? + 1, hash_of(r.get::<_, Vec<u8>>(1)?))),
            )
            .optional()
            .map_err(sql(&path))?
            .unwrap_or((1, GENESIS));
        Ok(SqliteStore {
            conn,
            path,
            key,
            next_seq,
            head,
            policy,
            since_checkpoint: 0,
            last_checkpoint: Instant::now(),
        })
    }

    /// Opens an existing store for reading only: a missing file or a
    /// database that is not an audit store is an error, never created.
    pub fn open_read_only(path: impl AsRef<Path>) -> Result<Connection, AuditError> {
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
        Ok(conn)
    }

    /// The file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The key that signs this store's checkpoints.
    pub fn key(&self) -> &AuditKey {
        &self.key
    }

    /// Appends `records` in one transaction, chaining each to the last, and
    /// signs a checkpoint if the policy says one is due.
    pub fn append(&mut self, records: &[AuditRecord]) -> Result<(), AuditError> {
        let path = self.path.clone();
        let tx = self.conn.transaction().map_err(sql(&path))?;
        let mut seq = self.next_seq;
        let mut head = self.head;
        {
            let mut insert = tx
                .prepare_cached(
                    "INSERT INTO audit_records (seq, id, ts_us, level, event_type, action, outcome,
                        resource_id, user_id, client_ip_hash, user_agent, correlation_id,
                        duration_ms, error_message, metadata, prev_hash, hash)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17)",
                )
                .map_err(sql(&path))?;
            for record in records {
                let hash = link(&head, record);
                let metadata =
                    serde_json::to_string(&record.metadata).unwrap_or_else(|_| "{}".into());
                insert
                    .execute(params![
                        seq,
                        record.id.to_string(),
                        micros_since_epoch(record.timestamp),
                        record.level.as_str(),
                        record.event_type.as_str(),
                        record.action,
                        record.outcome.as_str(),
                        record.resource_id,
                        record.user_id,
                        record.client_ip_hash,
                        record.user_agent,
                        record.correlation_id.as_ref().map(ToString::to_string),
                        record.duration_ms,
                        record.error_message,
                        metadata,
                        &head[..],
                        &hash[..],
                    ])
                    .map_err(sql(&path))?;
                head = hash;
                seq += 1;
            }
        }
        tx.commit().map_err(sql(&path))?;
        self.next_seq = seq;
        self.head = head;
        self.since_checkpoint += records.len() as u64;
        self.checkpoint_if_due()
    }

    /// Signs a periodic checkpoint if records were written since the last
    /// one and the policy's count or time has been reached.
    pub fn checkpoint_if_due(&mut self) -> Result<(), AuditError> {
        if self.since_checkpoint >= self.policy.every_records
            || (self.since_checkpoint > 0 && self.last_checkpoint.elapsed() >= self.policy.every)
        {
            self.checkpoint(CheckpointKind::Periodic)?;
        }
        Ok(())
    }

    /// Signs and stores a checkpoint of the chain as it is now.
    pub fn checkpoint(&mut self, kind: CheckpointKind) -> Result<(), AuditError> {
        let path = self.path.clone();
        let (count, anchor_seq, anchor_hash) = self
            .conn
            .query_row(
                "SELECT COUNT(*), COALESCE(MIN(seq), 0),
                        COALESCE((SELECT prev_hash FROM audit_records ORDER BY seq LIMIT 1), zeroblob(32))
                 FROM audit_records",
                [],
                |r| Ok((r.get::<_, i64>(0)?, r.get::<_, i64>(1)?, hash_of(r.get::<_, Vec<u8>>(2)?))),
            )
            .map_err(sql(&path))?;
        // An empty store (new, or purged to nothing) is anchored where its
        // next record will be: the next sequence number, chained to the head.
        let (anchor_seq, anchor_hash) = if count == 0 {
            (self.next_seq, self.head)
        } else {
            (anchor_seq, anchor_hash)
        };
        let checkpoint = Checkpoint {
            at_us: micros_since_epoch(SystemTime::now()),
            kind,
            last_seq: self.next_seq - 1,
            head: self.head,
            count,
            anchor_seq,
            anchor_hash,
        };
        let mac = self.key.sign(&checkpoint.canonical());
        self.conn
            .execute(
                "INSERT INTO audit_checkpoints (at_us, kind, last_seq, head_hash, record_count, anchor_seq, anchor_hash, mac)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
                params![
                    checkpoint.at_us,
                    kind.as_str(),
                    checkpoint.last_seq,
                    &checkpoint.head[..],
                    checkpoint.count,
                    checkpoint.anchor_seq,
                    &checkpoint.anchor_hash[..],
                    &mac[..],
                ],
            )
            .map_err(sql(&path))?;
        self.since_checkpoint = 0;
        self.last_checkpoint = Instant::now();
        Ok(())
    }

    /// Deletes the records older than `before`, oldest first, and signs a
    /// `PURGE` checkpoint naming the new first record and the hash it
    /// chains to, so that `verify` still passes on what remains. Returns
    /// how many were deleted.
    pub fn purge(&mut self, before: SystemTime) -> Result<usize, AuditError> {
        let path = self.path.clone();
        // Delete a prefix of the chain only: stop at the first record that
        // is not expired, even if a later one is (clocks can step back).
        let cut = self
            .conn
            .query_row(
                "SELECT MIN(seq) FROM audit_records WHERE ts_us >= ?1",
                params![micros_since_epoch(before)],
                |r| r.get::<_, Option<i64>>(0),
            )
            .map_err(sql(&path))?
            .unwrap_or(self.next_seq);
        let deleted = self
            .conn
            .execute("DELETE FROM audit_records WHERE seq < ?1", params![cut])
            .map_err(sql(&path))?;
        if deleted > 0 {
            self.checkpoint(CheckpointKind::Purge)?;
        }
        Ok(deleted)
    }

    /// The records matching `query`, newest first (oldest first with
    /// `after_seq`).
    pub fn query(&self, query: &Query) -> Result<Vec<AuditRecord>, AuditError> {
        query_records(&self.conn, &self.path, query)
            .map(|rows| rows.into_iter().map(|(_, r)| r).collect())
    }
}

/// Creates the schema in an empty database, or checks and migrates an
/// existing one.
fn migrate(conn: &Connection, path: &Path) -> Result<(), AuditError> {
    let tables: i64 = conn
        .query_row(
            "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table'",
            [],
            |r| r.get(0),
        )
        .map_err(sql(path))?;
    if tables == 0 {
        conn.execute_batch(&format!("BEGIN; {SCHEMA_V1} COMMIT;"))
            .map_err(sql(path))?;
        return Ok(());
    }
    let version = check_is_audit_store(conn, path)?;
    if version > SCHEMA_VERSION {
        return Err(AuditError::NewerSchema {
            path: path.to_owned(),
            found: version,
            supported: SCHEMA_VERSION,
        });
    }
    // Version 1 is the first; later versions add their steps here.
    Ok(())
}

/// The schema version, if `conn` is a warden audit store.
fn check_is_audit_store(conn: &Connection, path: &Path) -> Result<i64, AuditError> {
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

pub(crate) fn hash_of(bytes: Vec<u8>) -> Hash {
    let mut hash = [0u8; 32];
    if bytes.len() == 32 {
        hash.copy_from_slice(&bytes);
    }
    hash
}

const COLUMNS: &str = "seq, id, ts_us, level, event_type, action, outcome, resource_id, user_id,
    client_ip_hash, user_agent, correlation_id, duration_ms, error_message, metadata";

/// A stored row as a record. A column that no longer parses (an edited
/// row) is an error of that row, reported by `verify`.
pub(crate) fn record_from_row(
    row: &Row<'_>,
) -> rusqlite::Result<(i64, Result<AuditRecord, String>)> {
    let seq: i64 = row.get(0)?;
    let id: String = row.get(1)?;
    let level: String = row.get(3)?;
    let outcome: String = row.get(6)?;
    let correlation: Option<String> = row.get(11)?;
    let metadata: String = row.get(14)?;
    let parsed = (|| {
        Ok(AuditRecord {
            id: id.parse().map_err(|e| format!("id: {e}"))?,
            timestamp: from_micros(row.get(2).map_err(|e| e.to_string())?),
            level: level.parse().map_err(|e| format!("{e}"))?,
            event_type: EventType::parse(&row.get::<_, String>(4).map_err(|e| e.to_string())?),
            action: row.get(5).map_err(|e| e.to_string())?,
            outcome: outcome.parse().map_err(|e| format!("{e}"))?,
            resource_id: row.get(7).map_err(|e| e.to_string())?,
            user_id: row.get(8).map_err(|e| e.to_string())?,
            client_ip_hash: row.get(9).map_err(|e| e.to_string())?,
            user_agent: row.get(10).map_err(|e| e.to_string())?,
            correlation_id: match correlation {
                Some(c) => Some(c.parse().map_err(|e| format!("correlation_id: {e}"))?),
                None => None,
            },
            duration_ms: row.get(12).map_err(|e| e.to_string())?,
            error_message: row.get(13).map_err(|e| e.to_string())?,
            metadata: serde_json::from_str(&metadata).map_err(|e| format!("metadata: {e}"))?,
        })
    })();
    Ok((seq, parsed))
}

/// Runs `query` on any connection to an audit store.
pub fn query_records(
    conn: &Connection,
    path: &Path,
    query: &Query,
) -> Result<Vec<(i64, AuditRecord)>, AuditError> {
    let mut clauses = Vec::new();
    let mut values: Vec<rusqlite::types::Value> = Vec::new();
    let mut eq = |column: &str, value: Option<String>| {
        if let Some(v) = value {
            clauses.push(format!("{column} = ?{}", values.len() + 1));
            values.push(v.into());
        }
    };
    eq("level", query.level.map(|l| l.as_str().to_owned()));
    eq(
        "event_type",
        query.event_type.as_ref().map(|t| t.as_str().to_owned()),
    );
    eq("action", query.action.clone());
    eq("user_id", query.user_id.clone());
    eq("resource_id", query.resource_id.clone());
    eq("correlation_id", query.correlation_id.clone());
    eq("outcome", query.outcome.map(|o| o.as_str().to_owned()));
    if let Some(since) = query.since {
        clauses.push(format!("ts_us >= ?{}", values.len() + 1));
        values.push(micros_since_epoch(since).into());
    }
    if let Some(until) = query.until {
        clauses.push(format!("ts_us < ?{}", values.len() + 1));
        values.push(micros_since_epoch(until).into());
    }
    if let Some(after) = query.after_seq {
        clauses.push(format!("seq > ?{}", values.len() + 1));
        values.push(after.into());
    }
    let filter = if clauses.is_empty() {
        String::new()
    } else {
        format!("WHERE {}", clauses.join(" AND "))
    };
    let order = if query.after_seq.is_some() {
        "seq ASC"
    } else {
        "ts_us DESC, seq DESC"
    };
    let limit = query
        .limit
        .map(|n| format!("LIMIT {n}"))
        .unwrap_or_default();
    let text = format!("SELECT {COLUMNS} FROM audit_records {filter} ORDER BY {order} {limit}");
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
pub fn stats(
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
pub(crate) type StoredCheckpoint = (i64, Option<Checkpoint>, Vec<u8>);

/// Reads every checkpoint, oldest first, with its MAC.
pub(crate) fn checkpoints(
    conn: &Connection,
    path: &Path,
) -> Result<Vec<StoredCheckpoint>, AuditError> {
    let mut statement = conn
        .prepare(
            "SELECT id, at_us, kind, last_seq, head_hash, record_count, anchor_seq, anchor_hash, mac
             FROM audit_checkpoints ORDER BY id",
        )
        .map_err(sql(path))?;
    let rows = statement
        .query_map([], |r| {
            let kind: String = r.get(2)?;
            let checkpoint =
                CheckpointKind::parse(&kind).map(|kind| -> rusqlite::Result<Checkpoint> {
                    Ok(Checkpoint {
                        at_us: r.get(1)?,
                        kind,
                        last_seq: r.get(3)?,
                        head: hash_of(r.get(4)?),
                        count: r.get(5)?,
                        anchor_seq: r.get(6)?,
                        anchor_hash: hash_of(r.get(7)?),
                    })
                });
            Ok((
                r.get::<_, i64>(0)?,
                checkpoint.transpose()?,
                r.get::<_, Vec<u8>>(8)?,
            ))
        })
        .map_err(sql(path))?;
    rows.collect::<Result<_, _>>().map_err(sql(path))
}
