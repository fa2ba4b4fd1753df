//! Writing the store: records chained by hash, signed checkpoints,
//! retention.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime};

use rusqlite::{Connection, OptionalExtension, TransactionBehavior, params};

use super::query;
use super::schema::{self, sql};
use crate::chain::hash_of;
use crate::chain::{
    AuditKey, Checkpoint, CheckpointKind, CheckpointSigner, GENESIS, Hash, SignedCheckpoint, link,
};
use crate::checkpoint_policy::CheckpointPolicy;
use crate::error::AuditError;
use crate::query::Query;
use crate::record::{AuditRecord, micros_since_epoch};
use crate::signing::SigningKey;
use crate::witness::{CheckpointWitness, Witnesses};

/// How long a write waits for another process's lock on the store.
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// Whether `e` is SQLite's "the database is locked" (another connection
/// holds the lock).
fn is_busy(e: &rusqlite::Error) -> bool {
    matches!(
        e.sqlite_error_code(),
        Some(rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked)
    )
}

/// A stream's next sequence number and the hash it chains to, as the file
/// has them now: after its last record; in a stream purged to nothing,
/// after its last checkpoint's head; else `otherwise` (this writer's own
/// view, or the genesis of a new stream). `stream` is the stream as its
/// rows name it (`None`: the store's first stream, from before streams).
fn head_of(
    conn: &Connection,
    path: &Path,
    stream: Option<&str>,
    otherwise: (i64, Hash),
) -> Result<(i64, Hash), AuditError> {
    let last = conn
        .query_row(
            "SELECT COALESCE(stream_seq, seq), hash FROM audit_records
             WHERE stream IS ?1 ORDER BY COALESCE(stream_seq, seq) DESC LIMIT 1",
            [stream],
            |r| Ok((r.get::<_, i64>(0)? + 1, hash_of(r.get::<_, Vec<u8>>(1)?))),
        )
        .optional()
        .map_err(sql(path))?;
    if let Some(last) = last {
        return Ok(last);
    }
    let checkpoint = conn
        .query_row(
            "SELECT last_seq, head_hash FROM audit_checkpoints
             WHERE stream IS ?1 ORDER BY id DESC LIMIT 1",
            [stream],
            |r| Ok((r.get::<_, i64>(0)? + 1, hash_of(r.get::<_, Vec<u8>>(1)?))),
        )
        .optional()
        .map_err(sql(path))?;
    Ok(match checkpoint {
        Some(c) if c.0 >= otherwise.0 => c,
        _ => otherwise,
    })
}

/// A new stream's name: the host, the process and a random suffix, so that
/// every process that opens the store writes a chain of its own.
fn new_stream_name() -> String {
    format!(
        "sqlite-{}-{}-{}",
        crate::stream_name::host_name(),
        std::process::id(),
        crate::stream_name::random_suffix()
    )
}

/// Signs a checkpoint of one stream (`stream` as its rows name it, `name`
/// its name) whose next record is `head.0`, chained to `head.1`, and stores
/// it, in the transaction `tx` holds.
fn sign_stream(
    tx: &Connection,
    path: &Path,
    signer: &CheckpointSigner,
    stream: Option<&str>,
    name: &str,
    kind: CheckpointKind,
    head: (i64, Hash),
) -> Result<SignedCheckpoint, AuditError> {
    let (count, anchor_seq, anchor_hash) = tx
        .query_row(
            "SELECT COUNT(*), COALESCE(MIN(COALESCE(stream_seq, seq)), 0),
                    COALESCE((SELECT prev_hash FROM audit_records WHERE stream IS ?1
                              ORDER BY COALESCE(stream_seq, seq) LIMIT 1), zeroblob(32))
             FROM audit_records WHERE stream IS ?1",
            [stream],
            |r| {
                Ok((
                    r.get::<_, i64>(0)?,
                    r.get::<_, i64>(1)?,
                    hash_of(r.get::<_, Vec<u8>>(2)?),
                ))
            },
        )
        .map_err(sql(path))?;
    // An empty stream (purged to nothing) is anchored where its next record
    // will be: the next sequence number, chained to the head.
    let (anchor_seq, anchor_hash) = if count == 0 {
        head
    } else {
        (anchor_seq, anchor_hash)
    };
    let checkpoint = Checkpoint {
        stream: name.to_owned(),
        at_us: micros_since_epoch(SystemTime::now()),
        kind,
        last_seq: head.0 - 1,
        head: head.1,
        count,
        anchor_seq,
        anchor_hash,
    };
    let signed = signer.sign(checkpoint);
    let public_key = signed.signature.public_key().map(|k| k.to_bytes().to_vec());
    let c = &signed.checkpoint;
    tx.execute(
        "INSERT INTO audit_checkpoints (at_us, kind, last_seq, head_hash, record_count, anchor_seq,
             anchor_hash, mac, algorithm, public_key, stream)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
        params![
            c.at_us,
            kind.as_str(),
            c.last_seq,
            &c.head[..],
            c.count,
            c.anchor_seq,
            &c.anchor_hash[..],
            signed.signature.bytes(),
            signed.signature.algorithm(),
            public_key,
            stream,
        ],
    )
    .map_err(sql(path))?;
    Ok(signed)
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
///
/// ```
/// use std::time::{Duration, SystemTime};
/// use warden_audit::{AuditKey, AuditRecord, CheckpointKind, EventType, Query, SqliteStore};
/// # let dir = std::env::temp_dir().join(format!("warden-doc-{}-{}", std::process::id(), line!()));
/// # std::fs::create_dir_all(&dir)?;
/// let key = AuditKey::new(*b"a key of at least sixteen bytes")?;
/// let mut store = SqliteStore::open_with(dir.join("audit.db"), key.clone(), Default::default(), Default::default())?;
/// store.append(&[
///     AuditRecord::new(EventType::Authentication, "login").with_user("u-1"),
///     AuditRecord::new(EventType::ApiCall, "get_order").with_resource("order-9"),
/// ])?;
/// store.checkpoint(CheckpointKind::Periodic)?;
/// assert_eq!(store.query(&Query::default())?.len(), 2);
/// // Nothing is older than a day yet: nothing is purged.
/// assert_eq!(store.purge(SystemTime::now() - Duration::from_secs(86_400))?, 0);
/// assert!(warden_audit::verify_with(store.path(), &key)?.is_ok());
/// # std::fs::remove_dir_all(&dir)?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct SqliteStore {
    conn: Connection,
    path: PathBuf,
    key: AuditKey,
    signer: CheckpointSigner,
    stream: String,
    witnesses: Witnesses,
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
        // Other processes may write the same file (a rolling deploy, a
        // worker pool, the CLI): each write waits this long for their lock.
        conn.busy_timeout(BUSY_TIMEOUT).map_err(sql(&path))?;
        // Turning WAL on takes the file's lock without the busy handler:
        // processes that open a new store together retry for a while.
        let started = Instant::now();
        while let Err(e) = conn.pragma_update(None, "journal_mode", "WAL") {
            if !is_busy(&e) || started.elapsed() >= BUSY_TIMEOUT {
                return Err(sql(&path)(e));
            }
            std::thread::sleep(Duration::from_millis(10));
        }
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
        schema::migrate(&conn, &path)?;
        let stream = new_stream_name();
        let (next_seq, head) = head_of(&conn, &path, Some(&stream), (1, GENESIS))?;
        Ok(SqliteStore {
            conn,
            path,
            signer: CheckpointSigner::Hmac(key.clone()),
            key,
            stream,
            witnesses: Witnesses::default(),
            next_seq,
            head,
            policy,
            since_checkpoint: 0,
            last_checkpoint: Instant::now(),
        })
    }

    /// The file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The store's secret key: it signs checkpoints unless a
    /// [`SigningKey`] does ([`sign_with`](Self::sign_with)).
    pub fn key(&self) -> &AuditKey {
        &self.key
    }

    /// Signs checkpoints from now on with `key` (Ed25519), so that they
    /// verify with its public key alone. Earlier HMAC checkpoints stay as
    /// they are and still verify with the store's key.
    pub fn sign_with(&mut self, key: SigningKey) {
        self.signer = CheckpointSigner::Ed25519(key);
    }

    /// Sends every checkpoint signed from now on to `witness` as well.
    pub fn add_witness(&mut self, witness: impl CheckpointWitness) {
        self.add_boxed_witness(Box::new(witness));
    }

    pub(crate) fn add_boxed_witness(&mut self, witness: Box<dyn CheckpointWitness>) {
        self.witnesses.add(witness);
    }

    /// The name of this writer's hash chain, which its records and
    /// checkpoints carry: every process that opens the store writes a
    /// stream of its own (`sqlite-<host>-<pid>-<random>`), unless given a
    /// name with [`continue_stream`](Self::continue_stream).
    pub fn stream(&self) -> &str {
        &self.stream
    }

    /// Writes from now on to the stream `name`, continuing it if the store
    /// has it: for a writer that restarts and wants one chain across its
    /// runs. Give a name to one writer at a time: two processes writing one
    /// stream would break its chain.
    ///
    /// ```
    /// use warden_audit::{AuditKey, AuditRecord, EventType, SqliteStore};
    /// # let dir = std::env::temp_dir().join(format!("warden-doc-{}-{}", std::process::id(), line!()));
    /// # std::fs::create_dir_all(&dir)?;
    /// let key = AuditKey::new(*b"a key of at least sixteen bytes")?;
    /// for _run in 0..2 {
    ///     let mut store = SqliteStore::open_with(dir.join("audit.db"), key.clone(), Default::default(), Default::default())?;
    ///     store.continue_stream("billing-worker")?;
    ///     store.append(&[AuditRecord::new(EventType::ApiCall, "charge")])?;
    /// }
    /// let report = warden_audit::verify_with(dir.join("audit.db"), &key)?;
    /// assert_eq!(report.streams.len(), 1, "{report}");
    /// # std::fs::remove_dir_all(&dir)?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn continue_stream(&mut self, name: impl Into<String>) -> Result<(), AuditError> {
        let name = name.into();
        (self.next_seq, self.head) = head_of(&self.conn, &self.path, Some(&name), (1, GENESIS))?;
        self.stream = name;
        self.since_checkpoint = 0;
        Ok(())
    }

    /// Appends `records` in one transaction, chaining each to the last, and
    /// signs a checkpoint if the policy says one is due.
    ///
    /// Many processes may append to one store, each to its own
    /// [`stream`](Self::stream): an append takes the file's write lock
    /// (waiting up to 5 seconds for another writer) and chains its records
    /// to its stream's head as the file has it.
    pub fn append(&mut self, records: &[AuditRecord]) -> Result<(), AuditError> {
        let path = self.path.clone();
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(sql(&path))?;
        let (mut seq, mut head) =
            head_of(&tx, &path, Some(&self.stream), (self.next_seq, self.head))?;
        {
            let mut insert = tx
                .prepare_cached(concat!(
                    "INSERT INTO audit_records (stream_seq, ",
                    crate::record::record_columns!(),
                    ", prev_hash, hash, stream) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, \
                         ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18)"
                ))
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
                        &self.stream,
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

    /// Signs and stores a checkpoint of this writer's stream as it is now
    /// (nothing for a stream that never had a record).
    pub fn checkpoint(&mut self, kind: CheckpointKind) -> Result<(), AuditError> {
        let path = self.path.clone();
        // Under the write lock, of the stream as the file has it.
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(sql(&path))?;
        let stream = Some(self.stream.as_str());
        (self.next_seq, self.head) = head_of(&tx, &path, stream, (self.next_seq, self.head))?;
        let signed = if self.next_seq > 1 {
            let head = (self.next_seq, self.head);
            Some(sign_stream(
                &tx,
                &path,
                &self.signer,
                stream,
                &self.stream,
                kind,
                head,
            )?)
        } else {
            None
        };
        tx.commit().map_err(sql(&path))?;
        self.since_checkpoint = 0;
        self.last_checkpoint = Instant::now();
        if let Some(signed) = signed {
            self.witnesses.send(&signed, &self.path);
        }
        Ok(())
    }

    /// How many checkpoints the witnesses failed to take.
    pub fn witness_failures(&self) -> u64 {
        self.witnesses.failures()
    }

    /// Deletes the records older than `before` from every stream, oldest
    /// first, and signs a `PURGE` checkpoint of each stream it shortened,
    /// naming the new first record and the hash it chains to, so that
    /// `verify` still passes on what remains. Returns how many were
    /// deleted.
    pub fn purge(&mut self, before: SystemTime) -> Result<usize, AuditError> {
        let path = self.path.clone();
        let mut deleted = 0;
        let mut signed = Vec::new();
        for (stream, name) in schema::streams(&self.conn, &path)? {
            let tx = self
                .conn
                .transaction_with_behavior(TransactionBehavior::Immediate)
                .map_err(sql(&path))?;
            let own = stream.as_deref() == Some(self.stream.as_str());
            let known = if own {
                (self.next_seq, self.head)
            } else {
                (1, GENESIS)
            };
            let head = head_of(&tx, &path, stream.as_deref(), known)?;
            // Delete a prefix of the chain only: stop at the first record
            // that is not expired, even if a later one is (clocks can step
            // back).
            let cut = tx
                .query_row(
                    "SELECT MIN(COALESCE(stream_seq, seq)) FROM audit_records
                     WHERE stream IS ?1 AND ts_us >= ?2",
                    params![stream, micros_since_epoch(before)],
                    |r| r.get::<_, Option<i64>>(0),
                )
                .map_err(sql(&path))?
                .unwrap_or(head.0);
            let n = tx
                .execute(
                    "DELETE FROM audit_records WHERE stream IS ?1 AND COALESCE(stream_seq, seq) < ?2",
                    params![stream, cut],
                )
                .map_err(sql(&path))?;
            if n > 0 {
                let kind = CheckpointKind::Purge;
                signed.push(sign_stream(
                    &tx,
                    &path,
                    &self.signer,
                    stream.as_deref(),
                    &name,
                    kind,
                    head,
                )?);
            }
            tx.commit().map_err(sql(&path))?;
            if own {
                (self.next_seq, self.head) = head;
            }
            deleted += n;
        }
        for checkpoint in &signed {
            self.witnesses.send(checkpoint, &self.path);
        }
        Ok(deleted)
    }

    /// The records matching `query`, newest first (oldest first with
    /// `after_seq`).
    pub fn query(&self, query: &Query) -> Result<Vec<AuditRecord>, AuditError> {
        query::query_records(&self.conn, &self.path, query)
            .map(|rows| rows.into_iter().map(|(_, r)| r).collect())
    }
}
