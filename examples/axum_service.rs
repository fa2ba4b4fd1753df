//! An axum service on `warden::init()`'s stack: one metrics row per route,
//! one access line per request, 5xx counted as errors; and the controls a
//! service needs in production: a flood limit on a noisy call site, the
//! DEBUG lines of a failed request written (and a clean one's dropped),
//! and the log directives changed while it runs.
//!
//! `cargo run --example axum_service --features tower,signal`
//!
//! With `--serve`, it serves on 127.0.0.1 (`WARDEN_EXAMPLE_ADDR`, else a
//! free port) until SIGTERM or SIGINT, then stops gracefully: the recipe
//! of [`warden::shutdown_signal`] (finish the requests in flight, then
//! flush within a timeout and say what was delivered and lost).
//!
//! The recipe is three lines: the stack, the request layer with a route
//! finder reading axum's `MatchedPath`, and `Router::layer`. In a real
//! service, give the stack an ops endpoint and a token
//! (`.ops_addr(…)`, `WARDEN_OPS_TOKEN`) and change the directives from a
//! shell with `warden filter http://127.0.0.1:9464 'info,axum_service=debug'`.

use std::error::Error;
use std::time::Duration;

use axum::Router;
use axum::extract::{MatchedPath, Path};
use axum::http::StatusCode;
use axum::routing::get;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use warden::flood::{FloodLimit, Rate};
use warden::metrics::Window;
use warden::request_lines::RequestLines;

async fn order(Path(id): Path<u32>) -> String {
    tracing::debug!(order = id, "cache miss");
    tracing::info!(order = id, "order served");
    format!("order {id}")
}

async fn fail() -> StatusCode {
    // A noisy call site: limited to 10 lines a second.
    for attempt in 0..50u32 {
        tracing::info!(target: "axum_service::retry", attempt, "upstream busy, retrying");
    }
    // Held in the request: written, marked "buffered", because it answers
    // 503 (the request layer records the error).
    tracing::debug!(upstream = "inventory", "gave up on the upstream");
    StatusCode::SERVICE_UNAVAILABLE
}

/// One HTTP/1.1 request to `addr`; the status line.
async fn get_path(addr: std::net::SocketAddr, path: &str) -> std::io::Result<String> {
    let mut stream = tokio::net::TcpStream::connect(addr).await?;
    let request = format!("GET {path} HTTP/1.1\r\nhost: localhost\r\nconnection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).await?;
    let mut response = String::new();
    stream.read_to_string(&mut response).await?;
    Ok(response.lines().next().unwrap_or_default().to_owned())
}

/// `--serve`: until SIGTERM or SIGINT, then a graceful stop.
async fn serve(app: Router, guard: warden::WardenGuard) -> Result<(), Box<dyn Error>> {
    let addr = std::env::var("WARDEN_EXAMPLE_ADDR").unwrap_or_else(|_| "127.0.0.1:0".into());
    let listener = tokio::net::TcpListener::bind(&addr).await?;
    eprintln!("listening on {}", listener.local_addr()?);
    warden::audit::security!(action = "service_started", outcome = "SUCCESS");
    // 1. Stop taking requests on SIGTERM/SIGINT; finish those in flight.
    axum::serve(listener, app)
        .with_graceful_shutdown(async {
            let signal = warden::shutdown_signal().await;
            tracing::info!(signal, "stopping");
        })
        .await?;
    // 2. Flush within the orchestrator's grace period, and say what was
    // delivered and lost.
    let report = guard.shutdown_report(Duration::from_secs(5));
    eprintln!("{report}");
    report.result?;
    Ok(())
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn Error>> {
    let dir = std::env::temp_dir().join(format!("warden-axum-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    // 1. The stack: metrics rows are keyed by `http.route` by default. A
    // flood limit for the retry loop's target, and each request's DEBUG
    // lines held until it ends (`.sample(0.1)` on the same builder would
    // also keep only one request in ten's INFO lines, and every failed or
    // slow one's).
    let (subscriber, guard) = warden::Warden::builder()
        .audit_sqlite(dir.join("audit.db"))
        .without_otlp()
        .flood_limit(FloodLimit::builder().target("axum_service::retry", Rate::new(10, 20)))
        .request_lines(RequestLines::builder())
        .build()?;
    tracing::subscriber::set_global_default(subscriber)?;
    // 2. The request layer: correlation IDs, the route, an access line.
    let requests = warden::request_layer()
        .route(|ext| ext.get::<MatchedPath>().map(|p| p.as_str().to_owned()));
    // 3. On the router, so that the route is matched first.
    let app = Router::new()
        .route("/orders/{id}", get(order))
        .route("/health", get(|| async { "ok" }))
        .route("/fail", get(fail))
        .layer(requests);
    if std::env::args().any(|a| a == "--serve") {
        let served = serve(app, guard).await;
        let _ = std::fs::remove_dir_all(&dir);
        return served;
    }

    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let server = tokio::spawn(async move { axum::serve(listener, app).await });
    // The 503s while DEBUG is held (after the change, written as they come).
    let mut failed_while_held = 0;
    for n in 0..30 {
        if n == 15 {
            // The directives changed while it runs (what `PUT /filter` on
            // the ops endpoint does): the order handler's DEBUG lines are
            // written from now on, as they come.
            let change = guard.set_filter("info,axum_service=debug")?;
            eprintln!("log filter: {} -> {}", change.old, change.new);
        }
        let path = match n % 3 {
            0 => format!("/orders/{n}"),
            1 => "/health".to_owned(),
            _ if n % 6 == 2 => "/fail".to_owned(),
            _ => format!("/orders/{}", n * 7),
        };
        if path == "/fail" && n < 15 {
            failed_while_held += 1;
        }
        let status = get_path(addr, &path).await?;
        if !status.contains(" 200 ") && !status.contains(" 503 ") {
            return Err(format!("{path}: {status}").into());
        }
    }
    server.abort();
    tokio::time::sleep(Duration::from_millis(50)).await;

    let snapshot = guard
        .metrics()
        .ok_or("metrics are on by default")?
        .snapshot(Window::SinceStart);
    eprintln!("\nLatency per route:\n{snapshot}");
    let rows: Vec<&str> = snapshot
        .operations
        .iter()
        .map(|o| o.operation.as_str())
        .collect();
    for route in ["/orders/{id}", "/health", "/fail"] {
        if !rows.contains(&route) {
            return Err(format!("no metrics row for {route}: {rows:?}").into());
        }
    }
    let fail = snapshot.get("/fail").ok_or("no /fail row")?;
    if fail.errors != fail.count || fail.count == 0 {
        return Err(format!("503s should all be errors: {fail:?}").into());
    }
    if snapshot.get("/orders/{id}").is_some_and(|o| o.errors > 0) {
        return Err("200s are not errors".into());
    }
    // Every 503 before the change wrote its held DEBUG line; the clean
    // requests' were dropped.
    let lines = guard
        .request_lines()
        .map(RequestLines::stats)
        .ok_or("request lines were asked for")?;
    let flood = guard.flood().ok_or("the flood limit is on")?;
    eprintln!(
        "held DEBUG lines: {} written (failed requests), {} dropped (clean ones); retry lines suppressed: {}",
        lines.written,
        lines.discarded,
        flood.suppressed()
    );
    if lines.written != failed_while_held || flood.suppressed() == 0 {
        return Err(format!("{lines:?}, {} suppressed", flood.suppressed()).into());
    }
    guard.shutdown(Duration::from_secs(5))?;
    std::fs::remove_dir_all(&dir)?;
    Ok(())
}
