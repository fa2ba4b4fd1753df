//! Instruction counts: run one case in a loop so that
//! `valgrind --tool=callgrind` can count instructions per call, a figure
//! that, unlike wall time on a shared VM, repeats exactly.
//!
//! `./scripts/instructions [CASE-PREFIX…]` runs the cases; `--list` names
//! them. Run by `cargo bench` (which passes `--bench`), it does nothing.

use std::hint::black_box;

use tracing::Dispatch;
use tracing_subscriber::prelude::*;
use warden::correlation::CorrelationLayer;
use warden::pii::{PiiLayer, Sanitizer};
use warden::request_lines::RequestLines;

mod common;

use common::{
    CLEAN, CLEAN_KV, DENSE, DIRTY, Discard, ExtensionFloor, FIVE_PATTERNS, ReadFloor, audit_event,
    clean_event, dense_event, events_in_two_spans, loghub_lines, request_unit,
};

type Case = (&'static str, fn(usize));

fn text(t: &str, n: usize) {
    let s = Sanitizer::default();
    for _ in 0..n {
        black_box(s.sanitize(black_box(t)));
    }
}

fn in_dispatch(dispatch: Dispatch, n: usize, f: fn()) {
    tracing::dispatcher::with_default(&dispatch, || (0..n).for_each(|_| f()));
}

macro_rules! warden_json {
    () => {
        warden::json::layer().with_writer(std::io::sink)
    };
}

macro_rules! fmt_json {
    () => {
        tracing_subscriber::fmt::layer()
            .json()
            .with_writer(std::io::sink)
    };
}

fn span_lifecycle() {
    let span = tracing::info_span!("request");
    let _entered = black_box(&span).enter();
}

/// The span `benches/stack.rs` exports: two fields, opened, entered, closed.
fn exported_span() {
    let span = tracing::info_span!("get_order", order_id = 98231u64, route = "/api/v1/orders");
    let _entered = black_box(&span).enter();
}

/// An exporter whose collector is a closed port on loopback, with a queue
/// large enough for every probe span: the logging thread's own work, the
/// export thread failing fast beside it.
fn dead_end_exporter(n: usize) -> warden::otlp::Otlp {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map_or(9, |a| a.port());
    warden::otlp::Otlp::builder()
        .ignore_env()
        .endpoint(format!("http://127.0.0.1:{port}"))
        .span_queue(n.max(1) + 1)
        .delay(std::time::Duration::from_secs(3600))
        .max_batch(n.max(1) + 1)
        .build()
        .expect("exporter")
}

/// `n` spans (or events) exported to a real collector, then a flush: run
/// by `./scripts/instructions`, which counts the threads other than the
/// main one (the export thread's work).
fn export_to_collector(n: usize, protocol: warden::otlp::Protocol, what: fn()) {
    let collector = warden_test_support::Collector::start_quiet();
    let endpoint = match protocol {
        warden::otlp::Protocol::Grpc => collector.grpc(),
        _ => collector.http(),
    };
    let otlp = warden::otlp::Otlp::builder()
        .ignore_env()
        .endpoint(endpoint)
        .protocol(protocol)
        .span_queue(n.max(1) + 1)
        .log_queue(n.max(1) + 1)
        .build()
        .expect("exporter");
    let stack = tracing_subscriber::registry().with(otlp.layer());
    in_dispatch(Dispatch::new(stack), n, what);
    otlp.flush(std::time::Duration::from_secs(600))
        .expect("flushed");
    let stats = otlp.stats();
    assert_eq!(stats.lost(), 0, "{stats}");
    assert_eq!(
        stats.spans.exported + stats.logs.exported,
        n as u64,
        "{stats}"
    );
    let _ = otlp.shutdown(std::time::Duration::from_secs(60));
}

/// Spans at `rate` per second for 3 s through warden-otlp to a real
/// collector (the paced run of `benches/stack.rs`), then the counts: for
/// profiling the export path under `perf`.
fn paced(rate: usize) {
    let collector = warden_test_support::Collector::start_quiet();
    let otlp = warden::otlp::Otlp::builder()
        .ignore_env()
        .endpoint(collector.grpc())
        .build()
        .expect("exporter");
    let dispatch = Dispatch::new(tracing_subscriber::registry().with(otlp.layer()));
    let start = std::time::Instant::now();
    let mut sent = 0u64;
    tracing::dispatcher::with_default(&dispatch, || {
        while start.elapsed() < std::time::Duration::from_secs(3) {
            let due = (start.elapsed().as_secs_f64() * rate as f64) as u64;
            while sent < due {
                exported_span();
                sent += 1;
            }
            std::thread::sleep(std::time::Duration::from_micros(200));
        }
    });
    let _ = otlp.flush(std::time::Duration::from_secs(30));
    eprintln!("{rate}/s: sent {sent}\n{}", otlp.stats());
}

fn exported_event() {
    tracing::info!(order_id = 98231u64, route = "/api/v1/orders", "order read");
}

fn child_span_lifecycle() {
    let parent = tracing::info_span!("parent");
    let _p = parent.enter();
    span_lifecycle();
}

const CASES: &[Case] = &[
    ("metrics/histogram_record", |n| {
        let mut h = warden::metrics::LatencyHistogram::new();
        for i in 0..n as u64 {
            h.record(black_box(std::time::Duration::from_nanos(
                1_000_000 + (i * 7_919 % 1024) * 14_000,
            )));
        }
        black_box(&h);
    }),
    ("audit/sqlite_sustained", |n| {
        use warden::audit::{AuditKey, AuditLayer, Route, RouteFilter, SqliteSink};
        let path = std::env::temp_dir().join(format!("warden-probe-{}.db", std::process::id()));
        let _ = std::fs::remove_file(&path);
        let key = AuditKey::new(*b"benchmark key of 32 bytes, fixed").unwrap();
        let sink = SqliteSink::builder(&path).key(key).build().unwrap();
        let layer = AuditLayer::builder()
            .route(
                Route::new("db", RouteFilter::all())
                    .sink(sink)
                    .capacity(1 << 20),
            )
            .build()
            .unwrap();
        in_dispatch(
            Dispatch::new(tracing_subscriber::registry().with(layer.clone())),
            n,
            || audit_event(7),
        );
        layer.flush(std::time::Duration::from_secs(120)).unwrap();
        layer
            .shutdown(std::time::Duration::from_secs(10))
            .expect("audit writer stops");
        let _ = std::fs::remove_file(&path);
    }),
    ("audit/event", |n| {
        use warden::audit::{AuditLayer, Overflow, Route, RouteFilter};
        let layer = AuditLayer::builder()
            .route(
                Route::new("discard", RouteFilter::all())
                    .sink(Discard)
                    .capacity(1 << 20)
                    .overflow(Overflow::Block(std::time::Duration::from_secs(5))),
            )
            .build()
            .unwrap();
        in_dispatch(
            Dispatch::new(tracing_subscriber::registry().with(layer.clone())),
            n,
            || audit_event(7),
        );
        layer.flush(std::time::Duration::from_secs(60)).unwrap();
    }),
    ("sanitize/clean_120b", |n| text(CLEAN, n)),
    ("sanitize/clean_120b_kv", |n| text(CLEAN_KV, n)),
    ("sanitize/email_and_phone", |n| text(DIRTY, n)),
    ("sanitize/dense", |n| text(DENSE, n)),
    ("sanitize/text", |n| {
        // Any one text, from WARDEN_PROBE_TEXT (`WARDEN_PROBE_TEXT='a=b'
        // ./scripts/instructions sanitize/text`): what a shape costs alone.
        let t = std::env::var("WARDEN_PROBE_TEXT").unwrap_or_default();
        text(&t, n)
    }),
    ("sanitize/loghub_line", |n| {
        // Each call one line of the ten samples, in turn.
        let lines = loghub_lines();
        let s = Sanitizer::default();
        for line in lines.iter().cycle().take(n) {
            black_box(s.sanitize(black_box(line)));
        }
    }),
    ("baseline/regexset_5_dense", |n| {
        // Issue 11's baseline for the dense line: the five patterns' `is_match`.
        let set = regex::RegexSet::new(FIVE_PATTERNS).expect("valid patterns");
        for _ in 0..n {
            black_box(set.is_match(black_box(DENSE)));
        }
    }),
    ("baseline/naive_replace_loghub_line", |n| {
        // Issue 11's baseline for the loghub lines: the five joined, `replace_all`.
        let naive = regex::Regex::new(&FIVE_PATTERNS.join("|")).expect("valid pattern");
        for line in loghub_lines().iter().cycle().take(n) {
            black_box(naive.replace_all(black_box(line), "[REDACTED]"));
        }
    }),
    ("event/fmt_json_alone", |n| {
        in_dispatch(
            Dispatch::new(tracing_subscriber::registry().with(fmt_json!())),
            n,
            clean_event,
        )
    }),
    ("event/pii+fmt_json", |n| {
        let stack = tracing_subscriber::registry()
            .with(PiiLayer::default())
            .with(fmt_json!());
        in_dispatch(Dispatch::new(stack), n, clean_event)
    }),
    ("event/dense/fmt_json_alone", |n| {
        in_dispatch(
            Dispatch::new(tracing_subscriber::registry().with(fmt_json!())),
            n,
            dense_event,
        )
    }),
    ("event/dense/pii+fmt_json", |n| {
        let stack = tracing_subscriber::registry()
            .with(PiiLayer::default())
            .with(fmt_json!());
        in_dispatch(Dispatch::new(stack), n, dense_event)
    }),
    ("event/floor_read+fmt_json", |n| {
        let stack = tracing_subscriber::registry()
            .with(ReadFloor)
            .with(fmt_json!());
        in_dispatch(Dispatch::new(stack), n, clean_event)
    }),
    ("event/dense/floor_read+fmt_json", |n| {
        let stack = tracing_subscriber::registry()
            .with(ReadFloor)
            .with(fmt_json!());
        in_dispatch(Dispatch::new(stack), n, dense_event)
    }),
    ("event/pii_alone", |n| {
        let stack = tracing_subscriber::registry().with(PiiLayer::default());
        in_dispatch(Dispatch::new(stack), n, clean_event)
    }),
    ("json/event/fmt_json", |n| {
        in_dispatch(
            Dispatch::new(tracing_subscriber::registry().with(fmt_json!())),
            n,
            clean_event,
        )
    }),
    ("json/event/warden_json", |n| {
        let stack = tracing_subscriber::registry().with(warden_json!());
        in_dispatch(Dispatch::new(stack), n, clean_event)
    }),
    ("json/spans/fmt_json", |n| {
        let stack = tracing_subscriber::registry().with(fmt_json!());
        tracing::dispatcher::with_default(&Dispatch::new(stack), || events_in_two_spans(n))
    }),
    ("json/spans/warden_json", |n| {
        let stack = tracing_subscriber::registry().with(warden_json!());
        tracing::dispatcher::with_default(&Dispatch::new(stack), || events_in_two_spans(n))
    }),
    ("json/spans/warden_json+correlation", |n| {
        let stack = tracing_subscriber::registry()
            .with(CorrelationLayer::default())
            .with(warden_json!());
        tracing::dispatcher::with_default(&Dispatch::new(stack), || events_in_two_spans(n))
    }),
    ("span/registry_alone", |n| {
        in_dispatch(
            Dispatch::new(tracing_subscriber::registry()),
            n,
            span_lifecycle,
        )
    }),
    ("span/registry+u64_extension", |n| {
        let stack = tracing_subscriber::registry().with(ExtensionFloor);
        in_dispatch(Dispatch::new(stack), n, span_lifecycle)
    }),
    ("span2/registry+u64_extension", |n| {
        let stack = tracing_subscriber::registry().with(ExtensionFloor);
        in_dispatch(Dispatch::new(stack), n, child_span_lifecycle)
    }),
    ("span/registry+metrics", |n| {
        let stack = tracing_subscriber::registry().with(warden::metrics::MetricsLayer::new());
        in_dispatch(Dispatch::new(stack), n, span_lifecycle)
    }),
    ("span_fields/registry_alone", |n| {
        in_dispatch(
            Dispatch::new(tracing_subscriber::registry()),
            n,
            exported_span,
        )
    }),
    ("span_fields/registry+noop_layer", |n| {
        struct Noop;
        impl<S: tracing::Subscriber> tracing_subscriber::Layer<S> for Noop {}
        in_dispatch(
            Dispatch::new(tracing_subscriber::registry().with(Noop)),
            n,
            exported_span,
        )
    }),
    ("span_fields/registry+metrics", |n| {
        let stack = tracing_subscriber::registry().with(warden::metrics::MetricsLayer::new());
        in_dispatch(Dispatch::new(stack), n, exported_span)
    }),
    ("span_fields/registry+correlation", |n| {
        let stack = tracing_subscriber::registry().with(CorrelationLayer::default());
        in_dispatch(Dispatch::new(stack), n, exported_span)
    }),
    ("span/registry+correlation", |n| {
        let stack = tracing_subscriber::registry().with(CorrelationLayer::default());
        in_dispatch(Dispatch::new(stack), n, span_lifecycle)
    }),
    ("stack/event/fmt_json", |n| {
        let stack = tracing_subscriber::registry().with(fmt_json!());
        in_dispatch(Dispatch::new(stack), n, clean_event)
    }),
    ("stack/event/warden_stack", |n| {
        let (dispatch, _guard) = common::warden_stack();
        in_dispatch(dispatch, n, clean_event)
    }),
    ("otlp/span/tracing_opentelemetry_batch", |n| {
        use opentelemetry::trace::TracerProvider as _;
        use opentelemetry_sdk::trace::{BatchConfigBuilder, BatchSpanProcessor};
        // The batch thread never exports during the loop (as warden's
        // export thread above): the logging thread's own work.
        let config = BatchConfigBuilder::default()
            .with_max_queue_size(n.max(1) + 1)
            .with_max_export_batch_size(n.max(1) + 1)
            .with_scheduled_delay(std::time::Duration::from_secs(3600))
            .build();
        let processor =
            BatchSpanProcessor::builder(opentelemetry_sdk::testing::trace::NoopSpanExporter::new())
                .with_batch_config(config)
                .build();
        let provider = opentelemetry_sdk::trace::SdkTracerProvider::builder()
            .with_span_processor(processor)
            .build();
        let stack = tracing_subscriber::registry()
            .with(tracing_opentelemetry::layer().with_tracer(provider.tracer("probe")));
        in_dispatch(Dispatch::new(stack), n, exported_span)
    }),
    ("otlp/span/registry_alone", |n| {
        in_dispatch(
            Dispatch::new(tracing_subscriber::registry()),
            n,
            exported_span,
        )
    }),
    ("otlp/span/warden_otlp", |n| {
        let otlp = dead_end_exporter(n);
        let stack = tracing_subscriber::registry().with(otlp.layer());
        in_dispatch(Dispatch::new(stack), n, exported_span)
    }),
    ("paced/otlp_grpc", paced),
    ("unit/warden_stack", |n| {
        let (dispatch, _guard) = common::warden_stack();
        in_dispatch(dispatch, n, || request_unit(98231))
    }),
    ("warn/request_unit", |n| {
        let (dispatch, _guard) = common::warden_stack_at_warn(false);
        in_dispatch(dispatch, n, || request_unit(98231))
    }),
    ("warn/request_unit_logs_only", |n| {
        let (dispatch, _guard) = common::warden_stack_at_warn(true);
        in_dispatch(dispatch, n, || request_unit(98231))
    }),
    ("warn/disabled_debug", |n| {
        let (dispatch, _guard) = common::warden_stack_at_warn(false);
        in_dispatch(dispatch, n, || common::disabled_debug(7))
    }),
    ("warn/disabled_debug_logs_only", |n| {
        let (dispatch, _guard) = common::warden_stack_at_warn(true);
        in_dispatch(dispatch, n, || common::disabled_debug(7))
    }),
    ("held/clean_debug_filtered_out", |n| {
        let (dispatch, _guard) = common::request_lines_stack(None);
        in_dispatch(dispatch, n, || common::ten_debug_request(false))
    }),
    ("held/clean_debug_held", |n| {
        let (dispatch, _guard) = common::request_lines_stack(Some(RequestLines::builder()));
        in_dispatch(dispatch, n, || common::ten_debug_request(false))
    }),
    ("held/clean_debug_held_unsanitized", |n| {
        let lines = RequestLines::builder().sanitize_held(false);
        let (dispatch, _guard) = common::request_lines_stack(Some(lines));
        in_dispatch(dispatch, n, || common::ten_debug_request(false))
    }),
    ("held/outside_debug_filtered_out", |n| {
        let (dispatch, _guard) = common::request_lines_stack(None);
        in_dispatch(dispatch, n, common::ten_debug_outside)
    }),
    ("held/outside_debug_held", |n| {
        let (dispatch, _guard) = common::request_lines_stack(Some(RequestLines::builder()));
        in_dispatch(dispatch, n, common::ten_debug_outside)
    }),
    ("unit/fmt_json", |n| {
        let stack = tracing_subscriber::registry().with(fmt_json!());
        in_dispatch(Dispatch::new(stack), n, || request_unit(98231))
    }),
    ("export/spans_grpc", |n| {
        export_to_collector(n, warden::otlp::Protocol::Grpc, exported_span)
    }),
    ("export/spans_http", |n| {
        export_to_collector(n, warden::otlp::Protocol::HttpProtobuf, exported_span)
    }),
    ("export/events_grpc", |n| {
        export_to_collector(n, warden::otlp::Protocol::Grpc, exported_event)
    }),
    ("span2/registry_alone", |n| {
        in_dispatch(
            Dispatch::new(tracing_subscriber::registry()),
            n,
            child_span_lifecycle,
        )
    }),
    ("span2/registry+correlation", |n| {
        let stack = tracing_subscriber::registry().with(CorrelationLayer::default());
        in_dispatch(Dispatch::new(stack), n, child_span_lifecycle)
    }),
];

fn main() {
    let mut args = std::env::args().skip(1);
    let case = args.next().unwrap_or_default();
    if case == "--list" {
        CASES.iter().for_each(|(name, _)| println!("{name}"));
        return;
    }
    let n: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(100_000);
    // The span clock's one-time calibration loops for a wall-clock time,
    // not a number of instructions: done here, outside what is counted.
    let _ = warden::core::Moment::now();
    if let Some((_, case)) = CASES.iter().find(|(name, _)| *name == case) {
        measured(*case, n);
    }
}

/// What `./scripts/instructions` counts (callgrind collects inside this
/// function only).
#[inline(never)]
fn measured(case: fn(usize), n: usize) {
    case(black_box(n));
}
