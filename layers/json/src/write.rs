//! Writing JSON text: escaped strings and typed values.

use std::fmt::{self, Write};

use warden_core::{FieldRef, FieldValue};

/// Whether a byte must be escaped inside a JSON string.
static NEEDS_ESCAPE: [bool; 256] = {
    let mut table = [false; 256];
    let mut b = 0;
    while b < 0x20 {
        table[b] = true;
        b += 1;
    }
    table[b'"' as usize] = true;
    table[b'\\' as usize] = true;
    table[0x7f] = true;
    table
};

/// Appends `s` to `out` with JSON string escapes (no surrounding quotes).
/// Control characters, including ESC, become `\u00XX` escapes, so no ANSI
/// sequence from a field reaches a terminal.
pub(crate) fn escape_into(out: &mut String, s: &str) {
    let bytes = s.as_bytes();
    // Skip eight clean bytes at a time; the first chunk that may hold a
    // byte to escape (the test can say yes wrongly, never no wrongly) is
    // looked at byte by byte from there.
    let mut clean = 0;
    while let Some(chunk) = bytes.get(clean..clean + 8) {
        let mut word = [0u8; 8];
        word.copy_from_slice(chunk);
        if may_need_escape(u64::from_le_bytes(word)) {
            break;
        }
        clean += 8;
    }
    if bytes.len() - clean < 8 {
        // The tail: the string's last word (overlapping bytes already
        // tested), or, for a string shorter than a word (a field name),
        // its bytes.
        let tail_is_clean = match bytes.len().checked_sub(8).and_then(|at| bytes.get(at..)) {
            Some(last) => {
                let mut word = [0u8; 8];
                word.copy_from_slice(last);
                !may_need_escape(u64::from_le_bytes(word))
            }
            None => !bytes.iter().any(|&b| NEEDS_ESCAPE[usize::from(b)]),
        };
        if tail_is_clean {
            out.push_str(s);
            return;
        }
    }
    let mut start = 0;
    for (i, &b) in bytes.iter().enumerate().skip(clean) {
        if !NEEDS_ESCAPE[b as usize] {
            continue;
        }
        out.push_str(&s[start..i]);
        match b {
            b'"' => out.push_str("\\\""),
            b'\\' => out.push_str("\\\\"),
            b'\n' => out.push_str("\\n"),
            b'\r' => out.push_str("\\r"),
            b'\t' => out.push_str("\\t"),
            _ => {
                const HEX: &[u8; 16] = b"0123456789abcdef";
                out.push_str("\\u00");
                out.push(HEX[(b >> 4) as usize] as char);
                out.push(HEX[(b & 0xf) as usize] as char);
            }
        }
        start = i + 1;
    }
    out.push_str(&s[start..]);
}

/// Whether any byte of `word` may be below 0x20, a `"`, a `\\` or DEL.
/// False positives are possible (borrows across bytes), false negatives not.
fn may_need_escape(word: u64) -> bool {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    let has_zero = |v: u64| v.wrapping_sub(ONES) & !v & HIGH;
    let below_space = word.wrapping_sub(ONES * 0x20) & !word & HIGH;
    let quote = has_zero(word ^ (ONES * u64::from(b'"')));
    let backslash = has_zero(word ^ (ONES * u64::from(b'\\')));
    let delete = has_zero(word ^ (ONES * 0x7f));
    below_space | quote | backslash | delete != 0
}

/// Appends `s` as a quoted JSON string.
pub(crate) fn string(out: &mut String, s: &str) {
    out.push('"');
    escape_into(out, s);
    out.push('"');
}

/// A `fmt::Write` that escapes what is written into a JSON string.
pub(crate) struct Escaping<'a>(pub(crate) &'a mut String);

impl Write for Escaping<'_> {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        escape_into(self.0, s);
        Ok(())
    }
}

/// Appends a `Debug`/`Display` value as a quoted JSON string, formatted
/// straight into `out`.
pub(crate) fn debug_string(out: &mut String, value: &dyn fmt::Debug) {
    out.push('"');
    let _ = write!(Escaping(out), "{value:?}");
    out.push('"');
}

/// Appends `"key":`, escaping the key.
pub(crate) fn key(out: &mut String, key: &str) {
    string(out, key);
    out.push(':');
}

fn integer(out: &mut String, n: impl itoa::Integer) {
    out.push_str(itoa::Buffer::new().format(n));
}

fn float(out: &mut String, n: f64) {
    if let Some((m, k)) = short_decimal(n) {
        decimal(out, m, k);
    } else if n.is_finite() {
        // Shortest text that reads back as the same f64 (ryu, tried, was no
        // faster here).
        let _ = write!(out, "{n:?}");
    } else if n.is_nan() {
        out.push_str("\"NaN\"");
    } else if n > 0.0 {
        out.push_str("\"inf\"");
    } else {
        out.push_str("\"-inf\"");
    }
}

/// Powers of ten up to the most fractional digits [`short_decimal`] tries.
const TENS: [f64; 7] = [1.0, 10.0, 100.0, 1e3, 1e4, 1e5, 1e6];

/// `n` as `m / 10^k` with the fewest fractional digits `k` (at most six),
/// when that decimal reads back as `n` and `n` is written without an
/// exponent: what most measured values are (`12.5`, `0.25`, `1042.0`).
/// The same text as `{n:?}` (tested against it), in a tenth of the
/// instructions: a duration in milliseconds costs about 600 through
/// `core::fmt`'s shortest-digit search.
///
/// Why it is right:
/// - A decimal `m / 10^k` reads back as `n` exactly when the division of
///   the two exact floats `m` and `10^k` gives `n` (IEEE division is
///   correctly rounded, as parsing is).
/// - Below 2^48, an `m` that reads back lies within `ulp(n·10^k) ≤ 2^-5`
///   of the exact `n·10^k`, so rounding the computed product finds it, and
///   no second `m` of the same length reads back (no tie to break, where
///   `{:?}`'s search and a rounding could choose differently: a tie found
///   by the tests above 2^52).
/// - Trying `k` upward finds the fewest digits, which is the shortest text.
#[inline]
fn short_decimal(n: f64) -> Option<(i64, usize)> {
    // `{:?}` writes an exponent from 1e16 up and below 1e-4; zero (and
    // its sign) goes the slow way too.
    const BELOW: f64 = (1u64 << 48) as f64;
    let magnitude = n.abs();
    if !(1e-4..1e14).contains(&magnitude) {
        return None;
    }
    for (k, ten) in TENS.iter().enumerate() {
        let m = (n * ten).round();
        if m.abs() >= BELOW {
            return None;
        }
        if m / ten == n {
            return Some((m as i64, k));
        }
    }
    None
}

/// Writes `m / 10^k` with `k` fractional digits (one `0` when `k` is 0).
fn decimal(out: &mut String, m: i64, k: usize) {
    let mut digits = itoa::Buffer::new();
    let text = digits.format(m.unsigned_abs());
    if m < 0 {
        out.push('-');
    }
    if k == 0 {
        out.push_str(text);
        out.push_str(".0");
    } else if text.len() > k {
        let (whole, fraction) = text.split_at(text.len() - k);
        out.push_str(whole);
        out.push('.');
        out.push_str(fraction);
    } else {
        out.push_str("0.");
        for _ in text.len()..k {
            out.push('0');
        }
        out.push_str(text);
    }
}

fn bytes(out: &mut String, b: &[u8]) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    out.reserve(b.len() * 2 + 2);
    out.push('"');
    for byte in b {
        out.push(HEX[(byte >> 4) as usize] as char);
        out.push(HEX[(byte & 0xf) as usize] as char);
    }
    out.push('"');
}

/// Appends an error as one string: its message, then each `source()` in
/// turn, separated by `": "` (as `anyhow` prints `{:#}`).
fn error(out: &mut String, e: &(dyn std::error::Error + 'static)) {
    out.push('"');
    for (link, cause) in warden_core::error_chain(e).enumerate() {
        if link > 0 {
            out.push_str(": ");
        }
        let _ = write!(Escaping(out), "{cause}");
    }
    out.push('"');
}

/// Appends a borrowed field value with its JSON type: numbers and booleans
/// stay numbers and booleans, the rest become strings.
pub(crate) fn value(out: &mut String, v: FieldRef<'_>) {
    match v {
        FieldRef::Str(s) => string(out, s),
        FieldRef::Debug(d) => debug_string(out, d),
        FieldRef::I64(n) => integer(out, n),
        FieldRef::U64(n) => integer(out, n),
        FieldRef::I128(n) => integer(out, n),
        FieldRef::U128(n) => integer(out, n),
        FieldRef::F64(n) => float(out, n),
        FieldRef::Bool(b) => out.push_str(if b { "true" } else { "false" }),
        FieldRef::Bytes(b) => bytes(out, b),
        FieldRef::Error(e) => error(out, e),
    }
}

/// Appends a field value as [`value`] does, or, for a `Debug` value
/// formatted in its record's rendering, that text (`text`), escaped
/// directly rather than formatted again.
pub(crate) fn value_or_text(out: &mut String, v: FieldRef<'_>, text: Option<&str>) {
    match text {
        Some(text) => string(out, text),
        None => value(out, v),
    }
}

/// Appends an owned field value, as [`value`] does for a borrowed one
/// (texts are escaped directly, not formatted again).
pub(crate) fn owned_value(out: &mut String, v: &FieldValue) {
    match v.as_text() {
        Some(text) => string(out, text),
        None => value(out, v.as_ref()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parsed(f: impl FnOnce(&mut String)) -> serde_json::Value {
        let mut out = String::new();
        f(&mut out);
        serde_json::from_str(&out).unwrap_or_else(|e| panic!("{out}: {e}"))
    }

    #[test]
    fn strings_round_trip_through_a_json_parser() {
        for s in [
            "plain",
            "quote \" back \\ slash",
            "\u{1b}[31mred\u{7f}",
            "tab\tnl\ncr\r",
            "é ✓ 🦀",
            "",
        ] {
            assert_eq!(parsed(|o| string(o, s)), serde_json::Value::from(s));
        }
        let mut out = String::new();
        string(&mut out, "\u{1b}");
        assert_eq!(out, "\"\\u001b\"");
    }

    #[test]
    fn every_byte_value_in_every_position_is_escaped_or_kept() {
        // Every length up to 20: shorter than a word, a word and a tail,
        // whole words.
        for b in 0u8..0x80 {
            for (len, pos) in (1..=20).flat_map(|len| (0..len).map(move |pos| (len, pos))) {
                let mut text = "abcdefghijklmnopqrst"[..len].to_owned().into_bytes();
                text[pos] = b;
                let text = String::from_utf8(text).unwrap();
                assert_eq!(
                    parsed(|o| string(o, &text)),
                    serde_json::Value::from(text.as_str())
                );
                let mut out = String::new();
                escape_into(&mut out, &text);
                assert_eq!(
                    out == text,
                    !NEEDS_ESCAPE[b as usize],
                    "byte {b:#x} at {pos}"
                );
            }
        }
    }

    #[test]
    fn values_keep_their_types() {
        assert_eq!(
            parsed(|o| value(o, FieldRef::U64(u64::MAX))),
            serde_json::json!(u64::MAX)
        );
        assert_eq!(
            parsed(|o| value(o, FieldRef::I64(-3))),
            serde_json::json!(-3)
        );
        assert_eq!(
            parsed(|o| value(o, FieldRef::F64(0.1))),
            serde_json::json!(0.1)
        );
        assert_eq!(
            parsed(|o| value(o, FieldRef::F64(1e300))),
            serde_json::json!(1e300)
        );
        assert_eq!(
            parsed(|o| value(o, FieldRef::F64(f64::NAN))),
            serde_json::json!("NaN")
        );
        assert_eq!(
            parsed(|o| value(o, FieldRef::Bool(true))),
            serde_json::json!(true)
        );
        assert_eq!(
            parsed(|o| value(o, FieldRef::Bytes(b"\x00\xff"))),
            serde_json::json!("00ff")
        );
        assert_eq!(
            parsed(|o| value(o, FieldRef::Debug(&"a\"b"))),
            serde_json::json!("\"a\\\"b\"")
        );
        let mut out = String::new();
        value(&mut out, FieldRef::U128(u128::MAX));
        assert_eq!(out, u128::MAX.to_string());
    }

    fn written(n: f64) -> String {
        let mut out = String::new();
        float(&mut out, n);
        out
    }

    #[test]
    fn floats_are_written_as_debug_writes_them() {
        for n in [
            12.5,
            0.25,
            1042.0,
            -3.0,
            0.1,
            0.2,
            0.3,
            1.1,
            2.675,
            0.0001,
            0.00012,
            99.99,
            1e14,
            999_999_999_999_999.0,
            1e15,
            123_456.789_012,
            0.000_123_456,
            4.35,
            1.0 / 3.0,
            0.0,
            -0.0,
            1e-5,
            1e16,
            5e-324,
            f64::MAX,
            f64::MIN_POSITIVE,
        ] {
            assert_eq!(written(n), format!("{n:?}"), "{n}");
        }
    }

    proptest::proptest! {
        #[test]
        fn any_float_is_written_as_debug_writes_it(bits in proptest::num::u64::ANY) {
            let n = f64::from_bits(bits);
            if n.is_finite() {
                proptest::prop_assert_eq!(written(n), format!("{n:?}"));
            }
        }

        #[test]
        fn decimals_with_few_digits_are_written_as_debug_writes_them(
            m in -10_000_000_000_000_000i64..10_000_000_000_000_000,
            k in 0u32..9,
        ) {
            let n = m as f64 / 10f64.powi(k as i32);
            proptest::prop_assert_eq!(written(n), format!("{n:?}"));
        }

        #[test]
        fn measured_values_are_written_as_debug_writes_them(x in 0.0f64..100_000.0) {
            // A duration in milliseconds, as an f64 computed from nanoseconds.
            let n = (x * 1e6).round() / 1e6;
            proptest::prop_assert_eq!(written(n), format!("{n:?}"));
            let n = x / 7.0;
            proptest::prop_assert_eq!(written(n), format!("{n:?}"));
        }
    }
}
