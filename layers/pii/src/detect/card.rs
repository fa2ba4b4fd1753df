//! Payment card numbers: 13–19 digits, grouped or not, with a known issuer
//! prefix and length, and a valid Luhn check digit.

use super::bytes::is_word;

/// The longest span a card number can take: 19 digits and 18 separators.
const MAX_SPAN: usize = 37;

/// Reads a card number starting at the digit at `s`; returns its end.
///
/// Groups may be separated by single spaces or single dashes (the same
/// separator throughout), the first of four digits and the others of 3–8;
/// an ungrouped number is one run of 13–19 digits. The number must end
/// where a word ends.
pub(crate) fn match_card(b: &[u8], s: usize) -> Option<usize> {
    // A card starts with a group of 3+ digits, or is one run of 13+.
    if !b
        .get(s..s + 3)
        .is_some_and(|d| d.iter().all(u8::is_ascii_digit))
    {
        return None;
    }
    let mut digits = [0u8; 19];
    let mut count = 0usize;
    // Candidate ends: (end position, digit count) at each group end.
    let mut ends = [(0usize, 0usize); 8];
    let mut n_ends = 0usize;
    let mut sep: Option<u8> = None;
    let mut i = s;
    loop {
        let group_start = i;
        while let Some(&c) = b.get(i) {
            if !c.is_ascii_digit() {
                break;
            }
            if count == digits.len() {
                // More than 19 digits in a row: not a card (an id, a hash).
                if sep.is_none() || i - group_start >= 8 {
                    return None;
                }
                break;
            }
            digits[count] = c - b'0';
            count += 1;
            i += 1;
        }
        let group_len = i - group_start;
        let continues =
            matches!((b.get(i), b.get(i + 1)), (Some(b' ' | b'-'), Some(d)) if d.is_ascii_digit());
        // Printed card numbers start with a group of four; which later
        // groupings are printed is checked on the candidate ends below.
        let group_ok = if n_ends == 0 {
            group_len == 4
        } else {
            (1..=8).contains(&group_len)
        };
        if (sep.is_some() || continues) && !group_ok {
            // Not a group: only a solid first run can still be a number.
            if n_ends == 0 {
                ends[0] = (i, count);
                n_ends = 1;
            }
            break;
        }
        if n_ends == ends.len() {
            break;
        }
        ends[n_ends] = (i, count);
        n_ends += 1;
        if i - s >= MAX_SPAN {
            break;
        }
        match (b.get(i), b.get(i + 1)) {
            (Some(&c @ (b' ' | b'-')), Some(d))
                if d.is_ascii_digit() && sep.is_none_or(|x| x == c) =>
            {
                sep = Some(c);
                i += 1;
            }
            _ => break,
        }
    }
    // Longest valid reading first.
    let lens = |k: usize| ends[k].1 - if k == 0 { 0 } else { ends[k - 1].1 };
    (0..n_ends)
        .rev()
        .find(|&k| {
            let (end, n) = ends[k];
            (13..=19).contains(&n)
                && printed_grouping(k, lens)
                && b.get(end).is_none_or(|&c| !is_word(c))
                && is_card_number(&digits[..n])
        })
        .map(|k| ends[k].0)
}

/// Whether groups `0..=last` (lengths from `len`) are a grouping issuers
/// print: one solid run; fours with a shorter last group (4-4-4-4,
/// 4-4-4-1, 4-4-4-4-3); or 4-6-5 (Amex) and 4-6-4 (Diners).
fn printed_grouping(last: usize, len: impl Fn(usize) -> usize) -> bool {
    if last == 0 {
        return true;
    }
    if len(0) != 4 {
        return false;
    }
    if len(1) == 6 {
        return last == 2 && matches!(len(2), 4 | 5);
    }
    (1..last).all(|k| len(k) == 4) && (1..=4).contains(&len(last))
}

/// Reads a card number at `s` like [`match_card`], and extends it while
/// a valid reading that starts at one of its later groups runs further:
/// where readings overlap (`2596 6011 4285 3846 0004` reads as a card
/// both from its first and from its second group), every digit of either
/// is covered.
pub(crate) fn match_card_run(b: &[u8], s: usize) -> Option<usize> {
    let mut end = match_card(b, s)?;
    let mut g = s;
    while g < end {
        match (b.get(g), b.get(g + 1)) {
            (Some(b' ' | b'-'), Some(d)) if d.is_ascii_digit() => {
                if let Some(e) = match_card(b, g + 1) {
                    end = end.max(e);
                }
            }
            _ => {}
        }
        g += 1;
    }
    Some(end)
}

/// Whether `digits` (values 0–9) form a card number: a known issuer
/// prefix with one of its lengths, and a valid Luhn check digit.
pub(crate) fn is_card_number(digits: &[u8]) -> bool {
    issuer_accepts(digits) && luhn_valid(digits)
}

/// The smallest number of 13 digits, the fewest a card number has.
pub(crate) const CARD_MIN: u128 = 1_000_000_000_000;

/// Whether the decimal digits of `n` form a card number. Inline for its
/// length check: most integers logged (counts, ids, statuses) are short.
#[inline]
pub(crate) fn is_card_u128(n: u128) -> bool {
    (CARD_MIN..10_000_000_000_000_000_000).contains(&n) && card_digits(n)
}

/// [`is_card_u128`] for `n` of 13 to 19 digits.
fn card_digits(n: u128) -> bool {
    let mut buf = [0u8; 19];
    let mut len = 0;
    let mut v = n;
    while v > 0 {
        buf[len] = (v % 10) as u8;
        v /= 10;
        len += 1;
    }
    buf[..len].reverse();
    is_card_number(&buf[..len])
}

fn prefix(digits: &[u8], n: usize) -> u32 {
    digits
        .iter()
        .take(n)
        .fold(0u32, |acc, &d| acc * 10 + u32::from(d))
}

fn issuer_accepts(d: &[u8]) -> bool {
    let len = d.len();
    let p1 = prefix(d, 1);
    let p2 = prefix(d, 2);
    let p3 = prefix(d, 3);
    let p4 = prefix(d, 4);
    let p6 = prefix(d, 6);
    // Visa
    (p1 == 4 && matches!(len, 13 | 16 | 19))
        // Mastercard
        || (((51..=55).contains(&p2) || (2221..=2720).contains(&p4)) && len == 16)
        // American Express
        || ((p2 == 34 || p2 == 37) && len == 15)
        // Discover, including the China UnionPay co-brand range
        || ((p4 == 6011 || (644..=649).contains(&p3) || p2 == 65 || (622126..=622925).contains(&p6))
            && (16..=19).contains(&len))
        // UnionPay
        || (p2 == 62 && (16..=19).contains(&len))
        // JCB
        || ((3528..=3589).contains(&p4) && (16..=19).contains(&len))
        // Diners Club
        || (((300..=305).contains(&p3) || p4 == 3095 || p2 == 36 || p2 == 38 || p2 == 39)
            && (14..=19).contains(&len))
        // Maestro
        || (matches!(p4, 5018 | 5020 | 5038 | 5893 | 6304 | 6759 | 6761 | 6762 | 6763)
            && (13..=19).contains(&len))
        // Mir
        || ((2200..=2204).contains(&p4) && (16..=19).contains(&len))
        // RuPay
        || ((p2 == 60 || p2 == 81 || p2 == 82 || p3 == 508 || p3 == 353 || p3 == 356) && len == 16)
        // Troy
        || (p4 == 9792 && len == 16)
        // UATP
        || (p1 == 1 && len == 15)
        // Dankort
        || (p4 == 5019 && len == 16)
        // Switch, Solo and Laser (UK and Irish debit)
        || (matches!(p4, 4903 | 4905 | 4911 | 4936 | 6331 | 6333 | 6334 | 6767)
            && matches!(len, 16 | 18 | 19))
        || (matches!(p4, 6304 | 6706 | 6709 | 6771) && (16..=19).contains(&len))
        // InstaPayment, InterPayment
        || ((637..=639).contains(&p3) && len == 16)
        || (p3 == 636 && (16..=19).contains(&len))
        // Verve
        || (((506_099..=506_198).contains(&p6) || (650_002..=650_027).contains(&p6))
            && matches!(len, 16 | 19))
}

/// The Luhn (mod 10) check over digit values.
pub(crate) fn luhn_valid(digits: &[u8]) -> bool {
    let sum: u32 = digits
        .iter()
        .rev()
        .enumerate()
        .map(|(i, &d)| {
            let d = u32::from(d);
            if i % 2 == 1 {
                let x = d * 2;
                if x > 9 { x - 9 } else { x }
            } else {
                d
            }
        })
        .sum();
    sum % 10 == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    fn find(s: &str) -> Option<&str> {
        let b = s.as_bytes();
        let start = b.iter().position(u8::is_ascii_digit)?;
        match_card(b, start).map(|e| &s[start..e])
    }

    #[test]
    fn known_test_numbers() {
        for n in [
            "4111111111111111",
            "4111 1111 1111 1111",
            "4111-1111-1111-1111",
            "5555555555554444",
            "5105 1051 0510 5100",
            "2223003122003222",
            "378282246310005",
            "3782 822463 10005",
            "371449635398431",
            "6011111111111117",
            "6011 0009 9013 9424",
            "3530111333300000",
            "30569309025904",
            "3056 930902 5904",
            "6200000000000005",
            "4222222222222",
            "122000000000003",
            "5019717010103742",
            "6331 1019 9999 0016",
            "6767 6767 6767 6767 671",
        ] {
            assert_eq!(find(&format!("card {n} ok")), Some(n), "{n}");
        }
    }

    #[test]
    fn near_misses() {
        for s in [
            "4111111111111112",      // Luhn fails
            "1234567812345670",      // Luhn passes, no issuer starts with 1
            "20240115123045",        // a timestamp
            "41111111111111111111",  // 20 digits
            "4111 1111 1111 1111x",  // runs into a word
            "4111-1111 1111-1111",   // mixed separators: the first reading fails Luhn
            "7031 5020 1506 0424 0", // no issuer starts with 7
            "4111 1111 111111 1",    // not a printed grouping
            "411111111111",          // 12 digits
            "9999999999999995",      // no issuer
        ] {
            assert_eq!(find(s), None, "{s}");
        }
    }

    #[test]
    fn overlapping_readings_are_covered_whole() {
        let b = b"2596 6011 4285 3846 0004";
        assert_eq!(match_card(b, 0), Some(19));
        assert_eq!(match_card_run(b, 0), Some(b.len()));
        let y = b"4111 1111 1111 1111 2024";
        assert_eq!(match_card_run(y, 0), Some(19));
    }

    #[test]
    fn a_number_before_a_card_does_not_take_its_digits() {
        // `303 5128 1403 4854` would pass as a 15-digit Diners number.
        assert_eq!(find("303 5128 1403 4854 0006"), None);
        let b = b"303 5128 1403 4854 0006";
        assert_eq!(match_card(b, 4), Some(b.len()));
    }

    #[test]
    fn a_card_followed_by_more_numbers_is_still_found() {
        assert_eq!(
            find("4111 1111 1111 1111 2024"),
            Some("4111 1111 1111 1111")
        );
    }

    #[test]
    fn integers() {
        assert!(is_card_u128(4111111111111111));
        assert!(!is_card_u128(4111111111111112));
        assert!(!is_card_u128(1_700_000_000_000));
        assert!(!is_card_u128(42));
    }
}
