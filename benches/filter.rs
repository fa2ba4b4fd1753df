//! The cost of log directives that can change while the stack runs (issue
//! 26, part 4), each beside its baselines in the same run: an enabled
//! event under fixed directives (`StackFilter`), under the same directives
//! made reloadable (`StackFilter::reloadable`), and under
//! `tracing_subscriber::reload` wrapping the same filter; for directives
//! of targets and levels (`Targets`) and for span-scoped ones
//! (`EnvFilter`, per event inside a span and per span with its event).
//!
//! `cargo bench --bench filter` (figures in BENCHMARKS.md).

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use tracing::Dispatch;
use tracing_subscriber::filter::{EnvFilter, Targets};
use tracing_subscriber::prelude::*;
use tracing_subscriber::{Layer, reload};
use warden::StackFilter;

mod common;

use common::Sink;

fn event() {
    tracing::info!(target: "app::db", rows = black_box(3u64), "query");
}

/// The three filters for `directives`, as dispatchers.
fn stacks(
    directives: &str,
    reloaded: impl Layer<tracing_subscriber::Registry> + Send + Sync,
) -> [Dispatch; 3] {
    let fixed = StackFilter::parse(directives).unwrap().logs_only();
    let (live, _handle) = StackFilter::parse(directives)
        .unwrap()
        .logs_only()
        .reloadable();
    let (reload, _reload_handle) = reload::Layer::new(reloaded);
    [
        Dispatch::new(tracing_subscriber::registry().with(fixed).with(Sink)),
        Dispatch::new(tracing_subscriber::registry().with(live).with(Sink)),
        Dispatch::new(tracing_subscriber::registry().with(reload).with(Sink)),
    ]
}

fn filter(c: &mut Criterion) {
    let mut g = c.benchmark_group("filter");
    {
        let directives = "warn,app=info";
        let [fixed, live, reload] = stacks(directives, directives.parse::<Targets>().unwrap());
        let cases = [
            ("targets/fixed", &fixed),
            ("targets/reloadable", &live),
            ("targets/tracing_reload", &reload),
        ];
        common::bench_each(&mut g, &cases, event);
    }
    {
        // Span-scoped: an `EnvFilter`, asked on every span callback.
        let directives = "warn,app=info,[checkout]=debug";
        let [fixed, live, reload] =
            stacks(directives, EnvFilter::builder().parse(directives).unwrap());
        // Per event, inside a span the directives match; then per span
        // (open, enter, exit, close: each a callback the `EnvFilter` takes)
        // with its event.
        let cases = [
            ("env/fixed", &fixed),
            ("env/reloadable", &live),
            ("env/tracing_reload", &reload),
        ];
        for (name, dispatch) in cases {
            tracing::dispatcher::with_default(dispatch, || {
                let _checkout = tracing::info_span!("checkout").entered();
                g.bench_function(name, |b| b.iter(event));
            });
        }
        let in_span = || tracing::info_span!("request").in_scope(event);
        let cases = [
            ("env_span/fixed", &fixed),
            ("env_span/reloadable", &live),
            ("env_span/tracing_reload", &reload),
        ];
        common::bench_each(&mut g, &cases, in_span);
    }
    g.finish();
}

criterion_group!(benches, filter);
criterion_main!(benches);
