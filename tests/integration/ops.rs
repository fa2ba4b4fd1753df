//! The operations endpoints of the assembled stack, over real HTTP:
//! `/metrics` in both formats, `/healthz`, `/readyz` changing state with
//! its checks, `/alerts`.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

use warden::Warden;
use warden::metrics::{Alerts, AlertsView, Rule, Window};
use warden_test_support::{Buffer, warden_cli};

/// `GET path` with `accept`: the status, the content type and the body.
fn get(addr: SocketAddr, path: &str, accept: Option<&str>) -> (u16, String, String) {
    let mut stream = TcpStream::connect(addr).unwrap();
    let accept = accept.map_or(String::new(), |a| format!("accept: {a}\r\n"));
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nhost: ops\r\n{accept}connection: close\r\n\r\n"
    )
    .unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    let (head, body) = response.split_once("\r\n\r\n").unwrap_or((&response, ""));
    let status = head.split(' ').nth(1).unwrap_or("0").parse().unwrap();
    let content_type = head
        .lines()
        .find_map(|l| l.strip_prefix("content-type: "))
        .unwrap_or_default()
        .to_owned();
    (status, content_type, body.to_owned())
}

fn wait_until(mut done: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + Duration::from_secs(20);
    while Instant::now() < deadline {
        if done() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    false
}

#[test]
fn the_endpoints_answer_in_both_formats_and_readiness_follows_critical_alerts() {
    let dir = warden_test_support::Scratch::new();
    let (subscriber, guard) = Warden::builder()
        .audit_sqlite(dir.path("audit.db"))
        .without_otlp()
        .writer(Buffer::default())
        .ops_addr("127.0.0.1:0".parse().unwrap())
        .build()
        .unwrap();
    let addr = guard.ops_addr().unwrap();
    let alerts = AlertsView::new(
        Alerts::new().rule(
            Rule::error_rate("checkout")
                .above(0.5)
                .over(Window::SinceStart)
                .critical(),
        ),
    );
    guard.ops().set_alerts(alerts.clone());
    tracing::subscriber::with_default(subscriber, || {
        for i in 0..10 {
            drop(tracing::info_span!("checkout", error = i < 2).entered());
        }
    });
    let metrics = guard.metrics().unwrap();
    alerts.evaluate(metrics);

    let (status, content_type, body) = get(addr, "/metrics", None);
    assert_eq!(status, 200);
    assert!(
        content_type.starts_with("text/plain; version=0.0.4"),
        "{content_type}"
    );
    assert!(
        body.contains(r#"warden_operation_calls_total{operation="checkout"} 10"#),
        "{body}"
    );
    assert!(
        body.contains("warden_alert_firing{rule=\"error_rate(checkout)"),
        "{body}"
    );
    assert!(
        body.contains("warden_audit_written_total{route=\"sqlite\"}"),
        "{body}"
    );
    assert!(
        body.contains("warden_audit_pending{route=\"sqlite\"} 0"),
        "{body}"
    );
    assert!(
        body.contains("warden_pii_redactions_total{kind=\"EMAIL\"}"),
        "{body}"
    );
    assert!(body.contains("process_resident_memory_bytes"), "{body}");
    let (status, content_type, body) = get(
        addr,
        "/metrics",
        Some("application/openmetrics-text; version=1.0.0"),
    );
    assert_eq!(status, 200);
    assert!(
        content_type.starts_with("application/openmetrics-text"),
        "{content_type}"
    );
    assert!(body.ends_with("# EOF\n"), "{body}");

    assert_eq!(get(addr, "/healthz", None).0, 200);
    let (status, _, body) = get(addr, "/readyz", None);
    assert_eq!(status, 200, "{body}");
    let ready: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(ready["checks"]["audit_store"]["ok"], true, "{body}");
    assert_eq!(ready["checks"]["critical_alerts"]["ok"], true, "{body}");

    // The critical rule fires: not ready, and the check says which.
    tracing::subscriber::with_default(tracing_subscriber::registry().with(metrics.clone()), || {
        for _ in 0..20 {
            drop(tracing::info_span!("checkout", error = true).entered());
        }
    });
    alerts.evaluate(metrics);
    let (status, _, body) = get(addr, "/readyz", None);
    assert_eq!(status, 503, "{body}");
    assert!(body.contains("error_rate(checkout)"), "{body}");
    let (_, _, alerts_body) = get(addr, "/alerts", None);
    let listed: serde_json::Value = serde_json::from_str(&alerts_body).unwrap();
    assert_eq!(listed["alerts"][0]["state"], "firing", "{alerts_body}");
    assert_eq!(listed["alerts"][0]["severity"], "critical", "{alerts_body}");
    assert_eq!(get(addr, "/nothing", None).0, 404);
    drop(guard);
    assert!(TcpStream::connect(addr).is_err() || wait_until(|| TcpStream::connect(addr).is_err()));
}

use tracing_subscriber::prelude::*;

/// Serves `/readyz` for `audit` and checks that it follows the store:
/// 200 while records are written; 503 naming `failing` once `break_store`
/// has made the store unwritable and a record waits; 200 again after
/// `mend_store`. Returns the `/metrics` page seen while the store failed.
fn readiness_follows(
    audit: &warden::audit::AuditLayer,
    failing: &str,
    break_store: impl FnOnce(),
    mend_store: impl FnOnce(),
) -> String {
    let ops = warden::ops::Ops::builder().audit(audit.clone()).build();
    let endpoint = ops.serve("127.0.0.1:0".parse().unwrap()).unwrap();
    let addr = endpoint.addr();
    let dispatch = tracing::Dispatch::new(tracing_subscriber::registry().with(audit.clone()));
    let log = || {
        tracing::dispatcher::with_default(&dispatch, || {
            warden::audit::security!(action = "login_failed", user_id = "u-1");
        });
    };
    log();
    audit.flush(Duration::from_secs(10)).unwrap();
    assert_eq!(get(addr, "/readyz", None).0, 200);
    break_store();
    log();
    assert!(
        wait_until(|| get(addr, "/readyz", None).0 == 503),
        "{}",
        get(addr, "/readyz", None).2
    );
    let (_, _, body) = get(addr, "/readyz", None);
    assert!(
        body.contains("\"audit_store\"") && body.contains(failing),
        "{body}"
    );
    let (_, _, metrics) = get(addr, "/metrics", None);
    mend_store();
    assert!(
        wait_until(|| get(addr, "/readyz", None).0 == 200),
        "{}",
        get(addr, "/readyz", None).2
    );
    audit.shutdown(Duration::from_secs(10)).unwrap();
    metrics
}

/// The audit store becomes unwritable (its PostgreSQL server stops):
/// `/readyz` says 503 naming the check; back, 200.
#[cfg(feature = "postgres")]
#[test]
fn readiness_follows_the_audit_store() {
    use warden::audit::{AuditLayer, Overflow, PostgresSink, Route, RouteFilter};

    let server = warden_test_support::Postgres::start();
    let sink = PostgresSink::builder(server.admin_url())
        .stream("ops")
        .build()
        .unwrap();
    let audit = AuditLayer::builder()
        .route(
            Route::new("postgres", RouteFilter::all())
                .sink(sink)
                .overflow(Overflow::Drop),
        )
        .build()
        .unwrap();
    readiness_follows(
        &audit,
        "route postgres failing",
        || server.stop(),
        || server.start_again(),
    );
}

/// Another process (here a connection) holds the SQLite store's write
/// lock: after the busy timeout (5 s) the write fails and is retried,
/// readiness says so and `/metrics` shows the record waiting; when the
/// lock goes, both recover and the record is written.
#[test]
fn readiness_follows_a_sqlite_store_another_process_keeps_locked() {
    let dir = warden_test_support::Scratch::new();
    let db = dir.path("audit.db");
    let audit = warden::audit::AuditLayer::sqlite(&db).unwrap();
    let blocker = rusqlite::Connection::open(&db).unwrap();
    let metrics = readiness_follows(
        &audit,
        "route sqlite failing",
        || blocker.execute_batch("BEGIN EXCLUSIVE").unwrap(),
        || blocker.execute_batch("ROLLBACK").unwrap(),
    );
    assert!(
        metrics.contains("warden_audit_pending{route=\"sqlite\"} 1"),
        "{metrics}"
    );
    assert_eq!(audit.stats()[0].written, 2);
}

/// A quickstart serving its operations endpoint until killed, on `port`,
/// in `dir` (its audit store goes there).
struct LiveQuickstart(std::process::Child);

impl LiveQuickstart {
    fn start(dir: &std::path::Path, port: u16) -> Self {
        let mut command = crate::examples::example("quickstart");
        command
            .args([
                "--requests",
                "300",
                "--serve",
                "0",
                "--ops-addr",
                &format!("127.0.0.1:{port}"),
            ])
            .current_dir(dir)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null());
        let child = command.spawn().unwrap();
        let addr: SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
        assert!(
            wait_until(
                || TcpStream::connect(addr).is_ok_and(|_| get(addr, "/healthz", None).0 == 200)
            ),
            "the quickstart's endpoint did not come up"
        );
        LiveQuickstart(child)
    }
}

impl Drop for LiveQuickstart {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn tmux(args: &[&str]) -> String {
    let out = std::process::Command::new("tmux")
        .args(args)
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// `warden top` against a live quickstart, driven in tmux as a person
/// would: the operations appear, sorting changes their order, the endpoint
/// killed shows the error line and the view recovers when it returns, `q`
/// exits with the terminal restored.
#[test]
fn warden_top_watches_a_live_quickstart_in_tmux() {
    if std::process::Command::new("tmux")
        .arg("-V")
        .output()
        .is_err()
    {
        panic!("tmux is needed (./scripts/test installs it)");
    }
    let cli = warden_cli();
    assert!(cli.exists(), "{} was not built", cli.display());
    let dir = warden_test_support::Scratch::new();
    let port = warden_test_support::collector::free_port();
    let mut service = LiveQuickstart::start(&dir.0, port);
    let session = format!("warden-top-{}", std::process::id());
    let socket = dir.path("tmux.sock");
    let socket = socket.to_str().unwrap();
    let tmux = |args: &[&str]| {
        let mut all = vec!["-S", socket];
        all.extend_from_slice(args);
        tmux(&all)
    };
    tmux(&["new-session", "-d", "-s", &session, "-x", "140", "-y", "40"]);
    tmux(&["set-option", "-t", &session, "remain-on-exit", "on"]);
    // The shell prints how `warden top` ended: tmux's own record of a dead
    // pane's exit status races with the pane's end under load.
    let command = format!(
        "sh -c '{} top http://127.0.0.1:{port} --interval 0.5; echo top-exited-$?; sleep 600'",
        cli.display()
    );
    tmux(&["respawn-pane", "-k", "-t", &session, &command]);
    let screen = || tmux(&["capture-pane", "-p", "-t", &session]);
    assert!(
        wait_until(|| {
            let s = screen();
            s.contains("checkout") && s.contains("payment_provider") && s.contains("P95 TREND")
        }),
        "{}",
        screen()
    );
    assert!(screen().contains("sorted by P95 ms"), "{}", screen());
    // Sort by operation name: four columns to the left, alphabetical.
    for _ in 0..4 {
        tmux(&["send-keys", "-t", &session, "Left"]);
    }
    assert!(
        wait_until(|| screen().contains("sorted by OPERATION")),
        "{}",
        screen()
    );
    let order = |s: &str| -> Vec<String> {
        s.lines()
            .filter_map(|l| l.split_whitespace().next())
            .filter(|w| {
                [
                    "billing",
                    "checkout",
                    "login",
                    "order_lookup",
                    "payment",
                    "request",
                ]
                .contains(w)
            })
            .map(str::to_owned)
            .collect()
    };
    assert!(
        wait_until(|| {
            let o = order(&screen());
            o.len() >= 5 && o.windows(2).all(|w| w[0] <= w[1])
        }),
        "{}",
        screen()
    );
    // The endpoint goes away: the error line, the table kept.
    drop(service);
    assert!(
        wait_until(|| screen().contains("cannot reach")),
        "{}",
        screen()
    );
    assert!(screen().contains("checkout"), "{}", screen());
    // It comes back: the view recovers.
    service = LiveQuickstart::start(&dir.0, port);
    assert!(
        wait_until(|| !screen().contains("cannot reach")),
        "{}",
        screen()
    );
    // q quits with status 0, and the terminal is restored (the alternate
    // screen is gone).
    tmux(&["send-keys", "-t", &session, "q"]);
    assert!(
        wait_until(|| screen().contains("top-exited-0")),
        "{}",
        screen()
    );
    assert!(!screen().contains("P95 TREND"), "{}", screen());
    tmux(&["kill-server"]);
    drop(service);
}

/// A real Prometheus server scrapes the quickstart: its query API returns
/// the operations, their p95 summary quantile, and a `histogram_quantile`
/// over the buckets within the bucket error of warden's own p95.
#[test]
fn prometheus_scrapes_the_quickstart() {
    let dir = warden_test_support::Scratch::new();
    let port = warden_test_support::collector::free_port();
    let _service = LiveQuickstart::start(&dir.0, port);
    let prom_port = warden_test_support::collector::free_port();
    let config = dir.path("prometheus.yml");
    std::fs::write(
        &config,
        format!(
            "global:\n  scrape_interval: 1s\nscrape_configs:\n  - job_name: warden\n    static_configs:\n      - targets: ['127.0.0.1:{port}']\n"
        ),
    )
    .unwrap();
    let mut prometheus = std::process::Command::new(
        std::env::var("PROMETHEUS").unwrap_or_else(|_| "prometheus".into()),
    )
    .arg(format!("--config.file={}", config.display()))
    .arg(format!(
        "--storage.tsdb.path={}",
        dir.path("tsdb").display()
    ))
    .arg(format!("--web.listen-address=127.0.0.1:{prom_port}"))
    .stdout(std::process::Stdio::null())
    .stderr(std::process::Stdio::null())
    .spawn()
    .expect("prometheus (Debian's package; ./scripts/test installs it)");
    let prom: SocketAddr = format!("127.0.0.1:{prom_port}").parse().unwrap();
    let query = |q: &str| -> serde_json::Value {
        let path = format!("/api/v1/query?query={}", encode(q));
        let (status, _, body) = get(prom, &path, None);
        if status != 200 {
            return serde_json::Value::Null;
        }
        serde_json::from_str(&body).unwrap_or(serde_json::Value::Null)
    };
    let value = |v: &serde_json::Value| -> Option<f64> {
        v["data"]["result"][0]["value"][1].as_str()?.parse().ok()
    };
    let ok = wait_until(|| {
        TcpStream::connect(prom).is_ok()
            && query("warden_operation_calls_total")["data"]["result"]
                .as_array()
                .is_some_and(|r| r.len() >= 6)
            && value(&query(
                r#"warden_operation_duration_seconds{operation="checkout",quantile="0.95"}"#,
            ))
            .is_some_and(f64::is_finite)
    });
    let operations = query("warden_operation_calls_total");
    // promtool accepts the exposition as served.
    let (_, _, exposition) = get(
        format!("127.0.0.1:{port}").parse().unwrap(),
        "/metrics",
        None,
    );
    let mut promtool = std::process::Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("promtool (Debian's prometheus package)");
    promtool
        .stdin
        .take()
        .unwrap()
        .write_all(exposition.as_bytes())
        .unwrap();
    let checked = promtool.wait_with_output().unwrap();
    assert!(
        checked.status.success(),
        "{}{}",
        String::from_utf8_lossy(&checked.stdout),
        String::from_utf8_lossy(&checked.stderr)
    );
    // The summary's p95 (over the recent minutes, which are all of this
    // young process' life) and the p95 Prometheus interpolates from the
    // classic buckets (since start) fall in the same bucket.
    let summary = value(&query(
        r#"warden_operation_duration_seconds{operation="checkout",quantile="0.95"}"#,
    ));
    let interpolated = value(&query(
        r#"histogram_quantile(0.95, warden_operation_latency_seconds_bucket{operation="checkout"})"#,
    ));
    let _ = prometheus.kill();
    let _ = prometheus.wait();
    assert!(ok, "{operations}");
    let names: Vec<&str> = operations["data"]["result"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|r| r["metric"]["operation"].as_str())
        .collect();
    for op in ["checkout", "login", "payment", "request"] {
        assert!(names.contains(&op), "{names:?}");
    }
    let (summary, interpolated) = (summary.unwrap(), interpolated.unwrap());
    let bounds = warden::metrics::DEFAULT_BUCKETS;
    let upper = bounds
        .iter()
        .copied()
        .find(|b| *b >= interpolated)
        .unwrap_or(f64::INFINITY);
    let lower = bounds
        .iter()
        .copied()
        .rev()
        .find(|b| *b < upper)
        .unwrap_or(0.0);
    assert!(
        summary >= lower * 0.98 && summary <= upper * 1.02,
        "warden's p95 {summary} and Prometheus' histogram_quantile {interpolated} are not in the same bucket ({lower}, {upper}]"
    );
    // (Prometheus negotiates OpenMetrics first: it parsed ours.)
}

/// `q` with the characters a query string needs escaped, escaped.
fn encode(q: &str) -> String {
    q.bytes()
        .map(|b| match b {
            b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'_' | b'.' | b'-' => (b as char).to_string(),
            b => format!("%{b:02X}"),
        })
        .collect()
}

/// `warden top --once`: the table as text; a clear message, not a crash,
/// for an endpoint that is down or answers garbage.
#[test]
fn warden_top_once_prints_the_table_or_says_what_is_wrong() {
    let cli = warden_cli();
    let metrics = warden::metrics::MetricsLayer::new();
    tracing::subscriber::with_default(tracing_subscriber::registry().with(metrics.clone()), || {
        for i in 0..50 {
            drop(tracing::info_span!("checkout", error = i % 10 == 0).entered());
        }
    });
    let ops = warden::ops::Ops::builder().metrics(metrics).build();
    let server = ops.serve("127.0.0.1:0".parse().unwrap()).unwrap();
    let run = |url: String| {
        let out = std::process::Command::new(&cli)
            .args(["top", "--once", &url])
            .output()
            .unwrap();
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    let (code, out, err) = run(format!("http://{}", server.addr()));
    assert_eq!(code, Some(0), "{err}");
    assert!(out.starts_with("OPERATION"), "{out}");
    assert!(
        out.lines()
            .any(|l| l.starts_with("checkout") && l.contains("10.0%")),
        "{out}"
    );
    // Nothing listening.
    let closed = warden_test_support::collector::closed_port();
    let (code, _, err) = run(format!("http://127.0.0.1:{closed}"));
    assert_eq!(code, Some(1));
    assert!(err.contains("cannot reach"), "{err}");
    // An endpoint that is not a metrics one.
    let (code, _, err) = run(format!("http://{}/healthz", server.addr()));
    assert_eq!(code, Some(1));
    assert!(err.contains("did not answer with metrics"), "{err}");
    let (code, _, err) = run("https://example.invalid".into());
    assert_eq!(code, Some(1));
    assert!(err.contains("only http://"), "{err}");
}

/// Reads `stream` until the server closes it, within `within`: true if it
/// was closed (end of stream or reset), false if it was still open.
fn closed_within(mut stream: &TcpStream, within: Duration) -> bool {
    let deadline = Instant::now() + within;
    let mut buf = [0u8; 4096];
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return false;
        }
        stream.set_read_timeout(Some(left)).unwrap();
        match stream.read(&mut buf) {
            Ok(0) => return true,
            // A 408 from the header timeout, then the end.
            Ok(_) => continue,
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) =>
            {
                return false;
            }
            Err(_) => return true,
        }
    }
}

#[test]
fn a_thousand_silent_or_slow_clients_neither_delay_a_scrape_nor_stay_connected() {
    let ops = warden::ops::Ops::builder()
        .metrics(warden::metrics::MetricsLayer::new())
        .header_read_timeout(Duration::from_millis(500))
        .build();
    let server = ops.serve("127.0.0.1:0".parse().unwrap()).unwrap();
    let addr = server.addr();
    let clients: Vec<TcpStream> = (0..1_000)
        .map(|i| {
            let mut stream = TcpStream::connect(addr).unwrap();
            if i % 2 == 1 {
                // A request head that never ends.
                stream
                    .write_all(b"GET /metrics HTTP/1.1\r\nHost: x\r\nX-Slow: ")
                    .unwrap();
            }
            stream
        })
        .collect();
    let start = Instant::now();
    let mut scrape = TcpStream::connect(addr).unwrap();
    scrape
        .write_all(b"GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        .unwrap();
    scrape
        .set_read_timeout(Some(Duration::from_secs(1)))
        .unwrap();
    let mut response = String::new();
    scrape.read_to_string(&mut response).unwrap();
    assert!(response.starts_with("HTTP/1.1 200"), "{response}");
    assert!(
        start.elapsed() < Duration::from_secs(1),
        "{:?}",
        start.elapsed()
    );
    // Every one of them cut by the header-read timeout.
    let open = clients
        .iter()
        .filter(|c| !closed_within(c, Duration::from_secs(3)))
        .count();
    assert_eq!(open, 0, "connections still open");
}

#[test]
fn past_the_connection_cap_a_new_connection_is_closed_at_once() {
    let ops = warden::ops::Ops::builder()
        .metrics(warden::metrics::MetricsLayer::new())
        .max_connections(10)
        .build();
    let server = ops.serve("127.0.0.1:0".parse().unwrap()).unwrap();
    let held: Vec<TcpStream> = (0..10)
        .map(|_| TcpStream::connect(server.addr()).unwrap())
        .collect();
    std::thread::sleep(Duration::from_millis(100));
    let one_more = TcpStream::connect(server.addr()).unwrap();
    assert!(closed_within(&one_more, Duration::from_secs(1)));
    drop(held);
}
