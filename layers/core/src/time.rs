//! RFC 3339 timestamps in UTC with microseconds, formatted (and parsed)
//! without a date-time library: the date and time of day are cached per thread and
//! redone only when the second changes.

use std::cell::RefCell;
use std::time::{SystemTime, UNIX_EPOCH};

/// `YYYY-MM-DDTHH:MM:SS` for one second since the epoch.
fn format_second(secs: u64) -> [u8; 19] {
    let days = (secs / 86_400) as i64;
    let rem = secs % 86_400;
    let (year, month, day) = civil_from_days(days);
    let mut out = *b"0000-00-00T00:00:00";
    let put = |out: &mut [u8; 19], at: usize, value: u64, width: usize| {
        let mut v = value;
        for i in (0..width).rev() {
            out[at + i] = b'0' + (v % 10) as u8;
            v /= 10;
        }
    };
    put(&mut out, 0, year.clamp(0, 9999) as u64, 4);
    put(&mut out, 5, u64::from(month), 2);
    put(&mut out, 8, u64::from(day), 2);
    put(&mut out, 11, rem / 3600, 2);
    put(&mut out, 14, rem / 60 % 60, 2);
    put(&mut out, 17, rem % 60, 2);
    out
}

/// Howard Hinnant's days-to-civil algorithm: days since 1970-01-01 to
/// (year, month, day) in the proleptic Gregorian calendar.
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

// Not a call-site cache: the last second formatted, keyed by time.
thread_local! {
    static CACHE: RefCell<(u64, [u8; 32])> = const { RefCell::new((u64::MAX, [0; 32])) };
}

/// Appends `time` as `2026-11-22T09:31:07.123456Z`. Times before 1970 are
/// written as the epoch.
pub fn rfc3339_micros(out: &mut String, time: SystemTime) {
    rfc3339_micros_since_epoch(out, time.duration_since(UNIX_EPOCH).unwrap_or_default());
}

/// [`rfc3339_micros`] of the time `since` the Unix epoch (as
/// [`wall_now_since_epoch`](crate::internal::wall_now_since_epoch) gives it).
pub fn rfc3339_micros_since_epoch(out: &mut String, since: std::time::Duration) {
    let secs = since.as_secs();
    // The microseconds and `Z` as one word, built in a register and stored
    // once (three narrow stores read back by one wide load stall the CPU).
    let tail = micros_tail(since.subsec_micros()).to_le_bytes();
    let tail = crate::ascii::ascii_str(&tail[..7]);
    // The thread's text of the latest second, up to the dot.
    let written = CACHE.try_with(|cache| {
        let Ok(mut cache) = cache.try_borrow_mut() else {
            return false;
        };
        let (second, text) = &mut *cache;
        if *second != secs {
            *second = secs;
            *text = second_text(secs);
        }
        out.push_str(crate::ascii::ascii_str(&text[..20]));
        true
    });
    if written != Ok(true) {
        out.push_str(crate::ascii::ascii_str(&second_text(secs)[..20]));
    }
    out.push_str(tail);
}

/// `micros` (below 1,000,000) as six digits and `Z`, in the low seven
/// bytes of a little-endian word.
#[inline]
fn micros_tail(micros: u32) -> u64 {
    let pair = |n: u32| {
        let at = (n as usize % 100) * 2;
        u64::from(u16::from_le_bytes([PAIRS[at], PAIRS[at + 1]]))
    };
    let (high, rest) = (micros / 10_000, micros % 10_000);
    pair(high) | pair(rest / 100) << 16 | pair(rest % 100) << 32 | u64::from(b'Z') << 48
}

/// `00` to `99`, two bytes each.
const PAIRS: &[u8; 200] = b"0001020304050607080910111213141516171819\
2021222324252627282930313233343536373839\
4041424344454647484950515253545556575859\
6061626364656667686970717273747576777879\
8081828384858687888990919293949596979899";

/// `secs`'s text, `YYYY-MM-DDTHH:MM:SS.000000Z`, padded to 32 bytes.
fn second_text(secs: u64) -> [u8; 32] {
    let mut text = *b"1970-01-01T00:00:00.000000Z     ";
    text[..19].copy_from_slice(&format_second(secs));
    text
}

/// Parses what [`rfc3339_micros`] writes, and RFC 3339 in general: a date,
/// `T` or a space, a time with optional fraction, and `Z` or an offset.
/// A bare date means its midnight UTC.
pub fn parse_rfc3339(text: &str) -> Option<SystemTime> {
    let text = text.trim();
    let b = text.as_bytes();
    let num = |range: std::ops::Range<usize>| -> Option<i64> {
        let digits = text.get(range)?;
        digits
            .bytes()
            .all(|c| c.is_ascii_digit())
            .then(|| digits.parse().ok())?
    };
    let (year, month, day) = (num(0..4)?, num(5..7)?, num(8..10)?);
    if b.get(4) != Some(&b'-')
        || b.get(7) != Some(&b'-')
        || !(1..=12).contains(&month)
        || !(1..=31).contains(&day)
    {
        return None;
    }
    let days = days_from_civil(year, month as u32, day as u32);
    let mut secs = days * 86_400;
    let mut nanos = 0u32;
    if b.len() > 10 {
        if !matches!(b[10], b'T' | b't' | b' ') || b.get(13) != Some(&b':') {
            return None;
        }
        let (h, m) = (num(11..13)?, num(14..16)?);
        let s = if b.get(16) == Some(&b':') {
            num(17..19)?
        } else {
            0
        };
        if h > 23 || m > 59 || s > 60 {
            return None;
        }
        secs += h * 3600 + m * 60 + s;
        let mut i = if b.get(16) == Some(&b':') { 19 } else { 16 };
        if b.get(i) == Some(&b'.') {
            i += 1;
            let start = i;
            while i < b.len() && b[i].is_ascii_digit() {
                i += 1;
            }
            let frac = &text[start..i];
            let padded: String = frac.chars().chain(std::iter::repeat('0')).take(9).collect();
            nanos = padded.parse().ok()?;
        }
        match text.get(i..)? {
            "Z" | "z" => {}
            offset
                if offset.len() == 6
                    && matches!(&offset[..1], "+" | "-")
                    && &offset[3..4] == ":" =>
            {
                let oh: i64 = offset[1..3].parse().ok()?;
                let om: i64 = offset[4..6].parse().ok()?;
                let delta = oh * 3600 + om * 60;
                secs -= if offset.starts_with('+') {
                    delta
                } else {
                    -delta
                };
            }
            _ => return None,
        }
    }
    let secs = u64::try_from(secs).ok()?;
    Some(UNIX_EPOCH + std::time::Duration::new(secs, nanos))
}

/// The inverse of [`civil_from_days`].
fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let m = i64::from(month);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(day) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn at(secs: u64, micros: u32) -> String {
        let mut out = String::new();
        rfc3339_micros(&mut out, UNIX_EPOCH + Duration::new(secs, micros * 1000));
        out
    }

    #[test]
    fn known_instants() {
        assert_eq!(at(0, 0), "1970-01-01T00:00:00.000000Z");
        assert_eq!(at(951_782_400, 1), "2000-02-29T00:00:00.000001Z");
        assert_eq!(at(1_795_340_467, 123_456), "2026-11-22T09:41:07.123456Z");
        assert_eq!(at(4_102_444_799, 999_999), "2099-12-31T23:59:59.999999Z");
        // Every digit pair of the microseconds, and the same second again
        // (from the per-thread cache).
        assert_eq!(at(1_795_340_467, 10_203), "2026-11-22T09:41:07.010203Z");
        assert_eq!(at(1_795_340_467, 990_000), "2026-11-22T09:41:07.990000Z");
    }

    #[test]
    fn parsing_reads_back_what_is_written_and_other_rfc3339_forms() {
        for (secs, micros) in [(0, 0), (951_782_400, 1), (1_795_340_467, 123_456)] {
            let text = at(secs, micros);
            assert_eq!(
                parse_rfc3339(&text),
                Some(UNIX_EPOCH + Duration::new(secs, micros * 1000)),
                "{text}"
            );
        }
        let base = UNIX_EPOCH + Duration::from_secs(1_795_340_467);
        assert_eq!(parse_rfc3339("2026-11-22T10:41:07+01:00"), Some(base));
        assert_eq!(parse_rfc3339("2026-11-22 09:41:07Z"), Some(base));
        assert_eq!(
            parse_rfc3339("2026-11-22"),
            Some(UNIX_EPOCH + Duration::from_secs(1_795_305_600))
        );
        for bad in [
            "",
            "2026-13-01",
            "2026-11-22T25:00:00Z",
            "yesterday",
            "2026-11-22T09:41:07",
        ] {
            assert_eq!(parse_rfc3339(bad), None, "{bad}");
        }
        for days in [-1000, 0, 1, 20_000, 146_097] {
            let (y, m, d) = civil_from_days(days);
            assert_eq!(days_from_civil(y, m, d), days);
        }
    }

    #[test]
    fn every_day_for_four_centuries_matches_a_day_counter() {
        // Walk day by day from 1970 and compare with an independent count.
        let (mut y, mut m, mut d) = (1970i64, 1u32, 1u32);
        let leap = |y: i64| (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
        for days in 0..146_097 {
            assert_eq!(civil_from_days(days), (y, m, d));
            let len = match m {
                2 if leap(y) => 29,
                2 => 28,
                4 | 6 | 9 | 11 => 30,
                _ => 31,
            };
            d += 1;
            if d > len {
                d = 1;
                m += 1;
                if m > 12 {
                    m = 1;
                    y += 1;
                }
            }
        }
    }
}
