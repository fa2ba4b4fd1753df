//! Tamper evidence: records chained by SHA-256, checkpoints signed with
//! HMAC-SHA256, and the key that signs them.

use std::fs;
use std::io::Write as _;
use std::path::{Path, PathBuf};

use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};

use crate::error::AuditError;

/// A stored hash column as a hash (a wrong length reads as zeros, which no
/// chain links to).
#[cfg_attr(not(any(feature = "sqlite", feature = "postgres")), allow(dead_code))]
pub(crate) fn hash_of(bytes: Vec<u8>) -> Hash {
    let mut hash = [0u8; 32];
    if bytes.len() == 32 {
        hash.copy_from_slice(&bytes);
    }
    hash
}
use crate::record::AuditRecord;
use crate::signing::{PublicKey, SigningKey};

/// A SHA-256 digest.
pub type Hash = [u8; 32];

/// The `prev_hash` of the first record of a store.
pub const GENESIS: Hash = [0; 32];

/// The hash of `record` chained to `prev`: SHA-256(prev ‖ canonical bytes).
pub fn link(prev: &Hash, record: &AuditRecord) -> Hash {
    let mut hasher = Sha256::new();
    hasher.update(prev);
    hasher.update(record.canonical_bytes());
    hasher.finalize().into()
}

/// The secret that signs checkpoints and keys the hash of client IPs.
///
/// At least 16 bytes. Where it comes from, in order: the builder
/// ([`AuditKey::new`]); `WARDEN_AUDIT_KEY`; a key file beside the SQLite
/// store (`audit.db.key`, created with 32 random bytes and mode 0600 if
/// absent). Keep the key file away from the store's backups: whoever holds
/// both can rewrite history undetected.
///
/// ```
/// use warden_audit::AuditKey;
///
/// let key = AuditKey::new(*b"a key of at least sixteen bytes")?;
/// // Client IPs are stored as keyed hashes: stable, so still joinable.
/// assert_eq!(key.hash_ip("203.0.113.9"), key.hash_ip("203.0.113.9"));
/// assert!(AuditKey::new(*b"too short").is_err());
/// # Ok::<(), warden_audit::AuditError>(())
/// ```
#[derive(Clone)]
pub struct AuditKey {
    bytes: Vec<u8>,
}

impl std::fmt::Debug for AuditKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("AuditKey(..)")
    }
}

impl AuditKey {
    /// The shortest key accepted, in bytes.
    pub const MIN_LEN: usize = 16;

    /// A key from bytes.
    pub fn new(bytes: impl Into<Vec<u8>>) -> Result<Self, AuditError> {
        let bytes = bytes.into();
        if bytes.len() < Self::MIN_LEN {
            return Err(AuditError::ShortKey(bytes.len()));
        }
        Ok(AuditKey { bytes })
    }

    /// `WARDEN_AUDIT_KEY` if set, else the key file for `store` (created if
    /// it does not exist).
    pub fn for_store(store: &Path) -> Result<Self, AuditError> {
        if let Ok(key) = std::env::var("WARDEN_AUDIT_KEY") {
            return Self::new(key.into_bytes());
        }
        Self::from_file(&key_file(store), true)
    }

    /// The key in `path` (hex); with `create`, a new random key is written
    /// there if the file does not exist.
    pub fn from_file(path: &Path, create: bool) -> Result<Self, AuditError> {
        match fs::read_to_string(path) {
            Ok(text) => Self::new(
                decode_hex(text.trim()).ok_or_else(|| AuditError::BadKeyFile(path.to_owned()))?,
            ),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound && create => {
                let mut bytes = Vec::with_capacity(32);
                bytes.extend_from_slice(uuid::Uuid::new_v4().as_bytes());
                bytes.extend_from_slice(uuid::Uuid::new_v4().as_bytes());
                // Written whole under a name of its own, then linked into
                // place: processes that open a new store together all end
                // up with the one key that got there first, never with a
                // half-written file.
                let mut name = path.as_os_str().to_owned();
                name.push(format!(".tmp-{}", uuid::Uuid::new_v4().simple()));
                let temporary = std::path::PathBuf::from(name);
                let mut options = fs::OpenOptions::new();
                options.write(true).create_new(true);
                #[cfg(unix)]
                std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
                let written = options.open(&temporary).and_then(|mut file| {
                    file.write_all(encode_hex(&bytes).as_bytes())?;
                    file.sync_all()
                });
                let linked = written.and_then(|()| fs::hard_link(&temporary, path));
                let _ = fs::remove_file(&temporary);
                match linked {
                    Ok(()) => Self::new(bytes),
                    Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                        Self::from_file(path, false)
                    }
                    Err(e) => Err(AuditError::io(path, e)),
                }
            }
            Err(e) => Err(AuditError::io(path, e)),
        }
    }

    /// A subkey for one purpose, so that no two uses share a key.
    fn derive(&self, purpose: &str) -> Hmac<Sha256> {
        let mut mac = hmac_with(&self.bytes);
        mac.update(purpose.as_bytes());
        hmac_with(&mac.finalize().into_bytes())
    }

    /// The HMAC of a checkpoint's canonical bytes.
    pub(crate) fn sign(&self, message: &[u8]) -> Hash {
        let mut mac = self.derive("warden-audit checkpoint v1");
        mac.update(message);
        mac.finalize().into_bytes().into()
    }

    /// Whether `tag` is the HMAC of `message` (compared in constant time).
    pub(crate) fn verify(&self, message: &[u8], tag: &[u8]) -> bool {
        let mut mac = self.derive("warden-audit checkpoint v1");
        mac.update(message);
        mac.verify_slice(tag).is_ok()
    }

    /// The keyed hash of a client IP: `hmac:` and 16 hex digits, the same
    /// for the same address, so records stay joinable by client.
    pub fn hash_ip(&self, ip: &str) -> String {
        let mut mac = self.derive("warden-audit client ip v1");
        mac.update(ip.trim().to_ascii_lowercase().as_bytes());
        let tag = mac.finalize().into_bytes();
        format!("hmac:{}", encode_hex(&tag[..8]))
    }

    /// The keyed hash of an identity value (a user ID, an email, any field
    /// an audit layer pseudonymizes): `hmac:` and 16 hex digits, the same
    /// for the same value, so records stay joinable by user, and whoever
    /// holds the key can find a user's records by hashing the user's ID
    /// (`warden audit query --user`). Surrounding space is ignored.
    ///
    /// ```
    /// use warden_audit::AuditKey;
    ///
    /// let key = AuditKey::new(*b"a key of at least sixteen bytes")?;
    /// let ada = key.pseudonym("ada@example.com");
    /// assert!(ada.starts_with("hmac:") && !ada.contains("ada"));
    /// assert_eq!(ada, key.pseudonym(" ada@example.com "));
    /// # Ok::<(), warden_audit::AuditError>(())
    /// ```
    pub fn pseudonym(&self, value: &str) -> String {
        let mut mac = self.derive("warden-audit pseudonym v1");
        mac.update(value.trim().as_bytes());
        let tag = mac.finalize().into_bytes();
        format!("hmac:{}", encode_hex(&tag[..8]))
    }
}

/// An HMAC-SHA256 with `key`, prepared as RFC 2104 says: a key longer than
/// the 64-byte block is hashed first, then zero-padded to the block.
fn hmac_with(key: &[u8]) -> Hmac<Sha256> {
    let mut block = [0u8; 64];
    if key.len() > block.len() {
        block[..32].copy_from_slice(&Sha256::digest(key));
    } else {
        block[..key.len()].copy_from_slice(key);
    }
    <Hmac<Sha256> as Mac>::new(&block.into())
}

/// Where the key of the store at `store` is kept: `<store>.key`.
pub fn key_file(store: &Path) -> PathBuf {
    let mut name = store.as_os_str().to_owned();
    name.push(".key");
    PathBuf::from(name)
}

pub(crate) fn encode_hex(bytes: &[u8]) -> String {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    bytes
        .iter()
        .flat_map(|b| {
            [
                HEX[(b >> 4) as usize] as char,
                HEX[(b & 0xf) as usize] as char,
            ]
        })
        .collect()
}

pub(crate) fn decode_hex(text: &str) -> Option<Vec<u8>> {
    if text.len() % 2 != 0 {
        return None;
    }
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(text.get(i..i + 2)?, 16).ok())
        .collect()
}

/// Why a checkpoint was written.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CheckpointKind {
    /// Every N records or T seconds.
    Periodic,
    /// When the store was closed.
    Shutdown,
    /// After a retention purge: also names the new first record and the
    /// hash it chains to.
    Purge,
}

impl CheckpointKind {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            CheckpointKind::Periodic => "PERIODIC",
            CheckpointKind::Shutdown => "SHUTDOWN",
            CheckpointKind::Purge => "PURGE",
        }
    }

    pub(crate) fn parse(text: &str) -> Option<Self> {
        match text {
            "PERIODIC" => Some(CheckpointKind::Periodic),
            "SHUTDOWN" => Some(CheckpointKind::Shutdown),
            "PURGE" => Some(CheckpointKind::Purge),
            _ => None,
        }
    }
}

/// A statement of the chain's state at one moment, which the store signs.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Checkpoint {
    /// The chain it covers: one per writer (a SQLite file has one).
    pub stream: String,
    /// When it was made (microseconds since the epoch).
    pub at_us: i64,
    /// Why.
    pub kind: CheckpointKind,
    /// The sequence number of the last record covered (0: none yet).
    pub last_seq: i64,
    /// That record's hash ([`GENESIS`] if none).
    pub head: Hash,
    /// How many records the store held then.
    pub count: i64,
    /// The first record kept after purges, and the hash it chains to.
    pub anchor_seq: i64,
    /// See `anchor_seq`.
    pub anchor_hash: Hash,
}

impl Checkpoint {
    /// The bytes an HMAC signature covers (the first format, kept so that
    /// existing stores still verify).
    pub(crate) fn canonical(&self) -> Vec<u8> {
        format!("warden-audit checkpoint v1|{}", self.signed_fields()).into_bytes()
    }

    /// The bytes an Ed25519 signature covers: the signer's public key and
    /// the stream are part of what is signed.
    pub(crate) fn canonical_ed25519(&self, public_key: &PublicKey) -> Vec<u8> {
        format!(
            "warden-audit checkpoint v2|ed25519|{}|{}|{}",
            public_key.to_hex(),
            self.stream,
            self.signed_fields()
        )
        .into_bytes()
    }

    /// The fields both signed forms end with, `|`-separated.
    fn signed_fields(&self) -> String {
        format!(
            "{}|{}|{}|{}|{}|{}|{}",
            self.at_us,
            self.kind.as_str(),
            self.last_seq,
            encode_hex(&self.head),
            self.count,
            self.anchor_seq,
            encode_hex(&self.anchor_hash)
        )
    }
}

/// How a checkpoint is signed.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum CheckpointSignature {
    /// HMAC-SHA256 with the store's secret [`AuditKey`]: only a holder of
    /// that key can check it — and could forge it.
    Hmac(Vec<u8>),
    /// Ed25519: checked with the public key alone.
    Ed25519 {
        /// The key that signed.
        public_key: PublicKey,
        /// The 64-byte signature.
        signature: Vec<u8>,
    },
}

impl CheckpointSignature {
    /// The algorithm's name as stored: `hmac-sha256` or `ed25519`.
    pub fn algorithm(&self) -> &'static str {
        match self {
            CheckpointSignature::Hmac(_) => "hmac-sha256",
            CheckpointSignature::Ed25519 { .. } => "ed25519",
        }
    }

    /// Who signed, for reports: `hmac` (the store's secret key) or the
    /// public key's [`id`](PublicKey::id).
    pub fn signer(&self) -> String {
        match self {
            CheckpointSignature::Hmac(_) => "hmac".into(),
            CheckpointSignature::Ed25519 { public_key, .. } => public_key.id(),
        }
    }

    /// The public key of an Ed25519 signature.
    pub fn public_key(&self) -> Option<&PublicKey> {
        match self {
            CheckpointSignature::Ed25519 { public_key, .. } => Some(public_key),
            CheckpointSignature::Hmac(_) => None,
        }
    }

    /// A signature as a store keeps it: the algorithm's name, the public
    /// key's bytes (for Ed25519) and the signature's bytes; `None` for an
    /// unknown algorithm or a key that is not one (a row tampered with).
    #[cfg_attr(not(any(feature = "sqlite", feature = "postgres")), allow(dead_code))]
    pub(crate) fn from_stored(
        algorithm: &str,
        public_key: Option<&[u8]>,
        bytes: Vec<u8>,
    ) -> Option<Self> {
        match algorithm {
            "hmac-sha256" => Some(CheckpointSignature::Hmac(bytes)),
            "ed25519" => Some(CheckpointSignature::Ed25519 {
                public_key: PublicKey::from_slice(public_key?)?,
                signature: bytes,
            }),
            _ => None,
        }
    }

    /// The signature's bytes.
    pub fn bytes(&self) -> &[u8] {
        match self {
            CheckpointSignature::Hmac(tag) => tag,
            CheckpointSignature::Ed25519 { signature, .. } => signature,
        }
    }
}

/// A checkpoint and its signature: what a store keeps, and what a witness
/// keeps off the host.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct SignedCheckpoint {
    /// The statement.
    pub checkpoint: Checkpoint,
    /// Its signature.
    pub signature: CheckpointSignature,
}

impl SignedCheckpoint {
    /// A signed checkpoint from its parts.
    pub fn new(checkpoint: Checkpoint, signature: CheckpointSignature) -> Self {
        SignedCheckpoint {
            checkpoint,
            signature,
        }
    }

    /// Whether the HMAC signature is `key`'s (false for Ed25519).
    pub fn verify_hmac(&self, key: &AuditKey) -> bool {
        match &self.signature {
            CheckpointSignature::Hmac(tag) => key.verify(&self.checkpoint.canonical(), tag),
            CheckpointSignature::Ed25519 { .. } => false,
        }
    }

    /// Whether the Ed25519 signature is valid for the public key it names
    /// (false for HMAC). Whether that key is one to trust is the caller's
    /// question.
    pub fn verify_ed25519(&self) -> bool {
        match &self.signature {
            CheckpointSignature::Ed25519 {
                public_key,
                signature,
            } => public_key.verifies(&self.checkpoint.canonical_ed25519(public_key), signature),
            CheckpointSignature::Hmac(_) => false,
        }
    }
}

/// What signs a store's checkpoints.
#[derive(Clone, Debug)]
pub(crate) enum CheckpointSigner {
    Hmac(AuditKey),
    Ed25519(SigningKey),
}

impl CheckpointSigner {
    pub(crate) fn sign(&self, checkpoint: Checkpoint) -> SignedCheckpoint {
        let signature = match self {
            CheckpointSigner::Hmac(key) => {
                CheckpointSignature::Hmac(key.sign(&checkpoint.canonical()).to_vec())
            }
            CheckpointSigner::Ed25519(key) => {
                let public_key = key.public_key();
                CheckpointSignature::Ed25519 {
                    public_key,
                    signature: key
                        .sign(&checkpoint.canonical_ed25519(&public_key))
                        .to_vec(),
                }
            }
        };
        SignedCheckpoint::new(checkpoint, signature)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::EventType;

    #[test]
    fn links_depend_on_the_previous_hash_and_every_field() {
        let record = AuditRecord::new(EventType::ApiCall, "get");
        let a = link(&GENESIS, &record);
        assert_ne!(a, link(&[1; 32], &record));
        let mut edited = record.clone();
        edited.action = "put".into();
        assert_ne!(a, link(&GENESIS, &edited));
        assert_eq!(a, link(&GENESIS, &record));
    }

    #[test]
    fn hmac_matches_rfc_4231_test_case_2() {
        let mut mac = hmac_with(b"Jefe");
        mac.update(b"what do ya want for nothing?");
        assert_eq!(
            encode_hex(&mac.finalize().into_bytes()),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }

    #[test]
    fn keys_sign_verify_and_hash_ips() {
        assert!(matches!(
            AuditKey::new(b"short".to_vec()),
            Err(AuditError::ShortKey(5))
        ));
        let key = AuditKey::new(b"0123456789abcdef".to_vec()).unwrap();
        let tag = key.sign(b"message");
        assert!(key.verify(b"message", &tag));
        assert!(!key.verify(b"messagf", &tag));
        let other = AuditKey::new(b"0123456789abcdeX".to_vec()).unwrap();
        assert!(!other.verify(b"message", &tag));
        assert_eq!(key.hash_ip("10.0.0.1"), key.hash_ip(" 10.0.0.1 "));
        assert_ne!(key.hash_ip("10.0.0.1"), other.hash_ip("10.0.0.1"));
        assert!(key.hash_ip("10.0.0.1").starts_with("hmac:"));
        assert_eq!(
            decode_hex(&encode_hex(&[0, 15, 255])),
            Some(vec![0, 15, 255])
        );
    }

    #[test]
    fn a_key_file_is_created_once_and_read_back() {
        let dir = std::env::temp_dir().join(format!("warden-key-{}", uuid::Uuid::new_v4()));
        fs::create_dir_all(&dir).unwrap();
        let path = dir.join("k");
        let a = AuditKey::from_file(&path, true).unwrap();
        let b = AuditKey::from_file(&path, true).unwrap();
        assert_eq!(a.bytes, b.bytes);
        assert_eq!(a.bytes.len(), 32);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            assert_eq!(
                fs::metadata(&path).unwrap().permissions().mode() & 0o777,
                0o600
            );
        }
        assert!(AuditKey::from_file(&dir.join("missing"), false).is_err());
        fs::remove_dir_all(dir).unwrap();
    }
}
