//! What a store's readers share: the filters of a query (and the SQL they
//! become, in any dialect), and the daily counts.

use std::time::SystemTime;

use crate::record::{AuditLevel, EventType, Outcome, micros_since_epoch};

/// Filters for [`SqliteStore::query`](super::SqliteStore::query) and
/// [`StoreReader::query`]; every one given must match.
///
/// ```
/// use std::time::{Duration, SystemTime};
/// use warden_audit::{EventType, Outcome, Query};
///
/// let failed_logins_today = Query {
///     event_type: Some(EventType::Security),
///     action: Some("login_failed".into()),
///     outcome: Some(Outcome::Failure),
///     since: SystemTime::now().checked_sub(Duration::from_secs(86_400)),
///     limit: Some(100),
///     ..Query::default()
/// };
/// # drop(failed_logins_today);
/// ```
#[derive(Clone, Debug, Default)]
pub struct Query {
    /// Only this level.
    pub level: Option<AuditLevel>,
    /// Only this event type.
    pub event_type: Option<EventType>,
    /// Only this action.
    pub action: Option<String>,
    /// Only records whose `user_id` is one of these; empty: any user. To
    /// find a user in a store that keeps users as keyed hashes, give the
    /// ID and its [`AuditKey::pseudonym`](crate::AuditKey::pseudonym), as
    /// [`Query::user`] does.
    pub user_ids: Vec<String>,
    /// Only this resource.
    pub resource_id: Option<String>,
    /// Only this correlation ID.
    pub correlation_id: Option<String>,
    /// Only this outcome.
    pub outcome: Option<Outcome>,
    /// At or after this time.
    pub since: Option<SystemTime>,
    /// Before this time.
    pub until: Option<SystemTime>,
    /// At most this many (newest first); `None`: all.
    pub limit: Option<usize>,
    /// Only records with a sequence number above this (for `tail -f`);
    /// returned oldest first.
    pub after_seq: Option<i64>,
}

impl Query {
    /// Only the records of `user`: stored as given, or as its keyed hash
    /// with `key` (the store's key), as an audit layer with a
    /// [`pseudonym_key`](crate::AuditLayerBuilder::pseudonym_key) stores it.
    ///
    /// ```
    /// use warden_audit::{AuditKey, Query};
    ///
    /// let key = AuditKey::new(*b"a key of at least sixteen bytes")?;
    /// let query = Query::default().user("ada@example.com", Some(&key));
    /// assert_eq!(query.user_ids, ["ada@example.com".to_owned(), key.pseudonym("ada@example.com")]);
    /// # Ok::<(), warden_audit::AuditError>(())
    /// ```
    pub fn user(mut self, user: &str, key: Option<&crate::AuditKey>) -> Self {
        self.user_ids.push(user.to_owned());
        if let Some(key) = key {
            self.user_ids.push(key.pseudonym(user));
        }
        self
    }
}

/// One day's counts from [`StoreReader::stats`].
///
/// ```
/// use warden_audit::{AuditKey, AuditRecord, EventType, SqliteStore, StoreReader};
/// # let dir = std::env::temp_dir().join(format!("warden-doc-{}-{}", std::process::id(), line!()));
/// # std::fs::create_dir_all(&dir)?;
/// # let key = AuditKey::new(*b"a key of at least sixteen bytes")?;
/// # let mut store = SqliteStore::open_with(dir.join("audit.db"), key, Default::default(), Default::default())?;
/// # store.append(&[AuditRecord::new(EventType::Authentication, "login")])?;
/// let reader = StoreReader::open(dir.join("audit.db"))?;
/// for day in reader.stats(None)? {
///     println!("{} {} {} {}: {}", day.day, day.event_type, day.level, day.outcome, day.count);
/// }
/// # std::fs::remove_dir_all(&dir)?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct DayCount {
    /// The day, `YYYY-MM-DD` (UTC).
    pub day: String,
    /// The event type.
    pub event_type: String,
    /// The level.
    pub level: String,
    /// The outcome.
    pub outcome: String,
    /// How many records.
    pub count: i64,
}

/// A value a query's filter compares with.
#[derive(Clone, Debug)]
#[cfg_attr(not(any(feature = "sqlite", feature = "postgres")), allow(dead_code))]
pub(crate) enum FilterValue {
    Text(String),
    Int(i64),
}

/// The `WHERE` clause, `ORDER BY` and `LIMIT` of a query, written for any
/// SQL dialect: `slot(n)` names parameter `n` (`?n`, `$n`), and `seq` is
/// the column that numbers records (for `after_seq`).
#[cfg_attr(not(any(feature = "sqlite", feature = "postgres")), allow(dead_code))]
pub(crate) fn query_sql(
    query: &Query,
    seq: &str,
    slot: impl Fn(usize) -> String,
) -> (String, Vec<FilterValue>) {
    let mut clauses = Vec::new();
    let mut values = Vec::new();
    let mut compare = |column: &str, op: &str, value: FilterValue| {
        values.push(value);
        clauses.push(format!("{column} {op} {}", slot(values.len())));
    };
    let texts = [
        ("level", query.level.map(|l| l.as_str().to_owned())),
        (
            "event_type",
            query.event_type.as_ref().map(|t| t.as_str().to_owned()),
        ),
        ("action", query.action.clone()),
        ("resource_id", query.resource_id.clone()),
        ("correlation_id", query.correlation_id.clone()),
        ("outcome", query.outcome.map(|o| o.as_str().to_owned())),
    ];
    for (column, value) in texts {
        if let Some(v) = value {
            compare(column, "=", FilterValue::Text(v));
        }
    }
    if let Some(since) = query.since {
        compare("ts_us", ">=", FilterValue::Int(micros_since_epoch(since)));
    }
    if let Some(until) = query.until {
        compare("ts_us", "<", FilterValue::Int(micros_since_epoch(until)));
    }
    if let Some(after) = query.after_seq {
        compare(seq, ">", FilterValue::Int(after));
    }
    if !query.user_ids.is_empty() {
        let first = values.len() + 1;
        let slots: Vec<String> = (first..first + query.user_ids.len()).map(&slot).collect();
        clauses.push(format!("user_id IN ({})", slots.join(", ")));
        values.extend(query.user_ids.iter().cloned().map(FilterValue::Text));
    }
    let filter = if clauses.is_empty() {
        String::new()
    } else {
        format!("WHERE {}", clauses.join(" AND "))
    };
    let order = if query.after_seq.is_some() {
        format!("{seq} ASC")
    } else {
        format!("ts_us DESC, {seq} DESC")
    };
    let limit = query
        .limit
        .map(|n| format!("LIMIT {n}"))
        .unwrap_or_default();
    (format!("{filter} ORDER BY {order} {limit}"), values)
}
