//! What a field's name says about its value, decided once per name and
//! policy owner and cached per thread. warden-pii's
//! `Sanitizer::field_name_kind` decides it (from its secret and phone key
//! names); the PII gate and the audit layer both ask it.

use std::cell::RefCell;
use std::sync::atomic::{AtomicU64, Ordering};

/// What a field's name says about its value: one policy, decided by
/// warden-pii's `Sanitizer::field_name_kind` and read by every layer that
/// stores or exports fields by name.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum FieldNameKind {
    /// Nothing: the value is scanned like any text.
    Plain,
    /// A secret (`password`, `api_key`, …): the whole value is replaced.
    Secret,
    /// A phone number field (`phone`, `mobile`, …): a bare number in it is
    /// a phone number.
    Phone,
    /// Personal data by its name alone (`first_name`, `street`, `dob`,
    /// `national_id`, …): the whole value is replaced, as the kind with
    /// this index in the policy's list of kinds says.
    Personal(u8),
}

/// A fresh identity for a policy (a sanitizer's configuration), never
/// reused, so that a cache entry can never answer for another one.
pub fn next_field_name_owner() -> u64 {
    static NEXT: AtomicU64 = AtomicU64::new(1);
    NEXT.fetch_add(1, Ordering::Relaxed)
}

thread_local! {
    static CACHE: RefCell<NameCache> = RefCell::new(NameCache::new());
}

/// `compute`'s answer for `name` under `owner` (from
/// [`next_field_name_owner`]), from this thread's cache when it is there. A
/// re-entrant call (a sanitizer used while formatting a value inside
/// another) computes without the cache.
///
/// ```
/// use warden_core::{cached_field_name_kind, next_field_name_owner, FieldNameKind};
///
/// let owner = next_field_name_owner();
/// let decide = || FieldNameKind::Secret; // a real policy reads the name
/// assert_eq!(cached_field_name_kind(owner, "password", decide), FieldNameKind::Secret);
/// // Cached: the second answer does not call the policy.
/// assert_eq!(cached_field_name_kind(owner, "password", || unreachable!()), FieldNameKind::Secret);
/// ```
pub fn cached_field_name_kind(
    owner: u64,
    name: &'static str,
    compute: impl Fn() -> FieldNameKind,
) -> FieldNameKind {
    CACHE
        .try_with(|cache| match cache.try_borrow_mut() {
            Ok(mut cache) => cache.get_or_insert(owner, name, &compute),
            Err(_) => compute(),
        })
        .unwrap_or_else(|_| compute())
}

/// A small direct-mapped cache of what field names say, keyed by the
/// owner's id and the name's static address.
struct NameCache {
    slots: Vec<(u64, usize, usize, FieldNameKind)>,
}

impl NameCache {
    const SLOTS: usize = 256;

    fn new() -> Self {
        NameCache {
            slots: vec![(0, 0, 0, FieldNameKind::Plain); Self::SLOTS],
        }
    }

    fn get_or_insert(
        &mut self,
        owner: u64,
        name: &'static str,
        compute: impl FnOnce() -> FieldNameKind,
    ) -> FieldNameKind {
        let addr = name.as_ptr() as usize;
        // Field names are packed byte by byte in the binary: hash the
        // address (Fibonacci hashing), don't just shift it.
        let key = (addr as u64) ^ owner.rotate_left(32) ^ ((name.len() as u64) << 48);
        let slot = (key.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 56) as usize % Self::SLOTS;
        let entry = &mut self.slots[slot];
        if entry.0 == owner && entry.1 == addr && entry.2 == name.len() {
            return entry.3;
        }
        let kind = compute();
        *entry = (owner, addr, name.len(), kind);
        kind
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn neighbouring_names_do_not_evict_each_other() {
        // Names a few bytes apart, as literals are laid out.
        static PACKED: &str = "user_idroutestatuslatency_msmessage";
        let names = [
            &PACKED[0..7],
            &PACKED[7..12],
            &PACKED[12..18],
            &PACKED[18..28],
            &PACKED[28..35],
        ];
        let mut cache = NameCache::new();
        let mut computed = 0;
        for _ in 0..3 {
            for name in names {
                cache.get_or_insert(1, name, || {
                    computed += 1;
                    FieldNameKind::Plain
                });
            }
        }
        assert_eq!(computed, names.len());
    }

    #[test]
    fn owners_do_not_share_answers() {
        static NAME: &str = "password";
        assert_eq!(
            cached_field_name_kind(7, NAME, || FieldNameKind::Secret),
            FieldNameKind::Secret
        );
        assert_eq!(
            cached_field_name_kind(8, NAME, || FieldNameKind::Plain),
            FieldNameKind::Plain
        );
        assert_eq!(
            cached_field_name_kind(7, NAME, || FieldNameKind::Plain),
            FieldNameKind::Secret
        );
    }
}
