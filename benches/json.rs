//! The JSON event format against `fmt::layer().json()`, in the same run,
//! on the same event and the same discarding writer.
//!
//! `cargo bench --bench json` (figures in BENCHMARKS.md).

use criterion::{Criterion, criterion_group, criterion_main};
use tracing::Dispatch;
use tracing_subscriber::prelude::*;

mod common;
use common::clean_event;

macro_rules! fmt_json {
    () => {
        tracing_subscriber::fmt::layer()
            .json()
            .with_writer(std::io::sink)
    };
}

macro_rules! warden_json {
    () => {
        warden::json::layer().with_writer(std::io::sink)
    };
}

fn stacks() -> [(&'static str, Dispatch); 3] {
    [
        (
            "fmt_json",
            Dispatch::new(tracing_subscriber::registry().with(fmt_json!())),
        ),
        (
            "warden_json",
            Dispatch::new(tracing_subscriber::registry().with(warden_json!())),
        ),
        (
            "warden_json+correlation",
            Dispatch::new(
                tracing_subscriber::registry()
                    .with(warden::correlation::CorrelationLayer::default())
                    .with(warden_json!()),
            ),
        ),
    ]
}

fn event(c: &mut Criterion) {
    let mut g = c.benchmark_group("json/event_4_fields");
    for (name, dispatch) in stacks() {
        tracing::dispatcher::with_default(&dispatch, || {
            g.bench_function(name, |b| b.iter(clean_event));
        });
    }
    g.finish();
}

fn event_in_spans(c: &mut Criterion) {
    let mut g = c.benchmark_group("json/event_in_2_spans");
    for (name, dispatch) in stacks() {
        tracing::dispatcher::with_default(&dispatch, || {
            let request = tracing::info_span!("request", method = "POST", path = "/api/v1/orders");
            let _r = request.enter();
            let handler = tracing::info_span!("handler", tenant = "acme", attempt = 1u64);
            let _h = handler.enter();
            g.bench_function(name, |b| b.iter(clean_event));
        });
    }
    g.finish();
}

criterion_group!(benches, event, event_in_spans);
criterion_main!(benches);
