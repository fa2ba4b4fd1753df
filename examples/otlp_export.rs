//! Spans, events and metrics to an OpenTelemetry collector over OTLP,
//! sanitized on the way and never blocking the application.
//!
//! ```text
//! OTEL_EXPORTER_OTLP_ENDPOINT=http://127.0.0.1:4317 cargo run --example otlp_export
//! ```
//!
//! The endpoint, protocol, headers and timeouts come from the standard
//! `OTEL_*` variables (`http://localhost:4317`, gRPC, by default). With no
//! collector listening the export fails, and the counts printed at the end
//! say so: nothing waits for a collector.

use std::error::Error;
use std::time::Duration;

use tracing_subscriber::prelude::*;
use warden::metrics::MetricsLayer;
use warden::otlp::Otlp;
use warden::pii::PiiLayer;

fn main() -> Result<(), Box<dyn Error>> {
    let metrics = MetricsLayer::new();
    let otlp = Otlp::builder()
        .service_name("otlp-example")
        .metrics(metrics.clone())
        .build()?;
    let subscriber = tracing_subscriber::registry()
        .with(PiiLayer::default())
        .with(metrics)
        .with(otlp.layer());
    tracing::subscriber::with_default(subscriber, || {
        for order in 0..5u64 {
            let span = tracing::info_span!("get_order", order_id = order, route = "/api/orders");
            let _entered = span.enter();
            tracing::info!(customer = "ada@example.com", "order read"); // exported sanitized
        }
    });
    let flushed = otlp.flush(Duration::from_secs(10));
    let stats = otlp.stats();
    let endpoint = otlp
        .config()
        .endpoint
        .as_deref()
        .unwrap_or("the protocol's localhost default");
    println!("endpoint: {endpoint}");
    println!("{stats}");
    match flushed {
        Ok(()) => println!("flushed"),
        Err(e) => println!("flush: {e}"),
    }
    otlp.shutdown(Duration::from_secs(10))?;
    Ok(())
}
