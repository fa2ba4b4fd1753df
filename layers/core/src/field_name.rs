//! What a field's name says about its value, decided once per name and
//! policy owner and cached per thread (in core's call-site cache: a name
//! is a `&'static str` of a call site's metadata). warden-pii's
//! `Sanitizer::field_name_kind` decides it (from its secret and phone key
//! names); the PII gate and the audit layer both ask it.

use crate::cache::{LocalSiteCache, SiteCache, SiteKey};

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

thread_local! {
    /// What names say, by policy owner and the name's static address and
    /// length.
    static NAMES: SiteCache<FieldNameKind, 256> = const { SiteCache::new(FieldNameKind::Plain) };
}

/// `compute`'s answer for `name` under `owner` (from
/// [`next_owner`](crate::internal::next_owner)), from this thread's cache
/// when it is there.
///
/// ```
/// use warden_core::FieldNameKind;
/// use warden_core::internal::{cached_field_name_kind, next_owner};
///
/// let owner = next_owner();
/// let decide = || FieldNameKind::Secret; // a real policy reads the name
/// assert_eq!(cached_field_name_kind(owner, "password", decide), FieldNameKind::Secret);
/// // Cached: the second answer does not call the policy.
/// assert_eq!(cached_field_name_kind(owner, "password", || unreachable!()), FieldNameKind::Secret);
/// ```
pub fn cached_field_name_kind(
    owner: u64,
    name: &'static str,
    compute: impl FnOnce() -> FieldNameKind,
) -> FieldNameKind {
    let key = SiteKey::field(owner, name.as_ptr() as usize, name.len());
    NAMES.cached(key, compute)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::internal::next_owner;

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
        // Wherever the linker puts them: a name is keyed by where it ends
        // (address plus length), and ends within a hundred bytes of each
        // other never share a slot (see `SiteKey::slot`). This failed in
        // CI when the hash mixed the bits of address, length and owner.
        let owner = next_owner();
        let mut computed = 0;
        for _ in 0..3 {
            for name in names {
                cached_field_name_kind(owner, name, || {
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
