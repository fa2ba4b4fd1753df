//! US Social Security numbers written with a delimiter: `AAA-GG-SSSS`,
//! `AAA GG SSSS` or `AAA.GG.SSSS`.

use super::bytes::is_word;

/// Reads an SSN starting at the digit at `s`; returns its end.
///
/// Rejects mixed delimiters, area 000, 666 and 900–999, group 00 and
/// serial 0000, and numbers that run on into more digits or words.
pub(crate) fn match_ssn(b: &[u8], s: usize) -> Option<usize> {
    let t = b.get(s..s + 11)?;
    let digits_at = |r: std::ops::Range<usize>| t[r].iter().all(u8::is_ascii_digit);
    let sep = t[3];
    if !matches!(sep, b'-' | b' ' | b'.') || t[6] != sep {
        return None;
    }
    if !digits_at(0..3) || !digits_at(4..6) || !digits_at(7..11) {
        return None;
    }
    let end = s + 11;
    match (b.get(end), b.get(end + 1)) {
        (Some(&c), _) if is_word(c) => return None,
        (Some(&c), Some(d)) if matches!(c, b'-' | b'.') && d.is_ascii_digit() => return None,
        _ => {}
    }
    let mut digits = [0u8; 9];
    for (d, &c) in digits
        .iter_mut()
        .zip(t.iter().filter(|c| c.is_ascii_digit()))
    {
        *d = c - b'0';
    }
    // An ITIN written as an SSN is as distinctive as one.
    (valid_digits(&digits) || (sep == b'-' && valid_itin(&digits))).then_some(end)
}

/// Whether nine digit values form a valid SSN (the same rules as the
/// delimited form: no area 000, 666 or 9xx, no group 00, no serial 0000).
pub(crate) fn valid_digits(d: &[u8]) -> bool {
    d.len() == 9
        && d[..3] != [0, 0, 0]
        && d[..3] != [6, 6, 6]
        && d[0] != 9
        && d[3..5] != [0, 0]
        && d[5..] != [0, 0, 0, 0]
}

/// Whether nine digit values form an ITIN (`9XX-7X-XXXX`: area 9, group
/// 50–65, 70–88, 90–92 or 94–99): found bare in the SSN's own dashed
/// form, otherwise only after a context word.
pub(crate) fn valid_itin(d: &[u8]) -> bool {
    let group = d.get(3..5).map_or(0, |g| g[0] * 10 + g[1]);
    d.len() == 9 && d[0] == 9 && matches!(group, 50..=65 | 70..=88 | 90..=92 | 94..=99)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn find(s: &str) -> Option<&str> {
        let b = s.as_bytes();
        let start = b.iter().position(u8::is_ascii_digit)?;
        match_ssn(b, start).map(|e| &s[start..e])
    }

    #[test]
    fn delimited_forms() {
        for n in ["123-45-6789", "078 05 1120", "536.22.8721", "001-01-0001"] {
            assert_eq!(find(&format!("ssn {n}.")), Some(n));
        }
    }

    #[test]
    fn invalid_parts_and_mixed_delimiters() {
        for s in [
            "000-12-3456",
            "666-12-3456",
            "900-12-3456",
            "123-00-4567",
            "123-45-0000",
            "123-45.6789",
            "123 45-6789",
            "123456789",
            "123-45-67890",
            "123-45-6789-1",
            "123-45-6789a",
        ] {
            assert_eq!(find(s), None, "{s}");
        }
    }
}
