//! Credentials with a recognisable shape: JSON Web Tokens, provider API
//! keys, `Bearer`/`Basic` authorization values and PEM private keys.

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};

use super::bytes::{
    is_alnum, is_b64url, is_token68, run_end, starts_with_ignore_case, word_starts_at,
};

/// Reads a JWT (`header.payload.signature`, header `eyJ…`) starting at
/// `s`; returns its end, or `Err(resume)` with the position before which
/// no JWT can start (so a failed scan is never repeated).
pub(crate) fn match_jwt(b: &[u8], s: usize) -> Result<usize, usize> {
    let h_end = run_end(b, s, is_b64url);
    if b.get(h_end) != Some(&b'.') {
        return Err(h_end);
    }
    let p_end = run_end(b, h_end + 1, is_b64url);
    if p_end - (h_end + 1) < 2 {
        return Err(h_end + 1);
    }
    // Without a signature (`header.payload`), the payload must be a JSON
    // object too.
    let unsigned = b.get(p_end) != Some(&b'.');
    if unsigned
        && !URL_SAFE_NO_PAD
            .decode(&b[h_end + 1..p_end])
            .is_ok_and(|p| p.first() == Some(&b'{'))
    {
        return Err(h_end + 1);
    }
    let end = if unsigned {
        p_end
    } else {
        run_end(b, p_end + 1, is_b64url)
    };
    if h_end - s < 10 || b.get(end).is_some_and(|&c| c == b'=' || c == b'.') {
        return Err(h_end + 1);
    }
    let header = URL_SAFE_NO_PAD
        .decode(&b[s..h_end])
        .map_err(|_| h_end + 1)?;
    let is_jose = header.first() == Some(&b'{')
        && memchr::memmem::find(&header, b"\"alg\"")
            .or_else(|| memchr::memmem::find(&header, b"\"typ\""))
            .is_some();
    if is_jose { Ok(end) } else { Err(h_end + 1) }
}

/// The characters a key body may use.
#[derive(Clone, Copy)]
enum Body {
    Alnum,
    /// Letters, digits, `_` and `-`.
    Url,
    /// Letters, digits and `-`.
    Dash,
    /// Letters, digits and `_`.
    Under,
    /// Letters, digits, `_`, `-` and `.`.
    Dotted,
}

impl Body {
    fn accepts(self, c: u8) -> bool {
        is_alnum(c)
            || match self {
                Body::Alnum => false,
                Body::Url => c == b'_' || c == b'-',
                Body::Dash => c == b'-',
                Body::Under => c == b'_',
                Body::Dotted => c == b'_' || c == b'-' || c == b'.',
            }
    }
}

/// A provider key: a literal prefix, then a body of `min..=max` bytes.
pub(super) struct KeyRule {
    pub(super) prefix: &'static [u8],
    body: Body,
    min: usize,
    max: usize,
}

const fn rule(prefix: &'static [u8], body: Body, min: usize, max: usize) -> KeyRule {
    KeyRule {
        prefix,
        body,
        min,
        max,
    }
}

/// Keys whose prefix contains `_`, `-` or `.`: found from that separator.
pub(super) const SEPARATED_KEYS: &[KeyRule] = &[
    // GitHub: classic tokens and fine-grained personal access tokens.
    rule(b"ghp_", Body::Alnum, 36, 255),
    rule(b"gho_", Body::Alnum, 36, 255),
    rule(b"ghu_", Body::Alnum, 36, 255),
    rule(b"ghs_", Body::Alnum, 36, 255),
    rule(b"ghr_", Body::Alnum, 36, 255),
    rule(b"github_pat_", Body::Under, 22, 255),
    // GitLab personal access tokens.
    rule(b"glpat-", Body::Url, 20, 255),
    // Slack bot, user, app and refresh tokens.
    rule(b"xoxb-", Body::Dash, 10, 255),
    rule(b"xoxp-", Body::Dash, 10, 255),
    rule(b"xoxa-", Body::Dash, 10, 255),
    rule(b"xoxr-", Body::Dash, 10, 255),
    rule(b"xoxs-", Body::Dash, 10, 255),
    rule(b"xoxe-", Body::Dash, 10, 255),
    rule(b"xapp-", Body::Dash, 10, 255),
    // Stripe secret and restricted keys, webhook secrets.
    rule(b"sk_live_", Body::Alnum, 10, 255),
    rule(b"sk_test_", Body::Alnum, 10, 255),
    rule(b"rk_live_", Body::Alnum, 10, 255),
    rule(b"rk_test_", Body::Alnum, 10, 255),
    rule(b"whsec_", Body::Alnum, 20, 255),
    // OpenAI-style keys (`sk-…`, `sk-proj-…`, `sk-ant-…`).
    rule(b"sk-", Body::Url, 20, 255),
    // npm, Hugging Face, SendGrid.
    rule(b"npm_", Body::Alnum, 36, 36),
    rule(b"hf_", Body::Alnum, 30, 40),
    rule(b"SG.", Body::Dotted, 60, 70),
];

/// For each key prefix: its first separator, the separator's offset and
/// the prefix's first byte. A separator with none of these before it is
/// no key's, which rules out most `-`, `_` and `.` in text at once.
const FIRST_SEPARATORS: &[(u8, usize, u8)] = &[
    (b'_', 3, b'g'),
    (b'_', 6, b'g'),
    (b'_', 2, b's'),
    (b'_', 2, b'r'),
    (b'_', 5, b'w'),
    (b'_', 3, b'n'),
    (b'_', 2, b'h'),
    (b'-', 5, b'g'),
    (b'-', 4, b'x'),
    (b'-', 2, b's'),
    (b'.', 2, b'S'),
];

/// The index of a separator in [`PAIRS_BEFORE`]'s rows.
const fn separator_index(c: u8) -> Option<usize> {
    match c {
        b'_' => Some(0),
        b'-' => Some(1),
        b'.' => Some(2),
        _ => None,
    }
}

/// For each separator, bit `a & 63` of row `[b][separator]` is set when
/// some provider key's prefix holds `a`, `b`, then that separator: the two
/// bytes every prefix has before each of its separators (the first is at
/// least two bytes in, see [`FIRST_SEPARATORS`]). Most separators in text
/// (`org.apache`, `pam_unix`, `msra-sa`) are told apart here, before the
/// word before them is read.
static PAIRS_BEFORE: [[u64; 3]; 256] = {
    let mut t = [[0u64; 3]; 256];
    let mut r = 0;
    while r < SEPARATED_KEYS.len() {
        let prefix = SEPARATED_KEYS[r].prefix;
        let mut j = 2;
        while j < prefix.len() {
            if let Some(s) = separator_index(prefix[j]) {
                t[prefix[j - 1] as usize][s] |= 1 << (prefix[j - 2] & 63);
            }
            j += 1;
        }
        r += 1;
    }
    t
};

/// Reads a provider key whose prefix holds the separator at `i`;
/// returns its range. The pair filter is inline, the reading not.
#[inline(always)]
pub(crate) fn match_separated_key(b: &[u8], i: usize, floor: usize) -> Option<(usize, usize)> {
    if !pair_may_hold_key(b, i) {
        return None;
    }
    read_separated_key(b, i, floor)
}

/// Whether the two bytes before the separator at `i` are the two before
/// that separator in some provider key's prefix ([`PAIRS_BEFORE`]): when
/// not, no provider key holds the separator.
#[inline(always)]
pub(crate) fn pair_may_hold_key(b: &[u8], i: usize) -> bool {
    let Some(&a) = i.checked_sub(2).and_then(|k| b.get(k)) else {
        return false;
    };
    let Some(sep) = separator_index(b[i]) else {
        return false;
    };
    PAIRS_BEFORE[usize::from(b[i - 1])][sep] & (1 << (a & 63)) != 0
}

/// [`match_separated_key`] once the pair before the separator passed.
#[inline(never)]
fn read_separated_key(b: &[u8], i: usize, floor: usize) -> Option<(usize, usize)> {
    let sep = b[i];
    // The word before the separator: at most 10 letters or digits, or the
    // `github_pat` prefix, which holds a separator of its own.
    let mut ws = i;
    while ws > floor && i - ws < 10 && (is_alnum(b[ws - 1]) || (b[ws - 1] == b'_' && i - ws == 3)) {
        ws -= 1;
    }
    let offset = i - ws;
    let first = *b.get(ws)?;
    if !FIRST_SEPARATORS
        .iter()
        .any(|&(s, k, f)| s == sep && k == offset && f == first)
    {
        return None;
    }
    if !(word_starts_at(b, ws) || (ws > 0 && matches!(b[ws - 1], b'-' | b'.'))) {
        return None;
    }
    SEPARATED_KEYS
        .iter()
        .filter(|r| r.prefix.get(offset) == Some(&sep))
        .find_map(|r| match_rule(b, ws, r).map(|end| (ws, end)))
}

fn match_rule(b: &[u8], s: usize, r: &KeyRule) -> Option<usize> {
    if !b.get(s..)?.starts_with(r.prefix) {
        return None;
    }
    let body_start = s + r.prefix.len();
    // Look at most one byte past the longest body, so that a long run of
    // key-like bytes costs a bounded amount per attempt.
    let window = &b[..b.len().min(body_start + r.max + 1)];
    let end = run_end(window, body_start, |c| r.body.accepts(c));
    let len = end - body_start;
    ((r.min..=r.max).contains(&len) && !b.get(end).is_some_and(|&c| is_alnum(c))).then_some(end)
}

/// AWS access key id prefixes.
const AWS_PREFIXES: &[&[u8; 4]] = &[
    b"AKIA", b"ASIA", b"AGPA", b"AIDA", b"AROA", b"AIPA", b"ANPA", b"ANVA", b"APKA", b"ABIA",
    b"ACCA",
];

/// Reads an AWS access key id or a Google API key starting at the `A` at
/// `s`; returns its end. Every prefix has an upper-case second letter
/// (`AKIA`, `AIza`): most words starting with `A` are ruled out inline.
#[inline]
pub(crate) fn match_a_key(b: &[u8], s: usize) -> Option<usize> {
    if !b.get(s + 1).is_some_and(u8::is_ascii_uppercase) {
        return None;
    }
    read_a_key(b, s)
}

/// [`match_a_key`] past its first test.
#[inline(never)]
fn read_a_key(b: &[u8], s: usize) -> Option<usize> {
    if !word_starts_at(b, s) {
        return None;
    }
    let head = b.get(s..s + 4)?;
    if AWS_PREFIXES.iter().any(|p| p.as_slice() == head) {
        let end = s + 20;
        let body = b.get(s + 4..end)?;
        let ok = body
            .iter()
            .all(|&c| c.is_ascii_uppercase() || c.is_ascii_digit())
            && !b.get(end).is_some_and(|&c| is_alnum(c));
        return ok.then_some(end);
    }
    if head == b"AIza" {
        let end = s + 39;
        let ok = b.get(s + 4..end)?.iter().all(|&c| is_b64url(c))
            && !b.get(end).is_some_and(|&c| is_b64url(c));
        return ok.then_some(end);
    }
    None
}

/// Reads the credential of a `Bearer …` or `Basic …` authorization value
/// whose scheme word starts at `s`; returns the credential's range.
///
/// A bearer token must look random (8+ characters with a digit, or 20+);
/// a basic credential must decode from base64 to `user:password`.
#[inline]
pub(crate) fn match_auth_scheme(b: &[u8], s: usize) -> Option<(usize, usize)> {
    // `Bearer` or `Basic`, any case: most words starting with `B` are
    // ruled out by their second letter, inline.
    if !b
        .get(s + 1)
        .is_some_and(|&c| matches!(c | 0x20, b'e' | b'a'))
    {
        return None;
    }
    read_auth_scheme(b, s)
}

/// [`match_auth_scheme`] past its first test.
#[inline(never)]
fn read_auth_scheme(b: &[u8], s: usize) -> Option<(usize, usize)> {
    if !word_starts_at(b, s) {
        return None;
    }
    let (scheme_len, basic) = if starts_with_ignore_case(b, s, b"bearer ") {
        (6, false)
    } else if starts_with_ignore_case(b, s, b"basic ") {
        (5, true)
    } else {
        return None;
    };
    let start = run_end(b, s + scheme_len, |c| c == b' ');
    let mut end = run_end(b, start, is_token68);
    end = run_end(b, end, |c| c == b'=');
    let token = &b[start..end];
    if token.is_empty() || b.get(end).is_some_and(|&c| is_alnum(c)) {
        return None;
    }
    let valid = if basic {
        STANDARD
            .decode(token)
            .is_ok_and(|raw| raw.contains(&b':') && raw.len() >= 2)
    } else {
        let has_digit = token.iter().any(u8::is_ascii_digit);
        (token.len() >= 8 && has_digit) || token.len() >= 20
    };
    valid.then_some((start, end))
}

/// Reads a PEM private key block starting at the `-----BEGIN` at `s`;
/// returns its end (the end of the text if the block is never closed).
pub(crate) fn match_private_key(b: &[u8], s: usize) -> Option<usize> {
    let rest = b.get(s..)?;
    if !rest.starts_with(b"-----BEGIN ") {
        return None;
    }
    let header_end = memchr::memmem::find(&rest[..rest.len().min(64)], b"PRIVATE KEY-----")?;
    let after_header = s + header_end + 16;
    let end = match memchr::memmem::find(&b[after_header..], b"-----END ") {
        Some(k) => {
            let footer = after_header + k;
            match memchr::memmem::find(&b[footer..b.len().min(footer + 64)], b"KEY-----") {
                Some(f) => footer + f + 8,
                None => b.len(),
            }
        }
        None => b.len(),
    };
    Some(end)
}

#[cfg(test)]
mod tests {
    use super::*;

    const JWT: &str = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvaG4gRG9lIiwiaWF0IjoxNTE2MjM5MDIyfQ.SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c";

    #[test]
    fn every_provider_key_passes_the_pair_filter() {
        // Each rule's shortest key, found from one of its prefix's
        // separators: the table of pairs before separators drops none.
        for rule in SEPARATED_KEYS {
            let body: String = "a1B2c3D4e5".chars().cycle().take(rule.min).collect();
            let text = format!("token {}{body} end", String::from_utf8_lossy(rule.prefix));
            let b = text.as_bytes();
            let found = (0..rule.prefix.len())
                .filter(|&j| separator_index(rule.prefix[j]).is_some())
                .find_map(|j| match_separated_key(b, 6 + j, 0));
            assert_eq!(found, Some((6, text.len() - 4)), "{text}");
        }
    }

    #[test]
    fn jwt() {
        let text = format!("token={JWT} rest");
        let s = text.find("eyJ").unwrap();
        let end = match_jwt(text.as_bytes(), s).unwrap();
        assert_eq!(&text[s..end], JWT);
        // Not JOSE: decodes, but no alg/typ.
        let fake = "eyJmb28iOiJiYXIifQ.eyJhIjoxfQ.sig";
        assert!(match_jwt(fake.as_bytes(), 0).is_err());
        assert!(match_jwt(b"eyJhbGciOiJIUzI1NiJ9 only", 0).is_err());
    }

    #[test]
    fn provider_keys() {
        for key in [
            "ghp_aBcDeFgHiJkLmNoPqRsTuVwXyZ0123456789",
            "github_pat_11ABCDEFG0123456789_abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTU",
            "glpat-aBcDeFgHiJkLmNoPqRsT",
            "xoxb-123456789012-1234567890123-AbCdEfGhIjKlMnOpQrStUvWx",
            "sk_live_51HqAbCdEfGhIjKlMnOp",
            "sk-proj-AbCdEfGhIjKlMnOpQrStUvWxYz0123456789",
            "sk-ant-api03-AbCdEfGhIjKlMnOpQrSt",
            "npm_aBcDeFgHiJkLmNoPqRsTuVwXyZ0123456789",
        ] {
            let text = format!("key {key} end");
            let b = text.as_bytes();
            let sep = 4 + key.find(['_', '-', '.']).unwrap();
            assert_eq!(
                match_separated_key(b, sep, 0).map(|(s, e)| &text[s..e]),
                Some(key),
                "{key}"
            );
        }
        for text in [
            "task-list",
            "sk-learn",
            "ghp_short",
            "my_sk_live_x",
            "desk-lamp-0123456789abcdefghij",
        ] {
            let b = text.as_bytes();
            let found = b
                .iter()
                .enumerate()
                .filter(|&(_, &c)| matches!(c, b'_' | b'-' | b'.'))
                .any(|(i, _)| match_separated_key(b, i, 0).is_some());
            assert!(!found, "{text}");
        }
    }

    #[test]
    fn aws_and_google() {
        assert_eq!(match_a_key(b"AKIAIOSFODNN7EXAMPLE", 0), Some(20));
        assert_eq!(match_a_key(b"AKIAIOSFODNN7EXAMPLEX", 0), None);
        assert_eq!(match_a_key(b"AKIAiosfodnn7example", 0), None);
        assert_eq!(
            match_a_key(b"AIzaSyA-1234567890abcdefghijklmnopqrstu", 0),
            Some(39)
        );
        assert_eq!(match_a_key(b"API", 0), None);
    }

    #[test]
    fn the_inline_first_tests_pass_every_prefix_they_guard() {
        // `match_a_key` passes over an `A` whose next letter is not
        // upper-case, `match_auth_scheme` a `B` whose next is no `e` or
        // `a`: each AWS prefix, each Google key and every scheme word in any
        // case is still read whole.
        for prefix in AWS_PREFIXES {
            let key = [&prefix[..], b"IOSFODNN7EXAMPLE"].concat();
            assert_eq!(match_a_key(&key, 0), Some(20), "{prefix:?}");
        }
        let google = b"AIzaSyA-1234567890abcdefghijklmnopqrstu";
        assert_eq!(match_a_key(google, 0), Some(39));
        for scheme in ["Bearer", "BEARER", "bEaReR", "Basic", "BASIC"] {
            let value = if scheme.eq_ignore_ascii_case("basic") {
                format!("{scheme} dXNlcjpwYXNzd29yZA==")
            } else {
                format!("{scheme} abc123def456")
            };
            assert!(match_auth_scheme(value.as_bytes(), 0).is_some(), "{value}");
        }
    }

    #[test]
    fn authorization_values() {
        fn find(s: &str) -> Option<&str> {
            match_auth_scheme(s.as_bytes(), 0).map(|(a, e)| &s[a..e])
        }
        assert_eq!(find("Bearer abc123def456"), Some("abc123def456"));
        assert_eq!(find("bearer  mF_9.B5f-4.1JqM"), Some("mF_9.B5f-4.1JqM"));
        assert_eq!(
            find("Basic dXNlcjpwYXNzd29yZA=="),
            Some("dXNlcjpwYXNzd29yZA==")
        );
        assert_eq!(find("Bearer token"), None);
        assert_eq!(find("Bearer realm"), None);
        assert_eq!(find("Basic authentication"), None);
        assert_eq!(find("Basic Zm9vYmFy"), None); // "foobar": no colon
    }

    #[test]
    fn private_keys() {
        let pem = "-----BEGIN RSA PRIVATE KEY-----\nMIIEow\n-----END RSA PRIVATE KEY-----";
        let text = format!("{pem}\nafter");
        assert_eq!(match_private_key(text.as_bytes(), 0), Some(pem.len()));
        assert_eq!(match_private_key(b"-----BEGIN CERTIFICATE-----", 0), None);
        let open = "-----BEGIN PRIVATE KEY-----\nMIIE";
        assert_eq!(match_private_key(open.as_bytes(), 0), Some(open.len()));
    }
}
