//! OTLP over HTTPS to a real TLS-terminating proxy (nginx) in front of the
//! rotel collector, with certificates made at test time: a private CA, a
//! server certificate for `localhost`, a client certificate for mutual TLS.

use std::time::Duration;

use tracing_subscriber::prelude::*;
use warden_otlp::{Otlp, OtlpError, Protocol};
use warden_test_support::{Collector, Scratch, TlsProxy, write_certificates as certificates};

/// Exports one span carrying an email through `otlp`; what the exporter
/// counted for spans: (exported, failed).
fn export_one(otlp: &Otlp) -> (u64, u64) {
    let subscriber = tracing_subscriber::registry().with(otlp.layer());
    tracing::subscriber::with_default(subscriber, || {
        let _span = tracing::info_span!("tls_checkout", customer = "ada@example.com").entered();
    });
    let _ = otlp.flush(Duration::from_secs(15));
    let stats = otlp.stats();
    (stats.spans.exported, stats.spans.failed)
}

fn https_exporter(port: u16, host: &str) -> warden_otlp::OtlpBuilder {
    Otlp::builder()
        .ignore_env()
        .protocol(Protocol::HttpProtobuf)
        .endpoint(format!("https://{host}:{port}"))
        .timeout(Duration::from_secs(3))
        .delay(Duration::from_millis(10))
}

#[test]
fn spans_arrive_over_https_with_the_ca_given_and_fail_counted_without_it() {
    let dir = Scratch::new();
    certificates(&dir.0);
    let collector = Collector::start();
    let proxy = TlsProxy::start(&dir.0, collector.http_port, None);

    let trusted = https_exporter(proxy.port, "localhost")
        .ca_certificate(dir.path("ca.pem"))
        .build()
        .unwrap();
    assert_eq!(export_one(&trusted), (1, 0));
    assert!(
        collector.wait_for(Duration::from_secs(20), |o| o.contains("tls_checkout")),
        "{}",
        collector.output()
    );
    assert!(!collector.output().contains("ada@example.com"));
    trusted.shutdown(Duration::from_secs(5)).unwrap();

    // A CA that signed nothing here: the handshake fails, counted, no panic.
    let untrusted = https_exporter(proxy.port, "localhost")
        .ca_certificate(dir.path("other-ca.pem"))
        .build()
        .unwrap();
    assert_eq!(export_one(&untrusted), (0, 1));
    let _ = untrusted.shutdown(Duration::from_secs(5));

    // The right CA, the wrong name: the certificate is for `localhost`.
    let wrong_host = https_exporter(proxy.port, "127.0.0.1")
        .ca_certificate(dir.path("ca.pem"))
        .build()
        .unwrap();
    assert_eq!(export_one(&wrong_host), (0, 1));
    let _ = wrong_host.shutdown(Duration::from_secs(5));
}

#[test]
fn mutual_tls_needs_the_client_certificate() {
    let dir = Scratch::new();
    certificates(&dir.0);
    let collector = Collector::start();
    let ca = dir.path("ca.pem");
    let proxy = TlsProxy::start(&dir.0, collector.http_port, Some(&ca));

    let anonymous = https_exporter(proxy.port, "localhost")
        .ca_certificate(&ca)
        .build()
        .unwrap();
    assert_eq!(export_one(&anonymous), (0, 1));
    let _ = anonymous.shutdown(Duration::from_secs(5));

    let identified = https_exporter(proxy.port, "localhost")
        .ca_certificate(&ca)
        .client_certificate(dir.path("client.pem"), dir.path("client.key"))
        .build()
        .unwrap();
    assert_eq!(export_one(&identified), (1, 0));
    identified.shutdown(Duration::from_secs(5)).unwrap();
}

#[test]
fn bad_tls_files_are_build_errors_naming_where_they_came_from() {
    let dir = Scratch::new();
    certificates(&dir.0);
    std::fs::write(dir.path("garbage.pem"), "not a certificate").unwrap();
    let err = https_exporter(4318, "localhost")
        .ca_certificate(dir.path("missing.pem"))
        .config()
        .unwrap_err();
    assert!(
        matches!(&err, OtlpError::TlsFile { variable: "builder", path, .. } if path.ends_with("missing.pem")),
        "{err}"
    );
    let err = https_exporter(4318, "localhost")
        .ca_certificate(dir.path("garbage.pem"))
        .config()
        .unwrap_err();
    assert!(err.to_string().contains("garbage.pem"), "{err}");
    // A key that is not the certificate's.
    let err = https_exporter(4318, "localhost")
        .client_certificate(dir.path("client.pem"), dir.path("server.key"))
        .config()
        .unwrap_err();
    assert!(err.to_string().contains("server.key"), "{err}");
    // An X.509 v1 client certificate (OpenSSL's `x509 -req` without
    // extensions makes one) is named as the fault, not its key.
    let v1 = |args: &[&str]| {
        let status = std::process::Command::new("openssl")
            .args(args)
            .current_dir(&dir.0)
            .stderr(std::process::Stdio::null())
            .status()
            .expect("the openssl command makes the v1 certificate");
        assert!(status.success(), "openssl {args:?}");
    };
    v1(&[
        "req",
        "-new",
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:P-256",
        "-nodes",
        "-keyout",
        "v1.key",
        "-subj",
        "/CN=client",
        "-out",
        "v1.csr",
    ]);
    v1(&[
        "x509", "-req", "-in", "v1.csr", "-signkey", "v1.key", "-out", "v1.pem", "-days", "1",
    ]);
    let err = https_exporter(4318, "localhost")
        .client_certificate(dir.path("v1.pem"), dir.path("v1.key"))
        .config()
        .unwrap_err();
    let text = err.to_string();
    assert!(
        text.contains("v1.pem") && text.contains("X.509 v1"),
        "{text}"
    );
    // The same files are checked for gRPC.
    let err = Otlp::builder()
        .ignore_env()
        .endpoint("https://localhost:4317")
        .ca_certificate(dir.path("missing.pem"))
        .config()
        .unwrap_err();
    assert!(matches!(err, OtlpError::TlsFile { .. }), "{err}");
}

#[test]
fn grpc_over_mutual_tls_delivers_spans_logs_audit_records_and_metrics() {
    let dir = Scratch::new();
    certificates(&dir.0);
    let collector = Collector::start();
    let ca = dir.path("ca.pem");
    let proxy = TlsProxy::grpc(&dir.0, collector.grpc_port, Some(&ca));
    let metrics = warden_metrics::MetricsLayer::new();
    let otlp = Otlp::builder()
        .ignore_env()
        .protocol(Protocol::Grpc)
        .endpoint(format!("https://localhost:{}", proxy.port))
        .timeout(Duration::from_secs(5))
        .delay(Duration::from_millis(10))
        .ca_certificate(&ca)
        .client_certificate(dir.path("client.pem"), dir.path("client.key"))
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
        .with(metrics)
        .with(audit.clone())
        .with(otlp.layer());
    tracing::subscriber::with_default(subscriber, || {
        let _span = tracing::info_span!("grpc_tls_checkout").entered();
        tracing::info!(customer = "ada@example.com", "grpc tls event");
        warden_audit::security!(action = "grpc_tls_audit", outcome = "FAILURE");
    });
    audit.shutdown(Duration::from_secs(10)).unwrap();
    otlp.flush(Duration::from_secs(15)).unwrap();
    let stats = otlp.stats();
    assert_eq!(stats.spans.exported, 1, "{stats}");
    assert_eq!(stats.audit.exported, 1, "{stats}");
    assert!(stats.logs.exported >= 1, "{stats}");
    assert!(stats.metrics.exported >= 1, "{stats}");
    assert!(
        collector.wait_for(Duration::from_secs(20), |o| o.contains("grpc_tls_checkout")
            && o.contains("grpc tls event")
            && o.contains("grpc_tls_audit")
            && o.contains("warden.operation.duration")),
        "{}",
        collector.output()
    );
    assert!(!collector.output().contains("ada@example.com"));
    otlp.shutdown(Duration::from_secs(5)).unwrap();
}

#[test]
fn an_expired_server_certificate_fails_the_export_counted() {
    let dir = Scratch::new();
    certificates(&dir.0);
    let collector = Collector::start();
    let proxy = TlsProxy::start(&dir.0.join("expired"), collector.http_port, None);
    let otlp = https_exporter(proxy.port, "localhost")
        .ca_certificate(dir.path("ca.pem"))
        .build()
        .unwrap();
    assert_eq!(export_one(&otlp), (0, 1));
    let _ = otlp.shutdown(Duration::from_secs(5));
}

#[test]
fn delivery_resumes_when_the_collector_behind_the_proxy_restarts() {
    let dir = Scratch::new();
    certificates(&dir.0);
    let mut collector = Collector::start();
    let proxy = TlsProxy::start(&dir.0, collector.http_port, None);
    let otlp = https_exporter(proxy.port, "localhost")
        .ca_certificate(dir.path("ca.pem"))
        .build()
        .unwrap();
    assert_eq!(export_one(&otlp), (1, 0));
    collector.kill();
    // Refused behind the proxy (nginx answers 502): counted as failed.
    assert_eq!(export_one(&otlp), (1, 1));
    collector.restart();
    assert_eq!(export_one(&otlp), (2, 1));
    assert!(
        collector.wait_for(Duration::from_secs(20), |o| o.contains("tls_checkout")),
        "{}",
        collector.output()
    );
    otlp.shutdown(Duration::from_secs(5)).unwrap();
}
