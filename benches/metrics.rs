//! The quantile sketch's recording cost (and, as the issue grows, the
//! metrics layer's).
//!
//! `cargo bench --bench metrics` (figures in BENCHMARKS.md).

use std::hint::black_box;
use std::time::Duration;

use std::time::Instant;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use tracing::Dispatch;
use tracing_subscriber::prelude::*;
use warden::metrics::{LatencyHistogram, MetricsLayer};

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

fn lifecycle() {
    let span = tracing::info_span!("checkout");
    let _entered = black_box(&span).enter();
}

fn spans(c: &mut Criterion) {
    let mut g = c.benchmark_group("metrics/span_lifecycle");
    let alone = Dispatch::new(tracing_subscriber::registry());
    let with = Dispatch::new(tracing_subscriber::registry().with(MetricsLayer::new()));
    for (name, dispatch) in [("registry_alone", &alone), ("registry+metrics", &with)] {
        tracing::dispatcher::with_default(dispatch, || {
            g.bench_function(name, |b| b.iter(lifecycle));
        });
    }
    g.finish();
}

/// Spans per second with one thread, then two, recording the same
/// operation into one layer: the second must not wait on the first.
fn scaling(c: &mut Criterion) {
    const PER_THREAD: u64 = 200_000;
    let mut g = c.benchmark_group("metrics/threads");
    g.sample_size(10);
    let alone = Dispatch::new(tracing_subscriber::registry());
    let with = Dispatch::new(tracing_subscriber::registry().with(MetricsLayer::new()));
    for (stack, dispatch) in [("registry_alone", &alone), ("registry+metrics", &with)] {
        for threads in [1u64, 2] {
            g.throughput(Throughput::Elements(PER_THREAD * threads));
            g.bench_function(format!("{stack}/{threads}_threads"), |b| {
                b.iter_custom(|iterations| {
                    let started = Instant::now();
                    std::thread::scope(|scope| {
                        for _ in 0..threads {
                            let dispatch = dispatch.clone();
                            scope.spawn(move || {
                                tracing::dispatcher::with_default(&dispatch, || {
                                    for _ in 0..iterations * PER_THREAD {
                                        lifecycle();
                                    }
                                })
                            });
                        }
                    });
                    started.elapsed()
                })
            });
        }
    }
    g.finish();
}

/// One reading of each clock a span could be timed with.
fn clocks(c: &mut Criterion) {
    let mut g = c.benchmark_group("clock");
    g.bench_function("std_instant_now", |b| b.iter(std::time::Instant::now));
    g.bench_function("std_system_time_now", |b| {
        b.iter(std::time::SystemTime::now)
    });
    g.bench_function("warden_moment_now", |b| b.iter(warden::core::Moment::now));
    g.bench_function("warden_wall_now", |b| {
        b.iter(warden::core::internal::wall_now)
    });
    g.finish();
}

criterion_group!(benches, record, spans, scaling, clocks);
criterion_main!(benches);
