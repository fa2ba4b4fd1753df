//! The standard environment, then the builder over it. One test in this
//! binary, so nothing else reads the variables while it sets them.

use std::time::Duration;

use warden_otlp::{Compression, Otlp, OtlpConfig, OtlpError, Protocol, Signal};

fn clear() {
    for (name, _) in std::env::vars() {
        if name.starts_with("OTEL_") {
            std::env::remove_var(name);
        }
    }
}

#[test]
fn the_environment_configures_and_the_builder_overrides() {
    clear();
    assert!(!OtlpConfig::env_configured());
    std::env::set_var("OTEL_EXPORTER_OTLP_ENDPOINT", "http://collector:4318");
    std::env::set_var("OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf");
    std::env::set_var("OTEL_EXPORTER_OTLP_HEADERS", "api-key=s%3Dcret,x-team=core");
    std::env::set_var("OTEL_EXPORTER_OTLP_COMPRESSION", "gzip");
    std::env::set_var("OTEL_EXPORTER_OTLP_TIMEOUT", "1500");
    std::env::set_var(
        "OTEL_EXPORTER_OTLP_LOGS_ENDPOINT",
        "http://logs:9999/ingest",
    );
    std::env::set_var("OTEL_SERVICE_NAME", "checkout");
    std::env::set_var("OTEL_BSP_MAX_QUEUE_SIZE", "100");
    std::env::set_var("OTEL_METRIC_EXPORT_INTERVAL", "5000");
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
    std::env::set_var("OTEL_EXPORTER_OTLP_PROTOCOL", "http/json");
    assert!(
        matches!(Otlp::builder().config(), Err(OtlpError::UnsupportedProtocol(p)) if p == "http/json")
    );
    std::env::set_var("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc");
    std::env::set_var("OTEL_EXPORTER_OTLP_TIMEOUT", "ten");
    let err = Otlp::builder().config().unwrap_err();
    assert_eq!(
        err.to_string(),
        "OTEL_EXPORTER_OTLP_TIMEOUT=\"ten\" is not a whole number"
    );
    std::env::set_var("OTEL_EXPORTER_OTLP_TIMEOUT", "10");
    std::env::set_var("OTEL_EXPORTER_OTLP_HEADERS", "broken");
    assert!(matches!(
        Otlp::builder().config(),
        Err(OtlpError::InvalidPair { .. })
    ));
    std::env::remove_var("OTEL_EXPORTER_OTLP_HEADERS");
    std::env::set_var("OTEL_EXPORTER_OTLP_ENDPOINT", "collector:4317");
    std::env::remove_var("OTEL_EXPORTER_OTLP_LOGS_ENDPOINT");
    assert!(matches!(
        Otlp::builder().build(),
        Err(OtlpError::InvalidEndpoint(_))
    ));
    assert!(Otlp::builder().ignore_env().build().is_ok());

    std::env::set_var("OTEL_SDK_DISABLED", "true");
    assert!(!OtlpConfig::env_configured());
    clear();
}
