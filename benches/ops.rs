//! The cost of a `/metrics` scrape: 1,000 operations rendered in
//! Prometheus' text format and in OpenMetrics, and the allocations each
//! scrape makes.
//!
//! `cargo bench --bench ops` (figures in BENCHMARKS.md).

use std::alloc::System;
use std::time::Duration;

use criterion::{Criterion, criterion_group, criterion_main};
use stats_alloc::{INSTRUMENTED_SYSTEM, Region, StatsAlloc};
use tracing_subscriber::prelude::*;
use warden::metrics::{ExpositionFormat, MetricsLayer, PrometheusEncoder, Window};

#[global_allocator]
static GLOBAL: &StatsAlloc<System> = &INSTRUMENTED_SYSTEM;

/// A layer that has seen 1,000 operations, 20 spans each, with errors.
fn thousand_operations() -> MetricsLayer {
    let metrics = MetricsLayer::builder()
        .operation_field("http.route")
        .max_operations(1_000)
        .build();
    let dispatch = tracing::Dispatch::new(tracing_subscriber::registry().with(metrics.clone()));
    tracing::dispatcher::with_default(&dispatch, || {
        for op in 0..1_000 {
            let route = format!("/api/v1/resource{op}/{{id}}");
            for i in 0..20 {
                let span = tracing::info_span!(
                    "request",
                    http.route = route.as_str(),
                    error = tracing::field::Empty,
                    error.code = tracing::field::Empty
                );
                if i % 7 == 0 {
                    span.record("error", true);
                    span.record("error.code", 500u64 + (i % 3) as u64);
                }
                drop(span);
            }
        }
    });
    metrics
}

fn scrape(c: &mut Criterion) {
    let metrics = thousand_operations();
    let encoder = PrometheusEncoder::new();
    let mut g = c.benchmark_group("ops/metrics_1000_operations");
    let mut out = String::new();
    encoder.encode(&metrics, ExpositionFormat::Prometheus, &mut out);
    assert_eq!(
        out.matches("warden_operation_calls_total{").count(),
        1_000,
        "every operation is rendered"
    );
    let capacity = out.len() + 4096;
    for (name, format) in [
        ("prometheus", ExpositionFormat::Prometheus),
        ("openmetrics", ExpositionFormat::OpenMetrics),
    ] {
        // The whole scrape: snapshots of the layer, then the text.
        g.bench_function(format!("{name}/scrape"), |b| {
            let mut out = String::with_capacity(capacity);
            b.iter(|| {
                out.clear();
                encoder.encode(&metrics, format, &mut out);
                out.len()
            })
        });
        // The text alone, from snapshots taken once.
        let recent = metrics.snapshot(Window::Recent);
        let total = metrics.snapshot(Window::SinceStart);
        g.bench_function(format!("{name}/render"), |b| {
            let mut out = String::with_capacity(capacity);
            b.iter(|| {
                out.clear();
                encoder.encode_snapshots(&recent, &total, format, &mut out);
                out.len()
            })
        });
    }
    // The baseline: the `prometheus` crate's text encoder over the same
    // shape (a histogram with the same buckets, calls and errors counters,
    // an in-flight gauge, for 1,000 label values; no summary, which that
    // crate does not compute).
    let registry = baseline_registry();
    g.bench_function("baseline_prometheus_crate/scrape", |b| {
        use prometheus::Encoder;
        let encoder = prometheus::TextEncoder::new();
        let mut out = Vec::with_capacity(capacity);
        b.iter(|| {
            out.clear();
            let families = registry.gather();
            encoder.encode(&families, &mut out).unwrap();
            out.len()
        })
    });
    g.finish();

    // Allocations per scrape, beside the timing (printed for BENCHMARKS.md).
    let recent = metrics.snapshot(Window::Recent);
    let total = metrics.snapshot(Window::SinceStart);
    let mut out = String::with_capacity(capacity);
    let region = Region::new(GLOBAL);
    encoder.encode_snapshots(&recent, &total, ExpositionFormat::Prometheus, &mut out);
    let render = region.change();
    out.clear();
    let region = Region::new(GLOBAL);
    encoder.encode(&metrics, ExpositionFormat::Prometheus, &mut out);
    let whole = region.change();
    eprintln!(
        "allocations per scrape of 1,000 operations ({} bytes of text): render from snapshots {} ({} bytes), whole scrape {} ({} bytes)",
        out.len(),
        render.allocations + render.reallocations,
        render.bytes_allocated,
        whole.allocations + whole.reallocations,
        whole.bytes_allocated
    );
}

/// The `prometheus` crate's registry with 1,000 operations.
fn baseline_registry() -> prometheus::Registry {
    let registry = prometheus::Registry::new();
    let latency = prometheus::HistogramVec::new(
        prometheus::HistogramOpts::new("operation_latency_seconds", "latency")
            .buckets(warden::metrics::DEFAULT_BUCKETS.to_vec()),
        &["operation"],
    )
    .unwrap();
    let calls = prometheus::IntCounterVec::new(
        prometheus::Opts::new("operation_calls_total", "calls"),
        &["operation"],
    )
    .unwrap();
    let errors = prometheus::IntCounterVec::new(
        prometheus::Opts::new("operation_errors_total", "errors"),
        &["operation", "code"],
    )
    .unwrap();
    let in_flight = prometheus::IntGaugeVec::new(
        prometheus::Opts::new("operation_in_flight", "in flight"),
        &["operation"],
    )
    .unwrap();
    for op in 0..1_000 {
        let route = format!("/api/v1/resource{op}/{{id}}");
        for i in 0..20u64 {
            latency
                .with_label_values(&[&route])
                .observe(1e-6 * (i + 1) as f64);
            calls.with_label_values(&[&route]).inc();
            if i % 7 == 0 {
                errors
                    .with_label_values(&[route.as_str(), &(500 + i % 3).to_string()])
                    .inc();
            }
        }
        in_flight.with_label_values(&[&route]).set(0);
    }
    registry.register(Box::new(latency)).unwrap();
    registry.register(Box::new(calls)).unwrap();
    registry.register(Box::new(errors)).unwrap();
    registry.register(Box::new(in_flight)).unwrap();
    registry
}

criterion_group! {
    name = benches;
    config = Criterion::default().measurement_time(Duration::from_secs(5));
    targets = scrape
}
criterion_main!(benches);
