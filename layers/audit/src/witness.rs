//! Witnesses: each checkpoint also kept somewhere the store's host cannot
//! rewrite, so that a store rewritten and re-signed with a stolen key is
//! still caught (`warden audit verify --witness FILE`).

use std::fs;
use std::io::{BufRead as _, Write as _};
use std::path::{Path, PathBuf};

use serde_json::{Value, json};

use crate::chain::{
    Checkpoint, CheckpointKind, CheckpointSignature, Hash, SignedCheckpoint, decode_hex, encode_hex,
};
use crate::error::AuditError;
use crate::signing::PublicKey;
use crate::sink::SinkError;

/// Somewhere each checkpoint is also sent as the store signs it: a file on
/// another volume or host, a log pipeline (`warden_otlp`'s exporter sends
/// them as `audit.checkpoint` log records), a notary.
///
/// A witness that fails is reported once on stderr and counted; the store
/// goes on (its own checkpoint is already written).
///
/// ```
/// use warden_audit::{CheckpointWitness, SignedCheckpoint, SinkError};
///
/// /// Keeps the checkpoints in memory.
/// struct Notary(Vec<SignedCheckpoint>);
///
/// impl CheckpointWitness for Notary {
///     fn name(&self) -> String {
///         "notary".into()
///     }
///     fn witness(&mut self, checkpoint: &SignedCheckpoint) -> Result<(), SinkError> {
///         self.0.push(checkpoint.clone());
///         Ok(())
///     }
/// }
/// ```
pub trait CheckpointWitness: Send + 'static {
    /// A name for error messages.
    fn name(&self) -> String;
    /// Keeps `checkpoint`.
    fn witness(&mut self, checkpoint: &SignedCheckpoint) -> Result<(), SinkError>;
}

impl std::fmt::Debug for dyn CheckpointWitness {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.name())
    }
}

/// The witnesses of one store, and how often each failed.
#[derive(Default)]
pub(crate) struct Witnesses {
    slots: Vec<(Box<dyn CheckpointWitness>, u64)>,
}

impl Witnesses {
    pub(crate) fn add(&mut self, witness: Box<dyn CheckpointWitness>) {
        self.slots.push((witness, 0));
    }

    /// Sends `signed` to every witness; a failure is reported once per
    /// witness on stderr (naming the store at `origin`), and counted.
    pub(crate) fn send(&mut self, signed: &SignedCheckpoint, origin: &Path) {
        for (witness, failures) in &mut self.slots {
            if let Err(e) = witness.witness(signed) {
                if *failures == 0 {
                    eprintln!(
                        "warden-audit: {}: {}: checkpoint of record {} not witnessed: {e}",
                        origin.display(),
                        witness.name(),
                        signed.checkpoint.last_seq
                    );
                }
                *failures += 1;
            }
        }
    }

    /// How many checkpoints the witnesses failed to take.
    #[cfg_attr(not(feature = "sqlite"), allow(dead_code))]
    pub(crate) fn failures(&self) -> u64 {
        self.slots.iter().map(|(_, n)| n).sum()
    }
}

/// A witness that appends each checkpoint as a JSON line to a file (put it
/// on storage the store's host cannot rewrite: another volume, a mounted
/// append-only bucket, a log shipper's input). `warden audit verify
/// --witness FILE` reads it back.
///
/// ```
/// use warden_audit::{JsonlWitness, SigningKey, SqliteSink};
/// # let dir = std::env::temp_dir().join(format!("warden-doc-{}-{}", std::process::id(), line!()));
/// # std::fs::create_dir_all(&dir)?;
/// let sink = SqliteSink::builder(dir.join("audit.db"))
///     .signing_key(SigningKey::generate())
///     .witness(JsonlWitness::open(dir.join("witness.jsonl"))?)
///     .build()?;
/// # drop(sink);
/// # std::fs::remove_dir_all(&dir)?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug)]
pub struct JsonlWitness {
    path: PathBuf,
    file: fs::File,
}

impl JsonlWitness {
    /// Appends to `path` (created if missing).
    pub fn open(path: impl AsRef<Path>) -> Result<Self, AuditError> {
        let path = path.as_ref().to_owned();
        let file = fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .map_err(|e| AuditError::io(&path, e))?;
        Ok(JsonlWitness { path, file })
    }
}

impl CheckpointWitness for JsonlWitness {
    fn name(&self) -> String {
        format!("witness {}", self.path.display())
    }

    fn witness(&mut self, checkpoint: &SignedCheckpoint) -> Result<(), SinkError> {
        let mut line = checkpoint.to_json().to_string();
        line.push('\n');
        self.file.write_all(line.as_bytes())?;
        self.file.sync_data()?;
        Ok(())
    }
}

/// The checkpoints in a witness file ([`JsonlWitness`]'s lines, or any
/// JSON lines with the same fields: an export of `audit.checkpoint` log
/// records). Lines without `"type":"audit.checkpoint"` are skipped.
pub fn read_witness_file(path: impl AsRef<Path>) -> Result<Vec<SignedCheckpoint>, AuditError> {
    let path = path.as_ref();
    let file = fs::File::open(path).map_err(|e| AuditError::io(path, e))?;
    let mut checkpoints = Vec::new();
    for (n, line) in std::io::BufReader::new(file).lines().enumerate() {
        let line = line.map_err(|e| AuditError::io(path, e))?;
        if line.trim().is_empty() {
            continue;
        }
        let bad = |reason: String| AuditError::BadWitness {
            path: path.to_owned(),
            line: n + 1,
            reason,
        };
        let value: Value = serde_json::from_str(&line).map_err(|e| bad(e.to_string()))?;
        if value["type"] != "audit.checkpoint" {
            continue;
        }
        checkpoints.push(SignedCheckpoint::from_json(&value).map_err(bad)?);
    }
    Ok(checkpoints)
}

impl SignedCheckpoint {
    /// The checkpoint as one JSON object, as witnesses keep it.
    pub fn to_json(&self) -> Value {
        let c = &self.checkpoint;
        let mut value = json!({
            "type": "audit.checkpoint",
            "stream": c.stream,
            "at_us": c.at_us,
            "kind": c.kind.as_str(),
            "last_seq": c.last_seq,
            "head": encode_hex(&c.head),
            "count": c.count,
            "anchor_seq": c.anchor_seq,
            "anchor_hash": encode_hex(&c.anchor_hash),
            "algorithm": self.signature.algorithm(),
            "signature": encode_hex(self.signature.bytes()),
        });
        if let CheckpointSignature::Ed25519 { public_key, .. } = &self.signature {
            value["public_key"] = Value::from(public_key.to_hex());
        }
        value
    }

    /// A checkpoint from [`to_json`](Self::to_json)'s form.
    pub fn from_json(value: &Value) -> Result<Self, String> {
        let text = |name: &str| {
            value[name]
                .as_str()
                .ok_or_else(|| format!("no text field {name:?}"))
        };
        let number = |name: &str| {
            value[name]
                .as_i64()
                .ok_or_else(|| format!("no integer field {name:?}"))
        };
        let hash = |name: &str| -> Result<Hash, String> {
            decode_hex(text(name)?)
                .and_then(|b| b.try_into().ok())
                .ok_or_else(|| format!("{name:?} is not a 32-byte hash in hex"))
        };
        let checkpoint = Checkpoint {
            stream: text("stream")?.to_owned(),
            at_us: number("at_us")?,
            kind: CheckpointKind::parse(text("kind")?).ok_or("unknown checkpoint kind")?,
            last_seq: number("last_seq")?,
            head: hash("head")?,
            count: number("count")?,
            anchor_seq: number("anchor_seq")?,
            anchor_hash: hash("anchor_hash")?,
        };
        let signature_bytes = decode_hex(text("signature")?).ok_or("\"signature\" is not hex")?;
        let signature = match text("algorithm")? {
            "hmac-sha256" => CheckpointSignature::Hmac(signature_bytes),
            "ed25519" => CheckpointSignature::Ed25519 {
                public_key: PublicKey::from_hex(text("public_key")?)?,
                signature: signature_bytes,
            },
            other => return Err(format!("unknown algorithm {other:?}")),
        };
        Ok(SignedCheckpoint::new(checkpoint, signature))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::chain::CheckpointSigner;
    use crate::signing::SigningKey;

    #[test]
    fn checkpoints_round_trip_through_json_and_still_verify() {
        let checkpoint = Checkpoint {
            stream: "sqlite-1".into(),
            at_us: 1,
            kind: CheckpointKind::Periodic,
            last_seq: 10,
            head: [7; 32],
            count: 10,
            anchor_seq: 1,
            anchor_hash: [0; 32],
        };
        let signed = CheckpointSigner::Ed25519(SigningKey::generate()).sign(checkpoint);
        assert!(signed.verify_ed25519());
        let back = SignedCheckpoint::from_json(&signed.to_json()).unwrap();
        assert_eq!(back, signed);
        assert!(back.verify_ed25519());
        let mut edited = back.clone();
        edited.checkpoint.last_seq = 11;
        assert!(!edited.verify_ed25519(), "the signature covers every field");
        let mut restreamed = back;
        restreamed.checkpoint.stream = "sqlite-2".into();
        assert!(!restreamed.verify_ed25519(), "and the stream");
    }
}
