//! The keys a thread has found to name nothing, remembered so that the
//! next line with the same key skips reading it.
//!
//! A log's keys repeat from one line to the next (`dfs.FSNamesystem:`,
//! `proxy.cse.cuhk.edu.hk:`, `rhost=`), and telling that a key names no
//! secret, phone or personal field costs the key filters a read back of
//! every byte, and the full reading when a filter passes (several hundred
//! instructions for a dotted Java logger name). What they decide depends
//! only on the key's bytes, so a key found to name nothing is remembered,
//! per thread, by those bytes and the detectors that decided it: the next
//! time, one read of the key and one comparison settle it.
//!
//! A key of at most [`MAX_KEY`] bytes is remembered when it stands right
//! before its delimiter (`key=`, `key:`), before a bracketed process ID
//! (`sshd[24200]:`) or before spaces (`total = 1072`), the last two
//! marked as such. The bytes remembered are the key, the two before it
//! and whether the scan's floor stands there: every reading of such a key
//! looks at nothing else (see [`Window::at`]). A thread
//! keeps 256 windows of up to 14 bytes and 128 longer ones (about 18 KB)
//! in core's per-thread [`SiteCache`]s, by the detectors' owner and the
//! window's bytes.

use warden_core::internal::{LocalSiteCache, SiteCache, SiteKey};

use super::bytes::is_key;

/// The longest key remembered, in bytes (more when the scan's floor
/// stands within two bytes before it).
const MAX_KEY: usize = 62;

/// Bytes of a window: up to two before the key, and the key.
const WINDOW: usize = MAX_KEY + 2;

/// Blocks of sixteen bytes in a window.
const BLOCKS: usize = WINDOW / 16;

/// The longest window kept whole in a cache key: its last block has two
/// bytes to spare for the window's shape (see [`Window::key`]).
const SHORT: usize = 14;

/// The shape's mark of a key found before a bracketed ID.
const BRACKETED: u16 = 1 << 10;
/// The shape's mark of a key found before spaces.
const SPACED: u16 = 1 << 11;

thread_local! {
    /// Windows of up to [`SHORT`] bytes (the shape in the block's first
    /// two bytes): the key is all there is.
    static SHORT_KEYS: SiteCache<(), 256> = const { SiteCache::new(()) };
    /// Longer windows by their last block; the shape and the blocks before
    /// it are the answer, compared with the window's.
    static LONG_KEYS: SiteCache<(u16, [u128; BLOCKS - 1]), 128> =
        const { SiteCache::new((0, [0; BLOCKS - 1])) };
}

/// Where a key's window stands in its text (the bytes from up to two
/// before the key to its delimiter), with the window's last sixteen bytes
/// and its shape (length, how many stand before the key, whether the
/// scan's floor is at the window's start): what the memo compares.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Window {
    shape: u16,
    /// The window's last sixteen bytes (little-endian), the bytes before
    /// the window zero.
    last: u128,
    from: usize,
    to: usize,
}

/// The sixteen bytes of `b` before `end`, zeros (no key bytes) for those
/// before the text's start.
#[inline]
fn block(b: &[u8], end: usize) -> [u8; 16] {
    let mut block = [0u8; 16];
    if end >= 16 {
        block.copy_from_slice(&b[end - 16..end]);
    } else {
        block[16 - end..].copy_from_slice(&b[..end]);
    }
    block
}

/// How many key bytes end `block` (16 when all are).
#[inline]
fn key_run(block: &[u8; 16]) -> usize {
    // The mask's sixteen bits moved to the top; bit 15 stops a full run.
    ((!key_bytes(block) << 16) | 0x8000).leading_zeros() as usize
}

/// `KEEP[k]` keeps the last `k` bytes of a block (little-endian).
static KEEP: [u128; 17] = {
    let mut t = [0u128; 17];
    let mut k = 1;
    while k <= 16 {
        t[k] = !0u128 << (8 * (16 - k));
        k += 1;
    }
    t
};

/// The window's bytes in `b` as blocks of sixteen, right-aligned, the
/// last block last.
fn blocks(b: &[u8], from: usize, to: usize) -> [u128; BLOCKS] {
    let len = to - from;
    let mut blocks = [0u128; BLOCKS];
    for (k, slot) in blocks.iter_mut().rev().enumerate() {
        let end = 16 * k;
        if end >= len {
            break;
        }
        *slot = u128::from_le_bytes(block(b, to - end)) & KEEP[(len - end).min(16)];
    }
    blocks
}

impl Window {
    /// The window of the key before the delimiter at `d` (read back no
    /// further than `floor`), if the key is one the memo keeps: it ends
    /// right before `d` with a letter or digit, and it fits, with the two
    /// bytes before it, in [`WINDOW`] bytes (at most [`MAX_KEY`] key
    /// bytes, more when the floor stands within two bytes of it).
    ///
    /// Everything the detectors read to decide such a key lies in its
    /// window: the key bytes back to the first that is no key byte (or to
    /// the floor), and the personal filter's look at up to two bytes
    /// before them (its test of a key's last three letters) and at where
    /// the floor stands.
    #[inline]
    pub(crate) fn at(b: &[u8], d: usize, floor: usize) -> Option<Window> {
        if d == floor || !b[d - 1].is_ascii_alphanumeric() {
            return None;
        }
        let last = block(b, d);
        let mut run = key_run(&last);
        if run == 16 {
            run = Self::long_run(b, d);
        }
        let s = d.saturating_sub(run).max(floor);
        let from = s.saturating_sub(2).max(floor);
        let len = d - from;
        if len > WINDOW {
            return None; // the key, or the bytes before it, run past the window
        }
        Some(Window {
            shape: len as u16 | ((s - from) as u16) << 7 | u16::from(from == floor) << 9,
            last: u128::from_le_bytes(last) & KEEP[len.min(16)],
            from,
            to: d,
        })
    }

    /// The window of a key set apart from its delimiter at `d` by a
    /// process ID in brackets (`sshd[24200]:`, `kernel[0]:`), if the memo
    /// keeps it: the key's window as [`at`](Self::at) reads it before the
    /// `[`, marked as bracketed (the ID is left out, so the key is found
    /// again whatever the ID). For this form the personal filter reads
    /// only the `]` (no letter: no personal name), and [`key_range`] the
    /// key before the `[`, unless that key is a declaration's type.
    ///
    /// [`key_range`]: super::secrets::key_range
    #[inline]
    pub(crate) fn bracketed(b: &[u8], d: usize, floor: usize) -> Option<Window> {
        if d < floor + 4 || b[d - 1] != b']' {
            return None;
        }
        let mut open = d - 1;
        while open > floor && b[open - 1].is_ascii_digit() {
            open -= 1;
        }
        // `key_range`'s test: `]` after the floor's next byte, `[` after
        // the floor.
        if open == floor || b[open - 1] != b'[' {
            return None;
        }
        Self::set_apart(b, open - 1, floor, BRACKETED)
    }

    /// The window of a key set apart from its delimiter at `d` by spaces
    /// or tabs (`total = 1072`, `Times : 3`), if the memo keeps it: the
    /// key's window as [`at`](Self::at) reads it before the spacing
    /// (fewer than sixteen bytes, as [`key_range`] reads it), marked as
    /// spaced. For this form the personal filter reads only the space (no
    /// letter: no personal name), and [`key_range`] the key before the
    /// spacing, unless that key is a declaration's type.
    ///
    /// [`key_range`]: super::secrets::key_range
    #[inline]
    pub(crate) fn spaced(b: &[u8], d: usize, floor: usize) -> Option<Window> {
        let mut end = d;
        while end > floor && d - end < 16 && matches!(b[end - 1], b' ' | b'\t') {
            end -= 1;
        }
        if end == d || end == floor {
            return None;
        }
        Self::set_apart(b, end, floor, SPACED)
    }

    /// The window of the key ending at `end`, a key [`key_range`] reads
    /// apart from its delimiter, marked with the form (`mark`) that set it
    /// apart; none for a declaration's type, after which `key_range` reads
    /// the variable before it.
    ///
    /// [`key_range`]: super::secrets::key_range
    #[inline]
    fn set_apart(b: &[u8], end: usize, floor: usize, mark: u16) -> Option<Window> {
        let mut window = Window::at(b, end, floor)?;
        let s = window.from + usize::from(window.shape >> 7 & 3);
        if super::secrets::declares_type(b, s, end, floor) {
            return None;
        }
        window.shape |= mark;
        Some(window)
    }

    /// How many key bytes end before `d` when the sixteen before it all
    /// are (up to [`WINDOW`] and one).
    #[inline(never)]
    fn long_run(b: &[u8], d: usize) -> usize {
        let mut run = 16;
        while run <= WINDOW && run < d {
            let more = key_run(&block(b, d - run));
            run += more;
            if more < 16 {
                break;
            }
        }
        run
    }

    /// The cache key of a short window (at most [`SHORT`] bytes), for
    /// `owner`: its bytes, with its shape in the two bytes the window
    /// leaves zero at its block's start, so the key is the whole window.
    #[inline]
    fn key(&self, owner: u64) -> SiteKey {
        SiteKey::field(
            owner,
            self.last as usize | usize::from(self.shape),
            (self.last >> 64) as usize,
        )
    }

    /// The cache key of a long window, for `owner`: its last block with
    /// the rest of the window (`rest`, compared whole on a hit) folded in,
    /// so that two windows that end alike (the same key after different
    /// bytes, `- proxy…:` and `y proxy…:` in one line) are kept apart
    /// rather than taking each other's slot.
    #[inline]
    fn long_key(&self, owner: u64, rest: &(u16, [u128; BLOCKS - 1])) -> SiteKey {
        let folded = rest.1.iter().fold(u64::from(rest.0), |h, &block| {
            (h ^ block as u64 ^ (block >> 64) as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15)
        });
        SiteKey::field(
            owner,
            self.last as usize ^ folded as usize,
            (self.last >> 64) as usize,
        )
    }

    /// What a long window's cache entry holds: its shape and the blocks
    /// before its last.
    fn rest(&self, b: &[u8]) -> (u16, [u128; BLOCKS - 1]) {
        let mut rest = [0; BLOCKS - 1];
        rest.copy_from_slice(&blocks(b, self.from, self.to)[..BLOCKS - 1]);
        (self.shape, rest)
    }
}

/// One bit per byte of `block` that may be part of a key
/// ([`is_key`](super::bytes::is_key): a letter, a digit, `_`, `-`, `.`).
#[cfg(target_arch = "x86_64")]
#[inline]
fn key_bytes(block: &[u8; 16]) -> u32 {
    sse2::key_bytes(block)
}

/// One bit per byte of `block` that may be part of a key.
#[cfg(not(target_arch = "x86_64"))]
#[inline]
fn key_bytes(block: &[u8; 16]) -> u32 {
    portable_key_bytes(block)
}

/// [`key_bytes`] a byte at a time.
#[cfg_attr(target_arch = "x86_64", allow(dead_code))]
fn portable_key_bytes(block: &[u8; 16]) -> u32 {
    block
        .iter()
        .enumerate()
        .fold(0, |m, (k, &c)| m | u32::from(is_key(c)) << k)
}

/// The key-byte test sixteen bytes at a time.
#[cfg(target_arch = "x86_64")]
mod sse2 {
    use std::arch::x86_64::{
        _mm_cmpeq_epi8, _mm_loadu_si128, _mm_min_epu8, _mm_movemask_epi8, _mm_or_si128,
        _mm_set1_epi8, _mm_sub_epi8,
    };

    /// One bit per byte of `bytes` that is a letter, a digit, `_`, `-`
    /// or `.`.
    #[inline]
    #[allow(unsafe_code)]
    pub(super) fn key_bytes(bytes: &[u8; 16]) -> u32 {
        // SAFETY: SSE2 is part of the x86_64 baseline (`target_feature =
        // "sse2"` is on for every x86_64 target). `_mm_loadu_si128` reads
        // exactly the 16 bytes of `bytes`, a `&[u8; 16]`, with no
        // alignment requirement; the other intrinsics work on registers.
        unsafe {
            let v = _mm_loadu_si128(bytes.as_ptr().cast());
            // `x` within `0..=width` (unsigned): `min(x, width) == x`.
            let within =
                |x, width: u8| _mm_cmpeq_epi8(_mm_min_epu8(x, _mm_set1_epi8(width as i8)), x);
            let lower = _mm_or_si128(v, _mm_set1_epi8(0x20));
            let letter = within(_mm_sub_epi8(lower, _mm_set1_epi8(b'a' as i8)), 25);
            let digit = within(_mm_sub_epi8(v, _mm_set1_epi8(b'0' as i8)), 9);
            let eq = |c: u8| _mm_cmpeq_epi8(v, _mm_set1_epi8(c as i8));
            let punct = _mm_or_si128(_mm_or_si128(eq(b'_'), eq(b'-')), eq(b'.'));
            _mm_movemask_epi8(_mm_or_si128(_mm_or_si128(letter, digit), punct)) as u32
        }
    }
}

/// Whether this thread found the key of `window` (in `b`) to name nothing
/// for the detectors of `owner` (0: never).
#[inline]
pub(crate) fn names_nothing(owner: u64, window: &Window, b: &[u8]) -> bool {
    if owner == 0 {
        return false;
    }
    if window.to - window.from <= SHORT {
        return SHORT_KEYS.get(window.key(owner)).is_some();
    }
    let rest = window.rest(b);
    LONG_KEYS
        .get(window.long_key(owner, &rest))
        .is_some_and(|held| held == rest)
}

/// Remembers that the key of `window` (in `b`) names nothing for the
/// detectors of `owner` (0: remembers nothing).
pub(crate) fn remember(owner: u64, window: &Window, b: &[u8]) {
    if owner == 0 {
        return;
    }
    if window.to - window.from <= SHORT {
        SHORT_KEYS.put(window.key(owner), ());
    } else {
        let rest = window.rest(b);
        LONG_KEYS.put(window.long_key(owner, &rest), rest);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use warden_core::internal::next_owner;

    #[test]
    fn the_key_byte_test_agrees_with_the_portable_one() {
        for first in (0..=255u8).step_by(16) {
            let mut buf = [0u8; 16];
            for (k, c) in buf.iter_mut().enumerate() {
                *c = first.wrapping_add(k as u8);
            }
            assert_eq!(key_bytes(&buf), portable_key_bytes(&buf), "{first:#x}");
        }
        let mut buf = [b' '; 16];
        buf[3..9].copy_from_slice(b"a_-.Z9");
        assert_eq!(key_bytes(&buf), 0b11_1111 << 3);
    }

    #[test]
    fn a_window_holds_the_key_and_the_two_bytes_before_it() {
        let b = b"at dfs.FSNamesystem: x";
        let d = 19;
        let w = Window::at(b, d, 0).expect("a key");
        // `at ` then the key: the window is `t dfs.FSNamesystem`.
        assert_eq!((w.from, w.to), (1, d));
        let len = usize::from(w.shape & 127);
        assert_eq!(len, d - 1);
        assert_eq!((w.shape >> 7) & 3, 2);
        assert_eq!(w.shape >> 9, 0);
        let bytes: Vec<u8> = blocks(b, w.from, w.to)
            .iter()
            .flat_map(|k| k.to_le_bytes())
            .collect();
        assert_eq!(&bytes[WINDOW - len..], &b[1..d]);
        assert!(bytes[..WINDOW - len].iter().all(|&c| c == 0));
        assert_eq!(w.last.to_le_bytes(), bytes[WINDOW - 16..]);
        // A short window's bytes leave its first two free for its shape,
        // and its cache key holds both.
        let short = Window::at(b"a key=1", 5, 0).expect("a key");
        assert_eq!(short.last as u16, 0);
        assert_eq!(&short.last.to_le_bytes()[11..], b"a key".as_slice());
        // The same bytes in another shape (the floor at the key): another key.
        let at_floor = Window::at(b"xa key=1", 6, 1).expect("a key");
        let after_x = Window::at(b"xa key=1", 6, 0).expect("a key");
        assert_eq!(at_floor.last, after_x.last);
        assert_ne!(at_floor.key(1), after_x.key(1));
    }

    #[test]
    fn the_window_tells_the_floor_and_what_stands_before_the_key() {
        let b = b"xx key=1";
        let at = |floor| Window::at(b, 6, floor).expect("a key");
        // Two bytes before the key, one, none: each a different window.
        let (two, one, none) = (at(0), at(2), at(3));
        assert_ne!(two.last, one.last);
        assert_ne!(one.last, none.last);
        // The same key elsewhere, with the same bytes before it, is kept
        // as the same window.
        let c = b"yyyyxx key=2";
        let owner = next_owner();
        remember(owner, &two, b);
        assert!(names_nothing(owner, &two, b));
        let same = Window::at(c, 10, 0).expect("a key");
        assert!(names_nothing(owner, &same, c));
        let other = Window::at(c, 10, 7).expect("a key");
        assert!(!names_nothing(owner, &other, c));
    }

    #[test]
    fn long_keys_and_keys_apart_from_their_delimiter_are_not_kept() {
        let long = format!("ab {}=1", "k".repeat(MAX_KEY + 1));
        let d = 3 + MAX_KEY + 1;
        assert_eq!(Window::at(long.as_bytes(), d, 0), None);
        let fits = format!("ab {}=1", "k".repeat(MAX_KEY));
        assert!(Window::at(fits.as_bytes(), d - 1, 0).is_some());
        // From the floor on, a longer key fits: nothing before it is read.
        assert!(Window::at(long.as_bytes(), d, 3).is_some());
        assert!(Window::at(long.as_bytes(), d, 2).is_some());
        assert_eq!(Window::at(long.as_bytes(), d, 1), None);
        assert_eq!(Window::at(long.as_bytes(), d, 0), None);
        assert_eq!(Window::at(b"\"key\": 1", 5, 0), None);
        assert_eq!(Window::at(b"pid[42]: 1", 7, 0), None);
    }

    #[test]
    fn a_key_before_a_bracketed_id_is_kept_apart_from_the_same_key_alone() {
        let owner = next_owner();
        let a = b"Jun 14 combo sshd[24200]: x";
        let b = b"Jun 15 combo sshd[19937]: y";
        let d = |t: &[u8]| t.iter().position(|&c| c == b':').expect("a colon");
        let wa = Window::bracketed(a, d(a), 0).expect("a key");
        let wb = Window::bracketed(b, d(b), 0).expect("a key");
        remember(owner, &wa, a);
        assert!(names_nothing(owner, &wb, b));
        // The same key right before its delimiter is another window.
        let alone = b"Jun 15 combo sshd: y";
        let w = Window::at(alone, d(alone), 0).expect("a key");
        assert!(!names_nothing(owner, &w, alone));
        // Not this form: no digits' brackets, the floor inside them, a
        // declaration's type.
        assert_eq!(Window::bracketed(b"a sshd[x]: b", 10, 0), None);
        assert_eq!(Window::bracketed(a, d(a), 19), None);
        assert!(Window::bracketed(a, d(a), 12).is_some());
        assert_eq!(Window::bracketed(b"x var[2]: 1", 9, 0), None);
    }

    #[test]
    fn a_key_before_spaces_is_kept_apart_from_the_same_key_alone() {
        let owner = next_owner();
        let a = b"INFO Times: total = 1072, boot = 856";
        let d = a.iter().position(|&c| c == b'=').expect("a delimiter");
        let w = Window::spaced(a, d, 0).expect("a key");
        remember(owner, &w, a);
        let b = b"INFO Times: total  = 9";
        let e = b.iter().position(|&c| c == b'=').expect("a delimiter");
        assert!(names_nothing(
            owner,
            &Window::spaced(b, e, 0).expect("a key"),
            b
        ));
        let alone = b"INFO Times: total= 9";
        let f = alone.iter().position(|&c| c == b'=').expect("a delimiter");
        assert!(!names_nothing(
            owner,
            &Window::at(alone, f, 0).expect("a key"),
            alone
        ));
        // Not this form: no spacing, more than sixteen spaces, the floor in the
        // spacing, a declaration's type.
        assert_eq!(Window::spaced(alone, f, 0), None);
        let far = format!("total{}= 9", " ".repeat(17));
        assert_eq!(Window::spaced(far.as_bytes(), 22, 0), None);
        let near = format!("total{}= 9", " ".repeat(16));
        assert!(Window::spaced(near.as_bytes(), 21, 0).is_some());
        assert_eq!(Window::spaced(a, d, d - 1), None);
        assert_eq!(Window::spaced(b"x var apiToken string = 1", 22, 0), None);
    }

    #[test]
    fn a_long_key_is_told_from_one_that_ends_the_same() {
        let owner = next_owner();
        let a = b"x org.apache.hadoop.mapreduce.v2.app.job.impl.TaskAttemptImpl: y";
        let b = b"x org.apache.hadoop.mapreduce.v3.app.job.impl.TaskAttemptImpl: y";
        let d = a.len() - 3;
        let wa = Window::at(a, d, 0).expect("a key");
        let wb = Window::at(b, d, 0).expect("a key");
        assert_eq!((wa.shape, wa.last), (wb.shape, wb.last));
        remember(owner, &wa, a);
        assert!(names_nothing(owner, &wa, a));
        assert!(!names_nothing(owner, &wb, b));
        // Both kept: windows that end alike do not take each other's slot.
        remember(owner, &wb, b);
        assert!(names_nothing(owner, &wa, a));
        assert!(names_nothing(owner, &wb, b));
    }

    #[test]
    fn a_key_is_remembered_for_its_owner_alone() {
        let (a, b) = (next_owner(), next_owner());
        let text = b"user_status=1";
        let w = Window::at(text, 11, 0).expect("a key");
        assert!(!names_nothing(a, &w, text));
        remember(a, &w, text);
        assert!(names_nothing(a, &w, text));
        assert!(!names_nothing(b, &w, text));
        remember(0, &w, text);
        assert!(!names_nothing(0, &w, text));
    }
}
