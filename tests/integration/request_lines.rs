//! A failed request's debug lines (issue 26, part 3): held in the request
//! below the log level, written in order with their own time, span and
//! correlation ID and `"buffered": true` when it fails, dropped when it
//! ends clean; bounded per request and in all; counted exactly.

use std::time::Duration;

use warden::Warden;
use warden::otlp::Otlp;
use warden::request_lines::{RequestLines, RequestLinesStats};
use warden_test_support::{Buffer, collector::Collector};

/// `init()`'s stack at `info` with `lines`, no audit store, its JSON lines
/// to `writer`, and OTLP to `collector` if given.
fn stack<W>(
    lines: warden::request_lines::RequestLinesBuilder,
    collector: Option<&Collector>,
    writer: W,
) -> (warden::Subscriber, warden::WardenGuard)
where
    W: for<'w> tracing_subscriber::fmt::MakeWriter<'w> + Send + Sync + 'static,
{
    stack_tuned(lines, collector, writer, |builder| builder)
}

/// [`stack`], with something more set on its builder.
fn stack_tuned<W>(
    lines: warden::request_lines::RequestLinesBuilder,
    collector: Option<&Collector>,
    writer: W,
    tune: impl FnOnce(warden::WardenBuilder) -> warden::WardenBuilder,
) -> (warden::Subscriber, warden::WardenGuard)
where
    W: for<'w> tracing_subscriber::fmt::MakeWriter<'w> + Send + Sync + 'static,
{
    let builder = Warden::builder()
        .filter("info")
        .request_lines(lines)
        .without_audit()
        .writer(writer);
    let builder = match collector {
        Some(c) => builder.otlp(Otlp::builder().ignore_env().endpoint(c.grpc())),
        None => builder.without_otlp(),
    };
    tune(builder).build().unwrap()
}

/// The lines whose message starts with `prefix`.
fn with_message(lines: &[serde_json::Value], prefix: &str) -> Vec<serde_json::Value> {
    lines
        .iter()
        .filter(|l| l["message"].as_str().is_some_and(|m| m.starts_with(prefix)))
        .cloned()
        .collect()
}

#[test]
fn a_failed_request_writes_its_held_lines_in_order_and_a_clean_one_drops_them() {
    let collector = Collector::start();
    let lines = Buffer::default();
    let (subscriber, guard) = stack(RequestLines::builder(), Some(&collector), lines.clone());
    tracing::subscriber::with_default(subscriber, || {
        // Ends clean: its DEBUG lines are dropped.
        {
            let _request = tracing::info_span!("request", correlation_id = "req-clean").entered();
            for n in 0..10u64 {
                tracing::debug!(n, "clean step");
            }
            tracing::info!("clean done");
        }
        // Fails with an ERROR line: five lines in the request, five in a
        // span still open, sanitized when written, then the error.
        {
            let _request = tracing::info_span!("request", correlation_id = "req-failed").entered();
            for n in 0..5u64 {
                tracing::debug!(n, user = "ada@example.com", "failed step");
                std::thread::sleep(Duration::from_millis(1));
            }
            let _db = tracing::info_span!("db", table = "orders").entered();
            for n in 5..10u64 {
                tracing::debug!(n, "failed step");
            }
            tracing::error!("payment refused");
            // Failed already: written as it comes.
            tracing::debug!(n = 10u64, "failed step");
        }
        // Fails by its `error` field (the request layer's 5xx), recorded
        // after a child span that held a line has closed.
        {
            let request = tracing::info_span!(
                "request",
                correlation_id = "req-500",
                error = tracing::field::Empty
            );
            let _entered = request.enter();
            tracing::info_span!("cache").in_scope(|| tracing::debug!("record step"));
            request.record("error", true);
        }
        // Fails by a call.
        {
            let _request = tracing::info_span!("request", correlation_id = "req-flushed").entered();
            tracing::debug!("flushed step");
            assert_eq!(guard.request_lines().unwrap().flush_current(), 1);
        }
    });
    let json = lines.lines();
    assert!(
        with_message(&json, "clean step").is_empty(),
        "{}",
        lines.contents()
    );
    assert_eq!(with_message(&json, "clean done").len(), 1);

    // The failed request: its eleven lines, in order, before and after the error.
    let messages: Vec<&str> = json
        .iter()
        .filter(|l| l["correlation_id"] == "req-failed")
        .map(|l| l["message"].as_str().unwrap())
        .collect();
    let mut expected = vec!["failed step"; 10];
    expected.extend(["payment refused", "failed step"]);
    assert_eq!(messages, expected, "{}", lines.contents());
    let failed = with_message(&json, "failed step");
    let numbers: Vec<u64> = failed.iter().map(|l| l["n"].as_u64().unwrap()).collect();
    assert_eq!(numbers, (0..=10).collect::<Vec<_>>());
    for line in &failed[..10] {
        assert_eq!(line["buffered"], true, "{line}");
        assert_eq!(line["level"], "DEBUG");
    }
    assert!(
        failed[10].get("buffered").is_none(),
        "written as it came: {}",
        failed[10]
    );
    // Their own time (apart by the sleeps, and before the error's), and their own span.
    let time = |l: &serde_json::Value| l["timestamp"].as_str().unwrap().to_owned();
    let error_time = time(&with_message(&json, "payment refused")[0]);
    assert!(time(&failed[0]) < time(&failed[4]) && time(&failed[9]) <= error_time);
    assert_eq!(failed[0]["span"]["name"], "request", "{}", failed[0]);
    assert_eq!(failed[7]["span"]["name"], "db", "{}", failed[7]);
    assert_eq!(failed[0]["user"], "[REDACTED:EMAIL]");
    assert!(!lines.contents().contains("ada@example.com"));

    // The 500: written at its close, in the request (its own span had closed).
    let recorded = with_message(&json, "record step");
    assert_eq!(recorded.len(), 1, "{}", lines.contents());
    assert_eq!(recorded[0]["buffered"], true);
    assert_eq!(recorded[0]["correlation_id"], "req-500");
    assert_eq!(recorded[0]["span"]["name"], "request");
    assert_eq!(
        with_message(&json, "flushed step")[0]["correlation_id"],
        "req-flushed"
    );

    assert_eq!(
        guard.request_lines().unwrap().stats(),
        RequestLinesStats {
            held: 10 + 10 + 1 + 1,
            written: 10 + 1 + 1,
            discarded: 10,
            ..RequestLinesStats::default()
        }
    );

    // OTLP log records too, with their own time and the mark.
    guard.flush(Duration::from_secs(10)).unwrap();
    assert!(
        collector.wait_for(Duration::from_secs(10), |o| o
            .matches("failed step")
            .count()
            == 11),
        "{}",
        collector.output()
    );
    let output = collector.output();
    assert_eq!(
        output.matches("buffered: Bool(true)").count(),
        12,
        "{output}"
    );
    assert!(!output.contains("clean step") && !output.contains("ada@example.com"));
}

/// 1,000 requests open at once, each holding lines, against a memory
/// bound that cannot take them all: the bytes held never pass it, and
/// every line is held, dropped or later written or discarded, exactly.
#[test]
fn a_thousand_open_requests_stay_within_the_memory_bound_and_every_line_is_counted() {
    const MEMORY: usize = 512 * 1024;
    let held = RequestLines::builder().memory(MEMORY).max_events(2);
    let (subscriber, guard) = stack(held, None, std::io::sink);
    let lines = guard.request_lines().unwrap().clone();
    let mut produced = 0u64;
    tracing::subscriber::with_default(subscriber, || {
        let requests: Vec<tracing::Span> = (0..1_000)
            .map(|n| tracing::info_span!("request", n))
            .collect();
        for round in 0..10u64 {
            for request in &requests {
                tracing::debug!(parent: request, round, detail = "x".repeat(64), "working");
                produced += 1;
            }
            assert!(
                lines.stats().bytes_held as usize <= MEMORY,
                "{:?}",
                lines.stats()
            );
        }
        let stats = lines.stats();
        assert!(stats.dropped_memory > 0, "the bound was reached: {stats:?}");
        assert!(
            stats.dropped_request_full > 0,
            "two lines a request: {stats:?}"
        );
        assert_eq!(
            stats.held + stats.dropped_memory + stats.dropped_request_full,
            produced
        );
        // Half of them fail.
        for request in requests.iter().step_by(2) {
            tracing::error!(parent: request, "failed");
        }
        drop(requests);
    });
    let stats = lines.stats();
    assert_eq!(stats.bytes_held, 0, "{stats:?}");
    assert_eq!(stats.written + stats.discarded, stats.held, "{stats:?}");
    assert!(stats.written > 0 && stats.discarded > 0, "{stats:?}");
}

/// Sampling at 0.1 over 10,000 requests, 2% of them failing and 1% slow:
/// every failed and every slow request complete, the rest kept within ±1%
/// of 10%, and a second stack fed the same IDs keeps the same requests.
///
/// On a loaded machine a request meant to be fast may stall past the slow
/// threshold and be kept late, as it should: each request's time is
/// measured around its span, and one that took 20 ms or more is not
/// counted among the fast ones.
#[test]
fn sampling_keeps_a_tenth_by_id_and_every_failed_and_slow_request_whole() {
    const REQUESTS: usize = 10_000;
    const SLOW: Duration = Duration::from_millis(20);
    let run = || {
        let lines = Buffer::default();
        let sampled = RequestLines::builder().sample(0.1).slow(SLOW);
        let (subscriber, guard) = stack(sampled, None, lines.clone());
        let mut took = vec![Duration::ZERO; REQUESTS];
        tracing::subscriber::with_default(subscriber, || {
            for (n, took) in took.iter_mut().enumerate() {
                let start = std::time::Instant::now();
                let id = format!("req-{n}");
                let request = tracing::info_span!("request", correlation_id = %id).entered();
                tracing::info!(n, "started");
                tracing::debug!(n, "detail");
                if n % 100 == 7 {
                    // 1% slow.
                    std::thread::sleep(Duration::from_millis(25));
                }
                tracing::info!(n, "step");
                if n % 50 == 3 {
                    // 2% failing.
                    tracing::error!(n, "failed");
                }
                tracing::warn!(n, "never sampled");
                drop(request);
                *took = start.elapsed();
            }
        });
        let stats = guard.request_lines().unwrap().stats();
        (lines.lines(), stats, took)
    };
    let (json, stats, took) = run();
    // Slow by the layer's clock only if slow by this one, which encloses it.
    let may_be_slow = |took: &[Duration], n: usize| took[n] >= SLOW;
    // Per request: its INFO lines written, and whether its DEBUG one was.
    let mut info = vec![0usize; REQUESTS];
    let mut debug = vec![0usize; REQUESTS];
    let mut warn = vec![0usize; REQUESTS];
    for line in &json {
        let n = line["n"].as_u64().unwrap() as usize;
        match line["level"].as_str().unwrap() {
            "INFO" => info[n] += 1,
            "DEBUG" => debug[n] += 1,
            "WARN" => warn[n] += 1,
            _ => {}
        }
    }
    assert!(warn.iter().all(|&w| w == 1), "WARN lines are never sampled");
    let failed = |n: usize| n % 50 == 3;
    let slow = |n: usize| n % 100 == 7;
    for n in 0..REQUESTS {
        if failed(n) || slow(n) {
            assert_eq!(info[n], 2, "request {n} (failed or slow) whole");
        }
        assert!(info[n] == 0 || info[n] == 2, "request {n}: all or none");
        // DEBUG lines only for the failed ones, sampled or not.
        assert_eq!(debug[n], usize::from(failed(n)), "request {n}");
    }
    let rest: Vec<usize> = (0..REQUESTS)
        .filter(|&n| !failed(n) && !slow(n) && !may_be_slow(&took, n))
        .collect();
    let kept = rest.iter().filter(|&&n| info[n] == 2).count();
    let share = kept as f64 / rest.len() as f64;
    assert!(
        (0.09..=0.11).contains(&share),
        "kept {kept} of {}: {share}",
        rest.len()
    );
    // Every request is accounted for: one its ID does not keep is kept
    // late (failed or slow) or sampled out.
    let unkept = |n: usize| !warden::request_lines::keeps(&format!("req-{n}"), 0.1);
    let count = |f: &dyn Fn(usize) -> bool| (0..REQUESTS).filter(|&n| f(n)).count() as u64;
    assert_eq!(
        stats.requests_kept_late + stats.requests_sampled_out,
        count(&|n| unkept(n)),
        "{stats:?}"
    );
    let surely_late = count(&|n| unkept(n) && (failed(n) || slow(n)));
    let maybe_late = count(&|n| unkept(n) && (failed(n) || slow(n) || may_be_slow(&took, n)));
    assert!(
        (surely_late..=maybe_late).contains(&stats.requests_kept_late),
        "{surely_late}..={maybe_late}: {stats:?}"
    );

    // A second stack, fed the same IDs, keeps the same requests (but those
    // that stalled past the threshold in either run).
    let (again, _, took_again) = run();
    let kept_in = |lines: &[serde_json::Value]| {
        let mut kept: Vec<u64> = lines
            .iter()
            .filter(|l| l["message"] == "started")
            .map(|l| l["n"].as_u64().unwrap())
            .filter(|&n| {
                let n = n as usize;
                !may_be_slow(&took, n) && !may_be_slow(&took_again, n)
            })
            .collect();
        kept.sort_unstable();
        kept
    };
    assert_eq!(kept_in(&json), kept_in(&again));
}

/// Sampling reaches the spans too: a request sampling did not keep sends
/// none of its spans unless it failed or was slow, when it sends them all;
/// the others are counted `sampled_out`, not lost.
#[test]
fn sampling_exports_the_spans_of_kept_failed_and_slow_requests_only() {
    const REQUESTS: usize = 200;
    let collector = Collector::start();
    let sampled = RequestLines::builder()
        .sample(0.3)
        .slow(Duration::from_millis(20));
    let (subscriber, guard) = stack(sampled, Some(&collector), std::io::sink);
    let id = |n: usize| format!("req-{n:04}");
    let failed = |n: usize| n % 10 == 3;
    let slow = |n: usize| n % 25 == 7;
    tracing::subscriber::with_default(subscriber, || {
        for n in 0..REQUESTS {
            let id = id(n);
            let _request =
                tracing::info_span!("request", correlation_id = %id, req = %id).entered();
            tracing::info_span!("step", req = %id).in_scope(|| {
                if failed(n) {
                    tracing::error!("failed");
                }
            });
            if slow(n) {
                std::thread::sleep(Duration::from_millis(25));
            }
        }
    });
    guard.flush(Duration::from_secs(10)).unwrap();
    let sent = |n: usize| failed(n) || slow(n) || warden::request_lines::keeps(&id(n), 0.3);
    let expected = (0..REQUESTS).filter(|&n| sent(n)).count() * 2;
    assert!(
        collector.wait_for(Duration::from_secs(10), |o| o
            .matches("req: Str(req-")
            .count()
            >= expected),
        "{}",
        collector.output()
    );
    let output = collector.output();
    for n in 0..REQUESTS {
        let spans = output.matches(&format!("req: Str({})", id(n))).count();
        assert_eq!(spans, if sent(n) { 2 } else { 0 }, "request {n}");
    }
    let stats = guard.otlp().unwrap().stats();
    let sampled_out = (0..REQUESTS).filter(|&n| !sent(n)).count() as u64 * 2;
    assert_eq!(stats.spans.sampled_out, sampled_out, "{stats:?}");
    assert_eq!(stats.spans.lost(), 0);
}

/// Lines held raw and sanitized only when written (the part before the
/// gate): the same lines, in the same order, written sanitized when the
/// request fails.
#[test]
fn lines_held_raw_are_written_sanitized_the_same() {
    let lines = Buffer::default();
    let raw = RequestLines::builder().sanitize_held(false);
    let (subscriber, guard) = stack(raw, None, lines.clone());
    tracing::subscriber::with_default(subscriber, || {
        let _request = tracing::info_span!("request", correlation_id = "req-s").entered();
        tracing::debug!(n = 0u64, user = "ada@example.com", "held");
        tracing::debug!(n = 1u64, "held");
        tracing::error!("failed");
    });
    let json = lines.lines();
    let held = with_message(&json, "held");
    assert_eq!(held.len(), 2, "{}", lines.contents());
    assert_eq!(held[0]["user"], "[REDACTED:EMAIL]");
    assert_eq!(
        (held[0]["n"].as_u64(), held[1]["n"].as_u64()),
        (Some(0), Some(1))
    );
    assert!(held.iter().all(|l| l["buffered"] == true));
    assert!(!lines.contents().contains("ada@example.com"));
    let stats = guard.request_lines().unwrap().stats();
    assert_eq!((stats.held, stats.written), (2, 2), "{stats:?}");
}

/// A held line written late was counted by the flood limit when it was
/// logged: written later, in a flood of its call site, it is not
/// suppressed (and every line the request layer says it wrote is there).
#[test]
fn held_lines_written_late_are_not_suppressed_by_the_flood_limit() {
    use warden::flood::{FloodLimit, Rate};

    let lines = Buffer::default();
    // No request kept by sampling, every one slow: their INFO lines wait,
    // then are written at their close.
    let sampled = RequestLines::builder().sample(0.0).slow(Duration::ZERO);
    let flood = FloodLimit::builder().target("app::retry", Rate::new(1, 5));
    let (subscriber, guard) = stack_tuned(sampled, None, lines.clone(), |b| b.flood_limit(flood));
    tracing::subscriber::with_default(subscriber, || {
        let _request = tracing::info_span!("request").entered();
        for attempt in 0..20u64 {
            tracing::info!(target: "app::retry", attempt, "retrying");
        }
    });
    let stats = guard.request_lines().unwrap().stats();
    let written = lines.contents().matches("\"retrying\"").count() as u64;
    assert_eq!(
        stats.written, 5,
        "a burst of five, the rest suppressed: {stats:?}"
    );
    assert_eq!(written, stats.written, "{}", lines.contents());
}
