//! The cost of holding a request's DEBUG lines for its failure (issue 26,
//! part 3), beside its baseline in the same run: `init()`'s stack (flood
//! limit, PII gate, correlation, metrics, JSON lines to a sink; no audit
//! store or exporter) running a request with ten DEBUG lines, with DEBUG
//! filtered out as today, and with the lines held (the request ends clean:
//! they are dropped). And a request that fails, for what writing them
//! costs; and ten DEBUG lines outside any request, for what the held level
//! costs the lines it does not hold.
//!
//! `cargo bench --bench request_lines`; instruction counts of the same
//! cases: `./scripts/instructions held/` (figures in BENCHMARKS.md).

use criterion::{Criterion, criterion_group, criterion_main};
use warden::request_lines::RequestLines;

mod common;

fn request_lines(c: &mut Criterion) {
    let mut g = c.benchmark_group("request_lines");
    // One stack at a time: tracing keeps one interest per call site for
    // all the dispatchers alive, so a DEBUG call site the held stack asks
    // about would be asked in the other stack too.
    let configs = [
        ("debug_filtered_out", None),
        ("debug_held", Some(RequestLines::builder())),
        (
            "debug_held_unsanitized",
            Some(RequestLines::builder().sanitize_held(false)),
        ),
    ];
    for (config, lines) in configs {
        let held = lines.is_some();
        let (dispatch, guard) = common::request_lines_stack(lines);
        let name = |case: &str| format!("{case}/{config}");
        tracing::dispatcher::with_default(&dispatch, || {
            if held {
                // What is measured is what it says: ten lines held, then
                // discarded.
                common::ten_debug_request(false);
                let stats = guard
                    .request_lines()
                    .map(RequestLines::stats)
                    .unwrap_or_default();
                assert_eq!((stats.held, stats.discarded), (10, 10), "{stats:?}");
            }
            g.bench_function(name("clean"), |b| {
                b.iter(|| common::ten_debug_request(false))
            });
            g.bench_function(name("failed"), |b| {
                b.iter(|| common::ten_debug_request(true))
            });
            // What the held level costs a DEBUG line outside any request:
            // asked and turned down, where it was never asked before.
            g.bench_function(name("outside"), |b| b.iter(common::ten_debug_outside));
        });
        drop(dispatch);
        drop(guard);
    }
    g.finish();
}

criterion_group!(benches, request_lines);
criterion_main!(benches);
