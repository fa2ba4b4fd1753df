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

/// [`digits_end`] eight bytes at a time while eight remain, then a byte at
/// a time: for a run that is likely long (a number the dispatch found too
/// long to pass over, an epoch or an id, read again by the rules); a short
/// run costs a few instructions more than with [`digits_end`].
#[inline]
pub(crate) fn long_digits_end(b: &[u8], mut i: usize) -> usize {
    while let Some(chunk) = b.get(i..i + 8) {
        let mut word = [0u8; 8];
        word.copy_from_slice(chunk);
        let others = not_digits(u64::from_le_bytes(word));
        if others != 0 {
            return i + (others.trailing_zeros() / 8) as usize;
        }
        i += 8;
    }
    digits_end(b, i)
}

/// The high bit of each byte of `w` that is not an ASCII digit.
#[inline]
fn not_digits(w: u64) -> u64 {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    // Digits become 0 to 9; every other byte is 10 or more, or has its
    // high bit set (no carry crosses a byte: 0x7F + 0x76 < 0x100).
    let a = w ^ (u64::from(b'0') * ONES);
    let ten_or_more = (a & !HIGH) + (0x80 - 10) * ONES;
    (ten_or_more | a) & HIGH
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
    fn digit_runs_end_where_the_bytewise_reading_ends() {
        // Every byte beside digits (the ones around `0`..`9` above all),
        // at every offset of a run, in texts longer and shorter than a word.
        let mut state = 0x2545_F491_4F6C_DD1Du64;
        for _ in 0..20_000 {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            let len = (state % 24) as usize;
            let text: Vec<u8> = (0..len)
                .map(|k| {
                    let r = state.rotate_left(k as u32 * 5) as u8;
                    match r % 4 {
                        0 => r,
                        1 => b'/' + r % 13,
                        _ => b'0' + r % 10,
                    }
                })
                .collect();
            for i in 0..=len {
                assert_eq!(
                    long_digits_end(&text, i),
                    digits_end(&text, i),
                    "{text:?} {i}"
                );
            }
        }
        for c in 0..=255u8 {
            let text = [b'1', b'2', b'3', c, b'4', b'5', b'6', b'7', b'8', b'9'];
            assert_eq!(long_digits_end(&text, 0), digits_end(&text, 0), "{c}");
        }
    }

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
