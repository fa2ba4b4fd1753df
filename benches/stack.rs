//! The whole stack against its peers, in one run, on the same events and
//! spans:
//!
//! - `stack/event*`: the stack `warden::init()` installs (EnvFilter,
//!   correlation, PII gate, metrics, audit router passing non-audit
//!   events, warden-json), without OTLP, against `fmt::layer().json()`
//!   alone; both write to `io::sink`.
//! - `stack/span_exported`: a span (two fields, opened, entered, closed)
//!   exported by warden-otlp, against `tracing-opentelemetry` with the OTel
//!   SDK's batch span processor and the OTLP gRPC exporter; both send to
//!   the same real collector (`rotel-agent`, printing nothing).
//!   `warden_otlp_tls` is the same exporter over gRPC + TLS, through nginx
//!   terminating TLS in front of that collector.
//! - `stack/request_unit`: issue 16's unit of work (a root span with three
//!   fields, a child with two, three events of which one carries an email)
//!   through `fmt::layer().json()`, the warden stack, `fmt` json +
//!   `tracing-opentelemetry`, and the warden stack with OTLP export.
//! - `stack/span_lifecycle`: `MetricsLayer` and `CorrelationLayer` alone on
//!   a span's lifecycle, beside the registry alone.
//! - afterwards, the sustained rate: spans paced at fixed rates for 2 s
//!   each through warden-otlp, with the drops counted at each rate.
//!
//! `cargo bench --bench stack` (figures in BENCHMARKS.md).

use std::time::{Duration, Instant};

use criterion::{Criterion, criterion_group, criterion_main};
use opentelemetry::trace::TracerProvider as _;
use opentelemetry_otlp::WithExportConfig;
use tracing::Dispatch;
use tracing_subscriber::prelude::*;
use warden::otlp::Otlp;

mod common;

use common::{clean_event, request_unit, warden_stack};
use warden_test_support::collector;

fn fmt_json() -> Dispatch {
    Dispatch::new(
        tracing_subscriber::registry().with(
            tracing_subscriber::fmt::layer()
                .json()
                .with_writer(std::io::sink),
        ),
    )
}

fn events(c: &mut Criterion) {
    let (warden, _guard) = warden_stack();
    let stacks = [("fmt_json", fmt_json()), ("warden_stack", warden)];
    let mut g = c.benchmark_group("stack/event");
    for (name, dispatch) in &stacks {
        tracing::dispatcher::with_default(dispatch, || {
            g.bench_function(*name, |b| b.iter(clean_event));
        });
    }
    g.finish();
    let mut g = c.benchmark_group("stack/event_in_2_spans");
    for (name, dispatch) in &stacks {
        tracing::dispatcher::with_default(dispatch, || {
            let request = tracing::info_span!("request", method = "POST", path = "/api/v1/orders");
            let _r = request.enter();
            let handler = tracing::info_span!("handler", tenant = "acme", attempt = 1u64);
            let _h = handler.enter();
            g.bench_function(*name, |b| b.iter(clean_event));
        });
    }
    g.finish();
}

/// The span both exporters measure: two fields, opened, entered, closed.
fn span() {
    let span = tracing::info_span!("get_order", order_id = 98231u64, route = "/api/v1/orders");
    let _entered = span.enter();
}

fn spans(c: &mut Criterion) {
    let collector = collector::Collector::start_quiet();
    // tracing-opentelemetry + the SDK's batch processor + OTLP/gRPC. The
    // exporter is built inside a Tokio runtime that outlives the run, as
    // tonic needs.
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("runtime");
    let provider = {
        let _enter = runtime.enter();
        let exporter = opentelemetry_otlp::SpanExporter::builder()
            .with_tonic()
            .with_endpoint(collector.grpc())
            .build()
            .expect("exporter");
        opentelemetry_sdk::trace::SdkTracerProvider::builder()
            .with_batch_exporter(exporter)
            .build()
    };
    let otel = Dispatch::new(
        tracing_subscriber::registry()
            .with(tracing_opentelemetry::layer().with_tracer(provider.tracer("bench"))),
    );
    let otlp = Otlp::builder()
        .ignore_env()
        .endpoint(collector.grpc())
        .build()
        .expect("warden exporter");
    let warden = Dispatch::new(tracing_subscriber::registry().with(otlp.layer()));
    let registry = Dispatch::new(tracing_subscriber::registry());
    // The same exporter over gRPC + TLS, through nginx terminating TLS in
    // front of the same collector: the handshake and encryption are on the
    // export thread, so the logging thread's cost must not change.
    let tls_dir = warden_test_support::Scratch::new();
    warden_test_support::write_certificates(&tls_dir.0);
    let proxy = warden_test_support::TlsProxy::grpc(&tls_dir.0, collector.grpc_port, None);
    let otlp_tls = Otlp::builder()
        .ignore_env()
        .endpoint(format!("https://localhost:{}", proxy.port))
        .ca_certificate(tls_dir.path("ca.pem"))
        .build()
        .expect("warden exporter over TLS");
    let warden_tls = Dispatch::new(tracing_subscriber::registry().with(otlp_tls.layer()));

    let mut g = c.benchmark_group("stack/span_exported");
    let cases = [
        ("registry_alone", &registry),
        ("tracing_opentelemetry_batch", &otel),
        ("warden_otlp", &warden),
        ("warden_otlp_tls", &warden_tls),
    ];
    common::bench_each(&mut g, &cases, span);
    g.finish();

    // The event of `stack/event` through the whole stack with OTLP export
    // on, against the same stack without it.
    let (without, _g1) = warden_stack();
    let (with, _g2) = common::warden_stack_with(Some(
        Otlp::builder().ignore_env().endpoint(collector.grpc()),
    ));
    let mut g = c.benchmark_group("stack/event_exported");
    for (name, dispatch) in [("warden_stack", &without), ("warden_stack+otlp", &with)] {
        tracing::dispatcher::with_default(dispatch, || {
            g.bench_function(name, |b| b.iter(clean_event));
        });
    }
    g.finish();
    if let Some(exporter) = _g2.otlp() {
        let _ = exporter.flush(Duration::from_secs(30));
        eprintln!(
            "\nwarden-otlp events during the criterion run:\n{}",
            exporter.stats()
        );
    }
    let _ = otlp.flush(Duration::from_secs(30));
    eprintln!(
        "\nwarden-otlp during the criterion run (unpaced: as fast as one thread can):\n{}",
        otlp.stats()
    );
    let _ = otlp_tls.flush(Duration::from_secs(30));
    eprintln!(
        "\nwarden-otlp over TLS during the criterion run:\n{}",
        otlp_tls.stats()
    );
    let _ = otlp_tls.shutdown(Duration::from_secs(30));
    drop(proxy);

    // Issue 16's request unit: every stack on the same unit of work.
    let otel_json = Dispatch::new(
        tracing_subscriber::registry()
            .with(
                tracing_subscriber::fmt::layer()
                    .json()
                    .with_writer(std::io::sink),
            )
            .with(tracing_opentelemetry::layer().with_tracer(provider.tracer("bench-unit"))),
    );
    let mut g = c.benchmark_group("stack/request_unit");
    for (name, dispatch) in [
        ("fmt_json", &fmt_json()),
        ("warden_stack", &without),
        ("fmt_json+tracing_opentelemetry_batch", &otel_json),
        ("warden_stack+otlp", &with),
    ] {
        tracing::dispatcher::with_default(dispatch, || {
            let mut n = 0u64;
            g.bench_function(name, |b| {
                b.iter(|| {
                    n += 1;
                    request_unit(n)
                })
            });
        });
    }
    g.finish();
    // Each layer alone on a span's lifecycle (two fields, entered once).
    let metrics =
        Dispatch::new(tracing_subscriber::registry().with(warden::metrics::MetricsLayer::new()));
    let correlation = Dispatch::new(
        tracing_subscriber::registry().with(warden::correlation::CorrelationLayer::default()),
    );
    let mut g = c.benchmark_group("stack/span_lifecycle");
    for (name, dispatch) in [
        ("registry_alone", &registry),
        ("metrics_alone", &metrics),
        ("correlation_alone_root", &correlation),
    ] {
        tracing::dispatcher::with_default(dispatch, || {
            g.bench_function(name, |b| b.iter(span));
        });
    }
    for (name, dispatch) in [
        ("registry_alone_child", &registry),
        ("correlation_alone_child", &correlation),
    ] {
        tracing::dispatcher::with_default(dispatch, || {
            let parent = tracing::info_span!("request", correlation_id = "req-1");
            let _p = parent.enter();
            g.bench_function(name, |b| b.iter(span));
        });
    }
    g.finish();

    // The same figures measured so that a shared VM's slow phases fall on
    // both sides alike: blocks of a few iterations of each side, one after
    // the other, all through the sample.
    let mut g = c.benchmark_group("stack/span_added");
    // A registry of its own, like each layer's; and one under a layer that
    // does nothing, for a floor with the same layering.
    let registry = Dispatch::new(tracing_subscriber::registry());
    let noop = Dispatch::new(tracing_subscriber::registry().with(NoopLayer));
    for (name, with, base, child) in [
        ("metrics_alone", &metrics, &registry, false),
        ("correlation_alone_root", &correlation, &registry, false),
        ("correlation_alone_child", &correlation, &registry, true),
        ("metrics_alone_vs_noop_layer", &metrics, &noop, false),
        (
            "correlation_alone_root_vs_noop_layer",
            &correlation,
            &noop,
            false,
        ),
        (
            "correlation_alone_child_vs_noop_layer",
            &correlation,
            &noop,
            true,
        ),
        // The logging thread's share of an exported span (the export
        // thread runs beside it, as in `span_exported`).
        ("warden_otlp_vs_noop_layer", &warden, &noop, false),
        // The two floors against each other: a bare registry never frees a
        // closed span (tokio-rs/tracing#900), one under any layer does.
        ("noop_layer_vs_bare_registry", &noop, &registry, false),
    ] {
        if let Some((w, base)) = interleaved(&mut g, name, |iters| added(iters, base, with, child))
        {
            eprintln!(
                "{name}: {:.1} ns per span beyond its baseline ({w:.1} against {base:.1} ns, over the same interleaved spans)",
                w - base,
            );
        }
    }
    g.finish();
    let mut g = c.benchmark_group("stack/request_unit_paired");
    for (name, stack, baseline) in [
        ("warden_stack_vs_fmt_json", &without, &fmt_json()),
        (
            "warden_stack+otlp_vs_fmt_json+tracing_opentelemetry_batch",
            &with,
            &otel_json,
        ),
    ] {
        if let Some((a, base)) = interleaved(&mut g, name, |iters| paired(iters, stack, baseline)) {
            eprintln!(
                "{name}: the stack took {:.3}× its baseline's time over the same interleaved units",
                a / base
            );
        }
    }
    g.finish();
    // Each part's share of the request unit: the stack against itself
    // without that part, interleaved.
    let mut g = c.benchmark_group("stack/request_unit_parts");
    type Tune = fn(warden::WardenBuilder) -> warden::WardenBuilder;
    let parts: [(&str, Tune); 5] = [
        ("json", |b| b.without_json()),
        ("pii", |b| b.without_pii()),
        ("metrics", |b| b.without_metrics()),
        ("correlation", |b| b.without_correlation()),
        ("audit", |b| b.without_audit()),
    ];
    for (name, tune) in parts {
        let (without_part, _guard) = common::warden_stack_tuned(None, tune);
        let run = |iters| paired(iters, &without, &without_part);
        if let Some((a, base)) = interleaved(&mut g, name, run) {
            eprintln!(
                "{name}: {:.0} ns of the stack's {a:.0} ns per request unit (the stack without it: {base:.0} ns, over the same interleaved units)",
                a - base,
            );
        }
    }
    g.finish();
    // What keeping the audit trail and the metrics whatever the log level
    // costs a service at `warn` (issue 23): the stack against the same
    // stack filtered by the directives alone, interleaved.
    let mut g = c.benchmark_group("stack/warn_service");
    let (at_warn, _guard) = common::warden_stack_at_warn(false);
    let (logs_only, _guard) = common::warden_stack_at_warn(true);
    type Work = (&'static str, fn(u64));
    let cases: [Work; 2] = [
        ("request_unit_vs_logs_only", request_unit),
        ("disabled_debug_vs_logs_only", common::disabled_debug),
    ];
    for (name, work) in cases {
        let run = |iters| paired_with(iters, &at_warn, &logs_only, work);
        if let Some((a, base)) = interleaved(&mut g, name, run) {
            eprintln!(
                "{name}: {a:.1} ns against {base:.1} ns with the directives alone ({:+.1} ns, over the same interleaved calls)",
                a - base,
            );
        }
    }
    g.finish();
    sustained(&otlp, &warden);
    let _ = provider.shutdown();
    let _ = otlp.shutdown(Duration::from_secs(30));
}

/// A layer that does nothing.
struct NoopLayer;

impl<S: tracing::Subscriber> tracing_subscriber::Layer<S> for NoopLayer {}

/// Iterations in one block of [`added`] and [`paired`].
const BLOCK: u64 = 128;

/// The time `iters` spans take with `with` and with `base`, the two
/// measured in alternating blocks. `child` opens each span under a parent
/// (opened once per block, outside the timing).
fn added(iters: u64, base: &Dispatch, with: &Dispatch, child: bool) -> (Duration, Duration) {
    let (mut with_total, mut base_total) = (Duration::ZERO, Duration::ZERO);
    let mut left = iters;
    while left > 0 {
        let n = left.min(BLOCK);
        let time = |dispatch: &Dispatch| {
            tracing::dispatcher::with_default(dispatch, || {
                let parent =
                    child.then(|| tracing::info_span!("request", correlation_id = "req-1"));
                let _p = parent.as_ref().map(|p| p.enter());
                let start = Instant::now();
                for _ in 0..n {
                    span();
                }
                start.elapsed()
            })
        };
        // Each side goes first in every other block.
        if left / n % 2 == 0 {
            with_total += time(with);
            base_total += time(base);
        } else {
            base_total += time(base);
            with_total += time(with);
        }
        left -= n;
    }
    (with_total, base_total)
}

/// Benches `name` in `g` with `run`, which measures both sides of `iters`
/// interleaved iterations (the side measured first is criterion's), and
/// returns each side's nanoseconds per iteration over every sample; `None`
/// when the command's filter left the case out.
fn interleaved(
    g: &mut criterion::BenchmarkGroup<'_, criterion::measurement::WallTime>,
    name: &str,
    mut run: impl FnMut(u64) -> (Duration, Duration),
) -> Option<(f64, f64)> {
    let totals = std::cell::Cell::new((Duration::ZERO, Duration::ZERO, 0u64));
    g.bench_function(name, |b| {
        b.iter_custom(|iters| {
            let (a, base) = run(iters);
            let (ta, tb, n) = totals.get();
            totals.set((ta + a, tb + base, n + iters));
            a
        })
    });
    let (a, base, n) = totals.get();
    let per = |d: Duration| d.as_secs_f64() * 1e9 / n as f64;
    (n > 0).then(|| (per(a), per(base)))
}

/// The time `iters` request units take through `stack` and through
/// `baseline`, measured in alternating blocks.
fn paired(iters: u64, stack: &Dispatch, baseline: &Dispatch) -> (Duration, Duration) {
    paired_with(iters, stack, baseline, request_unit)
}

/// The time `iters` calls of `work` take through `stack` and through
/// `baseline`, measured in alternating blocks.
fn paired_with(
    iters: u64,
    stack: &Dispatch,
    baseline: &Dispatch,
    work: fn(u64),
) -> (Duration, Duration) {
    let (mut a, mut b) = (Duration::ZERO, Duration::ZERO);
    let mut left = iters;
    let mut unit = 0u64;
    while left > 0 {
        let n = left.min(BLOCK);
        // Each side goes first in every other block.
        let mut sides = [(stack, &mut a), (baseline, &mut b)];
        if left / n % 2 == 1 {
            sides.reverse();
        }
        for (dispatch, total) in sides {
            tracing::dispatcher::with_default(dispatch, || {
                let start = Instant::now();
                for _ in 0..n {
                    unit += 1;
                    work(unit);
                }
                *total += start.elapsed();
            });
        }
        left -= n;
    }
    (a, b)
}

/// Spans at a fixed rate for 2 s, then a flush; the drops at each rate.
fn sustained(otlp: &Otlp, dispatch: &Dispatch) {
    eprintln!("sustained rate through warden-otlp (2 s per rate, then flushed):");
    for rate in [50_000u64, 100_000, 150_000, 200_000, 300_000] {
        let before = otlp.stats().spans;
        let start = Instant::now();
        let mut sent = 0u64;
        tracing::dispatcher::with_default(dispatch, || {
            while start.elapsed() < Duration::from_secs(2) {
                let due = (start.elapsed().as_secs_f64() * rate as f64) as u64;
                while sent < due {
                    span();
                    sent += 1;
                }
                std::thread::sleep(Duration::from_micros(200));
            }
        });
        let _ = otlp.flush(Duration::from_secs(30));
        let after = otlp.stats().spans;
        eprintln!(
            "  {rate:>7}/s: sent {sent:>8}, exported {:>8}, dropped {:>6}, failed {:>6}",
            after.exported - before.exported,
            after.dropped - before.dropped,
            after.failed - before.failed
        );
    }
}

criterion_group!(benches, events, spans);
criterion_main!(benches);
