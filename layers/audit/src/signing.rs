//! Ed25519 keys for checkpoints that anyone can verify and only the
//! writer can sign.
//!
//! An HMAC checkpoint is checked with the very key that signs it, so
//! whoever can verify a store can also forge its checkpoints, and the key
//! usually sits beside the database. An Ed25519 checkpoint is signed with a
//! secret key the writer keeps, and verified with its public key, which
//! investigators can hold without being able to sign anything.

use std::fs;
use std::io::Write as _;
use std::path::{Path, PathBuf};

use ed25519_dalek::{Signer as _, Verifier as _};

use crate::chain::{decode_hex, encode_hex};
use crate::error::AuditError;

/// The secret half of an Ed25519 key pair that signs checkpoints.
///
/// ```
/// use warden_audit::SigningKey;
/// # let dir = std::env::temp_dir().join(format!("warden-doc-{}-{}", std::process::id(), line!()));
/// # std::fs::create_dir_all(&dir)?;
/// let key = SigningKey::generate();
/// key.write(dir.join("audit.sign"))?; // and audit.sign.pub beside it
/// let public = warden_audit::PublicKey::from_file(dir.join("audit.sign.pub"))?;
/// assert_eq!(public, key.public_key());
/// assert!(public.id().starts_with("ed25519:"));
/// # std::fs::remove_dir_all(&dir)?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone)]
pub struct SigningKey(ed25519_dalek::SigningKey);

impl std::fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "SigningKey({})", self.public_key().id())
    }
}

impl SigningKey {
    /// A new random key pair (from the operating system's generator).
    pub fn generate() -> Self {
        let mut seed = [0u8; 32];
        seed[..16].copy_from_slice(uuid::Uuid::new_v4().as_bytes());
        seed[16..].copy_from_slice(uuid::Uuid::new_v4().as_bytes());
        // A v4 UUID has 122 random bits; hash two of them into the seed so
        // that every bit of it is random.
        let seed: [u8; 32] = <sha2::Sha256 as sha2::Digest>::digest(seed).into();
        SigningKey(ed25519_dalek::SigningKey::from_bytes(&seed))
    }

    /// The key in `path`: its 32-byte secret in hex, as [`write`](Self::write) leaves it.
    pub fn from_file(path: impl AsRef<Path>) -> Result<Self, AuditError> {
        let path = path.as_ref();
        let text = fs::read_to_string(path).map_err(|e| AuditError::io(path, e))?;
        let bytes = key_bytes(text.trim()).ok_or_else(|| AuditError::BadSigningKey {
            path: path.to_owned(),
            reason: "not an Ed25519 secret key (64 hex digits)".into(),
        })?;
        Ok(SigningKey(ed25519_dalek::SigningKey::from_bytes(&bytes)))
    }

    /// Writes the secret key to `path` (mode 0600, never over an existing
    /// file) and the public key to `path.pub` ([`public_key_file`]).
    pub fn write(&self, path: impl AsRef<Path>) -> Result<(), AuditError> {
        let path = path.as_ref();
        let mut options = fs::OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        let mut file = options.open(path).map_err(|e| AuditError::io(path, e))?;
        file.write_all(encode_hex(&self.0.to_bytes()).as_bytes())
            .and_then(|()| file.write_all(b"\n"))
            .and_then(|()| file.sync_all())
            .map_err(|e| AuditError::io(path, e))?;
        self.public_key().write(public_key_file(path))
    }

    /// The public half, which verifies what this key signs.
    pub fn public_key(&self) -> PublicKey {
        PublicKey(self.0.verifying_key())
    }

    pub(crate) fn sign(&self, message: &[u8]) -> [u8; 64] {
        self.0.sign(message).to_bytes()
    }
}

/// Where [`SigningKey::write`] puts the public key of the secret key at
/// `secret`: `<secret>.pub`.
pub fn public_key_file(secret: &Path) -> PathBuf {
    let mut name = secret.as_os_str().to_owned();
    name.push(".pub");
    PathBuf::from(name)
}

/// The public half of a checkpoint [`SigningKey`]: verifies, cannot sign.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct PublicKey(ed25519_dalek::VerifyingKey);

impl std::fmt::Debug for PublicKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "PublicKey({})", self.id())
    }
}

impl std::fmt::Display for PublicKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.id())
    }
}

impl PublicKey {
    /// The key in `path`: 32 bytes in hex, as [`SigningKey::write`] leaves it.
    pub fn from_file(path: impl AsRef<Path>) -> Result<Self, AuditError> {
        let path = path.as_ref();
        let text = fs::read_to_string(path).map_err(|e| AuditError::io(path, e))?;
        Self::from_hex(text.trim()).map_err(|reason| AuditError::BadSigningKey {
            path: path.to_owned(),
            reason,
        })
    }

    /// A key from its 64 hex digits.
    pub fn from_hex(text: &str) -> Result<Self, String> {
        let bytes = key_bytes(text.trim_start_matches("ed25519:"))
            .ok_or("not an Ed25519 public key (64 hex digits)")?;
        Self::from_bytes(&bytes)
    }

    /// A key from 32 stored bytes; `None` if they are not one.
    pub(crate) fn from_slice(bytes: &[u8]) -> Option<Self> {
        Self::from_bytes(bytes.try_into().ok()?).ok()
    }

    pub(crate) fn from_bytes(bytes: &[u8; 32]) -> Result<Self, String> {
        ed25519_dalek::VerifyingKey::from_bytes(bytes)
            .map(PublicKey)
            .map_err(|e| format!("not a valid Ed25519 public key: {e}"))
    }

    /// The key's 32 bytes.
    pub fn to_bytes(&self) -> [u8; 32] {
        self.0.to_bytes()
    }

    /// The key in hex (64 digits).
    pub fn to_hex(&self) -> String {
        encode_hex(&self.0.to_bytes())
    }

    /// A short name for reports: `ed25519:` and the key's first 8 bytes in hex.
    pub fn id(&self) -> String {
        format!("ed25519:{}", &self.to_hex()[..16])
    }

    /// Writes the key in hex to `path` (replacing the file).
    pub fn write(&self, path: impl AsRef<Path>) -> Result<(), AuditError> {
        let path = path.as_ref();
        fs::write(path, format!("{}\n", self.to_hex())).map_err(|e| AuditError::io(path, e))
    }

    /// Whether `signature` is this key's (strict RFC 8032 check) of `message`.
    pub(crate) fn verifies(&self, message: &[u8], signature: &[u8]) -> bool {
        let Ok(signature) = ed25519_dalek::Signature::from_slice(signature) else {
            return false;
        };
        self.0.verify(message, &signature).is_ok()
            && self.0.verify_strict(message, &signature).is_ok()
    }
}

fn key_bytes(text: &str) -> Option<[u8; 32]> {
    decode_hex(text)?.try_into().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signatures_verify_with_the_public_key_only() {
        let key = SigningKey::generate();
        let public = key.public_key();
        let signature = key.sign(b"checkpoint");
        assert!(public.verifies(b"checkpoint", &signature));
        assert!(!public.verifies(b"checkpoinT", &signature));
        assert!(
            !SigningKey::generate()
                .public_key()
                .verifies(b"checkpoint", &signature)
        );
        assert!(!public.verifies(b"checkpoint", &signature[..63]));
        assert_eq!(PublicKey::from_hex(&public.to_hex()), Ok(public));
        assert!(PublicKey::from_hex("zz").is_err());
        assert_ne!(key.public_key(), SigningKey::generate().public_key());
    }

    #[test]
    fn rfc_8032_test_vector_1() {
        let secret =
            key_bytes("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60").unwrap();
        let key = SigningKey(ed25519_dalek::SigningKey::from_bytes(&secret));
        assert_eq!(
            key.public_key().to_hex(),
            "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a"
        );
        assert_eq!(
            encode_hex(&key.sign(b"")),
            "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b"
        );
    }
}
