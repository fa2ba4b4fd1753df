//! JSON Lines audit files: a hash chain across rotations, and signed
//! checkpoints in the same files.

use std::fs::{self, File, OpenOptions};
use std::io::{self, BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime};

use serde_json::Value;

use crate::chain::{
    AuditKey, Checkpoint, CheckpointKind, CheckpointSigner, GENESIS, Hash, SignedCheckpoint,
    decode_hex, encode_hex, link,
};
use crate::chain_store::{ChainStore, EachRecord, StoredCheckpoint};
use crate::checkpoint_policy::CheckpointPolicy;
use crate::error::AuditError;
use crate::record::{AuditRecord, micros_since_epoch};
use crate::signing::SigningKey;
use crate::sink::{AuditSink, SinkError};
use crate::witness::{CheckpointWitness, Witnesses};

/// JSON Lines files: one record per line, with `seq`, `prev_hash` and
/// `hash` chaining each line to the one before (across rotations), rotated
/// when a file reaches a size or an age. Given a key, the sink also writes
/// signed checkpoint lines (`"type":"audit.checkpoint"`), and `warden audit
/// verify --db FILE` checks the files as it checks a SQLite store.
///
/// ```
/// use std::time::Duration;
/// use warden_audit::{JsonlSink, SigningKey, Verifier};
/// # let dir = std::env::temp_dir().join(format!("warden-doc-{}-{}", std::process::id(), line!()));
/// # std::fs::create_dir_all(&dir)?;
/// let signing = SigningKey::generate();
/// let sink = JsonlSink::open(dir.join("audit.jsonl"))?
///     .rotate_at_size(64 * 1024 * 1024)
///     .rotate_every(Duration::from_secs(86_400))
///     .signing_key(signing.clone());
/// # drop(sink);
/// let report = Verifier::new().public_key(signing.public_key()).verify_jsonl(dir.join("audit.jsonl"))?;
/// assert!(report.is_ok(), "{report}");
/// # std::fs::remove_dir_all(&dir)?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct JsonlSink {
    path: PathBuf,
    file: File,
    size: u64,
    opened: Instant,
    max_bytes: Option<u64>,
    max_age: Option<Duration>,
    /// The last record's sequence number (0: none) and hash.
    seq: i64,
    head: Hash,
    stream: String,
    signer: Option<CheckpointSigner>,
    policy: CheckpointPolicy,
    since_checkpoint: u64,
    last_checkpoint: Instant,
    witnesses: Witnesses,
}

impl std::fmt::Debug for JsonlSink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JsonlSink")
            .field("path", &self.path)
            .field("seq", &self.seq)
            .field("stream", &self.stream)
            .finish_non_exhaustive()
    }
}

impl JsonlSink {
    /// Appends to `path` (created if missing), never rotating, without
    /// checkpoints; continues the chain from the last record line (of the
    /// newest rotated file if `path` has none yet).
    pub fn open(path: impl AsRef<Path>) -> Result<Self, AuditError> {
        let path = path.as_ref().to_owned();
        let end = chain_end(&path)?;
        let file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .map_err(|e| AuditError::io(&path, e))?;
        let size = file.metadata().map_err(|e| AuditError::io(&path, e))?.len();
        Ok(JsonlSink {
            path,
            file,
            size,
            opened: Instant::now(),
            max_bytes: None,
            max_age: None,
            seq: end.seq,
            head: end.head,
            stream: end.stream.unwrap_or_else(|| {
                format!("jsonl-{}", &uuid::Uuid::new_v4().simple().to_string()[..16])
            }),
            signer: None,
            policy: CheckpointPolicy::default(),
            since_checkpoint: 0,
            last_checkpoint: Instant::now(),
            witnesses: Witnesses::default(),
        })
    }

    /// Rotates when the file would grow past `bytes`.
    pub fn rotate_at_size(mut self, bytes: u64) -> Self {
        self.max_bytes = Some(bytes.max(1));
        self
    }

    /// Rotates when the file has been written to for `age`.
    pub fn rotate_every(mut self, age: Duration) -> Self {
        self.max_age = Some(age);
        self
    }

    /// Writes checkpoints HMAC-signed with `key` (checked with the same key).
    pub fn checkpoint_key(mut self, key: AuditKey) -> Self {
        self.signer = Some(CheckpointSigner::Hmac(key));
        self
    }

    /// Writes checkpoints signed with `key` (Ed25519), checked with its
    /// public key alone.
    pub fn signing_key(mut self, key: SigningKey) -> Self {
        self.signer = Some(CheckpointSigner::Ed25519(key));
        self
    }

    /// How often checkpoints are written (default: every 1,000 records or
    /// 60 seconds), besides one when the sink is closed.
    pub fn checkpoints(mut self, policy: CheckpointPolicy) -> Self {
        self.policy = policy;
        self
    }

    /// Sends each checkpoint to `witness` too.
    pub fn witness(mut self, witness: impl CheckpointWitness) -> Self {
        self.witnesses.add(Box::new(witness));
        self
    }

    /// The name of the files' hash chain, which their checkpoints carry.
    pub fn stream(&self) -> &str {
        &self.stream
    }

    /// Renames the current file to `<path>.<UTC time>` and starts a new one.
    fn rotate(&mut self) -> io::Result<()> {
        self.file.sync_all()?;
        let mut stamp = String::new();
        warden_core::internal::rfc3339_micros(&mut stamp, SystemTime::now());
        let stamp: String = stamp.chars().filter(char::is_ascii_alphanumeric).collect();
        // Never rename over an earlier rotation.
        let rotated = (0u32..)
            .map(|n| {
                let mut name = self.path.as_os_str().to_owned();
                name.push(if n == 0 {
                    format!(".{stamp}")
                } else {
                    format!(".{stamp}-{n}")
                });
                PathBuf::from(name)
            })
            .find(|candidate| !candidate.exists())
            .unwrap_or_else(|| self.path.with_extension("rotated"));
        fs::rename(&self.path, rotated)?;
        self.file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.path)?;
        self.size = 0;
        self.opened = Instant::now();
        Ok(())
    }

    /// Writes a signed checkpoint line, if the sink has a key.
    fn checkpoint(&mut self, kind: CheckpointKind) -> Result<(), SinkError> {
        let Some(signer) = &self.signer else {
            return Ok(());
        };
        let signed = signer.sign(Checkpoint {
            stream: self.stream.clone(),
            at_us: micros_since_epoch(SystemTime::now()),
            kind,
            last_seq: self.seq,
            head: self.head,
            count: self.seq,
            anchor_seq: 1,
            anchor_hash: GENESIS,
        });
        let mut line = signed.to_json().to_string();
        line.push('\n');
        self.file.write_all(line.as_bytes())?;
        self.file.sync_data()?;
        self.size += line.len() as u64;
        self.since_checkpoint = 0;
        self.last_checkpoint = Instant::now();
        self.witnesses.send(&signed, &self.path);
        Ok(())
    }
}

/// Where a chain of JSONL files ends.
struct ChainEnd {
    seq: i64,
    head: Hash,
    stream: Option<String>,
}

/// The files of the chain whose current file is `path`: its rotations
/// (`<path>.<UTC time>`), oldest first, then `path` itself if it exists.
/// The JSON Lines files of one sink as a [`ChainStore`]: one stream (named
/// by its checkpoints), across the rotated files oldest first, read once
/// for the checkpoints and once for the records.
pub(crate) struct JsonlChains {
    files: Vec<PathBuf>,
    stream: String,
    checkpoints: Vec<StoredCheckpoint>,
}

impl JsonlChains {
    /// The files whose current one is `path` (an error if there is none).
    pub(crate) fn open(path: &Path) -> Result<Self, AuditError> {
        let files = chain_files(path)?;
        if files.is_empty() {
            return Err(AuditError::io(
                path,
                std::io::Error::from(std::io::ErrorKind::NotFound),
            ));
        }
        let (mut stream, mut checkpoints) = (String::new(), Vec::new());
        for file in &files {
            read_lines(file, |line| {
                if let Line::Checkpoint(checkpoint) = line {
                    if let Some(c) = &checkpoint {
                        stream.clone_from(&c.checkpoint.stream);
                    }
                    checkpoints.push((checkpoints.len() as i64 + 1, checkpoint));
                }
                Ok(())
            })?;
        }
        Ok(JsonlChains {
            files,
            stream,
            checkpoints,
        })
    }
}

impl ChainStore for JsonlChains {
    fn streams(&mut self) -> Result<Vec<String>, AuditError> {
        Ok(vec![self.stream.clone()])
    }

    fn checkpoints(&mut self, _stream: &str) -> Result<Vec<StoredCheckpoint>, AuditError> {
        Ok(std::mem::take(&mut self.checkpoints))
    }

    fn walk(&mut self, _stream: &str, each: &mut EachRecord<'_>) -> Result<(), AuditError> {
        // Older files do not number their records: counted from 1.
        let mut count = 0i64;
        for file in &self.files {
            read_lines(file, |line| {
                if let Line::Record {
                    seq,
                    record,
                    prev_hash,
                    hash,
                } = line
                {
                    count += 1;
                    let seq = seq.unwrap_or(count);
                    count = seq;
                    let (prev_hash, hash) =
                        (prev_hash.unwrap_or_default(), hash.unwrap_or_default());
                    each(seq, record.as_ref(), prev_hash, hash);
                }
                Ok(())
            })?;
        }
        Ok(())
    }

    /// A JSON Lines chain is never purged: it starts at the genesis.
    fn purges(&self) -> bool {
        false
    }
}

pub(crate) fn chain_files(path: &Path) -> Result<Vec<PathBuf>, AuditError> {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_owned(),
        _ => PathBuf::from("."),
    };
    let Some(name) = path.file_name().and_then(|n| n.to_str()) else {
        return Ok(vec![path.to_owned()]);
    };
    let prefix = format!("{name}.");
    let mut rotated: Vec<PathBuf> = match fs::read_dir(&dir) {
        Ok(entries) => entries
            .filter_map(Result::ok)
            .filter(|e| {
                e.file_name().to_str().is_some_and(|n| {
                    n.strip_prefix(&prefix)
                        .is_some_and(|rest| rest.starts_with(|c: char| c.is_ascii_digit()))
                })
            })
            .map(|e| e.path())
            .collect(),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Vec::new(),
        Err(e) => return Err(AuditError::io(&dir, e)),
    };
    // The UTC stamps sort in time order; `-N` suffixes after their stamp.
    rotated.sort();
    if path.exists() {
        rotated.push(path.to_owned());
    }
    Ok(rotated)
}

/// One line of a JSONL audit file.
pub(crate) enum Line {
    /// A record: its sequence number if it says (older files do not), the
    /// record if it parses, and the two hashes.
    Record {
        seq: Option<i64>,
        record: Option<AuditRecord>,
        prev_hash: Option<Hash>,
        hash: Option<Hash>,
    },
    /// A checkpoint (`None` if it does not parse).
    Checkpoint(Option<SignedCheckpoint>),
}

/// Reads each line of `file`.
pub(crate) fn read_lines(
    file: &Path,
    mut each: impl FnMut(Line) -> Result<(), AuditError>,
) -> Result<(), AuditError> {
    let reader = BufReader::new(File::open(file).map_err(|e| AuditError::io(file, e))?);
    for line in reader.lines() {
        let line = line.map_err(|e| AuditError::io(file, e))?;
        if line.trim().is_empty() {
            continue;
        }
        let value: Value = serde_json::from_str(&line).unwrap_or(Value::Null);
        if value["type"] == "audit.checkpoint" {
            each(Line::Checkpoint(SignedCheckpoint::from_json(&value).ok()))?;
            continue;
        }
        let hash = |name: &str| -> Option<Hash> {
            decode_hex(value.get(name)?.as_str()?)?.try_into().ok()
        };
        each(Line::Record {
            seq: value.get("seq").and_then(Value::as_i64),
            prev_hash: hash("prev_hash"),
            hash: hash("hash"),
            record: serde_json::from_value(value).ok(),
        })?;
    }
    Ok(())
}

/// The last record (and stream) of the chain ending at `path`.
fn chain_end(path: &Path) -> Result<ChainEnd, AuditError> {
    let mut end = ChainEnd {
        seq: 0,
        head: GENESIS,
        stream: None,
    };
    // The newest file with a record in it says where the chain ends; the
    // files are read newest first until one does.
    for file in chain_files(path)?.iter().rev() {
        let mut count = 0i64;
        let mut last = None;
        read_lines(file, |line| {
            match line {
                Line::Record { seq, hash, .. } => {
                    count += 1;
                    if let Some(hash) = hash {
                        last = Some((seq, hash, count));
                    }
                }
                Line::Checkpoint(Some(c)) => {
                    end.stream.get_or_insert(c.checkpoint.stream);
                }
                Line::Checkpoint(None) => {}
            }
            Ok(())
        })?;
        if let Some((seq, hash, n)) = last {
            end.seq = seq.unwrap_or(n);
            end.head = hash;
            break;
        }
    }
    Ok(end)
}

impl AuditSink for JsonlSink {
    fn name(&self) -> String {
        format!("jsonl:{}", self.path.display())
    }

    fn write(&mut self, records: &[AuditRecord]) -> Result<(), SinkError> {
        let mut buffer = Vec::with_capacity(records.len() * 512);
        let mut head = self.head;
        let mut seq = self.seq;
        for record in records {
            seq += 1;
            let hash = link(&head, record);
            // The record's object, with the chain's members spliced in
            // before its closing brace.
            serde_json::to_writer(&mut buffer, record)?;
            buffer.pop();
            buffer.extend_from_slice(format!(",\"seq\":{seq},\"prev_hash\":\"").as_bytes());
            buffer.extend_from_slice(encode_hex(&head).as_bytes());
            buffer.extend_from_slice(b"\",\"hash\":\"");
            buffer.extend_from_slice(encode_hex(&hash).as_bytes());
            buffer.extend_from_slice(b"\"}\n");
            head = hash;
        }
        let too_big = self
            .max_bytes
            .is_some_and(|max| self.size > 0 && self.size + buffer.len() as u64 > max);
        let too_old = self
            .max_age
            .is_some_and(|age| self.size > 0 && self.opened.elapsed() >= age);
        if too_big || too_old {
            self.rotate()?;
        }
        self.file.write_all(&buffer)?;
        self.file.sync_data()?;
        self.size += buffer.len() as u64;
        self.head = head;
        self.seq = seq;
        self.since_checkpoint += records.len() as u64;
        if self.since_checkpoint >= self.policy.every_records {
            self.checkpoint(CheckpointKind::Periodic)?;
        }
        Ok(())
    }

    fn tick(&mut self) -> Result<(), SinkError> {
        if self.since_checkpoint > 0 && self.last_checkpoint.elapsed() >= self.policy.every {
            self.checkpoint(CheckpointKind::Periodic)?;
        }
        Ok(())
    }

    fn close(&mut self) -> Result<(), SinkError> {
        self.checkpoint(CheckpointKind::Shutdown)?;
        Ok(self.file.sync_all()?)
    }
}
