//! `PostgresSink`: many writers, one database, one hash chain per writer.

use std::time::{Instant, SystemTime};

use postgres::binary_copy::BinaryCopyInWriter;
use postgres::types::{ToSql, Type};

use super::connect::{PgSettings, error_text};
use super::schema::{self, day_of};
use crate::chain::{
    AuditKey, Checkpoint, CheckpointKind, CheckpointSigner, GENESIS, Hash, SignedCheckpoint, link,
};
use crate::checkpoint_policy::CheckpointPolicy;
use crate::error::AuditError;
use crate::record::{AuditRecord, micros_since_epoch};
use crate::signing::SigningKey;
use crate::sink::{AuditSink, SinkError};
use crate::witness::{CheckpointWitness, Witnesses};

/// The columns a record fills, in the order the binary COPY sends them.
const COPY: &str = concat!(
    "COPY audit_records (stream, seq, ",
    crate::record::record_columns!(),
    ", prev_hash, hash) FROM STDIN (FORMAT binary)"
);

const COPY_TYPES: [Type; 18] = [
    Type::TEXT,
    Type::INT8,
    Type::TEXT,
    Type::INT8,
    Type::TEXT,
    Type::TEXT,
    Type::TEXT,
    Type::TEXT,
    Type::TEXT,
    Type::TEXT,
    Type::TEXT,
    Type::TEXT,
    Type::TEXT,
    Type::FLOAT8,
    Type::TEXT,
    Type::TEXT,
    Type::BYTEA,
    Type::BYTEA,
];

/// An [`AuditSink`] that writes to a PostgreSQL database many processes
/// share.
///
/// Each sink is its own *stream* — its own hash chain, numbered from 1 —
/// so writers never wait on each other; `warden audit verify --db
/// postgres://…` checks every stream and reports each. A batch goes in one
/// transaction with a binary `COPY`, its checkpoint (when one is due) in
/// the same transaction; the write returns only once it is committed, so a
/// `Sync` route acknowledges committed records only.
///
/// When the database is down or restarting, the write fails and the route
/// keeps the batch and retries it with backoff; the bounded queue and its
/// `Block`/`Drop` policy decide what the logging threads do meanwhile, and
/// a loss is stated in a `SECURITY` record once the database is back. A
/// batch whose commit was sent but not acknowledged is recognised when the
/// connection returns (by the stream's head), never written twice.
///
/// Retention is not the sink's: its append-only role cannot drop
/// partitions. An administrator runs [`PostgresStore::purge`](crate::PostgresStore::purge)
/// (`warden audit purge --db postgres://… --signing-key …`), from cron say.
///
/// ```no_run
/// use warden_audit::{AuditLayer, PostgresSink, Route, RouteFilter, SigningKey};
///
/// let sink = PostgresSink::builder("postgres://audit_writer@db.internal/audit?sslmode=verify-full")
///     .service("checkout")
///     .signing_key(SigningKey::from_file("/run/secrets/audit-signing.key")?)
///     .build()?;
/// let layer = AuditLayer::builder()
///     .route(Route::new("postgres", RouteFilter::all()).sink(sink))
///     .build()?;
/// # drop(layer);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct PostgresSink {
    settings: PgSettings,
    client: Option<postgres::Client>,
    /// Whether the stream's head must be read before the next write (a new
    /// connection: the last commit may have happened unacknowledged).
    check_head: bool,
    stream: String,
    signer: CheckpointSigner,
    seq: i64,
    head: Hash,
    policy: CheckpointPolicy,
    since_checkpoint: u64,
    last_checkpoint: Instant,
    witnesses: Witnesses,
    partitions_day: i64,
    registered: bool,
}

impl std::fmt::Debug for PostgresSink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PostgresSink")
            .field("database", &self.settings.display)
            .field("stream", &self.stream)
            .field("seq", &self.seq)
            .finish_non_exhaustive()
    }
}

/// Configures a [`PostgresSink`].
#[derive(Debug)]
pub struct PostgresSinkBuilder {
    target: String,
    stream: Option<String>,
    service: Option<String>,
    signer: Option<CheckpointSigner>,
    policy: CheckpointPolicy,
    witnesses: Vec<Box<dyn CheckpointWitness>>,
}

impl PostgresSink {
    /// A builder for the database at `target`: a URL
    /// (`postgres://user@host:5432/db?sslmode=verify-full&sslrootcert=ca.pem`)
    /// or a key/value string (`host=… dbname=… user=…`), completed from the
    /// `PG*` environment variables and `.pgpass` as libpq does.
    pub fn builder(target: impl Into<String>) -> PostgresSinkBuilder {
        PostgresSinkBuilder {
            target: target.into(),
            stream: None,
            service: None,
            signer: None,
            policy: CheckpointPolicy::default(),
            witnesses: Vec::new(),
        }
    }

    /// This writer's stream.
    pub fn stream(&self) -> &str {
        &self.stream
    }

    fn failed(&self, what: &str, e: &postgres::Error) -> AuditError {
        AuditError::Postgres {
            target: self.settings.display.clone(),
            reason: format!("{what}: {}", error_text(e)),
        }
    }

    /// A connection, with the stream registered and its head known.
    fn connection(&mut self) -> Result<&mut postgres::Client, AuditError> {
        if self.client.is_none() {
            let mut client = self.settings.connect()?;
            schema::migrate(&mut client, &self.settings.display)?;
            self.client = Some(client);
            self.check_head = true;
        }
        if !self.registered {
            let (algorithm, key_id, public_key) = match &self.signer {
                CheckpointSigner::Hmac(_) => ("hmac-sha256", "hmac".to_owned(), None),
                CheckpointSigner::Ed25519(key) => (
                    "ed25519",
                    key.public_key().to_hex(),
                    Some(key.public_key().to_bytes().to_vec()),
                ),
            };
            let now = micros_since_epoch(SystemTime::now());
            let stream = self.stream.clone();
            let result = self.client_mut()?.execute(
                "INSERT INTO audit_streams (stream, key_id, created_us, algorithm, public_key)
                 VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING",
                &[&stream, &key_id, &now, &algorithm, &public_key],
            );
            result.map_err(|e| self.drop_on(|s| s.failed("registering the stream", &e)))?;
            self.registered = true;
        }
        self.client_mut()
    }

    fn client_mut(&mut self) -> Result<&mut postgres::Client, AuditError> {
        let target = &self.settings.display;
        self.client.as_mut().ok_or_else(|| AuditError::Postgres {
            target: target.clone(),
            reason: "not connected".into(),
        })
    }

    /// Forgets the connection (it is reopened on the next write), then
    /// makes the error.
    fn drop_on(&mut self, error: impl FnOnce(&Self) -> AuditError) -> AuditError {
        let e = error(self);
        self.client = None;
        e
    }

    /// The stream's head as the database has it.
    fn stored_head(&mut self) -> Result<Option<(i64, Hash)>, AuditError> {
        let stream = self.stream.clone();
        let row = self.client_mut()?.query_opt(
            "SELECT seq, hash FROM warden_stream_head($1) WHERE seq IS NOT NULL",
            &[&stream],
        );
        let row = row.map_err(|e| self.drop_on(|s| s.failed("reading the stream's head", &e)))?;
        Ok(row.map(|r| {
            let hash: Vec<u8> = r.get(1);
            (r.get(0), crate::chain::hash_of(hash))
        }))
    }

    /// Appends `records` (and a checkpoint, if one is due or `checkpoint`
    /// asks) in one transaction.
    fn append(
        &mut self,
        records: &[AuditRecord],
        checkpoint: Option<CheckpointKind>,
    ) -> Result<(), AuditError> {
        self.connection()?;
        if self.check_head {
            let stored = self.stored_head()?;
            match stored {
                Some((seq, hash)) if seq == self.seq && hash == self.head => {}
                None if self.seq == 0 => {}
                Some((seq, hash))
                    if seq == self.seq + records.len() as i64 && !records.is_empty() =>
                {
                    // The last attempt committed, unacknowledged.
                    let mut head = self.head;
                    for record in records {
                        head = link(&head, record);
                    }
                    if head != hash {
                        return Err(self.moved(seq));
                    }
                    self.seq = seq;
                    self.head = hash;
                    self.check_head = false;
                    self.since_checkpoint += records.len() as u64;
                    return Ok(());
                }
                Some((seq, _)) => return Err(self.moved(seq)),
                None => return Err(self.moved(0)),
            }
            self.check_head = false;
        }
        let now = micros_since_epoch(SystemTime::now());
        self.ensure_partitions(now);
        let mut seq = self.seq;
        let mut head = self.head;
        let due = checkpoint.or_else(|| {
            let count = self.since_checkpoint + records.len() as u64;
            (count >= self.policy.every_records
                || (count > 0 && self.last_checkpoint.elapsed() >= self.policy.every))
                .then_some(CheckpointKind::Periodic)
        });
        let stream = self.stream.clone();
        let signer = &self.signer;
        let Some(client) = self.client.as_mut() else {
            return Err(AuditError::Postgres {
                target: self.settings.display.clone(),
                reason: "not connected".into(),
            });
        };
        let result = (|| -> Result<Option<SignedCheckpoint>, postgres::Error> {
            let mut tx = client.transaction()?;
            if !records.is_empty() {
                let sink = tx.copy_in(COPY)?;
                let mut writer = BinaryCopyInWriter::new(sink, &COPY_TYPES);
                for record in records {
                    seq += 1;
                    let hash = link(&head, record);
                    let id = record.id.to_string();
                    let ts = micros_since_epoch(record.timestamp);
                    let correlation = record.correlation_id.as_ref().map(ToString::to_string);
                    let metadata =
                        serde_json::to_string(&record.metadata).unwrap_or_else(|_| "{}".into());
                    let row: [&(dyn ToSql + Sync); 18] = [
                        &stream,
                        &seq,
                        &id,
                        &ts,
                        &record.level.as_str(),
                        &record.event_type.as_str(),
                        &record.action,
                        &record.outcome.as_str(),
                        &record.resource_id,
                        &record.user_id,
                        &record.client_ip_hash,
                        &record.user_agent,
                        &correlation,
                        &record.duration_ms,
                        &record.error_message,
                        &metadata,
                        &&head[..],
                        &&hash[..],
                    ];
                    writer.write(&row)?;
                    head = hash;
                }
                writer.finish()?;
            }
            let signed = match due {
                Some(kind) => {
                    let signed = signer.sign(Checkpoint {
                        stream: stream.clone(),
                        at_us: now,
                        kind,
                        last_seq: seq,
                        head,
                        count: seq,
                        anchor_seq: 1,
                        anchor_hash: GENESIS,
                    });
                    insert_checkpoint(&mut tx, &signed)?;
                    Some(signed)
                }
                None => None,
            };
            tx.commit()?;
            Ok(signed)
        })();
        match result {
            Ok(signed) => {
                self.seq = seq;
                self.head = head;
                self.since_checkpoint += records.len() as u64;
                if let Some(signed) = signed {
                    self.since_checkpoint = 0;
                    self.last_checkpoint = Instant::now();
                    let origin = std::path::PathBuf::from(&self.settings.display);
                    self.witnesses.send(&signed, &origin);
                }
                Ok(())
            }
            Err(e) => {
                // Whether the commit happened is read back on reconnection.
                Err(self.drop_on(|s| s.failed("writing a batch", &e)))
            }
        }
    }

    fn moved(&mut self, stored_seq: i64) -> AuditError {
        let e = AuditError::Postgres {
            target: self.settings.display.clone(),
            reason: format!(
                "stream {} ends at record {stored_seq} in the database, not at {}: another writer uses this stream, or records were removed",
                self.stream, self.seq
            ),
        };
        self.client = None;
        e
    }

    /// Makes the coming days' partitions once a day, if this role may.
    fn ensure_partitions(&mut self, now_us: i64) {
        let today = day_of(now_us);
        if self.partitions_day == today {
            return;
        }
        self.partitions_day = today;
        let target = self.settings.display.clone();
        if let Some(client) = self.client.as_mut() {
            // A role without CREATE cannot: the partitions made ahead by the
            // schema's owner (or the default partition) take the records.
            let _ = schema::ensure_partitions(client, now_us, &target);
        }
    }
}

pub(crate) fn insert_checkpoint(
    client: &mut impl postgres::GenericClient,
    signed: &SignedCheckpoint,
) -> Result<u64, postgres::Error> {
    let c = &signed.checkpoint;
    let public_key = signed.signature.public_key().map(|k| k.to_bytes().to_vec());
    client.execute(
        "INSERT INTO audit_checkpoints (stream, at_us, kind, last_seq, head_hash, record_count,
            anchor_seq, anchor_hash, signature, algorithm, public_key)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
        &[
            &c.stream,
            &c.at_us,
            &c.kind.as_str(),
            &c.last_seq,
            &&c.head[..],
            &c.count,
            &c.anchor_seq,
            &&c.anchor_hash[..],
            &signed.signature.bytes(),
            &signed.signature.algorithm(),
            &public_key,
        ],
    )
}

impl PostgresSinkBuilder {
    /// The stream's name (default: the service name, the host name and a
    /// random suffix, so that each process writes a chain of its own). Give
    /// a fixed name only to one writer at a time: a restarted writer then
    /// continues its stream.
    pub fn stream(mut self, name: impl Into<String>) -> Self {
        self.stream = Some(name.into());
        self
    }

    /// The service name that starts the default stream name (default:
    /// `OTEL_SERVICE_NAME`, else the program's name).
    pub fn service(mut self, name: impl Into<String>) -> Self {
        self.service = Some(name.into());
        self
    }

    /// Signs checkpoints with `key` (Ed25519): verified with its public key
    /// alone. Without it (or [`key`](Self::key)), each stream signs with a
    /// key of its own made at start, recorded with the stream: `verify`
    /// then checks the checkpoints' consistency, not who made them.
    pub fn signing_key(mut self, key: SigningKey) -> Self {
        self.signer = Some(CheckpointSigner::Ed25519(key));
        self
    }

    /// Signs checkpoints with HMAC and `key` (checked with the same key).
    pub fn key(mut self, key: AuditKey) -> Self {
        self.signer = Some(CheckpointSigner::Hmac(key));
        self
    }

    /// How often checkpoints are signed (default every 1,000 records or 60
    /// seconds).
    pub fn checkpoints(mut self, policy: CheckpointPolicy) -> Self {
        self.policy = policy;
        self
    }

    /// Sends each checkpoint to `witness` too.
    pub fn witness(mut self, witness: impl CheckpointWitness) -> Self {
        self.witnesses.push(Box::new(witness));
        self
    }

    /// Connects, creates the schema if the database has none (refusing a
    /// newer one), and registers the stream (continuing it if it exists).
    pub fn build(self) -> Result<PostgresSink, AuditError> {
        let settings = PgSettings::parse(&self.target)?;
        let stream = match self.stream {
            Some(name) => name,
            None => default_stream(self.service),
        };
        let mut witnesses = Witnesses::default();
        for w in self.witnesses {
            witnesses.add(w);
        }
        let mut sink = PostgresSink {
            settings,
            client: None,
            check_head: true,
            stream,
            signer: self
                .signer
                .unwrap_or_else(|| CheckpointSigner::Ed25519(SigningKey::generate())),
            seq: 0,
            head: GENESIS,
            policy: self.policy,
            since_checkpoint: 0,
            last_checkpoint: Instant::now(),
            witnesses,
            partitions_day: i64::MIN,
            registered: false,
        };
        sink.connection()?;
        if let Some((seq, hash)) = sink.stored_head()? {
            sink.seq = seq;
            sink.head = hash;
        }
        sink.check_head = false;
        Ok(sink)
    }
}

/// `<service>-<host>-<8 hex digits>`.
fn default_stream(service: Option<String>) -> String {
    let service = service
        .or_else(|| std::env::var("OTEL_SERVICE_NAME").ok())
        .or_else(|| {
            std::env::current_exe()
                .ok()?
                .file_stem()?
                .to_str()
                .map(str::to_owned)
        })
        .unwrap_or_else(|| "service".into());
    let host = crate::stream_name::host_name();
    format!("{service}-{host}-{}", crate::stream_name::random_suffix())
}

impl AuditSink for PostgresSink {
    fn name(&self) -> String {
        format!("postgres:{} stream {}", self.settings.display, self.stream)
    }

    fn write(&mut self, records: &[AuditRecord]) -> Result<(), SinkError> {
        Ok(self.append(records, None)?)
    }

    fn tick(&mut self) -> Result<(), SinkError> {
        if self.since_checkpoint > 0 && self.last_checkpoint.elapsed() >= self.policy.every {
            self.append(&[], Some(CheckpointKind::Periodic))?;
        }
        Ok(())
    }

    fn close(&mut self) -> Result<(), SinkError> {
        let result = self.append(&[], Some(CheckpointKind::Shutdown));
        self.client = None;
        Ok(result?)
    }
}
