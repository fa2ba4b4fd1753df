//! Against a real collector: what `rotel-agent` received, checked field by
//! field, and no raw PII anywhere in it.

use std::time::Duration;

use tracing_subscriber::prelude::*;
use warden_audit::{AuditLayer, Route, RouteFilter};
use warden_correlation::CorrelationLayer;
use warden_metrics::MetricsLayer;
use warden_otlp::{Compression, Otlp, Protocol};
use warden_pii::PiiLayer;
use warden_test_support::Collector;

use crate::paths::{self, Path};

paths::on_both_paths!(
    spans_logs_and_metrics_arrive_over_grpc_with_structure_ids_and_no_pii,
    http_protobuf_with_gzip_and_no_gate_still_arrives_sanitized,
    audit_records_arrive_as_log_records_with_audit_attributes,
    checkpoints_arrive_as_witness_records_that_verify_the_store,
);

const RAW: [&str; 4] = [
    "ada@example.com",
    "4111 1111 1111 1111",
    "+1 415 555 0100",
    "078-05-1120",
];

fn assert_no_raw_pii(output: &str) {
    for raw in RAW {
        assert!(
            !output.contains(raw),
            "{raw} reached the collector:\n{output}"
        );
    }
}

/// The value of `key` (`    Key : value`) in each block of `output` that
/// the collector printed for a span, in order.
fn spans(output: &str) -> Vec<Vec<(String, String)>> {
    let mut spans = Vec::new();
    for block in output.split("Span #").skip(1) {
        let fields = block
            .lines()
            .filter_map(|l| {
                let (k, v) = l.split_once(':')?;
                Some((
                    k.trim().trim_start_matches("-> ").to_owned(),
                    v.trim().to_owned(),
                ))
            })
            .collect();
        spans.push(fields);
    }
    spans
}

fn get<'a>(fields: &'a [(String, String)], key: &str) -> &'a str {
    fields
        .iter()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.as_str())
        .unwrap_or_default()
}

fn service(otlp: &Otlp) {
    let _ = otlp;
    let request = tracing::info_span!(
        "request",
        correlation_id = "req-7f3a",
        customer = "ada@example.com"
    );
    let _request = request.enter();
    tracing::info!(
        phone = "+1 415 555 0100",
        "customer called from +1 415 555 0100"
    );
    {
        let _charge = tracing::info_span!("charge", card = "4111 1111 1111 1111").entered();
        tracing::error!(ssn = "078-05-1120", "charge declined");
    }
}

fn spans_logs_and_metrics_arrive_over_grpc_with_structure_ids_and_no_pii(path: Path) {
    let collector = Collector::start();
    let metrics = MetricsLayer::new();
    let otlp = paths::build(
        Otlp::builder()
            .ignore_env()
            .endpoint(collector.grpc())
            .service_name("checkout")
            .resource_attribute("deployment.environment", "test")
            .metrics(metrics.clone()),
        path,
    );
    let subscriber = tracing_subscriber::registry()
        .with(CorrelationLayer::default())
        .with(PiiLayer::default())
        .with(metrics)
        .with(otlp.layer());
    tracing::subscriber::with_default(subscriber, || {
        for _ in 0..3 {
            service(&otlp);
        }
    });
    otlp.flush(Duration::from_secs(10)).unwrap();
    assert!(
        collector.wait_for(Duration::from_secs(10), |o| {
            o.matches("Span #").count() >= 6
                && o.matches("LogRecord #").count() >= 6
                && o.contains("warden.operation.errors")
                && o.split("ExponentialHistogramDataPoints #")
                    .any(|b| b.contains("operation: Str(charge)"))
        }),
        "{}",
        collector.output()
    );
    let output = collector.output();
    assert_no_raw_pii(&output);
    assert!(output.contains("service.name: Str(checkout)"), "{output}");
    assert!(
        output.contains("deployment.environment: Str(test)"),
        "{output}"
    );

    // Structure: each charge's parent is a request of the same trace.
    let spans = spans(&output);
    let requests: Vec<_> = spans
        .iter()
        .filter(|s| get(s, "Name") == "request")
        .collect();
    let charges: Vec<_> = spans
        .iter()
        .filter(|s| get(s, "Name") == "charge")
        .collect();
    assert_eq!((requests.len(), charges.len()), (3, 3), "{output}");
    for charge in &charges {
        let parent = requests
            .iter()
            .find(|r| get(r, "ID") == get(charge, "Parent ID"))
            .unwrap_or_else(|| panic!("no parent for {charge:?}"));
        assert_eq!(get(parent, "Trace ID"), get(charge, "Trace ID"));
        assert_eq!(get(parent, "Parent ID"), "");
        assert_eq!(get(charge, "correlation.id"), "Str(req-7f3a)");
        assert_eq!(get(charge, "card"), "Str([REDACTED:CREDIT_CARD])");
        // An ERROR event inside the span makes its status an error.
        assert_eq!(get(charge, "Status code"), "STATUS_CODE_ERROR");
    }
    for request in &requests {
        assert_eq!(get(request, "customer"), "Str([REDACTED:EMAIL])");
        assert_eq!(get(request, "correlation.id"), "Str(req-7f3a)");
    }
    // Three traces, one per request.
    let mut traces: Vec<_> = requests.iter().map(|r| get(r, "Trace ID")).collect();
    traces.dedup();
    assert_eq!(traces.len(), 3);

    // Events are log records with their span's ids and the correlation ID.
    assert!(
        output.contains("Body: Str(customer called from [REDACTED:PHONE])"),
        "{output}"
    );
    assert!(output.contains("Body: Str(charge declined)"), "{output}");
    assert!(output.contains("SEVERITY_NUMBER_ERROR"), "{output}");
    let charge_span_ids: Vec<_> = charges.iter().map(|c| get(c, "ID")).collect();
    let declined: Vec<&str> = output
        .split("LogRecord #")
        .filter(|b| b.contains("charge declined"))
        .collect();
    assert_eq!(declined.len(), 3);
    for record in declined {
        assert!(record.contains("correlation.id: Str(req-7f3a)"), "{record}");
        let span_id = record
            .lines()
            .find_map(|l| l.trim().strip_prefix("Span ID"))
            .map(|v| v.trim_start_matches([' ', ':']).trim())
            .unwrap_or_default();
        assert!(charge_span_ids.contains(&span_id), "{span_id} in {record}");
    }

    // Metrics: exponential histograms with the right counts.
    let histogram = output
        .split("ExponentialHistogramDataPoints #")
        .find(|b| b.contains("operation: Str(charge)"))
        .unwrap_or_else(|| panic!("{output}"));
    assert!(histogram.contains("Count: 3"), "{histogram}");
    assert!(output.contains("warden.operation.errors"), "{output}");

    let stats = otlp.stats();
    assert_eq!(stats.spans.exported, 6, "{stats}");
    assert_eq!(stats.logs.exported, 6, "{stats}");
    assert_eq!(stats.lost(), 0, "{stats}");
    otlp.shutdown(Duration::from_secs(5)).unwrap();
}

fn http_protobuf_with_gzip_and_no_gate_still_arrives_sanitized(path: Path) {
    let collector = Collector::start();
    let otlp = paths::build(
        Otlp::builder()
            .ignore_env()
            .endpoint(collector.http())
            .protocol(Protocol::HttpProtobuf)
            .compression(Compression::Gzip)
            .header("x-team", "payments"),
        path,
    );
    // No PII gate: the exporter's own sanitizer is the last line.
    let subscriber = tracing_subscriber::registry().with(otlp.layer());
    tracing::subscriber::with_default(subscriber, || {
        for _ in 0..2 {
            service(&otlp);
        }
        let span = tracing::info_span!("late", note = tracing::field::Empty);
        span.record("note", "call +1 415 555 0100");
    });
    otlp.flush(Duration::from_secs(10)).unwrap();
    assert!(
        collector.wait_for(Duration::from_secs(10), |o| {
            o.matches("Span #").count() >= 5 && o.matches("LogRecord #").count() >= 4
        }),
        "{}",
        collector.output()
    );
    let output = collector.output();
    assert_no_raw_pii(&output);
    assert!(
        output.contains("note: Str(call [REDACTED:PHONE])"),
        "{output}"
    );
    assert!(
        output.contains("customer: Str([REDACTED:EMAIL])"),
        "{output}"
    );
    assert_eq!(otlp.stats().lost(), 0);
}

fn audit_records_arrive_as_log_records_with_audit_attributes(path: Path) {
    let collector = Collector::start();
    let otlp = paths::build(
        Otlp::builder().ignore_env().endpoint(collector.grpc()),
        path,
    );
    let audit = AuditLayer::builder()
        .route(Route::new("otlp", RouteFilter::all()).sink(otlp.audit_sink()))
        .build()
        .unwrap();
    let subscriber = tracing_subscriber::registry()
        .with(CorrelationLayer::default())
        .with(PiiLayer::default())
        .with(audit.clone());
    tracing::subscriber::with_default(subscriber, || {
        let _request = tracing::info_span!("request", correlation_id = "req-audit-1").entered();
        warden_audit::authentication!(
            action = "login",
            user_id = "u-42",
            outcome = "FAILURE",
            error_message = "bad password for ada@example.com",
            attempts = 3
        );
        warden_audit::tool_invocation!(
            action = "refund",
            resource_id = "order-7",
            duration_ms = 12.5,
            amount = 30
        );
    });
    audit.flush(Duration::from_secs(10)).unwrap();
    otlp.flush(Duration::from_secs(10)).unwrap();
    assert!(
        collector.wait_for(Duration::from_secs(10), |o| o
            .matches("LogRecord #")
            .count()
            >= 2),
        "{}",
        collector.output()
    );
    let output = collector.output();
    assert_no_raw_pii(&output);
    let login = output
        .split("LogRecord #")
        .find(|b| b.contains("audit.action: Str(login)"))
        .unwrap_or_else(|| panic!("{output}"));
    for expected in [
        "Body: Str(login)",
        "audit.event_type: Str(AUTHENTICATION)",
        "audit.outcome: Str(FAILURE)",
        "audit.user_id: Str(u-42)",
        "audit.error_message: Str(bad password for [REDACTED:EMAIL])",
        "audit.metadata.attempts: Int(3)",
        "correlation.id: Str(req-audit-1)",
    ] {
        assert!(login.contains(expected), "{expected} missing from {login}");
    }
    let refund = output
        .split("LogRecord #")
        .find(|b| b.contains("audit.action: Str(refund)"))
        .unwrap_or_else(|| panic!("{output}"));
    assert!(
        refund.contains("audit.event_type: Str(TOOL_INVOCATION)"),
        "{refund}"
    );
    assert!(
        refund.contains("audit.duration_ms: Double(12.5)"),
        "{refund}"
    );
    assert!(
        refund.contains("audit.resource_id: Str(order-7)"),
        "{refund}"
    );
    assert_eq!(otlp.stats().audit.exported, 2, "{}", otlp.stats());
    audit.shutdown(Duration::from_secs(5)).unwrap();
}

/// The checkpoints of a store reach the collector as `audit.checkpoint`
/// log records whose bodies, exported, are a witness file that `verify`
/// reads back and holds the store to.
fn checkpoints_arrive_as_witness_records_that_verify_the_store(path: Path) {
    use warden_audit::{
        AuditRecord, AuditSink, EventType, SigningKey, SqliteSink, Verifier, read_witness_file,
    };

    let collector = Collector::start();
    let otlp = paths::build(
        Otlp::builder().ignore_env().endpoint(collector.grpc()),
        path,
    );
    let dir = warden_test_support::Scratch::new();
    let db = dir.path("audit.db");
    let signing = SigningKey::generate();
    let mut sink = SqliteSink::builder(&db)
        .signing_key(signing.clone())
        .witness(otlp.checkpoint_witness())
        .build()
        .unwrap();
    sink.write(&[AuditRecord::new(EventType::Authentication, "login")])
        .unwrap();
    sink.close().unwrap();
    drop(sink);
    otlp.flush(Duration::from_secs(10)).unwrap();
    assert!(
        collector.wait_for(Duration::from_secs(10), |o| o
            .contains("audit.checkpoint.signer")),
        "{}",
        collector.output()
    );
    let output = collector.output();
    let record = output
        .split("LogRecord #")
        .find(|b| b.contains("audit.checkpoint.last_seq: Int(1)"))
        .unwrap_or_else(|| panic!("{output}"));
    assert!(
        record.contains(&format!(
            "audit.checkpoint.signer: Str({})",
            signing.public_key().id()
        )),
        "{record}"
    );
    // The bodies, as a log store would export them, are a witness file.
    let bodies: String = output
        .lines()
        .filter_map(|l| l.trim().strip_prefix("Body: Str("))
        .filter_map(|l| l.strip_suffix(')'))
        .filter(|l| l.contains("\"audit.checkpoint\""))
        .map(|l| format!("{l}\n"))
        .collect();
    let witness = dir.path("witness.jsonl");
    std::fs::write(&witness, bodies).unwrap();
    let witnessed = read_witness_file(&witness).unwrap();
    assert_eq!(witnessed.len(), 1, "{output}");
    let report = Verifier::new()
        .public_key(signing.public_key())
        .witness(witnessed)
        .verify(&db)
        .unwrap();
    assert!(report.is_ok() && report.witnessed == 1, "{report}");
    assert_eq!(otlp.stats().lost(), 0);
    otlp.shutdown(Duration::from_secs(5)).unwrap();
}
