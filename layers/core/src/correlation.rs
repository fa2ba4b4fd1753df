//! The correlation ID that ties every event and span of a request together.

use std::fmt;
use std::str::FromStr;
use std::sync::Arc;

use uuid::Uuid;

/// The ID of one request (or job, or conversation) across every event and
/// span it causes, across threads, tasks and services.
///
/// Either a time-ordered UUID v7 made here, so IDs sort by start time, or
/// an ID that arrived from outside (an `x-request-id` header), kept as
/// given. Cloning is cheap; a UUID is formatted only when printed.
///
/// ```
/// use warden_core::CorrelationId;
///
/// let fresh = CorrelationId::new();
/// assert_eq!(fresh.to_string().len(), 36);
/// let from_header: CorrelationId = "req-7f3a".parse()?;
/// assert_eq!(from_header.to_string(), "req-7f3a");
/// # Ok::<(), warden_core::InvalidCorrelationId>(())
/// ```
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CorrelationId(Repr);

#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
enum Repr {
    Uuid(Uuid),
    External(Arc<str>),
}

/// The longest correlation ID accepted from outside, in bytes.
pub const MAX_CORRELATION_ID_LEN: usize = 128;

/// Why a string is not a correlation ID.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum InvalidCorrelationId {
    /// The string is empty (or only white space).
    #[error("a correlation ID cannot be empty")]
    Empty,
    /// The string is longer than [`MAX_CORRELATION_ID_LEN`] bytes.
    #[error("a correlation ID is at most {MAX_CORRELATION_ID_LEN} bytes; this one is {0}")]
    TooLong(usize),
    /// The string holds a byte outside printable ASCII (a space, a control
    /// character, non-ASCII): it could not travel in an HTTP header.
    #[error("a correlation ID must be printable ASCII without spaces")]
    InvalidCharacter,
}

impl CorrelationId {
    /// A fresh, time-ordered ID (UUID v7).
    pub fn new() -> Self {
        CorrelationId(Repr::Uuid(Uuid::now_v7()))
    }

    /// The ID as a UUID, if it is one.
    pub fn as_uuid(&self) -> Option<Uuid> {
        match &self.0 {
            Repr::Uuid(u) => Some(*u),
            Repr::External(s) => Uuid::parse_str(s).ok(),
        }
    }
}

impl Default for CorrelationId {
    /// A fresh ID, as [`CorrelationId::new`].
    fn default() -> Self {
        Self::new()
    }
}

impl From<Uuid> for CorrelationId {
    fn from(uuid: Uuid) -> Self {
        CorrelationId(Repr::Uuid(uuid))
    }
}

impl FromStr for CorrelationId {
    type Err = InvalidCorrelationId;

    /// Accepts 1 to 128 bytes of printable ASCII without spaces, trimmed of
    /// surrounding white space. A UUID in any case is kept as a UUID.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let s = s.trim();
        if s.is_empty() {
            return Err(InvalidCorrelationId::Empty);
        }
        if s.len() > MAX_CORRELATION_ID_LEN {
            return Err(InvalidCorrelationId::TooLong(s.len()));
        }
        if !s.bytes().all(|b| b.is_ascii_graphic()) {
            return Err(InvalidCorrelationId::InvalidCharacter);
        }
        if s.len() == 36 {
            if let Ok(uuid) = Uuid::parse_str(s) {
                return Ok(CorrelationId(Repr::Uuid(uuid)));
            }
        }
        Ok(CorrelationId(Repr::External(Arc::from(s))))
    }
}

impl fmt::Display for CorrelationId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.0 {
            Repr::Uuid(u) => fmt::Display::fmt(&u.hyphenated(), f),
            Repr::External(s) => f.write_str(s),
        }
    }
}

impl fmt::Debug for CorrelationId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "CorrelationId({self})")
    }
}

impl serde::Serialize for CorrelationId {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> serde::Deserialize<'de> for CorrelationId {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let s = <std::borrow::Cow<'de, str> as serde::Deserialize>::deserialize(deserializer)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fresh_ids_are_time_ordered_uuids() {
        let a = CorrelationId::new();
        std::thread::sleep(std::time::Duration::from_millis(2));
        let b = CorrelationId::new();
        assert!(a.to_string() < b.to_string());
        assert_eq!(a.as_uuid().map(|u| u.get_version_num()), Some(7));
        assert_ne!(a, b);
    }

    #[test]
    fn parsing_and_printing_round_trip() {
        for s in [
            "req-7f3a",
            "0190b3b2-7c1e-7d3a-9f00-123456789abc",
            "A/B:C_1",
        ] {
            let id: CorrelationId = s.parse().unwrap();
            assert_eq!(id.to_string(), s);
        }
        let upper: CorrelationId = "0190B3B2-7C1E-7D3A-9F00-123456789ABC".parse().unwrap();
        assert!(upper.as_uuid().is_some());
        assert_eq!(" x ".parse::<CorrelationId>().unwrap().to_string(), "x");
    }

    #[test]
    fn bad_ids_are_refused() {
        assert_eq!(
            "".parse::<CorrelationId>(),
            Err(InvalidCorrelationId::Empty)
        );
        assert_eq!(
            "a b".parse::<CorrelationId>(),
            Err(InvalidCorrelationId::InvalidCharacter)
        );
        assert_eq!(
            "é".parse::<CorrelationId>(),
            Err(InvalidCorrelationId::InvalidCharacter)
        );
        assert_eq!(
            "x".repeat(129).parse::<CorrelationId>(),
            Err(InvalidCorrelationId::TooLong(129))
        );
    }

    #[test]
    fn serde_round_trip() {
        let id = CorrelationId::new();
        let json = serde_json::to_string(&id).unwrap();
        assert_eq!(json, format!("\"{id}\""));
        assert_eq!(serde_json::from_str::<CorrelationId>(&json).unwrap(), id);
        assert!(serde_json::from_str::<CorrelationId>("\"a b\"").is_err());
    }
}
