//! Log directives changed while the stack runs (issue 26, part 4): through
//! the guard, a `FilterHandle`, `PUT /filter` over real HTTP and the
//! `warden filter` command; under four logging threads; beside per-layer
//! filters; each change in the audit trail. A binary of its own: a change
//! of directives forgets every thread's marks of turned-down events
//! (`warden_core::internal::forget_marks`), which the other integration
//! tests' events in flight would feel.

use std::sync::atomic::{AtomicBool, Ordering};

use tracing::level_filters::LevelFilter;
use tracing_subscriber::prelude::*;
use warden::audit::{EventType, Query, SqliteStore};
use warden::{StackFilter, Warden};
use warden_test_support::{Buffer, Capture, Scratch, warden_cli};

/// Logs one DEBUG line of `app::db` from the same call site each time.
fn query(n: u64) {
    tracing::debug!(target: "app::db", n, "query");
}

/// The `n`s of the `query` lines written.
fn queries(lines: &Buffer) -> Vec<u64> {
    lines
        .lines()
        .iter()
        .filter(|l| l["message"] == "query")
        .filter_map(|l| l["n"].as_u64())
        .collect()
}

/// The CONFIG_CHANGE records: (who, outcome, old, new).
fn changes(db: &std::path::Path) -> Vec<(String, String, String, String)> {
    let store = SqliteStore::open(db).unwrap();
    let query = Query {
        event_type: Some(EventType::ConfigChange),
        ..Query::default()
    };
    let mut records = store.query(&query).unwrap();
    records.sort_by_key(|r| r.timestamp);
    records
        .into_iter()
        .map(|r| {
            let text = |name: &str| r.metadata[name].as_str().unwrap_or_default().to_owned();
            (
                r.user_id.clone().unwrap_or_default(),
                format!("{:?}", r.outcome),
                text("old_filter"),
                text("new_filter"),
            )
        })
        .collect()
}

/// `init()`'s stack at `info` with its audit store at `db`, its JSON lines
/// to `lines`, no exporter.
fn audited(db: &std::path::Path, lines: &Buffer) -> warden::WardenBuilder {
    Warden::builder()
        .filter("info")
        .audit_sqlite(db)
        .without_otlp()
        .writer(lines.clone())
}

#[test]
fn a_change_reaches_sites_already_seen_and_is_audited_and_a_bad_one_changes_nothing() {
    let dir = Scratch::new();
    let db = dir.path("audit.db");
    let lines = Buffer::default();
    let (subscriber, guard) = audited(&db, &lines).build().unwrap();
    tracing::subscriber::with_default(subscriber, || {
        query(1);
        let change = guard.set_filter("info,app::db=debug").unwrap();
        assert_eq!(
            (change.old.as_str(), change.new.as_str()),
            ("info", "info,app::db=debug")
        );
        // The very next event of the site seen before is decided anew.
        query(2);
        let refused = guard.set_filter("info,app::db=loud").unwrap_err();
        let message = refused.to_string();
        assert!(message.contains("info,app::db=loud"), "{message}");
        assert!(message.contains("loud"), "the parser's reason: {message}");
        assert_eq!(guard.filter().directives(), "info,app::db=debug");
        query(3);
        // Span-scoped directives make an EnvFilter; back to Targets after.
        guard.set_filter("warn,[checkout]=debug").unwrap();
        query(4);
        tracing::info_span!("checkout").in_scope(|| query(5));
        guard.filter().set_by("warn", "alice").unwrap();
        tracing::info_span!("checkout").in_scope(|| query(6));
        tracing::info!("not at warn");
    });
    assert_eq!(queries(&lines), [2, 3, 5], "{}", lines.contents());
    assert!(!lines.contents().contains("not at warn"));
    drop(guard);
    // Who asked is an identity: stored keyed-hashed, the same for the
    // same name.
    let changes = changes(&db);
    let what: Vec<_> = changes
        .iter()
        .map(|(_, outcome, old, new)| (outcome.as_str(), old.as_str(), new.as_str()))
        .collect();
    assert_eq!(
        what,
        [
            ("Success", "info", "info,app::db=debug"),
            ("Failure", "info,app::db=debug", "info,app::db=loud"),
            ("Success", "info,app::db=debug", "warn,[checkout]=debug"),
            ("Success", "warn,[checkout]=debug", "warn"),
        ]
    );
    let who: Vec<_> = changes.iter().map(|c| c.0.as_str()).collect();
    assert!(who[0].starts_with("hmac:"), "{who:?}");
    assert!(
        who[0] == who[1] && who[1] == who[2] && who[2] != who[3],
        "{who:?}"
    );
}

/// Four threads log numbered INFO lines (enabled under every directive
/// used) while the directives change back and forth: each thread's lines
/// all arrive, once each; and once a change has returned, DEBUG lines of
/// every thread are written.
#[test]
fn under_four_logging_threads_a_change_loses_and_duplicates_nothing() {
    let (filter, handle) = StackFilter::parse("info").unwrap().logs_only().reloadable();
    let capture = Capture::default();
    let dispatch = tracing::Dispatch::new(
        tracing_subscriber::registry()
            .with(filter)
            .with(capture.clone()),
    );
    let debug_on = AtomicBool::new(false);
    let stop = AtomicBool::new(false);
    const PER_THREAD: u64 = 20_000;
    std::thread::scope(|scope| {
        for thread in 0..4u64 {
            let (dispatch, debug_on, stop) = (&dispatch, &debug_on, &stop);
            scope.spawn(move || {
                tracing::dispatcher::with_default(dispatch, || {
                    for n in 0..PER_THREAD {
                        tracing::info!(target: "app", thread, n, "numbered");
                        tracing::debug!(target: "app", thread, n, "churn");
                    }
                    while !debug_on.load(Ordering::Acquire) && !stop.load(Ordering::Relaxed) {
                        std::thread::yield_now();
                    }
                    tracing::debug!(target: "app", thread, "after the change");
                });
            });
        }
        for i in 0..200 {
            let directives = if i % 2 == 0 { "info,app=debug" } else { "info" };
            handle.set(directives).unwrap();
        }
        handle.set("info,app=debug").unwrap();
        debug_on.store(true, Ordering::Release);
    });
    stop.store(true, Ordering::Relaxed);
    let seen = capture.seen();
    for thread in 0..4 {
        let mut numbers: Vec<u64> = seen
            .iter()
            .filter(|e| e.value("message") == Some("numbered"))
            .filter(|e| e.value("thread") == Some(&thread.to_string()))
            .map(|e| e.value("n").unwrap().parse().unwrap())
            .collect();
        let arrived = numbers.len();
        numbers.sort_unstable();
        numbers.dedup();
        assert_eq!(numbers.len(), arrived, "thread {thread}: a line twice");
        assert_eq!(arrived as u64, PER_THREAD, "thread {thread}: lines lost");
        let after = seen
            .iter()
            .filter(|e| e.value("message") == Some("after the change"))
            .filter(|e| e.value("thread") == Some(&thread.to_string()))
            .count();
        assert_eq!(after, 1, "thread {thread}: the change not applied at once");
    }
}

/// `tracing_subscriber::reload` panics when it wraps a layer with a filter
/// of its own (tokio-rs/tracing#1629); swapping the directives beside such
/// layers does not, and each keeps its own filter.
#[test]
fn a_change_beside_per_layer_filters_neither_panics_nor_touches_theirs() {
    let (filter, handle) = StackFilter::parse("info").unwrap().logs_only().reloadable();
    let everything = Capture::default();
    let warnings = Capture::default();
    let subscriber = tracing_subscriber::registry()
        .with(filter)
        .with(everything.clone())
        .with(warnings.clone().with_filter(LevelFilter::WARN))
        .with(
            tracing_subscriber::fmt::layer()
                .with_writer(std::io::sink)
                .with_filter(LevelFilter::DEBUG),
        );
    tracing::subscriber::with_default(subscriber, || {
        tracing::debug!("one");
        tracing::warn!("two");
        handle.set("debug").unwrap();
        tracing::debug!("three");
        tracing::warn!("four");
        handle.set("error").unwrap();
        tracing::warn!("five");
    });
    let messages = |c: &Capture| {
        c.seen()
            .iter()
            .map(|e| e.value("message").unwrap_or_default().to_owned())
            .collect::<Vec<_>>()
    };
    assert_eq!(messages(&everything), ["two", "three", "four"]);
    assert_eq!(messages(&warnings), ["two", "four"]);
}

/// `PUT /filter` over real HTTP and the `warden filter` command against
/// the init stack's ops server: refused without a token, with a wrong one
/// and with bad directives; applied and audited with the right one.
#[test]
fn put_filter_and_the_cli_change_a_running_stack_behind_its_token() {
    use std::io::{Read, Write};

    let dir = Scratch::new();
    let db = dir.path("audit.db");
    let lines = Buffer::default();
    let (subscriber, guard) = audited(&db, &lines)
        .ops_addr("127.0.0.1:0".parse().unwrap())
        .ops_token("s3cret-token")
        .build()
        .unwrap();
    let addr = guard.ops_addr().unwrap();
    let request = |method: &str, auth: Option<&str>, body: &str| -> (u16, String) {
        let mut stream = std::net::TcpStream::connect(addr).unwrap();
        let auth = auth.map_or(String::new(), |a| format!("authorization: {a}\r\n"));
        write!(
            stream,
            "{method} /filter HTTP/1.1\r\nhost: ops\r\n{auth}content-length: {}\r\nconnection: close\r\n\r\n{body}",
            body.len()
        )
        .unwrap();
        let mut response = String::new();
        stream.read_to_string(&mut response).unwrap();
        let (head, body) = response.split_once("\r\n\r\n").unwrap();
        (
            head.split(' ').nth(1).unwrap().parse().unwrap(),
            body.to_owned(),
        )
    };
    tracing::subscriber::with_default(subscriber, || {
        assert_eq!(request("PUT", None, "debug").0, 401);
        assert_eq!(request("PUT", Some("Bearer wrong"), "debug").0, 403);
        let (status, body) = request("PUT", Some("Bearer s3cret-token"), "debug,app=nonsense");
        assert_eq!(status, 400, "{body}");
        assert!(body.contains("nonsense"), "{body}");
        assert_eq!(request("GET", None, "").1, r#"{"directives":"info"}"#);
        query(1);
        let (status, body) = request("PUT", Some("Bearer s3cret-token"), "info,app::db=debug");
        assert_eq!(status, 200, "{body}");
        query(2);

        // The command line, as an operator would run it.
        let cli = |args: &[&str], token: Option<&str>| {
            let mut command = std::process::Command::new(warden_cli());
            command
                .arg("filter")
                .arg(format!("http://{addr}"))
                .args(args)
                .env_remove("WARDEN_OPS_TOKEN");
            if let Some(token) = token {
                command.env("WARDEN_OPS_TOKEN", token);
            }
            let out = command.output().unwrap();
            (
                out.status.code(),
                String::from_utf8_lossy(&out.stdout).into_owned(),
                String::from_utf8_lossy(&out.stderr).into_owned(),
            )
        };
        assert_eq!(
            cli(&[], None),
            (Some(0), "info,app::db=debug\n".into(), String::new())
        );
        let (code, _, err) = cli(&["warn"], None);
        assert_eq!(code, Some(2));
        assert!(err.contains("WARDEN_OPS_TOKEN"), "{err}");
        let (code, _, err) = cli(&["warn"], Some("wrong"));
        assert_eq!(code, Some(1));
        assert!(
            err.contains("403") && err.contains("wrong ops token"),
            "{err}"
        );
        let (code, out, err) = cli(&["warn", "--actor", "oncall-bob"], Some("s3cret-token"));
        assert_eq!(
            (code, out.as_str()),
            (Some(0), "log filter: info,app::db=debug -> warn\n"),
            "{err}"
        );
        query(3);
    });
    assert_eq!(queries(&lines), [2]);
    drop(guard);
    let changes = changes(&db);
    let what: Vec<_> = changes
        .iter()
        .map(|(_, outcome, _, new)| (outcome.as_str(), new.as_str()))
        .collect();
    assert_eq!(
        what,
        [
            ("Failure", "debug,app=nonsense"),
            ("Success", "info,app::db=debug"),
            ("Success", "warn"),
        ]
    );
    // `ops` for a client that did not name itself; the name the CLI sent.
    assert_eq!(changes[0].0, changes[1].0);
    assert_ne!(changes[1].0, changes[2].0);
}

/// Without a token configured, `PUT /filter` is off whatever is sent.
#[test]
fn without_a_token_put_filter_is_refused() {
    let (_filter, handle) = StackFilter::parse("info").unwrap().reloadable();
    let ops = warden::ops::Ops::builder().filter(handle.clone()).build();
    let request = http::Request::put("/ops/filter")
        .header("authorization", "Bearer anything")
        .body(bytes::Bytes::from("debug"))
        .unwrap();
    let response = ops.respond_with_body(&request);
    assert_eq!(response.status(), 403);
    assert_eq!(handle.directives(), "info");
}
