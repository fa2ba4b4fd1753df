//! Reading a PostgreSQL store: queries, daily counts, streams, the chain
//! of each stream for `verify`, and retention.

use std::time::SystemTime;

use postgres::types::ToSql;

use super::connect::{PgSettings, error_text};
use super::schema::{self, POSTGRES_SCHEMA_VERSION, day_of, partition_name};
use crate::chain::hash_of;
use crate::chain::{
    Checkpoint, CheckpointKind, CheckpointSignature, CheckpointSigner, SignedCheckpoint,
};
use crate::error::AuditError;
use crate::query::{DayCount, FilterValue, Query, query_sql};
use crate::record::{AuditRecord, StoredColumns, micros_since_epoch, record_columns};
use crate::signing::PublicKey;

const COLUMNS: &str = concat!("row_id, ", record_columns!());

/// A PostgreSQL audit store opened for reading (and retention): what
/// `warden audit query|tail|stats|verify|purge --db postgres://…` use.
///
/// ```no_run
/// use warden_audit::{PostgresStore, Query};
///
/// let mut store = PostgresStore::open("postgres://investigator@db.internal/audit")?;
/// for stream in store.streams()? {
///     println!("{stream}");
/// }
/// let newest = store.query(&Query { limit: Some(20), ..Query::default() })?;
/// # drop(newest);
/// # Ok::<(), warden_audit::AuditError>(())
/// ```
pub struct PostgresStore {
    settings: PgSettings,
    client: postgres::Client,
}

impl std::fmt::Debug for PostgresStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PostgresStore")
            .field("database", &self.settings.display)
            .finish_non_exhaustive()
    }
}

impl PostgresStore {
    /// Connects to the store at `target` (a URL or key/value string, as
    /// for [`PostgresSink::builder`](crate::PostgresSink::builder)); an
    /// error if the database holds no warden audit store or a newer one.
    pub fn open(target: &str) -> Result<Self, AuditError> {
        let settings = PgSettings::parse(target)?;
        let mut client = settings.connect()?;
        match schema::version(&mut client, &settings.display)? {
            None => Err(AuditError::Postgres {
                target: settings.display.clone(),
                reason: "no warden audit store in this database".into(),
            }),
            Some(v) if v > POSTGRES_SCHEMA_VERSION => Err(AuditError::Postgres {
                target: settings.display.clone(),
                reason: format!(
                    "audit schema version {v}; this warden reads up to {POSTGRES_SCHEMA_VERSION}"
                ),
            }),
            Some(_) => Ok(PostgresStore { settings, client }),
        }
    }

    fn failed(&self, e: &postgres::Error) -> AuditError {
        AuditError::Postgres {
            target: self.settings.display.clone(),
            reason: error_text(e),
        }
    }

    /// The records matching `query` (newest first; oldest first with
    /// `after_seq`), each with its row number: a number that grows with
    /// every record written, across streams (`after_seq` compares with it).
    pub fn query_with_seq(&mut self, query: &Query) -> Result<Vec<(i64, AuditRecord)>, AuditError> {
        let (tail, values) = query_sql(query, "row_id", |n| format!("${n}"));
        let values: Vec<Box<dyn ToSql + Sync>> = values
            .into_iter()
            .map(|v| -> Box<dyn ToSql + Sync> {
                match v {
                    FilterValue::Text(t) => Box::new(t),
                    FilterValue::Int(n) => Box::new(n),
                }
            })
            .collect();
        let params: Vec<&(dyn ToSql + Sync)> = values.iter().map(|v| v.as_ref()).collect();
        let text = format!("SELECT {COLUMNS} FROM audit_records {tail}");
        let rows = self
            .client
            .query(&text, &params)
            .map_err(|e| self.failed(&e))?;
        Ok(rows
            .iter()
            .filter_map(|row| {
                let (seq, record) = record_from_row(row);
                record.ok().map(|r| (seq, r))
            })
            .collect())
    }

    /// The records matching `query`.
    pub fn query(&mut self, query: &Query) -> Result<Vec<AuditRecord>, AuditError> {
        Ok(self
            .query_with_seq(query)?
            .into_iter()
            .map(|(_, r)| r)
            .collect())
    }

    /// The highest row number (0 if empty).
    pub fn last_seq(&mut self) -> Result<i64, AuditError> {
        let row = self
            .client
            .query_one("SELECT COALESCE(MAX(row_id), 0) FROM audit_records", &[])
            .map_err(|e| self.failed(&e))?;
        Ok(row.get(0))
    }

    /// Counts by day, event type, level and outcome, newest day first.
    pub fn stats(&mut self, since: Option<SystemTime>) -> Result<Vec<DayCount>, AuditError> {
        let since = since.map_or(i64::MIN, micros_since_epoch);
        let rows = self
            .client
            .query(
                "SELECT to_char(to_timestamp(ts_us / 1000000.0) AT TIME ZONE 'UTC', 'YYYY-MM-DD') AS day,
                        event_type, level, outcome, COUNT(*)
                 FROM audit_records WHERE ts_us >= $1
                 GROUP BY day, event_type, level, outcome
                 ORDER BY day DESC, event_type, level, outcome",
                &[&since],
            )
            .map_err(|e| self.failed(&e))?;
        Ok(rows
            .iter()
            .map(|r| DayCount {
                day: r.get(0),
                event_type: r.get(1),
                level: r.get(2),
                outcome: r.get(3),
                count: r.get(4),
            })
            .collect())
    }

    /// The streams (one per writer), oldest first.
    pub fn streams(&mut self) -> Result<Vec<String>, AuditError> {
        let rows = self
            .client
            .query(
                "SELECT DISTINCT stream FROM audit_streams
                 UNION SELECT DISTINCT stream FROM audit_checkpoints
                 ORDER BY 1",
                &[],
            )
            .map_err(|e| self.failed(&e))?;
        let mut streams: Vec<String> = rows.iter().map(|r| r.get(0)).collect();
        // Records of a stream nobody registered (its row deleted) still count.
        let rows = self
            .client
            .query("SELECT DISTINCT stream FROM audit_records", &[])
            .map_err(|e| self.failed(&e))?;
        for row in rows {
            let stream: String = row.get(0);
            if !streams.contains(&stream) {
                streams.push(stream);
            }
        }
        Ok(streams)
    }

    /// The public keys recorded with `stream` by its writers.
    pub(crate) fn stream_keys(&mut self, stream: &str) -> Result<Vec<PublicKey>, AuditError> {
        let rows = self
            .client
            .query(
                "SELECT public_key FROM audit_streams WHERE stream = $1 AND public_key IS NOT NULL",
                &[&stream],
            )
            .map_err(|e| self.failed(&e))?;
        Ok(rows
            .iter()
            .filter_map(|r| r.get::<_, Option<Vec<u8>>>(0))
            .filter_map(|k| PublicKey::from_slice(&k))
            .collect())
    }

    /// The checkpoints of `stream`, oldest first: row id and content
    /// (`None` when a row does not parse).
    pub(crate) fn checkpoints(
        &mut self,
        stream: &str,
    ) -> Result<Vec<(i64, Option<SignedCheckpoint>)>, AuditError> {
        let rows = self
            .client
            .query(
                "SELECT id, at_us, kind, last_seq, head_hash, record_count, anchor_seq, anchor_hash,
                        signature, algorithm, public_key
                 FROM audit_checkpoints WHERE stream = $1 ORDER BY id",
                &[&stream],
            )
            .map_err(|e| self.failed(&e))?;
        Ok(rows
            .iter()
            .map(|r| {
                let kind: String = r.get(2);
                let algorithm: String = r.get(9);
                let key: Option<Vec<u8>> = r.get(10);
                let signature: Vec<u8> = r.get(8);
                let signature =
                    CheckpointSignature::from_stored(&algorithm, key.as_deref(), signature);
                let checkpoint = CheckpointKind::parse(&kind).map(|kind| Checkpoint {
                    stream: stream.to_owned(),
                    at_us: r.get(1),
                    kind,
                    last_seq: r.get(3),
                    head: hash_of(r.get(4)),
                    count: r.get(5),
                    anchor_seq: r.get(6),
                    anchor_hash: hash_of(r.get(7)),
                });
                (
                    r.get(0),
                    checkpoint
                        .zip(signature)
                        .map(|(c, s)| SignedCheckpoint::new(c, s)),
                )
            })
            .collect())
    }

    /// Calls `each` with every record of `stream` in order: its number,
    /// whether it parses and matches its hash's input, its `prev_hash` and
    /// its `hash`.
    pub(crate) fn walk(
        &mut self,
        stream: &str,
        mut each: impl FnMut(i64, Option<AuditRecord>, crate::chain::Hash, crate::chain::Hash),
    ) -> Result<(), AuditError> {
        let text = concat!(
            "SELECT seq, ",
            record_columns!(),
            ", prev_hash, hash FROM audit_records WHERE stream = $1 ORDER BY seq"
        );
        let target = &self.settings.display;
        let failed = |e: postgres::Error| AuditError::Postgres {
            target: target.clone(),
            reason: error_text(&e),
        };
        let mut tx = self.client.transaction().map_err(failed)?;
        let portal = tx.bind(text, &[&stream]).map_err(failed)?;
        loop {
            let rows = tx.query_portal(&portal, 10_000).map_err(failed)?;
            if rows.is_empty() {
                break;
            }
            for row in &rows {
                let (seq, record) = record_from_row(row);
                each(seq, record.ok(), hash_of(row.get(15)), hash_of(row.get(16)));
            }
        }
        Ok(())
    }

    /// Retention: drops the daily partitions wholly older than `before`
    /// and deletes older records from the default partition; then, for
    /// each stream that lost records, writes a `PURGE` checkpoint signed by
    /// `signer` naming the stream's new first record and the hash it
    /// chains to, so that `verify` still passes (given `signer`'s key).
    /// Needs the rights of the schema's owner. Returns how many records
    /// went.
    pub fn purge(&mut self, before: SystemTime, signer: &PurgeSigner) -> Result<u64, AuditError> {
        let cut = micros_since_epoch(before);
        let target = self.settings.display.clone();
        let failed = |e: postgres::Error| AuditError::Postgres {
            target: target.clone(),
            reason: error_text(&e),
        };
        let mut tx = self.client.transaction().map_err(failed)?;
        let before_counts = counts(&mut tx).map_err(failed)?;
        let partitions = tx
            .query(
                "SELECT c.relname FROM pg_inherits i
                 JOIN pg_class c ON c.oid = i.inhrelid
                 JOIN pg_class p ON p.oid = i.inhparent
                 WHERE p.relname = 'audit_records' AND c.relname LIKE 'audit_records_p%'",
                &[],
            )
            .map_err(failed)?;
        let cut_day = day_of(cut);
        for row in partitions {
            let name: String = row.get(0);
            // Whole days before the cut's day only.
            let older = (cut_day - 36_500..cut_day).any(|day| partition_name(day) == name);
            if older {
                tx.batch_execute(&format!("DROP TABLE {}", schema::quote_ident(&name)))
                    .map_err(failed)?;
            }
        }
        tx.execute(
            "DELETE FROM audit_records_default WHERE ts_us < $1",
            &[&cut],
        )
        .map_err(failed)?;
        schema::ensure_partitions(&mut tx, micros_since_epoch(SystemTime::now()), &target)?;
        let after_counts = counts(&mut tx).map_err(failed)?;
        let mut deleted = 0;
        for (stream, count_before) in &before_counts {
            let count_after = after_counts
                .iter()
                .find(|(s, _)| s == stream)
                .map_or(0, |(_, n)| *n);
            if count_after == *count_before {
                continue;
            }
            deleted += (count_before - count_after) as u64;
            let anchor = tx
                .query_opt(
                    "SELECT seq, prev_hash FROM audit_records WHERE stream = $1 ORDER BY seq LIMIT 1",
                    &[stream],
                )
                .map_err(failed)?;
            let head = tx
                .query_opt(
                    "SELECT seq, hash FROM audit_records WHERE stream = $1 ORDER BY seq DESC LIMIT 1",
                    &[stream],
                )
                .map_err(failed)?;
            let last = tx
                .query_one(
                    "SELECT COALESCE(MAX(last_seq), 0), (SELECT head_hash FROM audit_checkpoints
                        WHERE stream = $1 ORDER BY last_seq DESC, id DESC LIMIT 1)
                     FROM audit_checkpoints WHERE stream = $1",
                    &[stream],
                )
                .map_err(failed)?;
            let (last_seq, head) = match head {
                Some(r) => (r.get::<_, i64>(0), hash_of(r.get(1))),
                // Everything went: the chain's end, as its newest checkpoint says.
                None => (
                    last.get::<_, i64>(0),
                    last.get::<_, Option<Vec<u8>>>(1)
                        .map(hash_of)
                        .unwrap_or_default(),
                ),
            };
            let (anchor_seq, anchor_hash) = match anchor {
                Some(r) => (r.get::<_, i64>(0), hash_of(r.get(1))),
                None => (last_seq + 1, head),
            };
            let signed = signer.0.sign(Checkpoint {
                stream: stream.clone(),
                at_us: micros_since_epoch(SystemTime::now()),
                kind: CheckpointKind::Purge,
                last_seq,
                head,
                count: count_after,
                anchor_seq,
                anchor_hash,
            });
            super::sink::insert_checkpoint(&mut tx, &signed).map_err(failed)?;
        }
        tx.commit().map_err(failed)?;
        Ok(deleted)
    }
}

/// The key that signs the `PURGE` checkpoints retention leaves: give its
/// public key (or HMAC key) to `verify` beside the writers'.
#[derive(Clone, Debug)]
pub struct PurgeSigner(pub(crate) CheckpointSigner);

impl PurgeSigner {
    /// Signs with an Ed25519 key.
    pub fn ed25519(key: crate::SigningKey) -> Self {
        PurgeSigner(CheckpointSigner::Ed25519(key))
    }

    /// Signs with HMAC and `key`.
    pub fn hmac(key: crate::AuditKey) -> Self {
        PurgeSigner(CheckpointSigner::Hmac(key))
    }
}

/// Records per stream.
fn counts(tx: &mut postgres::Transaction<'_>) -> Result<Vec<(String, i64)>, postgres::Error> {
    Ok(tx
        .query(
            "SELECT stream, COUNT(*) FROM audit_records GROUP BY stream",
            &[],
        )?
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect())
}

/// A record from a row of `COLUMNS` (or the walk's columns): its number
/// and the record, or why it does not parse.
fn record_from_row(row: &postgres::Row) -> (i64, Result<AuditRecord, String>) {
    let columns = (|| {
        Ok::<_, postgres::Error>(StoredColumns {
            id: row.try_get(1)?,
            ts_us: row.try_get(2)?,
            level: row.try_get(3)?,
            event_type: row.try_get(4)?,
            action: row.try_get(5)?,
            outcome: row.try_get(6)?,
            resource_id: row.try_get(7)?,
            user_id: row.try_get(8)?,
            client_ip_hash: row.try_get(9)?,
            user_agent: row.try_get(10)?,
            correlation_id: row.try_get(11)?,
            duration_ms: row.try_get(12)?,
            error_message: row.try_get(13)?,
            metadata: row.try_get(14)?,
        })
    })();
    let record = columns
        .map_err(|e| e.to_string())
        .and_then(StoredColumns::parse);
    (row.get(0), record)
}

impl crate::chain_store::ChainStore for PostgresStore {
    fn streams(&mut self) -> Result<Vec<String>, AuditError> {
        PostgresStore::streams(self)
    }

    fn recorded_keys(&mut self, stream: &str) -> Result<Vec<PublicKey>, AuditError> {
        self.stream_keys(stream)
    }

    fn checkpoints(
        &mut self,
        stream: &str,
    ) -> Result<Vec<crate::chain_store::StoredCheckpoint>, AuditError> {
        PostgresStore::checkpoints(self, stream)
    }

    fn walk(
        &mut self,
        stream: &str,
        each: &mut crate::chain_store::EachRecord<'_>,
    ) -> Result<(), AuditError> {
        PostgresStore::walk(self, stream, |seq, record, prev_hash, hash| {
            each(seq, record.as_ref(), prev_hash, hash)
        })
    }
}
