//! [`ChainStore`]: what a [`Verifier`](crate::Verifier) reads of a store, so
//! that one verification walks every store: its streams, each stream's
//! checkpoints, and its records in order with the hashes stored beside
//! them.

use crate::chain::{Hash, SignedCheckpoint};
use crate::error::AuditError;
use crate::record::AuditRecord;
use crate::signing::PublicKey;

/// A stored checkpoint: its number in the store, and the checkpoint
/// (`None`: one that does not read, which verification reports as forged).
pub type StoredCheckpoint = (i64, Option<SignedCheckpoint>);

/// What [`ChainStore::walk`] calls with each record: its number, the record
/// (`None` if its row does not read), the hash it links to and its own
/// stored hash.
pub type EachRecord<'a> = dyn FnMut(i64, Option<&AuditRecord>, Hash, Hash) + 'a;

/// A store whose chains a [`Verifier`](crate::Verifier) can check
/// ([`Verifier::verify_store`](crate::Verifier::verify_store)). The SQLite,
/// PostgreSQL and JSON Lines stores implement it; a store of your own does
/// the same and is verified the same way.
///
/// ```
/// use warden_audit::{AuditError, ChainStore, EachRecord, StoredCheckpoint, Verifier};
///
/// /// A store that kept nothing: one empty stream.
/// struct Empty;
/// impl ChainStore for Empty {
///     fn streams(&mut self) -> Result<Vec<String>, AuditError> {
///         Ok(vec!["main".into()])
///     }
///     fn checkpoints(&mut self, _: &str) -> Result<Vec<StoredCheckpoint>, AuditError> {
///         Ok(Vec::new())
///     }
///     fn walk(
///         &mut self,
///         _: &str,
///         _: &mut EachRecord<'_>,
///     ) -> Result<(), AuditError> {
///         Ok(())
///     }
/// }
///
/// let reports = Verifier::new().verify_store(&mut Empty)?;
/// assert!(reports.is_ok());
/// # Ok::<(), AuditError>(())
/// ```
pub trait ChainStore {
    /// The store's streams (one per writer), by name.
    fn streams(&mut self) -> Result<Vec<String>, AuditError>;

    /// The public keys the stream's writers recorded, trusted when the
    /// verifier was given none (none by default).
    fn recorded_keys(&mut self, stream: &str) -> Result<Vec<PublicKey>, AuditError> {
        let _ = stream;
        Ok(Vec::new())
    }

    /// The stream's checkpoints, oldest first.
    fn checkpoints(&mut self, stream: &str) -> Result<Vec<StoredCheckpoint>, AuditError>;

    /// Calls `each` with every record of the stream, in order: its number,
    /// the record (`None` if its row does not read), the hash it links to
    /// and its own stored hash.
    fn walk(&mut self, stream: &str, each: &mut EachRecord<'_>) -> Result<(), AuditError>;

    /// Whether the store purges old records, so that a stream's chain
    /// starts at the anchor its latest checkpoint names rather than at the
    /// genesis (`true` by default).
    fn purges(&self) -> bool {
        true
    }
}
