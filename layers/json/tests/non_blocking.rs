//! The non-blocking writer against a real pipe whose reader stops, then
//! resumes: the logging call never waits, what could not be queued is
//! dropped and counted, and the writer says so in-band once writing
//! resumes.

use std::io::Read;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use tracing_subscriber::prelude::*;
use warden_json::{JsonLayer, NonBlocking};

/// A reader that reads nothing for a second, then everything: the process,
/// the pipe to it, and what it will have read (once the pipe is closed).
fn stopped_reader() -> (
    std::process::Child,
    std::process::ChildStdin,
    std::thread::JoinHandle<String>,
) {
    let mut reader = Command::new("sh")
        .args(["-c", "sleep 1; cat"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("sh");
    let pipe = reader.stdin.take().unwrap();
    let mut out = reader.stdout.take().unwrap();
    let collected = std::thread::spawn(move || {
        let mut text = String::new();
        out.read_to_string(&mut text).unwrap();
        text
    });
    (reader, pipe, collected)
}

#[test]
fn a_stopped_reader_never_blocks_the_logging_call_and_every_line_is_accounted_for() {
    let (mut reader, pipe, collected) = stopped_reader();

    let (writer, guard) = NonBlocking::new(pipe, 64);
    let counts = writer.clone();
    let layer = JsonLayer::new().with_writer(writer);
    let produced = 100_000u64;
    let mut slowest = Duration::ZERO;
    let mut over_a_millisecond = 0;
    tracing::subscriber::with_default(tracing_subscriber::registry().with(layer), || {
        for i in 0..produced - 10 {
            let start = Instant::now();
            tracing::info!(i, "a line while the reader has stopped");
            let took = start.elapsed();
            slowest = slowest.max(took);
            over_a_millisecond += u32::from(took > Duration::from_millis(1));
        }
        // The reader resumes.
        std::thread::sleep(Duration::from_millis(1500));
        for i in 0..10 {
            tracing::info!(i, "a line after it resumed");
            std::thread::sleep(Duration::from_millis(5));
        }
    });
    guard.shutdown(Duration::from_secs(10)).unwrap();
    let status = reader.wait().unwrap();
    assert!(status.success());
    let text = collected.join().unwrap();

    let json = text.lines().filter(|l| l.starts_with('{')).count() as u64;
    let said: Vec<u64> = text
        .lines()
        .filter_map(|l| l.strip_prefix("warden: ")?.strip_suffix(" lines dropped"))
        .map(|n| n.parse().unwrap())
        .collect();
    let dropped = counts.dropped();
    assert!(dropped > 0, "the pipe and the queue filled");
    // Never waiting on the reader: a call over 1 ms is the scheduler's (a
    // preempted thread on a shared machine), one in two thousand at most.
    assert!(
        over_a_millisecond <= 50 && slowest < Duration::from_millis(100),
        "{over_a_millisecond} calls over 1 ms, the slowest {slowest:?}"
    );
    assert_eq!(json, counts.written());
    assert_eq!(json + dropped, produced, "every line written or counted");
    assert_eq!(
        said.iter().sum::<u64>(),
        dropped,
        "and said in-band: {said:?}"
    );
    // Said when writing resumed, before the lines logged after.
    let said_at = text.find("warden: ").unwrap();
    let resumed_at = text.find("a line after it resumed").unwrap();
    assert!(said_at < resumed_at);
}

/// The README's statement of the default writer: a line waits until the
/// pipe takes it, and nothing is lost.
#[test]
fn the_default_writer_waits_for_a_stopped_reader_and_loses_nothing() {
    let (mut reader, pipe, collected) = stopped_reader();
    let pipe = std::sync::Mutex::new(pipe);
    let layer = JsonLayer::new().with_writer(pipe);
    let produced = 20_000;
    let start = Instant::now();
    tracing::subscriber::with_default(tracing_subscriber::registry().with(layer), || {
        for i in 0..produced {
            tracing::info!(i, "a line while the reader has stopped");
        }
    });
    let waited = start.elapsed();
    // The layer (and the pipe's writing end) is dropped with the
    // subscriber: the reader sees the end.
    assert!(reader.wait().unwrap().success());
    let text = collected.join().unwrap();
    assert!(
        waited >= Duration::from_millis(800),
        "it waited for the reader: {waited:?}"
    );
    assert_eq!(text.lines().count(), produced, "nothing lost");
}
