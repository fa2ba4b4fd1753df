//! Credentials written the ways people write them outside a `key=value`
//! pair: command-line flags (`curl -u deploy:pw`, `--password pw`,
//! `mysql -ppw`), function-call pairs (`getenv("API_TOKEN", "…")`), a
//! password announced in its clause (`Password does not meet policy:
//! Winter2024`); and the values under secret-named keys that are no
//! secret: placeholders and references (`$API_KEY`, `${DB_PASSWORD}`,
//! `<your token>`, `********`, `var.db_password`, a URL, `null`).

use super::bytes::{is_key, run_end, starts_with_ignore_case, word_starts_at};
use super::line::{Line, is_password_word};

/// Whether a value under a secret-named key is a placeholder or a
/// reference rather than a secret. `numeric_ok` says whether a short
/// number can be the secret (a password or PIN can; a token cannot).
pub(crate) fn is_placeholder(v: &[u8], numeric_ok: bool) -> bool {
    let Some(&first) = v.first() else {
        return true;
    };
    let lower = |w: &[u8]| v.eq_ignore_ascii_case(w);
    if [
        &b"null"[..],
        b"nil",
        b"none",
        b"undefined",
        b"empty",
        b"true",
        b"false",
        b"yes",
        b"no",
        b"on",
        b"off",
        b"required",
        b"optional",
        b"n/a",
        b"redacted",
        b"hidden",
        b"masked",
    ]
    .iter()
    .any(|w| lower(w))
    {
        return true;
    }
    // `$VAR`, `${VAR}`, `${{ secrets.X }}`, `$(cmd)`, `%s`, `%(name)s`,
    // `{{ .Values.x }}`, `{token}`, `<your token>`, `!vault |`, `[REDACTED]`.
    if matches!(first, b'$' | b'%' | b'<' | b'!')
        || v.starts_with(b"{{")
        || (first == b'{'
            && v.last() == Some(&b'}')
            && v[1..v.len() - 1].iter().all(|&c| is_key(c)))
        // `[REDACTED]`, and warden's own replacements (`[REDACTED:EMAIL]`,
        // `[EMAIL:k1:3fa2…]`), so that sanitizing twice changes nothing.
        || replacement_len(v) == Some(v.len())
    {
        return true;
    }
    // One masking character repeated: `XXXXXXXX`, `********`, `xxx`, `•••`.
    if v.len() >= 3
        && v.iter().all(|&c| c == first)
        && matches!(first, b'x' | b'X' | b'*' | b'#' | b'.' | b'-' | b'_' | b'?')
    {
        return true;
    }
    // A URL (a password inside one is found as such). Not `memmem`: its
    // searcher is built on every call, which cost ~1,500 instructions
    // here against a handful for the few colons a value holds.
    if memchr::memchr_iter(b':', v).any(|k| v.get(k + 1..k + 3) == Some(b"//")) {
        return true;
    }
    // A reference: lower-case identifiers joined by dots (`var.db_password`,
    // `process.env.API_TOKEN`, `com.apple.xpc.activity/4505`).
    let seg = run_end(v, 0, |c| c.is_ascii_lowercase() || c == b'_');
    if seg >= 2
        && v.get(seg) == Some(&b'.')
        && v.get(seg + 1)
            .is_some_and(|c| c.is_ascii_alphabetic() || *c == b'_')
    {
        return true;
    }
    // An object's description, not its content (`Token{a64f992 …}`,
    // `Token { kind: … }`): its fields are scanned on their own.
    let ident = run_end(v, 0, |c| c.is_ascii_alphanumeric() || c == b'_');
    if ident > 0
        && first.is_ascii_uppercase()
        && matches!(v.get(ident..ident + 2), Some([b'{', _] | [b' ', b'{']))
    {
        return true;
    }
    // A masked provider key (`ghp_xxxxxxxx…`, `glpat-XXXX-XXXX`): nothing
    // after its prefix but masking characters.
    let mask = |c: u8| matches!(c, b'x' | b'X' | b'*' | b'_' | b'-' | b'.');
    let prefix = run_end(v, 0, |c| c.is_ascii_lowercase() || c == b'_' || c == b'-').min(12);
    // The prefix may have eaten the first masking characters.
    let prefix = (0..=prefix)
        .find(|&p| v[p..].iter().all(|&c| mask(c)))
        .unwrap_or(prefix);
    if v.len() - prefix >= 8
        && v[prefix..].iter().all(|&c| mask(c))
        && v.iter().any(|&c| c == b'_' || c == b'-')
    {
        return true;
    }
    // A count or handle under a token-like key (`token: 132`).
    !numeric_ok && v.len() <= 6 && v.iter().all(u8::is_ascii_digit)
}

/// The length of the `[REDACTED]`-shaped replacement `v` starts with
/// (`[`, an upper-case letter, letters, digits, `_` or `:`, then `]`):
/// warden's own (`[REDACTED:EMAIL]`, `[EMAIL:k1:3fa2…]`) or another tool's.
pub(crate) fn replacement_len(v: &[u8]) -> Option<usize> {
    if v.first() != Some(&b'[') || !v.get(1).is_some_and(u8::is_ascii_uppercase) {
        return None;
    }
    let close = v.iter().position(|&c| c == b']')?;
    v[1..close]
        .iter()
        .all(|&c| c.is_ascii_alphanumeric() || c == b'_' || c == b':')
        .then_some(close + 1)
}

/// Whether `key` names a password or a code, under which a short number
/// can be the secret (a PIN, a one-time code, a card's CVV).
pub(crate) fn names_a_password(key: &[u8]) -> bool {
    let has = |n: &[u8]| key.windows(n.len()).any(|w| w.eq_ignore_ascii_case(n));
    has(b"passw")
        || has(b"passp")
        || has(b"pwd")
        || has(b"pin")
        || has(b"otp")
        || has(b"cvv")
        || has(b"cvc")
}

/// The non-empty text inside the quotes opening at `s`, up to the
/// closing quote or the end.
fn quoted_at(b: &[u8], s: usize) -> Option<(usize, usize)> {
    let q = *b.get(s)?;
    let e = b[s + 1..]
        .iter()
        .position(|&c| c == q)
        .map_or(b.len(), |k| s + 1 + k);
    (e > s + 1).then_some((s + 1, e))
}

/// The token starting at `s` (quoted, or up to whitespace): its range
/// without quotes.
fn token_at(b: &[u8], s: usize) -> Option<(usize, usize)> {
    match b.get(s)? {
        b'"' | b'\'' => quoted_at(b, s),
        c if c.is_ascii_whitespace() => None,
        _ => {
            let e = run_end(b, s, |c| !c.is_ascii_whitespace());
            Some((s, e))
        }
    }
}

/// The password part of a `user:password` token at `s`.
fn user_password(b: &[u8], s: usize) -> Option<(usize, usize)> {
    let (ts, te) = token_at(b, s)?;
    let colon = b[ts..te].iter().position(|&c| c == b':')? + ts;
    // A user name is a word (`deploy`, `ops.bot`, `ci-runner@corp`).
    let user = &b[ts..colon];
    let named = !user.is_empty()
        && user
            .iter()
            .all(|&c| c.is_ascii_alphanumeric() || matches!(c, b'.' | b'_' | b'-' | b'@'));
    (named && colon + 1 < te && !is_placeholder(&b[colon + 1..te], true)).then_some((colon + 1, te))
}

/// A credential given by a command-line flag starting at the `-` at `i`:
/// `--password VALUE` (any secret-named long flag followed by a space),
/// `-u`/`--user user:password`, and MySQL's `-pPASSWORD`.
pub(crate) fn flag_value(
    b: &[u8],
    i: usize,
    is_secret_name: impl Fn(&[u8]) -> bool,
) -> Option<(usize, usize)> {
    if !word_starts_at(b, i) || i > 0 && !matches!(b[i - 1], b' ' | b'\t' | b'"' | b'\'') {
        return None;
    }
    if b.get(i + 1) == Some(&b'-') {
        let ns = i + 2;
        let ne = run_end(b, ns, |c| {
            c.is_ascii_alphanumeric() || c == b'-' || c == b'_'
        });
        let name = &b[ns..ne];
        if name.is_empty() {
            return None;
        }
        let sep = b.get(ne).copied();
        if name.eq_ignore_ascii_case(b"user") || name.eq_ignore_ascii_case(b"proxy-user") {
            return match sep {
                Some(b' ' | b'=') => user_password(b, ne + 1),
                _ => None,
            };
        }
        if sep == Some(b' ') && is_secret_name(name) {
            // Not another flag, nor punctuation a value does not start with.
            return token_at(b, ne + 1).filter(|&(s, e)| {
                !is_placeholder(&b[s..e], true) && !matches!(b[s], b'-' | b':' | b'=')
            });
        }
        return None;
    }
    match b.get(i + 1) {
        Some(b'u') if b.get(i + 2) == Some(&b' ') => user_password(b, i + 3),
        Some(b'p') if b.get(i + 2).is_some_and(|c| c.is_ascii_graphic()) => {
            // MySQL's client takes its password glued to `-p`; elsewhere
            // `-p…` is a port or a compiler flag.
            let lo = i.saturating_sub(80);
            let mysql = (lo..i).any(|k| {
                starts_with_ignore_case(b, k, b"mysql") || starts_with_ignore_case(b, k, b"mariadb")
            });
            let (s, e) = token_at(b, i + 2)?;
            (mysql && !b[s..e].iter().all(|c| c.is_ascii_digit())).then_some((s, e))
        }
        _ => None,
    }
}

/// A quoted value after the `,` at `i` of a function-call pair whose first
/// argument is a quoted secret name: `getenv("API_TOKEN", "…")`,
/// `System.setProperty("DB_PASSWORD", "…")`.
pub(crate) fn comma_pair_value(b: &[u8], i: usize) -> Option<(usize, usize)> {
    let mut v = i + 1;
    while b.get(v) == Some(&b' ') && v - i < 4 {
        v += 1;
    }
    match b.get(v)? {
        b'"' | b'\'' => quoted_at(b, v),
        _ => None,
    }
}

/// The text of an element starting at `s` (after its start tag's `>`),
/// without surrounding whitespace, up to the next `<`.
pub(crate) fn element_text(b: &[u8], s: usize) -> Option<(usize, usize)> {
    let mut start = s;
    while b.get(start).is_some_and(u8::is_ascii_whitespace) && start - s < 32 {
        start += 1;
    }
    // Element text is closed by a tag.
    let mut end = start + b[start..].iter().position(|&c| c == b'<')?;
    while end > start && b[end - 1].is_ascii_whitespace() {
        end -= 1;
    }
    let text = &b[start..end];
    (end > start && !text.contains(&b'>') && text.iter().any(u8::is_ascii_alphanumeric))
        .then_some((start, end))
}

/// After the `:` at `d` that ends a clause naming a password (`Password
/// does not meet policy: Winter2024`): the value, when it looks like a
/// password (one token of 6+ bytes mixing letters with digits or symbols).
/// Inline at its one call: most colons are decided by its first tests.
#[inline]
pub(crate) fn clause_password(b: &[u8], d: usize, line: &mut Line) -> Option<(usize, usize)> {
    if b.get(d + 1) != Some(&b' ') {
        return None;
    }
    // Every name looked for starts `pas` or `pwd` (any case): none before
    // the colon anywhere in the text rules out most colons of a log line
    // at once; each part of the text is searched once.
    let first = line.password_word_before(b, d)?;
    let s = d + 2;
    let mut e = run_end(b, s, |c| c.is_ascii_graphic());
    while e > s && matches!(b[e - 1], b'.' | b',' | b';' | b')') {
        e -= 1;
    }
    let v = &b[s..e];
    if v.len() < 6 {
        return None;
    }
    // One word mixing letters with digits or symbols, not another field.
    let (mut letters, mut others) = (false, false);
    for &c in v {
        if c == b'=' || c == b':' {
            return None;
        }
        let letter = c.is_ascii_alphabetic();
        letters |= letter;
        others |= !letter;
    }
    if !letters || !others {
        return None;
    }
    // The name must stand in the 48 bytes before the colon: the first
    // one in the text does, or a later one (looked for only then).
    let lo = d.saturating_sub(48);
    let named = first >= lo || b[lo..d].windows(3).any(is_password_word);
    if !named {
        return None;
    }
    // The clause's words before the value's placeholder test, which costs
    // more: most colons in logs have no password word before them.
    let mut k = d;
    while k > lo {
        let c = b[k - 1];
        if matches!(
            c,
            b'\n' | b';' | b'.' | b'!' | b'?' | b',' | b'=' | b':' | b'|'
        ) {
            return None;
        }
        if c.is_ascii_alphabetic() && (k == 1 || !b[k - 2].is_ascii_alphabetic()) {
            let w = &b[k - 1..run_end(b, k - 1, |c| c.is_ascii_alphabetic())];
            if [&b"password"[..], b"passwd", b"passphrase", b"pwd"]
                .iter()
                .any(|p| w.eq_ignore_ascii_case(p))
            {
                return (!is_placeholder(v, true)).then_some((s, e));
            }
        }
        k -= 1;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_and_references() {
        for v in [
            "$API_KEY",
            "${DB_PASSWORD}",
            "<your token>",
            "XXXXXXXX",
            "********",
            "var.db_password",
            "https://auth.example.com/token",
            "null",
            "None",
            "%s",
            "{{ .Values.token }}",
            "${{ secrets.DEPLOY_KEY }}",
            "[REDACTED]",
            "Token{a64f992",
            "process.env.ACCESS_TOKEN",
            "com.apple.xpc.activity/4505:",
            "{token}",
            "",
        ] {
            assert!(is_placeholder(v.as_bytes(), false), "{v}");
        }
        for v in [
            "hunter2",
            "Zx81!kq",
            "S3cr3t!",
            "changeme",
            "Some(\"t0k\")",
            "d1e8a70b-4c1e",
            "a.b",
        ] {
            assert!(!is_placeholder(v.as_bytes(), false), "{v}");
        }
        assert!(is_placeholder(b"132", false));
        assert!(!is_placeholder(b"132456", true));
    }

    fn flag(s: &str) -> Option<&str> {
        let b = s.as_bytes();
        let i = s.find(" -").map(|k| k + 1)?;
        flag_value(b, i, |n| {
            n.eq_ignore_ascii_case(b"password") || n.eq_ignore_ascii_case(b"token")
        })
        .map(|(a, e)| &s[a..e])
    }

    #[test]
    fn flags() {
        assert_eq!(flag("curl -u deploy:Zx81!kq https://x"), Some("Zx81!kq"));
        assert_eq!(flag("curl --user \"ops:Hunter2#x\" -X"), Some("Hunter2#x"));
        assert_eq!(flag("curl --user=ops:pw1 x"), Some("pw1"));
        assert!(flag("mysql -h db -pS3cr3t! app").is_none()); // `-h` comes first
        assert_eq!(flag("x --password hunter2 y"), Some("hunter2"));
        assert_eq!(flag("x --token $TOKEN y"), None);
        assert_eq!(flag("gcc -pthread x"), None);
        assert_eq!(flag("ssh -p 22 host"), None);
        let b = b"mysql -h db -pS3cr3t! app";
        assert_eq!(flag_value(b, 12, |_| false), Some((14, 21)));
    }

    #[test]
    fn clause_passwords() {
        let find = |s: &'static str| {
            clause_password(s.as_bytes(), s.find(':')?, &mut Line::default()).map(|(a, e)| &s[a..e])
        };
        assert_eq!(
            find("Password does not meet policy: Winter2024"),
            Some("Winter2024")
        );
        assert_eq!(find("password reset failed: timeout"), None);
        assert_eq!(find("password expires: 2024-01-01"), None);
        assert_eq!(find("user login failed: Winter2024"), None);
    }
}
