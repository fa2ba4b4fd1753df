//! The quantile sketch's recording cost (and, as the issue grows, the
//! metrics layer's).
//!
//! `cargo bench --bench metrics` (figures in BENCHMARKS.md).

use std::hint::black_box;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, Criterion};
use warden::metrics::LatencyHistogram;

fn record(c: &mut Criterion) {
    let mut g = c.benchmark_group("histogram");
    // Durations spread over four octaves, as one operation's latencies are.
    let durations: Vec<Duration> = (0..1024u64)
        .map(|i| Duration::from_nanos(1_000_000 + (i * 7_919 % 1024) * 14_000))
        .collect();
    let mut h = LatencyHistogram::new();
    let mut i = 0;
    g.bench_function("record", |b| {
        b.iter(|| {
            h.record(black_box(durations[i & 1023]));
            i += 1;
        })
    });
    // Baseline in the same run: adding to a plain counter array.
    let mut counts = [0u64; 1024];
    g.bench_function("baseline_counter_increment", |b| {
        b.iter(|| {
            counts[black_box(i & 1023)] += 1;
            i += 1;
        })
    });
    black_box(&counts);
    let other = h.clone();
    g.bench_function("merge_4_octaves", |b| {
        b.iter(|| h.clone().merge(black_box(&other)))
    });
    g.bench_function("p99", |b| b.iter(|| black_box(&h).quantile(0.99)));
    g.finish();
}

criterion_group!(benches, record);
criterion_main!(benches);
