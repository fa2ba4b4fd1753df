//! What replaces a detected value.

use std::fmt::Write as _;
use std::str::FromStr;

use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};

/// How a detected value is replaced.
///
/// ```
/// use warden_pii::{PiiKind, Sanitizer, Strategy};
///
/// assert_eq!("mask".parse::<Strategy>(), Ok(Strategy::Mask));
/// let s = Sanitizer::builder().strategy_for(PiiKind::CreditCard, Strategy::Mask).build()?;
/// assert_eq!(s.sanitize("4111 1111 1111 1111"), "**** **** **** 1111");
/// # Ok::<(), warden_pii::BuildError>(())
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum Strategy {
    /// A typed placeholder: `[REDACTED:EMAIL]`. The default.
    #[default]
    Redact,
    /// Every letter and digit but the last four becomes `*`; separators
    /// stay (`**** **** **** 1111`). Values with fewer than eight letters
    /// and digits are masked whole, so a short secret never shows half of
    /// itself.
    Mask,
    /// A keyed hash: `[EMAIL:k3fa2c1d0:9b1e6f0a9c2d4e57]` — the kind, the
    /// key id and the first 64 bits of HMAC-SHA256 over the value's
    /// canonical form (lower-case email, digits of a number, canonical IP).
    /// The same value always gives the same token under the same key, so
    /// records stay joinable, and without the key it cannot be reversed by
    /// trying candidate values.
    Hmac,
}

/// The error for a strategy name that is not `redact`, `mask` or `hmac`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown strategy `{0}` (expected redact, mask or hmac)")]
pub struct UnknownStrategy(pub String);

impl FromStr for Strategy {
    type Err = UnknownStrategy;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "redact" => Ok(Strategy::Redact),
            "mask" => Ok(Strategy::Mask),
            "hmac" | "hash" => Ok(Strategy::Hmac),
            _ => Err(UnknownStrategy(s.to_owned())),
        }
    }
}

/// The secret key of the `Hmac` strategy, with its public id.
#[derive(Clone)]
pub(crate) struct HmacKey {
    mac: Hmac<Sha256>,
    id: String,
}

impl std::fmt::Debug for HmacKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HmacKey")
            .field("id", &self.id)
            .finish_non_exhaustive()
    }
}

impl HmacKey {
    /// Keys shorter than this are refused.
    pub(crate) const MIN_LEN: usize = 16;

    /// A key with the given id, or one derived from the key: `k` and the
    /// first 8 hex digits of SHA-256 over a label and the key.
    pub(crate) fn new(key: &[u8], id: Option<String>) -> Option<Self> {
        let mac = <Hmac<Sha256> as Mac>::new_from_slice(key).ok()?;
        let id = id.unwrap_or_else(|| {
            let digest = Sha256::new()
                .chain_update(b"warden-pii key id\0")
                .chain_update(key)
                .finalize();
            let mut id = String::from("k");
            for byte in &digest[..4] {
                let _ = write!(id, "{byte:02x}");
            }
            id
        });
        Some(HmacKey { mac, id })
    }

    #[cfg(test)]
    pub(crate) fn id(&self) -> &str {
        &self.id
    }

    /// Writes `[KIND:keyid:hash]` for `canonical` into `out`.
    pub(crate) fn write_token(&self, out: &mut String, kind: &str, canonical: &str) {
        let mut mac = self.mac.clone();
        mac.update(kind.as_bytes());
        mac.update(b"\0");
        mac.update(canonical.as_bytes());
        let tag = mac.finalize().into_bytes();
        out.push('[');
        out.push_str(kind);
        out.push(':');
        out.push_str(&self.id);
        out.push(':');
        for byte in &tag[..8] {
            let _ = write!(out, "{byte:02x}");
        }
        out.push(']');
    }
}

/// Writes the masked form of `value` into `out`.
pub(crate) fn write_mask(out: &mut String, value: &str) {
    let alnum = value.chars().filter(|c| c.is_alphanumeric()).count();
    let keep = if alnum >= 8 { 4 } else { 0 };
    let mut seen = 0;
    for c in value.chars() {
        if c.is_alphanumeric() {
            seen += 1;
            out.push(if seen > alnum - keep { c } else { '*' });
        } else {
            out.push(c);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mask(s: &str) -> String {
        let mut out = String::new();
        write_mask(&mut out, s);
        out
    }

    #[test]
    fn masking_keeps_separators_and_the_last_four() {
        assert_eq!(mask("4111 1111 1111 1111"), "**** **** **** 1111");
        assert_eq!(mask("+1 (415) 555-2671"), "+* (***) ***-2671");
        assert_eq!(mask("123-45-6789"), "***-**-6789");
        assert_eq!(mask("hunter2"), "*******");
    }

    #[test]
    fn hmac_tokens_are_stable_keyed_and_labelled() {
        let key = HmacKey::new(b"0123456789abcdef0123456789abcdef", None).unwrap();
        let other = HmacKey::new(b"another key of thirty-two bytes!", None).unwrap();
        let token = |k: &HmacKey, kind: &str, v: &str| {
            let mut out = String::new();
            k.write_token(&mut out, kind, v);
            out
        };
        let a = token(&key, "EMAIL", "ada@example.com");
        assert_eq!(a, token(&key, "EMAIL", "ada@example.com"));
        assert_ne!(a, token(&other, "EMAIL", "ada@example.com"));
        assert_ne!(a, token(&key, "EMAIL", "bob@example.com"));
        assert!(a.starts_with(&format!("[EMAIL:{}:", key.id())), "{a}");
        assert_eq!(a.len(), "[EMAIL:".len() + 9 + 1 + 16 + 1);
        let named = HmacKey::new(b"0123456789abcdef", Some("2026-q4".into())).unwrap();
        assert!(token(&named, "SSN", "123456789").starts_with("[SSN:2026-q4:"));
    }

    #[test]
    fn strategies_parse() {
        assert_eq!("MASK".parse::<Strategy>().unwrap(), Strategy::Mask);
        assert_eq!("hmac".parse::<Strategy>().unwrap(), Strategy::Hmac);
        assert!("scramble".parse::<Strategy>().is_err());
    }
}
