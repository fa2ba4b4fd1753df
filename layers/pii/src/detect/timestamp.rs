//! Dates, and dates with a time of day, as logs stamp their lines
//! (`2015-10-18 18:01:47,978`, `17/06/09 20:10:40`, `2005.11.09`,
//! `10.30 16:49:06`, `081109 203615`): none of the numeric kinds.
//!
//! Each group of such a stamp is a trigger, and the first is read as a
//! number joined to others, which every numeric kind is tried on (a phone
//! number, an SSN, a card, a national identifier, a number a context word
//! names): about 1,400 instructions for `2015-10-18`, the better part of a
//! log line's scan. [`end`] rules a number out in a few dozen and reads
//! a stamp in ~200, and the pass then passes it over whole, unless a
//! context word stands
//! before it (`phone 2015-10-18`), where the rules read it as they would
//! any number. `detect::tests::a_stamp_passed_over_is_one_the_rules_pass_over`
//! checks that the pass finds the same with and without this short-cut.

use super::{boundary, bytes};

/// The end of the date (with a time of day after it, if any) whose first
/// digit is at `i`, when `b[i..]` starts with one of the forms below, each
/// field a valid month, day, hour, minute or second, and nothing joins the
/// stamp to more ([`boundary::end_ok`]):
/// - `YYYY-MM-DD`, `YYYY/MM/DD`, `YYYY.MM.DD`;
/// - `DD-MM-YYYY`, `MM/DD/YYYY`, `DD.MM.YYYY` (any of the three
///   separators, day and month either way round);
/// - `YY/MM/DD` and `DD.MM.YY` likewise (the same separator twice), but
///   only with a time of day after them;
/// - `MM.DD` or `DD/MM` with a time of day after them;
/// - `YYMMDD` with a time `HHMMSS` after one space.
///
/// A time of day is `HH:MM`, `HH:MM:SS`, or either with a fraction of a
/// second after `.` or `,` (up to nine digits), after one space or `T`.
pub(crate) fn end(b: &[u8], i: usize) -> Option<usize> {
    // The first group's length from the byte after it (every form's first
    // group has two, four or six digits), without counting a long run.
    let digit = |k: usize| b.get(k).is_some_and(u8::is_ascii_digit);
    let date_sep = |k: usize| matches!(b.get(k), Some(b'-' | b'/' | b'.'));
    let first = if !digit(i + 1) {
        return None;
    } else if date_sep(i + 2) {
        2
    } else if date_sep(i + 4) && digit(i + 2) && digit(i + 3) {
        4
    } else if b.get(i + 6) == Some(&b' ') && (i + 2..i + 6).all(digit) {
        6
    } else {
        return None;
    };
    let sep = b[i + first];
    let e = match (first, sep) {
        (4, b'-' | b'/' | b'.') => {
            let month = field(b, i + 5)?;
            (b.get(i + 7) == Some(&sep)).then_some(())?;
            let day = field(b, i + 8)?;
            month_day(month, day).then_some(())?;
            time_after(b, i + 10).unwrap_or(i + 10)
        }
        (2, b'-' | b'/' | b'.') => {
            let (f1, f2) = (field(b, i)?, field(b, i + 3)?);
            if b.get(i + 5) == Some(&sep) && group(b, i + 6) == Some(4) {
                // `DD.MM.YYYY` or `MM/DD/YYYY`.
                (month_day(f2, f1) || month_day(f1, f2)).then_some(i + 10)?;
                time_after(b, i + 10).unwrap_or(i + 10)
            } else if b.get(i + 5) == Some(&sep) {
                // `YY/MM/DD` or `DD.MM.YY`, only with a time after it.
                let f3 = field(b, i + 6)?;
                (month_day(f2, f3) || month_day(f2, f1) || month_day(f1, f2)).then_some(())?;
                time_after(b, i + 8)?
            } else {
                // `MM.DD` or `DD/MM`, only with a time after it.
                (month_day(f1, f2) || month_day(f2, f1)).then_some(())?;
                time_after(b, i + 5)?
            }
        }
        (6, b' ') => {
            month_day(two(b, i + 2)?, two(b, i + 4)?).then_some(())?;
            let h = i + 7;
            (group(b, h) == Some(6)).then_some(())?;
            let (hour, minute, second) = (two(b, h)?, two(b, h + 2)?, two(b, h + 4)?);
            (hour < 24 && minute < 60 && second <= 60).then_some(h + 6)?
        }
        _ => return None,
    };
    boundary::end_ok(b, e).then_some(e)
}

/// The end of a time of day after the date that ends at `d`: one space or
/// `T`, then `HH:MM`, `HH:MM:SS` or `HH:MM:SS` with a fraction.
#[inline]
fn time_after(b: &[u8], d: usize) -> Option<usize> {
    if !matches!(b.get(d), Some(b' ' | b'T')) {
        return None;
    }
    let h = d + 1;
    let (hour, minute) = (field(b, h)?, field(b, h + 3)?);
    if b.get(h + 2) != Some(&b':') || hour >= 24 || minute >= 60 {
        return None;
    }
    let mut e = h + 5;
    if b.get(e) == Some(&b':') {
        let second = field(b, e + 1)?;
        if second > 60 {
            return None;
        }
        e += 3;
        if matches!(b.get(e), Some(b'.' | b',')) {
            let fraction = group(b, e + 1)?;
            if fraction > 9 {
                return None;
            }
            e += 1 + fraction;
        }
    }
    Some(e)
}

/// Whether `month` and `day` are a month and a day of it.
#[inline(always)]
fn month_day(month: u32, day: u32) -> bool {
    (1..=12).contains(&month) && (1..=31).contains(&day)
}

/// The number of digits at `k`, if there is at least one.
#[inline(always)]
fn group(b: &[u8], k: usize) -> Option<usize> {
    let n = bytes::digits_end(b, k) - k;
    (n > 0).then_some(n)
}

/// The value of the two digits at `k` (more may follow).
#[inline(always)]
fn two(b: &[u8], k: usize) -> Option<u32> {
    match b.get(k..k + 2)? {
        &[x, y] if x.is_ascii_digit() && y.is_ascii_digit() => {
            Some(u32::from(x - b'0') * 10 + u32::from(y - b'0'))
        }
        _ => None,
    }
}

/// The value of the two digits at `k` when no digit follows them: a
/// field of its own.
#[inline(always)]
fn field(b: &[u8], k: usize) -> Option<u32> {
    if b.get(k + 2).is_some_and(u8::is_ascii_digit) {
        return None;
    }
    two(b, k)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stamps_are_read_to_their_end() {
        fn read(s: &str) -> Option<&str> {
            end(s.as_bytes(), 0).map(|e| &s[..e])
        }
        for (text, stamp) in [
            ("2015-10-18 18:01:47,978 INFO", "2015-10-18 18:01:47,978"),
            ("2015-10-18 x", "2015-10-18"),
            ("2005.11.09 R02", "2005.11.09"),
            (
                "2024/02/29T23:59:60.123456789]",
                "2024/02/29T23:59:60.123456789",
            ),
            ("17/06/09 20:10:40 INFO", "17/06/09 20:10:40"),
            ("10.30 16:49:06] x", "10.30 16:49:06"),
            ("31.12.1999 ok", "31.12.1999"),
            ("12/31/1999 23:59", "12/31/1999 23:59"),
            ("081109 203615 148 INFO", "081109 203615"),
        ] {
            assert_eq!(read(text), Some(stamp), "{text}");
        }
        for text in [
            "2015-13-18",          // no thirteenth month
            "2015-10-32",          // nor 32nd day
            "2015-10/18",          // two separators
            "2015-10-181",         // a longer group
            "2015-10-18.5",        // joined to more
            "2015-10-18x",         // inside a word
            "17/06/09",            // a two-digit year without a time
            "10.30",               // a decimal
            "10.30 25:00",         // no 25th hour
            "10.30 16:61",         // nor minute 61
            "081109 203615x",      // joined to a word
            "081109 246015",       // no 24th hour
            "081109 2036",         // a short time
            "555-12-3456",         // an SSN's groups
            "4111 1111 1111 1111", // a card's
        ] {
            assert_eq!(read(text), None, "{text}");
        }
        // A date with a time that is not one ends with the date.
        assert_eq!(read("2015-10-18 18:61 x"), Some("2015-10-18"));
        assert_eq!(read("2015-10-18 18:01:47.1234567890"), Some("2015-10-18"));
    }
}
