//! Audit events routed from `tracing` to durable, tamper-evident,
//! queryable stores.
//!
//! - Audit events are `tracing` events with target `audit`; the macros
//!   ([`security!`], [`api_call!`], [`authentication!`], …) log them, and any
//!   `tracing::info!(target: "audit", event_type = "…", …)` works too.
//! - [`AuditLayer`] maps each to an [`AuditRecord`] (sanitized; client IPs
//!   keyed-hashed; the correlation ID of its span), and routes it by
//!   [`RouteFilter`]s to [`AuditSink`]s through bounded queues: the
//!   logging thread only enqueues.
//! - [`SqliteSink`] is the embedded default: WAL, indexes, a SHA-256 hash
//!   chain over the records and signed checkpoints, verified by [`verify`]
//!   and [`Verifier`]; retention purges keep it verifiable. [`JsonlSink`]
//!   (chained across rotations) and [`StdoutSink`] are the others, and
//!   with the `postgres` feature, `PostgresSink`: one database many
//!   instances share, a chain per writer, an append-only role.
//! - Checkpoints are HMAC-signed with the store's key, or Ed25519-signed
//!   with a [`SigningKey`] so that they verify with the [`PublicKey`]
//!   alone; a [`CheckpointWitness`] keeps each one off the host, which
//!   catches a store rewritten and re-signed with a stolen key.
//! - Users and client IPs are stored as keyed hashes ([`AuditKey::pseudonym`]),
//!   also behind a PII gate, which lends the audit layer the original values.
//!
//! ```
//! use std::time::Duration;
//! use tracing_subscriber::prelude::*;
//! use warden_audit::{AuditKey, AuditLayer, Query, Route, RouteFilter, SqliteSink, SqliteStore};
//!
//! let dir = std::env::temp_dir().join(format!("warden-doc-{}", std::process::id()));
//! std::fs::create_dir_all(&dir)?;
//! let db = dir.join("audit.db");
//! let key = AuditKey::new(*b"a key of 16 bytes or more")?;
//! let layer = AuditLayer::builder()
//!     .route(Route::new("db", RouteFilter::all()).sink(SqliteSink::builder(&db).key(key.clone()).build()?))
//!     .pseudonym_key(key.clone())
//!     .build()?;
//! tracing::subscriber::with_default(tracing_subscriber::registry().with(layer.clone()), || {
//!     warden_audit::security!(action = "login_failed", user_id = "u-42", ip = "203.0.113.9");
//! });
//! layer.flush(Duration::from_secs(5))?;
//! let store = SqliteStore::open_with(&db, key, Default::default(), Default::default())?;
//! let records = store.query(&Query::default())?;
//! assert_eq!(records[0].action, "login_failed");
//! assert!(records[0].client_ip_hash.as_deref().unwrap().starts_with("hmac:"));
//! # std::fs::remove_dir_all(dir)?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

#[doc(hidden)]
#[path = "private.rs"]
pub mod __private;
mod chain;
mod chain_store;
mod checkpoint_policy;
mod error;
mod from_event;
mod identity;
mod jsonl;
mod layer;
mod macros;
#[cfg(feature = "postgres")]
mod postgres;
mod query;
mod record;
mod route;
mod signing;
mod sink;
#[cfg(feature = "sqlite")]
mod sqlite;
mod stream_name;
mod verify;
mod witness;
mod writer;

pub use chain::{
    AuditKey, Checkpoint, CheckpointKind, CheckpointSignature, GENESIS, Hash, SignedCheckpoint,
    key_file, link,
};
pub use chain_store::{ChainStore, EachRecord, StoredCheckpoint};
pub use checkpoint_policy::CheckpointPolicy;
pub use error::{AuditError, DatabaseError};
pub use identity::DEFAULT_IDENTITY_FIELDS;
pub use jsonl::JsonlSink;
pub use layer::{AuditGuard, AuditLayer, AuditLayerBuilder};
#[cfg(feature = "postgres")]
#[cfg_attr(docsrs, doc(cfg(feature = "postgres")))]
pub use postgres::{
    POSTGRES_SCHEMA_VERSION, PostgresSink, PostgresSinkBuilder, PostgresStore, PurgeSigner,
    SslMode, create_schema, is_postgres, setup_role, setup_role_sql,
};
pub use query::{DayCount, Query};
pub use record::{AuditLevel, AuditRecord, EventType, Outcome, UnknownName};
pub use route::{Durability, Overflow, Route, RouteFilter, RouteStats};
pub use signing::{PublicKey, SigningKey, public_key_file};
pub use sink::{AuditSink, SinkError, StdoutSink};
#[cfg(feature = "sqlite")]
#[cfg_attr(docsrs, doc(cfg(feature = "sqlite")))]
pub use sqlite::{
    SCHEMA_VERSION, SqliteSink, SqliteSinkBuilder, SqliteStore, StoreReader, SyncMode,
};
pub use verify::{Problem, Signer, SignerTrust, StreamReports, Verifier, VerifyReport};
#[cfg(feature = "sqlite")]
#[cfg_attr(docsrs, doc(cfg(feature = "sqlite")))]
pub use verify::{verify, verify_with};
pub use warden_core::AUDIT_TARGET;
pub use warden_core::{FlushError, FlushResult};
pub use witness::{CheckpointWitness, JsonlWitness, read_witness_file};

#[doc(hidden)]
pub use tracing as __tracing;

/// Records one `TOOL_INVOCATION` audit record per call: the function's
/// name, its parameters (sanitized by the layer; `skip(a, b)`, `skip_all`,
/// `fields(key = expr)` as in `#[instrument]`), the outcome (`FAILURE`
/// with the error's message when it returns `Err`) and the duration.
/// `action = ".."` and `event_type = ".."` override the defaults.
///
/// ```
/// use warden_audit::audited;
///
/// #[audited(skip(token), fields(tenant = "acme"))]
/// fn transfer(from: &str, to: &str, cents: u64, token: &str) -> Result<u64, String> {
///     if cents == 0 { return Err("nothing to transfer".into()); }
///     Ok(cents)
/// }
///
/// #[audited]
/// async fn lookup(id: u32) -> Option<u32> { Some(id) }
///
/// assert_eq!(transfer("a", "b", 5, "secret"), Ok(5));
/// ```
pub use warden_audit_macros::audited;
