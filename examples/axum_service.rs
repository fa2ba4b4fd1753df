//! An axum service on `warden::init()`'s stack: one metrics row per route,
//! one access line per request, 5xx counted as errors.
//!
//! `cargo run --example axum_service --features tower`
//!
//! The recipe is three lines: the stack, the request layer with a route
//! finder reading axum's `MatchedPath`, and `Router::layer`.

use std::error::Error;
use std::time::Duration;

use axum::Router;
use axum::extract::{MatchedPath, Path};
use axum::http::StatusCode;
use axum::routing::get;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use warden::metrics::Window;

async fn order(Path(id): Path<u32>) -> String {
    tracing::info!(order = id, "order served");
    format!("order {id}")
}

async fn fail() -> StatusCode {
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

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn Error>> {
    let dir = std::env::temp_dir().join(format!("warden-axum-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    // 1. The stack: metrics rows are keyed by `http.route` by default.
    let (subscriber, guard) = warden::Warden::builder()
        .audit_sqlite(dir.join("audit.db"))
        .without_otlp()
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

    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let server = tokio::spawn(async move { axum::serve(listener, app).await });
    for n in 0..30 {
        let path = match n % 3 {
            0 => format!("/orders/{n}"),
            1 => "/health".to_owned(),
            _ if n % 6 == 2 => "/fail".to_owned(),
            _ => format!("/orders/{}", n * 7),
        };
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
    guard.shutdown(Duration::from_secs(5))?;
    std::fs::remove_dir_all(&dir)?;
    Ok(())
}
