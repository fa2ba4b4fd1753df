//! Pseudonyms: the identity fields of audit records (who, from where)
//! stored as keyed hashes — stable, so records stay joinable, and
//! checkable by whoever holds the key, but never the value itself.

use std::sync::Arc;

use crate::chain::AuditKey;

/// The fields stored as keyed hashes by default: the user and the client
/// IP, under either of their names.
pub const DEFAULT_IDENTITY_FIELDS: [&str; 4] = ["user_id", "user", "client_ip", "ip"];

/// Whether `name` is one of the client-IP fields (hashed as an address:
/// case and surrounding space do not matter).
pub(crate) fn is_ip_field(name: &str) -> bool {
    matches!(name, "client_ip" | "ip")
}

/// The key and the fields an audit layer pseudonymizes.
#[derive(Clone, Debug)]
pub(crate) struct Pseudonyms {
    key: AuditKey,
    fields: Arc<[String]>,
}

impl Pseudonyms {
    pub(crate) fn new(key: AuditKey, fields: Arc<[String]>) -> Self {
        Pseudonyms { key, fields }
    }

    /// Whether the field `name` is stored as a keyed hash. Client IPs
    /// always are when there is a key: their column holds only hashes.
    pub(crate) fn covers(&self, name: &str) -> bool {
        is_ip_field(name) || self.fields.iter().any(|f| f == name)
    }

    /// The pseudonym of `value` in the field `name`, or `value` itself if
    /// it already is a pseudonym or a placeholder (hashed or sanitized
    /// upstream, when no original was lent).
    pub(crate) fn of(&self, name: &str, value: String) -> String {
        if is_placeholder(&value) {
            return value;
        }
        if is_ip_field(name) {
            self.key.hash_ip(&value)
        } else {
            self.key.pseudonym(&value)
        }
    }
}

/// Whether `value` is a keyed hash or a sanitizer's placeholder.
pub(crate) fn is_placeholder(value: &str) -> bool {
    value.starts_with("hmac:") || (value.starts_with('[') && value.ends_with(']'))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pseudonyms() -> Pseudonyms {
        let key = AuditKey::new(*b"a key of at least sixteen bytes").unwrap();
        Pseudonyms::new(key, DEFAULT_IDENTITY_FIELDS.map(String::from).into())
    }

    #[test]
    fn identity_fields_become_stable_keyed_hashes() {
        let p = pseudonyms();
        let a = p.of("user_id", "ada@example.com".into());
        assert!(a.starts_with("hmac:") && !a.contains("ada"), "{a}");
        assert_eq!(a, p.of("user", "ada@example.com".into()));
        assert_ne!(a, p.of("user_id", "bob@example.com".into()));
        assert_eq!(
            p.of("ip", "2001:DB8::1".into()),
            p.of("client_ip", " 2001:db8::1".into())
        );
        assert_eq!(
            p.of("user_id", "[REDACTED:EMAIL]".into()),
            "[REDACTED:EMAIL]"
        );
        assert!(p.covers("ip") && p.covers("user") && !p.covers("resource_id"));
    }
}
