//! Flood limits per call site (`warden::flood`), with a real registry and a
//! layer that records what reached it.

use std::time::{Duration, Instant};

use tracing_subscriber::prelude::*;
use warden::flood::{FLOOD_TARGET, FloodLimit, Rate};
use warden_test_support::{Capture, Seen};

/// The events of `target` that reached the capture.
fn of_target(seen: &[Seen], target: &str) -> usize {
    seen.iter()
        .filter(|e| e.metadata.target() == target)
        .count()
}

/// The suppression lines, as (count, message).
fn reports(seen: &[Seen]) -> Vec<(u64, String)> {
    seen.iter()
        .filter(|e| e.metadata.target() == FLOOD_TARGET)
        .map(|e| {
            let n = e
                .value("suppressed")
                .and_then(|n| n.parse().ok())
                .unwrap_or(0);
            (n, e.value("message").unwrap_or_default().to_owned())
        })
        .collect()
}

#[test]
fn a_flooding_site_is_limited_counted_and_said_while_another_site_loses_nothing() {
    let flood = FloodLimit::builder()
        .rate(Rate::new(100_000, 100_000))
        .target("app::retry", Rate::new(100, 50))
        .tick(Duration::from_millis(5))
        .period(Duration::from_millis(200))
        .build();
    let capture = Capture::default();
    let dispatch = tracing::Dispatch::new(
        tracing_subscriber::registry()
            .with(flood.clone())
            .with(capture.clone()),
    );
    let flood_for = Duration::from_millis(500);
    let (produced, steady) = std::thread::scope(|scope| {
        let flooding = scope.spawn(|| {
            tracing::dispatcher::with_default(&dispatch, || {
                let start = Instant::now();
                let mut n = 0u64;
                while start.elapsed() < flood_for {
                    for _ in 0..100 {
                        tracing::info!(target: "app::retry", attempt = n, "retrying");
                        n += 1;
                    }
                }
                n
            })
        });
        let steady = scope.spawn(|| {
            tracing::dispatcher::with_default(&dispatch, || {
                let start = Instant::now();
                let mut n = 0;
                while start.elapsed() < flood_for {
                    tracing::info!(target: "app::steady", n, "a steady line");
                    n += 1;
                    std::thread::sleep(Duration::from_millis(1));
                }
                n
            })
        });
        (flooding.join().unwrap(), steady.join().unwrap())
    });

    // The ticker says the rest once the flood has ended (a tick with nothing
    // more suppressed).
    let deadline = Instant::now() + Duration::from_secs(5);
    let (delivered, said) = loop {
        let seen = capture.seen();
        let delivered = of_target(&seen, "app::retry") as u64;
        let said: u64 = reports(&seen).iter().map(|(n, _)| n).sum();
        if delivered + said == produced || Instant::now() > deadline {
            break (delivered, said);
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let seen = capture.seen();
    assert_eq!(
        of_target(&seen, "app::steady"),
        steady,
        "the other site lost nothing"
    );
    assert_eq!(
        delivered + said,
        produced,
        "every event delivered or said suppressed"
    );
    assert_eq!(flood.suppressed(), said, "the counter and the lines agree");
    let by_site = flood.suppressed_by_site();
    assert_eq!(by_site.len(), 1);
    assert_eq!(by_site[0].target, "app::retry");
    assert_eq!(by_site[0].suppressed, said);
    // At most a line per period while it lasts (500 ms, periods of 200),
    // and one when it ends.
    let lines = reports(&seen);
    assert!((1..=4).contains(&lines.len()), "{lines:?}");
    assert_eq!(flood.reports(), lines.len() as u64);
    let (_, first) = &lines[0];
    assert!(
        first.contains(" events suppressed from app::retry tests/integration/flood.rs:")
            && first.contains(" over "),
        "{first}"
    );
    // Far fewer than were written: the limit's burst and rate.
    assert!(delivered < 50 + 100, "{delivered} delivered of {produced}");
    assert!(produced > 1_000, "the flood was one ({produced})");
}

#[test]
fn error_and_audit_events_are_never_suppressed() {
    let flood = FloodLimit::builder().rate(Rate::new(1, 1)).build();
    let capture = Capture::default();
    let subscriber = tracing_subscriber::registry()
        .with(flood.clone())
        .with(capture.clone());
    tracing::subscriber::with_default(subscriber, || {
        for i in 0..100 {
            tracing::error!(i, "failed");
            tracing::info!(target: "audit", i, "login");
            tracing::info!(target: "audit::admin", i, "grant");
            tracing::info!(i, "noise");
        }
    });
    let seen = capture.seen();
    let count = |message: &str| {
        seen.iter()
            .filter(|e| e.value("message") == Some(message))
            .count()
    };
    assert_eq!(
        (count("failed"), count("login"), count("grant")),
        (100, 100, 100)
    );
    assert_eq!(count("noise"), 1, "one token, then suppressed");
    assert_eq!(flood.suppressed(), 99);
}

#[test]
fn metrics_show_what_each_site_suppressed() {
    let flood = FloodLimit::builder().rate(Rate::new(1, 2)).build();
    let subscriber = tracing_subscriber::registry().with(flood.clone());
    tracing::subscriber::with_default(subscriber, || {
        for _ in 0..10 {
            tracing::info!(target: "app::noisy", "again");
        }
    });
    let ops = warden::ops::Ops::builder().source(flood.clone()).build();
    let mut page = String::new();
    ops.write_metrics(Default::default(), &mut page);
    let line = page
        .lines()
        .find(|l| l.starts_with("warden_flood_suppressed_total{"))
        .unwrap_or_else(|| panic!("{page}"));
    assert!(line.contains(r#"target="app::noisy""#), "{line}");
    assert!(
        line.contains(r#"file="tests/integration/flood.rs""#),
        "{line}"
    );
    assert!(line.ends_with(" 8"), "{line}");
    assert!(page.contains("warden_flood_untracked_total 0"), "{page}");
}

/// `init()`'s stack with every call site limited at `rate`, no exporter,
/// its JSON lines to `lines`.
fn limited(rate: Rate, lines: &warden_test_support::Buffer) -> warden::WardenBuilder {
    warden::Warden::builder()
        .flood_limit(FloodLimit::builder().rate(rate))
        .without_otlp()
        .writer(lines.clone())
}

#[test]
fn the_init_stack_limits_a_flooding_site_but_keeps_every_audit_event_and_says_it() {
    use warden::audit::{Query, SqliteStore};
    use warden_test_support::{Buffer, Scratch};

    let dir = Scratch::new();
    let db = dir.path("audit.db");
    let lines = Buffer::default();
    let (subscriber, guard) = limited(Rate::new(1, 2), &lines)
        .audit_sqlite(&db)
        .build()
        .unwrap();
    tracing::subscriber::with_default(subscriber, || {
        for i in 0..50u64 {
            tracing::info!(i, "looping");
            tracing::info!(target: "audit", event_type = "api_call", action = "ping", i, "audited");
        }
        // The ticker says it once a tick passes with nothing more suppressed.
        let deadline = Instant::now() + Duration::from_secs(5);
        while guard.flood().map(FloodLimit::reports) == Some(0) && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(10));
        }
    });
    let flood = guard.flood().unwrap();
    assert_eq!(
        flood.suppressed(),
        48,
        "a burst of two, then nothing for a second"
    );
    let text = lines.contents();
    assert_eq!(text.matches("\"looping\"").count(), 2, "{text}");
    assert!(
        text.contains("48 events suppressed from integration::flood tests/integration/flood.rs:"),
        "{text}"
    );
    drop(guard);
    let store = SqliteStore::open(&db).unwrap();
    assert_eq!(
        store.query(&Query::default()).unwrap().len(),
        50,
        "every audit event kept"
    );
}

/// An event the PII gate sanitizes is counted once: the sanitized copy it
/// dispatches in place of the original does not take a second token.
#[test]
fn a_sanitized_event_takes_one_token() {
    use warden_test_support::Buffer;

    let lines = Buffer::default();
    let (subscriber, guard) = limited(Rate::new(1, 10), &lines)
        .without_audit()
        .build()
        .unwrap();
    tracing::subscriber::with_default(subscriber, || {
        for i in 0..15u64 {
            tracing::info!(i, user = "ada@example.com", "signed in");
        }
    });
    let flood = guard.flood().unwrap();
    assert_eq!(flood.suppressed(), 5, "a burst of ten, each event once");
    let text = lines.contents();
    assert_eq!(text.matches("\"signed in\"").count(), 10, "{text}");
    assert!(!text.contains("ada@example.com"));
}
