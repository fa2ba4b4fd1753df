//! The standard environment, then the builder over it. One test in this
//! binary, so nothing else reads the variables while it sets them.

use std::time::Duration;

use warden_otlp::{Compression, Otlp, OtlpConfig, OtlpError, Protocol, Signal};

fn clear() {
    for (name, _) in std::env::vars() {
        if name.starts_with("OTEL_") {
            warden_test_support::remove_env(name);
        }
    }
}

#[test]
fn the_environment_configures_and_the_builder_overrides() {
    clear();
    assert!(!OtlpConfig::env_configured());
    warden_test_support::set_env("OTEL_EXPORTER_OTLP_ENDPOINT", "http://collector:4318");
    warden_test_support::set_env("OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf");
    warden_test_support::set_env("OTEL_EXPORTER_OTLP_HEADERS", "api-key=s%3Dcret,x-team=core");
    warden_test_support::set_env("OTEL_EXPORTER_OTLP_COMPRESSION", "gzip");
    warden_test_support::set_env("OTEL_EXPORTER_OTLP_TIMEOUT", "1500");
    warden_test_support::set_env(
        "OTEL_EXPORTER_OTLP_LOGS_ENDPOINT",
        "http://logs:9999/ingest",
    );
    warden_test_support::set_env("OTEL_SERVICE_NAME", "checkout");
    warden_test_support::set_env("OTEL_BSP_MAX_QUEUE_SIZE", "100");
    warden_test_support::set_env("OTEL_METRIC_EXPORT_INTERVAL", "5000");
    assert!(OtlpConfig::env_configured());

    let config = Otlp::builder().config().unwrap();
    assert_eq!(config.protocol, Protocol::HttpProtobuf);
    assert_eq!(
        config.endpoint_for(Signal::Traces),
        "http://collector:4318/v1/traces"
    );
    assert_eq!(config.endpoint_for(Signal::Logs), "http://logs:9999/ingest");
    assert_eq!(
        config.headers,
        [
            ("api-key".into(), "s=cret".into()),
            ("x-team".into(), "core".into())
        ]
    );
    assert_eq!(config.compression, Compression::Gzip);
    assert_eq!(config.timeout, Duration::from_millis(1500));
    assert_eq!(config.service_name.as_deref(), Some("checkout"));
    assert_eq!(config.span_queue, 100);
    assert_eq!(config.metrics_interval, Duration::from_secs(5));

    // The builder wins, and an explicit endpoint replaces per-signal ones.
    let config = Otlp::builder()
        .endpoint("http://other:4317")
        .protocol(Protocol::Grpc)
        .compression(Compression::None)
        .service_name("billing")
        .config()
        .unwrap();
    assert_eq!(config.endpoint_for(Signal::Logs), "http://other:4317");
    assert_eq!(config.compression, Compression::None);
    assert_eq!(config.service_name.as_deref(), Some("billing"));

    // Bad values are named, not ignored.
    warden_test_support::set_env("OTEL_EXPORTER_OTLP_PROTOCOL", "http/json");
    assert!(
        matches!(Otlp::builder().config(), Err(OtlpError::UnsupportedProtocol(p)) if p == "http/json")
    );
    warden_test_support::set_env("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc");
    warden_test_support::set_env("OTEL_EXPORTER_OTLP_TIMEOUT", "ten");
    let err = Otlp::builder().config().unwrap_err();
    assert_eq!(
        err.to_string(),
        "OTEL_EXPORTER_OTLP_TIMEOUT=\"ten\" is not a whole number"
    );
    warden_test_support::set_env("OTEL_EXPORTER_OTLP_TIMEOUT", "10");
    warden_test_support::set_env("OTEL_EXPORTER_OTLP_HEADERS", "broken");
    assert!(matches!(
        Otlp::builder().config(),
        Err(OtlpError::InvalidPair { .. })
    ));
    warden_test_support::remove_env("OTEL_EXPORTER_OTLP_HEADERS");
    warden_test_support::set_env("OTEL_EXPORTER_OTLP_ENDPOINT", "collector:4317");
    warden_test_support::remove_env("OTEL_EXPORTER_OTLP_LOGS_ENDPOINT");
    // Without a scheme, gRPC follows OTEL_EXPORTER_OTLP_INSECURE: TLS unless true.
    let config = Otlp::builder().config().unwrap();
    assert_eq!(
        config.endpoint_for(Signal::Traces),
        "https://collector:4317"
    );
    warden_test_support::set_env("OTEL_EXPORTER_OTLP_INSECURE", "true");
    let config = Otlp::builder().config().unwrap();
    assert_eq!(config.endpoint_for(Signal::Traces), "http://collector:4317");
    warden_test_support::set_env("OTEL_EXPORTER_OTLP_INSECURE", "maybe");
    assert!(matches!(
        Otlp::builder().config(),
        Err(OtlpError::InvalidFlag { .. })
    ));
    warden_test_support::remove_env("OTEL_EXPORTER_OTLP_INSECURE");
    // Over HTTP an endpoint needs its scheme.
    warden_test_support::set_env("OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf");
    assert!(matches!(
        Otlp::builder().build(),
        Err(OtlpError::InvalidEndpoint(_))
    ));
    warden_test_support::set_env("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc");
    assert!(Otlp::builder().ignore_env().build().is_ok());

    // A TLS file named by a variable that is not there: an error naming
    // the variable and the path, never a fallback to plain text.
    warden_test_support::set_env("OTEL_EXPORTER_OTLP_ENDPOINT", "https://collector:4318");
    warden_test_support::set_env("OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf");
    warden_test_support::set_env("OTEL_EXPORTER_OTLP_CERTIFICATE", "/no/such/ca.pem");
    let err = Otlp::builder().config().unwrap_err();
    assert!(
        err.to_string()
            .starts_with("OTEL_EXPORTER_OTLP_CERTIFICATE=\"/no/such/ca.pem\""),
        "{err}"
    );
    warden_test_support::remove_env("OTEL_EXPORTER_OTLP_CERTIFICATE");
    warden_test_support::set_env("OTEL_EXPORTER_OTLP_CLIENT_KEY", "/no/such/client.key");
    let err = Otlp::builder().config().unwrap_err();
    assert!(
        err.to_string().contains("OTEL_EXPORTER_OTLP_CLIENT_KEY"),
        "{err}"
    );
    warden_test_support::remove_env("OTEL_EXPORTER_OTLP_CLIENT_KEY");
    // Per-signal forms: checked the same way, named as they were given.
    warden_test_support::set_env(
        "OTEL_EXPORTER_OTLP_LOGS_CERTIFICATE",
        "/no/such/logs-ca.pem",
    );
    let err = Otlp::builder().config().unwrap_err();
    assert!(
        err.to_string()
            .starts_with("OTEL_EXPORTER_OTLP_LOGS_CERTIFICATE="),
        "{err}"
    );
    warden_test_support::remove_env("OTEL_EXPORTER_OTLP_LOGS_CERTIFICATE");
    warden_test_support::set_env("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc");
    warden_test_support::set_env("OTEL_EXPORTER_OTLP_METRICS_ENDPOINT", "metrics:4317");
    warden_test_support::set_env("OTEL_EXPORTER_OTLP_METRICS_INSECURE", "true");
    let config = Otlp::builder().config().unwrap();
    assert_eq!(config.endpoint_for(Signal::Metrics), "http://metrics:4317");
    assert!(config.endpoint_for(Signal::Traces).starts_with("https://"));
    warden_test_support::remove_env("OTEL_EXPORTER_OTLP_METRICS_ENDPOINT");
    warden_test_support::remove_env("OTEL_EXPORTER_OTLP_METRICS_INSECURE");

    warden_test_support::set_env("OTEL_SDK_DISABLED", "true");
    assert!(!OtlpConfig::env_configured());
    clear();

    delivery_over_tls_configured_by_the_variables();
    clear();
}

/// Spans, events, audit records and metrics over TLS to a real collector
/// behind nginx, for each protocol, configured by the variables alone (the
/// CA and a client certificate, which the proxy requires).
fn delivery_over_tls_configured_by_the_variables() {
    use tracing_subscriber::prelude::*;
    use warden_test_support::{Collector, Scratch, TlsProxy, set_env, write_certificates};

    let dir = Scratch::new();
    write_certificates(&dir.0);
    let collector = Collector::start();
    let ca = dir.path("ca.pem");
    set_env("OTEL_EXPORTER_OTLP_CERTIFICATE", &ca);
    set_env(
        "OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE",
        dir.path("client.pem"),
    );
    set_env("OTEL_EXPORTER_OTLP_CLIENT_KEY", dir.path("client.key"));
    for (protocol, proxy) in [
        (
            "grpc",
            TlsProxy::grpc(&dir.0, collector.grpc_port, Some(&ca)),
        ),
        (
            "http/protobuf",
            TlsProxy::start(&dir.0, collector.http_port, Some(&ca)),
        ),
    ] {
        set_env("OTEL_EXPORTER_OTLP_PROTOCOL", protocol);
        set_env(
            "OTEL_EXPORTER_OTLP_ENDPOINT",
            format!("https://localhost:{}", proxy.port),
        );
        let metrics = warden_metrics::MetricsLayer::new();
        let otlp = Otlp::builder()
            .delay(Duration::from_millis(10))
            .metrics(metrics.clone())
            .build()
            .unwrap();
        let audit = warden_audit::AuditLayer::builder()
            .route(
                warden_audit::Route::new("otlp", warden_audit::RouteFilter::all())
                    .sink(otlp.audit_sink()),
            )
            .build()
            .unwrap();
        let subscriber = tracing_subscriber::registry()
            .with(warden_pii::PiiLayer::default())
            .with(metrics)
            .with(audit.clone())
            .with(otlp.layer());
        let span_name = format!("env_tls_{}", protocol.replace('/', "_"));
        tracing::subscriber::with_default(subscriber, || {
            let _span = tracing::info_span!("env_tls", op = %span_name).entered();
            tracing::info!(customer = "ada@example.com", "{span_name} event");
            warden_audit::security!(action = "env_tls_audit", user_id = "bob@example.org");
        });
        audit.shutdown(Duration::from_secs(10)).unwrap();
        otlp.flush(Duration::from_secs(15)).unwrap();
        let stats = otlp.stats();
        assert_eq!(stats.spans.exported, 1, "{protocol}: {stats}");
        assert_eq!(stats.audit.exported, 1, "{protocol}: {stats}");
        assert!(
            stats.logs.exported >= 1 && stats.metrics.exported >= 1,
            "{protocol}: {stats}"
        );
        assert!(
            collector.wait_for(Duration::from_secs(20), |o| o
                .contains(&format!("{span_name} event"))
                && o.contains("env_tls_audit")),
            "{protocol}: {}",
            collector.output()
        );
        otlp.shutdown(Duration::from_secs(5)).unwrap();
    }
    let output = collector.output();
    assert!(!output.contains("ada@example.com") && !output.contains("bob@example.org"));
}
