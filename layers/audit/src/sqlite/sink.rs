//! [`SqliteSink`]: the embedded default store as an audit sink.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime};

use super::{SqliteStore, SyncMode};
use crate::AuditKey;
use crate::chain::CheckpointKind;
use crate::checkpoint_policy::CheckpointPolicy;
use crate::error::AuditError;
use crate::record::AuditRecord;
use crate::signing::SigningKey;
use crate::sink::{AuditSink, SinkError};
use crate::witness::CheckpointWitness;

/// The embedded default: a [`SqliteStore`] with a hash chain, checkpoints
/// signed every N records or T seconds and at shutdown, and retention
/// (records older than 90 days purged at start and every hour).
///
/// ```
/// use std::time::Duration;
/// use warden_audit::{AuditKey, CheckpointPolicy, SqliteSink, SyncMode};
/// # let dir = std::env::temp_dir().join(format!("warden-doc-{}-{}", std::process::id(), line!()));
/// # std::fs::create_dir_all(&dir)?;
/// let key = AuditKey::new(*b"a key of at least sixteen bytes")?;
/// let sink = SqliteSink::builder(dir.join("audit.db"))
///     .key(key)
///     .sync_mode(SyncMode::Full)
///     .checkpoints(CheckpointPolicy { every_records: 500, every: Duration::from_secs(30) })
///     .retention(Some(Duration::from_secs(90 * 86_400)))
///     .build()?;
/// assert_eq!(sink.store().path(), dir.join("audit.db"));
/// # drop(sink);
/// # std::fs::remove_dir_all(&dir)?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug)]
pub struct SqliteSink {
    store: SqliteStore,
    retention: Option<Duration>,
    last_purge: Instant,
}

impl SqliteSink {
    /// Opens (or creates) the store at `path` with its key
    /// ([`AuditKey::for_store`]), `synchronous=NORMAL`, checkpoints every
    /// 1,000 records or 60 s, 90 days' retention.
    pub fn open(path: impl AsRef<Path>) -> Result<Self, AuditError> {
        let path = path.as_ref();
        Self::builder(path).build()
    }

    /// A builder for the store at `path`.
    pub fn builder(path: impl AsRef<Path>) -> SqliteSinkBuilder {
        SqliteSinkBuilder {
            path: path.as_ref().to_owned(),
            key: None,
            signing_key: None,
            witnesses: Vec::new(),
            sync: SyncMode::Normal,
            checkpoints: CheckpointPolicy::default(),
            retention: Some(Duration::from_secs(90 * 24 * 3600)),
            stream: None,
        }
    }

    /// The store, for queries.
    pub fn store(&self) -> &SqliteStore {
        &self.store
    }

    fn purge_expired(&mut self) -> Result<(), AuditError> {
        if let Some(retention) = self.retention {
            if let Some(before) = SystemTime::now().checked_sub(retention) {
                self.store.purge(before)?;
            }
        }
        self.last_purge = Instant::now();
        Ok(())
    }
}

/// Configures a [`SqliteSink`].
pub struct SqliteSinkBuilder {
    path: PathBuf,
    key: Option<AuditKey>,
    signing_key: Option<SigningKey>,
    witnesses: Vec<Box<dyn CheckpointWitness>>,
    sync: SyncMode,
    checkpoints: CheckpointPolicy,
    retention: Option<Duration>,
    stream: Option<String>,
}

impl std::fmt::Debug for SqliteSinkBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqliteSinkBuilder")
            .field("path", &self.path)
            .field("signing_key", &self.signing_key)
            .field("witnesses", &self.witnesses.len())
            .field("sync", &self.sync)
            .field("checkpoints", &self.checkpoints)
            .field("retention", &self.retention)
            .finish_non_exhaustive()
    }
}

impl SqliteSinkBuilder {
    /// Uses `key` as the store's secret key (HMAC checkpoints, unless a
    /// [`signing_key`](Self::signing_key) is given) instead of the store's
    /// key file.
    pub fn key(mut self, key: AuditKey) -> Self {
        self.key = Some(key);
        self
    }

    /// Signs checkpoints with `key` (Ed25519): they verify with its public
    /// key alone, which cannot sign (`warden audit keygen` makes a pair).
    pub fn signing_key(mut self, key: SigningKey) -> Self {
        self.signing_key = Some(key);
        self
    }

    /// Sends each checkpoint to `witness` too (see [`CheckpointWitness`]).
    pub fn witness(mut self, witness: impl CheckpointWitness) -> Self {
        self.witnesses.push(Box::new(witness));
        self
    }

    /// SQLite's `synchronous` setting (default `NORMAL`).
    pub fn sync_mode(mut self, sync: SyncMode) -> Self {
        self.sync = sync;
        self
    }

    /// How often checkpoints are signed.
    pub fn checkpoints(mut self, policy: CheckpointPolicy) -> Self {
        self.checkpoints = policy;
        self
    }

    /// Keeps records this long (default 90 days); `None` keeps them forever.
    pub fn retention(mut self, retention: Option<Duration>) -> Self {
        self.retention = retention;
        self
    }

    /// The stream this sink writes (default: one of its own per process,
    /// `sqlite-<host>-<pid>-<random>`, so that processes sharing the file
    /// never share a chain). Give a fixed name only to one writer at a
    /// time: a restarted writer then continues its stream
    /// ([`SqliteStore::continue_stream`]).
    ///
    /// ```
    /// # let dir = std::env::temp_dir().join(format!("warden-doc-{}-{}", std::process::id(), line!()));
    /// # std::fs::create_dir_all(&dir)?;
    /// let sink = warden_audit::SqliteSink::builder(dir.join("audit.db")).stream("billing-worker").build()?;
    /// assert_eq!(sink.store().stream(), "billing-worker");
    /// # std::fs::remove_dir_all(&dir)?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn stream(mut self, name: impl Into<String>) -> Self {
        self.stream = Some(name.into());
        self
    }

    /// Opens the store and purges what has expired.
    pub fn build(self) -> Result<SqliteSink, AuditError> {
        let key = match self.key {
            Some(key) => key,
            None => AuditKey::for_store(&self.path)?,
        };
        let mut store = SqliteStore::open_with(&self.path, key, self.sync, self.checkpoints)?;
        if let Some(name) = self.stream {
            store.continue_stream(name)?;
        }
        if let Some(signing_key) = self.signing_key {
            store.sign_with(signing_key);
        }
        for witness in self.witnesses {
            store.add_boxed_witness(witness);
        }
        let mut sink = SqliteSink {
            store,
            retention: self.retention,
            last_purge: Instant::now(),
        };
        sink.purge_expired()?;
        Ok(sink)
    }
}

impl AuditSink for SqliteSink {
    fn name(&self) -> String {
        format!("sqlite:{}", self.store.path().display())
    }

    fn write(&mut self, records: &[AuditRecord]) -> Result<(), SinkError> {
        Ok(self.store.append(records)?)
    }

    fn tick(&mut self) -> Result<(), SinkError> {
        self.store.checkpoint_if_due()?;
        if self.last_purge.elapsed() >= Duration::from_secs(3600) {
            self.purge_expired()?;
        }
        Ok(())
    }

    fn close(&mut self) -> Result<(), SinkError> {
        Ok(self.store.checkpoint(CheckpointKind::Shutdown)?)
    }
}
