//! Turning a `tracing` event into an audit record.

use serde_json::{Map, Value};
use tracing_core::{Event, Level};
use warden_core::{CapturedFields, CorrelationId, FieldRef, visit_fields};
use warden_pii::{FieldNameKind, Sanitizer};

use crate::identity::{Pseudonyms, is_placeholder};
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
        FieldRef::Error(e) => Value::from(
            warden_core::error_chain(e)
                .map(|e| e.to_string())
                .collect::<Vec<_>>()
                .join(": "),
        ),
    }
}

/// A field's value as text.
fn text_of(value: FieldRef<'_>) -> String {
    match value {
        FieldRef::Str(s) => s.to_owned(),
        FieldRef::U64(n) => n.to_string(),
        FieldRef::I64(n) => n.to_string(),
        other => match json_of(other) {
            Value::String(s) => s,
            v => v.to_string(),
        },
    }
}

/// The most bytes of one text value an audit record keeps: enough for any
/// real value, bounded so a runaway field cannot exhaust memory.
const MAX_AUDIT_VALUE_BYTES: usize = 1 << 30;

/// An audit event's fields: none inline, so that a capture moves through
/// the routes' channels as three words (audit events have more fields than
/// an inline buffer would hold anyway).
pub(crate) type AuditFields = CapturedFields<0>;

/// An audit event as the logging thread captured it: owned field values,
/// nothing parsed or sanitized yet (the writer thread does that).
#[derive(Clone, Debug)]
pub(crate) struct Captured {
    /// The record's id, made here so that every route stores the same one.
    id: uuid::Uuid,
    timestamp: std::time::SystemTime,
    level: Level,
    name: &'static str,
    /// The field values, every text in one buffer. The writer hands the
    /// capture back once it has built the record, so that the logging
    /// thread allocates (and the writer frees) nothing in the common case.
    fields: AuditFields,
    correlation: Option<CorrelationId>,
    /// What routing needs, read on the logging thread.
    pub(crate) audit_level: AuditLevel,
    pub(crate) event_type: EventType,
}

/// Copies what an audit event carries (into a `recycled` capture if given),
/// and reads what routing needs.
///
/// When `event` is a PII gate's sanitized copy, the identity fields that
/// `pseudonyms` covers are taken from the original values the gate lent
/// (the writer hashes them before anything is stored): the trail keeps
/// who and from where as keyed hashes instead of placeholders.
pub(crate) fn capture(
    event: &Event<'_>,
    correlation: Option<CorrelationId>,
    recycled: Option<AuditFields>,
    pseudonyms: Option<&Pseudonyms>,
) -> Captured {
    let mut fields = recycled.unwrap_or_else(|| {
        let mut fresh = AuditFields::with_max_value_bytes(MAX_AUDIT_VALUE_BYTES);
        fresh.reserve(event.metadata().fields().len(), 128);
        fresh
    });
    warden_core::internal::with_original_fields(event, |original| {
        let original = original.zip(pseudonyms);
        visit_fields(event, |field, value| {
            let raw = original
                .filter(|(_, p)| p.covers(field.name()))
                .and_then(|(o, _)| o.get(field.index()));
            fields.push(field.name(), raw.map_or(value, |raw| raw.as_ref()));
        });
    });
    let event_type = match fields.get("event_type") {
        Some(FieldRef::Str(t)) => EventType::parse(t),
        _ => EventType::Custom("EVENT".into()),
    };
    let level = *event.metadata().level();
    let audit_level = match fields.get("audit_level") {
        Some(FieldRef::Str(t)) => t.parse().ok(),
        _ => None,
    };
    let audit_level = audit_level.unwrap_or(match (&event_type, level) {
        (EventType::Security, _) => AuditLevel::Security,
        (_, Level::ERROR) => AuditLevel::Error,
        (_, Level::WARN) => AuditLevel::Warning,
        _ => AuditLevel::Info,
    });
    Captured {
        id: warden_core::internal::new_uuid_v7(),
        timestamp: std::time::SystemTime::now(),
        level,
        name: event.metadata().name(),
        fields,
        correlation,
        audit_level,
        event_type,
    }
}

/// Builds the record a captured audit event describes.
///
/// Field names it understands: `event_type`, `action`, `outcome`,
/// `user_id` (or `user`), `resource_id` (or `resource`), `client_ip` (or
/// `ip`), `user_agent`, `duration_ms`, `error_message` (or `error`),
/// `audit_level`, `correlation_id`, `message` (the action when there is no
/// `action`), `parameters` (a JSON object, as `#[audited]` records them).
/// Every other field goes into `metadata`, sanitized by content and by
/// name.
pub(crate) fn record_from_captured(
    mut captured: Captured,
    sanitizer: &Sanitizer,
    pseudonyms: Option<&Pseudonyms>,
) -> (AuditRecord, AuditFields) {
    let mut record = AuditRecord::new(captured.event_type, String::new());
    record.id = captured.id;
    record.timestamp = crate::record::truncate_to_micros(captured.timestamp);
    record.level = captured.audit_level;
    let mut outcome = None;
    let mut message = None;
    let mut metadata = Map::new();
    let mut fields = std::mem::take(&mut captured.fields);
    let pseudonym = |name: &str, value: FieldRef<'_>| {
        pseudonyms
            .filter(|p| p.covers(name))
            .map(|p| p.of(name, text_of(value)))
    };
    for (name, value) in fields.iter() {
        if let Some(hashed) = pseudonym(name, value) {
            match name {
                "user_id" | "user" => record.user_id = Some(hashed),
                "client_ip" | "ip" => record.client_ip_hash = Some(hashed),
                name => {
                    metadata.insert(name.to_owned(), Value::from(hashed));
                }
            }
            continue;
        }
        match name {
            "event_type" | "audit_level" => {}
            "action" => record.action = text_of(value),
            "outcome" => outcome = Some(text_of(value)),
            "user_id" | "user" => record.user_id = Some(text_of(value)),
            "resource_id" | "resource" => record.resource_id = Some(text_of(value)),
            "client_ip" | "ip" => {
                // Without a key: never the address itself.
                let ip = text_of(value);
                record.client_ip_hash = Some(if is_placeholder(&ip) {
                    ip
                } else {
                    "[REDACTED:IP_ADDRESS]".into()
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
            "correlation_id" => record.correlation_id = text_of(value).parse().ok(),
            "message" => message = Some(text_of(value)),
            "parameters" => {
                let text = text_of(value);
                let mut parsed = serde_json::from_str(&text).unwrap_or(Value::String(text));
                sanitizer.sanitize_json(&mut parsed);
                metadata.insert("parameters".into(), parsed);
            }
            name => {
                // A secret or phone-named field is sanitized by its name as
                // well as its content.
                let by_content_only = sanitizer.field_name_kind(name) == FieldNameKind::Plain;
                let value = match (value, by_content_only) {
                    (FieldRef::Str(s), true) => Value::from(sanitizer.sanitize(s).into_owned()),
                    (other, true) => json_of(other),
                    (other, false) => {
                        let mut one =
                            Value::Object(Map::from_iter([(name.to_owned(), json_of(other))]));
                        sanitizer.sanitize_json(&mut one);
                        one.as_object_mut()
                            .and_then(|o| o.remove(name))
                            .unwrap_or(Value::Null)
                    }
                };
                metadata.insert(name.to_owned(), value);
            }
        }
    }
    if record.action.is_empty() {
        record.action = message.take().unwrap_or_else(|| captured.name.to_owned());
    } else if let Some(message) = message {
        metadata.insert("message".into(), Value::from(message));
    }
    record.outcome = match outcome.as_deref().map(str::to_ascii_uppercase).as_deref() {
        Some("SUCCESS" | "OK" | "SUCCEEDED" | "ALLOWED" | "TRUE") => Outcome::Success,
        Some("FIRED") => Outcome::Fired,
        Some("RESOLVED") => Outcome::Resolved,
        Some(_) => Outcome::Failure,
        None if record.event_type == EventType::Alert => match record.action.as_str() {
            a if a.ends_with("resolved") => Outcome::Resolved,
            _ => Outcome::Fired,
        },
        None if record.error_message.is_some() => Outcome::Failure,
        None if names_a_failure(&record.action) => Outcome::Failure,
        None => Outcome::Success,
    };
    let _ = captured.level;
    // Durations are kept to the microsecond: exact through every store.
    record.duration_ms = record
        .duration_ms
        .filter(|ms| ms.is_finite())
        .map(|ms| (ms * 1e3).round() / 1e3);
    if record.correlation_id.is_none() {
        record.correlation_id = captured.correlation;
    }
    let user_is_pseudonym = pseudonyms.is_some_and(|p| p.covers("user_id") || p.covers("user"))
        && record.user_id.as_deref().is_some_and(is_placeholder);
    let user = user_is_pseudonym.then(|| record.user_id.take()).flatten();
    sanitize(&mut record, metadata, sanitizer);
    if user.is_some() {
        record.user_id = user;
    }
    fields.clear();
    (record, fields)
}

/// Whether an action's name says it failed (`login_failed`,
/// `access_denied`, `token_rejected`…): the outcome of an event that gives
/// none.
fn names_a_failure(action: &str) -> bool {
    let action = action.as_bytes();
    [
        "fail",
        "denied",
        "deny",
        "reject",
        "error",
        "invalid",
        "unauthorized",
        "forbidden",
        "blocked",
        "refused",
    ]
    .iter()
    .any(|word| {
        action
            .windows(word.len())
            .any(|w| w.eq_ignore_ascii_case(word.as_bytes()))
    })
}

/// Sanitizes the free-text fields of a record (metadata values were
/// sanitized as they were read, with what their names say).
fn sanitize(record: &mut AuditRecord, metadata: Map<String, Value>, sanitizer: &Sanitizer) {
    let clean = |text: &mut String| {
        if let std::borrow::Cow::Owned(sanitized) = sanitizer.sanitize(text) {
            *text = sanitized;
        }
    };
    clean(&mut record.action);
    for text in [
        &mut record.user_id,
        &mut record.resource_id,
        &mut record.user_agent,
        &mut record.error_message,
    ]
    .into_iter()
    .flatten()
    {
        clean(text);
    }
    record.metadata = metadata;
}

#[cfg(test)]
mod tests {
    use super::names_a_failure;

    #[test]
    fn actions_that_say_they_failed_are_failures() {
        for action in [
            "login_failed",
            "access_denied",
            "TokenRejected",
            "payment_error",
        ] {
            assert!(names_a_failure(action), "{action}");
        }
        for action in ["login", "get_order", "alert_resolved"] {
            assert!(!names_a_failure(action), "{action}");
        }
    }
}
