//! Writing a replacement: the placeholder, the mask, or the keyed hash of
//! a value's canonical form (so that one value written two ways hashes the
//! same).

use super::{Sanitizer, Tally};
use crate::Strategy;
use crate::detect::{canonical, national};
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
        let national = Builtin::ALL.get(kind) == Some(&Builtin::NationalId);
        let schemes = if national {
            national::schemes_of(value.as_bytes())
        } else {
            0
        };
        if national {
            inner.counters.add_scheme(schemes);
        }
        let name = inner.kinds[kind].name();
        match (inner.strategies[kind], &inner.hmac) {
            (Strategy::Mask, _) if national => write_national_mask(out, value, schemes),
            (Strategy::Mask, _) => write_mask(out, value),
            (Strategy::Hmac, Some(key)) => key.write_token(out, name, &canonical_form(kind, value)),
            // Redact, or (impossible after `build`) hmac without a key.
            _ => out.push_str(&inner.placeholders[kind]),
        }
    }
}

/// Masks a national identifier, keeping only what its scheme's own
/// masked form shows: the last four digits of an Aadhaar (UIDAI's masked
/// Aadhaar), the middle six of a CPF (`***.456.789-**`, as Brazil's
/// government portals print it); nothing of the others, whose digits hold
/// a birth date, a sex or a serial. Separators stay.
fn write_national_mask(out: &mut String, value: &str, schemes: u64) {
    use crate::NationalIdScheme as S;
    let alnum = value.chars().filter(|c| c.is_alphanumeric()).count();
    let kept = |at: usize| {
        if schemes & S::InAadhaar.bit() != 0 {
            at + 4 >= alnum
        } else if schemes & S::BrCpf.bit() != 0 {
            (3..9).contains(&at)
        } else {
            false
        }
    };
    let mut at = 0;
    for c in value.chars() {
        if c.is_alphanumeric() {
            out.push(if kept(at) { c } else { '*' });
            at += 1;
        } else {
            out.push(c);
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

#[cfg(test)]
mod tests {
    use crate::{NationalIdScheme, PiiKind, Sanitizer, Strategy};

    #[test]
    fn a_national_identifier_is_masked_as_its_scheme_shows_it() {
        let s = Sanitizer::builder()
            .strategy_for(PiiKind::NationalId, Strategy::Mask)
            .build()
            .unwrap();
        assert_eq!(s.sanitize("CPF 390.533.447-05"), "CPF ***.533.447-**");
        assert_eq!(
            s.sanitize("Aadhaar 2341 2341 2346"),
            "Aadhaar **** **** 2346"
        );
        assert_eq!(s.sanitize("BSN 111222333"), "BSN *********");
        assert_eq!(s.sanitize("id 880320-0016"), "id ******-****");
        let counts = s.redactions();
        assert_eq!(counts.national_id(NationalIdScheme::BrCpf), 1);
        assert_eq!(counts.national_id(NationalIdScheme::InAadhaar), 1);
        assert_eq!(counts.national_id(NationalIdScheme::NlBsn), 1);
        assert_eq!(counts.national_id(NationalIdScheme::SePersonnummer), 1);
        assert_eq!(counts.national_ids().count(), 4);
    }

    #[test]
    fn a_scheme_turned_off_leaves_its_numbers_and_only_them() {
        let s = Sanitizer::builder()
            .disable_national_id(NationalIdScheme::NlBsn)
            .build()
            .unwrap();
        // 111222333 is a BSN only; 123456782 is also Canada's SIN.
        assert_eq!(s.sanitize("BSN 111222333"), "BSN 111222333");
        assert_eq!(s.sanitize("SIN 123456782"), "SIN [REDACTED:NATIONAL_ID]");
        // Under a key naming an identifier, the value is still taken.
        assert_eq!(s.sanitize("bsn=111222333"), "bsn=[REDACTED:NATIONAL_ID]");
    }
}
