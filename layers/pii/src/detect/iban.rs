//! International Bank Account Numbers: the country's length and the
//! ISO 7064 mod-97 check, written solid or in groups of four.

use super::bytes::is_alnum;
use super::tables::iban_length;

/// Reads an IBAN starting at the country code at `s`; returns its end.
pub(crate) fn match_iban(b: &[u8], s: usize) -> Option<usize> {
    let country = [
        b.get(s)?.to_ascii_uppercase(),
        b.get(s + 1)?.to_ascii_uppercase(),
    ];
    let len = iban_length(country)?;
    let mut chars = [0u8; 34];
    let mut n = 0;
    let mut i = s;
    let mut spaced: Option<bool> = None;
    // Groups of four are separated by spaces or by dashes, the same
    // throughout.
    let sep = match b.get(s + 4) {
        Some(b'-') => b'-',
        _ => b' ',
    };
    let (mut upper, mut lower) = (false, false);
    while n < len {
        let c = *b.get(i)?;
        if c == sep {
            // Separators only between groups of four, and then at every group.
            if n % 4 != 0 || spaced == Some(false) || !b.get(i + 1).is_some_and(|&d| is_alnum(d)) {
                return None;
            }
            spaced = Some(true);
            i += 1;
            continue;
        }
        upper |= c.is_ascii_uppercase();
        lower |= c.is_ascii_lowercase();
        if !is_alnum(c) {
            return None;
        }
        if n % 4 == 0 && n > 0 && spaced.is_none() {
            spaced = Some(false);
        }
        if n % 4 == 0 && n > 0 && spaced == Some(true) && b.get(i - 1) != Some(&sep) {
            return None;
        }
        chars[n] = c.to_ascii_uppercase();
        n += 1;
        i += 1;
    }
    // Not part of a longer code, and written in one case.
    if b.get(i).is_some_and(|&c| is_alnum(c)) || (upper && lower) {
        return None;
    }
    let iban = &chars[..len];
    if !iban[2].is_ascii_digit() || !iban[3].is_ascii_digit() {
        return None;
    }
    mod97_valid(iban).then_some(i)
}

/// ISO 7064 MOD 97-10 over an upper-case IBAN.
fn mod97_valid(iban: &[u8]) -> bool {
    let rearranged = iban[4..].iter().chain(&iban[..4]);
    let mut rem = 0u32;
    for &c in rearranged {
        rem = match c {
            b'0'..=b'9' => (rem * 10 + u32::from(c - b'0')) % 97,
            b'A'..=b'Z' => (rem * 100 + u32::from(c - b'A' + 10)) % 97,
            _ => return false,
        };
    }
    rem == 1
}

#[cfg(test)]
mod tests {
    use super::*;

    fn find(s: &str) -> Option<&str> {
        let b = s.as_bytes();
        let start = s.find(|c: char| c.is_ascii_uppercase())?;
        match_iban(b, start).map(|e| &s[start..e])
    }

    #[test]
    fn registry_examples() {
        for iban in [
            "DE89370400440532013000",
            "DE89 3704 0044 0532 0130 00",
            "GB82WEST12345698765432",
            "GB82 WEST 1234 5698 7654 32",
            "FR1420041010050500013M02606",
            "NL91ABNA0417164300",
            "NO9386011117947",
            "BE68539007547034",
            "CH9300762011623852957",
            "AL47-2121-1009-0000-0002-3569-8741",
        ] {
            assert_eq!(
                find(&format!("pay to {iban}, thanks")),
                Some(iban),
                "{iban}"
            );
        }
    }

    #[test]
    fn near_misses() {
        for s in [
            "DE89370400440532013001",      // check digits wrong
            "DE8937040044053201300",       // too short
            "DE893704004405320130001",     // too long
            "XX89370400440532013000",      // no such country
            "DE89 37040044 0532 0130 00",  // broken grouping
            "DE89-3704 0044 0532 0130 00", // mixed separators
            "LV80 bANK 0000 4351 9500 1",  // mixed case
        ] {
            assert_eq!(find(s), None, "{s}");
        }
    }
}
