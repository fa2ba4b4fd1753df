//! The soak run (issue 27): `init()`'s stack under a steady load for
//! minutes, exporting to a real collector that is killed and restarted
//! every minute, auditing to SQLite, its ops endpoint scraped every second.
//! At the end it reports the process's memory (maximum, and growth after
//! the warm-up), each signal's records (exported + dropped + failed +
//! queued against produced) and the audit store's verification, and
//! fails (exit 1) if a count does not add up, a record of the audit store
//! is missing, the store does not verify, or memory grew past the bound.
//!
//! `scripts/soak [SECONDS] [REQUESTS_PER_SECOND]` runs it (release build);
//! `./scripts/test` runs 60 seconds. Without `--seconds` (as `cargo
//! bench` runs every bench) it does nothing.
//!
//! A request is issue 16's unit: a root span and a child, three events
//! (one with an email for the gate), and one request in ten writes an
//! audit record.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

mod common;

use warden::flood::{FloodLimit, Rate};
use warden::otlp::{Otlp, SignalStats};
use warden_test_support::{Collector, Scratch};

/// What the heap (`RssAnon`) may grow after the warm-up (the first fifth
/// of the run) besides the audit store's page cache: what queues, pools
/// and caches may still fill, not a leak.
const HEAP_GROWTH_BOUND: u64 = 16 * 1024 * 1024;

/// The SQLite store's page cache (`cache_size`, 64 MiB) fills as the
/// store grows, by design (`layers/audit/src/sqlite/store.rs`): the heap it
/// takes for a store of `bytes`, with its headers (1.3× the pages,
/// measured: the heap stops growing at 84.6 MiB once the store passes
/// 64 MiB).
fn page_cache(bytes: u64) -> u64 {
    bytes.min(64 * 1024 * 1024) * 13 / 10
}

/// The store's memory map (`mmap_size`, 256 MiB): its file pages count in
/// the RSS as the store grows into it.
fn store_map(bytes: u64) -> u64 {
    bytes.min(256 * 1024 * 1024)
}

struct Settings {
    seconds: u64,
    rate: u64,
    threads: usize,
    restart_every: Duration,
    audit_every: u64,
}

fn settings() -> Option<Settings> {
    let args: Vec<String> = std::env::args().collect();
    let value = |name: &str| {
        args.iter()
            .position(|a| a == name)
            .and_then(|i| args.get(i + 1))
            .and_then(|v| v.parse::<u64>().ok())
    };
    Some(Settings {
        seconds: value("--seconds")?,
        rate: value("--rate").unwrap_or(20_000),
        threads: value("--threads").map_or(2, |t| t.max(1) as usize),
        restart_every: Duration::from_secs(value("--restart-every").unwrap_or(60)),
        audit_every: value("--audit-every").unwrap_or(10).max(1),
    })
}

/// The process's resident memory now (`VmRSS`, or another line of
/// `/proc/self/status`: `RssAnon` is the heap's part, `RssFile` the
/// mapped files').
fn status(line: &str) -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix(line)?.strip_prefix(':'))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        })
        .map_or(0, |kb| kb * 1024)
}

fn rss() -> u64 {
    status("VmRSS")
}

/// One request of the load (issue 16's unit, as the probe counts it), and
/// one in `audit_every` an audit record; whether it wrote one.
fn request(n: u64, audit_every: u64) -> bool {
    common::request_unit(n);
    let audited = n % audit_every == 0;
    if audited {
        warden::audit::security!(action = "order_charged", user_id = "u-7", order = n);
    }
    audited
}

/// `GET /metrics` on the ops endpoint: whether it answered 200.
fn scrape(addr: SocketAddr) -> bool {
    let Ok(mut stream) = TcpStream::connect_timeout(&addr, Duration::from_secs(1)) else {
        return false;
    };
    let _ = stream.set_read_timeout(Some(Duration::from_secs(2)));
    if stream
        .write_all(b"GET /metrics HTTP/1.1\r\nhost: soak\r\nconnection: close\r\n\r\n")
        .is_err()
    {
        return false;
    }
    let mut answer = Vec::new();
    let _ = stream.read_to_end(&mut answer);
    answer.starts_with(b"HTTP/1.1 200")
}

fn main() {
    let Some(settings) = settings() else {
        eprintln!("soak: nothing to do without --seconds (see scripts/soak)");
        return;
    };
    // Everything it started (the collector, the scratch folder) is gone
    // when `soak` returns, before the exit status is set.
    let problems = soak(&settings);
    if !problems.is_empty() {
        eprintln!("soak FAILED: {}", problems.join("; "));
        std::process::exit(1);
    }
}

/// The run; what did not hold.
fn soak(settings: &Settings) -> Vec<String> {
    let dir = Scratch::new();
    let mut collector = Collector::start_quiet();
    let db = dir.path("audit.db");
    // The flood limit as init() has it, at a rate the load stays under:
    // every line is counted, none suppressed (suppression is tested on
    // its own).
    let flood = FloodLimit::builder().rate(Rate::new(
        (settings.rate * 2) as u32,
        (settings.rate * 4) as u32,
    ));
    let without = std::env::var("SOAK_WITHOUT").unwrap_or_default();
    let mut builder = warden::Warden::builder()
        .audit_sqlite(&db)
        .otlp(Otlp::builder().ignore_env().endpoint(collector.grpc()))
        .ops_addr(SocketAddr::from(([127, 0, 0, 1], 0)))
        .flood_limit(flood)
        .writer(std::io::sink);
    // For hunting: a part left out (`SOAK_WITHOUT=otlp,metrics`).
    for part in without.split(',') {
        builder = match part {
            "otlp" => builder.without_otlp(),
            "metrics" => builder.without_metrics(),
            "pii" => builder.without_pii(),
            "json" => builder.without_json(),
            "correlation" => builder.without_correlation(),
            "audit" => builder.without_audit(),
            _ => builder,
        };
    }
    let (subscriber, guard) = builder.build().expect("the stack");
    let dispatch = tracing::Dispatch::new(subscriber);
    let ops = guard.ops_addr().expect("the ops endpoint");

    let stop = Arc::new(AtomicBool::new(false));
    let requests = Arc::new(AtomicU64::new(0));
    let audits = Arc::new(AtomicU64::new(0));
    let started = Instant::now();
    let total = Duration::from_secs(settings.seconds);
    // The load: each thread its share of the rate, a millisecond's worth
    // at a time, on a fixed schedule (what falls behind is not caught up).
    let per_thread_per_ms = (settings.rate as f64 / settings.threads as f64) / 1000.0;
    let threads = settings.threads as u64;
    let audit_every = settings.audit_every;
    let workers: Vec<_> = (0..settings.threads)
        .map(|t| {
            let (stop, requests, audits, dispatch) = (
                Arc::clone(&stop),
                Arc::clone(&requests),
                Arc::clone(&audits),
                dispatch.clone(),
            );
            std::thread::spawn(move || {
                tracing::dispatcher::with_default(&dispatch, || {
                    let mut owed = 0.0;
                    let mut next = Instant::now();
                    let mut n = t as u64;
                    while !stop.load(Ordering::Relaxed) {
                        owed += per_thread_per_ms;
                        while owed >= 1.0 {
                            if request(n, audit_every) {
                                audits.fetch_add(1, Ordering::Relaxed);
                            }
                            n += threads;
                            requests.fetch_add(1, Ordering::Relaxed);
                            owed -= 1.0;
                        }
                        next += Duration::from_millis(1);
                        if let Some(wait) = next.checked_duration_since(Instant::now()) {
                            std::thread::sleep(wait);
                        } else if next + Duration::from_millis(100) < Instant::now() {
                            // Too far behind: drop the schedule, not the rate.
                            next = Instant::now();
                            owed = 0.0;
                        }
                    }
                });
            })
        })
        .collect();

    // Every second: a scrape and a memory reading; every minute, the
    // collector killed and restarted.
    let warm_up = total / 5;
    let (mut scrapes, mut failed_scrapes, mut restarts) = (0u64, 0u64, 0u64);
    let mut max_rss = 0u64;
    let (file_at_start, mut max_file) = (status("RssFile"), 0u64);
    // The heap and the store's size when the warm-up ends, and the
    // heap's largest since.
    let (mut at_warm_up, mut max_heap) = (None, 0u64);
    let store_size = || std::fs::metadata(&db).map_or(0, |m| m.len());
    let mut last_restart = Instant::now();
    // RSS at each tenth of the run, for the trend.
    let mut trace = Vec::new();
    while started.elapsed() < total {
        std::thread::sleep(Duration::from_secs(1));
        scrapes += 1;
        if !scrape(ops) {
            failed_scrapes += 1;
        }
        let now = rss();
        max_rss = max_rss.max(now);
        max_file = max_file.max(status("RssFile"));
        if scrapes % (settings.seconds / 10).max(1) == 0 {
            trace.push((now, status("RssAnon"), store_size()));
        }
        if started.elapsed() >= warm_up {
            let heap = status("RssAnon");
            at_warm_up.get_or_insert((heap, store_size()));
            max_heap = max_heap.max(heap);
        }
        if last_restart.elapsed() >= settings.restart_every
            && started.elapsed() + Duration::from_secs(5) < total
        {
            collector.kill();
            std::thread::sleep(Duration::from_secs(2));
            collector.restart();
            restarts += 1;
            last_restart = Instant::now();
        }
    }
    stop.store(true, Ordering::Relaxed);
    let mib = |b: u64| b as f64 / 1048576.0;
    println!(
        "at each tenth of the run, MiB: RSS (heap part) [audit store's size]: {}",
        trace
            .iter()
            .map(|(rss, anon, db)| format!(
                "{:.1} ({:.1}) [{:.1}]",
                mib(*rss),
                mib(*anon),
                mib(*db)
            ))
            .collect::<Vec<_>>()
            .join(", ")
    );

    for worker in workers {
        let _ = worker.join();
    }
    let produced = requests.load(Ordering::Relaxed);
    let audited = audits.load(Ordering::Relaxed);
    let elapsed = started.elapsed();
    let report = guard.shutdown_report(Duration::from_secs(10));
    drop(dispatch);

    // Each signal: what the stack captured against what was produced.
    let exporting = report.otlp.is_some();
    let otlp = report.otlp.unwrap_or_default();
    let all = |s: SignalStats| s.exported + s.dropped + s.failed + s.queued;
    let audit_route = report
        .audit
        .iter()
        .find(|r| r.name == "sqlite")
        .expect("the SQLite route");
    let verify = warden::audit::verify(&db).expect("the store opens");
    let checkpoints = verify.checkpoints;
    let suppressed = guard.flood().map_or(0, |f| f.suppressed());
    let mut problems = Vec::new();
    let mut check = |what: &str, got: u64, want: u64| {
        let verdict = if got == want { "ok" } else { "DOES NOT ADD UP" };
        println!("{what:<44} {got:>12} of {want:>12}  {verdict}");
        if got != want {
            problems.push(what.to_owned());
        }
    };
    println!(
        "soak: {} s at {} requests/s asked, {} requests done ({:.0}/s), {} collector restarts, {} scrapes ({} failed)",
        elapsed.as_secs(),
        settings.rate,
        produced,
        produced as f64 / elapsed.as_secs_f64(),
        restarts,
        scrapes,
        failed_scrapes
    );
    if exporting {
        println!("{}", otlp);
        check("spans accounted for", all(otlp.spans), 2 * produced);
        check(
            "log records accounted for",
            all(otlp.logs),
            3 * produced + audited,
        );
        check(
            "audit records + checkpoints to OTLP",
            all(otlp.audit),
            audited + checkpoints,
        );
    }
    check(
        "audit records written to SQLite",
        audit_route.written,
        audited,
    );
    check(
        "audit records in the verified store",
        verify.records,
        audited,
    );
    check("lines suppressed by the flood limit", suppressed, 0);
    let (heap_at_warm_up, store_at_warm_up) = at_warm_up.unwrap_or((max_heap, 0));
    let store_at_end = std::fs::metadata(&db).map_or(0, |m| m.len());
    let growth = max_heap.saturating_sub(heap_at_warm_up);
    let cache_growth = page_cache(store_at_end) - page_cache(store_at_warm_up);
    let bound = cache_growth + HEAP_GROWTH_BOUND;
    println!(
        "memory: max RSS {:.1} MiB; heap after the warm-up ({} s) {:.1} MiB, growth {:.1} MiB \
         (bound {:.1} MiB: the store's page cache {:.1} MiB as the store grew from {:.1} to {:.1} MiB, \
         and {:.0} MiB)",
        mib(max_rss),
        warm_up.as_secs(),
        mib(heap_at_warm_up),
        mib(growth),
        mib(bound),
        mib(cache_growth),
        mib(store_at_warm_up),
        mib(store_at_end),
        mib(HEAP_GROWTH_BOUND)
    );
    println!(
        "exported: spans {:.2}%, log records {:.2}%",
        100.0 * otlp.spans.exported as f64 / (2 * produced).max(1) as f64,
        100.0 * otlp.logs.exported as f64 / (3 * produced + audited).max(1) as f64
    );
    println!(
        "audit verify: {}",
        if verify.is_ok() { "OK" } else { "FAILED" }
    );
    println!("{report}");
    if !verify.is_ok() {
        problems.push(format!("audit verify:\n{verify}"));
    }
    // The rest of the RSS is mapped files: the binary, its libraries, and
    // the store read through its map as it grows.
    let file_bound = file_at_start + store_map(store_at_end) + 8 * 1024 * 1024;
    println!(
        "mapped files in the RSS: {:.1} MiB at the start, {:.1} MiB at most (bound {:.1} MiB: \
         the start's, the store's map, and 8 MiB)",
        mib(file_at_start),
        mib(max_file),
        mib(file_bound)
    );
    if max_file > file_bound {
        problems.push(format!(
            "mapped files grew to {:.1} MiB, beyond the store's map",
            mib(max_file)
        ));
    }
    if growth > bound {
        problems.push(format!(
            "the heap grew {:.1} MiB after the warm-up, beyond the store's page cache",
            mib(growth)
        ));
    }
    if failed_scrapes > 0 {
        problems.push(format!("{failed_scrapes} scrapes failed"));
    }
    problems
}
