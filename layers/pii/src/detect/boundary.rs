//! Token-boundary rules shared by the numeric detectors (phone numbers
//! without `+`, cards, SSNs, passports): what may stand before and after a
//! match.
//!
//! A number is one of these kinds only when it is a token of its own. It
//! is not when it is the tail or the head of a larger token: the fraction,
//! seconds or process id of a timestamp (`00:00:00.008 25746`), a date
//! (`06/10/2013`, `0701/114930`), a version (`6.1.7601`), a negative number
//! or an id joined to a word (`blk_-4980916519894289629`), a host and port
//! (`host:8042`), a file name (`4111111111111111.log`).

use super::bytes::{digits_end, is_word};

/// Whether a numeric match may start at `s`.
///
/// Not after a word byte, nor after `-` or `$` (a negative number, an id
/// joined by a dash, money), nor after `.`, `:`, `/` or `,` that follow a
/// digit (the second part of a decimal, a time, a date or a list of
/// numbers written without spaces).
#[inline]
pub(crate) fn start_ok(b: &[u8], s: usize) -> bool {
    let Some(&p) = s.checked_sub(1).and_then(|k| b.get(k)) else {
        return true;
    };
    match p {
        b'-' | b'$' => false,
        b'.' | b':' | b'/' | b',' => !(s >= 2 && b[s - 2].is_ascii_digit()),
        c => !is_word(c),
    }
}

/// Whether a numeric match may end at `e`.
///
/// Not before a word byte, nor before `.`, `:`, `/` or `-` that join
/// another letter or digit to it (`114930.148`, `0701/114930`,
/// `12:30`, `-1444972147527`, `.log`).
#[inline]
pub(crate) fn end_ok(b: &[u8], e: usize) -> bool {
    match (b.get(e), b.get(e + 1)) {
        (None, _) => true,
        (Some(&c), _) if is_word(c) => false,
        (Some(b'.' | b':' | b'/' | b'-'), Some(&n)) => !n.is_ascii_alphanumeric(),
        _ => true,
    }
}

/// The end of the dotted number that starts at `s`: digits, and `.` each
/// followed by a digit (a decimal, a version). A rejected number's whole
/// dotted run is passed over at once; other joiners are not crossed, since
/// an address may follow them (`host-41/10.190.173.170`).
#[inline]
pub(crate) fn token_end(b: &[u8], s: usize) -> usize {
    let mut i = digits_end(b, s);
    while b.get(i) == Some(&b'.') && b.get(i + 1).is_some_and(u8::is_ascii_digit) {
        i = digits_end(b, i + 2);
    }
    i
}

/// Whether `t` is a month-day and a time of day joined by `/`
/// (`0701/114930`, as Chromium-style logs stamp their lines).
pub(crate) fn is_date_time(t: &[u8]) -> bool {
    let two = |k: usize| u32::from(t[k] - b'0') * 10 + u32::from(t[k + 1] - b'0');
    t.len() == 11
        && t[4] == b'/'
        && t.iter()
            .enumerate()
            .all(|(k, c)| k == 4 || c.is_ascii_digit())
        && (1..=12).contains(&two(0))
        && (1..=31).contains(&two(2))
        && two(5) < 24
        && two(7) < 60
        && two(9) < 61
}

/// Whether the number at `s` follows a four-character group with a digit
/// in it that is itself part of a code: it holds a letter (`RS35 2600 …`,
/// `BE71 0961 …`), or another such group comes before it (`NB00 0000
/// 0101 …`). Then the number is the rest of a longer grouped code (an
/// account number, an IBAN that failed its check), not one of its own.
#[inline]
pub(crate) fn after_code_group(b: &[u8], s: usize) -> bool {
    // The four-character group ending before the space at `s - 1`.
    let group = |s: usize| {
        (s >= 5
            && b[s - 1] == b' '
            && b[s - 5..s - 1].iter().all(u8::is_ascii_alphanumeric)
            && (s == 5 || b[s - 6] == b' '))
            .then(|| &b[s - 5..s - 1])
    };
    let digit = |g: &[u8]| g.iter().any(u8::is_ascii_digit);
    let letter = |g: &[u8]| g.iter().any(u8::is_ascii_alphabetic);
    match (group(s), s.checked_sub(5).and_then(group)) {
        (Some(g), _) if digit(g) && letter(g) => true,
        (Some(g), Some(h)) => digit(g) || digit(h),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn starts() {
        let ok = |s: &str, at: usize| start_ok(s.as_bytes(), at);
        assert!(ok("4111", 0));
        assert!(ok("card 4111", 5));
        assert!(ok("(4111", 1));
        assert!(ok("tel:4111", 4));
        assert!(!ok("00:00:00.008", 9));
        assert!(!ok("12:30", 3));
        assert!(!ok("blk_-4980", 5));
        assert!(!ok("x -4980", 3));
        assert!(!ok("$4980", 1));
        assert!(!ok("06/10", 3));
        assert!(!ok("a4980", 1));
    }

    #[test]
    fn ends() {
        let ok = |s: &str, at: usize| end_ok(s.as_bytes(), at);
        assert!(ok("4111", 4));
        assert!(ok("4111 x", 4));
        assert!(ok("4111. Next", 4));
        assert!(ok("4111, 5", 4));
        assert!(ok("4111-", 4));
        assert!(!ok("4111.148", 4));
        assert!(!ok("4111:WARN", 4));
        assert!(!ok("4111-1444", 4));
        assert!(!ok("4111.log", 4));
        assert!(!ok("4111ms", 4));
    }

    #[test]
    fn date_times() {
        assert!(is_date_time(b"0701/114930"));
        assert!(!is_date_time(b"0301/234567"));
        assert!(!is_date_time(b"030/1234567"));
    }

    #[test]
    fn tokens() {
        let end = |s: &str| token_end(s.as_bytes(), 0);
        assert_eq!(end("12.4ms cache"), 4);
        assert_eq!(end("6.1.7601.23505_none"), 14);
        assert_eq!(end("2024-01-15T10:30:00.123Z x"), 4);
        assert_eq!(end("41/10.190.173.170"), 2);
        assert_eq!(end("42, 7"), 2);
    }
}
