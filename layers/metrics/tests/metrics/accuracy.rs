//! The sketch against exact quantiles: 1,000,000 samples from log-normal,
//! bimodal and Pareto distributions; merges against the histogram of the
//! union; property tests on random sample sets.

use std::time::Duration;

use proptest::prelude::*;
use warden_metrics::LatencyHistogram;

/// xorshift64*: deterministic, dependency-free samples.
struct Rng(u64);

impl Rng {
    fn uniform(&mut self) -> f64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        let x = self.0.wrapping_mul(0x2545_f491_4f6c_dd1d);
        ((x >> 11) as f64 + 0.5) / (1u64 << 53) as f64
    }

    fn normal(&mut self) -> f64 {
        let (u, v) = (self.uniform(), self.uniform());
        (-2.0 * u.ln()).sqrt() * (2.0 * std::f64::consts::PI * v).cos()
    }
}

/// Nanoseconds, kept within the guaranteed range of 1 µs to 1 hour.
fn clamp_ns(x: f64) -> u64 {
    x.clamp(1_000.0, 3.6e12) as u64
}

fn check(name: &str, samples: &mut [u64]) {
    let mut h = LatencyHistogram::new();
    for &s in samples.iter() {
        h.record(Duration::from_nanos(s));
    }
    samples.sort_unstable();
    let n = samples.len();
    for q in [0.5, 0.9, 0.95, 0.99, 0.999] {
        let rank = ((q * n as f64).ceil() as usize).clamp(1, n);
        let exact = samples[rank - 1] as f64;
        let got = h.quantile(q).as_nanos() as f64;
        let error = (got - exact).abs() / exact;
        assert!(
            error <= 0.01,
            "{name} p{}: exact {exact} ns, sketch {got} ns, error {:.4}%",
            q * 100.0,
            error * 100.0
        );
    }
    assert_eq!(h.count(), n as u64);
    assert_eq!(h.min(), Some(Duration::from_nanos(samples[0])));
    assert_eq!(h.max(), Some(Duration::from_nanos(samples[n - 1])));
    assert!(h.heap_bytes() <= 16 * 1024);
}

const N: usize = 1_000_000;

#[test]
fn log_normal() {
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    // Median 20 ms, sigma 1.2: a long right tail.
    let mut samples: Vec<u64> = (0..N)
        .map(|_| clamp_ns((20e6f64.ln() + 1.2 * rng.normal()).exp()))
        .collect();
    check("log-normal", &mut samples);
}

#[test]
fn bimodal() {
    let mut rng = Rng(42);
    // 80% cache hits around 300 µs, 20% misses around 150 ms.
    let mut samples: Vec<u64> = (0..N)
        .map(|_| {
            if rng.uniform() < 0.8 {
                clamp_ns(300e3 * (0.3 * rng.normal()).exp())
            } else {
                clamp_ns(150e6 * (0.4 * rng.normal()).exp())
            }
        })
        .collect();
    check("bimodal", &mut samples);
}

#[test]
fn pareto() {
    let mut rng = Rng(7);
    // x_m = 2 ms, alpha = 1.3: heavy tail reaching seconds and minutes.
    let mut samples: Vec<u64> = (0..N)
        .map(|_| clamp_ns(2e6 / rng.uniform().powf(1.0 / 1.3)))
        .collect();
    check("pareto", &mut samples);
}

#[test]
fn merged_histograms_equal_the_histogram_of_the_union() {
    let mut rng = Rng(99);
    let samples: Vec<u64> = (0..100_000)
        .map(|_| clamp_ns((1e6f64.ln() + 2.0 * rng.normal()).exp()))
        .collect();
    let mut whole = LatencyHistogram::new();
    let mut parts = vec![LatencyHistogram::new(); 5];
    for (i, &s) in samples.iter().enumerate() {
        whole.record(Duration::from_nanos(s));
        parts[i % 5].record(Duration::from_nanos(s));
    }
    let mut merged = LatencyHistogram::new();
    for part in &parts {
        merged.merge(part);
    }
    assert_eq!(
        merged.buckets().collect::<Vec<_>>(),
        whole.buckets().collect::<Vec<_>>()
    );
    for q in [0.0, 0.25, 0.5, 0.95, 0.99, 1.0] {
        assert_eq!(merged.quantile(q), whole.quantile(q));
    }
    assert_eq!(
        (merged.count(), merged.sum(), merged.min(), merged.max()),
        (whole.count(), whole.sum(), whole.min(), whole.max())
    );
}

proptest! {
    #[test]
    fn any_quantile_of_any_sample_set_is_within_one_percent(
        samples in prop::collection::vec(1_000u64..3_600_000_000_000, 1..400),
        q in 0.0f64..=1.0,
    ) {
        let mut h = LatencyHistogram::new();
        for &s in &samples {
            h.record(Duration::from_nanos(s));
        }
        let mut sorted = samples.clone();
        sorted.sort_unstable();
        let rank = ((q * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
        let exact = sorted[rank - 1] as f64;
        let got = h.quantile(q).as_nanos() as f64;
        prop_assert!((got - exact).abs() / exact <= 0.01, "exact {} got {}", exact, got);
    }

    #[test]
    fn merge_is_exact_and_order_free(
        a in prop::collection::vec(1u64..10_000_000_000_000, 0..200),
        b in prop::collection::vec(1u64..10_000_000_000_000, 0..200),
    ) {
        let fill = |xs: &[u64]| {
            let mut h = LatencyHistogram::new();
            xs.iter().for_each(|&x| h.record(Duration::from_nanos(x)));
            h
        };
        let (ha, hb) = (fill(&a), fill(&b));
        let mut ab = ha.clone();
        ab.merge(&hb);
        let mut ba = hb.clone();
        ba.merge(&ha);
        let union = fill(&[a.clone(), b.clone()].concat());
        prop_assert_eq!(ab.buckets().collect::<Vec<_>>(), union.buckets().collect::<Vec<_>>());
        prop_assert_eq!(ba.buckets().collect::<Vec<_>>(), union.buckets().collect::<Vec<_>>());
        prop_assert_eq!(ab.count(), union.count());
        prop_assert_eq!(ab.min(), union.min());
        prop_assert_eq!(ab.max(), union.max());
        prop_assert!(ab.heap_bytes() <= 16 * 1024);
    }
}
