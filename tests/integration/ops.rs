//! The operations endpoints of the assembled stack, over real HTTP:
//! `/metrics` in both formats, `/healthz`, `/readyz` changing state with
//! its checks, `/alerts`.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

use warden::Warden;
use warden::metrics::{Alerts, AlertsView, Rule, Window};
use warden_test_support::Buffer;

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
    server.stop();
    log();
    assert!(
        wait_until(|| get(addr, "/readyz", None).0 == 503),
        "{}",
        get(addr, "/readyz", None).2
    );
    let (_, _, body) = get(addr, "/readyz", None);
    assert!(
        body.contains("\"audit_store\"") && body.contains("route postgres failing"),
        "{body}"
    );
    server.start_again();
    assert!(
        wait_until(|| get(addr, "/readyz", None).0 == 200),
        "{}",
        get(addr, "/readyz", None).2
    );
    audit.shutdown(Duration::from_secs(10)).unwrap();
}
