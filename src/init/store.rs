//! The audit stores `init()` makes: each one a [`StoreChoice`], built once
//! the stack's shared pieces are known (its pseudonym key, the checkpoint
//! signing key, the collector as a witness). A new built-in store is one
//! more implementation here and a builder method that chooses it; a sink of
//! the application's own needs neither (`WardenBuilder::audit_sink`).

use std::path::PathBuf;

use warden_audit::{AuditError, AuditKey, Route, RouteFilter, SigningKey, SqliteSink};
use warden_otlp::OtlpCheckpointWitness;

/// An audit store chosen on the builder, made when the stack is built.
pub(super) trait StoreChoice: Send {
    /// The store's pseudonym key: `given` (the builder's `audit_key`), else
    /// where this store finds one.
    fn key(&self, given: Option<AuditKey>) -> Result<AuditKey, AuditError>;

    /// The route that writes the store, its checkpoints signed with
    /// `signing` (else with `key`) and witnessed by `witness`.
    fn route(
        self: Box<Self>,
        key: &AuditKey,
        signing: Option<SigningKey>,
        witness: Option<OtlpCheckpointWitness>,
    ) -> Result<Route, AuditError>;
}

/// The pseudonym key given, else `WARDEN_AUDIT_KEY`'s: a store with no
/// key file beside it (`what`) needs one of them.
fn shared_key(given: Option<AuditKey>, what: &str) -> Result<AuditKey, AuditError> {
    if let Some(key) = given {
        return Ok(key);
    }
    let key = std::env::var("WARDEN_AUDIT_KEY").map_err(|_| {
        AuditError::Config(format!(
            "{what} needs the pseudonym key it shares: set WARDEN_AUDIT_KEY (or WardenBuilder::audit_key)"
        ))
    })?;
    AuditKey::new(key.into_bytes())
}

/// The embedded SQLite store at a path (the default).
pub(super) struct Sqlite(pub(super) PathBuf);

impl StoreChoice for Sqlite {
    fn key(&self, given: Option<AuditKey>) -> Result<AuditKey, AuditError> {
        match given {
            Some(key) => Ok(key),
            None => AuditKey::for_store(&self.0),
        }
    }

    fn route(
        self: Box<Self>,
        key: &AuditKey,
        signing: Option<SigningKey>,
        witness: Option<OtlpCheckpointWitness>,
    ) -> Result<Route, AuditError> {
        let mut sink = SqliteSink::builder(&self.0).key(key.clone());
        if let Some(signing) = signing {
            sink = sink.signing_key(signing);
        }
        if let Some(witness) = witness {
            sink = sink.witness(witness);
        }
        Ok(Route::new("sqlite", RouteFilter::all()).sink(sink.build()?))
    }
}

/// The PostgreSQL store a fleet shares.
#[cfg(feature = "postgres")]
pub(super) struct Postgres(pub(super) String);

#[cfg(feature = "postgres")]
impl StoreChoice for Postgres {
    fn key(&self, given: Option<AuditKey>) -> Result<AuditKey, AuditError> {
        shared_key(given, "a PostgreSQL audit store shared by many instances")
    }

    /// (Without a signing key, each stream signs with one of its own, as
    /// `PostgresSinkBuilder` says: the pseudonym key is not used for it.)
    fn route(
        self: Box<Self>,
        _key: &AuditKey,
        signing: Option<SigningKey>,
        witness: Option<OtlpCheckpointWitness>,
    ) -> Result<Route, AuditError> {
        let mut sink = warden_audit::PostgresSink::builder(self.0);
        if let Some(signing) = signing {
            sink = sink.signing_key(signing);
        }
        if let Some(witness) = witness {
            sink = sink.witness(witness);
        }
        Ok(Route::new("postgres", RouteFilter::all()).sink(sink.build()?))
    }
}

/// A sink of the application's own, already in its route: it signs and
/// witnesses nothing of warden's.
pub(super) struct Own(pub(super) Route);

impl StoreChoice for Own {
    fn key(&self, given: Option<AuditKey>) -> Result<AuditKey, AuditError> {
        shared_key(given, "an audit sink of your own")
    }

    fn route(
        self: Box<Self>,
        _key: &AuditKey,
        _signing: Option<SigningKey>,
        _witness: Option<OtlpCheckpointWitness>,
    ) -> Result<Route, AuditError> {
        Ok(self.0)
    }
}
