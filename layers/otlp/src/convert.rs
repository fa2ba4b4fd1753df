//! Turning captured records into OTLP spans and log records on the export
//! thread, sanitizing every text on the way: the last step before data
//! leaves the process.
//!
//! The conversion is written once, against [`SpanOut`] and [`LogOut`]; two
//! outputs implement them: warden's own protobuf batches
//! ([`proto`](crate::proto), the default path) and the OpenTelemetry SDK's
//! `SpanData` / `SdkLogRecord` (below), for exporters a user built.

use std::borrow::Cow;
use std::time::SystemTime;

use opentelemetry::logs::{AnyValue, LogRecord as _, Logger as _, Severity};
use opentelemetry::trace::{
    SpanContext, SpanId, SpanKind, Status, TraceFlags, TraceId, TraceState,
};
use opentelemetry::{InstrumentationScope, Key, KeyValue, StringValue, Value};
use opentelemetry_sdk::logs::{SdkLogRecord, SdkLogger};
use opentelemetry_sdk::trace::{SpanData, SpanEvents, SpanLinks};
use tracing_core::{Level, Metadata};
#[cfg(feature = "audit")]
use warden_audit::{AuditLevel, AuditRecord, SignedCheckpoint};
use warden_core::{CorrelationId, FieldRef};

use crate::record::{EventRecord, SpanRecord};
use warden_core::internal::WallAnchor;

use crate::last_step::LastStep;

/// The attribute that carries a span's or record's correlation ID.
pub const CORRELATION_ATTRIBUTE: &str = "correlation.id";

/// An attribute's value as it leaves the process: sanitized.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Clean<'a> {
    Str(Cow<'a, str>),
    I64(i64),
    F64(f64),
    Bool(bool),
}

impl Clean<'_> {
    /// The value as text (how a non-text body is sent).
    pub(crate) fn into_text(self) -> String {
        match self {
            Clean::Str(s) => s.into_owned(),
            Clean::I64(n) => n.to_string(),
            Clean::F64(n) => n.to_string(),
            Clean::Bool(b) => b.to_string(),
        }
    }
}

/// Where a converted span's attributes go.
pub(crate) trait SpanOut {
    fn attribute(&mut self, key: &'static str, value: Clean<'_>);
}

/// Where a converted log record goes.
pub(crate) trait LogOut {
    /// The instrumentation scope the record is grouped under (the
    /// `tracing` target, as the SDK's exporter does).
    fn target(&mut self, target: Cow<'static, str>);
    #[cfg_attr(not(feature = "audit"), allow(dead_code))]
    fn event_name(&mut self, name: &'static str);
    fn times(&mut self, time: SystemTime, observed: SystemTime);
    fn severity(&mut self, number: Severity, text: &'static str);
    fn body(&mut self, body: Clean<'_>);
    fn attribute(&mut self, key: &'static str, value: Clean<'_>);
    /// An attribute whose name is made at run time.
    #[cfg_attr(not(feature = "audit"), allow(dead_code))]
    fn attribute_named(&mut self, key: String, value: Clean<'_>);
    fn trace_context(&mut self, trace_id: u128, span_id: u64);
}

/// What a span's reserved fields (`otel.*`, `error`) and events decided.
#[derive(Debug)]
pub(crate) struct SpanHead<'r> {
    pub(crate) name: Cow<'r, str>,
    pub(crate) kind: SpanKind,
    pub(crate) status: Status,
}

/// Converts and sanitizes; one per export thread.
pub(crate) struct Converter {
    pub(crate) sanitizer: LastStep,
    pub(crate) scope: InstrumentationScope,
    pub(crate) logger: SdkLogger,
}

/// Integers this long or longer may be card, phone or account numbers.
const MIN_DIGITS_TO_CHECK: u64 = 100_000;

impl Converter {
    /// `text` sanitized as the value of the field `name`.
    fn text<'a>(&self, name: &'static str, text: &'a str) -> Cow<'a, str> {
        self.sanitizer.named(name, text)
    }

    /// A field's value, sanitized: texts always, numbers when they are long
    /// enough to be an identifier.
    pub(crate) fn clean<'a>(&self, name: &'static str, value: FieldRef<'a>) -> Clean<'a> {
        let owned = |text: String| {
            Clean::Str(Cow::Owned(match self.text(name, &text) {
                Cow::Borrowed(_) => text,
                Cow::Owned(clean) => clean,
            }))
        };
        let number = |digits: String, keep: Clean<'a>| match self.text(name, &digits) {
            Cow::Borrowed(_) => keep,
            Cow::Owned(clean) => Clean::Str(Cow::Owned(clean)),
        };
        match value {
            FieldRef::Str(s) => Clean::Str(self.text(name, s)),
            // `Fields` hands every text over as `Str`; these arms are for
            // completeness.
            FieldRef::Debug(d) => owned(format!("{d:?}")),
            FieldRef::Error(e) => owned(e.to_string()),
            FieldRef::Bytes(b) => owned(String::from_utf8_lossy(b).into_owned()),
            FieldRef::I64(n) if n.unsigned_abs() >= MIN_DIGITS_TO_CHECK => {
                number(n.to_string(), Clean::I64(n))
            }
            FieldRef::I64(n) => Clean::I64(n),
            FieldRef::U64(n) if n > i64::MAX as u64 => owned(n.to_string()),
            FieldRef::U64(n) if n >= MIN_DIGITS_TO_CHECK => {
                number(n.to_string(), Clean::I64(n as i64))
            }
            FieldRef::U64(n) => Clean::I64(n as i64),
            FieldRef::I128(n) => owned(n.to_string()),
            FieldRef::U128(n) => owned(n.to_string()),
            FieldRef::F64(n) => Clean::F64(n),
            FieldRef::Bool(b) => Clean::Bool(b),
        }
    }

    fn code_attributes<O: ?Sized>(
        metadata: &'static Metadata<'static>,
        out: &mut O,
        mut put: impl FnMut(&mut O, &'static str, Clean<'static>),
    ) {
        if let Some(module) = metadata.module_path() {
            put(out, "code.namespace", Clean::Str(Cow::Borrowed(module)));
        }
        if let Some(file) = metadata.file() {
            put(out, "code.filepath", Clean::Str(Cow::Borrowed(file)));
        }
        if let Some(line) = metadata.line() {
            put(out, "code.lineno", Clean::I64(i64::from(line)));
        }
    }

    fn correlation<O: ?Sized>(
        &self,
        id: &Option<CorrelationId>,
        out: &mut O,
        put: impl FnOnce(&mut O, &'static str, Clean<'_>),
    ) {
        if let Some(id) = id {
            id.with_str(|s| {
                put(
                    out,
                    CORRELATION_ATTRIBUTE,
                    Clean::Str(self.text(CORRELATION_ATTRIBUTE, s)),
                )
            });
        }
    }

    /// A closed span's attributes into `out`, and its name, kind and
    /// status. `otel.name`, `otel.kind`, `otel.status_code` and
    /// `otel.status_message` set the name, kind and status as
    /// `tracing-opentelemetry` reads them; an `error` field or an `ERROR`
    /// event inside the span makes the status an error.
    pub(crate) fn span<'r>(&self, record: &'r SpanRecord, out: &mut impl SpanOut) -> SpanHead<'r> {
        let metadata = record.metadata;
        let mut name: Cow<'r, str> = Cow::Borrowed(metadata.map_or("span", |m| m.name()));
        let mut kind = SpanKind::Internal;
        let mut status_code: Option<bool> = None;
        let mut status_message: Option<String> = None;
        let mut error_text: Option<String> = None;
        for (field, value) in record.fields.iter() {
            let text = || match value {
                FieldRef::Str(s) => Some(s),
                _ => None,
            };
            match field {
                "otel.name" => {
                    if let Some(t) = text() {
                        name = self.text(field, t);
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
                "otel.status_message" => {
                    status_message = text().map(|t| self.text(field, t).into_owned())
                }
                _ => {
                    let value = self.clean(field, value);
                    if field == "error" {
                        error_text = Some(value.clone().into_text());
                    }
                    out.attribute(field, value);
                }
            }
        }
        self.correlation(&record.correlation_id, out, |o, k, v| o.attribute(k, v));
        if let Some(metadata) = metadata {
            Self::code_attributes(metadata, out, |o, k, v| o.attribute(k, v));
        }
        let status = match status_code {
            Some(true) => Status::Ok,
            Some(false) => Status::error(status_message.unwrap_or_default()),
            None if error_text.is_some() || record.error_event => {
                Status::error(status_message.or(error_text).unwrap_or_default())
            }
            None => Status::Unset,
        };
        SpanHead { name, kind, status }
    }

    /// An event as a log record: the message is the body, the other fields
    /// attributes, with the span's trace and span ids.
    pub(crate) fn event(&self, record: &EventRecord, out: &mut impl LogOut) {
        let Some(metadata) = record.metadata else {
            return;
        };
        // A `log` record bridged by `tracing-log` has the call site of its
        // level: its own target, module, file and line are in its fields.
        let from_log = metadata.target() == "log" && metadata.name() == "log event";
        let log_text = |name: &str| match record.fields.get(name) {
            Some(FieldRef::Str(s)) => Some(s.to_owned()),
            _ => None,
        };
        match from_log.then(|| log_text("log.target")).flatten() {
            Some(target) => out.target(Cow::Owned(target)),
            None => out.target(Cow::Borrowed(metadata.target())),
        }
        out.times(record.time, record.time);
        let (number, text) = severity(*metadata.level());
        out.severity(number, text);
        let mut body = None;
        for (field, value) in record.fields.iter() {
            if from_log && field.starts_with("log.") {
                continue;
            }
            let value = self.clean(field, value);
            if field == "message" {
                body = Some(value);
            } else {
                out.attribute(field, value);
            }
        }
        out.body(body.unwrap_or(Clean::Str(Cow::Borrowed(metadata.name()))));
        self.correlation(&record.correlation_id, out, |o, k, v| o.attribute(k, v));
        if from_log {
            for (key, name) in [
                ("code.namespace", "log.module_path"),
                ("code.filepath", "log.file"),
            ] {
                if let Some(text) = log_text(name) {
                    out.attribute(key, Clean::Str(Cow::Owned(text)));
                }
            }
            if let Some(FieldRef::U64(line)) = record.fields.get("log.line") {
                out.attribute("code.lineno", Clean::I64(line as i64));
            }
        } else {
            Self::code_attributes(metadata, out, |o, k, v| o.attribute(k, v));
        }
        if let Some((trace_id, span_id)) = record.span {
            out.trace_context(trace_id, span_id);
        }
    }

    /// A store's checkpoint as a log record named `audit.checkpoint`, its
    /// JSON line as the body.
    #[cfg(feature = "audit")]
    pub(crate) fn checkpoint(&self, signed: &SignedCheckpoint, out: &mut impl LogOut) {
        out.target(Cow::Borrowed(warden_core::AUDIT_TARGET));
        out.event_name("audit.checkpoint");
        let at = std::time::UNIX_EPOCH
            + std::time::Duration::from_micros(signed.checkpoint.at_us.max(0) as u64);
        out.times(at, SystemTime::now());
        out.severity(Severity::Info, "INFO");
        let json = signed.to_json();
        out.body(Clean::Str(Cow::Owned(json.to_string())));
        out.attribute(
            "audit.checkpoint.stream",
            Clean::Str(Cow::Borrowed(&signed.checkpoint.stream)),
        );
        out.attribute(
            "audit.checkpoint.last_seq",
            Clean::I64(signed.checkpoint.last_seq),
        );
        out.attribute(
            "audit.checkpoint.head",
            Clean::Str(Cow::Borrowed(json["head"].as_str().unwrap_or_default())),
        );
        out.attribute(
            "audit.checkpoint.signer",
            Clean::Str(Cow::Owned(signed.signature.signer())),
        );
    }

    /// An audit record as a log record named `warden.audit`, its columns as
    /// `audit.*` attributes and its metadata as `audit.metadata.<key>`.
    #[cfg(feature = "audit")]
    pub(crate) fn audit(&self, record: &AuditRecord, out: &mut impl LogOut) {
        out.target(Cow::Borrowed(warden_core::AUDIT_TARGET));
        out.event_name("warden.audit");
        out.times(record.timestamp, SystemTime::now());
        let (number, text) = match record.level {
            AuditLevel::Info => (Severity::Info, "INFO"),
            AuditLevel::Warning => (Severity::Warn, "WARNING"),
            AuditLevel::Error => (Severity::Error, "ERROR"),
            AuditLevel::Security => (Severity::Error2, "SECURITY"),
        };
        out.severity(number, text);
        let action = self.text("audit.action", &record.action);
        out.body(Clean::Str(action.clone()));
        out.attribute("audit.id", Clean::Str(Cow::Owned(record.id.to_string())));
        out.attribute(
            "audit.event_type",
            Clean::Str(Cow::Borrowed(record.event_type.as_str())),
        );
        out.attribute("audit.action", Clean::Str(action));
        out.attribute("audit.level", Clean::Str(Cow::Borrowed(text)));
        out.attribute(
            "audit.outcome",
            Clean::Str(Cow::Borrowed(record.outcome.as_str())),
        );
        let optional = [
            ("audit.resource_id", &record.resource_id),
            ("audit.user_id", &record.user_id),
            ("audit.client_ip_hash", &record.client_ip_hash),
            ("audit.user_agent", &record.user_agent),
            ("audit.error_message", &record.error_message),
        ];
        for (name, value) in optional {
            if let Some(value) = value {
                out.attribute(name, Clean::Str(self.text(name, value)));
            }
        }
        if let Some(ms) = record.duration_ms {
            out.attribute("audit.duration_ms", Clean::F64(ms));
        }
        for (key, value) in &record.metadata {
            let key = format!("audit.metadata.{key}");
            let value = match value {
                serde_json::Value::String(s) => {
                    Clean::Str(Cow::Owned(self.sanitizer.field(&key, s).into_owned()))
                }
                serde_json::Value::Bool(b) => Clean::Bool(*b),
                serde_json::Value::Number(n)
                    if n.is_i64()
                        && n.as_i64()
                            .is_some_and(|n| n.unsigned_abs() < MIN_DIGITS_TO_CHECK) =>
                {
                    Clean::I64(n.as_i64().unwrap_or_default())
                }
                serde_json::Value::Number(n) if n.is_f64() => {
                    Clean::F64(n.as_f64().unwrap_or_default())
                }
                other => Clean::Str(Cow::Owned(
                    self.sanitizer.field(&key, &other.to_string()).into_owned(),
                )),
            };
            out.attribute_named(key, value);
        }
        self.correlation(&record.correlation_id, out, |o, k, v| o.attribute(k, v));
    }

    /// A closed span as the SDK's `SpanData` (for an exporter the user
    /// built).
    pub(crate) fn span_data(&self, record: &SpanRecord, clock: &WallAnchor) -> SpanData {
        let mut attributes = SdkAttributes(Vec::with_capacity(record.fields.len() + 5));
        let head = self.span(record, &mut attributes);
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
            span_kind: head.kind,
            name: Cow::Owned(head.name.into_owned()),
            start_time: clock.at(record.start),
            end_time: clock.at(record.end),
            attributes: attributes.0,
            dropped_attributes_count: 0,
            events: SpanEvents::default(),
            links: SpanLinks::default(),
            status: head.status,
            instrumentation_scope: self.scope.clone(),
        }
    }

    /// An empty SDK log record to convert into.
    pub(crate) fn sdk_log(&self) -> SdkLog {
        SdkLog(self.logger.create_log_record())
    }
}

/// A span's attributes for the SDK.
struct SdkAttributes(Vec<KeyValue>);

impl SpanOut for SdkAttributes {
    fn attribute(&mut self, key: &'static str, value: Clean<'_>) {
        self.0.push(KeyValue::new(key, sdk_value(value)));
    }
}

fn sdk_value(value: Clean<'_>) -> Value {
    match value {
        Clean::Str(s) => Value::String(StringValue::from(s.into_owned())),
        Clean::I64(n) => Value::I64(n),
        Clean::F64(n) => Value::F64(n),
        Clean::Bool(b) => Value::Bool(b),
    }
}

fn sdk_any(value: Clean<'_>) -> AnyValue {
    match value {
        Clean::Str(s) => AnyValue::String(StringValue::from(s.into_owned())),
        Clean::I64(n) => AnyValue::Int(n),
        Clean::F64(n) => AnyValue::Double(n),
        Clean::Bool(b) => AnyValue::Boolean(b),
    }
}

/// A log record for the SDK's exporter.
pub(crate) struct SdkLog(pub(crate) SdkLogRecord);

impl LogOut for SdkLog {
    fn target(&mut self, target: Cow<'static, str>) {
        self.0.set_target(target);
    }
    fn event_name(&mut self, name: &'static str) {
        self.0.set_event_name(name);
    }
    fn times(&mut self, time: SystemTime, observed: SystemTime) {
        self.0.set_timestamp(time);
        self.0.set_observed_timestamp(observed);
    }
    fn severity(&mut self, number: Severity, text: &'static str) {
        self.0.set_severity_number(number);
        self.0.set_severity_text(text);
    }
    fn body(&mut self, body: Clean<'_>) {
        self.0
            .set_body(AnyValue::String(StringValue::from(body.into_text())));
    }
    fn attribute(&mut self, key: &'static str, value: Clean<'_>) {
        self.0.add_attribute(key, sdk_any(value));
    }
    fn attribute_named(&mut self, key: String, value: Clean<'_>) {
        self.0.add_attribute(Key::from(key), sdk_any(value));
    }
    fn trace_context(&mut self, trace_id: u128, span_id: u64) {
        self.0.set_trace_context(
            TraceId::from_bytes(trace_id.to_be_bytes()),
            SpanId::from_bytes(span_id.to_be_bytes()),
            Some(TraceFlags::SAMPLED),
        );
    }
}

pub(crate) fn severity(level: Level) -> (Severity, &'static str) {
    match level {
        Level::TRACE => (Severity::Trace, "TRACE"),
        Level::DEBUG => (Severity::Debug, "DEBUG"),
        Level::INFO => (Severity::Info, "INFO"),
        Level::WARN => (Severity::Warn, "WARN"),
        _ => (Severity::Error, "ERROR"),
    }
}
