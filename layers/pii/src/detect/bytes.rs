//! Byte classes shared by the detectors.

/// ASCII letter or digit.
#[inline]
pub(crate) fn is_alnum(b: u8) -> bool {
    b.is_ascii_alphanumeric()
}

/// A byte that continues a word: ASCII letter, digit or `_`.
#[inline]
pub(crate) fn is_word(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_'
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

/// Whether `b[i..]` starts with `prefix`, ignoring ASCII case.
#[inline]
pub(crate) fn starts_with_ignore_case(b: &[u8], i: usize, prefix: &[u8]) -> bool {
    b.get(i..i + prefix.len())
        .is_some_and(|s| s.eq_ignore_ascii_case(prefix))
}
