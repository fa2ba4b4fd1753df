//! The audit record and its vocabulary.

use std::fmt;
use std::str::FromStr;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use uuid::Uuid;
use warden_core::CorrelationId;

/// How much an audit record matters.
///
/// ```
/// use warden_audit::AuditLevel;
///
/// assert!(AuditLevel::Security > AuditLevel::Error);
/// assert_eq!("warning".parse::<AuditLevel>(), Ok(AuditLevel::Warning));
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum AuditLevel {
    /// Routine activity.
    Info,
    /// Something unusual, not yet harmful.
    Warning,
    /// A failure.
    Error,
    /// A security event: failed logins, denied access, tampering, lost
    /// audit records.
    Security,
}

/// What kind of activity a record describes.
///
/// ```
/// use warden_audit::EventType;
///
/// assert_eq!(EventType::parse("security"), EventType::Security);
/// assert_eq!(EventType::parse("PAYMENT"), EventType::Custom("PAYMENT".into()));
/// assert_eq!(EventType::ToolInvocation.as_str(), "TOOL_INVOCATION");
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum EventType {
    /// `API_CALL`: a request served.
    ApiCall,
    /// `AUTHENTICATION`: a login, logout, token exchange.
    Authentication,
    /// `AUTHORIZATION`: an access decision.
    Authorization,
    /// `DATA_ACCESS`: data read or changed.
    DataAccess,
    /// `CONFIG_CHANGE`: configuration changed.
    ConfigChange,
    /// `SECURITY`: a security event.
    Security,
    /// `TOOL_INVOCATION`: a function or tool called, as `#[audited]` records.
    ToolInvocation,
    /// `ALERT`: an alert rule fired or resolved.
    Alert,
    /// Any other type, kept as given (upper-cased).
    Custom(String),
}

/// Whether the audited action succeeded — or, for an alert, whether it
/// fired or resolved.
///
/// ```
/// use warden_audit::Outcome;
///
/// assert_eq!("failure".parse::<Outcome>(), Ok(Outcome::Failure));
/// assert_eq!(Outcome::Success.as_str(), "SUCCESS");
/// assert_eq!("fired".parse::<Outcome>(), Ok(Outcome::Fired));
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Outcome {
    /// It did.
    Success,
    /// It did not.
    Failure,
    /// An alert's condition began to hold.
    Fired,
    /// An alert's condition stopped holding.
    Resolved,
}

macro_rules! text_enum {
    ($ty:ty, $err:literal, { $($variant:path => $text:literal),* $(,)? }) => {
        impl $ty {
            /// The name stored and printed (`SCREAMING_SNAKE_CASE`).
            pub fn as_str(&self) -> &'static str {
                match self { $($variant => $text,)* }
            }
        }

        impl fmt::Display for $ty {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl FromStr for $ty {
            type Err = UnknownName;
            /// Accepts the stored name in any case.
            fn from_str(s: &str) -> Result<Self, UnknownName> {
                let upper = s.trim().to_ascii_uppercase();
                match upper.as_str() {
                    $($text => Ok($variant),)*
                    _ => Err(UnknownName { kind: $err, name: s.to_owned() }),
                }
            }
        }
    };
}

text_enum!(AuditLevel, "level", {
    AuditLevel::Info => "INFO",
    AuditLevel::Warning => "WARNING",
    AuditLevel::Error => "ERROR",
    AuditLevel::Security => "SECURITY",
});

text_enum!(Outcome, "outcome", {
    Outcome::Success => "SUCCESS",
    Outcome::Failure => "FAILURE",
    Outcome::Fired => "FIRED",
    Outcome::Resolved => "RESOLVED",
});

/// A name that is not one of a type's values.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("unknown {kind} {name:?}")]
pub struct UnknownName {
    kind: &'static str,
    name: String,
}

impl EventType {
    /// The name stored and printed (`API_CALL`, …, or the custom name).
    pub fn as_str(&self) -> &str {
        match self {
            EventType::ApiCall => "API_CALL",
            EventType::Authentication => "AUTHENTICATION",
            EventType::Authorization => "AUTHORIZATION",
            EventType::DataAccess => "DATA_ACCESS",
            EventType::ConfigChange => "CONFIG_CHANGE",
            EventType::Security => "SECURITY",
            EventType::ToolInvocation => "TOOL_INVOCATION",
            EventType::Alert => "ALERT",
            EventType::Custom(name) => name,
        }
    }

    /// Reads a type name in any case; an unknown name becomes
    /// [`EventType::Custom`], upper-cased.
    pub fn parse(name: &str) -> Self {
        const KNOWN: [(&str, EventType); 8] = [
            ("API_CALL", EventType::ApiCall),
            ("AUTHENTICATION", EventType::Authentication),
            ("AUTHORIZATION", EventType::Authorization),
            ("DATA_ACCESS", EventType::DataAccess),
            ("CONFIG_CHANGE", EventType::ConfigChange),
            ("SECURITY", EventType::Security),
            ("TOOL_INVOCATION", EventType::ToolInvocation),
            ("ALERT", EventType::Alert),
        ];
        let name = name.trim();
        KNOWN
            .iter()
            .find(|(known, _)| known.eq_ignore_ascii_case(name))
            .map(|(_, t)| t.clone())
            .unwrap_or_else(|| EventType::Custom(name.to_ascii_uppercase()))
    }
}

impl fmt::Display for EventType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for EventType {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for EventType {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let name = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        Ok(EventType::parse(&name))
    }
}

/// One audit record: who did what to which resource, when, with what
/// outcome, in which request.
///
/// Times are kept to the microsecond, so a record read back from a store
/// is equal to the one written. Serde round-trips it (the timestamp as
/// RFC 3339).
///
/// ```
/// use warden_audit::{AuditLevel, AuditRecord, EventType, Outcome};
///
/// let record = AuditRecord::new(EventType::Authentication, "login")
///     .with_user("user-42")
///     .with_outcome(Outcome::Failure)
///     .with_level(AuditLevel::Security);
/// let json = serde_json::to_string(&record)?;
/// assert_eq!(serde_json::from_str::<AuditRecord>(&json)?, record);
/// # Ok::<(), serde_json::Error>(())
/// ```
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct AuditRecord {
    /// A UUID v7: unique and time-ordered.
    pub id: Uuid,
    /// When it happened (UTC, microseconds).
    #[serde(with = "rfc3339")]
    pub timestamp: SystemTime,
    /// How much it matters.
    pub level: AuditLevel,
    /// What kind of activity.
    pub event_type: EventType,
    /// What was done (`login`, `delete_order`, a function's name).
    pub action: String,
    /// Whether it succeeded.
    pub outcome: Outcome,
    /// The resource acted on.
    pub resource_id: Option<String>,
    /// Who acted.
    pub user_id: Option<String>,
    /// The client's IP address, keyed-hashed (never in clear).
    pub client_ip_hash: Option<String>,
    /// The client's user agent.
    pub user_agent: Option<String>,
    /// The request it belongs to.
    pub correlation_id: Option<CorrelationId>,
    /// How long it took, in milliseconds.
    pub duration_ms: Option<f64>,
    /// Why it failed.
    pub error_message: Option<String>,
    /// Everything else, sanitized (keys sorted).
    pub metadata: serde_json::Map<String, serde_json::Value>,
}

/// `time` truncated to whole microseconds, as records keep it.
pub(crate) fn truncate_to_micros(time: SystemTime) -> SystemTime {
    UNIX_EPOCH + Duration::from_micros(micros_since_epoch(time) as u64)
}

/// Microseconds since the Unix epoch (0 before it).
pub(crate) fn micros_since_epoch(time: SystemTime) -> i64 {
    time.duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_micros()).unwrap_or(i64::MAX))
}

/// The time `micros` microseconds after the epoch.
pub(crate) fn from_micros(micros: i64) -> SystemTime {
    UNIX_EPOCH + Duration::from_micros(micros.max(0) as u64)
}

impl AuditRecord {
    /// A record of `action` now, `INFO`, `SUCCESS`, with a fresh id.
    pub fn new(event_type: EventType, action: impl Into<String>) -> Self {
        AuditRecord {
            id: warden_core::internal::new_uuid_v7(),
            timestamp: truncate_to_micros(SystemTime::now()),
            level: AuditLevel::Info,
            event_type,
            action: action.into(),
            outcome: Outcome::Success,
            resource_id: None,
            user_id: None,
            client_ip_hash: None,
            user_agent: None,
            correlation_id: None,
            duration_ms: None,
            error_message: None,
            metadata: serde_json::Map::new(),
        }
    }

    /// Sets the level.
    pub fn with_level(mut self, level: AuditLevel) -> Self {
        self.level = level;
        self
    }

    /// Sets the outcome.
    pub fn with_outcome(mut self, outcome: Outcome) -> Self {
        self.outcome = outcome;
        self
    }

    /// Sets the user.
    pub fn with_user(mut self, user_id: impl Into<String>) -> Self {
        self.user_id = Some(user_id.into());
        self
    }

    /// Sets the resource.
    pub fn with_resource(mut self, resource_id: impl Into<String>) -> Self {
        self.resource_id = Some(resource_id.into());
        self
    }

    /// The canonical bytes the integrity hash covers (format v1), compact so
    /// that hashing stays cheap:
    ///
    /// `warden-audit record v1` and a zero byte; the id's 16 bytes; the
    /// timestamp in microseconds since the epoch (i64, big-endian); then
    /// level, event type, action, outcome as strings; resource id, user id,
    /// client IP hash, user agent, correlation ID as optional strings; the
    /// duration as an optional f64 (big-endian bits); the error message as
    /// an optional string; the metadata as compact JSON with sorted keys.
    /// A string is its length (u32, big-endian) and its UTF-8 bytes; an
    /// optional value is a `0` byte when absent, else a `1` byte and the value.
    pub fn canonical_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(256);
        let string = |out: &mut Vec<u8>, s: &str| {
            out.extend_from_slice(&(s.len() as u32).to_be_bytes());
            out.extend_from_slice(s.as_bytes());
        };
        let optional = |out: &mut Vec<u8>, s: Option<&str>| match s {
            None => out.push(0),
            Some(s) => {
                out.push(1);
                string(out, s);
            }
        };
        out.extend_from_slice(b"warden-audit record v1\0");
        out.extend_from_slice(self.id.as_bytes());
        out.extend_from_slice(&micros_since_epoch(self.timestamp).to_be_bytes());
        string(&mut out, self.level.as_str());
        string(&mut out, self.event_type.as_str());
        string(&mut out, &self.action);
        string(&mut out, self.outcome.as_str());
        optional(&mut out, self.resource_id.as_deref());
        optional(&mut out, self.user_id.as_deref());
        optional(&mut out, self.client_ip_hash.as_deref());
        optional(&mut out, self.user_agent.as_deref());
        let correlation = self.correlation_id.as_ref().map(ToString::to_string);
        optional(&mut out, correlation.as_deref());
        match self.duration_ms {
            None => out.push(0),
            Some(ms) => {
                out.push(1);
                out.extend_from_slice(&ms.to_bits().to_be_bytes());
            }
        }
        optional(&mut out, self.error_message.as_deref());
        // A map of JSON values always serializes.
        let metadata = serde_json::to_string(&self.metadata).unwrap_or_default();
        string(&mut out, &metadata);
        out
    }
}

mod rfc3339 {
    use std::time::SystemTime;

    use serde::{Deserialize, Deserializer, Serializer};

    pub(crate) fn serialize<S: Serializer>(time: &SystemTime, s: S) -> Result<S::Ok, S::Error> {
        let mut out = String::with_capacity(27);
        warden_core::internal::rfc3339_micros(&mut out, *time);
        s.serialize_str(&out)
    }

    pub(crate) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<SystemTime, D::Error> {
        let text = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        warden_core::internal::parse_rfc3339(&text)
            .ok_or_else(|| serde::de::Error::custom(format!("not an RFC 3339 time: {text:?}")))
    }
}

/// The record's columns, in the order every store writes and reads them
/// (and [`StoredColumns`] holds them): the one column list, spliced into
/// each store's SQL with `concat!`/`format!`.
#[cfg_attr(
    not(any(feature = "sqlite", feature = "postgres")),
    allow(unused_macros)
)]
macro_rules! record_columns {
    () => {
        "id, ts_us, level, event_type, action, outcome, resource_id, user_id, client_ip_hash, \
         user_agent, correlation_id, duration_ms, error_message, metadata"
    };
}
#[cfg_attr(
    not(any(feature = "sqlite", feature = "postgres")),
    allow(unused_imports)
)]
pub(crate) use record_columns;

/// A record's columns as the stores keep them (text where the record has
/// types), in the order of their `SELECT`s: each store reads its rows into
/// this, and one parser makes the record.
#[cfg_attr(not(any(feature = "sqlite", feature = "postgres")), allow(dead_code))]
pub(crate) struct StoredColumns {
    pub(crate) id: String,
    pub(crate) ts_us: i64,
    pub(crate) level: String,
    pub(crate) event_type: String,
    pub(crate) action: String,
    pub(crate) outcome: String,
    pub(crate) resource_id: Option<String>,
    pub(crate) user_id: Option<String>,
    pub(crate) client_ip_hash: Option<String>,
    pub(crate) user_agent: Option<String>,
    pub(crate) correlation_id: Option<String>,
    pub(crate) duration_ms: Option<f64>,
    pub(crate) error_message: Option<String>,
    pub(crate) metadata: String,
}

#[cfg_attr(not(any(feature = "sqlite", feature = "postgres")), allow(dead_code))]
impl StoredColumns {
    /// The record, or why a column does not parse (an edited row).
    pub(crate) fn parse(self) -> Result<AuditRecord, String> {
        Ok(AuditRecord {
            id: self.id.parse().map_err(|e| format!("id: {e}"))?,
            timestamp: from_micros(self.ts_us),
            level: self.level.parse().map_err(|e| format!("{e}"))?,
            event_type: EventType::parse(&self.event_type),
            action: self.action,
            outcome: self.outcome.parse().map_err(|e| format!("{e}"))?,
            resource_id: self.resource_id,
            user_id: self.user_id,
            client_ip_hash: self.client_ip_hash,
            user_agent: self.user_agent,
            correlation_id: match self.correlation_id {
                Some(c) => Some(c.parse().map_err(|e| format!("correlation_id: {e}"))?),
                None => None,
            },
            duration_ms: self.duration_ms,
            error_message: self.error_message,
            metadata: serde_json::from_str(&self.metadata).map_err(|e| format!("metadata: {e}"))?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_parse_in_any_case_and_print_back() {
        for level in [
            AuditLevel::Info,
            AuditLevel::Warning,
            AuditLevel::Error,
            AuditLevel::Security,
        ] {
            assert_eq!(
                level.as_str().to_lowercase().parse::<AuditLevel>(),
                Ok(level)
            );
        }
        assert!("loud".parse::<AuditLevel>().is_err());
        assert_eq!(EventType::parse("api_call"), EventType::ApiCall);
        assert_eq!(
            EventType::parse("payment"),
            EventType::Custom("PAYMENT".into())
        );
        assert_eq!(EventType::parse("payment").to_string(), "PAYMENT");
    }

    #[test]
    fn a_full_record_round_trips_through_json() {
        let mut record = AuditRecord::new(EventType::ToolInvocation, "search")
            .with_user("u-1")
            .with_resource("r-9")
            .with_outcome(Outcome::Failure)
            .with_level(AuditLevel::Error);
        record.client_ip_hash = Some("hmac:ab12".into());
        record.user_agent = Some("curl/8".into());
        record.correlation_id = Some("req-1".parse().unwrap());
        record.duration_ms = Some(12.345);
        record.error_message = Some("timeout".into());
        record
            .metadata
            .insert("query".into(), serde_json::json!({"q": "rust", "n": 3}));
        let json = serde_json::to_string(&record).unwrap();
        assert_eq!(serde_json::from_str::<AuditRecord>(&json).unwrap(), record);
        assert!(
            json.contains("\"event_type\":\"TOOL_INVOCATION\""),
            "{json}"
        );
        let back: AuditRecord = serde_json::from_str(&json).unwrap();
        assert_eq!(back.canonical_bytes(), record.canonical_bytes());
        let mut other = record.clone();
        other.user_id = None;
        other.resource_id = Some("u-1".into());
        assert_ne!(
            other.canonical_bytes(),
            record.canonical_bytes(),
            "fields cannot shift into each other"
        );
    }
}
