//! Turning a `tracing` event into an audit record.

use serde_json::{Map, Value};
use tracing_core::{Event, Level};
use warden_core::{visit_fields, CorrelationId, FieldRef};
use warden_pii::Sanitizer;

use crate::chain::AuditKey;
use crate::record::{AuditLevel, AuditRecord, EventType, Outcome};

/// The JSON value of a field, with its type.
fn json_of(value: FieldRef<'_>) -> Value {
    match value {
        FieldRef::Str(s) => Value::from(s),
        FieldRef::Debug(d) => Value::from(format!("{d:?}")),
        FieldRef::I64(n) => Value::from(n),
        FieldRef::U64(n) => Value::from(n),
        FieldRef::I128(n) => {
            i64::try_from(n).map_or_else(|_| Value::from(n.to_string()), Value::from)
        }
        FieldRef::U128(n) => {
            u64::try_from(n).map_or_else(|_| Value::from(n.to_string()), Value::from)
        }
        FieldRef::F64(n) => serde_json::Number::from_f64(n)
            .map_or_else(|| Value::from(n.to_string()), Value::Number),
        FieldRef::Bool(b) => Value::from(b),
        FieldRef::Bytes(b) => Value::from(b.iter().map(|x| format!("{x:02x}")).collect::<String>()),
        FieldRef::Error(e) => {
            let mut text = e.to_string();
            let mut source = e.source();
            while let Some(cause) = source {
                text.push_str(": ");
                text.push_str(&cause.to_string());
                source = cause.source();
            }
            Value::from(text)
        }
    }
}

fn text_of(value: FieldRef<'_>) -> String {
    match json_of(value) {
        Value::String(s) => s,
        other => other.to_string(),
    }
}

/// Builds the record an audit event describes.
///
/// Field names it understands: `event_type`, `action`, `outcome`,
/// `user_id` (or `user`), `resource_id` (or `resource`), `client_ip` (or
/// `ip`), `user_agent`, `duration_ms`, `error_message` (or `error`),
/// `audit_level`, `correlation_id`, `message` (the action when there is no
/// `action`), `parameters` (a JSON object, as `#[audited]` records them).
/// Every other field goes into `metadata`.
pub(crate) fn record_from_event(
    event: &Event<'_>,
    span_correlation: Option<CorrelationId>,
    sanitizer: &Sanitizer,
    key: Option<&AuditKey>,
) -> AuditRecord {
    let mut record = AuditRecord::new(EventType::Custom("EVENT".into()), String::new());
    let mut event_type = None;
    let mut level = None;
    let mut outcome = None;
    let mut message = None;
    let mut metadata = Map::new();
    visit_fields(event, |field, value| match field.name() {
        "event_type" => event_type = Some(EventType::parse(&text_of(value))),
        "action" => record.action = text_of(value),
        "outcome" => outcome = Some(text_of(value)),
        "user_id" | "user" => record.user_id = Some(text_of(value)),
        "resource_id" | "resource" => record.resource_id = Some(text_of(value)),
        "client_ip" | "ip" => {
            let ip = text_of(value);
            record.client_ip_hash = Some(match key {
                // Already sanitized upstream (a PII gate): keep its form.
                _ if ip.starts_with('[') || ip.starts_with("hmac:") => ip,
                Some(key) => key.hash_ip(&ip),
                None => "[REDACTED:IP_ADDRESS]".into(),
            });
        }
        "user_agent" => record.user_agent = Some(text_of(value)),
        "duration_ms" => {
            record.duration_ms = match value {
                FieldRef::F64(n) => Some(n),
                FieldRef::U64(n) => Some(n as f64),
                FieldRef::I64(n) => Some(n as f64),
                other => text_of(other).parse().ok(),
            }
        }
        "error_message" | "error" => record.error_message = Some(text_of(value)),
        "audit_level" => level = text_of(value).parse().ok(),
        "correlation_id" => record.correlation_id = text_of(value).parse().ok(),
        "message" => message = Some(text_of(value)),
        "parameters" => {
            let text = text_of(value);
            let parsed = serde_json::from_str(&text).unwrap_or(Value::String(text));
            metadata.insert("parameters".into(), parsed);
        }
        name => {
            metadata.insert(name.to_owned(), json_of(value));
        }
    });
    let event_type = event_type.unwrap_or(EventType::Custom("EVENT".into()));
    if record.action.is_empty() {
        record.action = message
            .take()
            .unwrap_or_else(|| event.metadata().name().to_owned());
    } else if let Some(message) = message {
        metadata.insert("message".into(), Value::from(message));
    }
    record.outcome = match outcome.as_deref().map(str::to_ascii_uppercase).as_deref() {
        Some("SUCCESS" | "OK" | "SUCCEEDED" | "ALLOWED" | "TRUE") => Outcome::Success,
        Some(_) => Outcome::Failure,
        None if record.error_message.is_some() => Outcome::Failure,
        None => Outcome::Success,
    };
    record.level = level.unwrap_or(match (&event_type, *event.metadata().level()) {
        (EventType::Security, _) => AuditLevel::Security,
        (_, Level::ERROR) => AuditLevel::Error,
        (_, Level::WARN) => AuditLevel::Warning,
        _ => AuditLevel::Info,
    });
    record.event_type = event_type;
    // Durations are kept to the microsecond: exact through every store.
    record.duration_ms = record
        .duration_ms
        .filter(|ms| ms.is_finite())
        .map(|ms| (ms * 1e3).round() / 1e3);
    if record.correlation_id.is_none() {
        record.correlation_id = span_correlation;
    }
    sanitize(&mut record, metadata, sanitizer);
    record
}

/// Sanitizes every free-text part of a record.
fn sanitize(record: &mut AuditRecord, metadata: Map<String, Value>, sanitizer: &Sanitizer) {
    let clean = |text: &mut String, name: &str| {
        if let std::borrow::Cow::Owned(sanitized) = sanitizer.sanitize_field(name, text) {
            *text = sanitized;
        }
    };
    clean(&mut record.action, "action");
    for (name, slot) in [
        ("user_id", &mut record.user_id),
        ("resource_id", &mut record.resource_id),
        ("user_agent", &mut record.user_agent),
        ("error_message", &mut record.error_message),
    ] {
        if let Some(text) = slot {
            clean(text, name);
        }
    }
    let mut metadata = Value::Object(metadata);
    sanitizer.sanitize_json(&mut metadata);
    if let Value::Object(map) = metadata {
        record.metadata = map;
    }
}
