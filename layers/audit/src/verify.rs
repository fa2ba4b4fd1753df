//! Verifying a store: the hash chain, the signed checkpoints, the tail.

use std::fmt;
use std::path::Path;

use crate::chain::{AuditKey, GENESIS, Hash, link};
use crate::error::AuditError;
use crate::sqlite::{StoreReader, checkpoints, hash_of, record_from_row};

/// One thing `verify` found wrong.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Problem {
    /// A record's content no longer matches its hash (or no longer parses).
    Edited {
        /// Its sequence number.
        seq: i64,
    },
    /// Records are missing between two that remain.
    Deleted {
        /// The last record before the gap.
        after_seq: i64,
        /// The first record after it.
        before_seq: i64,
    },
    /// A record does not chain to the one before it although no sequence
    /// number is missing: records were reordered or replaced.
    Reordered {
        /// The record whose link is broken.
        seq: i64,
    },
    /// The first records are gone: the chain does not start where the last
    /// signed checkpoint says it does.
    HeadDeleted {
        /// Where the chain should start.
        expected_first_seq: i64,
        /// Where it starts.
        first_seq: Option<i64>,
    },
    /// Records a signed checkpoint covers are gone from the end.
    TailTruncated {
        /// The last record the checkpoint covers.
        checkpoint_last_seq: i64,
        /// The last record present.
        last_seq: Option<i64>,
    },
    /// A checkpoint's signature is not valid: forged, or signed with
    /// another key.
    ForgedCheckpoint {
        /// Its row id.
        id: i64,
    },
    /// A validly signed checkpoint names a chain head the records no
    /// longer have: the chain was rewritten.
    CheckpointMismatch {
        /// Its row id.
        id: i64,
        /// The record it covers last.
        last_seq: i64,
    },
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Problem::Edited { seq } => write!(
                f,
                "record {seq} was edited (its hash does not match its content)"
            ),
            Problem::Deleted {
                after_seq,
                before_seq,
            } => {
                let (first, last) = (after_seq + 1, before_seq - 1);
                if first == last {
                    write!(f, "record {first} was deleted")
                } else {
                    write!(f, "records {first} to {last} were deleted")
                }
            }
            Problem::Reordered { seq } => write!(
                f,
                "record {seq} does not chain to the record before it (reordered or replaced)"
            ),
            Problem::HeadDeleted {
                expected_first_seq,
                first_seq,
            } => write!(
                f,
                "the chain should start at record {expected_first_seq} but starts at {}",
                first_seq.map_or("nothing".to_owned(), |s| s.to_string())
            ),
            Problem::TailTruncated {
                checkpoint_last_seq,
                last_seq,
            } => write!(
                f,
                "a signed checkpoint covers records up to {checkpoint_last_seq} but the store ends at {}: the tail was truncated",
                last_seq.map_or("nothing".to_owned(), |s| s.to_string())
            ),
            Problem::ForgedCheckpoint { id } => write!(
                f,
                "checkpoint {id} has an invalid signature (forged or signed with another key)"
            ),
            Problem::CheckpointMismatch { id, last_seq } => write!(
                f,
                "checkpoint {id} does not match record {last_seq}: the chain was rewritten"
            ),
        }
    }
}

/// What `verify` found.
///
/// ```
/// use warden_audit::{AuditKey, AuditRecord, EventType, SqliteStore};
/// # let dir = std::env::temp_dir().join(format!("warden-doc-{}-{}", std::process::id(), line!()));
/// # std::fs::create_dir_all(&dir)?;
/// let key = AuditKey::new(*b"a key of at least sixteen bytes")?;
/// let path = dir.join("audit.db");
/// let mut store = SqliteStore::open_with(&path, key.clone(), Default::default(), Default::default())?;
/// store.append(&[AuditRecord::new(EventType::Authentication, "login")])?;
/// drop(store);
/// let report = warden_audit::verify_with(&path, &key)?;
/// assert!(report.is_ok(), "{report}");
/// // Edit a record behind the store's back: verification names it.
/// let conn = rusqlite::Connection::open(&path)?;
/// conn.execute("UPDATE audit_records SET action = 'logout'", [])?;
/// assert!(!warden_audit::verify_with(&path, &key)?.is_ok());
/// # std::fs::remove_dir_all(&dir)?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct VerifyReport {
    /// Records in the store.
    pub records: u64,
    /// Records whose hash and link are intact.
    pub valid: u64,
    /// Checkpoints in the store.
    pub checkpoints: u64,
    /// Checkpoints with a valid signature.
    pub valid_checkpoints: u64,
    /// Records written after the last valid checkpoint: chained, but not
    /// yet covered by a signature (the end of a store whose writer stopped
    /// without a shutdown checkpoint, such as after a crash).
    pub unverified_tail: u64,
    /// Everything wrong, first broken link first.
    pub problems: Vec<Problem>,
}

impl VerifyReport {
    /// Whether the store is intact.
    pub fn is_ok(&self) -> bool {
        self.problems.is_empty()
    }
}

impl fmt::Display for VerifyReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "records:     {} ({} valid, {} invalid)",
            self.records,
            self.valid,
            self.records - self.valid
        )?;
        writeln!(
            f,
            "checkpoints: {} ({} validly signed)",
            self.checkpoints, self.valid_checkpoints
        )?;
        if self.unverified_tail > 0 {
            writeln!(
                f,
                "tail:        {} records after the last checkpoint (chained, not yet signed: an unfinished tail, not tampering)",
                self.unverified_tail
            )?;
        }
        if self.problems.is_empty() {
            write!(f, "result:      OK")
        } else {
            for problem in &self.problems {
                writeln!(f, "problem:     {problem}")?;
            }
            write!(f, "result:      FAILED ({} problems)", self.problems.len())
        }
    }
}

/// Verifies the store at `path` with its key ([`AuditKey::for_store`]).
pub fn verify(path: impl AsRef<Path>) -> Result<VerifyReport, AuditError> {
    let path = path.as_ref();
    // A missing file or another database is reported as such, before any
    // question of keys.
    StoreReader::open(path)?;
    let key = match std::env::var("WARDEN_AUDIT_KEY") {
        Ok(key) => AuditKey::new(key.into_bytes())?,
        Err(_) => AuditKey::from_file(&crate::chain::key_file(path), false)?,
    };
    verify_with(path, &key)
}

/// Verifies the store at `path` with `key`.
pub fn verify_with(path: impl AsRef<Path>, key: &AuditKey) -> Result<VerifyReport, AuditError> {
    let path = path.as_ref();
    let reader = StoreReader::open(path)?;
    let conn = reader.connection();
    let sql = |e| AuditError::sqlite(path, e);
    let mut report = VerifyReport::default();

    let all_checkpoints = checkpoints(conn, path)?;
    report.checkpoints = all_checkpoints.len() as u64;
    let mut trusted = Vec::new();
    for (id, checkpoint, mac) in all_checkpoints {
        match checkpoint {
            Some(c) if key.verify(&c.canonical(), &mac) => trusted.push((id, c)),
            _ => report.problems.push(Problem::ForgedCheckpoint { id }),
        }
    }
    report.valid_checkpoints = trusted.len() as u64;
    let latest = trusted.last().map(|(_, c)| c.clone());
    let (anchor_seq, anchor_hash) = latest
        .as_ref()
        .filter(|c| c.anchor_seq > 0)
        .map_or((1, GENESIS), |c| (c.anchor_seq, c.anchor_hash));

    // Walk the chain.
    let mut statement = conn
        .prepare(
            "SELECT seq, id, ts_us, level, event_type, action, outcome, resource_id, user_id,
                    client_ip_hash, user_agent, correlation_id, duration_ms, error_message, metadata,
                    prev_hash, hash
             FROM audit_records ORDER BY seq",
        )
        .map_err(sql)?;
    let mut rows = statement.query([]).map_err(sql)?;
    let mut previous: Option<(i64, Hash)> = None;
    let mut first_seq = None;
    let mut last_seq = None;
    let mut hashes = std::collections::HashMap::new();
    while let Some(row) = rows.next().map_err(sql)? {
        let (seq, record) = record_from_row(row).map_err(sql)?;
        let prev_hash = hash_of(row.get(15).map_err(sql)?);
        let stored = hash_of(row.get(16).map_err(sql)?);
        report.records += 1;
        first_seq.get_or_insert(seq);
        last_seq = Some(seq);
        let mut ok = true;
        match &record {
            Ok(record) if link(&prev_hash, record) == stored => {}
            _ => {
                report.problems.push(Problem::Edited { seq });
                ok = false;
            }
        }
        match previous {
            None => {
                // The first record left after a deleted head is intact
                // itself: the problem is the records before it.
                if seq != anchor_seq || prev_hash != anchor_hash {
                    report.problems.push(Problem::HeadDeleted {
                        expected_first_seq: anchor_seq,
                        first_seq: Some(seq),
                    });
                }
            }
            // A gap: the records in it are missing, and the record after
            // it, intact itself, is not counted invalid for them.
            Some((prev_seq, _)) if seq != prev_seq + 1 => {
                report.problems.push(Problem::Deleted {
                    after_seq: prev_seq,
                    before_seq: seq,
                });
            }
            Some((_, prev_stored)) if prev_hash != prev_stored => {
                report.problems.push(Problem::Reordered { seq });
                ok = false;
            }
            Some(_) => {}
        }
        if ok {
            report.valid += 1;
        }
        hashes.insert(seq, stored);
        previous = Some((seq, stored));
    }

    // Hold the records to what the signed checkpoints say.
    let mut truncated_to = None;
    for (id, checkpoint) in &trusted {
        if checkpoint.last_seq < anchor_seq {
            continue; // covers only purged records
        }
        match hashes.get(&checkpoint.last_seq) {
            Some(hash) if *hash == checkpoint.head => {}
            Some(_) => report.problems.push(Problem::CheckpointMismatch {
                id: *id,
                last_seq: checkpoint.last_seq,
            }),
            None if last_seq.is_none_or(|l| l < checkpoint.last_seq) => {
                truncated_to = truncated_to.max(Some(checkpoint.last_seq));
            }
            None => {} // a deletion in the middle, reported by the walk
        }
    }
    if let Some(checkpoint_last_seq) = truncated_to {
        report.problems.push(Problem::TailTruncated {
            checkpoint_last_seq,
            last_seq,
        });
    }
    if first_seq.is_none() && anchor_seq > 1 && latest.as_ref().is_some_and(|c| c.count > 0) {
        report.problems.push(Problem::HeadDeleted {
            expected_first_seq: anchor_seq,
            first_seq: None,
        });
    }
    let covered = latest.as_ref().map_or(0, |c| c.last_seq);
    report.unverified_tail = hashes.keys().filter(|&&seq| seq > covered).count() as u64;
    Ok(report)
}
