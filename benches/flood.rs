//! Costs of the flood limit (issue 26), each beside its baseline in the same
//! run: an event under the limit against the same stack without the limit,
//! and an event the limit suppresses.
//!
//! `cargo bench --bench flood` (figures in BENCHMARKS.md).

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use tracing::Dispatch;
use tracing_subscriber::prelude::*;
use warden::flood::{FloodLimit, Rate};

mod common;

use common::Sink;

fn event() {
    tracing::info!(attempt = black_box(3u64), "retrying");
}

fn flood(c: &mut Criterion) {
    let without = Dispatch::new(tracing_subscriber::registry().with(Sink));
    // A limit no event of the bench reaches.
    let under = Dispatch::new(
        tracing_subscriber::registry()
            .with(
                FloodLimit::builder()
                    .rate(Rate::new(u32::MAX, u32::MAX))
                    .build(),
            )
            .with(Sink),
    );
    // One event a second: every event of the bench but the first is
    // suppressed.
    let over = Dispatch::new(
        tracing_subscriber::registry()
            .with(FloodLimit::builder().rate(Rate::new(1, 1)).build())
            .with(Sink),
    );
    let mut g = c.benchmark_group("flood");
    let cases = [
        ("event/without_limit", &without),
        ("event/under_limit", &under),
        ("event/suppressed", &over),
    ];
    common::bench_each(&mut g, &cases, event);
    g.finish();
}

criterion_group!(benches, flood);
criterion_main!(benches);
