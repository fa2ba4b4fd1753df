//! The built-in detectors and the single pass that runs them.
//!
//! The pass looks at sixteen bytes at a time (SSE2 on x86-64; eight at a
//! time with SWAR in safe code elsewhere) for the
//! few bytes a detector can start from — a digit, `@`, `:`, `=`, `_`, `-`,
//! `.`, `A`, `B` — then classifies each candidate exactly with a table.
//! Each trigger first runs a check of a few instructions that rejects
//! ordinary text (a short number, a date or time, a key that cannot be a
//! secret name, a separator or word that is no key prefix), and only then
//! the validators. Every
//! validator either accepts in bounded work or says where scanning may
//! resume, so the pass is linear in the input.

mod boundary;
mod bytes;
mod card;
mod context;
mod credentials;
mod email;
mod iban;
mod ip;
mod key_memo;
mod line;
mod mac;
pub(crate) mod national;
mod personal;
mod phone;
mod secrets;
mod ssn;
mod tables;
mod timestamp;
mod tokens;

use std::ops::ControlFlow;

use crate::kind::Builtin;
use bytes::{run_end, word_starts_at};
use line::Line;

pub(crate) use card::{CARD_MIN, is_card_u128};

/// Whether a value found by its key's name alone is a placeholder or a
/// reference (`null`, `$NAME`, `<your name>`, `********`), to be left.
pub(crate) fn is_placeholder_value(v: &str) -> bool {
    credentials::is_placeholder(v.as_bytes(), true)
}
pub(crate) use personal::{
    PersonalKeys, default_names as default_personal_names, is_personal_kind,
};
pub use secrets::DEFAULT_SECRET_KEYS;
pub(crate) use secrets::PHONE_KEYS;
pub(crate) use secrets::SecretKeys;

/// Canonical forms for keyed hashing.
pub(crate) mod canonical {
    pub(crate) use super::email::canonical as email;
    pub(crate) use super::ip::canonical as ip;
}

const NONE: u8 = 0;
const DIGIT: u8 = 1;
const AT: u8 = 2;
const COLON: u8 = 3;
const EQUALS: u8 = 4;
const SEPARATOR: u8 = 5;
const DASH: u8 = 6;
const UPPER_A: u8 = 7;
const UPPER_B: u8 = 8;
const COMMA: u8 = 9;
const GREATER: u8 = 10;

static TRIGGERS: [u8; 256] = {
    let mut t = [NONE; 256];
    let mut d = b'0';
    while d <= b'9' {
        t[d as usize] = DIGIT;
        d += 1;
    }
    t[b'@' as usize] = AT;
    t[b':' as usize] = COLON;
    t[b'=' as usize] = EQUALS;
    t[b'_' as usize] = SEPARATOR;
    t[b'.' as usize] = SEPARATOR;
    t[b'-' as usize] = DASH;
    t[b'A' as usize] = UPPER_A;
    t[b'B' as usize] = UPPER_B;
    t[b',' as usize] = COMMA;
    t[b'>' as usize] = GREATER;
    t
};

const ONES: u64 = 0x0101_0101_0101_0101;
const HIGH: u64 = 0x8080_8080_8080_8080;

/// The high bit of each byte of `w` that may be a trigger: the ASCII
/// range `,`..=`B` (`,` `-` `.` `/` digits `:` `;` `<` `=` `>` `?` `@` `A`
/// `B`) or `_`. The table then tells the real triggers from the rest.
#[cfg_attr(target_arch = "x86_64", allow(dead_code))]
#[inline]
fn candidates(w: u64) -> u64 {
    let low7 = w & !HIGH;
    let at_least_dash = low7.wrapping_add((0x80 - u64::from(b',')) * ONES);
    let above_b = low7.wrapping_add((0x80 - u64::from(b'B') - 1) * ONES);
    let in_range = at_least_dash & !above_b;
    let underscore = (low7 ^ (u64::from(b'_') * ONES)).wrapping_add(0x7F * ONES);
    (in_range | !underscore) & !w & HIGH
}

/// The position of the next trigger at or after `i`.
#[cfg(target_arch = "x86_64")]
#[inline]
fn next_trigger(b: &[u8], mut i: usize) -> Option<usize> {
    let n = b.len();
    while i < n {
        // Sixteen bytes at a time; the last block overlaps the one before,
        // so no byte of a text of 16 bytes or more is looked at one by one.
        let (start, mut m) = if let Some(chunk) = b.get(i..i + 16) {
            (i, sse2::candidates(chunk))
        } else if n >= 16 {
            let start = n - 16;
            (
                start,
                sse2::candidates(&b[start..]) & (u32::MAX << (i - start)),
            )
        } else {
            // A text shorter than a block (a field's value, most often):
            // a table lookup a byte costs less than padding a copy.
            return b[i..]
                .iter()
                .position(|&c| TRIGGERS[usize::from(c)] != NONE)
                .map(|k| i + k);
        };
        while m != 0 {
            let k = start + m.trailing_zeros() as usize;
            if TRIGGERS[usize::from(b[k])] != NONE {
                return Some(k);
            }
            m &= m - 1;
        }
        i = start + 16;
    }
    None
}

/// The position of the next trigger at or after `i`.
#[cfg(not(target_arch = "x86_64"))]
#[inline]
fn next_trigger(b: &[u8], mut i: usize) -> Option<usize> {
    while let Some(chunk) = b.get(i..i + 8) {
        let mut word = [0u8; 8];
        word.copy_from_slice(chunk);
        let mut m = candidates(u64::from_le_bytes(word));
        while m != 0 {
            let k = i + (m.trailing_zeros() / 8) as usize;
            if TRIGGERS[usize::from(b[k])] != NONE {
                return Some(k);
            }
            m &= m - 1;
        }
        i += 8;
    }
    let rest = b.get(i..)?;
    rest.iter()
        .position(|&c| TRIGGERS[usize::from(c)] != NONE)
        .map(|k| i + k)
}

/// The same candidate test as [`candidates`], sixteen bytes at a time.
///
/// Measured: the scan of a clean 120-byte message falls from about 800
/// to about 480 instructions (BENCHMARKS.md); SSE2 is part of the x86-64
/// baseline, so there is no run-time detection to do.
#[cfg(target_arch = "x86_64")]
mod sse2 {
    use std::arch::x86_64::{
        _mm_cmpeq_epi8, _mm_loadu_si128, _mm_min_epu8, _mm_movemask_epi8, _mm_or_si128,
        _mm_set1_epi8, _mm_sub_epi8,
    };

    /// One bit per byte of `chunk` (which must be 16 bytes long; shorter
    /// chunks give 0) that is in `,`..=`B` or is `_`.
    #[inline]
    #[allow(unsafe_code)]
    pub(super) fn candidates(chunk: &[u8]) -> u32 {
        let Ok(bytes) = <&[u8; 16]>::try_from(chunk) else {
            return 0;
        };
        // SAFETY: SSE2 is always available on x86_64 (it is part of the
        // architecture's baseline, so `target_feature = "sse2"` is on for
        // every x86_64 target). `_mm_loadu_si128` reads exactly 16 bytes
        // from `bytes`, a `&[u8; 16]`, and has no alignment requirement;
        // the other intrinsics work on registers only.
        unsafe {
            let v = _mm_loadu_si128(bytes.as_ptr().cast());
            let shifted = _mm_sub_epi8(v, _mm_set1_epi8(b',' as i8));
            let width = _mm_set1_epi8((b'B' - b',') as i8);
            let in_range = _mm_cmpeq_epi8(_mm_min_epu8(shifted, width), shifted);
            let underscore = _mm_cmpeq_epi8(v, _mm_set1_epi8(b'_' as i8));
            _mm_movemask_epi8(_mm_or_si128(in_range, underscore)) as u32
        }
    }

    #[cfg(test)]
    mod tests {
        #[test]
        fn agrees_with_the_portable_test() {
            for first in (0..=255u8).step_by(16) {
                let chunk: Vec<u8> = (0..16).map(|k| first.wrapping_add(k)).collect();
                let mask = super::candidates(&chunk);
                for (k, &c) in chunk.iter().enumerate() {
                    let expected = (b','..=b'B').contains(&c) || c == b'_';
                    assert_eq!(mask >> k & 1 == 1, expected, "{c:#x}");
                }
            }
            assert_eq!(super::candidates(b"short"), 0);
        }
    }
}

/// What the pass does after looking at a trigger.
enum Step {
    /// A value of this kind at this range.
    Hit(Builtin, usize, usize),
    /// Nothing here; scanning resumes at this position.
    Skip(usize),
}

/// The end of the number at `i` when it is the common case on a clean
/// line, decided in a few instructions: a short number at a word's start
/// that nothing joins to more digits or hex (`200`, `bytes=5120 `,
/// `worker=7`), that no `+` or `(` opens, and that is not five digits
/// after a word; or one that something joins but that the digit rules
/// pass over all the same (see [`joined_but_passed_over`]).
#[inline(always)]
fn lone_short_number(b: &[u8], i: usize) -> Option<usize> {
    let (end, joined) = short_number(b, i)?;
    if joined {
        return joined_but_passed_over(b, i, end);
    }
    (!five_after_word(b, i, end)).then_some(end)
}

/// A short number at `i` (fewer than six digits, after no word byte, `+`
/// or `(`): its end, and whether something may join it to more (a
/// separator and a digit, a letter, a colon).
#[inline(always)]
fn short_number(b: &[u8], i: usize) -> Option<(usize, bool)> {
    let end = bytes::digits_end(b, i);
    if end - i >= 6 {
        return None;
    }
    if i > 0 && (bytes::is_word(b[i - 1]) || matches!(b[i - 1], b'+' | b'(')) {
        return None;
    }
    let after = b.get(end + 1).copied().unwrap_or(0);
    let may_continue = match b.get(end) {
        None => false,
        // Hex after `.` or `-` may continue a MAC address (`0012.ab34`,
        // `00-1A-2B`); after a space only digits continue a number.
        Some(b'.' | b'-') => after.is_ascii_hexdigit() || after == b'(',
        Some(b'/' | b' ' | b'(') => after.is_ascii_digit() || after == b'(',
        Some(b':' | b')') => true,
        Some(c) => c.is_ascii_alphabetic(),
    };
    Some((end, may_continue))
}

/// The end of the digits at `i` inside a word when they hold none of the
/// forms with letters: after `_` (`blk_38865`), or in a word too short for
/// them ([`in_short_word`]). [`Detectors::at_digit`] decides these first,
/// the same way; here without its call.
#[inline(always)]
fn passed_in_word(b: &[u8], i: usize, floor: usize) -> Option<usize> {
    if word_starts_at(b, i) {
        return None;
    }
    if !b[i - 1].is_ascii_alphabetic() {
        return Some(bytes::digits_end(b, i));
    }
    in_short_word(b, i, floor)
}

/// The end of the date, or date and time, whose first digit is at `i`
/// ([`timestamp::end`]), when it starts a number of its own (after no
/// word byte, `+` or `(`, and no digit's separator) and no context word
/// before it names a kind: then none of the numeric kinds, and passed over
/// whole.
#[inline]
fn passed_stamp(b: &[u8], i: usize) -> Option<usize> {
    if (i > 0 && matches!(b[i - 1], b'+' | b'(')) || !boundary::start_ok(b, i) {
        return None;
    }
    let end = timestamp::end(b, i)?;
    (context::kinds_before(b, i) == 0).then_some(end)
}

/// Whether the separator at `i` (`.`, `_` or `-`) can be part of nothing
/// [`Detectors::at_separator`] and [`Detectors::at_dash`] look for: not
/// the first separator of a MAC address's shape (two hex digits on each
/// side of a `-` and another `-` after them, `3C-22-…`; four on each side
/// of a `.` and another `.` after them, `3c22.fb12.…`), no JWT's `eyJ`
/// after a `.`, no flag or private key's `-`, `u` or `p` after a `-`, and
/// not the two bytes a provider key's prefix has before it.
#[inline(always)]
fn plain_separator(b: &[u8], i: usize) -> bool {
    let after = b.get(i + 1).copied().unwrap_or(0);
    let hex = |k: usize| b.get(k).is_some_and(|&c| bytes::is_hex(c));
    let own = match b[i] {
        b'.' => {
            let mac =
                b.get(i + 5) == Some(&b'.') && i >= 4 && (i - 4..i).chain(i + 1..i + 5).all(hex);
            !mac && b.get(i + 1..i + 4) != Some(b"eyJ")
        }
        b'-' => {
            let mac = b.get(i + 3) == Some(&b'-')
                && i >= 2
                && [i - 2, i - 1, i + 1, i + 2].into_iter().all(hex);
            !mac && !matches!(after, b'-' | b'u' | b'p')
        }
        _ => true,
    };
    own && !tokens::pair_may_hold_key(b, i)
}

/// Whether `b[i..end]` is five digits after a word: a short plan's phone
/// number, maybe (`call me on 62889`).
#[inline(always)]
fn five_after_word(b: &[u8], i: usize, end: usize) -> bool {
    end - i == 5 && i >= 2 && b[i - 1] == b' ' && b[i - 2].is_ascii_alphabetic()
}

/// The end of the digits at `i` when they stand inside a word that holds
/// none of the kinds written with letters and digits: one too short for
/// them (`v2`, `x86`, `md5`: a passport number has six letters and digits
/// or more, a national identifier with letters, `X2482300W`,
/// `ACUPA7085R`, or an RFC more still, and an IBAN's first group, two
/// letters and two digits before a space or a dash, is left to its
/// reader), or digits after a word's letters that no letter form ends
/// with: seven letters or more (`workers2`; the forms have at most six
/// before their digits), or five or six ending in a lower-case one
/// (`admin1`; those forms have upper-case letters, and passport numbers
/// at most three). A word that starts after a word byte is no such value
/// either. [`Detectors::inside_word`] looks no further at them.
#[inline(always)]
fn in_short_word(b: &[u8], i: usize, floor: usize) -> Option<usize> {
    if !b.get(i.checked_sub(1)?)?.is_ascii_alphabetic() {
        return None;
    }
    // The letters before, read back no further than a long word's.
    let mut ws = i - 1;
    while ws > floor && b[ws - 1].is_ascii_alphabetic() {
        if i - ws == 6 {
            return Some(bytes::digits_end(b, i)); // seven letters or more
        }
        ws -= 1;
    }
    if i - ws >= 5 {
        return b[i - 1]
            .is_ascii_lowercase()
            .then(|| bytes::digits_end(b, i));
    }
    let end = bytes::digits_end(b, i);
    if !word_starts_at(b, ws) {
        return Some(end);
    }
    let short = b
        .get(ws..ws + 6)
        .is_none_or(|six| !six.iter().all(u8::is_ascii_alphanumeric));
    // Two letters and two digits before a space or dash may be an IBAN's
    // first group (`NO93 8601 1117 947`).
    let iban_group = i - ws == 2 && end == i + 2 && matches!(b.get(end), Some(b' ' | b'-'));
    (short && !iban_group).then_some(end)
}

/// Where scanning resumes when the digit rules pass over the short number
/// `b[i..end]` (fewer than six digits, after no word byte, `+` or `(`)
/// although something joins it to more: a time's group before a colon
/// that no address can hold (the `18` and `01` of `18:01:53`, see
/// [`bare_colon`]; scanning resumes after the colon, which the dispatch
/// would pass over the same way), a decimal (`12.4ms`), a number after a digit's
/// separator (the `10` and `18` of `2015-10-18`), or one joined by a
/// space, `/` or `-` to fewer than five digits in all (the `10` of
/// `Dec 10 06:55:46`). Each case is what
/// [`Detectors::at_digit`] does with such a number, decided without its
/// call: the shapes it looks at first (an IPv4 address, a MAC address, a
/// SIN's or a National Insurance number's groups, a dotted identifier)
/// are left to it.
#[inline(always)]
fn joined_but_passed_over(b: &[u8], i: usize, end: usize) -> Option<usize> {
    let len = end - i;
    let next = b.get(end).copied();
    if next == Some(b':') {
        // The colon after it is then one the dispatch passes over too (a
        // bare colon between digits): scanning resumes after it.
        return (b.get(end + 1).is_some_and(u8::is_ascii_digit)
            && bare_colon(b, end)
            && !five_after_word(b, i, end))
        .then_some(end + 1);
    }
    if next == Some(b'.') {
        // A decimal or a version (`12.4ms`, `v1.2`): fewer than four
        // digits dotted together are no IPv4 address, and no dotted
        // identifier has its second dot here; the rules pass over the
        // dotted run (`boundary::token_end`).
        let passed =
            len != 4 && b.get(i + len + 4) != Some(&b'.') && context::digits_joined(b, i, 4) < 4;
        return passed.then(|| boundary::token_end(b, end));
    }
    let prev = i.checked_sub(1).map(|k| b[k]);
    let after_digit = i >= 2 && b[i - 2].is_ascii_digit();
    let no_start = match prev {
        Some(b'-') => true,
        Some(b'.' | b':' | b'/' | b',') => after_digit,
        _ => false,
    };
    if no_start {
        // Not a number's start (`boundary::start_ok`), unless a MAC address
        // or a SIN's groups may start here.
        let mac = mac_shaped(len, next) && !matches!(prev, Some(b':' | b'-' | b'.'));
        let sin =
            len == 3 && matches!(next, Some(b' ' | b'-')) && !matches!(prev, Some(b'-' | b'.'));
        return (!mac && !sin).then_some(end);
    }
    // A MAC address's groups have their separator every three bytes.
    let mac = len == 2 && next == Some(b'-') && b.get(i + 5) == Some(&b'-');
    let passed = matches!(next, Some(b' ' | b'/' | b'-'))
        && b.get(end + 1).is_some_and(u8::is_ascii_digit)
        && !mac
        && !(len == 3 && matches!(next, Some(b' ' | b'-')))
        && !(len == 2 && prev == Some(b' ') && i >= 2 && b[i - 2].is_ascii_uppercase())
        && context::digits_joined(b, i, 5) < 5;
    passed.then_some(end)
}

/// Whether a run of `len` digits before `next` may be a MAC address's
/// first group: two hex digits before `:` or `-`, four before `.`, or hex
/// letters within the group.
#[inline(always)]
fn mac_shaped(len: usize, next: Option<u8>) -> bool {
    match next {
        Some(b':' | b'-') => len == 2,
        Some(b'.') => len == 4,
        Some(c) => c.is_ascii_hexdigit() && len < 4,
        None => false,
    }
}

/// Whether the colon at `c`, between two digits, can be part of no MAC or
/// IPv6 address: no colon one to five bytes on is itself followed by a
/// colon within five bytes. From a colon between digits, an IPv6
/// address's groups of one to four hex digits put the next colon at most
/// five bytes on, and the one after it (or a `::`) at most five bytes
/// further; a MAC address puts them three and six bytes on.
#[inline(always)]
fn bare_colon(b: &[u8], c: usize) -> bool {
    let colon_within_five = |from: usize| {
        b.get(from + 1..b.len().min(from + 6))
            .and_then(|w| w.iter().position(|&x| x == b':'))
            .map(|k| from + 1 + k)
    };
    colon_within_five(c).is_none_or(|c1| colon_within_five(c1).is_none())
}

/// Where a secret's value `b[s..e]` starts once a replacement written by
/// an earlier pass at its start is left out (`[REDACTED:CREDIT_CARD]-----124`
/// after `Authorization: Bearer`: a card replaced inside a credential that
/// did not read as one then): the replacement stays, so that sanitizing
/// again keeps what the first pass wrote. A value that is a replacement
/// whole is a placeholder, left before this.
fn after_replacement(b: &[u8], s: usize, e: usize) -> usize {
    match credentials::replacement_len(&b[s..e]) {
        Some(n) if s + n < e => s + n,
        _ => s,
    }
}

/// Whether a phone number may end at `e`: where a numeric token may end,
/// or before an extension (`x204`).
fn phone_end_ok(b: &[u8], e: usize) -> bool {
    boundary::end_ok(b, e)
        || (matches!(b.get(e), Some(b'x' | b'X')) && b.get(e + 1).is_some_and(u8::is_ascii_digit))
}

/// A detected value: its kind and byte range.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Hit {
    pub(crate) kind: Builtin,
    pub(crate) start: usize,
    pub(crate) end: usize,
}

/// What the built-in pass looks for.
#[derive(Clone, Debug)]
pub(crate) struct Detectors {
    pub(crate) enabled: [bool; Builtin::COUNT],
    pub(crate) secret_keys: SecretKeys,
    /// Keys under which a bare number is a phone number.
    pub(crate) phone_keys: SecretKeys,
    /// Keys whose values are personal data by their name alone.
    pub(crate) personal_keys: PersonalKeys,
    /// Whether loopback and unspecified addresses (`127.0.0.1`, `::1`,
    /// `0.0.0.0`, `::`) are redacted too.
    pub(crate) local_ips: bool,
    /// Placeholder and reference values seen under secret-named keys.
    pub(crate) placeholders: std::sync::Arc<std::sync::atomic::AtomicU64>,
    /// One filter over both name sets, read while a key is read back.
    key_filter: secrets::KeyFilter,
    /// The national identifier schemes turned off (bits of
    /// [`NationalIdScheme`](crate::NationalIdScheme)).
    pub(crate) national_off: u64,
    /// Whose keys these detectors remember as naming nothing
    /// ([`key_memo`]): one owner per set of kinds and names, 0 for none.
    /// The kinds and names are fixed from [`new`](Self::new) on, so the
    /// answers remembered for the owner stay true.
    memo_owner: u64,
}

/// What a key's name settles about the value after it.
enum Named {
    /// The key names a kind: its value, if one reads.
    Value(Option<(Builtin, usize, usize)>),
    /// No value is taken for the key's sake; `by_name` when the key's
    /// bytes alone say so (then [`key_memo`] may remember it).
    Nothing { by_name: bool },
}

impl Detectors {
    /// The detectors for these kinds and names.
    pub(crate) fn new(
        enabled: [bool; Builtin::COUNT],
        secret_keys: SecretKeys,
        phone_keys: SecretKeys,
        personal_keys: PersonalKeys,
        local_ips: bool,
    ) -> Self {
        let key_filter = secrets::KeyFilter::new(&[&secret_keys, &phone_keys]);
        Detectors {
            enabled,
            secret_keys,
            phone_keys,
            personal_keys,
            local_ips,
            placeholders: Default::default(),
            key_filter,
            national_off: 0,
            memo_owner: warden_core::internal::next_owner(),
        }
    }

    /// These detectors, remembering no key (the tests' reference).
    #[cfg(test)]
    fn without_key_memo(mut self) -> Self {
        self.memo_owner = 0;
        self
    }

    /// These detectors with the national schemes of `off` turned off.
    pub(crate) fn with_national_off(mut self, off: u64) -> Self {
        self.national_off = off;
        self
    }

    #[inline]
    fn on(&self, kind: Builtin) -> bool {
        self.enabled[kind as usize]
    }

    /// Whether `value`, found as a national identifier, validates only
    /// under schemes that are turned off (a value taken whole under a key
    /// naming an identifier validates under none, and stays a hit).
    #[inline]
    fn scheme_off(&self, kind: Builtin, value: &[u8]) -> bool {
        if self.national_off == 0 || kind != Builtin::NationalId {
            return false;
        }
        let schemes = national::schemes_of(value);
        schemes != 0 && schemes & !self.national_off == 0
    }

    /// Runs every enabled detector over `text` in one pass, calling `emit`
    /// with each hit in order; hits never overlap. Stops when `emit` breaks.
    pub(crate) fn scan(&self, text: &str, emit: impl FnMut(Hit) -> ControlFlow<()>) {
        self.scan_with::<true>(text, emit);
    }

    /// [`scan`](Self::scan), with the dispatch's short-cuts that pass over
    /// digits in a word ([`passed_in_word`]), dates and times
    /// ([`passed_stamp`]) and plain separators ([`plain_separator`]), or
    /// without them (`SHORT_CUTS` false: the tests' reference, to check
    /// that the short-cuts find the same).
    fn scan_with<const SHORT_CUTS: bool>(
        &self,
        text: &str,
        mut emit: impl FnMut(Hit) -> ControlFlow<()>,
    ) {
        let b = text.as_bytes();
        let n = b.len();
        let mut i = 0;
        // No hit may start before the end of the previous one.
        let mut floor = 0;
        let mut jwt_resume = 0;
        let mut line = Line::default();
        while i < n {
            match next_trigger(b, i) {
                Some(k) => i = k,
                None => break,
            }
            let hit = match TRIGGERS[usize::from(b[i])] {
                DIGIT => match lone_short_number(b, i).or_else(|| {
                    if SHORT_CUTS {
                        passed_in_word(b, i, floor).or_else(|| passed_stamp(b, i))
                    } else {
                        None
                    }
                }) {
                    Some(end) => {
                        i = end;
                        continue;
                    }
                    None => match self.at_digit(b, i, floor) {
                        // A number that validates only under schemes
                        // turned off is left (a key's value is not found
                        // here: it stays taken whole).
                        Step::Hit(kind, s, e) if self.scheme_off(kind, &b[s..e]) => {
                            i = e.max(i + 1);
                            continue;
                        }
                        Step::Hit(kind, s, e) => Some((kind, s, e)),
                        Step::Skip(e) => {
                            i = e.max(i + 1);
                            continue;
                        }
                    },
                },
                AT if self.on(Builtin::Email) => {
                    email::match_email(b, i, floor).map(|(s, e)| (Builtin::Email, s, e))
                }
                // A time's colon (`18:01:53`) holds neither address.
                COLON
                    if i > 0
                        && b[i - 1].is_ascii_digit()
                        && b.get(i + 1).is_some_and(u8::is_ascii_digit)
                        && bare_colon(b, i) =>
                {
                    None
                }
                COLON => self.at_colon(b, i, floor, &mut line),
                EQUALS => self.keyed_value(b, i, floor, &mut line),
                // Most separators join words or numbers (`org.apache`,
                // `blk_-160`, `2015-10`): decided here, without a call.
                SEPARATOR | DASH if SHORT_CUTS && plain_separator(b, i) => None,
                SEPARATOR => self.at_separator(b, i, floor, &mut jwt_resume),
                DASH => self.at_dash(b, i, floor),
                UPPER_A if self.on(Builtin::ApiKey) => {
                    tokens::match_a_key(b, i).map(|e| (Builtin::ApiKey, i, e))
                }
                COMMA if i > 0 && matches!(b[i - 1], b'"' | b'\'') => self.comma_pair(b, i, floor),
                GREATER => self.xml_element(b, i, floor),
                UPPER_B if self.on(Builtin::AuthToken) => {
                    tokens::match_auth_scheme(b, i).map(|(s, e)| (Builtin::AuthToken, s, e))
                }
                _ => None,
            };
            match hit {
                Some((kind, start, end)) if start >= floor && end > start => {
                    if emit(Hit { kind, start, end }).is_break() {
                        return;
                    }
                    floor = end;
                    i = end.max(i + 1);
                }
                _ => i += 1,
            }
        }
    }

    fn at_digit(&self, b: &[u8], i: usize, floor: usize) -> Step {
        let end = bytes::long_digits_end(b, i);
        if !word_starts_at(b, i) {
            return self.inside_word(b, i, floor).unwrap_or(Step::Skip(end));
        }
        let prev = i.checked_sub(1).map(|k| b[k]);
        // A leading `+` says phone number before anything else
        // (`+44.100.000.000` is also a dotted quad).
        let plus = prev == Some(b'+') && i > floor && word_starts_at(b, i - 1);
        if plus && self.on(Builtin::Phone) {
            if let Some(e) = phone::match_phone(b, i - 1) {
                return Step::Hit(Builtin::Phone, i - 1, e);
            }
        }
        // IPv4 first: an address keeps its own boundary rules
        // (`BP-1347369012-10.190.173.170-1444972147527` holds one).
        if b.get(end) == Some(&b'.') && end - i <= 3 && self.on(Builtin::IpAddress) {
            let after_dotted = i >= 2 && prev == Some(b'.') && b[i - 2].is_ascii_digit();
            if !after_dotted {
                if let Some(e) = ip::match_ipv4(b, i) {
                    if (self.local_ips || !ip::is_local_v4(&b[i..e]))
                        && !ip::is_version(b, i, floor)
                    {
                        return Step::Hit(Builtin::IpAddress, i, e);
                    }
                    return Step::Skip(e);
                }
            }
        }
        let len = end - i;
        let next = b.get(end).copied();
        // A MAC address's first group: two hex digits before `:` or `-`,
        // four before `.`, or hex letters within the group.
        if mac_shaped(len, next) && self.on(Builtin::MacAddress) {
            if let Some(e) = mac::match_mac(b, i) {
                return Step::Hit(Builtin::MacAddress, i, e);
            }
        }
        // The UK's National Insurance number in groups: `AB 12 34 56 C`.
        if len == 2 && prev == Some(b' ') && i >= floor + 3 && b[i - 2].is_ascii_uppercase() {
            if let Some(hit) = self.spaced_nino(b, i, floor) {
                return hit;
            }
        }
        // Mexico's RFC after `&` (`AA&0607148I0`) or in groups
        // (`GODE 561231 GR8`).
        if len == 6
            && matches!(prev, Some(b'&' | b' '))
            && i >= floor + 4
            && self.on(Builtin::NationalId)
            && b[i - 2].is_ascii_uppercase()
        {
            if let Some(hit) = self.letters_in_context(b, i, i, floor) {
                return hit;
            }
        }
        // A national identifier in its own written form (`390.533.447-05`,
        // `131052-308T`, `54362315K`): found bare when it validates.
        if self.on(Builtin::NationalId) && national::may_start_written_form(b, i, len, next) {
            if let Some(e) = national::match_written_form(b, i) {
                // A SIN's 3-3-3 groups are also how some plans write a
                // phone number: after a phone word, it is one.
                let sin_shaped = len == 3 && matches!(next, Some(b' ' | b'-'));
                if !(sin_shaped && context::kinds_before(b, i) & context::PHONE != 0) {
                    return Step::Hit(Builtin::NationalId, i, e);
                }
            }
            // A CPF whose check fails is still no phone number.
            if len == 3 && national::is_cpf_shaped(b, i) {
                return Step::Skip(i + 14);
            }
        }
        if !boundary::start_ok(b, i) {
            return Step::Skip(boundary::token_end(b, end));
        }
        let paren = prev == Some(b'(') && i > floor;
        let joined = match (next, b.get(end + 1)) {
            (Some(b' ' | b'-' | b'.' | b'/'), Some(&n)) => n.is_ascii_digit() || n == b'(',
            (Some(b')'), _) => true,
            _ => false,
        };
        // Every numeric kind has six digits or more: a shorter number,
        // with whatever joins it to others (`12.4`, `200`, `10:30`), is
        // passed over in one step.
        if (joined || paren) && !plus && context::digits_joined(b, i, 5) < 5 {
            return Step::Skip(boundary::token_end(b, end));
        }
        if !paren && !plus && !joined && len < 13 {
            // A short number that no separator joins to another (`42 ms`,
            // `status=200`) is none of the numeric kinds; a longer one
            // only when a context word names its kind.
            // Five digits are a whole number in short plans (`call me on
            // 62889`): looked at only after a word (`on 62889`, not
            // `/orders/84213` or `=5120`).
            let after_word =
                len == 5 && prev == Some(b' ') && i >= floor + 2 && b[i - 2].is_ascii_alphabetic();
            if len >= 6 || after_word {
                if let Some(hit) = self.in_context(b, i, floor) {
                    return hit;
                }
            }
            // A passport number starting with digits (`03FR65893`).
            if b.get(end).is_some_and(u8::is_ascii_uppercase) && self.on(Builtin::Passport) {
                if let Some(hit) = self.passport_token(b, i) {
                    return hit;
                }
            }
            return Step::Skip(boundary::token_end(b, end));
        }
        // A card number is one run of 13 to 19 digits, or starts with a
        // group of four that spaces or dashes join to 13 digits or more
        // (`card::match_card`; `digits_joined` counts more joiners).
        let card_shaped = (13..=19).contains(&len)
            || (len == 4 && joined && context::digits_joined(b, i, 13) >= 13);
        if card_shaped && self.on(Builtin::CreditCard) {
            if let Some(e) = card::match_card_run(b, i).filter(|&e| boundary::end_ok(b, e)) {
                return Step::Hit(Builtin::CreditCard, i, e);
            }
        }
        if self.on(Builtin::Ssn) {
            if let Some(e) = ssn::match_ssn(b, i).filter(|&e| boundary::end_ok(b, e)) {
                return Step::Hit(Builtin::Ssn, i, e);
            }
        }
        if self.on(Builtin::Phone) {
            // `(030) 7390135`, or a number inside parentheses of the
            // sentence: `(030 7390135)`.
            // Not the rest of a longer grouped code (`NL91 ABNA 0417 1643 01`).
            let code = joined && b[i] == b'0' && boundary::after_code_group(b, i);
            let starts = [paren.then(|| i - 1), (!code).then_some(i)];
            for s in starts.into_iter().flatten() {
                let national = b[s] == b'0' || b.get(s..s + 2) == Some(b"(0");
                if let Some(e) = phone::match_phone(b, s).filter(|&e| {
                    phone_end_ok(b, e)
                        && !boundary::is_date_time(&b[s..e])
                        && !(national
                            && b.get(e) == Some(&b' ')
                            && b.get(e + 1).is_some_and(u8::is_ascii_digit))
                }) {
                    return Step::Hit(Builtin::Phone, s, e);
                }
            }
        }
        if let Some(hit) = self.in_context(b, i, floor) {
            return hit;
        }
        Step::Skip(boundary::token_end(b, end))
    }

    /// A National Insurance number in groups whose first digits are at `i`.
    #[inline(never)]
    fn spaced_nino(&self, b: &[u8], i: usize, floor: usize) -> Option<Step> {
        if !self.on(Builtin::NationalId) {
            return None;
        }
        let (s, e) = national::match_spaced_nino(b, i).filter(|&(s, _)| s >= floor)?;
        Some(Step::Hit(Builtin::NationalId, s, e))
    }

    /// A number a context word before it names (`call me on 206 5550143`,
    /// `my SSN: 219099999`, `passport 340020013`).
    #[inline]
    fn in_context(&self, b: &[u8], i: usize, floor: usize) -> Option<Step> {
        let kinds = context::kinds_before(b, i);
        if kinds == 0 {
            return None; // most numbers: no context word before them
        }
        self.named_in_context(b, i, floor, kinds)
    }

    /// [`in_context`](Self::in_context) once a context word names `kinds`:
    /// out of line, since most numbers have none.
    #[inline(never)]
    fn named_in_context(&self, b: &[u8], i: usize, floor: usize, mut kinds: u8) -> Option<Step> {
        for (bit, kind) in [
            (context::PHONE, Builtin::Phone),
            (context::SSN, Builtin::Ssn),
            (context::CARD, Builtin::CreditCard),
            (context::PASSPORT, Builtin::Passport),
            (context::NATIONAL, Builtin::NationalId),
        ] {
            if !self.on(kind) {
                kinds &= !bit;
            }
        }
        if kinds == 0 {
            return None;
        }
        let start = if i > floor && b[i - 1] == b'(' {
            i - 1
        } else {
            i
        };
        let longest = if kinds & (context::PHONE | context::CARD | context::NATIONAL) == 0 {
            9
        } else {
            19
        };
        // An SSN (nine digits) first, before a longer reading for a
        // national identifier joins it to the next group.
        if longest > 9 && kinds & context::SSN != 0 && kinds & context::PHONE == 0 {
            let short = context::read_number(b, start, false, 9);
            let digits = &short.digits[..short.count];
            // Unless it is written otherwise than an SSN (solid, or 3-2-4)
            // and the longer reading is a national identifier: `tax id:
            // 3594 58671 8` is a Medicare number, not an SSN and an `8`.
            let text = &b[start..short.end];
            let ssn_shaped = text.len() == 9
                || (text.len() == 11 && !text[3].is_ascii_digit() && !text[6].is_ascii_digit());
            let longer_is_national = || {
                let long = context::read_number(b, start, false, longest);
                long.count > 9
                    && boundary::end_ok(b, long.end)
                    && national::valid(&long.digits[..long.count])
            };
            if short.count == 9
                && boundary::end_ok(b, short.end)
                && !context::followed_by_unit(b, short.end)
                && (ssn::valid_digits(digits) || ssn::valid_itin(digits))
                && (ssn_shaped || kinds & context::NATIONAL == 0 || !longer_is_national())
            {
                return Some(Step::Hit(Builtin::Ssn, start, short.end));
            }
        }
        let n = context::read_number(b, start, kinds & context::PHONE != 0, longest);
        if n.count == 0 || !boundary::end_ok(b, n.end) || context::followed_by_unit(b, n.end) {
            return None;
        }
        let digits = &n.digits[..n.count];
        let hit = |kind| Some(Step::Hit(kind, start, n.end));
        if kinds & context::SSN != 0
            && n.count == 9
            && (ssn::valid_digits(digits) || ssn::valid_itin(digits))
        {
            return hit(Builtin::Ssn);
        }
        // A number in the SSN's form (`911-89-1234`) is no other scheme's.
        let ssn_form =
            n.end - start == 11 && b[start + 3] == b'-' && b[start + 6] == b'-' && n.count == 9;
        if kinds & context::NATIONAL != 0 && !ssn_form && national::valid(digits) {
            return hit(Builtin::NationalId);
        }
        if kinds & context::CARD != 0
            && (13..=19).contains(&n.count)
            && card::is_card_number(digits)
        {
            return hit(Builtin::CreditCard);
        }
        if kinds & context::PASSPORT != 0 && (6..=9).contains(&n.count) && n.end - start == n.count
        {
            return hit(Builtin::Passport);
        }
        // Short plans' numbers have five digits (`21 234`, Cook Islands).
        if kinds & context::PHONE != 0 && (5..=15).contains(&n.count) {
            return hit(Builtin::Phone);
        }
        if kinds & context::NATIONAL != 0 && !ssn_form {
            return self.national_prefix(b, start, &n, kinds & context::PHONE != 0);
        }
        None
    }

    /// A run of groups under a word naming an identifier, whose first
    /// groups (not all of them) are one: `NIR 1 84 18888882 76 541 089 46`
    /// holds one of eleven digits, then another. Taken whole groups, the
    /// longest first: what a second pass reads once the rest is replaced,
    /// so that sanitizing twice changes nothing (found by
    /// `fuzz/fuzz_targets/sanitize.rs`).
    #[cold]
    #[inline(never)]
    fn national_prefix(
        &self,
        b: &[u8],
        start: usize,
        n: &context::Number,
        phone: bool,
    ) -> Option<Step> {
        let mut bounds = n.bounds & ((1u32 << n.count) - 1) & !((1u32 << 8) - 1);
        while bounds != 0 {
            let count = 31 - bounds.leading_zeros() as usize;
            bounds &= !(1 << count);
            if !national::valid(&n.digits[..count]) {
                continue;
            }
            let short = context::read_number(b, start, phone, count);
            if short.count == count
                && boundary::end_ok(b, short.end)
                && !context::followed_by_unit(b, short.end)
            {
                return Some(Step::Hit(Builtin::NationalId, start, short.end));
            }
        }
        None
    }

    /// Identifiers starting with letters at `ws` (digits from `i`) whose
    /// check is weak or optional, so that a word naming them must stand
    /// before them (`RFC ABC990101AB2`, `national id A58818501`), and an
    /// RFC whose check character holds.
    #[inline(never)]
    fn letters_in_context(&self, b: &[u8], ws: usize, i: usize, floor: usize) -> Option<Step> {
        let named = || context::kinds_before(b, ws) & context::NATIONAL != 0;
        let rfc_shaped = i > floor && matches!(b[i - 1], b'A'..=b'Z' | b'&' | b' ');
        if let Some((s, e, checked)) = rfc_shaped
            .then(|| national::match_rfc(b, i, floor))
            .flatten()
        {
            if s >= floor && (checked || named()) {
                return Some(Step::Hit(Builtin::NationalId, s, e));
            }
        }
        if i - ws == 1 {
            if let Some(e) = national::match_es_cif(b, ws).filter(|_| named()) {
                return Some(Step::Hit(Builtin::NationalId, ws, e));
            }
        }
        None
    }

    /// A digit inside a word: an IBAN's check digits after its country
    /// code, or a passport number with letters (`C01X00T47`).
    fn inside_word(&self, b: &[u8], i: usize, floor: usize) -> Option<Step> {
        if !b[i - 1].is_ascii_alphabetic() || in_short_word(b, i, floor).is_some() {
            return None;
        }
        self.word_forms(b, i, floor)
    }

    /// [`inside_word`](Self::inside_word) past its short-cut: the forms
    /// themselves.
    fn word_forms(&self, b: &[u8], i: usize, floor: usize) -> Option<Step> {
        let ws = run_start(b, i, floor, |c| c.is_ascii_alphabetic());
        if !word_starts_at(b, ws) {
            return None;
        }
        // `X2482300W`, `ACUPA7085R`, `RCCMNL83S18D969H`: a national
        // identifier that starts with letters.
        if i - ws <= 6 && self.on(Builtin::NationalId) {
            if let Some(e) = national::match_letter_form(b, ws, i - ws) {
                return Some(Step::Hit(Builtin::NationalId, ws, e));
            }
            if b[i - 1].is_ascii_uppercase() {
                if let Some(hit) = self.letters_in_context(b, ws, i, floor) {
                    return Some(hit);
                }
            }
        }
        if i - ws > 3 {
            return None;
        }
        if i - ws == 2 && self.on(Builtin::Iban) {
            if let Some(e) = iban::match_iban(b, ws) {
                return Some(Step::Hit(Builtin::Iban, ws, e));
            }
        }
        if self.on(Builtin::Passport) {
            return self.passport_token(b, ws);
        }
        None
    }

    /// A passport number with letters in it (`C01X00T47`, `03FR65893`)
    /// starting at `ws`, after a context word.
    fn passport_token(&self, b: &[u8], ws: usize) -> Option<Step> {
        if !b.get(ws + 5).is_some_and(u8::is_ascii_alphanumeric) {
            return None; // shorter than any passport number
        }
        let we = run_end(b, ws, |c| c.is_ascii_alphanumeric());
        let token = &b[ws..we];
        let digits = token.iter().filter(|c| c.is_ascii_digit()).count();
        let shape = (6..=9).contains(&token.len())
            && digits >= 5
            && token
                .iter()
                .all(|c| c.is_ascii_digit() || c.is_ascii_uppercase());
        (shape && boundary::end_ok(b, we) && context::kinds_before(b, ws) & context::PASSPORT != 0)
            .then_some(Step::Hit(Builtin::Passport, ws, we))
    }

    /// The value after the `=` or `:` at `i` when its key names a secret
    /// (the whole value) or a phone number (a bare number). The key is
    /// found once and tested against both sets of names.
    fn keyed_value(
        &self,
        b: &[u8],
        i: usize,
        floor: usize,
        line: &mut Line,
    ) -> Option<(Builtin, usize, usize)> {
        if b[i] == b':' && (secrets::is_path(b, i) || b.get(i + 1..i + 3) == Some(b"//")) {
            return None; // a path (`a::b`) or a URL's scheme (`https://`)
        }
        // A time (`18:01:53`): a key of digits alone names nothing.
        if b[i] == b':' && i > 0 && b[i - 1].is_ascii_digit() {
            let ds = run_start(b, i, floor, |c| c.is_ascii_digit());
            if ds == floor || !b[ds - 1].is_ascii_alphabetic() {
                return None;
            }
        }
        // A key this thread found to name nothing, with the same bytes
        // around it, names nothing again (see `key_memo`).
        let window = key_memo::Window::at(b, i, floor)
            .or_else(|| key_memo::Window::bracketed(b, i, floor))
            .or_else(|| key_memo::Window::spaced(b, i, floor));
        let known = window.is_some_and(|w| key_memo::names_nothing(self.memo_owner, &w, b));
        if !known {
            if let Some(hit) = self.read_key(b, i, floor, window) {
                return hit;
            }
        }
        if b[i] == b':' && self.on(Builtin::Secret) {
            return credentials::clause_password(b, i, line).map(|(s, e)| (Builtin::Secret, s, e));
        }
        None
    }

    /// [`keyed_value`](Self::keyed_value) for a key the memo does not
    /// know: what it names (`Some` of its value, if one reads) or `None`
    /// when it names nothing, then remembered by its `window` if its bytes
    /// alone say so. Out of line: most keys are known.
    #[inline(never)]
    fn read_key(
        &self,
        b: &[u8],
        i: usize,
        floor: usize,
        window: Option<key_memo::Window>,
    ) -> Option<Option<(Builtin, usize, usize)>> {
        match self.named_value(b, i, floor) {
            Named::Value(hit) => Some(hit),
            Named::Nothing { by_name } => {
                if let Some(w) = window.filter(|_| by_name) {
                    key_memo::remember(self.memo_owner, &w, b);
                }
                None
            }
        }
    }

    /// What the key before the delimiter at `i` names: a personal field,
    /// a secret or a phone number, and then its value, if one reads.
    fn named_value(&self, b: &[u8], i: usize, floor: usize) -> Named {
        // `first_name=…`, `"street": "…"`, `dob: …`: a key that ends in
        // the last word of a personal name (read back from the delimiter:
        // most keys are ruled out here) is looked at whole.
        let personal_by_name = match self.personal_value(b, i, floor) {
            Named::Value(hit) => return Named::Value(hit),
            Named::Nothing { by_name } => by_name,
        };
        // Most keys are ruled out while they are read back.
        if !self.key_filter.may_name(b, i, floor) {
            return Named::Nothing {
                by_name: personal_by_name,
            };
        }
        let Some((ks, ke)) = secrets::key_range(b, i, floor) else {
            return Named::Value(None);
        };
        let key = &b[ks..ke];
        let mut by_name = personal_by_name;
        if self.on(Builtin::Secret)
            && self.secret_keys.matches_key(key)
            && !secrets::names_a_setting(key)
        {
            if let Some((s, e)) = secrets::secret_value_after(b, i) {
                // `Authorization: Bearer …`: the scheme word stays, the
                // credential after it (any scheme's) is the token.
                let (kind, s, e) = match secrets::names_authorization(key)
                    .then(|| secrets::credential_after_scheme(b, s, e))
                    .flatten()
                {
                    Some((cs, ce)) if self.on(Builtin::AuthToken) => (Builtin::AuthToken, cs, ce),
                    _ => (Builtin::Secret, s, e),
                };
                if self.is_placeholder(b, s, e, key) {
                    return Named::Value(None);
                }
                return Named::Value(Some((kind, after_replacement(b, s, e), e)));
            }
            // A secret's key with no value after it: another value may
            // read after the same key.
            by_name = false;
        }
        if self.on(Builtin::Phone) && self.phone_keys.matches_key(key) {
            return Named::Value(
                secrets::phone_value_after(b, i).map(|(s, e)| (Builtin::Phone, s, e)),
            );
        }
        Named::Nothing { by_name }
    }

    /// The whole value after the delimiter at `i` when its key names
    /// personal data (and no secret, which the secret path takes).
    #[inline]
    fn personal_value(&self, b: &[u8], i: usize, floor: usize) -> Named {
        if !self.personal_keys.may_end_before(b, i, floor) {
            return Named::Nothing { by_name: true };
        }
        self.personal_value_of_key(b, i, floor)
    }

    /// [`personal_value`](Self::personal_value) once the key's last word
    /// passed: kept out of line, so that the scan of every other key stays
    /// small.
    #[inline(never)]
    fn personal_value_of_key(&self, b: &[u8], i: usize, floor: usize) -> Named {
        let Some((ks, ke)) = secrets::key_range(b, i, floor) else {
            return Named::Nothing { by_name: false };
        };
        let key = &b[ks..ke];
        if self.on(Builtin::Secret) && self.secret_keys.matches_key(key) {
            return Named::Nothing { by_name: true };
        }
        let Some(kind) = self.personal_kind(key) else {
            return Named::Nothing { by_name: true };
        };
        let Some((s, mut e)) = secrets::secret_value_after(b, i) else {
            return Named::Nothing { by_name: false };
        };
        let quoted = s > 0 && matches!(b[s - 1], b'"' | b'\'');
        match kind {
            Builtin::NationalId => e = identifier_end(b, s, e),
            Builtin::PersonName | Builtin::Address | Builtin::DateOfBirth if !quoted => {
                e = words_end(b, e, kind == Builtin::Address);
            }
            _ => {}
        }
        if self.is_placeholder(b, s, e, key) {
            return Named::Nothing { by_name: false };
        }
        Named::Value(Some((kind, s, e)))
    }

    /// The personal kind `key` names, if any enabled one (see
    /// [`personal`]).
    pub(crate) fn personal_kind(&self, key: &[u8]) -> Option<Builtin> {
        self.personal_keys.kind_of(key, |kind| self.on(kind))
    }

    /// A colon: a URL's password, a key's value, a MAC address or an IPv6
    /// address. Between two digits (`18:01:53`, a port) it can only be the
    /// last two. Inline in the scan: a colon is the commonest key's
    /// delimiter in logs, and a call for each cost more than the code it
    /// adds to the scan (measured: BENCHMARKS.md, issue 28's fifth session).
    #[inline(always)]
    fn at_colon(
        &self,
        b: &[u8],
        i: usize,
        floor: usize,
        line: &mut Line,
    ) -> Option<(Builtin, usize, usize)> {
        let before = if i > 0 { b[i - 1] } else { 0 };
        let after = b.get(i + 1).copied().unwrap_or(0);
        if !(before.is_ascii_digit() && after.is_ascii_digit()) {
            // A URL's password is always before `//`.
            let url = || (after == b'/').then(|| self.url_password(b, i)).flatten();
            if let Some(hit) = url().or_else(|| self.keyed_value(b, i, floor, line)) {
                return Some(hit);
            }
        }
        // Both address forms have a hex digit or a colon on each side of
        // each colon (or the text's edge).
        let hexish = |c: u8| c.is_ascii_hexdigit() || c == b':';
        let open_before = i == 0 || hexish(before);
        let open_after = i + 1 >= b.len() || hexish(after);
        if !(open_before && open_after) {
            return None;
        }
        self.mac_at(b, i, floor).or_else(|| self.ipv6(b, i, floor))
    }

    /// Whether the value at `s..e` under the secret-named `key` is a
    /// placeholder or reference (counted, and left).
    fn is_placeholder(&self, b: &[u8], s: usize, e: usize, key: &[u8]) -> bool {
        let v = &b[s..e];
        // `Token { kind: … }`: an object's description; its fields are
        // scanned on their own.
        let word = run_end(v, 0, |c| c.is_ascii_alphanumeric() || c == b'_');
        let object = v.first().is_some_and(u8::is_ascii_uppercase)
            && b.get(s + word..s + word + 2) == Some(b" {");
        let placeholder =
            object || credentials::is_placeholder(v, credentials::names_a_password(key));
        if placeholder {
            self.placeholders
                .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        }
        placeholder
    }

    /// `<password>…</password>`: the text of an element whose name is a
    /// secret name.
    fn xml_element(&self, b: &[u8], i: usize, floor: usize) -> Option<(Builtin, usize, usize)> {
        if !self.on(Builtin::Secret) || i == 0 || !b[i - 1].is_ascii_alphanumeric() {
            return None;
        }
        let ks = run_start(b, i, floor, |c| bytes::is_key(c) && c != b'.');
        if ks == floor || b[ks - 1] != b'<' || !self.secret_keys.matches_key(&b[ks..i]) {
            return None;
        }
        let (s, e) = credentials::element_text(b, i + 1)?;
        (!self.is_placeholder(b, s, e, &b[ks..i])).then_some((Builtin::Secret, s, e))
    }

    /// `getenv("API_TOKEN", "…")`: a quoted secret name, a comma, and the
    /// quoted value.
    fn comma_pair(&self, b: &[u8], i: usize, floor: usize) -> Option<(Builtin, usize, usize)> {
        if !self.on(Builtin::Secret) || i == 0 || !matches!(b[i - 1], b'"' | b'\'') {
            return None;
        }
        let (ks, ke) = secrets::key_range(b, i, floor)?;
        let key = &b[ks..ke];
        if !self.secret_keys.matches_key(key) {
            return None;
        }
        // A value is never read as a key: in `"action": "password_change",
        // "method": …` the quoted word after `:` is a value, and what
        // follows the comma is the next key.
        let before = b[..ks.saturating_sub(1)]
            .iter()
            .rposition(|c| !c.is_ascii_whitespace())
            .map(|k| b[k]);
        if matches!(before, Some(b':' | b'=')) {
            return None;
        }
        let (s, e) = credentials::comma_pair_value(b, i)?;
        let after = b[e..]
            .iter()
            .skip(1)
            .find(|c| !c.is_ascii_whitespace())
            .copied();
        if after == Some(b':') {
            return None; // the quoted word after the comma is a key
        }
        (!self.is_placeholder(b, s, e, key)).then_some((Builtin::Secret, s, e))
    }

    fn url_password(&self, b: &[u8], i: usize) -> Option<(Builtin, usize, usize)> {
        if !self.on(Builtin::Secret) {
            return None;
        }
        secrets::match_url_password(b, i).map(|(s, e)| (Builtin::Secret, s, e))
    }

    fn ipv6(&self, b: &[u8], i: usize, floor: usize) -> Option<(Builtin, usize, usize)> {
        if !self.on(Builtin::IpAddress) {
            return None;
        }
        let (s, e) = ip::match_ipv6_around(b, i, floor)?;
        let local = || std::str::from_utf8(&b[s..e]).is_ok_and(ip::is_local_v6);
        (self.local_ips || !local()).then_some((Builtin::IpAddress, s, e))
    }

    /// A MAC address whose first separator is at `i` (one that starts
    /// with a digit is found from that digit).
    fn mac_at(&self, b: &[u8], i: usize, floor: usize) -> Option<(Builtin, usize, usize)> {
        if !self.on(Builtin::MacAddress) {
            return None;
        }
        // The bytes right around the separator must be hex digits.
        let hex = |k: usize| b.get(k).is_some_and(u8::is_ascii_hexdigit);
        if i == 0 || !hex(i - 1) || !hex(i + 1) {
            return None;
        }
        mac::match_mac_at_separator(b, i)
            .filter(|&(s, _)| s >= floor)
            .map(|(s, e)| (Builtin::MacAddress, s, e))
    }

    fn at_dash(&self, b: &[u8], i: usize, floor: usize) -> Option<(Builtin, usize, usize)> {
        if let Some(hit) = self.mac_at(b, i, floor) {
            return Some(hit);
        }
        if self.on(Builtin::Secret) && matches!(b.get(i + 1), Some(b'-' | b'u' | b'p')) {
            let secret = |name: &[u8]| self.secret_keys.matches_key(name);
            if let Some((s, e)) = credentials::flag_value(b, i, secret) {
                return Some((Builtin::Secret, s, e));
            }
        }
        if self.on(Builtin::PrivateKey) && b.get(i..i + 5) == Some(b"-----") {
            if let Some(e) = tokens::match_private_key(b, i) {
                return Some((Builtin::PrivateKey, i, e));
            }
        }
        if self.on(Builtin::ApiKey) {
            return self.api_key(b, i, floor);
        }
        None
    }

    /// A provider key around the separator at `i`, unless it is masked.
    fn api_key(&self, b: &[u8], i: usize, floor: usize) -> Option<(Builtin, usize, usize)> {
        let (s, e) = tokens::match_separated_key(b, i, floor)?;
        if credentials::is_placeholder(&b[s..e], false) {
            self.placeholders
                .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            return None;
        }
        Some((Builtin::ApiKey, s, e))
    }

    fn at_separator(
        &self,
        b: &[u8],
        i: usize,
        floor: usize,
        jwt_resume: &mut usize,
    ) -> Option<(Builtin, usize, usize)> {
        // A JWT's header and payload both start `eyJ` (`{"`): anchor on the
        // first dot, when the payload follows it.
        if b[i] == b'.' && self.on(Builtin::Jwt) && b.get(i + 1..i + 4) == Some(b"eyJ") {
            let start = run_start(b, i, floor.max(*jwt_resume), tokens_byte);
            if b[start..].starts_with(b"eyJ") && (start == 0 || !tokens_byte(b[start - 1])) {
                match tokens::match_jwt(b, start) {
                    Ok(e) => return Some((Builtin::Jwt, start, e)),
                    Err(r) => *jwt_resume = r,
                }
            }
        }
        if b[i] == b'.' {
            if let Some(hit) = self.mac_at(b, i, floor) {
                return Some(hit);
            }
        }
        if self.on(Builtin::ApiKey) {
            return self.api_key(b, i, floor);
        }
        None
    }
}

/// The end of an identifier's value `s..e` with the groups after it that
/// hold a digit, each after one space (or an `&` in an RFC's letters), as
/// identifiers are written (`Steuer-ID: 1123456789 0`, `fødselsnummer:
/// 180615 92527`, `RFC: SIN 931116 9P8`, `RFC: AA&0607148I0`): the groups
/// are the value's, up to 18 letters and digits (the longest identifier).
fn identifier_end(b: &[u8], s: usize, mut e: usize) -> usize {
    let mut count = b[s..e].iter().filter(|c| c.is_ascii_alphanumeric()).count();
    while e > s && b[e - 1].is_ascii_alphanumeric() {
        let joiner = match b.get(e) {
            Some(b' ') => true,
            Some(b'&') => b[s..e].iter().all(u8::is_ascii_uppercase),
            _ => false,
        };
        let rest = b.get(e + 1..).unwrap_or_default();
        let len = rest
            .iter()
            .take_while(|c| c.is_ascii_alphanumeric())
            .count();
        let group = &rest[..len];
        let ends_ok = !b
            .get(e + 1 + len)
            .is_some_and(|c| c.is_ascii_alphanumeric() || *c >= 0x80);
        // A letter after the digits ends some (`QQ 12 34 56 C`).
        let suffix = len == 1 && group[0].is_ascii_uppercase() && b[e - 1].is_ascii_digit();
        let digits = group.iter().any(u8::is_ascii_digit);
        if !joiner || len == 0 || count + len > 18 || !(digits || suffix) || !ends_ok {
            break;
        }
        count += len;
        e += 1 + len;
    }
    e
}

/// The end of an unquoted name, address or date whose first word ends at
/// `e`: the words after it, each after one space, that are still the
/// value's (`cardholder=Ada Lovelace amount=3`, `street=1 Main St
/// city=London`, `dob=10 Dec 1815`). A name goes on over capitalised
/// words, numbers and the particles of names (`van`, `de`, `da` …); an
/// address over any word (`12 rue de la Paix`); each stops at a word
/// that is the next key (`amount=`, `city:`) or at a clause's end.
fn words_end(b: &[u8], mut e: usize, any_word: bool) -> usize {
    const PARTICLES: [&[u8]; 14] = [
        b"van", b"von", b"de", b"der", b"den", b"da", b"das", b"do", b"dos", b"du", b"la", b"le",
        b"bin", b"al",
    ];
    while b.get(e) == Some(&b' ') {
        let start = e + 1;
        let len = b[start..]
            .iter()
            .take_while(|c| {
                c.is_ascii_alphanumeric() || **c >= 0x80 || matches!(c, b'.' | b'-' | b'\'')
            })
            .count();
        if len == 0 {
            break;
        }
        let word = &b[start..start + len];
        // The next key: `amount=3`, `city: London`, `"x":`.
        if matches!(b.get(start + len), Some(b'=' | b':')) {
            break;
        }
        let first = word[0];
        let fits = any_word
            || first.is_ascii_uppercase()
            || first.is_ascii_digit()
            || first >= 0x80
            || PARTICLES.iter().any(|p| p.eq_ignore_ascii_case(word));
        if !fits {
            break;
        }
        e = start + len;
        // A trailing `.` ends the clause, not the name (`… Lovelace.`).
        while e > start && b[e - 1] == b'.' {
            e -= 1;
        }
    }
    e
}

/// The start of the run of bytes before `i` (not before `floor`) that
/// satisfy `pred`.
fn run_start(b: &[u8], i: usize, floor: usize, pred: impl Fn(u8) -> bool) -> usize {
    let mut s = i;
    while s > floor && pred(b[s - 1]) {
        s -= 1;
    }
    s
}

use bytes::is_b64url as tokens_byte;

#[cfg(test)]
mod tests {
    use super::*;

    fn detectors() -> Detectors {
        Detectors::new(
            [true; Builtin::COUNT],
            SecretKeys::new(DEFAULT_SECRET_KEYS),
            SecretKeys::new(PHONE_KEYS),
            PersonalKeys::new(default_personal_names(), &[]),
            false,
        )
    }

    fn hits(text: &str) -> Vec<(Builtin, &str)> {
        let mut out = Vec::new();
        detectors().scan(text, |h| {
            out.push((h.kind, &text[h.start..h.end]));
            ControlFlow::Continue(())
        });
        out
    }

    #[test]
    fn swar_candidates_agree_with_their_definition() {
        for c in 0..=255u8 {
            let m = candidates(u64::from(c) * ONES);
            let expected = (b','..=b'B').contains(&c) || c == b'_';
            assert_eq!(m == HIGH, expected, "{c:#x}");
            assert!(m == 0 || m == HIGH, "{c:#x}");
        }
    }

    #[test]
    fn national_phone_numbers_after_a_context_word() {
        for (text, number) in [
            // Short plans' five digits, after a word.
            ("call me on 62889 today", "62889"),
            // A trunk prefix before parentheses, a short tail.
            ("call me on 8 (301) 123-09-85 today", "8 (301) 123-09-85"),
            ("tel 8 301 123-09-85", "8 301 123-09-85"),
            ("call me on 800 01 25 07 today", "800 01 25 07"),
            ("call me on 1800 129 020 today", "1800 129 020"),
            // Groups inside the parentheses.
            ("call me on (0-312) 34567 today", "(0-312) 34567"),
            ("call me on (06 1) 234 5678 today", "(06 1) 234 5678"),
        ] {
            assert_eq!(hits(text), [(Builtin::Phone, number)], "{text}");
        }
        // A list: a trunk-0 group long enough to be a number starts one.
        assert_eq!(
            hits("call 052 5552606 074-7111234"),
            [
                (Builtin::Phone, "052 5552606"),
                (Builtin::Phone, "074-7111234")
            ]
        );
        // Five digits after a word that names nothing, or after a key.
        for text in [
            "retry on 12345 done",
            "port 54321 open",
            "/orders/84213 done",
        ] {
            assert_eq!(hits(text), [], "{text}");
        }
    }

    #[test]
    fn an_unquoted_name_or_address_keeps_its_words() {
        for (text, kind, value) in [
            (
                "cardholder=Ada Lovelace amount=3",
                Builtin::PersonName,
                "Ada Lovelace",
            ),
            (
                "fullName: Ada Lovelace",
                Builtin::PersonName,
                "Ada Lovelace",
            ),
            (
                "customer_name=Vincent van Gogh, paid",
                Builtin::PersonName,
                "Vincent van Gogh",
            ),
            (
                "street=12 rue de la Paix city=Paris",
                Builtin::Address,
                "12 rue de la Paix",
            ),
            ("dob=10 Dec 1815 ok=1", Builtin::DateOfBirth, "10 Dec 1815"),
            (
                "cardholder=Ada Lovelace.",
                Builtin::PersonName,
                "Ada Lovelace",
            ),
        ] {
            assert_eq!(hits(text), [(kind, value)], "{text}");
        }
        // A lower-case word after a name is the sentence's.
        assert_eq!(
            hits("first_name=Ada logged in"),
            [(Builtin::PersonName, "Ada")]
        );
    }

    #[test]
    fn a_run_under_an_identifier_word_yields_the_identifier_its_first_groups_are() {
        // Found by the fuzz target: the whole run is no identifier, so its
        // tail was taken alone, and a second pass then took the head.
        let text = "fødselsnummer: 0101355 9 NIR 1 84 18888882 76 541 089 46";
        assert_eq!(
            hits(text),
            [
                (Builtin::NationalId, "1 84 18888882"),
                (Builtin::NationalId, "76 541 089 46")
            ]
        );
        let once = crate::Sanitizer::default().sanitize(text).into_owned();
        assert_eq!(crate::Sanitizer::default().sanitize(&once), once);
    }

    #[test]
    fn three_groups_of_three_after_a_phone_word_are_a_phone_number() {
        assert_eq!(hits("móvil 612 345 678"), [(Builtin::Phone, "612 345 678")]);
        assert_eq!(
            hits("SIN 123 456 782"),
            [(Builtin::NationalId, "123 456 782")]
        );
    }

    #[test]
    fn nine_digits_after_tax_id_are_an_ssn_unless_they_head_another_scheme() {
        assert_eq!(
            hits("tax id 078-05-1120 ok"),
            [(Builtin::Ssn, "078-05-1120")]
        );
        assert_eq!(hits("tax id: 078051120"), [(Builtin::Ssn, "078051120")]);
        // Australia's Medicare number in its 4-5-1 groups.
        assert_eq!(
            hits("tax id: 3594 58671 8"),
            [(Builtin::NationalId, "3594 58671 8")]
        );
    }

    #[test]
    fn an_identifier_under_its_key_keeps_its_groups() {
        for (text, value) in [
            ("Steuer-ID: 1123456789 0 ok", "1123456789 0"),
            ("national_id: 180615 92527 status ok", "180615 92527"),
            ("national_id: AS 03 72 03 D", "AS 03 72 03 D"),
            ("RFC: SIN 931116 9P8 done", "SIN 931116 9P8"),
            ("RFC: AA&0607148I0", "AA&0607148I0"),
        ] {
            assert_eq!(hits(text), [(Builtin::NationalId, value)], "{text}");
        }
        // A word after the number is not its group.
        assert_eq!(
            hits("national_id: 18061592527 status ok"),
            [(Builtin::NationalId, "18061592527")]
        );
    }

    #[test]
    fn one_pass_finds_every_kind_in_order() {
        let text = "ada@example.com called +1 415 555 2671 from 10.1.2.3 with card \
                    4111-1111-1111-1111, ssn 123-45-6789, iban DE89 3704 0044 0532 0130 00, \
                    key AKIAIOSFODNN7EXAMPLE and password=hunter2 via 2001:db8::1";
        let kinds: Vec<_> = hits(text).into_iter().map(|(k, _)| k).collect();
        assert_eq!(
            kinds,
            [
                Builtin::Email,
                Builtin::Phone,
                Builtin::IpAddress,
                Builtin::CreditCard,
                Builtin::Ssn,
                Builtin::Iban,
                Builtin::ApiKey,
                Builtin::Secret,
                Builtin::IpAddress,
            ]
        );
    }

    #[test]
    fn clean_log_lines_have_no_hits() {
        for text in [
            "GET /api/v1/orders/98231 completed in 42 ms with status 200 (cache hit ratio 0.93)",
            "worker-3 processed batch 1700000000 of 12 items at 2024-01-15T10:30:00.123Z",
            "upgraded tokio 1.38.0 -> 1.39.2; std::io::Error kind=NotFound retries=3",
            "Bearer token missing from request; see RFC 6750 section 3.1",
            "A user A-B tested JSON payloads, e.g. {\"a\": 1, \"b\": [1, 2]}",
            "order_id=4155552671 amount=129.99 currency=EUR sku=AB-1234-XY",
        ] {
            assert_eq!(hits(text), [], "{text}");
        }
    }

    /// What the default sanitizer writes for `text`, and how many
    /// placeholders it left.
    fn sanitized(text: &str) -> (String, u64) {
        let s = crate::Sanitizer::default();
        let out = s.sanitize(text).into_owned();
        (out, s.placeholders_seen())
    }

    #[test]
    fn a_secret_glued_after_a_bracketed_part_is_replaced_whole() {
        for text in [
            "password=[X]hunter2",
            "password=[REDACTED]hunter2 ok",
            "token={a}b",
        ] {
            let (out, _) = sanitized(text);
            assert!(
                !out.contains("hunter2") && !out.ends_with('b'),
                "{text} -> {out}"
            );
            assert!(out.contains("[REDACTED:SECRET]"), "{text} -> {out}");
        }
        // A placeholder in brackets alone stays one.
        assert_eq!(
            sanitized("password=[REDACTED] ok").0,
            "password=[REDACTED] ok"
        );
        // A second pass keeps what the first wrote (found by the fuzz target).
        let once = sanitized("f;dsels 056172 BSN=uenmmr 12___ibBSN=ue8u").0;
        assert_eq!(once.matches("[REDACTED:NATIONAL_ID]").count(), 2, "{once}");
        assert_eq!(sanitized(&once).0, once);
    }

    #[test]
    fn an_authorization_value_keeps_its_scheme_word_whatever_the_scheme() {
        for (text, expected) in [
            (
                "Authorization: Bearer abcdef0123456789abcdef0123456789",
                "Authorization: Bearer [REDACTED:AUTH_TOKEN]",
            ),
            (
                "Authorization: Basic dXNlcjpwYXNzd29yZA==",
                "Authorization: Basic [REDACTED:AUTH_TOKEN]",
            ),
            // A scheme warden does not know: the credential after it is
            // the token, never left in clear.
            (
                "Authorization: Api-Token 22cb4f0f6c7d4e0b9a8e7f6d5c4b3a29",
                "Authorization: Api-Token [REDACTED:AUTH_TOKEN]",
            ),
            (
                r#"{"authorization": "Token abc123def456", "status": 401}"#,
                r#"{"authorization": "Token [REDACTED:AUTH_TOKEN]", "status": 401}"#,
            ),
            // A list of parameters runs to the end of the line.
            (
                r#"Proxy-Authorization: Digest username="ada", response="6629fae49393a05397450978507c4ef1""#,
                "Proxy-Authorization: Digest [REDACTED:AUTH_TOKEN]",
            ),
            // One word: the whole value is the credential.
            (
                "Authorization: 22cb4f0f6c7d4e0b9a8e7f6d5c4b3a29",
                "Authorization: [REDACTED:SECRET]",
            ),
        ] {
            assert_eq!(sanitized(text).0, expected, "{text}");
        }
    }

    #[test]
    fn placeholders_after_an_authorization_scheme_are_left_and_counted() {
        for text in [
            r#"curl -H "Authorization: Bearer $API_KEY""#,
            "Authorization: Bearer <Openverse API token>",
            "Authorization: Bearer $(gcloud auth print-access-token)",
            "Authorization: Bearer XXXXXXXXXXXX",
            "Authorization: Basic ...",
            "Authorization: Bearer ${{ secrets.TOKEN }}",
        ] {
            assert_eq!(sanitized(text), (text.to_owned(), 1), "{text}");
        }
    }

    #[test]
    fn a_value_is_never_read_as_a_key() {
        for text in [
            r#"{"action": "password_change", "method": "self_service"}"#,
            r#"{"event": "token_refresh", "client": "web"}"#,
            "event='api_key_rotated', 'status'",
        ] {
            assert_eq!(sanitized(text).0, text, "{text}");
        }
        // A name and its value in a call still are a pair.
        assert_eq!(
            sanitized(r#"getenv("API_TOKEN", "s3cr3t-value-123")"#).0,
            r#"getenv("API_TOKEN", "[REDACTED:SECRET]")"#
        );
    }

    #[test]
    fn a_secret_word_inside_a_dotted_identifier_names_no_secret() {
        for text in [
            "io.jsonwebtoken:jjwt-jackson-0.11.2",
            "com.example.passwordpolicy:core-1.2",
        ] {
            assert_eq!(sanitized(text).0, text, "{text}");
        }
        // A one-word key that ends in a secret name still is one.
        assert_eq!(
            sanitized("PGPASSWORD=hunter2hunter2 xsrftoken=abcdef0123456789").0,
            "PGPASSWORD=[REDACTED:SECRET] xsrftoken=[REDACTED:SECRET]"
        );
    }

    #[test]
    fn a_national_identifier_beside_a_word_naming_it_is_found_when_it_validates() {
        for (text, expected) in [
            ("my BSN is 111222333", "my BSN is [REDACTED:NATIONAL_ID]"),
            ("PESEL: 44051401359", "PESEL: [REDACTED:NATIONAL_ID]"),
            ("Steuer-ID 36574261809", "Steuer-ID [REDACTED:NATIONAL_ID]"),
            (
                "TC kimlik no 17291716060",
                "TC kimlik no [REDACTED:NATIONAL_ID]",
            ),
            ("CPF 390.533.447-05", "CPF [REDACTED:NATIONAL_ID]"),
            (
                "personnummer 880320-0016",
                "personnummer [REDACTED:NATIONAL_ID]",
            ),
            (
                "numero de securite sociale 295109912611193",
                "numero de securite sociale [REDACTED:NATIONAL_ID]",
            ),
            ("tax id 36574261809", "tax id [REDACTED:NATIONAL_ID]"),
        ] {
            assert_eq!(sanitized(text).0, expected, "{text}");
        }
        // No word naming it, or a check digit that fails: a number.
        for text in [
            "order 111222333 shipped",
            "pesel 44051401358",
            "id 44051401359 in 12 ms",
            "batch 36574261809 done",
        ] {
            assert_eq!(sanitized(text).0, text, "{text}");
        }
    }

    #[test]
    fn a_dotted_quad_in_a_version_context_is_a_version() {
        for text in [
            "Package_for_KB3121255~31bf3856ad364e35~amd64~~6.1.1.0",
            "productID=com.google.Keystone version=1.2.8.57",
            "Version: 10.0.0.1",
            "ver 6.1.1.0 installed",
            "v6.1.7601.23505",
        ] {
            assert_eq!(sanitized(text).0, text, "{text}");
        }
        assert_eq!(
            sanitized("conversion from 10.1.2.3").0,
            "conversion from [REDACTED:IP_ADDRESS]"
        );
    }

    #[test]
    fn a_plus_sign_makes_a_phone_number() {
        assert_eq!(
            hits("+44.100.000.000"),
            [(Builtin::Phone, "+44.100.000.000")]
        );
        assert_eq!(
            hits("44.100.000.000"),
            [(Builtin::IpAddress, "44.100.000.000")]
        );
    }

    #[test]
    fn disabled_kinds_are_skipped() {
        let mut d = detectors();
        d.enabled[Builtin::Email as usize] = false;
        let mut n = 0;
        d.scan("ada@example.com", |_| {
            n += 1;
            ControlFlow::Continue(())
        });
        assert_eq!(n, 0);
    }

    #[test]
    fn a_colon_between_digits_is_bare_unless_an_address_may_hold_it() {
        let bare = |t: &str| {
            let c = t.find(':').unwrap();
            bare_colon(t.as_bytes(), c)
        };
        for t in [
            "18:01:53,557",
            "at 02:04:59 combo",
            "10.190.173.170:9000",
            "1:2",
        ] {
            assert!(bare(t), "{t}");
        }
        for t in [
            "3c:22:fb:12:34:56",
            "12:34::5",
            "2001:db8:0:0:1:0:0:1",
            "1:2:3:4:5:6:1.2.3.4",
            "0:0::1",
        ] {
            assert!(!bare(t), "{t}");
        }
    }

    #[test]
    fn times_beside_the_kinds_change_nothing() {
        assert_eq!(
            hits("18:01:53 call 206 555 0143 from 10.1.2.3:9000 mac 3c:22:fb:12:34:56 at 9:30"),
            vec![
                (Builtin::Phone, "206 555 0143"),
                (Builtin::IpAddress, "10.1.2.3"),
                (Builtin::MacAddress, "3c:22:fb:12:34:56"),
            ]
        );
        assert_eq!(
            hits("at 12:30 fe80::1ff:fe23:4567:890a up"),
            vec![(Builtin::IpAddress, "fe80::1ff:fe23:4567:890a")]
        );
    }

    /// Texts of digit groups, separators and a few letters: the shapes the
    /// short-cuts in front of the detectors decide.
    fn digit_soup(seed: u64, count: usize) -> Vec<String> {
        const PARTS: [&str; 40] = [
            "0",
            "12",
            "123",
            "2015",
            "18",
            "01",
            "47",
            "06",
            ":",
            "-",
            "/",
            ".",
            " ",
            ",",
            "(",
            "+",
            "x",
            "AB",
            "3c",
            "fe",
            "::",
            "$",
            "ab",
            "Dec ",
            "4111",
            "1111",
            "4012888888881881",
            "378282246310005",
            "v",
            "GB",
            "X",
            "ACUPA",
            "RCCMNL",
            "admin",
            "ADMIN",
            "Admi",
            "workers",
            "ABCDEFG",
            "abcdE",
            "RCCMNL83S18D969H",
        ];
        soup(seed, count, 12, &PARTS)
    }

    /// `count` texts, each of one to `most` of `parts` drawn by a xorshift
    /// generator seeded with `seed` (the same texts every run).
    fn soup<P: AsRef<str>>(seed: u64, count: usize, most: u64, parts: &[P]) -> Vec<String> {
        let mut state = seed;
        let mut next = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        (0..count)
            .map(|_| {
                let n = 1 + next() % most;
                (0..n)
                    .map(|_| parts[(next() % parts.len() as u64) as usize].as_ref())
                    .collect()
            })
            .collect()
    }

    /// Texts of dates and times (valid, nearly valid, joined to more),
    /// numbers, context words and keys, as `digit_soup` makes them.
    fn stamp_soup(seed: u64, count: usize) -> Vec<String> {
        const PARTS: [&str; 56] = [
            "2015-10-18",
            "2015-10-18 ",
            "2024/02/29",
            "2005.11.09",
            "1999.12.31",
            "17/06/09",
            "31.12.1999",
            "12/31/1999",
            "10.30",
            "10-30",
            "081109",
            "203615",
            "861231",
            "000101",
            "18:01:47",
            "23:59",
            "18:01:47,978",
            ".123456",
            "24:00",
            " ",
            "T",
            "Z",
            "-",
            "/",
            ".",
            ":",
            ",",
            "(",
            ")",
            "+",
            "+1 ",
            "0",
            "12",
            "148",
            "5551234",
            "4111",
            "1111",
            "x",
            "INFO ",
            "phone ",
            "tel: ",
            "call me on ",
            "SSN ",
            "card ",
            "passport ",
            "national id ",
            "dob=",
            "date=",
            "BSN ",
            "[",
            "]",
            "\"",
            "=",
            "id ",
            "at ",
            "\n",
        ];
        soup(seed, count, 10, &PARTS)
    }

    /// Texts of words joined by separators (`.`, `_`, `-`), provider
    /// keys' prefixes, hex digits, flags, a JWT's start and key bodies.
    fn separator_soup(seed: u64, count: usize) -> Vec<String> {
        let mut parts: Vec<String> = [
            ".",
            "_",
            "-",
            "--",
            "-u",
            "-p",
            "-----BEGIN",
            "eyJ",
            "eyJhbGciOiJIUzI1NiJ9",
            // MAC addresses whose first separator follows hex letters (the
            // digits' rules do not reach them first), and their pieces.
            "fe-22-fb-12-34-56",
            "FB-12-34-56-78-9A",
            "abcd.ef01.2345",
            "fb12.3456.789a",
            "ab-cd-",
            "abcd.ef01.",
            "org",
            "apache",
            "blk",
            "fe",
            "ab",
            "3c",
            "0a",
            "a",
            "x",
            "Q",
            "123",
            "4111",
            "2015",
            "abcdef0123456789",
            "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghij0123456789",
            "_-",
            " ",
            "=",
            ":",
            "/",
            "@",
        ]
        .iter()
        .map(|p| (*p).to_owned())
        .collect();
        for rule in tokens::SEPARATED_KEYS {
            let prefix = String::from_utf8_lossy(rule.prefix).into_owned();
            parts.push(prefix[..prefix.len() - 1].to_owned());
            parts.push(prefix);
        }
        soup(seed, count, 10, &parts)
    }

    /// Asserts that the pass finds the same in each text with its
    /// short-cuts and without them, with every kind on and with some off.
    fn assert_short_cuts_find_the_same(texts: &[String]) {
        let all = detectors();
        let mut no_phone = [true; Builtin::COUNT];
        no_phone[Builtin::Phone as usize] = false;
        let some = Detectors::new(
            no_phone,
            SecretKeys::new(DEFAULT_SECRET_KEYS),
            SecretKeys::new(PHONE_KEYS),
            PersonalKeys::new(default_personal_names(), &[]),
            true,
        );
        for text in texts {
            for d in [&all, &some] {
                let collect = |short_cuts: bool| {
                    let mut found = Vec::new();
                    let emit = |h: Hit| {
                        found.push((h.kind, h.start, h.end));
                        ControlFlow::Continue(())
                    };
                    if short_cuts {
                        d.scan_with::<true>(text, emit);
                    } else {
                        d.scan_with::<false>(text, emit);
                    }
                    found
                };
                assert_eq!(collect(true), collect(false), "{text:?}");
            }
        }
    }

    #[test]
    fn a_stamp_passed_over_is_one_the_rules_pass_over() {
        let texts = stamp_soup(0x9E37_79B9_7F4A_7C15, 300_000);
        assert_short_cuts_find_the_same(&texts);
        // The soup holds many stamps the short-cut takes.
        let passed: usize = texts
            .iter()
            .map(|t| {
                let b = t.as_bytes();
                (0..b.len())
                    .filter(|&i| b[i].is_ascii_digit() && passed_stamp(b, i).is_some())
                    .count()
            })
            .sum();
        assert!(passed > 30_000, "{passed}");
    }

    #[test]
    fn a_plain_separator_is_one_the_rules_pass_over() {
        let texts = separator_soup(0xD1B5_4A32_D192_ED03, 100_000);
        assert_short_cuts_find_the_same(&texts);
        // The soup holds separators of both sorts, and keys found.
        let (mut plain, mut not) = (0, 0);
        for t in &texts {
            let b = t.as_bytes();
            for i in (0..b.len()).filter(|&i| matches!(b[i], b'.' | b'_' | b'-')) {
                if plain_separator(b, i) {
                    plain += 1;
                } else {
                    not += 1;
                }
            }
        }
        assert!(plain > 30_000 && not > 30_000, "{plain} {not}");
        let d = detectors();
        let mut found = 0;
        for t in &texts {
            d.scan(t, |h| {
                found += usize::from(h.kind == Builtin::ApiKey);
                ControlFlow::Continue(())
            });
        }
        assert!(found > 1_000, "{found}");
    }

    /// Texts of keys (secret, personal, phone, long, false passes of the
    /// filters), delimiters of every form and values (secrets,
    /// placeholders, hits that move the floor next to a key).
    fn key_soup(seed: u64, count: usize) -> Vec<String> {
        const PARTS: [&str; 92] = [
            "password",
            "Password",
            "passwd",
            "api_key",
            "apiKey",
            "token",
            "secret",
            "client_secret",
            "Authorization",
            "first_name",
            "firstName",
            "user",
            "ruser",
            "username",
            "email",
            "phone",
            "mobile",
            "tel",
            "ssn",
            "dob",
            "street",
            "address",
            "postal_code",
            "tax_id",
            "national_id",
            "order_id",
            "status_code",
            "first_name_max_length",
            "PacketResponder",
            "dfs.FSNamesystem",
            "gender",
            "org.apache.hadoop.mapreduce.v2.app.job.impl.TaskAttemptImpl",
            "proxy.cse.cuhk.edu.hk",
            "sshd",
            "uid",
            "x",
            "a1",
            "db_password_hash",
            "PGPASSWORD",
            "pwd",
            "tokenizer",
            "passport",
            "iban",
            "card_number",
            "var",
            "string",
            "NHSNumber",
            "9",
            "42",
            "=",
            ": ",
            ":",
            "\": ",
            "\"",
            "'",
            "[42]:",
            "[]",
            " = ",
            "=\"",
            ":=",
            " ",
            " ",
            "(",
            ")",
            "$",
            ".",
            "_",
            "-",
            "hunter2x9",
            "Winter2024!",
            "null",
            "$VAR",
            "***",
            "John Smith",
            "+14155550123",
            "4111111111111111",
            "219-09-9999",
            "a@b.co",
            "10.0.0.1",
            "Bearer abc123def456ghi",
            "AB123456C",
            "DE89370400440532013000",
            "does not meet policy",
            ",",
            ";",
            "\n",
            "<",
            ">",
            "/",
            "&",
            "é",
            "\u{1F600}",
        ];
        soup(seed, count, 14, &PARTS)
    }

    #[test]
    fn a_key_remembered_as_naming_nothing_names_nothing() {
        let texts = key_soup(0xA076_1D64_78BD_642F, 20_000);
        let mut no_phone = [true; Builtin::COUNT];
        no_phone[Builtin::Phone as usize] = false;
        let mut no_secret = [true; Builtin::COUNT];
        no_secret[Builtin::Secret as usize] = false;
        let configs = [
            detectors(),
            Detectors::new(
                no_phone,
                SecretKeys::new(DEFAULT_SECRET_KEYS),
                SecretKeys::new(PHONE_KEYS),
                PersonalKeys::new(default_personal_names(), &[]),
                true,
            ),
            Detectors::new(
                no_secret,
                SecretKeys::new(["session", "x"]),
                SecretKeys::new(PHONE_KEYS),
                PersonalKeys::new(
                    default_personal_names(),
                    &["user".to_string(), "ruser".to_string()],
                ),
                false,
            ),
        ];
        let collect = |d: &Detectors, text: &str| {
            let mut found = Vec::new();
            d.scan(text, |h| {
                found.push((h.kind, h.start, h.end));
                ControlFlow::Continue(())
            });
            found
        };
        let mut secrets = 0;
        for text in &texts {
            // Each set of detectors in turn, on the same thread's memo: the
            // first scan may remember keys, the second reads them back.
            for d in &configs {
                let plain = collect(&d.clone().without_key_memo(), text);
                assert_eq!(collect(d, text), plain, "{text:?}");
                assert_eq!(collect(d, text), plain, "{text:?}");
                secrets += plain.iter().filter(|h| h.0 == Builtin::Secret).count();
            }
        }
        assert!(secrets > 2_000, "{secrets}");
    }

    #[test]
    fn the_short_cuts_decide_as_the_detectors_would() {
        let d = detectors();
        for text in digit_soup(0x2545_F491_4F6C_DD1D, 200_000) {
            let b = text.as_bytes();
            for i in 0..b.len() {
                // A number the short-cut passes over is one the digit
                // rules skip to its end.
                let first_digit = b[i].is_ascii_digit() && (i == 0 || !b[i - 1].is_ascii_digit());
                // A digit in a short word holds none of the forms with
                // letters.
                if in_short_word(b, i, 0).is_some() {
                    assert!(d.word_forms(b, i, 0).is_none(), "{text:?} at {i}");
                }
                let joined = short_number(b, i).is_some_and(|(_, joined)| joined);
                if first_digit && joined {
                    if let Some(end) = lone_short_number(b, i) {
                        match d.at_digit(b, i, 0) {
                            // Past the digits, or past a bare colon after
                            // them too (checked as one below).
                            Step::Skip(e) => assert!(
                                e == end
                                    || (end == e + 1
                                        && b[e] == b':'
                                        && b.get(end).is_some_and(u8::is_ascii_digit)
                                        && bare_colon(b, e)),
                                "{text:?} at {i}"
                            ),
                            Step::Hit(kind, s, e) => panic!("{text:?} at {i}: {kind:?} {s}..{e}"),
                        }
                    }
                }
                // A card number starts as `at_digit` looks for one.
                if first_digit && card::match_card_run(b, i).is_some() {
                    let len = bytes::digits_end(b, i) - i;
                    assert!(
                        (13..=19).contains(&len)
                            || (len == 4 && context::digits_joined(b, i, 13) >= 13),
                        "{text:?} at {i}"
                    );
                }
                // A plain separator is one at which no detector finds
                // anything.
                if matches!(b[i], b'.' | b'_' | b'-') && plain_separator(b, i) {
                    let found = if b[i] == b'-' {
                        d.at_dash(b, i, 0)
                    } else {
                        d.at_separator(b, i, 0, &mut 0)
                    };
                    assert_eq!(found, None, "{text:?} at {i}");
                }
                // A bare colon is one at which no detector finds anything.
                let between_digits = i > 0
                    && b[i - 1].is_ascii_digit()
                    && b.get(i + 1).is_some_and(u8::is_ascii_digit);
                if b[i] == b':' && between_digits && bare_colon(b, i) {
                    assert_eq!(
                        d.at_colon(b, i, 0, &mut Line::default()),
                        None,
                        "{text:?} at {i}"
                    );
                }
            }
        }
    }

    #[test]
    fn a_second_pass_keeps_a_replacement_inside_a_credential() {
        // Found by `fuzz/fuzz_targets/sanitize.rs`: the first pass replaced
        // a card inside what did not read as a credential; the second read
        // the credential whole, replacement included.
        let text = "card 4111 1111 Authorization: Bard 4111 1111 1111 1111-----124-45-l7.eye up";
        let (once, _) = sanitized(text);
        let (twice, _) = sanitized(&once);
        assert!(once.contains("[REDACTED:CREDIT_CARD]"), "{once}");
        assert!(twice.contains("[REDACTED:CREDIT_CARD]"), "{twice}");
        let (kept, _) = sanitized("Authorization: Bearer [REDACTED:SECRET]abcdefgh12345 ok");
        assert_eq!(
            kept,
            "Authorization: Bearer [REDACTED:SECRET][REDACTED:AUTH_TOKEN] ok"
        );
    }

    #[test]
    fn pathological_inputs_stay_linear() {
        // Each of these would be quadratic (and this test would not finish)
        // if a failed attempt were retried from every position. The cost is
        // measured in benches/pii.rs; here only termination and results.
        for unit in [
            "eyJ",
            "a@",
            "1 ",
            "::",
            "x=",
            "sk-",
            "1.",
            "-----BEGIN ",
            "Bearer ",
            "ghp_",
        ] {
            let text = unit.repeat(1_000_000 / unit.len());
            let _ = hits(&text);
        }
        // A run that does end up a key is still found at its end.
        let text = format!("{}sk-{}", "sk-".repeat(1000), "a".repeat(30));
        assert!(!hits(&text).is_empty());
    }
}
