//! Email addresses, found from their `@`.
//!
//! The local part takes the characters mail systems accept in practice
//! (letters, digits, `.`, `_`, `%`, `+`, `-`, `'` and non-ASCII letters; not
//! `=`, `:` or `/`, so `user=ada@example.com` keeps its key). The domain
//! needs at least two labels of letters, digits and hyphens (no hyphen at
//! either end) and a top-level label of two or more letters (or `xn--`).

use super::bytes::{is_label as is_label_byte, is_local as is_local_byte};

/// Finds the email address around the `@` at `at`, starting no earlier
/// than `floor`; returns its range.
pub(crate) fn match_email(b: &[u8], at: usize, floor: usize) -> Option<(usize, usize)> {
    // Domain, forwards: labels separated by single dots, at most 253 bytes.
    let limit = b.len().min(at + 254);
    let mut end = at + 1;
    let mut labels = 0;
    let mut tld = (end, end);
    while end < limit {
        let label_start = end;
        end = b[end..limit]
            .iter()
            .position(|&c| !is_label_byte(c))
            .map_or(limit, |k| end + k);
        let label = &b[label_start..end];
        // A label is 1-63 bytes, with no hyphen at either end; the domain
        // stops before one that is not.
        if label.is_empty()
            || label.len() > 63
            || label[0] == b'-'
            || label[label.len() - 1] == b'-'
        {
            break;
        }
        labels += 1;
        tld = (label_start, end);
        match (b.get(end), b.get(end + 1)) {
            (Some(b'.'), Some(&n)) if is_label_byte(n) && n != b'-' => end += 1,
            _ => break,
        }
    }
    if labels < 2 {
        return None;
    }
    let tld_bytes = &b[tld.0..tld.1];
    let tld_ok = (tld_bytes.len() >= 2
        && tld_bytes
            .iter()
            .all(|&c| c.is_ascii_alphabetic() || c >= 0x80))
        || (tld_bytes.len() > 4 && tld_bytes[..4].eq_ignore_ascii_case(b"xn--"));
    if !tld_ok {
        return None;
    }
    // Local part, backwards from the `@`, at most 64 bytes (after the
    // domain, which rules out more `@`s: `user@host`, `local@tbird-admin1`).
    let lo = floor.max(at.saturating_sub(64));
    let mut start = b[lo..at]
        .iter()
        .rposition(|&c| !is_local_byte(c))
        .map_or(lo, |k| lo + k + 1);
    if start == lo && lo > floor && is_local_byte(b[lo - 1]) {
        return None; // longer than 64 bytes
    }
    while start < at && matches!(b[start], b'.' | b'\'' | b'-' | b'+') {
        start += 1;
    }
    let local = &b[start..at];
    if local.is_empty() || local.ends_with(b".") || has_double_dot(local) {
        return None;
    }
    Some((start, tld.1))
}

fn has_double_dot(s: &[u8]) -> bool {
    let mut previous_dot = false;
    for &c in s {
        let dot = c == b'.';
        if dot && previous_dot {
            return true;
        }
        previous_dot = dot;
    }
    false
}

/// The canonical form of an address for keyed hashing: lower case.
pub(crate) fn canonical(text: &str) -> String {
    text.to_lowercase()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn find(s: &str) -> Option<&str> {
        let at = s.find('@')?;
        match_email(s.as_bytes(), at, 0).map(|(a, e)| &s[a..e])
    }

    #[test]
    fn addresses() {
        for (text, want) in [
            ("mail ada@example.com now", "ada@example.com"),
            (
                "<john.doe+tag@mail.example.co.uk>",
                "john.doe+tag@mail.example.co.uk",
            ),
            ("user=ada@example.com", "ada@example.com"),
            ("mailto:o'brien@example.ie.", "o'brien@example.ie"),
            (
                "\"x_y-z%1@sub-domain.example.org\"",
                "x_y-z%1@sub-domain.example.org",
            ),
            ("josé@exämple.de", "josé@exämple.de"),
            ("a@b.xn--p1ai", "a@b.xn--p1ai"),
            ("ADA@EXAMPLE.COM", "ADA@EXAMPLE.COM"),
        ] {
            assert_eq!(find(text), Some(want), "{text}");
        }
    }

    #[test]
    fn near_misses() {
        for s in [
            "@mention",
            "user@localhost",
            "a@b.c",
            "foo@bar.123",
            "x@-bad.com",
            "a..b@example.com",
            "trailing.@example.com",
            "1.2@3.4",
            "name@",
        ] {
            assert_eq!(find(s), None, "{s}");
        }
    }
}
