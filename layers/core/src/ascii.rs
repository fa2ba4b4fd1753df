//! Text known to be ASCII, read as `&str` without a full UTF-8 check.

/// `bytes` as text if they are ASCII (else `""`): what the formatters use
/// for the texts they build from digits and punctuation (timestamps, IDs).
///
/// `str::from_utf8` costs about 100 instructions on 27–36 bytes; checking
/// for ASCII, which is always UTF-8, costs a few word tests (measured in
/// `BENCHMARKS.md`, issue 16).
#[inline]
pub(crate) fn ascii_str(bytes: &[u8]) -> &str {
    if !bytes.is_ascii() {
        return "";
    }
    #[allow(unsafe_code)]
    // SAFETY: every ASCII byte sequence is valid UTF-8, checked just above.
    unsafe {
        std::str::from_utf8_unchecked(bytes)
    }
}

#[cfg(test)]
mod tests {
    use super::ascii_str;

    #[test]
    fn ascii_reads_back_and_anything_else_is_empty() {
        assert_eq!(
            ascii_str(b"2026-12-04T14:06:00.000001Z"),
            "2026-12-04T14:06:00.000001Z"
        );
        assert_eq!(ascii_str(b""), "");
        assert_eq!(ascii_str("é".as_bytes()), "");
        assert_eq!(ascii_str(&[0xff, b'a']), "");
    }
}
