//! Flood limits per call site: a token bucket for each event call site, so
//! that one site in a retry loop cannot bury every other line. Events over
//! the limit are turned down in `event_enabled`, before any layer formats
//! them (the PII gate included), counted per site, and said in-band: one
//! line `N events suppressed from <target> <file>:<line> over <period>`
//! when the flood ends, and at most once per period while it lasts.
//! `ERROR` events and audit events are never suppressed.
//!
//! The front end (the logging call) takes a token with one atomic
//! subtraction on its site's bucket, found in a fixed table by the call
//! site's address; it reads no clock. A ticker thread of the layer's own
//! refills the buckets and writes the suppression lines; it stops when the
//! layer is dropped.

use crate::filter::target_is_under;
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock, Weak};
use std::time::Duration;

use tracing::dispatcher::WeakDispatch;
use tracing::{Event, Level, Metadata, Subscriber};
use tracing_subscriber::layer::{Context, Layer};
use tracing_subscriber::registry::LookupSpan;
use warden_core::{Callbacks, SpanPart};

/// The target of the suppression lines (never itself limited).
pub const FLOOD_TARGET: &str = "warden::flood";

/// Tokens are counted in thousandths, so that rates below the ticker's
/// frequency refill a fraction of a token each tick.
const MILLI: i64 = 1000;

/// One call site's bucket.
struct Site {
    /// The call site's metadata address (0: the slot is free).
    key: AtomicUsize,
    /// Its metadata, for the suppression line (set once, by the claimer).
    meta: OnceLock<&'static Metadata<'static>>,
    /// Thousandths of a token; below one token, events are suppressed.
    tokens: AtomicI64,
    /// The site's rate and burst, in thousandths (set with `meta`).
    limit: OnceLock<Limit>,
    /// Whether the site is never limited (`ERROR`, audit, the suppression
    /// lines themselves), decided when it is claimed.
    exempt: AtomicBool,
    /// Every event suppressed at this site (the only count the logging
    /// call updates).
    suppressed: AtomicU64,
    /// How many of those a line has said (the ticker's alone).
    reported: AtomicU64,
    /// `suppressed` as the ticker last saw it: unchanged for a tick means
    /// the flood ended.
    seen: AtomicU64,
    /// The tick the current report period began at (0: no flood).
    since_tick: AtomicU64,
}

impl Default for Site {
    fn default() -> Self {
        Site {
            key: AtomicUsize::new(0),
            meta: OnceLock::new(),
            // Unlimited until the claimer sets the burst: a thread that finds
            // the site in between lets its event through rather than drop it.
            tokens: AtomicI64::new(i64::MAX / 4),
            limit: OnceLock::new(),
            exempt: AtomicBool::new(false),
            suppressed: AtomicU64::new(0),
            reported: AtomicU64::new(0),
            seen: AtomicU64::new(0),
            since_tick: AtomicU64::new(0),
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Limit {
    /// Thousandths of a token added each tick.
    refill: i64,
    /// Thousandths of a token at most.
    burst: i64,
}

/// A rate and a burst: `per_second` events a second on average, up to
/// `burst` at once.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Rate {
    per_second: u32,
    burst: u32,
}

impl Rate {
    /// `per_second` events a second on average, up to `burst` at once
    /// (`burst` at least 1).
    pub fn new(per_second: u32, burst: u32) -> Self {
        Rate {
            per_second,
            burst: burst.max(1),
        }
    }

    fn limit(self, tick: Duration) -> Limit {
        let refill = i64::from(self.per_second) * MILLI * tick.as_micros() as i64 / 1_000_000;
        Limit {
            refill: refill.max(1),
            burst: i64::from(self.burst) * MILLI,
        }
    }
}

/// What the ticker and the front end share.
struct Shared {
    sites: Box<[Site]>,
    /// The indices of the claimed sites plus one (0: being written), in
    /// the order they were claimed (the first `claimed_len`), so that the
    /// ticker visits only those.
    claimed: Box<[AtomicUsize]>,
    claimed_len: AtomicUsize,
    default: Rate,
    overrides: Vec<(String, Rate)>,
    audit_targets: Vec<String>,
    tick: Duration,
    /// Ticks in a report period.
    period_ticks: u64,
    dispatch: OnceLock<WeakDispatch>,
    /// Events of call sites beyond the table's size (not limited).
    untracked: AtomicU64,
    /// Lines written saying what was suppressed.
    reports: AtomicU64,
    ticker_started: AtomicBool,
}

/// A layer that limits each event call site to a rate (a token bucket per
/// site), turning the rest down before any layer formats them, and saying
/// in-band how many it suppressed. `ERROR` events and audit events are
/// never suppressed.
///
/// ```
/// use std::time::Duration;
/// use tracing_subscriber::prelude::*;
/// use warden::flood::{FloodLimit, Rate};
///
/// let flood = FloodLimit::builder()
///     .rate(Rate::new(100, 200))
///     .target("app::retry", Rate::new(10, 10))
///     .period(Duration::from_secs(10))
///     .build();
/// let counts = flood.clone();
/// tracing::subscriber::with_default(tracing_subscriber::registry().with(flood), || {
///     for _ in 0..1_000 {
///         tracing::info!(target: "app::retry", "retrying");
///     }
/// });
/// assert_eq!(counts.suppressed(), 990);
/// ```
#[derive(Clone)]
pub struct FloodLimit {
    shared: Arc<Shared>,
}

impl std::fmt::Debug for FloodLimit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let (rate, overrides) = (&self.shared.default, &self.shared.overrides);
        write!(
            f,
            "FloodLimit {{ rate: {rate:?}, overrides: {overrides:?}, .. }}"
        )
    }
}

/// Builds a [`FloodLimit`].
#[derive(Clone, Debug)]
pub struct FloodLimitBuilder {
    default: Rate,
    overrides: Vec<(String, Rate)>,
    audit_targets: Vec<String>,
    period: Duration,
    tick: Duration,
    sites: usize,
}

impl Default for FloodLimitBuilder {
    /// 10,000 events a second per call site with bursts of 20,000, said
    /// every 10 seconds while a flood lasts: a limit no normal service
    /// reaches, that stops a retry loop from writing a million lines a
    /// minute.
    fn default() -> Self {
        FloodLimitBuilder {
            default: Rate::new(10_000, 20_000),
            overrides: Vec::new(),
            audit_targets: vec![warden_core::AUDIT_TARGET.to_owned()],
            period: Duration::from_secs(10),
            tick: Duration::from_millis(10),
            sites: 4096,
        }
    }
}

impl FloodLimitBuilder {
    /// Every call site's rate, unless a [`target`](Self::target) says
    /// otherwise.
    pub fn rate(mut self, rate: Rate) -> Self {
        self.default = rate;
        self
    }

    /// The rate of call sites whose target is `target` or starts with
    /// `target::` (the longest match wins).
    pub fn target(mut self, target: impl Into<String>, rate: Rate) -> Self {
        self.overrides.push((target.into(), rate));
        self.overrides
            .sort_by_key(|(t, _)| std::cmp::Reverse(t.len()));
        self
    }

    /// Events of this target (or under it) are audit events, never
    /// suppressed (besides `audit`).
    pub fn audit_target(mut self, target: impl Into<String>) -> Self {
        self.audit_targets.push(target.into());
        self
    }

    /// How often a flood that lasts is said (default 10 s; at least one
    /// tick).
    pub fn period(mut self, period: Duration) -> Self {
        self.period = period;
        self
    }

    /// How often the buckets are refilled (default 10 ms, between 1 ms and
    /// 1 s).
    pub fn tick(mut self, tick: Duration) -> Self {
        self.tick = tick.clamp(Duration::from_millis(1), Duration::from_secs(1));
        self
    }

    /// How many call sites are limited (default 4,096, rounded up to a
    /// power of two); events of sites beyond are not, and are counted
    /// ([`FloodLimit::untracked`]).
    pub fn sites(mut self, sites: usize) -> Self {
        self.sites = sites.clamp(16, 1 << 20);
        self
    }

    /// The layer (its ticker starts with the first event).
    pub fn build(self) -> FloodLimit {
        let tick = self.tick;
        let period = self.period.max(tick);
        let sites = self.sites.next_power_of_two();
        FloodLimit {
            shared: Arc::new(Shared {
                sites: (0..sites).map(|_| Site::default()).collect(),
                claimed: (0..sites).map(|_| AtomicUsize::new(0)).collect(),
                claimed_len: AtomicUsize::new(0),
                default: self.default,
                overrides: self.overrides,
                audit_targets: self.audit_targets,
                tick,
                period_ticks: (period.as_micros() / tick.as_micros().max(1)).max(1) as u64,
                dispatch: OnceLock::new(),
                untracked: AtomicU64::new(0),
                reports: AtomicU64::new(0),
                ticker_started: AtomicBool::new(false),
            }),
        }
    }
}

impl Default for FloodLimit {
    fn default() -> Self {
        FloodLimitBuilder::default().build()
    }
}

impl FloodLimit {
    /// A builder, from the defaults (`FloodLimit::default()` is the
    /// default limit: see [`FloodLimitBuilder`]'s `Default`).
    pub fn builder() -> FloodLimitBuilder {
        FloodLimitBuilder::default()
    }

    /// Every event suppressed so far, all sites together.
    pub fn suppressed(&self) -> u64 {
        self.shared
            .sites
            .iter()
            .map(|s| s.suppressed.load(Ordering::Relaxed))
            .sum()
    }

    /// Suppressed events per call site so far: its target, file and line,
    /// and the count (sites that suppressed nothing are left out).
    pub fn suppressed_by_site(&self) -> Vec<SiteCount> {
        self.shared
            .sites
            .iter()
            .filter_map(|site| {
                let n = site.suppressed.load(Ordering::Relaxed);
                let meta = site.meta.get()?;
                (n > 0).then(|| SiteCount {
                    target: meta.target(),
                    file: meta.file(),
                    line: meta.line(),
                    suppressed: n,
                })
            })
            .collect()
    }

    /// Events of call sites beyond the table's size, which were not
    /// limited.
    pub fn untracked(&self) -> u64 {
        self.shared.untracked.load(Ordering::Relaxed)
    }

    /// Suppression lines written so far.
    pub fn reports(&self) -> u64 {
        self.shared.reports.load(Ordering::Relaxed)
    }

    fn exempt(&self, meta: &Metadata<'_>) -> bool {
        if *meta.level() == Level::ERROR {
            return true;
        }
        let target = meta.target();
        target == FLOOD_TARGET
            || self
                .shared
                .audit_targets
                .iter()
                .any(|a| target_is_under(target, a))
    }

    /// The bucket of `meta`'s call site, claimed on first sight; `None`
    /// when the table is full. Inline, the lookup of a site found in its
    /// first place (almost every event); the rest out of line.
    #[inline]
    fn site(&self, meta: &'static Metadata<'static>) -> Option<&Site> {
        let sites = &self.shared.sites;
        let key = meta as *const Metadata<'static> as usize;
        let at =
            ((key as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 32) as usize & (sites.len() - 1);
        match sites.get(at) {
            Some(site) if site.key.load(Ordering::Acquire) == key => Some(site),
            _ => self.probe(meta, key, at),
        }
    }

    /// [`site`](Self::site) past the first place: the probe, and the claim
    /// of a free place.
    #[cold]
    #[inline(never)]
    fn probe(&self, meta: &'static Metadata<'static>, key: usize, first: usize) -> Option<&Site> {
        let sites = &self.shared.sites;
        let mask = sites.len() - 1;
        let mut at = first;
        for _ in 0..16 {
            let site = &sites[at];
            match site.key.load(Ordering::Acquire) {
                k if k == key => return Some(site),
                0 => {
                    if site
                        .key
                        .compare_exchange(0, key, Ordering::AcqRel, Ordering::Acquire)
                        .is_ok()
                    {
                        let limit = self.rate_of(meta.target()).limit(self.shared.tick);
                        site.exempt.store(self.exempt(meta), Ordering::Release);
                        site.tokens.store(limit.burst, Ordering::Release);
                        let _ = site.limit.set(limit);
                        let _ = site.meta.set(meta);
                        // A place in the claimed list, then the site's index
                        // (plus one: 0 means not written yet) in it.
                        let n = self.shared.claimed_len.fetch_add(1, Ordering::AcqRel);
                        if let Some(slot) = self.shared.claimed.get(n) {
                            slot.store(at + 1, Ordering::Release);
                        }
                        self.start_ticker();
                        return Some(site);
                    }
                    if site.key.load(Ordering::Acquire) == key {
                        return Some(site);
                    }
                }
                _ => {}
            }
            at = (at + 1) & mask;
        }
        None
    }

    fn rate_of(&self, target: &str) -> Rate {
        self.shared
            .overrides
            .iter()
            .find(|(t, _)| target_is_under(target, t))
            .map_or(self.shared.default, |(_, rate)| *rate)
    }

    fn start_ticker(&self) {
        if self.shared.ticker_started.swap(true, Ordering::AcqRel) {
            return;
        }
        let shared = Arc::downgrade(&self.shared);
        let spawned = std::thread::Builder::new()
            .name("warden-flood".into())
            .spawn(move || ticker(shared));
        if spawned.is_err() {
            // No ticker, no refills: without it the limit would suppress
            // everything once the bursts are spent, so it lets all through.
            for site in self.shared.sites.iter() {
                site.tokens.store(i64::MAX / 2, Ordering::Release);
            }
        }
    }
}

/// One call site's suppressed events, from [`FloodLimit::suppressed_by_site`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SiteCount {
    /// The site's target.
    pub target: &'static str,
    /// Its file, if known.
    pub file: Option<&'static str>,
    /// Its line, if known.
    pub line: Option<u32>,
    /// Events suppressed there.
    pub suppressed: u64,
}

/// Refills the buckets each tick and says what was suppressed, until the
/// layer is gone.
fn ticker(shared: Weak<Shared>) {
    let mut tick: u64 = 0;
    let Some(interval) = shared.upgrade().map(|s| s.tick) else {
        return;
    };
    loop {
        // Asleep without a hold on the layer, so that it drops when the
        // stack does.
        std::thread::sleep(interval);
        let Some(shared) = shared.upgrade() else {
            return;
        };
        tick += 1;
        let claimed = shared.claimed_len.load(Ordering::Acquire);
        for at in &shared.claimed[..claimed.min(shared.claimed.len())] {
            let Some(site) = at
                .load(Ordering::Acquire)
                .checked_sub(1)
                .and_then(|at| shared.sites.get(at))
            else {
                continue;
            };
            let Some(limit) = site.limit.get() else {
                continue;
            };
            let tokens = site.tokens.load(Ordering::Acquire);
            if tokens < limit.burst {
                let refilled = tokens.max(0).saturating_add(limit.refill).min(limit.burst);
                // A logging call racing this store may take a token it then
                // has back: the bucket is a limit, not an account.
                site.tokens.store(refilled, Ordering::Release);
            }
            report(&shared, site, tick);
        }
    }
}

/// Writes a site's suppression line when its flood ended (nothing more
/// suppressed for a tick) or a period has passed since the last one.
fn report(shared: &Shared, site: &Site, tick: u64) {
    let suppressed = site.suppressed.load(Ordering::Acquire);
    let reported = site.reported.load(Ordering::Acquire);
    if suppressed == reported {
        return;
    }
    let seen = site.seen.swap(suppressed, Ordering::AcqRel);
    let since = match site.since_tick.load(Ordering::Acquire) {
        0 => {
            site.since_tick.store(tick, Ordering::Release);
            tick
        }
        since => since,
    };
    let ended = seen == suppressed;
    if !ended && tick - since < shared.period_ticks {
        return;
    }
    let Some(meta) = site.meta.get() else { return };
    let dispatch = shared.dispatch.get().and_then(WeakDispatch::upgrade);
    // No subscriber to say it to: the count waits for one.
    let Some(dispatch) = dispatch else { return };
    let n = suppressed - reported;
    site.reported.store(suppressed, Ordering::Release);
    site.since_tick
        .store(if ended { 0 } else { tick }, Ordering::Release);
    let over = shared.tick * (tick - since + 1) as u32;
    shared.reports.fetch_add(1, Ordering::Relaxed);
    tracing::dispatcher::with_default(&dispatch, || {
        tracing::warn!(
            target: FLOOD_TARGET,
            suppressed = n,
            site_target = meta.target(),
            file = meta.file().unwrap_or("?"),
            line = meta.line().unwrap_or(0),
            over_ms = over.as_millis() as u64,
            "{n} events suppressed from {} {}:{} over {:.1?}",
            meta.target(),
            meta.file().unwrap_or("?"),
            meta.line().unwrap_or(0),
            over,
        );
    });
}

impl<S> Layer<S> for FloodLimit
where
    S: Subscriber + for<'a> LookupSpan<'a>,
{
    fn on_register_dispatch(&self, subscriber: &tracing::Dispatch) {
        let _ = self.shared.dispatch.set(subscriber.downgrade());
    }

    #[inline]
    fn event_enabled(&self, event: &Event<'_>, _ctx: Context<'_, S>) -> bool {
        // The PII gate's sanitized copy of an event counted already.
        if warden_core::internal::is_copy(event) {
            return true;
        }
        let Some(site) = self.site(event.metadata()) else {
            self.shared.untracked.fetch_add(1, Ordering::Relaxed);
            return true;
        };
        if site.exempt.load(Ordering::Relaxed) {
            return true;
        }
        // Over the limit, a load and one count: no token is taken.
        if site.tokens.load(Ordering::Relaxed) >= MILLI
            && site.tokens.fetch_sub(MILLI, Ordering::AcqRel) >= MILLI
        {
            return true;
        }
        suppress(site)
    }
}

/// An event over its site's limit: suppressed and counted, unless it is a
/// request's held line written late (counted when it was logged).
#[cold]
#[inline(never)]
fn suppress(site: &Site) -> bool {
    if warden_core::internal::replayed_at().is_some() {
        return true;
    }
    site.suppressed.fetch_add(1, Ordering::Relaxed);
    false
}

/// Only `event_enabled`: first in `init()`'s parts, so a suppressed event
/// reaches no other part.
impl<S> SpanPart<S> for FloodLimit
where
    S: Subscriber + for<'a> LookupSpan<'a>,
{
    fn callbacks(&self) -> Callbacks {
        Callbacks::EVENT_ENABLED
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets_match_whole_path_segments() {
        assert!(target_is_under("app::db", "app"));
        assert!(target_is_under("app", "app"));
        assert!(!target_is_under("apple", "app"));
        assert!(!target_is_under("ap", "app"));
    }

    #[test]
    fn a_rate_refills_thousandths_each_tick() {
        let limit = Rate::new(50, 5).limit(Duration::from_millis(10));
        assert_eq!(
            limit,
            Limit {
                refill: 500,
                burst: 5_000
            }
        );
        assert_eq!(
            Rate::new(0, 0).limit(Duration::from_millis(10)).burst,
            MILLI
        );
    }
}
