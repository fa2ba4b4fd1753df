//! Telephone numbers.
//!
//! Accepted shapes:
//! - international: `+` (or `00` with at least two groups) and a country
//!   calling code in service, 8–15 digits in all (E.164), grouped with
//!   spaces, dashes, dots or parentheses, including a `(0)` trunk marker;
//!   `+1` and `+7` numbers must have exactly 11 digits;
//! - North American: `(NXX) NXX-XXXX`, `NXX-NXX-XXXX`, `NXX.NXX.XXXX`,
//!   `NXX NXX XXXX`, optionally after `1-`/`1 `/`1.`;
//! - national numbers with a trunk `0`: 10–12 digits in at least two groups
//!   (`020 7946 0958`, `01 23 45 67 89`, `030/1234567`, `(02) 9876 5432`).
//!
//! A run of digits without a `+` or separators (an order id, a timestamp)
//! is never a phone number.

use super::bytes::is_word;
use super::tables::calling_code_len;

/// Reads a phone number starting at `s` (a `+`, a `(` or a digit); returns
/// its end.
pub(crate) fn match_phone(b: &[u8], s: usize) -> Option<usize> {
    match (b.get(s)?, b.get(s + 1), b.get(s + 2)) {
        (b'+', Some(d), _) if d.is_ascii_digit() => read_international(b, s + 1, 1),
        (b'0', Some(b'0'), Some(d)) if d.is_ascii_digit() => {
            // `0044 20 7946 0958` or `00 44 …`: the first group is the
            // international prefix and the calling code, nothing more
            // (`002741 17343` is a time and a process id).
            let first = super::bytes::run_end(b, s, |c| c.is_ascii_digit()) - s;
            let code = calling_code_len(b.get(s + 2..s + first).unwrap_or_default());
            if first != 2 && code != Some(first - 2) {
                return None;
            }
            read_international(b, s + 2, 2)
        }
        (b'0', _, _) | (b'(', Some(b'0'), _) => read_national(b, s),
        _ => read_nanp(b, s),
    }
}

/// Whether a phone number may end at `end`.
fn ends_cleanly(b: &[u8], end: usize, strict: bool) -> bool {
    match (b.get(end), b.get(end + 1)) {
        (None, _) => true,
        // An extension: `x123`.
        (Some(b'x' | b'X'), Some(d)) => d.is_ascii_digit(),
        (Some(&c), _) if is_word(c) => false,
        (Some(b'-' | b'.' | b'/'), Some(d)) if strict => !d.is_ascii_digit(),
        _ => true,
    }
}

/// Digit groups read from the text.
struct Groups {
    /// Each group's end position and the digit count up to it.
    ends: [(usize, usize); 12],
    len: usize,
    /// The first three digits, for the country calling code.
    lead: [u8; 3],
    count: usize,
}

/// Reads groups of digits separated by a space, `-` or `.` (and `/` in
/// `national` numbers) or by parentheses, stopping before a group that
/// would take the count past `max_digits`. With `trunk_after_first`, a
/// `(0)` right after the first group is a trunk marker and adds no digits.
#[inline]
fn read_groups(
    b: &[u8],
    p: usize,
    national: bool,
    max_digits: usize,
    trunk_after_first: bool,
) -> Groups {
    let mut g = Groups {
        ends: [(0, 0); 12],
        len: 0,
        lead: [0; 3],
        count: 0,
    };
    let n = b.len();
    let mut i = p;
    while g.len < g.ends.len() {
        let paren = i < n && b[i] == b'(';
        if paren {
            i += 1;
        }
        let start = i;
        while i < n && b[i].is_ascii_digit() {
            i += 1;
        }
        let glen = i - start;
        if glen == 0 || (paren && (i >= n || b[i] != b')')) {
            break;
        }
        if paren {
            i += 1;
        }
        let is_trunk = trunk_after_first && paren && g.len == 1 && glen == 1 && b[start] == b'0';
        if !is_trunk {
            if g.count + glen > max_digits {
                break;
            }
            let mut k = 0;
            while g.count + k < 3 && k < glen {
                g.lead[g.count + k] = b[start + k];
                k += 1;
            }
            g.count += glen;
            g.ends[g.len] = (i, g.count);
            g.len += 1;
        }
        if i >= n {
            break;
        }
        let c = b[i];
        let next = if i + 1 < n { b[i + 1] } else { 0 };
        let is_sep = c == b' ' || c == b'-' || c == b'.' || (national && c == b'/');
        if is_sep && (next.is_ascii_digit() || next == b'(') {
            i += 1;
        } else if !(c == b'(' || (paren && c.is_ascii_digit())) {
            break;
        }
    }
    g
}

fn read_international(b: &[u8], p: usize, min_groups: usize) -> Option<usize> {
    let g = read_groups(b, p, false, 15, true);
    let cc = calling_code_len(&g.lead[..g.count.min(3)])?;
    let nanp_or_russia = cc == 1;
    (0..g.len).rev().find_map(|k| {
        let (end, n) = g.ends[k];
        // Most national numbers have 6+ digits; a few territories' have 4
        // or 5 (`+500 51234`), accepted when written in groups, or solid
        // where the plan's numbers are that short (`+24762889`).
        let length_ok = if nanp_or_russia {
            n == 11
        } else {
            let short_ok = k >= 1 || short_plan(&g.lead[..cc]);
            (7..=15).contains(&n) && (n - cc >= 6 || (n - cc >= 4 && short_ok))
        };
        (length_ok && k + 1 >= min_groups && ends_cleanly(b, end, false)).then_some(end)
    })
}

/// Whether the calling code `cc` (its ASCII digits) is a plan whose
/// numbers have four or five digits (libphonenumber's metadata): Ascension,
/// St Helena, the Falklands, Tonga, the Solomon Islands, Vanuatu, the Cook
/// Islands, Niue, Samoa, Kiribati, Tuvalu, Tokelau.
fn short_plan(cc: &[u8]) -> bool {
    matches!(
        cc,
        b"247"
            | b"290"
            | b"500"
            | b"676"
            | b"677"
            | b"678"
            | b"682"
            | b"683"
            | b"685"
            | b"686"
            | b"688"
            | b"690"
    )
}

fn read_national(b: &[u8], s: usize) -> Option<usize> {
    // The first group (the area code with its trunk 0) has 2-5 digits.
    let first = s + usize::from(b.get(s) == Some(&b'('));
    let first_len = super::bytes::run_end(b, first, |c| c.is_ascii_digit()) - first;
    if !(2..=5).contains(&first_len) {
        return None;
    }
    let g = read_groups(b, s, true, 12, false);
    if g.len < 2 {
        return None;
    }
    let first_len = g.ends[0].1;
    if !(2..=5).contains(&first_len) {
        return None;
    }
    (1..g.len).rev().find_map(|k| {
        let (end, n) = g.ends[k];
        let groups_ok = (1..=k).all(|j| (2..=8).contains(&(g.ends[j].1 - g.ends[j - 1].1)));
        ((10..=12).contains(&n) && groups_ok && ends_cleanly(b, end, true)).then_some(end)
    })
}

fn digits_at(b: &[u8], i: usize, n: usize) -> bool {
    b.get(i..i + n)
        .is_some_and(|s| s.iter().all(u8::is_ascii_digit))
}

fn read_nanp(b: &[u8], s: usize) -> Option<usize> {
    let mut i = s;
    // An optional leading country code `1`.
    if b.get(i) == Some(&b'1')
        && matches!(b.get(i + 1), Some(b' ' | b'-' | b'.'))
        && b.get(i + 2)
            .is_some_and(|&c| c.is_ascii_digit() || c == b'(')
    {
        i += 2;
    }
    // Area code.
    let sep1 = if b.get(i) == Some(&b'(') {
        if !digits_at(b, i + 1, 3) || b.get(i + 4) != Some(&b')') {
            return None;
        }
        i += 5;
        match b.get(i) {
            Some(b' ' | b'-') => i += 1,
            Some(d) if d.is_ascii_digit() => {}
            _ => return None,
        }
        b')'
    } else {
        if !digits_at(b, i, 3) {
            return None;
        }
        let sep = *b.get(i + 3)?;
        if !matches!(sep, b' ' | b'-' | b'.') {
            return None;
        }
        i += 4;
        sep
    };
    // Exchange and line number.
    if !digits_at(b, i, 3) {
        return None;
    }
    i += 3;
    let sep2 = *b.get(i)?;
    let sep2_ok = match sep1 {
        b'.' => sep2 == b'.',
        b'-' => sep2 == b'-',
        b' ' => matches!(sep2, b' ' | b'-'),
        _ => matches!(sep2, b' ' | b'-' | b'.') || sep2.is_ascii_digit(),
    };
    if !sep2_ok {
        return None;
    }
    if !sep2.is_ascii_digit() {
        i += 1;
    }
    if !digits_at(b, i, 4) {
        return None;
    }
    i += 4;
    ends_cleanly(b, i, true).then_some(i)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Finds a phone number the way the scanner does: at the first `+`,
    /// `(` or digit that starts a word.
    fn find(s: &str) -> Option<&str> {
        let b = s.as_bytes();
        let start = b
            .iter()
            .position(|&c| c == b'+' || c == b'(' || c.is_ascii_digit())?;
        match_phone(b, start).map(|e| &s[start..e])
    }

    #[test]
    fn north_american() {
        for n in [
            "(415) 555-2671",
            "(415)555-2671",
            "415-555-2671",
            "415.555.2671",
            "415 555 2671",
            "415 555-2671",
            "1-800-555-0199",
            "1 (800) 555-0199",
            "555-123-4567",
        ] {
            assert_eq!(find(&format!("call {n} now")), Some(n), "{n}");
        }
    }

    #[test]
    fn international() {
        for n in [
            "+14155552671",
            "+1 415 555 2671",
            "+1-415-555-2671",
            "+1 (415) 555-2671",
            "+44 20 7946 0958",
            "+44 (0)20 7946 0958",
            "+49 30 1234567",
            "+33 1 23 45 67 89",
            "+91-98765-43210",
            "+86 10 1234 5678",
            "+81-3-1234-5678",
            "+353 86 123 4567",
            "+61 2 9876 5432",
            "0044 20 7946 0958",
            // Short plans' numbers, solid or in groups.
            "+24762889",
            "+247 62889",
            "+6837012",
            "+69031012",
        ] {
            assert_eq!(find(&format!("tel: {n}.")), Some(n), "{n}");
        }
        // Five solid digits after a plan whose numbers are longer.
        for n in ["+4412345", "+3361234"] {
            assert_eq!(find(&format!("tel: {n}.")), None, "{n}");
        }
    }

    #[test]
    fn national_with_trunk_prefix() {
        for n in [
            "020 7946 0958",
            "01 23 45 67 89",
            "030/1234567",
            "0412 345 678",
            "(02) 9876 5432",
        ] {
            assert_eq!(find(&format!("ring {n} today")), Some(n), "{n}");
        }
    }

    #[test]
    fn bare_digits_versions_dates_and_ids_are_not_phones() {
        for s in [
            "order 4155552671 shipped",
            "ts 1700000000123",
            "version 1.2.3",
            "on 2024-01-15",
            "at 12:30:45",
            "id 0001234567",
            "+1 415 555 267",
            "+210 123 456 789",
            "+1 415 555 26712",
            "415-555-2671-99",
            "415-555.2671",
            "01-02-2024",
            "+12",
        ] {
            assert_eq!(find(s), None, "{s}");
        }
    }

    #[test]
    fn extension_is_left_outside() {
        assert_eq!(find("415-555-2671x204"), Some("415-555-2671"));
    }
}
