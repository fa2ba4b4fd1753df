//! Secrets found by the name of their key: a field named `password`, a
//! JSON key `"api_key"`, `token=…` in a query string, `secret: "…"` in
//! `Debug` output.
//!
//! Names are compared word by word, whatever the case or separator style:
//! the name `api_key` matches `api_key`, `API-KEY`, `apiKey`, `x-api-key`
//! and `stripe.api.key`, but `token` does not match `tokens_used`.

use super::bytes::is_key as is_key_byte;
use super::bytes::run_end;

/// At most this many words in a key are compared.
const MAX_WORDS: usize = 16;

/// The default secret key names.
pub const DEFAULT_SECRET_KEYS: &[&str] = &[
    "password",
    "passwd",
    "pwd",
    "passphrase",
    "pass",
    "secret",
    "secrete",
    "token",
    "api_key",
    "apikey",
    "access_key",
    "private_key",
    "authorization",
    "cookie",
    "credential",
    "credentials",
    "ssn",
    "card_number",
    "cvv",
    "cvc",
];

/// Key names under which a bare number is a phone number.
pub(crate) const PHONE_KEYS: &[&str] = &[
    "phone",
    "telephone",
    "tel",
    "mobile",
    "cell",
    "fax",
    "msisdn",
    "phone_number",
    "contact_number",
];

/// The longest first word of a name that a key's word is looked up by.
const WORD_MAX: usize = 32;

/// A set of secret key names, each kept as its lower-case words.
#[derive(Clone, Debug)]
pub(crate) struct SecretKeys {
    names: Vec<Vec<Box<[u8]>>>,
    /// The names by their first word (lower case): a key's word is looked
    /// up, not compared with every name.
    by_first_word: std::collections::HashMap<Box<[u8]>, Vec<u16>>,
    /// The one-word names of five letters or more (that may end a longer
    /// word), lower case.
    suffix_names: Vec<Box<[u8]>>,
    /// Which bytes can start a name's first word (lower case).
    first_bytes: [bool; 256],
    /// A filter over the names' first words: one bit per (first letter,
    /// second letter, length), so that most keys are ruled out in one pass
    /// without splitting them.
    first_words: Box<[u64; 1024]>,
    /// The first two letters of each name's first word, case folded (row
    /// by first letter, bit by second): a key holding none of these pairs
    /// anywhere cannot match.
    bigrams: [u32; 32],
    /// The first three letters of each name's first word, case folded (row
    /// by the first two, bit by the third): a sharper form of `bigrams`,
    /// used when every name's first word has three letters or more.
    trigrams: Box<[u32; 1024]>,
    /// Whether some name's first word is shorter than three letters.
    short_first_word: bool,
    /// Whether a one-word name of five letters or more is in the set (one
    /// that may end a longer word).
    has_suffix_names: bool,
    /// The last two letters of those names, case folded (as `bigrams`).
    tails: [u32; 32],
}

/// The filter bit of a word: its first two bytes (case folded) and length.
fn word_bit(word: &[u8]) -> usize {
    let letter = |k: usize| usize::from(word.get(k).map_or(0, |c| c.to_ascii_lowercase()) & 31);
    // First two letters and length exactly; the third and last folded in,
    // so that `Packet` no longer passes for `passwd`.
    let folded = (letter(2) ^ letter(word.len().saturating_sub(1)).rotate_left(2)) & 63;
    (letter(0) | (letter(1) << 5) | ((word.len() & 63) << 10)) ^ (folded << 10)
}

/// The first three letters of every name of several sets, to rule out a
/// key while it is read back from its delimiter, before it is looked at
/// as a whole.
#[derive(Clone, Debug)]
pub(crate) struct KeyFilter {
    trigrams: Box<[u32; 1024]>,
    /// Whether some name's first word is too short to filter by (then
    /// every key passes).
    open: bool,
}

impl KeyFilter {
    pub(crate) fn new(sets: &[&SecretKeys]) -> Self {
        let mut trigrams = Box::new([0u32; 1024]);
        for set in sets {
            for (row, bits) in trigrams.iter_mut().zip(set.trigrams.iter()) {
                *row |= bits;
            }
        }
        KeyFilter {
            trigrams,
            open: sets.iter().any(|s| s.short_first_word),
        }
    }

    /// Whether the key before the delimiter at `d` (read back no further
    /// than `floor`) may name a key of these sets: false only when the key
    /// [`key_range`] finds holds no name's first three bytes, so that no
    /// set's [`SecretKeys::matches_key`] can pass it. When there is no key,
    /// true: the full reading finds none either.
    #[inline]
    pub(crate) fn may_name(&self, b: &[u8], d: usize, floor: usize) -> bool {
        if self.open || d == floor {
            return true;
        }
        if !b[d - 1].is_ascii_alphanumeric() {
            // A key not right before its delimiter (`"key": `, `pid[42]:`,
            // `key = `): found as the full reading finds it.
            return self.may_name_key_apart(b, d, floor);
        }
        // The key is read back as `key_start` reads it, each byte folded
        // once, and each trigram tested as its first byte is read: `n1`
        // and `n2` are the folds of the two bytes after it. They start as
        // 0, which no name's trigram holds (names are split into letters
        // and digits), so that no trigram is tested before three bytes.
        // (A typed declaration, `var apiToken string = …`, has a space
        // before its delimiter, and is read in full above.)
        let lo = d.saturating_sub(64).max(floor);
        let (mut n1, mut n2) = (0u8, 0u8);
        for &byte in b[lo..d].iter().rev() {
            // One lookup for both: whether the byte is a key's, its fold.
            let c = KEY_FOLD[usize::from(byte)];
            if c == NOT_KEY {
                break;
            }
            let row = ((usize::from(c) << 5) | usize::from(n1)) & 1023;
            if self.trigrams[row] >> (n2 & 31) & 1 != 0 {
                return true;
            }
            (n1, n2) = (c, n1);
        }
        false
    }

    /// [`may_name`](Self::may_name) for a key that does not end right
    /// before its delimiter: out of line, since most keys do.
    #[inline(never)]
    fn may_name_key_apart(&self, b: &[u8], d: usize, floor: usize) -> bool {
        key_range(b, d, floor).is_none_or(|(s, e)| holds_trigram(&self.trigrams, &b[s..e]))
    }
}

/// Whether some three bytes of `key` in a row are a trigram of
/// `trigrams` (rows by the first two bytes' folds, a bit by the third's).
#[inline]
fn holds_trigram(trigrams: &[u32; 1024], key: &[u8]) -> bool {
    key.windows(3)
        .any(|w| trigrams[trigram_row(w[0], w[1])] & (1 << fold(w[2])) != 0)
}

/// A byte as the filters' trigrams see it: a letter by its place in the
/// alphabet (case folded, 1 to 26), a digit as one of five classes (27 to
/// 31), anything else as 0, which no name's first word holds. (Folding
/// every byte with `& 31` would make `.` an `n` and `0` a `p`, so that
/// `cache.hit` passed for a name starting `hen`.)
static FOLD: [u8; 256] = {
    let mut t = [0u8; 256];
    let mut c = 0;
    while c < 256 {
        let b = c as u8;
        t[c] = if b.is_ascii_alphabetic() {
            b & 31
        } else if b.is_ascii_digit() {
            27 + (b - b'0') % 5
        } else {
            0
        };
        c += 1;
    }
    t
};

/// [`FOLD`] for the bytes of a key name ([`is_key_byte`]), [`NOT_KEY`]
/// for the others: the key filter's read-back looks each byte up once.
static KEY_FOLD: [u8; 256] = {
    let mut t = [NOT_KEY; 256];
    let mut c = 0;
    while c < 256 {
        let b = c as u8;
        if b.is_ascii_alphanumeric() || b == b'_' || b == b'-' || b == b'.' {
            t[c] = FOLD[c];
        }
        c += 1;
    }
    t
};

/// [`KEY_FOLD`]'s mark of a byte that no key name holds.
const NOT_KEY: u8 = 0xFF;

#[inline]
fn fold(c: u8) -> u8 {
    FOLD[usize::from(c)]
}

/// The row of a trigram's first two bytes (see [`FOLD`]).
#[inline]
fn trigram_row(a: u8, b: u8) -> usize {
    (usize::from(fold(a)) << 5) | usize::from(fold(b))
}

/// Whether a word break falls before `b[i]` (both `b[i - 1]` and `b[i]`
/// being letters or digits).
#[inline]
fn word_breaks(b: &[u8], i: usize) -> bool {
    let (p, c) = (b[i - 1], b[i]);
    (p.is_ascii_lowercase() && c.is_ascii_uppercase())
        || (p.is_ascii_digit() != c.is_ascii_digit())
        || (p.is_ascii_uppercase()
            && c.is_ascii_uppercase()
            && b.get(i + 1).is_some_and(u8::is_ascii_lowercase))
}

impl SecretKeys {
    pub(crate) fn new<I, S>(names: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let mut set = SecretKeys {
            names: Vec::new(),
            by_first_word: std::collections::HashMap::new(),
            suffix_names: Vec::new(),
            first_bytes: [false; 256],
            first_words: Box::new([0; 1024]),
            bigrams: [0; 32],
            trigrams: Box::new([0; 1024]),
            short_first_word: false,
            has_suffix_names: false,
            tails: [0; 32],
        };
        for name in names {
            set.add(name.as_ref());
        }
        set
    }

    pub(crate) fn add(&mut self, name: &str) {
        let b = name.as_bytes();
        let mut spans = [(0usize, 0usize); MAX_WORDS];
        let n = split_words(b, &mut spans);
        let words: Vec<Box<[u8]>> = spans[..n]
            .iter()
            .map(|&(s, e)| b[s..e].to_ascii_lowercase().into_boxed_slice())
            .collect();
        if let Some(first) = words.first().and_then(|w| w.first()) {
            self.first_bytes[usize::from(*first)] = true;

            let bit = word_bit(&words[0]);
            self.first_words[bit / 64] |= 1 << (bit % 64);
            let second = words[0].get(1).copied().unwrap_or(0);
            self.bigrams[usize::from(words[0][0] & 31)] |= 1 << (second & 31);
            match words[0].get(2) {
                Some(&third) => {
                    self.trigrams[trigram_row(words[0][0], second)] |= 1 << fold(third);
                }
                None => self.short_first_word = true,
            }
            if !self.names.contains(&words) {
                if words.len() == 1 && words[0].len() >= 5 {
                    self.has_suffix_names = true;
                    let w = &words[0];
                    let last = w[w.len() - 1];
                    self.tails[usize::from(w[w.len() - 2] & 31)] |= 1 << (last & 31);
                    self.suffix_names.push(w.clone());
                }
                let index = u16::try_from(self.names.len()).unwrap_or(u16::MAX);
                self.by_first_word
                    .entry(words[0].clone())
                    .or_default()
                    .push(index);
                self.names.push(words);
            }
        }
    }

    /// Whether some word of `key` may start a name (no false negatives).
    fn may_match(&self, key: &[u8]) -> bool {
        let mut i = 0;
        while i < key.len() {
            if !key[i].is_ascii_alphanumeric() {
                i += 1;
                continue;
            }
            let start = i;
            i += 1;
            while i < key.len() && key[i].is_ascii_alphanumeric() && !word_breaks(key, i) {
                i += 1;
            }
            let bit = word_bit(&key[start..i]);
            if self.first_words[bit / 64] & (1 << (bit % 64)) != 0 {
                return true;
            }
        }
        false
    }

    #[inline]
    fn has_bigram(&self, a: u8, b: u8) -> bool {
        self.bigrams[usize::from(a & 31)] & (1 << (b & 31)) != 0
    }

    /// Whether `key` names a secret.
    pub(crate) fn matches(&self, key: &[u8]) -> bool {
        if self.names.is_empty() {
            return false;
        }
        let mut spans = [(0usize, 0usize); MAX_WORDS];
        if !self.may_match(key) {
            return self.ends_a_word(key, &mut spans);
        }
        let n = split_words(key, &mut spans);
        let words = &spans[..n];
        (0..n).any(|at| {
            let (s, e) = words[at];
            if !self.first_bytes[usize::from(key[s].to_ascii_lowercase())] {
                return false;
            }
            let starts_here = |name: &Vec<Box<[u8]>>| {
                name.len() <= n - at
                    && name
                        .iter()
                        .zip(&words[at..])
                        .all(|(w, &(s, e))| key[s..e].eq_ignore_ascii_case(w))
            };
            if e - s > WORD_MAX {
                return self.names.iter().any(starts_here);
            }
            let mut lower = [0u8; WORD_MAX];
            for (l, c) in lower.iter_mut().zip(&key[s..e]) {
                *l = c.to_ascii_lowercase();
            }
            self.by_first_word
                .get(&lower[..e - s])
                .is_some_and(|named| {
                    named
                        .iter()
                        .any(|&i| starts_here(&self.names[usize::from(i)]))
                })
        }) || self.ends_a_word(key, &mut spans)
    }

    /// Whether a one-word name of five letters or more ends a longer word
    /// of `key` (`PGPASSWORD`, `xsrftoken`, `DB_PGPASSWORD`): not inside
    /// a dotted identifier (`io.jsonwebtoken`, a package), where the
    /// word names a thing, not a secret.
    fn ends_a_word(&self, key: &[u8], spans: &mut [(usize, usize); MAX_WORDS]) -> bool {
        if key.contains(&b'.') {
            return false;
        }
        if key.len() <= 5 || !self.has_suffix_names {
            return false;
        }
        // Only where a word ends in the last two letters of such a name.
        let tail = |k: usize| {
            let (a, c) = (key[k - 1], key[k]);
            let ends = key.get(k + 1).is_none_or(|&n| {
                !n.is_ascii_alphanumeric() || (c.is_ascii_lowercase() && n.is_ascii_uppercase())
            });
            ends && self.tails[usize::from(a & 31)] & (1 << (c & 31)) != 0
        };
        if !(1..key.len()).any(tail) {
            return false;
        }
        let n = split_words(key, spans);
        spans[..n].iter().any(|&(s, e)| {
            e - s > 5
                && self.suffix_names.iter().any(|name| {
                    e - s > name.len() && key[e - name.len()..e].eq_ignore_ascii_case(name)
                })
        })
    }
}

/// Splits a key into words at non-alphanumeric bytes, lower-to-upper case
/// changes (`apiKey`), the end of an acronym (`APIKey`) and letter/digit
/// changes. Returns how many spans were written.
fn split_words(b: &[u8], spans: &mut [(usize, usize); MAX_WORDS]) -> usize {
    let mut n = 0;
    let mut start: Option<usize> = None;
    for i in 0..=b.len() {
        let c = b.get(i).copied();
        let breaks_before = match (start, c) {
            (_, None) => true,
            (_, Some(c)) if !c.is_ascii_alphanumeric() => true,
            (Some(_), Some(_)) => word_breaks(b, i),
            (None, Some(_)) => false,
        };
        if breaks_before {
            if let Some(s) = start.take() {
                if n == MAX_WORDS {
                    return n;
                }
                spans[n] = (s, i);
                n += 1;
            }
        }
        if start.is_none() && c.is_some_and(|c| c.is_ascii_alphanumeric()) {
            start = Some(i);
        }
    }
    n
}

/// Whether a secret-named key names a setting about the secret rather
/// than the secret (`password_policy`, `token_ttl`, `password_min_length`,
/// `api_key_header`): its last word says so.
pub(crate) fn names_a_setting(key: &[u8]) -> bool {
    let mut spans = [(0usize, 0usize); MAX_WORDS];
    let n = split_words(key, &mut spans);
    let Some(&(s, e)) = spans[..n].last() else {
        return false;
    };
    const SETTINGS: &[&[u8]] = &[
        b"policy",
        b"length",
        b"len",
        b"min",
        b"max",
        b"expiry",
        b"expires",
        b"ttl",
        b"age",
        b"required",
        b"rotation",
        b"strength",
        b"type",
        b"hint",
        b"label",
        b"prompt",
        b"url",
        b"uri",
        b"endpoint",
        b"header",
        b"file",
        b"path",
        b"count",
        b"enabled",
        b"disabled",
        b"changed",
        b"updated",
        b"created",
        b"id",
        b"name",
        b"field",
        b"format",
        b"algorithm",
        b"latency",
        b"duration",
        b"time",
        b"timeout",
        b"size",
        b"status",
        b"errors",
        b"error",
        b"attempts",
        b"retries",
        b"rate",
        b"ratio",
        b"total",
        b"version",
        b"mode",
        b"level",
        b"source",
        b"provider",
        b"store",
        b"backend",
        b"ms",
        b"seconds",
    ];
    n > 1 && SETTINGS.iter().any(|w| key[s..e].eq_ignore_ascii_case(w))
}

/// Whether the `:` at `d` is half of a path separator (`std::io`), not a
/// delimiter (`key ::= value` is one).
pub(crate) fn is_path(b: &[u8], d: usize) -> bool {
    let pair = if b.get(d + 1) == Some(&b':') {
        d + 2
    } else if d > 0 && b[d - 1] == b':' {
        d + 1
    } else {
        return false;
    };
    b.get(pair)
        .is_some_and(|c| c.is_ascii_alphanumeric() || *c == b'_' || *c == b'<')
}

/// The start of the key bytes ending at `end` (at most 64, none before
/// `floor`).
fn key_start(b: &[u8], end: usize, floor: usize) -> usize {
    let window = &b[end.saturating_sub(64).max(floor)..end];
    end - window.iter().rev().take_while(|&&c| is_key_byte(c)).count()
}

/// Whether the key `b[s..e]` is the type of a typed declaration, after
/// a space (`var apiToken string = …`): then the variable before it is
/// the key [`key_range`] reads.
pub(crate) fn declares_type(b: &[u8], s: usize, e: usize, floor: usize) -> bool {
    const TYPES: &[&[u8]] = &[
        b"string", b"str", b"String", b"char", b"const", b"var", b"let", b"val",
    ];
    s > floor + 1 && b[s - 1] == b' ' && TYPES.contains(&&b[s..e])
}

/// The key before the delimiter at `d` (`key=`, `"key": `, `key: `,
/// `\"key\":`, `key := `, `key ?= `, `$key .= `, `key   =   `,
/// `secret[] =`): its range, if there is one.
pub(crate) fn key_range(b: &[u8], d: usize, floor: usize) -> Option<(usize, usize)> {
    // The common case: the key right before the delimiter (`status=`).
    if d > floor && b[d - 1].is_ascii_alphanumeric() {
        return Some((key_start(b, d, floor), d));
    }
    let mut k_end = d;
    // An assignment or comparison operator's first bytes (`:=`, `!=`,
    // `?=`, `.=`, `+=`, `||=`).
    while k_end > floor && d - k_end < 3 && matches!(b[k_end - 1], b':' | b'!' | b'?' | b'+' | b'|')
    {
        k_end -= 1;
    }
    if k_end > floor + 1 && b[k_end - 1] == b'.' && b[k_end - 2] == b' ' {
        k_end -= 1;
    }
    while k_end > floor && d - k_end < 16 && matches!(b[k_end - 1], b' ' | b'\t') {
        k_end -= 1;
    }
    // An array's size or index: `secret[] =`, `secret[25] =`.
    if k_end > floor + 1 && b[k_end - 1] == b']' {
        let open = super::run_start(b, k_end - 1, floor, |c| c.is_ascii_digit());
        if open > floor && b[open - 1] == b'[' {
            k_end = open - 1;
        }
    }
    if k_end > floor && matches!(b[k_end - 1], b'"' | b'\'' | b'`') {
        k_end -= 1;
        if k_end > floor && b[k_end - 1] == b'\\' {
            k_end -= 1;
        }
    }
    let k_start = key_start(b, k_end, floor);
    if declares_type(b, k_start, k_end, floor) {
        let end = k_start - 1;
        let start = key_start(b, end, floor);
        if start < end {
            return Some((start, end));
        }
    }
    (k_start < k_end).then_some((k_start, k_end))
}

impl SecretKeys {
    /// Whether `key` names one of these keys, ruling most keys out first
    /// by the pairs of letters names start with (a key that ends with a
    /// name, `PGPASSWORD`, holds that pair too).
    pub(crate) fn matches_key(&self, key: &[u8]) -> bool {
        let candidate = if self.short_first_word {
            match key {
                [] => false,
                [single] => self.has_bigram(*single, 0),
                _ => key.windows(2).any(|w| self.has_bigram(w[0], w[1])),
            }
        } else {
            holds_trigram(&self.trigrams, key)
        };
        candidate && self.matches(key)
    }
}

/// Reads a bare phone number (`+` and 7-15 digits, no separators) as the
/// value after the delimiter at `d` of a phone-named key.
pub(crate) fn phone_value_after(b: &[u8], d: usize) -> Option<(usize, usize)> {
    let mut v = d + 1;
    while matches!(b.get(v), Some(b' ' | b'"' | b'\'')) && v - d < 4 {
        v += 1;
    }
    // The number in any grouping its plan writes it in (`030 901820`,
    // `(06 1) 234 5678`, `8 0152 45-09-11`), short plans' four and five
    // digits included (`21 234`): under a phone key a number is a phone
    // number.
    let digits = v + usize::from(b.get(v) == Some(&b'+'));
    if !b
        .get(digits)
        .is_some_and(|&c| c.is_ascii_digit() || c == b'(')
    {
        return None;
    }
    let n = super::context::read_number(b, digits, false, 15);
    // Four digits are a whole number in the smallest plans (Tokelau, Niue).
    let ok = (4..=15).contains(&n.count)
        && n.end > digits
        && !b.get(n.end).is_some_and(|&c| super::bytes::is_word(c));
    ok.then_some((v, n.end))
}

/// Finds the password of a URL's user info (`scheme://user:password@host`)
/// whose `:` after the scheme is at `d`; returns the password's range.
pub(crate) fn match_url_password(b: &[u8], d: usize) -> Option<(usize, usize)> {
    if b.get(d + 1..d + 3) != Some(b"//") || d == 0 || !b[d - 1].is_ascii_alphanumeric() {
        return None;
    }
    let authority_start = d + 3;
    let authority_end = b[authority_start..]
        .iter()
        .position(|&c| {
            matches!(
                c,
                b'/' | b'?' | b'#' | b' ' | b'\t' | b'\n' | b'"' | b'\'' | b'<' | b'>'
            )
        })
        .map_or(b.len(), |k| authority_start + k);
    let authority = &b[authority_start..authority_end];
    let at = authority.iter().rposition(|&c| c == b'@')?;
    let colon = authority[..at].iter().position(|&c| c == b':')?;
    (colon + 1 < at).then_some((authority_start + colon + 1, authority_start + at))
}

/// Reads the value after the delimiter (`=` or `:`) at `d` of a
/// secret-named key; returns its range (without quotes).
pub(crate) fn secret_value_after(b: &[u8], d: usize) -> Option<(usize, usize)> {
    // The value, forwards: past the rest of an operator (`:=`, `==`,
    // `=>`, `:::=`), any spacing, and a C# verbatim `@`.
    let mut v = d + 1;
    while matches!(b.get(v), Some(b'=' | b'>' | b':')) && v - d < 4 {
        v += 1;
    }
    while matches!(b.get(v), Some(b' ' | b'\t')) && v - d < 20 {
        v += 1;
    }
    if b.get(v) == Some(&b'@') && matches!(b.get(v + 1), Some(b'"' | b'\'')) {
        v += 1;
    }
    let (start, end) = match b.get(v) {
        None => return None,
        Some(&q @ (b'"' | b'\'' | b'`')) => quoted(b, v + 1, q, false),
        Some(b'\\') if matches!(b.get(v + 1), Some(b'"' | b'\'')) => {
            quoted(b, v + 2, b[v + 1], true)
        }
        Some(b'{') | Some(b'[') => (v, bracketed_value_end(b, v)),
        Some(_) => (v, bare_value_end(b, v)),
    };
    (end > start).then_some((start, end))
}

/// The end of a value opening with a bracket at `v`: the bracketed part,
/// with more of a bare value glued after it (`[X]hunter2`: the brackets are
/// part of the secret), unless the part is a replacement an earlier pass
/// wrote (`[REDACTED:SECRET]`, with its colon): what follows that was read
/// as something else then (`BSN=[REDACTED:NATIONAL_ID]___ibBSN=…`), and is
/// read the same now, so that a second pass keeps the first one's output.
fn bracketed_value_end(b: &[u8], v: usize) -> usize {
    let e = balanced(b, v);
    let part = &b[v..e];
    let earlier =
        super::credentials::replacement_len(part) == Some(part.len()) && part.contains(&b':');
    if earlier {
        e
    } else {
        e.max(bare_value_end(b, v))
    }
}

/// The value inside quotes starting at `s`: up to the closing quote (an
/// escaped one does not close), or the end of the text.
fn quoted(b: &[u8], s: usize, quote: u8, escaped_quotes: bool) -> (usize, usize) {
    let mut i = s;
    while i < b.len() {
        match b[i] {
            b'\\' if escaped_quotes && b.get(i + 1) == Some(&quote) => return (s, i),
            b'\\' => i += 2,
            c if c == quote && !escaped_quotes => return (s, i),
            _ => i += 1,
        }
    }
    (s, b.len())
}

/// The end of a bracketed value starting at `s`, quotes respected.
fn balanced(b: &[u8], s: usize) -> usize {
    let mut depth = 0usize;
    let mut in_string = false;
    let mut i = s;
    while i < b.len() {
        let c = b[i];
        if in_string {
            match c {
                b'\\' => i += 1,
                b'"' => in_string = false,
                _ => {}
            }
        } else {
            match c {
                b'"' => in_string = true,
                b'{' | b'[' => depth += 1,
                b'}' | b']' => {
                    depth = depth.saturating_sub(1);
                    if depth == 0 {
                        return i + 1;
                    }
                }
                _ => {}
            }
        }
        i += 1;
    }
    b.len()
}

/// Whether `key` names an authorization header (`Authorization`,
/// `Proxy-Authorization`, `x-authorization`, `headers.authorization`),
/// whose value is a scheme word and a credential.
pub(crate) fn names_authorization(key: &[u8]) -> bool {
    const NAME: &[u8] = b"authorization";
    key.len() >= NAME.len()
        && key[key.len() - NAME.len()..].eq_ignore_ascii_case(NAME)
        && (key.len() == NAME.len() || !key[key.len() - NAME.len() - 1].is_ascii_alphabetic())
}

/// The credential of an authorization value whose scheme word starts at
/// `s` (`Bearer …`, `Basic …`, `Api-Token …`, any scheme: a word of
/// letters, digits and `-_.`, then spacing), where the value was read up to
/// `e`: the credential's range, up to the next space or `e`'s end if
/// further (a value read as the scheme word alone). `None` when the value
/// is one word: then the whole value is the credential.
pub(crate) fn credential_after_scheme(b: &[u8], s: usize, e: usize) -> Option<(usize, usize)> {
    let word_end = run_end(b, s, |c| {
        c.is_ascii_alphanumeric() || matches!(c, b'-' | b'_' | b'.')
    });
    let scheme = &b[s..word_end];
    if scheme.len() < 2 || scheme.len() > 32 || !scheme[0].is_ascii_alphabetic() {
        return None;
    }
    let start = run_end(b, word_end, |c| c == b' ');
    if start == word_end || start >= b.len() {
        return None;
    }
    // A list of parameters (`Digest username="ada", response="66…"`,
    // `OAuth oauth_signature="…"`, `AWS4-HMAC-SHA256 Credential=…,
    // Signature=…`) runs to the end of the line.
    let param = run_end(b, start, |c| c.is_ascii_alphanumeric() || c == b'_');
    let end = if param > start && b.get(param) == Some(&b'=') {
        memchr::memchr2(b'\n', b'\r', &b[start..]).map_or(b.len(), |k| start + k)
    } else {
        bare_value_end(b, start)
    };
    let end = end.max(e);
    (end > start).then_some((start, end))
}

/// Authorization schemes whose credential follows after a space.
const SCHEMES: &[&[u8]] = &[
    b"bearer",
    b"basic",
    b"digest",
    b"token",
    b"negotiate",
    b"apikey",
];

/// The end of an unquoted value: the next whitespace; or, outside
/// brackets, a `,`, `;`, `&`, quote or unmatched closing bracket (brackets
/// of any kind are counted together, so `Some(…)` in `Debug` output and
/// `m{{h}o)p}}` both stay whole); an authorization scheme is kept with its
/// credential.
fn bare_value_end(b: &[u8], s: usize) -> usize {
    let mut depth = 0usize;
    let mut i = s;
    while i < b.len() {
        match b[i] {
            b' ' | b'\t' | b'\n' | b'\r' => break,
            b'(' | b'[' | b'{' => depth += 1,
            b')' | b']' | b'}' if depth > 0 => depth -= 1,
            // A comma ends the value before another field or a space, not
            // inside punctuation (`A,.:-`).
            b',' if depth == 0
                && b.get(i + 1)
                    .is_none_or(|&c| c.is_ascii_alphanumeric() || c.is_ascii_whitespace()) =>
            {
                break;
            }
            b')' | b']' | b'}' | b';' | b'&' | b'"' | b'\'' | b'`' if depth == 0 => break,
            _ => {}
        }
        i += 1;
    }
    let word = &b[s..i];
    if b.get(i) == Some(&b' ') && SCHEMES.iter().any(|sc| word.eq_ignore_ascii_case(sc)) {
        return bare_value_end(b, i + 1);
    }
    i
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys() -> SecretKeys {
        SecretKeys::new(DEFAULT_SECRET_KEYS)
    }

    #[test]
    fn the_key_fold_table_is_the_key_test_and_the_fold() {
        for c in 0..=255u8 {
            let expected = if is_key_byte(c) { fold(c) } else { NOT_KEY };
            assert_eq!(KEY_FOLD[usize::from(c)], expected, "{c}");
        }
    }

    /// The key filter's rolling read-back against the plain reading it
    /// replaced: the key read back whole, then each window of three bytes
    /// folded and looked up.
    #[test]
    fn the_key_filter_reads_back_as_the_plain_reading_would() {
        let (secret, phone) = (keys(), SecretKeys::new(super::super::PHONE_KEYS));
        let filter = KeyFilter::new(&[&secret, &phone]);
        let plain = |b: &[u8], d: usize| holds_trigram(&filter.trigrams, &b[key_start(b, d, 0)..d]);
        let parts = [
            "pass", "word", "tok", "en", "api", "_", "-", ".", "Key", "sec", "ret", "ph", "one",
            "x", "7", "42", " ", "org", "apache", "tel", "mobile", "auth", "ssh", "$", "[1]", "\"",
            "'", " = ", "string ", ":=", "[", "]",
        ];
        let mut state = 0x2545_F491_4F6C_DD1Du64;
        let (mut passed, mut ruled_out) = (0, 0);
        for _ in 0..50_000 {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            let n = 1 + (state % 12) as usize;
            let text: String = (0..n)
                .map(|k| parts[((state >> (5 * k)) % parts.len() as u64) as usize])
                .collect();
            let b = text.as_bytes();
            for d in 1..=b.len() {
                let read = filter.may_name(b, d, 0);
                if b[d - 1].is_ascii_alphanumeric() {
                    assert_eq!(read, plain(b, d), "{text:?} at {d}");
                }
                // Ruled out only when neither set's full reading of the
                // key could name it.
                if !read {
                    let (s, e) = key_range(b, d, 0).expect("a key ruled out is a key");
                    let key = &b[s..e];
                    assert!(
                        !secret.matches_key(key) && !phone.matches_key(key),
                        "{text:?} at {d}"
                    );
                }
                if read {
                    passed += 1;
                } else {
                    ruled_out += 1;
                }
            }
        }
        assert!(
            passed > 10_000 && ruled_out > 10_000,
            "{passed} {ruled_out}"
        );
    }

    #[test]
    fn names_match_word_by_word() {
        let k = keys();
        for name in [
            "password",
            "PASSWORD",
            "user_password",
            "dbPassword",
            "api_key",
            "API-KEY",
            "apiKey",
            "x-api-key",
            "stripe.api.key",
            "APIKey",
            "access_token",
            "refreshToken",
            "Authorization",
            "set-cookie",
            "client_secret",
            "card_number",
            "cardNumber",
            "ssn",
            "password2",
            "PGPASSWORD",
            "xsrftoken",
        ] {
            assert!(k.matches(name.as_bytes()), "{name}");
        }
        for name in [
            "tokens_used",
            "prompt_tokens",
            "keyboard",
            "api",
            "cardinality",
            "user",
            "passed",
            "secretary",
        ] {
            assert!(!k.matches(name.as_bytes()), "{name}");
        }
    }

    fn value_in(text: &str) -> Option<&str> {
        let b = text.as_bytes();
        let k = keys();
        b.iter()
            .enumerate()
            .filter(|&(_, &c)| c == b'=' || c == b':')
            .find_map(|(i, _)| {
                let (ks, ke) = key_range(b, i, 0)?;
                if b[i] == b':' && is_path(b, i) || !k.matches_key(&b[ks..ke]) {
                    return None;
                }
                secret_value_after(b, i)
            })
            .map(|(s, e)| &text[s..e])
    }

    #[test]
    fn url_passwords() {
        let find = |t: &'static str| {
            let d = t.find(':').unwrap();
            match_url_password(t.as_bytes(), d).map(|(s, e)| &t[s..e])
        };
        assert_eq!(
            find("postgres://admin:S3cr3tP@ss@db.internal:5432/prod"),
            Some("S3cr3tP@ss")
        );
        assert_eq!(find("https://user:pw@example.com/x?y=1"), Some("pw"));
        assert_eq!(find("https://user@example.com"), None);
        assert_eq!(find("https://example.com/a@b"), None);
        assert_eq!(find("redis://:onlypass@cache:6379"), Some("onlypass"));
    }

    #[test]
    fn bare_numbers_under_phone_keys() {
        let keys = SecretKeys::new(PHONE_KEYS);
        let find = |t: &'static str| {
            let d = t.find([':', '=']).unwrap();
            let b = t.as_bytes();
            let (ks, ke) = key_range(b, d, 0)?;
            if !keys.matches_key(&b[ks..ke]) {
                return None;
            }
            phone_value_after(b, d).map(|(s, e)| &t[s..e])
        };
        assert_eq!(find("phone: 5551234567 ok"), Some("5551234567"));
        assert_eq!(find("mobileNumber=+447700900123"), Some("+447700900123"));
        assert_eq!(find(r#""tel":"0612345678""#), Some("0612345678"));
        // Short plans have five digits, the smallest four (Tokelau,
        // Niue); three are no phone number.
        assert_eq!(find("phone: 12345"), Some("12345"));
        assert_eq!(find("phone: 3101"), Some("3101"));
        assert_eq!(find("phone: 123"), None);
        // Parentheses hold the trunk prefix and area code in groups.
        assert_eq!(find("phone=(0-312) 34567 ok"), Some("(0-312) 34567"));
        assert_eq!(find("phone=(8 12) 34-56-78"), Some("(8 12) 34-56-78"));
        // Any grouping the plan writes.
        assert_eq!(find("phone=030 901820 ok"), Some("030 901820"));
        assert_eq!(find("phone=8 0152 45-09-11 x"), Some("8 0152 45-09-11"));
        assert_eq!(find("phones_count=5551234567"), None);
        assert_eq!(find("order=5551234567"), None);
    }

    #[test]
    fn values_in_text() {
        for (text, want) in [
            ("login password=hunter2 ok", "hunter2"),
            ("GET /cb?code=1&token=abc123&x=1", "abc123"),
            (r#"{"user":"ada","password":"p@ss w0rd"}"#, "p@ss w0rd"),
            (r#"{"api_key" : "k-1"}"#, "k-1"),
            (r#"User { name: "ada", password: "hunter2" }"#, "hunter2"),
            (r#"Config { token: Some("t0k"), x: 1 }"#, r#"Some("t0k")"#),
            ("Authorization: Bearer abc.def", "Bearer abc.def"),
            (r#"{\"secret\":\"s3\"}"#, "s3"),
            (
                r#"{"credentials": {"user": "a", "pw": "b"}}"#,
                r#"{"user": "a", "pw": "b"}"#,
            ),
            ("password => 'x y'", "x y"),
            ("password=\"unterminated", "unterminated"),
            ("password=[X]hunter2 ok", "[X]hunter2"),
            ("password=[abc]hunter2", "[abc]hunter2"),
            ("password={a}b&next=1", "{a}b"),
            ("password=[a, b] ok", "[a, b]"),
            (r#"{"password": ["a", "b"], "n": 1}"#, r#"["a", "b"]"#),
            ("password=[x]), y", "[x]"),
            ("password=[REDACTED:SECRET]___x=1", "[REDACTED:SECRET]"),
        ] {
            assert_eq!(value_in(text), Some(want), "{text}");
        }
        for text in ["password= ", "tokens=5", "std::token::Kind", "password"] {
            assert_eq!(value_in(text), None, "{text}");
        }
    }
}
