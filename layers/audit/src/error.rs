//! What can go wrong, as one typed error.

use std::path::PathBuf;

/// An error of the audit layer, its stores or its tools.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AuditError {
    /// A file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The SQLite store failed.
    #[error("audit database {path}: {source}")]
    Sqlite {
        /// The database file.
        path: PathBuf,
        /// Why.
        source: DatabaseError,
    },
    /// The file is not a warden audit store (or does not exist, when only
    /// reading).
    #[error(
        "{0} is not a warden audit database (does the path name the store the service writes? by default warden-audit.db)"
    )]
    NotAnAuditStore(PathBuf),
    /// The store was written by a newer warden.
    #[error(
        "{path} has audit schema version {found}; this warden reads up to {supported}: use the warden version that wrote it, or a newer one"
    )]
    NewerSchema {
        /// The database file.
        path: PathBuf,
        /// Its version.
        found: i64,
        /// The newest this build knows.
        supported: i64,
    },
    /// An integrity key shorter than [`AuditKey::MIN_LEN`](crate::AuditKey::MIN_LEN).
    #[error(
        "an audit key must be at least 16 bytes; this one is {0} (WARDEN_AUDIT_KEY, the key file or the builder's key): use 32 random bytes, such as `openssl rand -hex 32`"
    )]
    ShortKey(usize),
    /// A key file that does not hold hex.
    #[error(
        "{0}: not a hex audit key (the file holds the key in hex, as warden writes it; restore it from where the key is kept: a new key cannot verify what the old one wrote)"
    )]
    BadKeyFile(PathBuf),
    /// A file that does not hold an Ed25519 key (32 bytes in hex), or a
    /// public key that is not a valid curve point.
    #[error("{path}: {reason}")]
    BadSigningKey {
        /// The file (or the text's origin).
        path: PathBuf,
        /// What is wrong with it.
        reason: String,
    },
    /// A witness file line that is not a witnessed checkpoint.
    #[error("{path}:{line}: not a witnessed checkpoint: {reason}")]
    BadWitness {
        /// The witness file.
        path: PathBuf,
        /// The line number (from 1).
        line: usize,
        /// What is wrong with it.
        reason: String,
    },
    /// A PostgreSQL store failed: the connection, a statement, or a schema
    /// it cannot use.
    #[error("audit database {target}: {reason}")]
    Postgres {
        /// The database (its connection string without the password).
        target: String,
        /// What happened.
        reason: String,
    },
    /// A configuration that cannot work.
    #[error("invalid audit configuration: {0}")]
    Config(String),
}

impl AuditError {
    pub(crate) fn io(path: &std::path::Path, source: std::io::Error) -> Self {
        AuditError::Io {
            path: path.to_owned(),
            source,
        }
    }

    #[cfg(feature = "sqlite")]
    pub(crate) fn sqlite(path: &std::path::Path, source: rusqlite::Error) -> Self {
        AuditError::Sqlite {
            path: path.to_owned(),
            source: DatabaseError(Box::new(source)),
        }
    }
}

/// What the database engine reported. Its text and its `source()` are the
/// engine's; the engine's own error type is not part of warden's API, so
/// that a new version of it is not a breaking change.
#[derive(Debug)]
pub struct DatabaseError(Box<dyn std::error::Error + Send + Sync>);

impl std::fmt::Display for DatabaseError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

impl std::error::Error for DatabaseError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.0.source()
    }
}
