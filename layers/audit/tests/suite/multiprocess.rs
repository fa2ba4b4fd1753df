//! Many processes, one SQLite store: three writers started together on a
//! new file, and a fourth killed with SIGKILL in the middle of its run.
//! Every record a writer had acknowledged (flushed) is stored, each
//! writer's stream verifies, and each writer is done within 60 seconds.
//!
//! The writers are this test binary run again with `WARDEN_WRITER_DB` set:
//! `writer` (ignored in a normal run) is what each of them executes.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use tracing_subscriber::prelude::*;
use warden_audit::{AuditLayer, Query, StoreReader};
use warden_test_support::Scratch;

const EVENTS: u64 = 20_000;
const FLUSH_EVERY: u64 = 1_000;

/// One writer process: `WARDEN_WRITER_N` audit events with action
/// `WARDEN_WRITER_NAME`, flushed every `FLUSH_EVERY` (printing `acked=N`
/// after each flush), then shut down (printing `written=… dropped=…`).
#[test]
#[ignore = "run by multiple_processes_share_one_store as a writer process"]
fn writer() {
    let Ok(db) = std::env::var("WARDEN_WRITER_DB") else {
        return;
    };
    let name = std::env::var("WARDEN_WRITER_NAME").unwrap();
    let n: u64 = std::env::var("WARDEN_WRITER_N").unwrap().parse().unwrap();
    let audit = AuditLayer::sqlite(&db).unwrap();
    let subscriber = tracing_subscriber::registry().with(audit.clone());
    tracing::subscriber::with_default(subscriber, || {
        for i in 1..=n {
            warden_audit::api_call!(action = %name, resource_id = i);
            if i % FLUSH_EVERY == 0 {
                audit.flush(Duration::from_secs(30)).unwrap();
                println!("acked={i}");
            }
        }
    });
    let result = audit.shutdown(Duration::from_secs(30));
    let stats = &audit.stats()[0];
    println!("written={} dropped={}", stats.written, stats.dropped);
    result.unwrap();
}

/// The writer processes, killed when dropped: a failing test leaves none
/// behind.
struct Writers(Vec<Child>);

impl Drop for Writers {
    fn drop(&mut self) {
        for child in &mut self.0 {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// Waits for a writer; its standard output and error.
fn finish(child: &mut Child) -> (std::process::ExitStatus, String, String) {
    let mut stdout = String::new();
    let mut stderr = String::new();
    std::io::Read::read_to_string(child.stdout.as_mut().unwrap(), &mut stdout).unwrap();
    std::io::Read::read_to_string(child.stderr.as_mut().unwrap(), &mut stderr).unwrap();
    (child.wait().unwrap(), stdout, stderr)
}

fn spawn(db: &std::path::Path, name: &str, n: u64) -> Child {
    Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "multiprocess::writer",
            "--include-ignored",
            "--nocapture",
            "--test-threads=1",
        ])
        .env("WARDEN_WRITER_DB", db)
        .env("WARDEN_WRITER_NAME", name)
        .env("WARDEN_WRITER_N", n.to_string())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

/// The last `key=N` value a writer printed.
fn last(output: &str, key: &str) -> Option<u64> {
    output
        .split_whitespace()
        .rev()
        .find_map(|w| w.strip_prefix(key)?.strip_prefix('=')?.parse().ok())
}

fn stored(store: &StoreReader, action: &str) -> u64 {
    let query = Query {
        action: Some(action.to_owned()),
        ..Query::default()
    };
    store.query(&query).unwrap().len() as u64
}

#[test]
fn multiple_processes_share_one_store() {
    let dir = Scratch::new();
    let db = dir.path("audit.db");
    let started = Instant::now();
    let mut writers = Writers(
        (0..3)
            .map(|i| spawn(&db, &format!("writer-{i}"), EVENTS))
            .collect(),
    );
    // A fourth writer, killed once it has acknowledged some records.
    writers.0.push(spawn(&db, "killed", 10 * EVENTS));
    let victim = &mut writers.0[3];
    let mut victim_out = BufReader::new(victim.stdout.take().unwrap());
    let mut acked_before_kill = 0;
    let mut line = String::new();
    while acked_before_kill < 3 * FLUSH_EVERY {
        line.clear();
        if victim_out.read_line(&mut line).unwrap() == 0 {
            break;
        }
        acked_before_kill = last(&line, "acked").unwrap_or(acked_before_kill);
    }
    victim.kill().unwrap();
    victim.wait().unwrap();
    assert!(
        acked_before_kill >= 3 * FLUSH_EVERY,
        "the killed writer got records in first"
    );

    for (i, writer) in writers.0[..3].iter_mut().enumerate() {
        let (status, stdout, stderr) = finish(writer);
        assert!(status.success(), "writer {i} failed:\n{stdout}\n{stderr}");
        assert_eq!(
            last(&stdout, "written"),
            Some(EVENTS),
            "writer {i}:\n{stdout}\n{stderr}"
        );
        assert_eq!(
            last(&stdout, "dropped"),
            Some(0),
            "writer {i}:\n{stdout}\n{stderr}"
        );
    }
    assert!(
        started.elapsed() < Duration::from_secs(60),
        "the writers took {:?}",
        started.elapsed()
    );

    let store = StoreReader::open(&db).unwrap();
    for i in 0..3 {
        assert_eq!(stored(&store, &format!("writer-{i}")), EVENTS, "writer-{i}");
    }
    let killed = stored(&store, "killed");
    assert!(
        killed >= acked_before_kill,
        "{killed} stored of the {acked_before_kill} the killed writer had acknowledged"
    );
    // One stream per writer, each verified on its own.
    let report = warden_audit::verify(&db).unwrap();
    assert!(report.is_ok(), "{report}");
    assert_eq!(report.records, 3 * EVENTS + killed, "{report}");
    assert_eq!(report.streams.len(), 4, "{report}");
    let mut counts: Vec<u64> = report.streams.iter().map(|(_, r)| r.records).collect();
    counts.sort_unstable();
    assert_eq!(counts, [killed, EVENTS, EVENTS, EVENTS], "{report}");
    assert!(report.streams.iter().all(|(_, r)| r.is_ok()), "{report}");
    // The killed writer's stream ends without a shutdown checkpoint: an
    // unfinished tail, not a problem.
    assert!(
        report.to_string().contains("result:      OK (4 streams"),
        "{report}"
    );
}

/// A store another process keeps locked (a stuck writer, a long manual
/// transaction): the shutdown returns within its timeout, and the route's
/// counts say exactly which records it did not write.
#[test]
fn a_store_that_cannot_be_written_is_never_silent() {
    let dir = Scratch::new();
    let db = dir.path("audit.db");
    let audit = AuditLayer::sqlite(&db).unwrap();
    let dispatch = tracing::Dispatch::new(tracing_subscriber::registry().with(audit.clone()));
    tracing::dispatcher::with_default(&dispatch, || {
        for i in 0..100u64 {
            warden_audit::api_call!(action = "before", resource_id = i);
        }
    });
    audit.flush(Duration::from_secs(10)).unwrap();

    let blocker = rusqlite::Connection::open(&db).unwrap();
    blocker.execute_batch("BEGIN EXCLUSIVE").unwrap();
    tracing::dispatcher::with_default(&dispatch, || {
        for i in 0..50u64 {
            warden_audit::api_call!(action = "while_locked", resource_id = i);
        }
    });
    let started = Instant::now();
    let result = audit.shutdown(Duration::from_secs(2));
    let took = started.elapsed();
    assert!(
        result.is_err(),
        "the store could not be written: {result:?}"
    );
    assert!(took < Duration::from_secs(3), "the shutdown took {took:?}");
    let stats = &audit.stats()[0];
    assert_eq!(
        (stats.queued, stats.written, stats.pending, stats.dropped),
        (150, 100, 50, 0),
        "{stats:?}"
    );
    blocker.execute_batch("ROLLBACK").unwrap();
    let report = warden_audit::verify(&db).unwrap();
    assert!(report.is_ok(), "{report}");
}
