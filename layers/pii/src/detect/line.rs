//! What the pass learns about its whole text once, the first time a
//! detector asks, rather than again at each trigger.
//!
//! Today that is where the first word that may name a password stands
//! (`pas…` or `pwd`, any case): a password announced in its clause
//! (`Password does not meet policy: Winter2024`, see
//! [`clause_password`](super::credentials::clause_password)) needs one
//! before its colon, and most log lines hold colons (`sshd[24200]:`,
//! `kernel:`, `host:443`) but no such word before them. A vector search of
//! the text up to the colon asked about, each byte searched at most once
//! in a pass, rules them out, where each colon read its value and the 48
//! bytes before it.

/// The facts about one text that a pass has looked up so far.
#[derive(Debug, Default)]
pub(crate) struct Line {
    /// How many of the text's first positions were searched for a word
    /// that may name a password, and the first found there, if any.
    searched: usize,
    password_word: Option<usize>,
}

impl Line {
    /// The position of the first `pas` or `pwd` (any case) that ends at or
    /// before `d` in `b` (the text this `Line` is about). Each position of
    /// the text is searched at most once, however many times this is asked:
    /// only the part past the last search, up to `d`.
    #[inline]
    pub(crate) fn password_word_before(&mut self, b: &[u8], d: usize) -> Option<usize> {
        // Words that end at or before `d` start before `to`.
        let to = d.saturating_sub(2);
        if self.password_word.is_none() && self.searched < to {
            self.password_word = first_password_word(b, self.searched, to);
            self.searched = to;
        }
        self.password_word.filter(|&p| p + 3 <= d)
    }
}

/// Whether `w` (three bytes) starts a word that may name a password:
/// `pas` or `pwd`, any case.
#[inline]
pub(crate) fn is_password_word(w: &[u8]) -> bool {
    let fold = |c: u8| c | 0x20;
    let (p, a, s) = (fold(w[0]), fold(w[1]), fold(w[2]));
    p == b'p' && ((a == b'a' && s == b's') || (a == b'w' && s == b'd'))
}

/// The first position in `from..to` of `b` where `pas` or `pwd` (any
/// case) starts: a vector search for `p` sixteen bytes at a time (the last
/// block overlaps the one before), each `p` then read with the two bytes
/// after it.
#[cfg(target_arch = "x86_64")]
fn first_password_word(b: &[u8], from: usize, to: usize) -> Option<usize> {
    let n = b.len();
    let to = to.min(n.saturating_sub(2));
    let mut k = from;
    while k < to {
        let (start, mut m) = if let Some(chunk) = b.get(k..k + 16) {
            (k, sse2::folded_p(chunk))
        } else if n >= 16 {
            let start = n - 16;
            (
                start,
                sse2::folded_p(&b[start..]) & (u32::MAX << (k - start)),
            )
        } else {
            return first_password_word_portable(b, k, to);
        };
        while m != 0 {
            let p = start + m.trailing_zeros() as usize;
            if p >= to {
                return None;
            }
            if is_password_word(&b[p..p + 3]) {
                return Some(p);
            }
            m &= m - 1;
        }
        k = start + 16;
    }
    None
}

#[cfg(not(target_arch = "x86_64"))]
fn first_password_word(b: &[u8], from: usize, to: usize) -> Option<usize> {
    first_password_word_portable(b, from, to)
}

/// [`first_password_word`] one position at a time.
fn first_password_word_portable(b: &[u8], from: usize, to: usize) -> Option<usize> {
    let to = to.min(b.len().saturating_sub(2));
    (from..to).find(|&p| is_password_word(&b[p..p + 3]))
}

/// The vector test for the first byte of [`is_password_word`].
///
/// Measured: the loghub lines' clause-password checks fall from ~350
/// instructions a line to ~160, the search included (BENCHMARKS.md); SSE2
/// is part of the x86-64 baseline, so there is no run-time detection to
/// do.
#[cfg(target_arch = "x86_64")]
mod sse2 {
    use std::arch::x86_64::{
        _mm_cmpeq_epi8, _mm_loadu_si128, _mm_movemask_epi8, _mm_or_si128, _mm_set1_epi8,
    };

    /// One bit per byte of `chunk` (which must be 16 bytes long; other
    /// lengths give 0) that is `p` or `P`.
    #[inline]
    #[allow(unsafe_code)]
    pub(super) fn folded_p(chunk: &[u8]) -> u32 {
        let Ok(bytes) = <&[u8; 16]>::try_from(chunk) else {
            return 0;
        };
        // SAFETY: SSE2 is always available on x86_64 (part of the
        // architecture's baseline). `_mm_loadu_si128` reads exactly the 16
        // bytes of `bytes`, an `&[u8; 16]`, and has no alignment
        // requirement; the other intrinsics work on registers only.
        unsafe {
            let v = _mm_or_si128(_mm_loadu_si128(bytes.as_ptr().cast()), _mm_set1_epi8(0x20));
            _mm_movemask_epi8(_mm_cmpeq_epi8(v, _mm_set1_epi8(b'p' as i8))) as u32
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_password_word_is_found_in_any_case_before_the_place_asked() {
        let before = |s: &str, d: usize| Line::default().password_word_before(s.as_bytes(), d);
        assert_eq!(before("", 0), None);
        assert_eq!(before("pa", 2), None);
        assert_eq!(before("pas", 3), Some(0));
        assert_eq!(before("pas", 2), None);
        assert_eq!(before("x PWD", 5), Some(2));
        let text = "Failed password for root: x";
        assert_eq!(before(text, text.find(':').unwrap()), Some(7));
        assert_eq!(before("kernel: mapping", 6), None);
        // In the last block, which overlaps the one before.
        let long = format!("{}PaSs: x", "x".repeat(40));
        assert_eq!(before(&long, 44), Some(40));
        assert_eq!(before(&long, 42), None);
    }

    /// Asked again further on, the search goes on from where it stopped
    /// and finds the same as one search would.
    #[test]
    fn asked_in_steps_finds_what_one_search_finds() {
        let text = format!("{}a: b{}pwd: x pass: y", "x".repeat(20), "y".repeat(30));
        let b = text.as_bytes();
        let whole: Vec<_> = (0..=b.len())
            .map(|d| Line::default().password_word_before(b, d))
            .collect();
        for step in 1..8 {
            let mut line = Line::default();
            for d in (0..=b.len()).step_by(step) {
                assert_eq!(line.password_word_before(b, d), whole[d], "{d} by {step}");
            }
        }
    }

    /// The vector search against the portable one, at every position and
    /// length of texts holding each byte that folds to a letter of the
    /// words (and their neighbours, which must not), over every range.
    #[test]
    fn agrees_with_the_portable_search() {
        // Under Miri (`./scripts/miri`, for the vector loads), the lengths
        // around one block and its overlapping last one, and fewer ranges.
        let lens = if cfg!(miri) { 14..20 } else { 0..50 };
        for len in lens {
            for place in 0..len.max(1) {
                for &(x, y, z) in &[
                    (b'p', b'a', b's'),
                    (b'P', b'W', b'D'),
                    (b'p', b'w', b's'),
                    (b'0', b'A', b'S'),
                    (b'P', b'A', b'@'),
                    (b'\x50', b'\x61', b'\x73'),
                    (b'\xF0', b'a', b's'),
                ] {
                    let mut text = vec![b'.'; len];
                    for (k, c) in [x, y, z].into_iter().enumerate() {
                        if let Some(slot) = text.get_mut(place + k) {
                            *slot = c;
                        }
                    }
                    let ranges: Vec<(usize, usize)> = if cfg!(miri) {
                        vec![(0, len + 1), (place.min(len), len + 1)]
                    } else {
                        (0..=len)
                            .flat_map(|from| (from..=len + 1).map(move |to| (from, to)))
                            .collect()
                    };
                    for (from, to) in ranges {
                        assert_eq!(
                            first_password_word(&text, from, to),
                            first_password_word_portable(&text, from, to),
                            "{:?} {from}..{to}",
                            String::from_utf8_lossy(&text)
                        );
                    }
                }
            }
        }
    }
}
