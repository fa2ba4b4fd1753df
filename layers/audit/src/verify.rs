//! Verifying a store: the hash chain, the signed checkpoints, the tail.

use std::fmt;
use std::path::Path;

use crate::chain::{
    AuditKey, Checkpoint, CheckpointSignature, GENESIS, Hash, SignedCheckpoint, link,
};
use crate::chain_store::ChainStore;
use crate::error::AuditError;
use crate::signing::PublicKey;
#[cfg(feature = "sqlite")]
use crate::sqlite::StoreReader;

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
    /// A checkpoint carries a valid Ed25519 signature, by a key that is
    /// not one of the public keys given to trust.
    UntrustedSigner {
        /// Its row id.
        id: i64,
        /// The key that signed it ([`PublicKey::id`]).
        signer: String,
    },
    /// A checkpoint kept off the host by a witness names a chain head the
    /// store no longer has: the store was rewritten (and re-signed).
    WitnessMismatch {
        /// The record the witnessed checkpoint covers last.
        last_seq: i64,
        /// When that checkpoint was made (microseconds since the epoch).
        at_us: i64,
    },
    /// No checkpoint could be checked: they are HMAC-signed and no HMAC key
    /// was given (or Ed25519-signed and none by a trusted key).
    Unchecked {
        /// How many checkpoints went unchecked.
        checkpoints: u64,
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
            Problem::UntrustedSigner { id, signer } => write!(
                f,
                "checkpoint {id} is signed by {signer}, which is not a trusted public key (forged with another key)"
            ),
            Problem::WitnessMismatch { last_seq, at_us } => {
                let mut when = String::new();
                if let Some(t) = std::time::UNIX_EPOCH
                    .checked_add(std::time::Duration::from_micros((*at_us).max(0) as u64))
                {
                    warden_core::internal::rfc3339_micros(&mut when, t);
                }
                write!(
                    f,
                    "the checkpoint witnessed at {when} says record {last_seq} has another hash: the store was rewritten after it (and re-signed)"
                )
            }
            Problem::Unchecked { checkpoints } => write!(
                f,
                "none of the {checkpoints} checkpoints could be checked: give the key that checks them (the HMAC key file, or the signer's public key)"
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
    /// Checkpoints that could not be checked (HMAC-signed, without the
    /// HMAC key).
    pub unchecked_checkpoints: u64,
    /// Who signed the valid checkpoints, and how far.
    pub signers: Vec<Signer>,
    /// Checkpoints from the witnesses that match the store.
    pub witnessed: u64,
    /// Everything wrong, first broken link first (stream by stream in a
    /// store many writers share).
    pub problems: Vec<Problem>,
    /// Each stream's own report, by name, in a store whose writers each
    /// keep a chain of their own (the SQLite store since schema version 3:
    /// one stream per process); the fields above add them up. Empty for a
    /// JSON Lines chain.
    pub streams: Vec<(String, VerifyReport)>,
}

/// One key that signed checkpoints of a store, in a [`VerifyReport`].
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Signer {
    /// `hmac` (the store's secret key) or a public key's [`PublicKey::id`].
    pub id: String,
    /// Why the key is believed.
    pub trust: SignerTrust,
    /// How many valid checkpoints it signed.
    pub checkpoints: u64,
    /// The last record its newest checkpoint covers.
    pub last_seq: i64,
}

/// Why a [`Signer`]'s signatures are believed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum SignerTrust {
    /// The HMAC key given to verify (whoever holds it can also sign).
    SecretKey,
    /// A public key given to trust ([`Verifier::public_key`]).
    TrustedPublicKey,
    /// Only the public key recorded in the store beside the checkpoint: it
    /// proves the checkpoints are consistent, not who made them. Pass the
    /// signer's public key to pin it.
    RecordedInStore,
}

impl fmt::Display for SignerTrust {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            SignerTrust::SecretKey => "the store's HMAC key",
            SignerTrust::TrustedPublicKey => "a trusted public key",
            SignerTrust::RecordedInStore => {
                "the public key recorded in the store, not pinned: pass --public-key to check it is yours"
            }
        })
    }
}

impl VerifyReport {
    /// Whether the store is intact.
    pub fn is_ok(&self) -> bool {
        self.problems.is_empty()
    }

    /// The report of a store with these streams: their figures added up,
    /// their signers merged, their problems in stream order.
    #[cfg_attr(not(feature = "sqlite"), allow(dead_code))]
    fn of_streams(streams: Vec<(String, VerifyReport)>) -> VerifyReport {
        let mut total = VerifyReport::default();
        for (_, report) in &streams {
            total.records += report.records;
            total.valid += report.valid;
            total.checkpoints += report.checkpoints;
            total.valid_checkpoints += report.valid_checkpoints;
            total.unverified_tail += report.unverified_tail;
            total.unchecked_checkpoints += report.unchecked_checkpoints;
            total.witnessed += report.witnessed;
            total.problems.extend(report.problems.iter().cloned());
            for signer in &report.signers {
                match total.signers.iter_mut().find(|s| s.id == signer.id) {
                    Some(s) => {
                        s.checkpoints += signer.checkpoints;
                        s.last_seq = s.last_seq.max(signer.last_seq);
                    }
                    None => total.signers.push(signer.clone()),
                }
            }
        }
        total.streams = streams;
        total
    }
}

impl fmt::Display for VerifyReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.streams.len() > 1 {
            // Stream by stream, then the whole store in one line.
            for (stream, report) in &self.streams {
                writeln!(f, "stream {stream}:")?;
                for line in report.to_string().lines() {
                    writeln!(f, "  {line}")?;
                }
            }
            let failed = self.streams.iter().filter(|(_, r)| !r.is_ok()).count();
            return if failed == 0 {
                write!(
                    f,
                    "result:      OK ({} streams, {} records)",
                    self.streams.len(),
                    self.records
                )
            } else {
                write!(
                    f,
                    "result:      FAILED ({failed} of {} streams, {} problems)",
                    self.streams.len(),
                    self.problems.len()
                )
            };
        }
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
        for signer in &self.signers {
            writeln!(
                f,
                "signed by:   {} ({}): {} checkpoints, records up to {}",
                signer.id, signer.trust, signer.checkpoints, signer.last_seq
            )?;
        }
        if self.unchecked_checkpoints > 0 {
            writeln!(
                f,
                "unchecked:   {} HMAC-signed checkpoints (no HMAC key given)",
                self.unchecked_checkpoints
            )?;
        }
        if self.witnessed > 0 {
            writeln!(
                f,
                "witnessed:   {} checkpoints kept off the host match the store",
                self.witnessed
            )?;
        }
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

/// Verifies the store at `path` with the keys found beside it: the HMAC
/// key (`WARDEN_AUDIT_KEY`, else `<path>.key`) if there is one, and the
/// trusted public key `<path>.pub` if there is one.
#[cfg(feature = "sqlite")]
pub fn verify(path: impl AsRef<Path>) -> Result<VerifyReport, AuditError> {
    let path = path.as_ref();
    // A missing file or another database is reported as such, before any
    // question of keys.
    StoreReader::open(path)?;
    let mut verifier = Verifier::new();
    if let Ok(key) = std::env::var("WARDEN_AUDIT_KEY") {
        verifier = verifier.hmac_key(AuditKey::new(key.into_bytes())?);
    } else {
        let file = crate::chain::key_file(path);
        if file.exists() {
            verifier = verifier.hmac_key(AuditKey::from_file(&file, false)?);
        }
    }
    let public = crate::signing::public_key_file(path);
    if public.exists() {
        verifier = verifier.public_key(PublicKey::from_file(&public)?);
    }
    verifier.verify(path)
}

/// Verifies the store at `path` with the HMAC key `key`.
#[cfg(feature = "sqlite")]
pub fn verify_with(path: impl AsRef<Path>, key: &AuditKey) -> Result<VerifyReport, AuditError> {
    Verifier::new().hmac_key(key.clone()).verify(path)
}

/// Verifies stores with the keys and witnesses it is given.
///
/// - An HMAC checkpoint is checked with the [`hmac_key`](Self::hmac_key).
/// - An Ed25519 checkpoint is checked with the public key it names; if
///   [`public_key`](Self::public_key)s are given, that key must be one of
///   them, else the checkpoint is reported as forged with another key.
/// - Checkpoints kept off the host ([`witness`](Self::witness)) must match
///   the records: this catches a store rewritten and re-signed with a
///   stolen key.
///
/// ```
/// use warden_audit::{AuditKey, AuditRecord, CheckpointKind, EventType, SigningKey, SqliteStore, Verifier};
/// # let dir = std::env::temp_dir().join(format!("warden-doc-{}-{}", std::process::id(), line!()));
/// # std::fs::create_dir_all(&dir)?;
/// let signing = SigningKey::generate();
/// let key = AuditKey::new(*b"a key of at least sixteen bytes")?;
/// let mut store = SqliteStore::open_with(dir.join("audit.db"), key, Default::default(), Default::default())?;
/// store.sign_with(signing.clone());
/// store.append(&[AuditRecord::new(EventType::Authentication, "login")])?;
/// store.checkpoint(CheckpointKind::Shutdown)?;
/// // The investigator holds only the public key.
/// let report = Verifier::new().public_key(signing.public_key()).verify(dir.join("audit.db"))?;
/// assert!(report.is_ok(), "{report}");
/// assert_eq!(report.signers[0].id, signing.public_key().id());
/// # std::fs::remove_dir_all(&dir)?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Debug, Default)]
pub struct Verifier {
    hmac: Option<AuditKey>,
    public_keys: Vec<PublicKey>,
    witnesses: Vec<SignedCheckpoint>,
}

impl Verifier {
    /// A verifier with no keys yet.
    pub fn new() -> Self {
        Verifier::default()
    }

    /// Checks HMAC-signed checkpoints with `key`.
    pub fn hmac_key(mut self, key: AuditKey) -> Self {
        self.hmac = Some(key);
        self
    }

    /// Trusts Ed25519 checkpoints signed by `key` (and, once one key is
    /// given, no others).
    pub fn public_key(mut self, key: PublicKey) -> Self {
        self.public_keys.push(key);
        self
    }

    /// Holds the store to these checkpoints, kept off the host
    /// ([`read_witness_file`](crate::read_witness_file)). Checkpoints of other
    /// streams are ignored.
    pub fn witness(mut self, checkpoints: impl IntoIterator<Item = SignedCheckpoint>) -> Self {
        self.witnesses.extend(checkpoints);
        self
    }

    /// Verifies the SQLite store at `path`: every stream (one per process
    /// that wrote it) as a chain of its own, each reported in
    /// [`VerifyReport::streams`].
    #[cfg(feature = "sqlite")]
    #[cfg_attr(docsrs, doc(cfg(feature = "sqlite")))]
    pub fn verify(&self, path: impl AsRef<Path>) -> Result<VerifyReport, AuditError> {
        let path = path.as_ref();
        let reader = StoreReader::open(path)?;
        let mut chains = crate::sqlite::SqliteChains::new(reader.connection(), path);
        let reports = self.verify_store(&mut chains)?;
        Ok(VerifyReport::of_streams(reports.streams))
    }

    /// Verifies the JSON Lines audit files whose current file is `path`
    /// (written by [`JsonlSink`](crate::JsonlSink)): the chain across its
    /// rotations (`<path>.<UTC time>`, oldest first) and the checkpoint
    /// lines among them.
    pub fn verify_jsonl(&self, path: impl AsRef<Path>) -> Result<VerifyReport, AuditError> {
        let mut chains = crate::jsonl::JsonlChains::open(path.as_ref())?;
        let reports = self.verify_store(&mut chains)?;
        Ok(reports
            .streams
            .into_iter()
            .next()
            .map(|(_, report)| report)
            .unwrap_or_default())
    }

    /// Verifies every stream of the PostgreSQL store at `target` (one per
    /// writer), each as a chain of its own. A stream's checkpoints must be
    /// signed by a trusted key; without [`public_key`](Self::public_key)s,
    /// by one of the keys its writers recorded with the stream.
    #[cfg(feature = "postgres")]
    #[cfg_attr(docsrs, doc(cfg(feature = "postgres")))]
    pub fn verify_postgres(&self, target: &str) -> Result<StreamReports, AuditError> {
        self.verify_store(&mut crate::PostgresStore::open(target)?)
    }

    /// Verifies every stream of any [`ChainStore`]: its checkpoints'
    /// signatures, each stream's chain from its anchor, and the chain
    /// against the signed and witnessed checkpoints. The SQLite, JSON Lines
    /// and PostgreSQL verifications are this one over their stores.
    pub fn verify_store(&self, store: &mut dyn ChainStore) -> Result<StreamReports, AuditError> {
        let mut streams = Vec::new();
        for stream in store.streams()? {
            let mut report = VerifyReport::default();
            let recorded = store.recorded_keys(&stream)?;
            let stored = store.checkpoints(&stream)?;
            report.checkpoints = stored.len() as u64;
            let trusted = self.check_signatures(stored, &recorded, &mut report);
            let anchor = trusted
                .last()
                .filter(|c| store.purges() && c.anchor_seq > 0)
                .map_or((1, GENESIS), |c| (c.anchor_seq, c.anchor_hash));
            let mut chain = Chain::new(anchor.0, anchor.1);
            store.walk(&stream, &mut |seq, record, prev_hash, hash| {
                let intact = record.is_some_and(|r| link(&prev_hash, r) == hash);
                chain.add(seq, intact, prev_hash, hash, &mut report);
            })?;
            self.hold(&chain, &trusted, &stream, &mut report);
            streams.push((stream, report));
        }
        Ok(StreamReports { streams })
    }

    /// Holds the walked chain to what the signed and witnessed checkpoints
    /// say.
    fn hold(
        &self,
        chain: &Chain,
        trusted: &[TrustedCheckpoint],
        stream: &str,
        report: &mut VerifyReport,
    ) {
        let anchor_seq = chain.anchor_seq;
        let latest = trusted.last();
        let mut truncated_to = None;
        for (id, checkpoint) in trusted.iter().map(|c| (Some(c.id), &c.checkpoint)).chain(
            self.witnesses
                .iter()
                .filter(|w| w.checkpoint.stream == stream || w.checkpoint.stream.is_empty())
                .map(|w| (None, &w.checkpoint)),
        ) {
            if checkpoint.last_seq < anchor_seq || checkpoint.last_seq == 0 {
                continue; // covers only purged records
            }
            match (chain.hashes.get(&checkpoint.last_seq), id) {
                (Some(hash), None) if *hash == checkpoint.head => report.witnessed += 1,
                (Some(hash), _) if *hash == checkpoint.head => {}
                (Some(_), Some(id)) => report.problems.push(Problem::CheckpointMismatch {
                    id,
                    last_seq: checkpoint.last_seq,
                }),
                (Some(_), None) => report.problems.push(Problem::WitnessMismatch {
                    last_seq: checkpoint.last_seq,
                    at_us: checkpoint.at_us,
                }),
                (None, _) if chain.last_seq.is_none_or(|l| l < checkpoint.last_seq) => {
                    truncated_to = truncated_to.max(Some(checkpoint.last_seq));
                }
                (None, _) => {} // a deletion in the middle, reported by the walk
            }
        }
        if let Some(checkpoint_last_seq) = truncated_to {
            report.problems.push(Problem::TailTruncated {
                checkpoint_last_seq,
                last_seq: chain.last_seq,
            });
        }
        if chain.first_seq.is_none() && anchor_seq > 1 && latest.is_some_and(|c| c.count > 0) {
            report.problems.push(Problem::HeadDeleted {
                expected_first_seq: anchor_seq,
                first_seq: None,
            });
        }
        let covered = latest.map_or(0, |c| c.last_seq);
        report.unverified_tail = chain.hashes.keys().filter(|&&seq| seq > covered).count() as u64;
    }

    /// Checks each checkpoint's signature; the valid ones, oldest first.
    fn check_signatures(
        &self,
        stored: Vec<(i64, Option<SignedCheckpoint>)>,
        recorded: &[PublicKey],
        report: &mut VerifyReport,
    ) -> Vec<TrustedCheckpoint> {
        let mut trusted = Vec::new();
        for (id, signed) in stored {
            let Some(signed) = signed else {
                report.problems.push(Problem::ForgedCheckpoint { id });
                continue;
            };
            let trust = match &signed.signature {
                CheckpointSignature::Hmac(_) => match &self.hmac {
                    None => {
                        report.unchecked_checkpoints += 1;
                        continue;
                    }
                    Some(key) if signed.verify_hmac(key) => SignerTrust::SecretKey,
                    Some(_) => {
                        report.problems.push(Problem::ForgedCheckpoint { id });
                        continue;
                    }
                },
                CheckpointSignature::Ed25519 { public_key, .. } => {
                    if !signed.verify_ed25519() {
                        report.problems.push(Problem::ForgedCheckpoint { id });
                        continue;
                    }
                    if self.public_keys.is_empty()
                        && (recorded.is_empty() || recorded.contains(public_key))
                    {
                        SignerTrust::RecordedInStore
                    } else if self.public_keys.contains(public_key) {
                        SignerTrust::TrustedPublicKey
                    } else {
                        report.problems.push(Problem::UntrustedSigner {
                            id,
                            signer: public_key.id(),
                        });
                        continue;
                    }
                }
            };
            let signer = signed.signature.signer();
            match report.signers.iter_mut().find(|s| s.id == signer) {
                Some(s) => {
                    s.checkpoints += 1;
                    s.last_seq = s.last_seq.max(signed.checkpoint.last_seq);
                }
                None => report.signers.push(Signer {
                    id: signer,
                    trust,
                    checkpoints: 1,
                    last_seq: signed.checkpoint.last_seq,
                }),
            }
            trusted.push(TrustedCheckpoint {
                id,
                checkpoint: signed.checkpoint,
            });
        }
        report.valid_checkpoints = trusted.len() as u64;
        if report.checkpoints > 0 && trusted.is_empty() && report.unchecked_checkpoints > 0 {
            report.problems.push(Problem::Unchecked {
                checkpoints: report.unchecked_checkpoints,
            });
        }
        trusted
    }
}

/// What `verify` found in each stream of a store many writers share.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct StreamReports {
    /// Each stream's name and report, in name order.
    pub streams: Vec<(String, VerifyReport)>,
}

impl StreamReports {
    /// Whether every stream is intact.
    pub fn is_ok(&self) -> bool {
        self.streams.iter().all(|(_, r)| r.is_ok())
    }
}

impl fmt::Display for StreamReports {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (stream, report) in &self.streams {
            writeln!(f, "stream {stream}:")?;
            for line in report.to_string().lines() {
                writeln!(f, "  {line}")?;
            }
        }
        let failed = self.streams.iter().filter(|(_, r)| !r.is_ok()).count();
        if failed == 0 {
            write!(f, "{} streams: OK", self.streams.len())
        } else {
            write!(f, "{} streams: {failed} FAILED", self.streams.len())
        }
    }
}

/// A checkpoint whose signature holds, and its row id.
#[derive(Clone, Debug)]
struct TrustedCheckpoint {
    id: i64,
    checkpoint: Checkpoint,
}

impl std::ops::Deref for TrustedCheckpoint {
    type Target = Checkpoint;
    fn deref(&self) -> &Checkpoint {
        &self.checkpoint
    }
}

/// The chain as the walk over its records found it.
struct Chain {
    anchor_seq: i64,
    anchor_hash: Hash,
    previous: Option<(i64, Hash)>,
    first_seq: Option<i64>,
    last_seq: Option<i64>,
    hashes: std::collections::HashMap<i64, Hash>,
}

impl Chain {
    /// A chain that should start at `anchor_seq`, linked to `anchor_hash`.
    fn new(anchor_seq: i64, anchor_hash: Hash) -> Self {
        Chain {
            anchor_seq,
            anchor_hash,
            previous: None,
            first_seq: None,
            last_seq: None,
            hashes: std::collections::HashMap::new(),
        }
    }

    /// Takes the next record: its number, whether its content matches its
    /// hash, the hash it says it links to, and its hash.
    fn add(
        &mut self,
        seq: i64,
        intact: bool,
        prev_hash: Hash,
        stored: Hash,
        report: &mut VerifyReport,
    ) {
        report.records += 1;
        self.first_seq.get_or_insert(seq);
        self.last_seq = Some(seq);
        let mut ok = intact;
        if !intact {
            report.problems.push(Problem::Edited { seq });
        }
        match self.previous {
            None => {
                // The first record left after a deleted head is intact
                // itself: the problem is the records before it.
                if seq != self.anchor_seq || prev_hash != self.anchor_hash {
                    report.problems.push(Problem::HeadDeleted {
                        expected_first_seq: self.anchor_seq,
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
        self.hashes.insert(seq, stored);
        self.previous = Some((seq, stored));
    }
}
