//! MAC (EUI-48) addresses: six hex octets joined by `:` or `-`
//! (`3c:22:fb:12:34:56`, `3C-22-FB-12-34-56`), or three groups of four
//! joined by `.` (Cisco's `3c22.fb12.3456`).
//!
//! The all-zero and broadcast addresses identify no device and are left.

use super::bytes::{is_hex, is_word};

/// Reads a MAC address starting at `s`; returns its end.
pub(crate) fn match_mac(b: &[u8], s: usize) -> Option<usize> {
    if s > 0 && (is_word(b[s - 1]) || matches!(b[s - 1], b':' | b'-' | b'.')) {
        return None;
    }
    let hex = |k: usize, n: usize| {
        b.get(k..k + n)
            .is_some_and(|g| g.iter().all(|&c| is_hex(c)))
    };
    let end = match b.get(s + 2) {
        Some(&sep @ (b':' | b'-')) => {
            let ok =
                (0..6).all(|g| hex(s + 3 * g, 2) && (g == 5 || b.get(s + 3 * g + 2) == Some(&sep)));
            if !ok {
                return None;
            }
            s + 17
        }
        _ => {
            let ok = (0..3)
                .all(|g| hex(s + 5 * g, 4) && (g == 2 || b.get(s + 5 * g + 4) == Some(&b'.')));
            if !ok {
                return None;
            }
            s + 14
        }
    };
    // Not part of a longer run of groups (an EUI-64, an IPv6 address).
    match (b.get(end), b.get(end + 1)) {
        (Some(&c), _) if is_word(c) => return None,
        (Some(b':' | b'-' | b'.'), Some(&c)) if is_hex(c) => return None,
        _ => {}
    }
    let digits = b[s..end].iter().filter(|&&c| is_hex(c));
    let (mut zero, mut ones) = (true, true);
    for &c in digits {
        zero &= c == b'0';
        ones &= c.eq_ignore_ascii_case(&b'f');
    }
    (!zero && !ones).then_some(end)
}

/// Finds a MAC address whose separator at `sep` follows its first group.
pub(crate) fn match_mac_at_separator(b: &[u8], sep: usize) -> Option<(usize, usize)> {
    let back = match b[sep] {
        b':' | b'-' => 2,
        b'.' => 4,
        _ => return None,
    };
    let s = sep.checked_sub(back)?;
    match_mac(b, s).map(|e| (s, e))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn find(s: &str) -> Option<&str> {
        let b = s.as_bytes();
        (0..b.len()).find_map(|i| match_mac(b, i).map(|e| &s[i..e]))
    }

    #[test]
    fn forms() {
        for m in [
            "3c:22:fb:12:34:56",
            "3C-22-FB-12-34-56",
            "3c22.fb12.3456",
            "00:1A:2B:3C:4D:5E",
        ] {
            assert_eq!(find(&format!("hwaddr {m}, up")), Some(m), "{m}");
        }
    }

    #[test]
    fn near_misses() {
        for s in [
            "00:00:00:00:00:00",
            "FF:FF:FF:FF:FF:FF",
            "00:1A:2B:3C:4D",
            "10:2F:33-AC-29-C3",
            "12:30:45",
            "2024-01-15",
            "00:1A:2B:3C:4D:5E:6F:70",
            "ZZ:ZZ:ZZ:ZZ:ZZ:ZZ",
            "550e8400-e29b-41d4-a716-446655440000",
            "1234.5678.9012.3456",
        ] {
            assert_eq!(find(s), None, "{s}");
        }
    }
}
