//! Costs of the correlation layer, each beside its baseline in the same run.
//!
//! `cargo bench --bench correlation` (figures in BENCHMARKS.md).

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion};
use tracing::{info_span, Dispatch};
use tracing_subscriber::layer::Context;
use tracing_subscriber::prelude::*;
use tracing_subscriber::registry::LookupSpan;
use tracing_subscriber::Layer;
use warden::core::CorrelationId;
use warden::correlation::CorrelationLayer;

fn lifecycle() {
    let span = info_span!("request");
    let _entered = black_box(&span).enter();
}

fn spans(c: &mut Criterion) {
    let alone = Dispatch::new(tracing_subscriber::registry());
    let with = Dispatch::new(tracing_subscriber::registry().with(CorrelationLayer::default()));
    let mut g = c.benchmark_group("span_lifecycle");
    for (name, dispatch) in [("registry_alone", &alone), ("registry+correlation", &with)] {
        tracing::dispatcher::with_default(dispatch, || {
            g.bench_function(format!("root/{name}"), |b| b.iter(lifecycle));
            let parent = info_span!("parent");
            let _p = parent.enter();
            g.bench_function(format!("child/{name}"), |b| b.iter(lifecycle));
        });
    }
    g.finish();
}

/// Finds each event's span and, if `read`, its correlation ID: the
/// difference between the two is the cost of the lookup.
struct Reader {
    read: bool,
}

impl<S: tracing::Subscriber + for<'a> LookupSpan<'a>> Layer<S> for Reader {
    fn on_event(&self, event: &tracing::Event<'_>, ctx: Context<'_, S>) {
        if let Some(span) = ctx.event_span(event) {
            if self.read {
                black_box(span.extensions().get::<CorrelationId>().is_some());
            } else {
                black_box(span.id());
            }
        }
    }
}

fn lookup(c: &mut Criterion) {
    let mut g = c.benchmark_group("event_id_lookup");
    for (name, read) in [("span_only", false), ("span+id", true)] {
        let dispatch = Dispatch::new(
            tracing_subscriber::registry()
                .with(CorrelationLayer::default())
                .with(Reader { read }),
        );
        tracing::dispatcher::with_default(&dispatch, || {
            let span = info_span!("request");
            let _entered = span.enter();
            g.bench_function(name, |b| b.iter(|| tracing::info!("event")));
        });
    }
    g.finish();
}

criterion_group!(benches, spans, lookup);
criterion_main!(benches);
