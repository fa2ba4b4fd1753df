//! Audit routing costs: the application thread's cost per audit event, and
//! sustained records per second into each store.
//!
//! `cargo bench --bench audit` (figures in BENCHMARKS.md); with
//! `--features postgres`, also into a private PostgreSQL cluster started for
//! the run (Debian's server binaries), one writer and four together.

use std::time::{Duration, Instant};

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use tracing::Dispatch;
use tracing_subscriber::prelude::*;
mod common;
use common::{Discard, audit_event};
use warden::audit::{
    AuditKey, AuditLayer, AuditRecord, AuditSink, CheckpointPolicy, JsonlSink, Overflow, Route,
    RouteFilter, SinkError, SqliteSink, SyncMode,
};

fn scratch() -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("warden-bench-audit-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn key() -> AuditKey {
    AuditKey::new(*b"benchmark key of 32 bytes, fixed").unwrap()
}

fn app_thread(c: &mut Criterion) {
    let mut g = c.benchmark_group("audit/app_thread");
    let alone = Dispatch::new(tracing_subscriber::registry());
    let layer = AuditLayer::builder()
        .route(
            Route::new("discard", RouteFilter::all())
                .sink(Discard)
                .capacity(1 << 20)
                .overflow(Overflow::Block(Duration::from_secs(1))),
        )
        .build()
        .unwrap();
    let with = Dispatch::new(tracing_subscriber::registry().with(layer.clone()));
    let fmt_json = Dispatch::new(
        tracing_subscriber::registry().with(
            tracing_subscriber::fmt::layer()
                .json()
                .with_writer(std::io::sink),
        ),
    );
    // Timed in bursts of 10,000 events with the queue drained between
    // them (untimed): the cost of the logging call itself, not of a writer
    // kept saturated (that is `audit/sustained`).
    const BURST: u64 = 10_000;
    for (name, dispatch) in [
        ("registry_alone", &alone),
        ("fmt_json", &fmt_json),
        ("audit_batched", &with),
    ] {
        let mut n = 0;
        g.bench_function(name, |b| {
            b.iter_custom(|iterations| {
                let mut elapsed = Duration::ZERO;
                let mut left = iterations;
                while left > 0 {
                    let burst = left.min(BURST);
                    let started = Instant::now();
                    tracing::dispatcher::with_default(dispatch, || {
                        for _ in 0..burst {
                            n += 1;
                            audit_event(n);
                        }
                    });
                    elapsed += started.elapsed();
                    left -= burst;
                    layer.flush(Duration::from_secs(30)).unwrap();
                }
                elapsed
            })
        });
    }
    layer.flush(Duration::from_secs(30)).unwrap();
    assert_eq!(layer.dropped(), 0);
    g.finish();
}

/// Logs `n` audit events through `layer` and waits until they are stored.
fn through(layer: &AuditLayer, dispatch: &Dispatch, n: u64) -> Duration {
    let started = Instant::now();
    tracing::dispatcher::with_default(dispatch, || (0..n).for_each(audit_event));
    layer.flush(Duration::from_secs(120)).unwrap();
    started.elapsed()
}

/// Opens a fresh store for one measurement.
type OpenSink = Box<dyn Fn() -> Box<dyn AuditSink>>;

fn sustained(c: &mut Criterion) {
    const BATCH: u64 = 50_000;
    let dir = scratch();
    let mut g = c.benchmark_group("audit/sustained");
    g.throughput(Throughput::Elements(BATCH));
    g.sample_size(10);
    let policy = CheckpointPolicy::default();
    let stores: Vec<(&str, OpenSink)> = vec![
        ("sqlite_normal", {
            let path = dir.join("normal.db");
            Box::new(move || {
                let _ = std::fs::remove_file(&path);
                Box::new(
                    SqliteSink::builder(&path)
                        .key(key())
                        .checkpoints(policy)
                        .build()
                        .unwrap(),
                )
            })
        }),
        ("sqlite_full", {
            let path = dir.join("full.db");
            Box::new(move || {
                let _ = std::fs::remove_file(&path);
                Box::new(
                    SqliteSink::builder(&path)
                        .key(key())
                        .sync_mode(SyncMode::Full)
                        .checkpoints(policy)
                        .build()
                        .unwrap(),
                )
            })
        }),
        ("jsonl", {
            let path = dir.join("audit.jsonl");
            Box::new(move || {
                let _ = std::fs::remove_file(&path);
                Box::new(JsonlSink::open(&path).unwrap())
            })
        }),
    ];
    for (name, open) in stores {
        g.bench_function(name, |b| {
            b.iter_custom(|iterations| {
                let layer = AuditLayer::builder()
                    .route(
                        Route::new(name, RouteFilter::all())
                            .sink(BoxedSink(open()))
                            .capacity(1 << 16),
                    )
                    .build()
                    .unwrap();
                let dispatch = Dispatch::new(tracing_subscriber::registry().with(layer.clone()));
                let elapsed = (0..iterations)
                    .map(|_| through(&layer, &dispatch, BATCH))
                    .sum();
                assert_eq!(layer.dropped(), 0, "a sustained run must not drop");
                layer
                    .shutdown(Duration::from_secs(30))
                    .expect("audit writers stop");
                elapsed
            })
        });
    }
    g.finish();
    let _ = std::fs::remove_dir_all(dir);
}

/// A boxed sink, as a sink.
struct BoxedSink(Box<dyn AuditSink>);

impl AuditSink for BoxedSink {
    fn name(&self) -> String {
        self.0.name()
    }
    fn write(&mut self, records: &[AuditRecord]) -> Result<(), SinkError> {
        self.0.write(records)
    }
    fn tick(&mut self) -> Result<(), SinkError> {
        self.0.tick()
    }
    fn close(&mut self) -> Result<(), SinkError> {
        self.0.close()
    }
}

/// PostgreSQL: the logging call with a PostgreSQL route, one writer
/// sustained, and four writers (four layers, each its own stream, each fed
/// by its own thread) together: records per second in all.
#[cfg(feature = "postgres")]
fn postgres(c: &mut Criterion) {
    use warden::audit::PostgresSink;

    let server = warden_test_support::Postgres::start();
    let url = server.admin_url();
    warden::audit::create_schema(&url).unwrap();
    let open = |stream: &str| {
        PostgresSink::builder(&url)
            .stream(stream)
            .key(key())
            .build()
            .unwrap()
    };
    let route = |name: &str, sink: PostgresSink| {
        AuditLayer::builder()
            .route(
                Route::new(name, RouteFilter::all())
                    .sink(sink)
                    .capacity(1 << 16)
                    .overflow(Overflow::Block(Duration::from_secs(60))),
            )
            .build()
            .unwrap()
    };

    let mut g = c.benchmark_group("audit/app_thread");
    let layer = route("pg-app", open("app-thread"));
    let dispatch = Dispatch::new(tracing_subscriber::registry().with(layer.clone()));
    let mut n = 0;
    g.bench_function("audit_postgres", |b| {
        b.iter_custom(|iterations| {
            let mut elapsed = Duration::ZERO;
            let mut left = iterations;
            while left > 0 {
                let burst = left.min(10_000);
                let started = Instant::now();
                tracing::dispatcher::with_default(&dispatch, || {
                    for _ in 0..burst {
                        n += 1;
                        audit_event(n);
                    }
                });
                elapsed += started.elapsed();
                left -= burst;
                layer.flush(Duration::from_secs(60)).unwrap();
            }
            elapsed
        })
    });
    g.finish();
    layer.shutdown(Duration::from_secs(60)).unwrap();

    const BATCH: u64 = 50_000;
    let mut g = c.benchmark_group("audit/sustained");
    g.throughput(Throughput::Elements(BATCH));
    g.sample_size(10);
    let mut runs = 0;
    g.bench_function("postgres_1_writer", |b| {
        b.iter_custom(|iterations| {
            runs += 1;
            let layer = route("pg", open(&format!("one-{runs}")));
            let dispatch = Dispatch::new(tracing_subscriber::registry().with(layer.clone()));
            let elapsed = (0..iterations)
                .map(|_| through(&layer, &dispatch, BATCH))
                .sum();
            assert_eq!(layer.dropped(), 0, "a sustained run must not drop");
            layer.shutdown(Duration::from_secs(60)).unwrap();
            elapsed
        })
    });
    g.bench_function("postgres_4_writers", |b| {
        b.iter_custom(|iterations| {
            runs += 1;
            let layers: Vec<AuditLayer> = (0..4)
                .map(|w| route("pg", open(&format!("four-{runs}-{w}"))))
                .collect();
            let mut elapsed = Duration::ZERO;
            for _ in 0..iterations {
                let started = Instant::now();
                std::thread::scope(|scope| {
                    for layer in &layers {
                        scope.spawn(move || {
                            let dispatch =
                                Dispatch::new(tracing_subscriber::registry().with(layer.clone()));
                            through(layer, &dispatch, BATCH / 4);
                        });
                    }
                });
                elapsed += started.elapsed();
            }
            for layer in &layers {
                assert_eq!(layer.dropped(), 0, "a sustained run must not drop");
                layer.shutdown(Duration::from_secs(60)).unwrap();
            }
            elapsed
        })
    });
    g.finish();
    drop(server);
}

#[cfg(not(feature = "postgres"))]
fn postgres(_: &mut Criterion) {}

criterion_group!(benches, app_thread, sustained, postgres);
criterion_main!(benches);
