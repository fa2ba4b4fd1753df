//! Turning captured records into OpenTelemetry SDK types on the export
//! thread, sanitizing every text on the way: the last step before data
//! leaves the process.

use std::borrow::Cow;
use std::time::SystemTime;

use opentelemetry::logs::{AnyValue, LogRecord as _, Logger as _, Severity};
use opentelemetry::trace::{
    SpanContext, SpanId, SpanKind, Status, TraceFlags, TraceId, TraceState,
};
use opentelemetry::{InstrumentationScope, KeyValue, StringValue, Value};
use opentelemetry_sdk::logs::{SdkLogRecord, SdkLogger};
use opentelemetry_sdk::trace::{SpanData, SpanEvents, SpanLinks};
use tracing_core::{Level, Metadata};
use warden_audit::{AuditLevel, AuditRecord, SignedCheckpoint};
use warden_core::{CorrelationId, FieldRef};
use warden_pii::Sanitizer;

use crate::record::{EventRecord, SpanRecord};

/// The attribute that carries a span's or record's correlation ID.
pub const CORRELATION_ATTRIBUTE: &str = "correlation.id";

/// Converts and sanitizes; one per export thread.
pub(crate) struct Converter {
    pub(crate) sanitizer: Sanitizer,
    pub(crate) scope: InstrumentationScope,
    pub(crate) logger: SdkLogger,
}

/// Integers this long or longer may be card, phone or account numbers.
const MIN_DIGITS_TO_CHECK: u64 = 100_000;

impl Converter {
    fn text(&self, name: &str, text: &str) -> String {
        self.sanitizer.sanitize_field(name, text).into_owned()
    }

    /// A field as an attribute value, sanitized: texts always, numbers when
    /// they are long enough to be an identifier.
    fn value(&self, name: &str, value: FieldRef<'_>) -> Value {
        let number =
            |digits: String, keep: Value| match self.sanitizer.sanitize_field(name, &digits) {
                Cow::Borrowed(_) => keep,
                Cow::Owned(clean) => Value::String(clean.into()),
            };
        match value {
            FieldRef::Str(s) => Value::String(self.text(name, s).into()),
            // `Fields` hands every text over as `Str`; these arms are for
            // completeness.
            FieldRef::Debug(d) => Value::String(self.text(name, &format!("{d:?}")).into()),
            FieldRef::Error(e) => Value::String(self.text(name, &e.to_string()).into()),
            FieldRef::Bytes(b) => {
                Value::String(self.text(name, &String::from_utf8_lossy(b)).into())
            }
            FieldRef::I64(n) if n.unsigned_abs() >= MIN_DIGITS_TO_CHECK => {
                number(n.to_string(), Value::I64(n))
            }
            FieldRef::I64(n) => Value::I64(n),
            FieldRef::U64(n) if n > i64::MAX as u64 => {
                Value::String(self.text(name, &n.to_string()).into())
            }
            FieldRef::U64(n) if n >= MIN_DIGITS_TO_CHECK => {
                number(n.to_string(), Value::I64(n as i64))
            }
            FieldRef::U64(n) => Value::I64(n as i64),
            FieldRef::I128(n) => Value::String(self.text(name, &n.to_string()).into()),
            FieldRef::U128(n) => Value::String(self.text(name, &n.to_string()).into()),
            FieldRef::F64(n) => Value::F64(n),
            FieldRef::Bool(b) => Value::Bool(b),
        }
    }

    fn code_attributes(metadata: &'static Metadata<'static>, out: &mut Vec<KeyValue>) {
        if let Some(module) = metadata.module_path() {
            out.push(KeyValue::new("code.namespace", module));
        }
        if let Some(file) = metadata.file() {
            out.push(KeyValue::new("code.filepath", file));
        }
        if let Some(line) = metadata.line() {
            out.push(KeyValue::new("code.lineno", i64::from(line)));
        }
    }

    fn correlation(&self, id: &Option<CorrelationId>, out: &mut Vec<KeyValue>) {
        if let Some(id) = id {
            let text = id.with_str(|s| self.text(CORRELATION_ATTRIBUTE, s));
            out.push(KeyValue::new(CORRELATION_ATTRIBUTE, text));
        }
    }

    /// A closed span as the SDK's `SpanData`. `otel.name`, `otel.kind`,
    /// `otel.status_code` and `otel.status_message` set the name, kind and
    /// status as `tracing-opentelemetry` reads them; an `error` field or an
    /// `ERROR` event inside the span makes the status an error.
    pub(crate) fn span(&self, record: &mut SpanRecord) -> SpanData {
        let metadata = record.metadata;
        let mut name: Cow<'static, str> = Cow::Borrowed(metadata.map_or("span", |m| m.name()));
        let mut kind = SpanKind::Internal;
        let mut status_code: Option<bool> = None;
        let mut status_message: Option<String> = None;
        let mut error_text: Option<String> = None;
        let mut attributes = Vec::with_capacity(record.fields.len() + 5);
        for (field, value) in record.fields.iter() {
            let text = || match value {
                FieldRef::Str(s) => Some(s),
                _ => None,
            };
            match field {
                "otel.name" => {
                    if let Some(t) = text() {
                        name = Cow::Owned(self.text(field, t));
                    }
                }
                "otel.kind" => {
                    kind = match text().map(str::to_ascii_lowercase).as_deref() {
                        Some("server") => SpanKind::Server,
                        Some("client") => SpanKind::Client,
                        Some("producer") => SpanKind::Producer,
                        Some("consumer") => SpanKind::Consumer,
                        _ => SpanKind::Internal,
                    }
                }
                "otel.status_code" => {
                    status_code = text().map(|t| !t.eq_ignore_ascii_case("error"));
                }
                "otel.status_message" => status_message = text().map(|t| self.text(field, t)),
                _ => {
                    let value = self.value(field, value);
                    if field == "error" {
                        error_text = Some(value.as_str().into_owned());
                    }
                    attributes.push(KeyValue::new(field, value));
                }
            }
        }
        self.correlation(&record.correlation_id, &mut attributes);
        if let Some(metadata) = metadata {
            Self::code_attributes(metadata, &mut attributes);
        }
        let status = match status_code {
            Some(true) => Status::Ok,
            Some(false) => Status::error(status_message.unwrap_or_default()),
            None if error_text.is_some() || record.error_event => {
                Status::error(status_message.or(error_text).unwrap_or_default())
            }
            None => Status::Unset,
        };
        SpanData {
            span_context: SpanContext::new(
                TraceId::from_bytes(record.trace_id.to_be_bytes()),
                SpanId::from_bytes(record.span_id.to_be_bytes()),
                TraceFlags::SAMPLED,
                false,
                TraceState::default(),
            ),
            parent_span_id: if record.parent_span_id == 0 {
                SpanId::INVALID
            } else {
                SpanId::from_bytes(record.parent_span_id.to_be_bytes())
            },
            parent_span_is_remote: false,
            span_kind: kind,
            name,
            start_time: record.start,
            end_time: record.end,
            attributes,
            dropped_attributes_count: 0,
            events: SpanEvents::default(),
            links: SpanLinks::default(),
            status,
            instrumentation_scope: self.scope.clone(),
        }
    }

    /// An event as an OTLP log record: the message is the body, the other
    /// fields attributes, with the span's trace and span ids.
    pub(crate) fn event(&self, record: &EventRecord) -> SdkLogRecord {
        let Some(metadata) = record.metadata else {
            return self.logger.create_log_record();
        };
        let mut log = self.logger.create_log_record();
        log.set_timestamp(record.time);
        log.set_observed_timestamp(record.time);
        let (number, text) = severity(*metadata.level());
        log.set_severity_number(number);
        log.set_severity_text(text);
        log.set_target(metadata.target());
        let mut body = None;
        let mut attributes = Vec::with_capacity(record.fields.len() + 4);
        for (field, value) in record.fields.iter() {
            let value = self.value(field, value);
            if field == "message" {
                body = Some(value);
            } else {
                attributes.push(KeyValue::new(field, value));
            }
        }
        log.set_body(match body {
            Some(Value::String(s)) => AnyValue::String(s),
            Some(other) => AnyValue::String(other.as_str().into_owned().into()),
            None => AnyValue::String(StringValue::from(metadata.name())),
        });
        self.correlation(&record.correlation_id, &mut attributes);
        Self::code_attributes(metadata, &mut attributes);
        log.add_attributes(
            attributes
                .into_iter()
                .map(|kv| (kv.key, value_to_any(kv.value))),
        );
        if let Some((trace_id, span_id)) = record.span {
            log.set_trace_context(
                TraceId::from_bytes(trace_id.to_be_bytes()),
                SpanId::from_bytes(span_id.to_be_bytes()),
                Some(TraceFlags::SAMPLED),
            );
        }
        log
    }

    /// A store's checkpoint as an OTLP log record named
    /// `audit.checkpoint`, its JSON line as the body.
    pub(crate) fn checkpoint(&self, signed: &SignedCheckpoint) -> SdkLogRecord {
        let mut log = self.logger.create_log_record();
        log.set_event_name("audit.checkpoint");
        log.set_target(warden_core::AUDIT_TARGET);
        let at = std::time::UNIX_EPOCH
            + std::time::Duration::from_micros(signed.checkpoint.at_us.max(0) as u64);
        log.set_timestamp(at);
        log.set_observed_timestamp(SystemTime::now());
        log.set_severity_number(Severity::Info);
        log.set_severity_text("INFO");
        let json = signed.to_json();
        log.set_body(AnyValue::String(json.to_string().into()));
        log.add_attributes([
            (
                "audit.checkpoint.stream",
                AnyValue::String(signed.checkpoint.stream.clone().into()),
            ),
            (
                "audit.checkpoint.last_seq",
                AnyValue::Int(signed.checkpoint.last_seq),
            ),
            (
                "audit.checkpoint.head",
                AnyValue::String(json["head"].as_str().unwrap_or_default().to_owned().into()),
            ),
            (
                "audit.checkpoint.signer",
                AnyValue::String(signed.signature.signer().into()),
            ),
        ]);
        log
    }

    /// An audit record as an OTLP log record named `warden.audit`, its
    /// columns as `audit.*` attributes and its metadata as
    /// `audit.metadata.<key>`.
    pub(crate) fn audit(&self, record: &AuditRecord) -> SdkLogRecord {
        let mut log = self.logger.create_log_record();
        log.set_event_name("warden.audit");
        log.set_target(warden_core::AUDIT_TARGET);
        log.set_timestamp(record.timestamp);
        log.set_observed_timestamp(SystemTime::now());
        let (number, text) = match record.level {
            AuditLevel::Info => (Severity::Info, "INFO"),
            AuditLevel::Warning => (Severity::Warn, "WARNING"),
            AuditLevel::Error => (Severity::Error, "ERROR"),
            AuditLevel::Security => (Severity::Error2, "SECURITY"),
        };
        log.set_severity_number(number);
        log.set_severity_text(text);
        log.set_body(AnyValue::String(
            self.text("audit.action", &record.action).into(),
        ));
        let mut attributes: Vec<(&'static str, AnyValue)> = vec![
            ("audit.id", AnyValue::String(record.id.to_string().into())),
            (
                "audit.event_type",
                AnyValue::String(record.event_type.as_str().to_owned().into()),
            ),
            (
                "audit.action",
                AnyValue::String(self.text("audit.action", &record.action).into()),
            ),
            ("audit.level", AnyValue::String(text.into())),
            (
                "audit.outcome",
                AnyValue::String(record.outcome.as_str().into()),
            ),
        ];
        let optional = [
            ("audit.resource_id", &record.resource_id),
            ("audit.user_id", &record.user_id),
            ("audit.client_ip_hash", &record.client_ip_hash),
            ("audit.user_agent", &record.user_agent),
            ("audit.error_message", &record.error_message),
        ];
        for (name, value) in optional {
            if let Some(value) = value {
                attributes.push((name, AnyValue::String(self.text(name, value).into())));
            }
        }
        if let Some(ms) = record.duration_ms {
            attributes.push(("audit.duration_ms", AnyValue::Double(ms)));
        }
        log.add_attributes(attributes);
        for (key, value) in &record.metadata {
            let key = format!("audit.metadata.{key}");
            let value = match value {
                serde_json::Value::String(s) => AnyValue::String(self.text(&key, s).into()),
                serde_json::Value::Bool(b) => AnyValue::Boolean(*b),
                serde_json::Value::Number(n)
                    if n.is_i64()
                        && n.as_i64()
                            .is_some_and(|n| n.unsigned_abs() < MIN_DIGITS_TO_CHECK) =>
                {
                    AnyValue::Int(n.as_i64().unwrap_or_default())
                }
                serde_json::Value::Number(n) if n.is_f64() => {
                    AnyValue::Double(n.as_f64().unwrap_or_default())
                }
                other => AnyValue::String(self.text(&key, &other.to_string()).into()),
            };
            log.add_attribute(key, value);
        }
        if let Some(id) = &record.correlation_id {
            let text = id.with_str(|s| self.text(CORRELATION_ATTRIBUTE, s));
            log.add_attribute(CORRELATION_ATTRIBUTE, text);
        }
        log
    }
}

fn severity(level: Level) -> (Severity, &'static str) {
    match level {
        Level::TRACE => (Severity::Trace, "TRACE"),
        Level::DEBUG => (Severity::Debug, "DEBUG"),
        Level::INFO => (Severity::Info, "INFO"),
        Level::WARN => (Severity::Warn, "WARN"),
        _ => (Severity::Error, "ERROR"),
    }
}

fn value_to_any(value: Value) -> AnyValue {
    match value {
        Value::Bool(b) => AnyValue::Boolean(b),
        Value::I64(n) => AnyValue::Int(n),
        Value::F64(n) => AnyValue::Double(n),
        Value::String(s) => AnyValue::String(s),
        other => AnyValue::String(other.as_str().into_owned().into()),
    }
}
