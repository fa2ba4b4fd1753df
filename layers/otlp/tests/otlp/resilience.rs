//! A collector that dies, restarts or was never there: logging calls stay
//! fast, losses are counted, memory stays bounded and delivery resumes.

use std::net::TcpListener;
use std::time::{Duration, Instant};

use tracing_subscriber::prelude::*;
use warden_otlp::Otlp;
use warden_test_support::Collector;

/// The longest a logging call may take while the collector is away. The
/// exporter's timeout is 2 s: a call that waited for the collector would
/// take that long.
use crate::paths::{self, Path};

paths::on_both_paths!(
    a_killed_collector_costs_counted_drops_and_delivery_resumes_after_restart,
    no_collector_at_all_fails_fast_and_is_counted,
    a_collector_that_never_answers_costs_timeouts_not_waits,
);

const NEVER_WAITS: Duration = Duration::from_millis(250);

fn log_many(prefix: &str, n: usize) -> Duration {
    let mut slowest = Duration::ZERO;
    for i in 0..n {
        let start = Instant::now();
        tracing::info!(seq = i, "{prefix}-{i}");
        slowest = slowest.max(start.elapsed());
    }
    slowest
}

fn a_killed_collector_costs_counted_drops_and_delivery_resumes_after_restart(path: Path) {
    let mut collector = Collector::start();
    let otlp = paths::build(
        Otlp::builder()
            .ignore_env()
            .endpoint(collector.grpc())
            .timeout(Duration::from_secs(2))
            .delay(Duration::from_millis(20))
            .log_queue(1_000),
        path,
    );
    let subscriber = tracing_subscriber::registry().with(otlp.layer());
    let _default = tracing::subscriber::set_default(subscriber);

    log_many("before", 50);
    otlp.flush(Duration::from_secs(10)).unwrap();
    assert!(
        collector.wait_for(Duration::from_secs(10), |o| o.contains("Str(before-49)")),
        "{}",
        collector.output()
    );
    assert_eq!(otlp.stats().logs.exported, 50);

    collector.kill();
    let slowest = log_many("during", 20_000);
    assert!(slowest < NEVER_WAITS, "a logging call took {slowest:?}");
    let stats = otlp.stats();
    assert!(stats.logs.queued <= most_queued(&otlp, 1_000), "{stats}");
    assert!(stats.logs.dropped > 0, "{stats}");

    collector.restart();
    // The backlog (the full queue and the batch that was in flight) goes
    // first; then new records flow again.
    let deadline = Instant::now() + Duration::from_secs(30);
    while otlp.stats().logs.queued > 0 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
    }
    log_many("after", 50);
    let deadline = Instant::now() + Duration::from_secs(30);
    while !collector.output().contains("Str(after-49)") && Instant::now() < deadline {
        let _ = otlp.flush(Duration::from_secs(5));
        std::thread::sleep(Duration::from_millis(100));
    }
    let output = collector.output();
    assert!(
        output.contains("Str(after-0)") && output.contains("Str(after-49)"),
        "{}",
        otlp.stats()
    );
    let stats = otlp.stats();
    assert!(stats.logs.lost() > 0, "{stats}");
    assert_eq!(
        stats.logs.exported + stats.logs.lost() + stats.logs.queued,
        50 + 20_000 + 50,
        "every record is exported, counted lost, or still queued: {stats}"
    );
    otlp.shutdown(Duration::from_secs(10)).unwrap();
}

fn no_collector_at_all_fails_fast_and_is_counted(path: Path) {
    let port = warden_test_support::collector::closed_port();
    let otlp = paths::build(
        Otlp::builder()
            .ignore_env()
            .endpoint(format!("http://127.0.0.1:{port}"))
            .timeout(Duration::from_secs(1)),
        path,
    );
    let subscriber = tracing_subscriber::registry().with(otlp.layer());
    tracing::subscriber::with_default(subscriber, || {
        let _span = tracing::info_span!("work").entered();
        assert!(log_many("lost", 100) < NEVER_WAITS);
    });
    otlp.flush(Duration::from_secs(15)).unwrap();
    let stats = otlp.stats();
    assert_eq!(stats.logs.exported, 0, "{stats}");
    assert_eq!(stats.logs.failed + stats.logs.queued, 100, "{stats}");
    assert!(stats.logs.failed > 0, "{stats}");
    otlp.shutdown(Duration::from_secs(15)).unwrap();
    // After shutdown, records are dropped and counted, never queued.
    let subscriber = tracing_subscriber::registry().with(otlp.layer());
    tracing::subscriber::with_default(subscriber, || {
        tracing::info!("after shutdown");
    });
    assert!(otlp.flush(Duration::from_secs(1)).is_err());
    let after = otlp.stats();
    assert_eq!(after.logs.dropped, stats.logs.dropped + 1, "{after}");
    assert_eq!(after.logs.queued, 0, "{after}");
}

fn a_collector_that_never_answers_costs_timeouts_not_waits(path: Path) {
    // Accepts connections and never reads or answers.
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for stream in listener.incoming() {
            held.push(stream);
        }
    });
    let otlp = paths::build(
        Otlp::builder()
            .ignore_env()
            .endpoint(format!("http://127.0.0.1:{port}"))
            .timeout(Duration::from_millis(500))
            .delay(Duration::from_millis(10))
            .log_queue(1_000),
        path,
    );
    let subscriber = tracing_subscriber::registry().with(otlp.layer());
    tracing::subscriber::with_default(subscriber, || {
        assert!(log_many("stuck", 5_000) < NEVER_WAITS);
    });
    let started = Instant::now();
    let _ = otlp.flush(Duration::from_secs(20));
    let stats = otlp.stats();
    assert!(stats.logs.failed > 0 && stats.logs.dropped > 0, "{stats}");
    assert_eq!(stats.logs.exported, 0, "{stats}");
    assert!(stats.logs.queued <= most_queued(&otlp, 1_000), "{stats}");
    // Shutdown gives up at its own timeout, whatever the collector does.
    let shutdown = otlp.shutdown(Duration::from_secs(2));
    assert!(started.elapsed() < Duration::from_secs(25), "{shutdown:?}");
}

/// A collector that takes each request but refuses two of its spans
/// (OTLP's partial success), over HTTP/protobuf: those two are counted as
/// failed, the rest as exported.
#[test]
fn spans_a_collector_refuses_are_counted_failed() {
    use std::io::{BufRead, BufReader, Read, Write};

    use opentelemetry_proto::tonic::collector::trace::v1::{
        ExportTracePartialSuccess, ExportTraceServiceResponse,
    };
    use prost::Message;

    let answer = ExportTraceServiceResponse {
        partial_success: Some(ExportTracePartialSuccess {
            rejected_spans: 2,
            error_message: "two spans too old".into(),
        }),
    }
    .encode_to_vec();
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(stream) = stream else { continue };
            let answer = answer.clone();
            std::thread::spawn(move || {
                let mut reader = BufReader::new(stream);
                loop {
                    // One request: headers, then a body of Content-Length.
                    let mut length = 0usize;
                    loop {
                        let mut line = String::new();
                        if reader.read_line(&mut line).unwrap_or(0) == 0 {
                            return;
                        }
                        let lower = line.to_ascii_lowercase();
                        if let Some(v) = lower.strip_prefix("content-length:") {
                            length = v.trim().parse().unwrap_or(0);
                        }
                        if line == "\r\n" {
                            break;
                        }
                    }
                    let mut body = vec![0; length];
                    if reader.read_exact(&mut body).is_err() {
                        return;
                    }
                    let head = format!(
                        "HTTP/1.1 200 OK\r\ncontent-type: application/x-protobuf\r\ncontent-length: {}\r\n\r\n",
                        answer.len()
                    );
                    let stream = reader.get_mut();
                    if stream.write_all(head.as_bytes()).is_err()
                        || stream.write_all(&answer).is_err()
                    {
                        return;
                    }
                }
            });
        }
    });
    let otlp = Otlp::builder()
        .ignore_env()
        .endpoint(format!("http://127.0.0.1:{port}"))
        .protocol(warden_otlp::Protocol::HttpProtobuf)
        .timeout(Duration::from_secs(5))
        .build()
        .unwrap();
    let subscriber = tracing_subscriber::registry().with(otlp.layer().with_events(false));
    tracing::subscriber::with_default(subscriber, || {
        for i in 0..5 {
            let _span = tracing::info_span!("work", i).entered();
        }
    });
    otlp.flush(Duration::from_secs(10)).unwrap();
    let stats = otlp.stats();
    assert_eq!(
        (stats.spans.exported, stats.spans.failed),
        (3, 2),
        "{stats}"
    );
    otlp.shutdown(Duration::from_secs(5)).unwrap();
}

/// The most records `queued` may count with a queue of `queue`: the queue,
/// the batches in requests not answered yet (at most
/// `max_concurrent_exports` of `max_batch`), and the one batch taken off the
/// queue that waits for one of them to end.
fn most_queued(otlp: &Otlp, queue: usize) -> u64 {
    let config = otlp.config();
    (queue + (config.max_concurrent_exports + 1) * config.max_batch) as u64
}
