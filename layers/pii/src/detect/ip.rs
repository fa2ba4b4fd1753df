//! IP addresses: dotted-quad IPv4, and IPv6 in every textual form (full,
//! compressed, IPv4-mapped/embedded) with an optional zone id.

use std::net::{Ipv4Addr, Ipv6Addr};

use super::bytes::{is_alnum, is_hex, is_word};

/// Reads an IPv4 address starting at the digit at `s`; returns its end.
pub(crate) fn match_ipv4(b: &[u8], s: usize) -> Option<usize> {
    let mut i = s;
    for octet in 0..4 {
        let start = i;
        let mut value = 0u32;
        while let Some(&c) = b.get(i) {
            if !c.is_ascii_digit() || i - start == 3 {
                break;
            }
            value = value * 10 + u32::from(c - b'0');
            i += 1;
        }
        if i == start || value > 255 || b.get(i).is_some_and(u8::is_ascii_digit) {
            return None;
        }
        if octet < 3 {
            if b.get(i) != Some(&b'.') {
                return None;
            }
            i += 1;
        }
    }
    // Not the start of a longer dotted number (a version, an OID).
    match (b.get(i), b.get(i + 1)) {
        (Some(&c), _) if is_word(c) => None,
        (Some(b'.'), Some(d)) if d.is_ascii_digit() => None,
        _ => Some(i),
    }
}

/// Whether the dotted quad starting at `s` is a version rather than an
/// address: glued to a package identity by `~`
/// (`Package_for_KB3121255~31bf3856ad364e35~amd64~~6.1.1.0`), or after a
/// word that says version (`version 6.1.1.0`, `Version: 10.0.0.1`,
/// `ver=6.1.1.0`; a `v` glued to it, `v6.1.1.0`, is no word boundary in
/// the first place).
pub(crate) fn is_version(b: &[u8], s: usize, floor: usize) -> bool {
    if s == floor {
        return false;
    }
    if b[s - 1] == b'~' {
        return true;
    }
    // Back over the operator and spacing (a few bytes), then the word.
    let mut k = s;
    while k > floor && s - k < 3 && matches!(b[k - 1], b' ' | b'\t' | b':' | b'=') {
        k -= 1;
    }
    if k == s {
        return false;
    }
    let we = k;
    while k > floor && we - k < 8 && b[k - 1].is_ascii_alphabetic() {
        k -= 1;
    }
    let word = &b[k..we];
    (k == floor || !is_word(b[k - 1]))
        && [&b"version"[..], b"ver"]
            .iter()
            .any(|w| word.eq_ignore_ascii_case(w))
}

/// Whether the groups from the colon at `colon` on can make an IPv6
/// address: a `::` next to it or ahead, or six more colons (five before an
/// embedded IPv4 address) each after one to four hex digits. Rules out a
/// time (`18:01:53`) in a few steps, before any walk or parse.
fn plausible_v6(b: &[u8], colon: usize) -> bool {
    if colon > 0 && b[colon - 1] == b':' {
        return true;
    }
    let mut k = colon;
    let mut colons = 1;
    loop {
        if b.get(k + 1) == Some(&b':') {
            return true;
        }
        let g = super::bytes::run_end(&b[..b.len().min(k + 6)], k + 1, is_hex) - (k + 1);
        if g == 0 || g > 4 {
            return false;
        }
        match b.get(k + 1 + g) {
            Some(b':') => {
                colons += 1;
                if colons >= 7 {
                    return true;
                }
                k += 1 + g;
            }
            Some(b'.') => return colons == 6,
            _ => return false,
        }
    }
}

fn is_v6_byte(c: u8) -> bool {
    is_hex(c) || c == b':' || c == b'.'
}

/// Finds an IPv6 address that contains the colon at `colon`, starting no
/// earlier than `floor`; returns its range.
pub(crate) fn match_ipv6_around(b: &[u8], colon: usize, floor: usize) -> Option<(usize, usize)> {
    if !plausible_v6(b, colon) {
        return None;
    }
    // Groups are at most four hex digits: another colon must be near.
    let before = &b[colon.saturating_sub(5).max(floor)..colon];
    let after = &b[(colon + 1).min(b.len())..b.len().min(colon + 6)];
    if !before.contains(&b':') && !after.contains(&b':') {
        return None;
    }
    // Walk back over hex digits and colons (at most one address long).
    let mut start = colon;
    while start > floor && colon - start < 40 {
        match b.get(start - 1) {
            Some(&c) if is_hex(c) || c == b':' => start -= 1,
            _ => break,
        }
    }
    if start > 0
        && b.get(start - 1)
            .is_some_and(|&c| is_word(c) || c == b'.' || c == b':')
    {
        return None;
    }
    let mut end = colon;
    while end < b.len() && end - start < 45 && is_v6_byte(b[end]) {
        end += 1;
    }
    // Trailing punctuation belongs to the sentence, not the address.
    while end > colon + 1 && matches!(b[end - 1], b'.' | b':') && !b[..end].ends_with(b"::") {
        end -= 1;
    }
    // Seven colons, six before an embedded IPv4 address, or a `::`:
    // anything else (`12:30:45`) is no address, and is told so before
    // parsing.
    let span = b.get(start..end)?;
    let colons = span.iter().filter(|&&c| c == b':').count();
    let embedded_v4 = colons == 6 && span.contains(&b'.');
    if colons < 7 && !embedded_v4 && !span.windows(2).any(|w| w == b"::") {
        return None;
    }
    let text = std::str::from_utf8(span).ok()?;
    let addr: Ipv6Addr = text.parse().ok()?;
    if text.contains("::") && text != "::1" && text != "::" {
        // `a::b` is more likely a Rust path than an address (the loopback
        // and unspecified addresses are read as such, and left unless
        // local addresses are redacted).
        let hex_digits = text.bytes().filter(u8::is_ascii_hexdigit).count();
        if hex_digits < 3 && !text.contains('.') {
            return None;
        }
    }
    let _ = addr;
    // An optional zone id: `%eth0`, or `%25eth0` in a URI.
    if b.get(end) == Some(&b'%') {
        let zone_end = super::bytes::run_end(b, end + 1, |c| {
            is_alnum(c) || matches!(c, b'_' | b'.' | b'-')
        });
        if zone_end > end + 1 && zone_end - end <= 33 {
            end = zone_end;
        }
    }
    if b.get(end).is_some_and(|&c| is_word(c)) {
        return None;
    }
    Some((start, end))
}

/// Whether a dotted quad is a loopback (`127/8`) or this-network (`0/8`,
/// including the unspecified `0.0.0.0`) address: these identify no one.
pub(crate) fn is_local_v4(text: &[u8]) -> bool {
    text.starts_with(b"127.") || text.starts_with(b"0.")
}

/// Whether an IPv6 address is the loopback (`::1`) or unspecified (`::`)
/// address, or an IPv4-mapped local one.
pub(crate) fn is_local_v6(text: &str) -> bool {
    let bare = text.split('%').next().unwrap_or(text);
    match bare.parse::<Ipv6Addr>() {
        Ok(a) => {
            a.is_loopback()
                || a.is_unspecified()
                || a.to_ipv4_mapped()
                    .is_some_and(|v4| v4.is_loopback() || v4.octets()[0] == 0)
        }
        Err(_) => false,
    }
}

/// The canonical text of an IP address (for keyed hashing), or the input.
pub(crate) fn canonical(text: &str) -> String {
    let bare = text.split('%').next().unwrap_or(text);
    if let Ok(v4) = bare.parse::<Ipv4Addr>() {
        return v4.to_string();
    }
    if let Ok(v6) = bare.parse::<Ipv6Addr>() {
        return match v6.to_ipv4_mapped() {
            Some(v4) => v4.to_string(),
            None => v6.to_string(),
        };
    }
    text.to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v4(s: &str) -> Option<&str> {
        let b = s.as_bytes();
        let start = b.iter().position(u8::is_ascii_digit)?;
        match_ipv4(b, start).map(|e| &s[start..e])
    }

    fn v6(s: &str) -> Option<&str> {
        let b = s.as_bytes();
        let colon = b.iter().position(|&c| c == b':')?;
        match_ipv6_around(b, colon, 0).map(|(a, e)| &s[a..e])
    }

    #[test]
    fn ipv4() {
        assert_eq!(v4("from 192.168.1.20:443"), Some("192.168.1.20"));
        assert_eq!(v4("10.0.0.1/8"), Some("10.0.0.1"));
        assert_eq!(v4("at 8.8.8.8."), Some("8.8.8.8"));
        for s in [
            "256.1.1.1",
            "1.2.3",
            "1.2.3.4.5",
            "v1.2.3.4x",
            "1.2.3.1000",
            "1..2.3",
        ] {
            assert_eq!(v4(s), None, "{s}");
        }
    }

    #[test]
    fn ipv6_forms() {
        for a in [
            "2001:0db8:85a3:0000:0000:8a2e:0370:7334",
            "2001:db8::1",
            "fe80::1ff:fe23:4567:890a%eth0",
            "::ffff:192.168.1.1",
            "64:ff9b::192.0.2.33",
            "::1234",
            "0:0:0:0:0:FFFF:129.144.52.38",
            "2001:db8:0:0:0:0:192.168.1.1",
        ] {
            assert_eq!(v6(&format!("peer {a}, done")), Some(a), "{a}");
        }
        assert_eq!(v6("[2001:db8::7]:8080"), Some("2001:db8::7"));
    }

    #[test]
    fn ipv6_near_misses() {
        for s in [
            "std::io::Error",
            "at 12:30:45",
            "a::b",
            "00:1A:2B:3C:4D:5E",
            "key: value",
        ] {
            assert_eq!(v6(s), None, "{s}");
        }
    }

    #[test]
    fn canonical_forms() {
        assert_eq!(canonical("2001:0DB8::0001"), "2001:db8::1");
        assert_eq!(canonical("::ffff:10.0.0.1"), "10.0.0.1");
        assert_eq!(canonical("fe80::1%eth0"), "fe80::1");
    }

    #[test]
    fn a_dotted_quad_in_a_version_context_is_a_version() {
        for t in [
            "Package_for_KB3121255~31bf3856ad364e35~amd64~~6.1.1.0",
            "version 6.1.1.0",
            "Version: 10.0.0.1",
            "ver=6.1.1.0",
            "build~10.1.2.3",
        ] {
            let s = t
                .rfind(|c: char| !(c.is_ascii_digit() || c == '.'))
                .unwrap()
                + 1;
            assert!(is_version(t.as_bytes(), s, 0), "{t}");
        }
        for t in [
            "from 10.1.2.3",
            "conversion 10.1.2.3",
            "ip=10.1.2.3",
            "10.1.2.3",
            "server: 10.1.2.3",
            "V 10.1.2.3",
        ] {
            let s = t
                .rfind(|c: char| !(c.is_ascii_digit() || c == '.'))
                .map_or(0, |k| k + 1);
            assert!(!is_version(t.as_bytes(), s, 0), "{t}");
        }
    }
}
