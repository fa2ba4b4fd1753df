//! Byte classes shared by the detectors, answered by one table lookup.

const ALNUM: u8 = 1;
const WORD: u8 = 2;
const HEX: u8 = 4;
/// Allowed in an email's local part.
const LOCAL: u8 = 8;
/// Allowed in a domain label.
const LABEL: u8 = 16;
/// Allowed in a key name (`api_key`, `x-api-key`, `stripe.api.key`).
const KEY: u8 = 32;
/// base64url: letters, digits, `-`, `_`.
const B64URL: u8 = 64;
/// RFC 7235 token68: letters, digits, `-._~+/`.
const TOKEN68: u8 = 128;

static CLASS: [u8; 256] = {
    let mut t = [0u8; 256];
    let mut c = 0usize;
    while c < 256 {
        let b = c as u8;
        let alnum = b.is_ascii_alphanumeric();
        let mut f = 0;
        if alnum {
            f |= ALNUM | WORD | LOCAL | LABEL | KEY | B64URL | TOKEN68;
        }
        if b.is_ascii_hexdigit() {
            f |= HEX;
        }
        if b >= 0x80 {
            f |= LOCAL | LABEL;
        }
        match b {
            b'_' => f |= WORD | LOCAL | KEY | B64URL | TOKEN68,
            b'-' => f |= LOCAL | LABEL | KEY | B64URL | TOKEN68,
            b'.' => f |= LOCAL | KEY | TOKEN68,
            b'%' | b'\'' => f |= LOCAL,
            b'+' => f |= LOCAL | TOKEN68,
            b'~' | b'/' => f |= TOKEN68,
            _ => {}
        }
        t[c] = f;
        c += 1;
    }
    t
};

#[inline]
fn has(b: u8, flag: u8) -> bool {
    CLASS[usize::from(b)] & flag != 0
}

/// ASCII letter or digit.
#[inline]
pub(crate) fn is_alnum(b: u8) -> bool {
    has(b, ALNUM)
}

/// A byte that continues a word: ASCII letter, digit or `_`.
#[inline]
pub(crate) fn is_word(b: u8) -> bool {
    has(b, WORD)
}

/// An ASCII hex digit.
#[inline]
pub(crate) fn is_hex(b: u8) -> bool {
    has(b, HEX)
}

/// A byte of an email's local part: letters, digits, `._%+-'`, non-ASCII.
#[inline]
pub(crate) fn is_local(b: u8) -> bool {
    has(b, LOCAL)
}

/// A byte of a domain label: letters, digits, `-`, non-ASCII.
#[inline]
pub(crate) fn is_label(b: u8) -> bool {
    has(b, LABEL)
}

/// A byte of a key name: letters, digits, `_`, `-`, `.`.
#[inline]
pub(crate) fn is_key(b: u8) -> bool {
    has(b, KEY)
}

/// A base64url byte: letters, digits, `-`, `_`.
#[inline]
pub(crate) fn is_b64url(b: u8) -> bool {
    has(b, B64URL)
}

/// A token68 byte (the credential of an authorization value).
#[inline]
pub(crate) fn is_token68(b: u8) -> bool {
    has(b, TOKEN68)
}

/// Whether position `i` starts a word: nothing, or no word byte, before it.
#[inline]
pub(crate) fn word_starts_at(b: &[u8], i: usize) -> bool {
    i == 0 || b.get(i - 1).is_none_or(|&p| !is_word(p))
}

/// The end of the run of bytes from `i` on that satisfy `pred`.
#[inline]
pub(crate) fn run_end(b: &[u8], i: usize, pred: impl Fn(u8) -> bool) -> usize {
    b.get(i..)
        .and_then(|rest| rest.iter().position(|&c| !pred(c)))
        .map_or(b.len(), |n| i + n)
}

/// The end of the run of ASCII digits from `i` on.
#[inline]
pub(crate) fn digits_end(b: &[u8], mut i: usize) -> usize {
    while i < b.len() && b[i].is_ascii_digit() {
        i += 1;
    }
    i
}

/// Whether `b[i..]` starts with `prefix`, ignoring ASCII case.
#[inline]
pub(crate) fn starts_with_ignore_case(b: &[u8], i: usize, prefix: &[u8]) -> bool {
    b.get(i..i + prefix.len())
        .is_some_and(|s| s.eq_ignore_ascii_case(prefix))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classes_match_their_definitions() {
        for c in 0..=255u8 {
            assert_eq!(is_alnum(c), c.is_ascii_alphanumeric());
            assert_eq!(is_word(c), c.is_ascii_alphanumeric() || c == b'_');
            assert_eq!(is_hex(c), c.is_ascii_hexdigit());
            assert_eq!(
                is_local(c),
                c.is_ascii_alphanumeric() || b"._%+-'".contains(&c) || c >= 0x80
            );
            assert_eq!(
                is_label(c),
                c.is_ascii_alphanumeric() || c == b'-' || c >= 0x80
            );
            assert_eq!(is_key(c), c.is_ascii_alphanumeric() || b"_-.".contains(&c));
            assert_eq!(
                is_b64url(c),
                c.is_ascii_alphanumeric() || b"-_".contains(&c)
            );
            assert_eq!(
                is_token68(c),
                c.is_ascii_alphanumeric() || b"-._~+/".contains(&c)
            );
        }
    }
}
