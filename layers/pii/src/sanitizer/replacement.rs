//! Writing a replacement: the placeholder, the mask, or the keyed hash of
//! a value's canonical form (so that one value written two ways hashes the
//! same).

use super::{Sanitizer, Tally};
use crate::Strategy;
use crate::detect::canonical;
use crate::kind::Builtin;
use crate::strategy::write_mask;

impl Sanitizer {
    pub(super) fn write_replacement(
        &self,
        out: &mut String,
        kind: usize,
        value: &str,
        tally: &mut Tally,
    ) {
        let inner = &*self.inner;
        inner.counters.add(kind, 1);
        tally.add(kind);
        let name = inner.kinds[kind].name();
        match (inner.strategies[kind], &inner.hmac) {
            (Strategy::Mask, _) => write_mask(out, value),
            (Strategy::Hmac, Some(key)) => key.write_token(out, name, &canonical_form(kind, value)),
            // Redact, or (impossible after `build`) hmac without a key.
            _ => out.push_str(&inner.placeholders[kind]),
        }
    }
}

/// The canonical form of a value of the kind at `kind`, so that the same
/// value written differently hashes the same.
fn canonical_form(kind: usize, value: &str) -> String {
    let digits = || {
        value
            .chars()
            .filter(char::is_ascii_digit)
            .collect::<String>()
    };
    match Builtin::ALL.get(kind) {
        Some(Builtin::Email) => canonical::email(value),
        Some(Builtin::IpAddress) => canonical::ip(value),
        Some(Builtin::CreditCard | Builtin::Ssn) => digits(),
        Some(Builtin::Phone) => {
            let d = digits();
            // A North American number without its country code.
            if d.len() == 10 && !value.trim_start().starts_with(['+', '0']) {
                format!("1{d}")
            } else {
                d
            }
        }
        Some(Builtin::Iban) => value
            .chars()
            .filter(|c| !c.is_whitespace())
            .collect::<String>()
            .to_ascii_uppercase(),
        _ => value.to_owned(),
    }
}
