//! `LatencyHistogram`: a mergeable quantile sketch with base-2 exponential
//! buckets, the layout of OpenTelemetry's exponential histogram.

use std::fmt;
use std::time::Duration;

/// The histogram's scale: each power of two is split into 2^6 = 64 buckets,
/// so bucket `i` holds the values in `(2^(i/64), 2^((i+1)/64)]` nanoseconds,
/// exactly as an OpenTelemetry exponential histogram of scale 6 does.
pub const SCALE: i32 = 6;
const PER_OCTAVE: i32 = 1 << SCALE;

/// The first bucket kept: the one holding 1 µs.
const MIN_INDEX: i32 = 637; // 2^(637/64) ns ≈ 0.9986 µs < 1 µs ≤ 2^(638/64) ns
/// The last bucket kept: the one holding 1 hour.
const MAX_INDEX: i32 = 2669; // (2^(2669/64), 2^(2670/64)] ns holds 1 h

/// The 52-bit mantissas of the bucket boundaries 2^(k/64), k = 0..=63, and
/// 2^52 (past every mantissa) for k = 64. A unit test checks them against
/// `2f64.powf(k / 64)`.
static MANTISSA: [u64; 65] = [
    0x0000000000000,
    0x02c9a3e778061,
    0x059b0d3158574,
    0x0874518759bc8,
    0x0b5586cf9890f,
    0x0e3ec32d3d1a2,
    0x11301d0125b51,
    0x1429aaea92de0,
    0x172b83c7d517b,
    0x1a35beb6fcb75,
    0x1d4873168b9aa,
    0x2063b88628cd6,
    0x2387a6e756238,
    0x26b4565e27cdd,
    0x29e9df51fdee1,
    0x2d285a6e4030b,
    0x306fe0a31b715,
    0x33c08b26416ff,
    0x371a7373aa9cb,
    0x3a7db34e59ff7,
    0x3dea64c123422,
    0x4160a21f72e2a,
    0x44e086061892d,
    0x486a2b5c13cd0,
    0x4bfdad5362a27,
    0x4f9b2769d2ca7,
    0x5342b569d4f82,
    0x56f4736b527da,
    0x5ab07dd485429,
    0x5e76f15ad2148,
    0x6247eb03a5585,
    0x6623882552225,
    0x6a09e667f3bcd,
    0x6dfb23c651a2f,
    0x71f75e8ec5f74,
    0x75feb564267c9,
    0x7a11473eb0187,
    0x7e2f336cf4e62,
    0x82589994cce13,
    0x868d99b4492ed,
    0x8ace5422aa0db,
    0x8f1ae99157736,
    0x93737b0cdc5e5,
    0x97d829fde4e50,
    0x9c49182a3f090,
    0xa0c667b5de565,
    0xa5503b23e255d,
    0xa9e6b5579fdbf,
    0xae89f995ad3ad,
    0xb33a2b84f15fb,
    0xb7f76f2fb5e47,
    0xbcc1e904bc1d2,
    0xc199bdd85529c,
    0xc67f12e57d14b,
    0xcb720dcef9069,
    0xd072d4a07897c,
    0xd5818dcfba487,
    0xda9e603db3285,
    0xdfc97337b9b5f,
    0xe502ee78b3ff6,
    0xea4afa2a490da,
    0xefa1bee615a27,
    0xf50765b6e4540,
    0xfa7c1819e90d8,
    0x10000000000000,
];

/// `BELOW[cell]`: for each of the 256 cells of the top 8 mantissa bits, how
/// many boundaries k ≥ 1 are at or below the cell's first mantissa.
static BELOW: [u8; 256] = {
    let mut below = [0u8; 256];
    let mut cell = 0;
    while cell < 256 {
        let start = (cell as u64) << 44;
        let mut k = 1;
        while k < 64 {
            if MANTISSA[k] <= start {
                below[cell] += 1;
            }
            k += 1;
        }
        cell += 1;
    }
    below
};

/// The bucket of `nanos` (≥ 1): `ceil(64 · log2(nanos)) − 1`, computed from
/// the float's exponent and mantissa with one table lookup and one compare.
fn index_of(nanos: u64) -> i32 {
    let bits = (nanos as f64).to_bits();
    let exponent = ((bits >> 52) & 0x7ff) as i32 - 1023;
    let mantissa = bits & ((1 << 52) - 1);
    if mantissa == 0 {
        // An exact power of two is the upper bound of the bucket below it.
        return exponent * PER_OCTAVE - 1;
    }
    let mut k = BELOW[(mantissa >> 44) as usize] as usize;
    // Boundaries are over 1% apart and cells 0.4% wide: at most one more.
    if mantissa > MANTISSA[k + 1] {
        k += 1;
    }
    // `mantissa` is above boundary k (or equal to it, for k ≥ 1: then it
    // belongs to bucket k − 1, whose upper bound is inclusive).
    if k > 0 && mantissa == MANTISSA[k] {
        k -= 1;
    }
    exponent * PER_OCTAVE + k as i32
}

/// The value a bucket stands for: the point whose relative distance to
/// both bounds is the same, `2·lo·hi / (lo + hi)`, at most 0.55% from any
/// value in the bucket.
fn representative(index: i32) -> f64 {
    let lower = 2f64.powf(index as f64 / PER_OCTAVE as f64);
    let upper = 2f64.powf((index + 1) as f64 / PER_OCTAVE as f64);
    2.0 * lower * upper / (lower + upper)
}

/// A latency distribution: counts in base-2 exponential buckets (scale 6),
/// plus the exact count, sum, minimum and maximum.
///
/// - Any quantile is within **1% relative error** (0.55% by construction)
///   for durations from 1 µs to 1 hour; shorter and longer ones are counted
///   in the first and last bucket, and quantiles stay within the exact
///   minimum and maximum.
/// - Memory is bounded: buckets are allocated only across the range of
///   values seen, at most 2,033 of 8 bytes (16,264 bytes) however many
///   samples are recorded.
/// - [`merge`](Self::merge) adds counts bucket by bucket: the merge of two
///   histograms is exactly the histogram of all their samples, so "p95 over
///   the last 5 minutes" is the merge of five one-minute histograms.
/// - The buckets are OpenTelemetry's exponential layout at scale 6 with
///   nanosecond values, so export over OTLP is exact.
///
/// ```
/// use std::time::Duration;
/// use warden_metrics::LatencyHistogram;
///
/// let mut h = LatencyHistogram::new();
/// for ms in 1..=100 {
///     h.record(Duration::from_millis(ms));
/// }
/// let p95 = h.quantile(0.95).as_secs_f64() * 1e3;
/// assert!((p95 - 95.0).abs() / 95.0 < 0.01, "{p95}");
/// assert_eq!(h.count(), 100);
/// assert_eq!(h.max(), Some(Duration::from_millis(100)));
/// ```
///
/// ```
/// use std::time::Duration;
/// use warden_metrics::LatencyHistogram;
///
/// let mut h = LatencyHistogram::new();
/// for ms in 1..=100 {
///     h.record(Duration::from_millis(ms));
/// }
/// assert_eq!(h.count(), 100);
/// let p95 = h.quantile(0.95).as_secs_f64() * 1e3;
/// assert!((p95 - 95.0).abs() / 95.0 < 0.01, "{p95}"); // within 1%
/// let mut other = LatencyHistogram::new();
/// other.record(Duration::from_millis(500));
/// h.merge(&other); // mergeable: per-thread or per-minute histograms add up
/// assert_eq!(h.max(), Some(Duration::from_millis(500)));
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct LatencyHistogram {
    /// Counts of buckets `offset ..= offset + counts.len() - 1`.
    counts: Vec<u64>,
    offset: i32,
    count: u64,
    sum_nanos: u128,
    min_nanos: u64,
    max_nanos: u64,
}

impl fmt::Debug for LatencyHistogram {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LatencyHistogram")
            .field("count", &self.count)
            .field("min", &self.min())
            .field("p50", &self.quantile(0.5))
            .field("p99", &self.quantile(0.99))
            .field("max", &self.max())
            .finish()
    }
}

impl Default for LatencyHistogram {
    fn default() -> Self {
        LatencyHistogram {
            counts: Vec::new(),
            offset: 0,
            count: 0,
            sum_nanos: 0,
            min_nanos: u64::MAX,
            max_nanos: 0,
        }
    }
}

impl LatencyHistogram {
    /// An empty histogram (it allocates on its first sample).
    pub fn new() -> Self {
        Self::default()
    }

    /// Records one duration.
    #[inline]
    pub fn record(&mut self, duration: Duration) {
        let nanos = duration
            .as_secs()
            .saturating_mul(1_000_000_000)
            .saturating_add(u64::from(duration.subsec_nanos()))
            .max(1);
        let index = index_of(nanos).clamp(MIN_INDEX, MAX_INDEX);
        // A negative slot wraps to a huge one: one comparison covers both
        // sides and the empty histogram.
        let mut slot = index.wrapping_sub(self.offset) as usize;
        if slot >= self.counts.len() {
            self.grow_to(index);
            slot = (index - self.offset) as usize;
        }
        if let Some(count) = self.counts.get_mut(slot) {
            *count += 1;
        }
        self.min_nanos = self.min_nanos.min(nanos);
        self.max_nanos = self.max_nanos.max(nanos);
        self.count += 1;
        self.sum_nanos += u128::from(nanos);
    }

    /// Makes room for bucket `index`, with some slack on the growing side.
    #[cold]
    fn grow_to(&mut self, index: i32) {
        const SLACK: i32 = 32;
        if self.counts.is_empty() {
            let lo = (index - SLACK).max(MIN_INDEX);
            let hi = (index + SLACK).min(MAX_INDEX);
            self.offset = lo;
            self.counts = vec![0; (hi - lo + 1) as usize];
            return;
        }
        let lo = self.offset;
        let hi = self.offset + self.counts.len() as i32 - 1;
        if (lo..=hi).contains(&index) {
            // Already covered (merges ask for both ends of another's range).
            return;
        }
        let new_lo = if index < lo {
            (index - SLACK).max(MIN_INDEX)
        } else {
            lo
        };
        let new_hi = if index > hi {
            (index + SLACK).min(MAX_INDEX)
        } else {
            hi
        };
        let mut counts = vec![0; (new_hi - new_lo + 1) as usize];
        let start = (lo - new_lo) as usize;
        counts[start..start + self.counts.len()].copy_from_slice(&self.counts);
        self.counts = counts;
        self.offset = new_lo;
    }

    /// Adds every sample of `other` to this histogram, exactly.
    pub fn merge(&mut self, other: &LatencyHistogram) {
        if other.count == 0 {
            return;
        }
        let other_hi = other.offset + other.counts.len() as i32 - 1;
        self.grow_to(other.offset);
        self.grow_to(other_hi);
        for (i, &c) in other.counts.iter().enumerate() {
            let index = other.offset + i as i32;
            self.counts[(index - self.offset) as usize] += c;
        }
        self.min_nanos = self.min_nanos.min(other.min_nanos);
        self.max_nanos = self.max_nanos.max(other.max_nanos);
        self.count += other.count;
        self.sum_nanos += other.sum_nanos;
    }

    /// Empties the histogram, keeping its buckets' memory for reuse.
    pub(crate) fn reset(&mut self) {
        self.counts.fill(0);
        self.count = 0;
        self.sum_nanos = 0;
        self.min_nanos = u64::MAX;
        self.max_nanos = 0;
    }

    /// The cumulative counts at each of `limits` (ascending), in one pass:
    /// `out[i]` as [`count_at_most`](Self::count_at_most)`(limits[i])`.
    pub(crate) fn cumulative_counts(&self, limits_nanos: &[u64], out: &mut [u64]) {
        let mut buckets = self
            .counts
            .iter()
            .enumerate()
            .map(|(i, &c)| (self.offset + i as i32, c))
            .peekable();
        let mut total = 0;
        for (limit, slot) in limits_nanos.iter().zip(out.iter_mut()) {
            if self.count == 0 || *limit == 0 {
                *slot = 0;
                continue;
            }
            if *limit >= self.max_nanos {
                *slot = self.count;
                continue;
            }
            let index = index_of(*limit).clamp(MIN_INDEX, MAX_INDEX);
            let straddled_in = *limit as f64 >= representative(index);
            while let Some(&(bucket, c)) = buckets.peek() {
                if bucket < index || (bucket == index && straddled_in) {
                    total += c;
                    buckets.next();
                } else {
                    break;
                }
            }
            *slot = total;
        }
    }

    /// How many durations were recorded.
    pub fn count(&self) -> u64 {
        self.count
    }

    /// The shortest, exactly.
    pub fn min(&self) -> Option<Duration> {
        (self.count > 0).then(|| Duration::from_nanos(self.min_nanos))
    }

    /// The longest, exactly.
    pub fn max(&self) -> Option<Duration> {
        (self.count > 0).then(|| Duration::from_nanos(self.max_nanos))
    }

    /// The mean, exactly (to the nanosecond).
    pub fn mean(&self) -> Option<Duration> {
        (self.count > 0)
            .then(|| Duration::from_nanos((self.sum_nanos / u128::from(self.count)) as u64))
    }

    /// The sum of every duration.
    pub fn sum(&self) -> Duration {
        Duration::from_nanos(u64::try_from(self.sum_nanos).unwrap_or(u64::MAX))
    }

    /// The `q` quantile (`q` in 0..=1, clamped): the value at rank
    /// `ceil(q · count)`, within 1% relative error. Zero for an empty
    /// histogram.
    pub fn quantile(&self, q: f64) -> Duration {
        if self.count == 0 {
            return Duration::ZERO;
        }
        let q = if q.is_nan() { 0.5 } else { q.clamp(0.0, 1.0) };
        let rank = ((q * self.count as f64).ceil() as u64).clamp(1, self.count);
        let mut seen = 0;
        for (i, &c) in self.counts.iter().enumerate() {
            seen += c;
            if seen >= rank {
                let value = representative(self.offset + i as i32);
                let clamped = value.clamp(self.min_nanos as f64, self.max_nanos as f64);
                return Duration::from_nanos(clamped.round() as u64);
            }
        }
        Duration::from_nanos(self.max_nanos)
    }

    /// The non-empty buckets as OpenTelemetry's exponential histogram has
    /// them at [`SCALE`]: `(index, count)`, bucket `index` holding values in
    /// `(2^(index/64), 2^((index+1)/64)]` nanoseconds.
    pub fn buckets(&self) -> impl Iterator<Item = (i32, u64)> + '_ {
        self.counts
            .iter()
            .enumerate()
            .filter(|&(_, &c)| c > 0)
            .map(|(i, &c)| (self.offset + i as i32, c))
    }

    /// How many samples were at most `limit` — exactly, except for samples
    /// in the one bucket `limit` falls in, which count as at most `limit`
    /// when `limit` is past the bucket's middle (so within 1.1% of `limit`):
    /// what a classic histogram's cumulative `le` bucket holds.
    ///
    /// ```
    /// use std::time::Duration;
    /// use warden_metrics::LatencyHistogram;
    ///
    /// let mut h = LatencyHistogram::new();
    /// for ms in [1, 2, 3, 50, 900] {
    ///     h.record(Duration::from_millis(ms));
    /// }
    /// assert_eq!(h.count_at_most(Duration::from_millis(10)), 3);
    /// assert_eq!(h.count_at_most(Duration::from_secs(1)), 5);
    /// assert_eq!(h.count_at_most(Duration::from_micros(10)), 0);
    /// ```
    pub fn count_at_most(&self, limit: Duration) -> u64 {
        if self.count == 0 {
            return 0;
        }
        let nanos = limit
            .as_secs()
            .saturating_mul(1_000_000_000)
            .saturating_add(u64::from(limit.subsec_nanos()));
        if nanos == 0 {
            return 0;
        }
        if nanos >= self.max_nanos {
            return self.count;
        }
        let index = index_of(nanos).clamp(MIN_INDEX, MAX_INDEX);
        let straddled_in = nanos as f64 >= representative(index);
        let mut total = 0;
        for (i, &c) in self.counts.iter().enumerate() {
            let bucket = self.offset + i as i32;
            if bucket < index || (bucket == index && straddled_in) {
                total += c;
            } else {
                break;
            }
        }
        total
    }

    /// The heap memory the buckets use, in bytes.
    pub fn heap_bytes(&self) -> usize {
        self.counts.capacity() * std::mem::size_of::<u64>()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_boundary_table_is_two_to_the_k_over_64() {
        for (k, &m) in MANTISSA.iter().enumerate().take(64) {
            assert_eq!(
                m,
                2f64.powf(k as f64 / 64.0).to_bits() & ((1 << 52) - 1),
                "k = {k}"
            );
        }
    }

    #[test]
    fn indexes_match_the_logarithm_definition() {
        for nanos in (1..5_000u64).chain([1_000_000, 3_600_000_000_000, u64::MAX / 3]) {
            let expected = ((nanos as f64).log2() * 64.0).ceil() as i32 - 1;
            let got = index_of(nanos);
            // The float logarithm can itself be off by one right at a
            // boundary; the exact test below checks those.
            assert!((got - expected).abs() <= 1, "{nanos}: {got} vs {expected}");
            let lower = 2f64.powf(got as f64 / 64.0);
            let upper = 2f64.powf((got + 1) as f64 / 64.0);
            assert!(
                lower < nanos as f64 * (1.0 + 1e-12) && nanos as f64 <= upper * (1.0 + 1e-12),
                "{nanos} not in bucket {got}"
            );
        }
        assert_eq!(index_of(1), -1);
        assert_eq!(index_of(2), 63);
        assert_eq!(index_of(1024), 10 * 64 - 1);
        assert_eq!(index_of(1000), MIN_INDEX);
        assert_eq!(index_of(3_600_000_000_000), MAX_INDEX);
    }

    #[test]
    fn memory_stays_bounded_over_the_whole_range() {
        let mut h = LatencyHistogram::new();
        h.record(Duration::from_nanos(1));
        h.record(Duration::from_secs(100_000));
        h.record(Duration::from_micros(1));
        h.record(Duration::from_secs(3600));
        assert!(h.heap_bytes() <= 16 * 1024, "{}", h.heap_bytes());
        assert_eq!(h.count(), 4);
        assert_eq!(h.min(), Some(Duration::from_nanos(1)));
        assert_eq!(
            h.quantile(0.0),
            Duration::from_nanos(1).max(h.quantile(0.0))
        );
    }

    #[test]
    fn empty_and_single_sample_histograms() {
        let h = LatencyHistogram::new();
        assert_eq!(
            (h.count(), h.quantile(0.5), h.min(), h.mean()),
            (0, Duration::ZERO, None, None)
        );
        let mut one = LatencyHistogram::new();
        one.record(Duration::from_millis(7));
        assert_eq!(
            one.quantile(0.5),
            Duration::from_millis(7),
            "clamped to the exact min and max"
        );
        assert_eq!(one.quantile(f64::NAN), Duration::from_millis(7));
    }
}
