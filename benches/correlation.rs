//! Costs of the correlation layer, each beside its baseline in the same run.
//!
//! `cargo bench --bench correlation` (figures in BENCHMARKS.md).

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use tracing::{Dispatch, info_span};
use tracing_subscriber::Layer;
use tracing_subscriber::layer::Context;
use tracing_subscriber::prelude::*;
use tracing_subscriber::registry::LookupSpan;
use warden::correlation::CorrelationLayer;

mod common;
use common::ExtensionFloor;

fn lifecycle() {
    let span = info_span!("request");
    let _entered = black_box(&span).enter();
}

fn spans(c: &mut Criterion) {
    let alone = Dispatch::new(tracing_subscriber::registry());
    let floor = Dispatch::new(tracing_subscriber::registry().with(ExtensionFloor));
    let with = Dispatch::new(tracing_subscriber::registry().with(CorrelationLayer::default()));
    let mut g = c.benchmark_group("span_lifecycle");
    for (name, dispatch) in [
        ("registry_alone", &alone),
        ("registry+u64_extension", &floor),
        ("registry+correlation", &with),
    ] {
        tracing::dispatcher::with_default(dispatch, || {
            g.bench_function(format!("root/{name}"), |b| b.iter(lifecycle));
            let parent = info_span!("parent");
            let _p = parent.enter();
            g.bench_function(format!("child/{name}"), |b| b.iter(lifecycle));
        });
    }
    g.finish();
}

/// What a layer reads for each event, to price the ID lookup by difference.
#[derive(Clone, Copy)]
enum Read {
    /// The event's span only.
    Span,
    /// The span, then the ID (taking the span's extensions lock for it).
    SpanAndId,
    /// The span and another extension, as a formatter reads span fields.
    SpanAndOther,
    /// The same, and the ID under the same lock (what warden-json does).
    SpanOtherAndId,
}

struct Reader(Read);

impl<S: tracing::Subscriber + for<'a> LookupSpan<'a>> Layer<S> for Reader {
    fn on_event(&self, event: &tracing::Event<'_>, ctx: Context<'_, S>) {
        let Some(span) = ctx.event_span(event) else {
            return;
        };
        match self.0 {
            Read::Span => {
                black_box(span.id());
            }
            Read::SpanAndId => {
                black_box(warden::core::correlation_id_in(&span.extensions()).is_some());
            }
            Read::SpanAndOther => {
                black_box(span.extensions().get::<u64>().is_some());
            }
            Read::SpanOtherAndId => {
                let extensions = span.extensions();
                black_box(extensions.get::<u64>().is_some());
                black_box(warden::core::correlation_id_in(&extensions).is_some());
            }
        }
    }
}

fn lookup(c: &mut Criterion) {
    let mut g = c.benchmark_group("event_id_lookup");
    for (name, read) in [
        ("span_only", Read::Span),
        ("span+id", Read::SpanAndId),
        ("span+other_extension", Read::SpanAndOther),
        ("span+other_extension+id", Read::SpanOtherAndId),
    ] {
        let dispatch = Dispatch::new(
            tracing_subscriber::registry()
                .with(CorrelationLayer::default())
                .with(ExtensionFloor)
                .with(Reader(read)),
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
