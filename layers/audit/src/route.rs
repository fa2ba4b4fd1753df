//! Routes: which audit records go where, and what a route's queue does
//! when it is full or when the caller must wait for the write.

use std::time::Duration;

use crate::record::{AuditLevel, EventType};
use crate::sink::AuditSink;

/// When the logging call returns.
///
/// ```
/// use std::time::Duration;
/// use warden_audit::{Durability, Route, RouteFilter, StdoutSink};
///
/// // Fail-closed for security events: the logging call returns once the
/// // record is committed, or after 200 ms.
/// let security = Route::new("security", RouteFilter::all().event_types([warden_audit::EventType::Security]))
///     .sink(StdoutSink::new())
///     .durability(Durability::Sync { timeout: Duration::from_millis(200) });
/// # drop(security);
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Durability {
    /// As soon as the record is queued; the writer commits it within its
    /// batching delay (default).
    #[default]
    Batched,
    /// Once the record is committed by every sink of the route, or after
    /// `timeout` (then the record stays queued and the wait is counted as
    /// a timeout): fail-closed auditing for the events that need it.
    Sync {
        /// The longest the logging call waits.
        timeout: Duration,
    },
}

/// What happens when a route's queue is full.
///
/// ```
/// use std::time::Duration;
/// use warden_audit::{Overflow, Route, RouteFilter, StdoutSink};
///
/// // Never wait for a full queue: drop and count instead.
/// let debug = Route::new("debug", RouteFilter::all()).sink(StdoutSink::new()).overflow(Overflow::Drop);
/// // Wait up to 50 ms for space, then drop and count.
/// let store = Route::new("store", RouteFilter::all())
///     .sink(StdoutSink::new())
///     .overflow(Overflow::Block(Duration::from_millis(50)))
///     .capacity(65_536);
/// # drop((debug, store));
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Overflow {
    /// Wait for space at most this long, then drop (counted).
    Block(Duration),
    /// Drop at once (counted).
    Drop,
}

impl Default for Overflow {
    /// Wait up to 100 ms.
    fn default() -> Self {
        Overflow::Block(Duration::from_millis(100))
    }
}

/// Which records a route takes.
///
/// ```
/// use warden_audit::{AuditLevel, EventType, RouteFilter};
///
/// let security_only = RouteFilter::all().min_level(AuditLevel::Security);
/// let logins = RouteFilter::all().event_types([EventType::Authentication]);
/// let billing = RouteFilter::all().target("audit::billing");
/// # drop((security_only, logins, billing));
/// ```
#[derive(Clone, Debug, Default)]
pub struct RouteFilter {
    min_level: Option<AuditLevel>,
    event_types: Option<Vec<EventType>>,
    target_prefix: Option<String>,
}

impl RouteFilter {
    /// Every record.
    pub fn all() -> Self {
        Self::default()
    }

    /// Only records at `level` or above (`INFO` < `WARNING` < `ERROR` <
    /// `SECURITY`).
    pub fn min_level(mut self, level: AuditLevel) -> Self {
        self.min_level = Some(level);
        self
    }

    /// Only records of these types.
    pub fn event_types(mut self, types: impl IntoIterator<Item = EventType>) -> Self {
        self.event_types = Some(types.into_iter().collect());
        self
    }

    /// Only events whose target starts with `prefix`.
    pub fn target(mut self, prefix: impl Into<String>) -> Self {
        self.target_prefix = Some(prefix.into());
        self
    }

    pub(crate) fn matches(&self, level: AuditLevel, event_type: &EventType, target: &str) -> bool {
        self.min_level.is_none_or(|min| level >= min)
            && self
                .event_types
                .as_ref()
                .is_none_or(|types| types.contains(event_type))
            && self
                .target_prefix
                .as_deref()
                .is_none_or(|prefix| target.starts_with(prefix))
    }
}

/// One route: a filter, the sinks it feeds, and its queue's policies.
///
/// ```
/// use warden_audit::{AuditLayer, JsonlSink, Route, RouteFilter, SqliteSink};
/// # let dir = std::env::temp_dir().join(format!("warden-doc-{}-{}", std::process::id(), line!()));
/// # std::fs::create_dir_all(&dir)?;
/// let audit = AuditLayer::builder()
///     // Every record to the hash-chained store…
///     .route(Route::new("store", RouteFilter::all()).sink(SqliteSink::open(dir.join("audit.db"))?))
///     // …and a copy of the security ones to a JSON Lines file.
///     .route(
///         Route::new("siem", RouteFilter::all().min_level(warden_audit::AuditLevel::Security))
///             .sink(JsonlSink::open(dir.join("security.jsonl"))?),
///     )
///     .build()?;
/// # audit.shutdown(std::time::Duration::from_secs(5))?;
/// # std::fs::remove_dir_all(&dir)?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct Route {
    pub(crate) name: String,
    pub(crate) filter: RouteFilter,
    pub(crate) sinks: Vec<Box<dyn AuditSink>>,
    pub(crate) durability: Durability,
    pub(crate) overflow: Overflow,
    pub(crate) capacity: usize,
}

impl std::fmt::Debug for Route {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Route")
            .field("name", &self.name)
            .field("filter", &self.filter)
            .field(
                "sinks",
                &self.sinks.iter().map(|s| s.name()).collect::<Vec<_>>(),
            )
            .field("durability", &self.durability)
            .field("overflow", &self.overflow)
            .field("capacity", &self.capacity)
            .finish()
    }
}

impl Route {
    /// A route named `name` taking the records `filter` matches, batched,
    /// blocking up to 100 ms when its 16,384-record queue is full.
    pub fn new(name: impl Into<String>, filter: RouteFilter) -> Self {
        Route {
            name: name.into(),
            filter,
            sinks: Vec::new(),
            durability: Durability::Batched,
            overflow: Overflow::default(),
            capacity: 16_384,
        }
    }

    /// Adds a sink.
    pub fn sink(mut self, sink: impl AuditSink) -> Self {
        self.sinks.push(Box::new(sink));
        self
    }

    /// When the logging call returns.
    pub fn durability(mut self, durability: Durability) -> Self {
        self.durability = durability;
        self
    }

    /// What a full queue does.
    pub fn overflow(mut self, overflow: Overflow) -> Self {
        self.overflow = overflow;
        self
    }

    /// The queue's bound, in records (at least 1).
    pub fn capacity(mut self, capacity: usize) -> Self {
        self.capacity = capacity.max(1);
        self
    }
}

/// What a route has done so far.
///
/// ```
/// use warden_audit::{AuditLayer, Route, RouteFilter, StdoutSink};
///
/// let audit = AuditLayer::builder()
///     .route(Route::new("stdout", RouteFilter::all()).sink(StdoutSink::new()))
///     .build()?;
/// for route in audit.stats() {
///     assert_eq!((route.name.as_str(), route.dropped), ("stdout", 0));
/// }
/// # audit.shutdown(std::time::Duration::from_secs(5))?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct RouteStats {
    /// The route's name.
    pub name: String,
    /// Records accepted into the queue.
    pub queued: u64,
    /// Records written by every sink (with the records stating a loss,
    /// which the route writes itself).
    pub written: u64,
    /// Records lost: to a full queue, sent after the shutdown, or still
    /// unwritten when the shutdown gave up on a failing sink.
    pub dropped: u64,
    /// Records queued and not yet written: waiting in the queue, or kept
    /// for a sink that refuses them. After a shutdown that timed out,
    /// these are the records it did not write.
    pub pending: u64,
    /// Failed sink writes (each retried).
    pub sink_errors: u64,
    /// `Sync` waits that timed out.
    pub sync_timeouts: u64,
    /// Since when a sink has been failing (its writes are retried), if it
    /// is: what a readiness check reads.
    pub failing_since: Option<std::time::SystemTime>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_filter_takes_what_every_condition_allows() {
        let all = RouteFilter::all();
        assert!(all.matches(AuditLevel::Info, &EventType::ApiCall, "audit"));
        let security = RouteFilter::all().min_level(AuditLevel::Security);
        assert!(security.matches(AuditLevel::Security, &EventType::ApiCall, "audit"));
        assert!(!security.matches(AuditLevel::Error, &EventType::Security, "audit"));
        let auth = RouteFilter::all()
            .event_types([EventType::Authentication])
            .target("audit::auth");
        assert!(auth.matches(
            AuditLevel::Info,
            &EventType::Authentication,
            "audit::auth::sso"
        ));
        assert!(!auth.matches(
            AuditLevel::Info,
            &EventType::Authentication,
            "audit::billing"
        ));
        assert!(!auth.matches(AuditLevel::Info, &EventType::ApiCall, "audit::auth"));
    }

    #[test]
    fn a_route_keeps_at_least_one_slot() {
        let route = Route::new("r", RouteFilter::all()).capacity(0);
        assert_eq!(route.capacity, 1);
        assert_eq!(route.durability, Durability::Batched);
        assert_eq!(route.overflow, Overflow::Block(Duration::from_millis(100)));
    }
}
