//! The Prometheus and OpenMetrics expositions: well-formed (checked by
//! `promtool` when it is installed), quantiles and buckets consistent with
//! the layer's own figures.

use std::time::Duration;

use tracing_subscriber::prelude::*;
use warden_metrics::{ExpositionFormat, MetricsLayer, PrometheusEncoder, Window};

fn layer_with_traffic() -> MetricsLayer {
    let metrics = MetricsLayer::builder()
        .operation_field("http.route")
        .build();
    let subscriber = tracing_subscriber::registry().with(metrics.clone());
    tracing::subscriber::with_default(subscriber, || {
        for i in 0..200u64 {
            let span = tracing::info_span!(
                "request",
                http.route = if i % 2 == 0 {
                    "/orders/{id}"
                } else {
                    "/a \"quoted\\ route\n"
                },
                error = tracing::field::Empty,
                error.code = tracing::field::Empty
            );
            if i % 10 == 0 {
                span.record("error", true);
                span.record("error.code", 503u64);
            }
            let _entered = span.enter();
            std::thread::sleep(Duration::from_micros(50 + i * 5));
        }
    });
    metrics
}

fn promtool_check(text: &str) {
    // ./scripts/test installs promtool (Debian's prometheus package).
    let mut child = std::process::Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("promtool (Debian's prometheus package; ./scripts/test installs it)");
    use std::io::Write;
    child
        .stdin
        .take()
        .unwrap()
        .write_all(text.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    let report = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        out.status.success(),
        "promtool refused the exposition: {report}\n{text}"
    );
}

#[test]
fn the_prometheus_text_is_well_formed_and_consistent() {
    let metrics = layer_with_traffic();
    let mut out = String::new();
    let encoder = PrometheusEncoder::new().window(Window::SinceStart);
    encoder.encode(&metrics, ExpositionFormat::Prometheus, &mut out);
    encoder.encode_alerts(
        [("p95(/orders/{id}) > 2ms", true)],
        ExpositionFormat::Prometheus,
        &mut out,
    );
    promtool_check(&out);
    assert!(
        out.contains("# TYPE warden_operation_duration_seconds summary"),
        "{out}"
    );
    assert!(
        out.contains("# TYPE warden_operation_latency_seconds histogram"),
        "{out}"
    );
    assert!(
        out.contains(r#"warden_operation_calls_total{operation="/orders/{id}"} 100"#),
        "{out}"
    );
    assert!(
        out.contains(r#"warden_operation_errors_total{operation="/orders/{id}",code="503"} 20"#),
        "{out}"
    );
    assert!(
        out.contains(r#"operation="/a \"quoted\\ route\n""#),
        "escaped: {out}"
    );
    assert!(
        out.contains(r#"warden_alert_firing{rule="p95(/orders/{id}) > 2ms"} 1"#),
        "{out}"
    );
    // The summary's p95 is the layer's own.
    let snapshot = metrics.snapshot(Window::SinceStart);
    let p95 = snapshot.get("/orders/{id}").unwrap().p95.as_secs_f64();
    assert!(
        out.contains(&format!(
            r#"warden_operation_duration_seconds{{operation="/orders/{{id}}",quantile="0.95"}} {p95}"#
        )),
        "{out}"
    );
    // Buckets are cumulative and end at the count.
    let buckets: Vec<u64> = out
        .lines()
        .filter(|l| {
            l.starts_with(r#"warden_operation_latency_seconds_bucket{operation="/orders/{id}""#)
        })
        .map(|l| l.rsplit(' ').next().unwrap().parse().unwrap())
        .collect();
    assert!(buckets.windows(2).all(|w| w[0] <= w[1]), "{buckets:?}");
    assert_eq!(buckets.last(), Some(&100));
}

#[test]
fn the_openmetrics_text_is_well_formed() {
    let metrics = layer_with_traffic();
    let mut out = String::new();
    let format = ExpositionFormat::OpenMetrics;
    PrometheusEncoder::new().encode(&metrics, format, &mut out);
    PrometheusEncoder::finish(format, &mut out);
    // (promtool reads Prometheus' format only; the real Prometheus server
    // test scrapes this one.)
    assert!(out.ends_with("# EOF\n"), "{out}");
    assert_eq!(out.matches("# EOF").count(), 1);
    assert!(
        out.contains("# UNIT warden_operation_duration_seconds seconds"),
        "{out}"
    );
    assert!(
        out.contains("# TYPE warden_operation_calls counter"),
        "{out}"
    );
}
