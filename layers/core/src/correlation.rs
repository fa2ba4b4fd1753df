//! The correlation ID that ties every event and span of a request together.

use std::cell::Cell;
use std::fmt;
use std::hash::{BuildHasher, RandomState};
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
    /// A UUID and its hyphenated lowercase text, written once: a line
    /// formatter prints the ID of every line inside the request.
    Uuid(Uuid, [u8; 36]),
    /// A W3C / OpenTelemetry trace id, printed as 32 lowercase hex digits.
    TraceId(u128),
    /// An ID from outside, up to [`SHORT_ID`] bytes: kept inline, so that
    /// a child span's copy costs no atomic reference count.
    Short(ShortId),
    External(Arc<str>),
}

impl Repr {
    fn uuid(uuid: Uuid) -> Repr {
        let mut text = [0u8; 36];
        uuid.hyphenated().encode_lower(&mut text);
        Repr::Uuid(uuid, text)
    }
}

/// The longest ID kept inline (most request IDs are: UUIDs, ULIDs,
/// `X-Amzn-Trace-Id` roots).
const SHORT_ID: usize = 46;

/// An ASCII ID of at most [`SHORT_ID`] bytes, inline.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
struct ShortId {
    len: u8,
    bytes: [u8; SHORT_ID],
}

impl ShortId {
    fn new(text: &str) -> Option<Self> {
        let len = u8::try_from(text.len())
            .ok()
            .filter(|&l| usize::from(l) <= SHORT_ID)?;
        let mut bytes = [0u8; SHORT_ID];
        bytes[..text.len()].copy_from_slice(text.as_bytes());
        Some(ShortId { len, bytes })
    }

    fn as_str(&self) -> &str {
        // Made from printable ASCII only (`FromStr` refuses anything else).
        crate::ascii::ascii_str(&self.bytes[..usize::from(self.len)])
    }
}

impl PartialOrd for ShortId {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for ShortId {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.as_str().cmp(other.as_str())
    }
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
    /// The correlation ID of the current span, on whatever thread or task
    /// it is entered, or `None` outside any span that has one.
    ///
    /// The ID is the one a correlation layer (warden-correlation's
    /// `CorrelationLayer`) left in the span's extensions; the subscriber must
    /// be built on `tracing_subscriber`'s `Registry`, as
    /// `tracing_subscriber::registry().with(..)` stacks are.
    ///
    /// ```
    /// use tracing_subscriber::prelude::*;
    /// use warden_core::CorrelationId;
    ///
    /// // The correlation layer (warden-correlation) leaves the ID in the span's
    /// // extensions; here a layer of this example does.
    /// struct Ids;
    /// impl<S: tracing::Subscriber + for<'a> tracing_subscriber::registry::LookupSpan<'a>>
    ///     tracing_subscriber::Layer<S> for Ids
    /// {
    ///     fn on_new_span(&self, _: &tracing::span::Attributes<'_>, id: &tracing::span::Id, ctx: tracing_subscriber::layer::Context<'_, S>) {
    ///         let span = ctx.span(id).unwrap();
    ///         span.extensions_mut().insert("req-1".parse::<CorrelationId>().unwrap());
    ///     }
    /// }
    /// tracing::subscriber::with_default(tracing_subscriber::registry().with(Ids), || {
    ///     assert_eq!(CorrelationId::current(), None);
    ///     let _request = tracing::info_span!("request").entered();
    ///     assert_eq!(CorrelationId::current().unwrap().to_string(), "req-1");
    /// });
    /// ```
    pub fn current() -> Option<CorrelationId> {
        tracing_core::dispatcher::get_default(|dispatch| {
            let current = dispatch.current_span();
            let registry = dispatch.downcast_ref::<tracing_subscriber::Registry>()?;
            let span = tracing_subscriber::registry::LookupSpan::span(registry, current.id()?)?;
            let extensions = span.extensions();
            crate::correlation_id_in(&extensions).cloned()
        })
    }

    /// A fresh, time-ordered ID (UUID v7): 48 bits of Unix time in
    /// milliseconds, then 74 random bits.
    ///
    /// The random bits come from a fast per-thread generator seeded from the
    /// operating system, not from a cryptographic one: a correlation ID names
    /// a request, it is not a secret or a capability.
    pub fn new() -> Self {
        CorrelationId(Repr::uuid(new_uuid_v7()))
    }

    /// A fresh ID as [`new`](Self::new), its time taken from `at` (a
    /// span's open, already read) instead of reading the clock again.
    ///
    /// ```
    /// use warden_core::{CorrelationId, Moment};
    ///
    /// let a = CorrelationId::new_at(Moment::now());
    /// assert_ne!(a, CorrelationId::new_at(Moment::now()));
    /// assert!(a.as_uuid().is_some());
    /// ```
    pub fn new_at(at: crate::Moment) -> Self {
        CorrelationId(Repr::uuid(new_uuid_v7_at(at)))
    }

    /// The ID of an OpenTelemetry / W3C trace (`traceparent`'s trace-id),
    /// printed as 32 lowercase hex digits. `None` for the invalid all-zero id.
    ///
    /// ```
    /// use warden_core::CorrelationId;
    ///
    /// let id = CorrelationId::from_trace_id(0x4bf92f3577b34da6a3ce929d0e0e4736).unwrap();
    /// assert_eq!(id.to_string(), "4bf92f3577b34da6a3ce929d0e0e4736");
    /// assert_eq!(id.as_trace_id(), Some(0x4bf92f3577b34da6a3ce929d0e0e4736));
    /// assert!(CorrelationId::from_trace_id(0).is_none()); // the invalid trace id
    /// ```
    pub fn from_trace_id(trace_id: u128) -> Option<Self> {
        (trace_id != 0).then_some(CorrelationId(Repr::TraceId(trace_id)))
    }

    /// The ID as a UUID, if it is one.
    ///
    /// ```
    /// use warden_core::CorrelationId;
    ///
    /// let fresh = CorrelationId::new();
    /// assert_eq!(fresh.as_uuid().map(|u| u.get_version_num()), Some(7));
    /// let given: CorrelationId = "req-7f3a".parse().unwrap();
    /// assert_eq!(given.as_uuid(), None);
    /// ```
    pub fn as_uuid(&self) -> Option<Uuid> {
        match &self.0 {
            Repr::Uuid(u, _) => Some(*u),
            Repr::TraceId(_) => None,
            Repr::Short(s) => Uuid::parse_str(s.as_str()).ok(),
            Repr::External(s) => Uuid::parse_str(s).ok(),
        }
    }

    /// Calls `f` with the ID's text, formatted on the stack rather than in a
    /// `String`: the cheap way to print it many times.
    ///
    /// ```
    /// let id: warden_core::CorrelationId = "req-7f3a".parse()?;
    /// assert_eq!(id.with_str(str::len), 8);
    /// # Ok::<(), warden_core::InvalidCorrelationId>(())
    /// ```
    pub fn with_str<R>(&self, f: impl FnOnce(&str) -> R) -> R {
        match &self.0 {
            Repr::Uuid(_, text) => f(crate::ascii::ascii_str(text)),
            Repr::TraceId(t) => {
                const HEX: &[u8; 16] = b"0123456789abcdef";
                let mut buf = [0u8; 32];
                for (i, b) in buf.iter_mut().enumerate() {
                    *b = HEX[((t >> (124 - 4 * i)) & 0xf) as usize];
                }
                f(crate::ascii::ascii_str(&buf))
            }
            Repr::Short(s) => f(s.as_str()),
            Repr::External(s) => f(s),
        }
    }

    /// The ID as a W3C trace id, if it is one (made by
    /// [`from_trace_id`](Self::from_trace_id) or parsed from 32 lowercase
    /// hex digits). A `traceparent` header can carry only such an ID.
    pub fn as_trace_id(&self) -> Option<u128> {
        match &self.0 {
            Repr::TraceId(t) => Some(*t),
            _ => None,
        }
    }
}

/// A fresh UUID v7 (48 bits of Unix milliseconds, then 74 random bits from
/// a fast per-thread generator seeded by the operating system): the IDs of
/// correlation and of audit records, time-ordered. Not for secrets.
pub fn new_uuid_v7() -> Uuid {
    new_uuid_v7_at(crate::Moment::now())
}

/// [`new_uuid_v7`] with the time of `at`, a recent reading of the clock.
pub fn new_uuid_v7_at(at: crate::Moment) -> Uuid {
    let since = crate::clock::wall_since_epoch_at(at);
    let millis = since.as_secs() * 1000 + u64::from(since.subsec_millis());
    let random = random_u128().to_le_bytes();
    let mut bytes = [0u8; 10];
    bytes.copy_from_slice(&random[..10]);
    uuid::Builder::from_unix_timestamp_millis(millis, &bytes).into_uuid()
}

/// 64 bits from a fast per-thread wyrand generator seeded by the operating
/// system: for IDs (span ids), not for secrets.
pub fn random_u64() -> u64 {
    // Not a cache or a pool: a generator's state, one per thread.
    thread_local! {
        static STATE: Cell<u64> = Cell::new(RandomState::new().hash_one(std::thread::current().id()));
    }
    STATE.with(|state| {
        let s = state.get().wrapping_add(0xa076_1d64_78bd_642f);
        state.set(s);
        let t = u128::from(s) * u128::from(s ^ 0xe703_7ed1_a0b4_28db);
        ((t >> 64) as u64) ^ (t as u64)
    })
}

/// 128 bits from the same generator as [`random_u64`]: for IDs
/// (correlation, trace ids), not for secrets.
pub fn random_u128() -> u128 {
    (u128::from(random_u64()) << 64) | u128::from(random_u64())
}

impl Default for CorrelationId {
    /// A fresh ID, as [`CorrelationId::new`].
    fn default() -> Self {
        Self::new()
    }
}

impl From<Uuid> for CorrelationId {
    fn from(uuid: Uuid) -> Self {
        CorrelationId(Repr::uuid(uuid))
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
                return Ok(CorrelationId(Repr::uuid(uuid)));
            }
        }
        if s.len() == 32 && s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')) {
            if let Some(id) = u128::from_str_radix(s, 16)
                .ok()
                .and_then(Self::from_trace_id)
            {
                return Ok(id);
            }
        }
        Ok(CorrelationId(match ShortId::new(s) {
            Some(short) => Repr::Short(short),
            None => Repr::External(Arc::from(s)),
        }))
    }
}

impl fmt::Display for CorrelationId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.0 {
            Repr::Uuid(u, _) => fmt::Display::fmt(&u.hyphenated(), f),
            Repr::TraceId(t) => write!(f, "{t:032x}"),
            Repr::Short(s) => f.write_str(s.as_str()),
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
    fn short_and_long_ids_read_back_as_given_and_compare_by_text() {
        let short: CorrelationId = "req-7f3a".parse().unwrap();
        let edge: CorrelationId = "x".repeat(SHORT_ID).parse().unwrap();
        let long: CorrelationId = "y".repeat(SHORT_ID + 1).parse().unwrap();
        assert_eq!(short.to_string(), "req-7f3a");
        assert_eq!(edge.to_string(), "x".repeat(SHORT_ID));
        assert_eq!(long.to_string(), "y".repeat(SHORT_ID + 1));
        assert_eq!(short, "req-7f3a".parse().unwrap());
        assert!(short.clone() == short && short != edge);
        let a: CorrelationId = "req-a".parse().unwrap();
        let b: CorrelationId = "req-ab".parse().unwrap();
        let c: CorrelationId = "req-b".parse().unwrap();
        assert!(a < b && b < c);
        assert_eq!(long.with_str(str::len), SHORT_ID + 1);
    }

    #[test]
    fn a_uuid_id_prints_its_kept_text_and_stays_one_cache_line() {
        let id = CorrelationId::new();
        let uuid = id.as_uuid().unwrap();
        assert_eq!(id.with_str(str::to_owned), uuid.hyphenated().to_string());
        let upper: CorrelationId = uuid
            .hyphenated()
            .to_string()
            .to_uppercase()
            .parse()
            .unwrap();
        assert_eq!(upper, id);
        assert!(std::mem::size_of::<CorrelationId>() <= 64);
    }

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
    fn trace_ids_print_as_32_hex_digits_and_parse_back() {
        let id = CorrelationId::from_trace_id(0x4bf9_2f35_77b3_4da6_a3ce_929d_0e0e_4736).unwrap();
        assert_eq!(id.to_string(), "4bf92f3577b34da6a3ce929d0e0e4736");
        assert_eq!(id.with_str(str::to_owned), id.to_string());
        let uuid = CorrelationId::new();
        assert_eq!(uuid.with_str(str::to_owned), uuid.to_string());
        assert_eq!(id.to_string().parse::<CorrelationId>(), Ok(id.clone()));
        assert_eq!(
            id.as_trace_id(),
            Some(0x4bf9_2f35_77b3_4da6_a3ce_929d_0e0e_4736)
        );
        assert_eq!(CorrelationId::from_trace_id(0), None);
        let upper: CorrelationId = "4BF92F3577B34DA6A3CE929D0E0E4736".parse().unwrap();
        assert_eq!(upper.as_trace_id(), None);
    }

    #[test]
    fn fresh_ids_differ_across_threads() {
        let ids: std::collections::HashSet<String> = (0..8)
            .map(|_| {
                std::thread::spawn(|| {
                    (0..1000)
                        .map(|_| CorrelationId::new().to_string())
                        .collect::<Vec<_>>()
                })
            })
            .flat_map(|t| t.join().unwrap())
            .collect();
        assert_eq!(ids.len(), 8000);
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
