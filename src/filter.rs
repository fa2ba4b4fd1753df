//! The stack's filter: the log directives (`tracing-subscriber`'s `Targets`
//! when they name only targets and levels, `EnvFilter` when they need its
//! span and field matching), which decide what the log sinks write, and
//! what the other layers need whatever those directives say: audit events
//! at any level, and the spans that metrics time and correlation IDs ride
//! on.

use tracing::level_filters::LevelFilter;
use tracing::span::{Attributes, Id, Record};
use tracing::subscriber::Interest;
use tracing::{Dispatch, Metadata, Subscriber};
use tracing_subscriber::filter::{EnvFilter, Targets};
use tracing_subscriber::layer::{Context, Layer};
use tracing_subscriber::registry::LookupSpan;
use warden_core::internal::{
    LocalSiteCache, SiteCache, SiteKey, mark_event_held, mark_event_logged, next_owner,
};

mod live;

use std::sync::Arc;

use live::Live;
#[cfg(feature = "log")]
pub(crate) use live::log_level_filter;
pub use live::{FilterChange, FilterError, FilterHandle};

/// The filter [`WardenBuilder::filter`](crate::WardenBuilder::filter) (or
/// `RUST_LOG`) builds, for a stack's registry.
///
/// **The log directives govern the log sinks only.** Whatever they say, the
/// filter also enables:
/// - audit events (target `audit` or `audit::…`, which every
///   `warden::audit` macro and `#[audited]` use, and any target added with
///   [`audit_target`](Self::audit_target)) at every level, so that the
///   audit trail never depends on the log level;
/// - spans at [`span_level`](Self::span_level) (INFO by default) and above,
///   so that metrics time every operation and every line keeps its
///   correlation ID at `RUST_LOG=warn`.
///
/// warden's log sinks (`JsonLayer`, `warden::json::layer()`, OTLP log
/// records) still write only the events the directives let through: the
/// filter marks an audit event the directives turn down, and they skip it.
/// A sink warden did not write (`fmt::layer()`) would write it: give such a
/// layer a per-layer filter of its own. [`logs_only`](Self::logs_only)
/// turns the extras off.
///
/// Directives of targets and levels only (`info`, `my_app=debug,warn`) make
/// a `Targets` filter: decided per call site, it does nothing per span.
/// `EnvFilter` takes a read lock on every span's open, enter, exit and
/// close to look for span-scoped directives, even when there are none; it
/// is used only when the directives have some (`[request{user}]=trace`).
///
/// ```
/// use warden::StackFilter;
///
/// assert!(StackFilter::parse("info,my_app::db=debug")?.is_static());
/// assert!(!StackFilter::parse("info,[request{tenant=acme}]=trace")?.is_static());
/// assert!(StackFilter::parse("info,=nonsense").is_err());
/// # Ok::<(), String>(())
/// ```
#[derive(Debug)]
pub struct StackFilter {
    log: Log,
    /// The directives as given, for [`FilterHandle::directives`].
    directives: String,
    /// Spans at this level and above are enabled whatever `log` says.
    span_level: LevelFilter,
    /// Audit events are enabled at every level whatever `log` says.
    audit: bool,
    /// Targets of audit events besides `audit`.
    audit_targets: Vec<String>,
    /// Events the directives turn down at this level and above are
    /// enabled, marked held: a request keeps them for its failure
    /// (`RequestLines`). `OFF`: none.
    held: LevelFilter,
    /// This filter's key in the per-thread cache of its directives'
    /// answers for held-level call sites (fixed directives; live ones
    /// take a new key at each change).
    owner: u64,
}

/// The log directives: fixed for the stack's life, or changed while it
/// runs through a [`FilterHandle`].
// One per stack: `Targets` (inline directives, with `smallvec`) stays
// unboxed so that the callsite and event checks do not follow a pointer.
#[allow(clippy::large_enum_variant)]
#[derive(Debug)]
enum Log {
    Fixed(Inner),
    Live(Arc<Live>),
}

/// The directives as a filter (`Targets` unboxed, as for `Log`).
#[allow(clippy::large_enum_variant)]
#[derive(Debug)]
enum Inner {
    Static(Targets),
    Env(Box<EnvFilter>),
}

impl Inner {
    /// Parses `EnvFilter` directives; the error is its parser's message.
    fn parse(directives: &str) -> Result<Inner, String> {
        // Each directive trimmed first: EnvFilter's parser (0.3.23) walks a
        // directive trimmed but cuts the untrimmed one at those positions,
        // so a space after a comma shifts every cut (`info, app=debug`
        // names the target ` ap`) and, before a character of several
        // bytes, panics (found by fuzz/fuzz_targets/filter_directives.rs).
        let trimmed: Vec<&str> = directives
            .split(',')
            .map(str::trim)
            .filter(|d| !d.is_empty())
            .collect();
        let directives = &trimmed.join(",");
        // EnvFilter's parser is the reference: whatever it refuses is an
        // error, whichever filter is built.
        let env = EnvFilter::builder()
            .parse(directives)
            .map_err(|e| e.to_string())?;
        // An empty list means `EnvFilter`'s default (errors only), which an
        // empty `Targets` would not.
        let plain = !directives.trim().is_empty() && !directives.contains(['[', '{', '(']);
        Ok(match directives.trim().parse::<Targets>() {
            Ok(targets) if plain => Inner::Static(targets),
            _ => Inner::Env(Box::new(env)),
        })
    }

    /// The most verbose level the directives enable anywhere.
    fn log_level(&self) -> LevelFilter {
        match self {
            Inner::Static(f) => Layer::<tracing_subscriber::Registry>::max_level_hint(f),
            Inner::Env(f) => Layer::<tracing_subscriber::Registry>::max_level_hint(&**f),
        }
        .unwrap_or(LevelFilter::TRACE)
    }
}

impl StackFilter {
    /// Parses `EnvFilter` directives; the error says what is wrong. Audit
    /// events and spans at INFO are enabled whatever they say (see the
    /// type's documentation).
    pub fn parse(directives: &str) -> Result<Self, String> {
        Ok(StackFilter {
            log: Log::Fixed(Inner::parse(directives)?),
            directives: directives.to_owned(),
            span_level: LevelFilter::INFO,
            audit: true,
            audit_targets: Vec::new(),
            held: LevelFilter::OFF,
            owner: next_owner(),
        })
    }

    /// Enables spans at `level` and above whatever the log directives say
    /// (default INFO; `LevelFilter::OFF` leaves spans to the directives).
    ///
    /// ```
    /// use tracing::level_filters::LevelFilter;
    ///
    /// let filter = warden::StackFilter::parse("warn")?.span_level(LevelFilter::DEBUG);
    /// # drop(filter);
    /// # Ok::<(), String>(())
    /// ```
    pub fn span_level(mut self, level: LevelFilter) -> Self {
        self.span_level = level;
        self
    }

    /// Also enables, at every level, the events whose target is `prefix`
    /// or starts with `prefix::` (an audit layer's own target, as set with
    /// `AuditLayerBuilder::target`).
    ///
    /// ```
    /// let filter = warden::StackFilter::parse("warn")?.audit_target("compliance");
    /// # drop(filter);
    /// # Ok::<(), String>(())
    /// ```
    pub fn audit_target(mut self, prefix: impl Into<String>) -> Self {
        let prefix = prefix.into();
        if prefix != warden_core::AUDIT_TARGET && !self.audit_targets.contains(&prefix) {
            self.audit_targets.push(prefix);
        }
        self
    }

    /// Leaves audit events to the log directives (a stack without an
    /// audit layer).
    ///
    /// ```
    /// let filter = warden::StackFilter::parse("warn")?.without_audit_events();
    /// # drop(filter);
    /// # Ok::<(), String>(())
    /// ```
    pub fn without_audit_events(mut self) -> Self {
        self.audit = false;
        self
    }

    /// Also enables the events the log directives turn down at `level` and
    /// above (default `OFF`: none), marked as held for a request's failure
    /// (`warden_core::internal::mark_event_held`): the log sinks skip them
    /// and [`RequestLines`](crate::request_lines::RequestLines) keeps them
    /// in their request, writing them if it fails. Such call sites are then
    /// asked on each event instead of never.
    ///
    /// ```
    /// use tracing::level_filters::LevelFilter;
    ///
    /// let filter = warden::StackFilter::parse("info")?.held_level(LevelFilter::DEBUG);
    /// # drop(filter);
    /// # Ok::<(), String>(())
    /// ```
    pub fn held_level(mut self, level: LevelFilter) -> Self {
        self.held = level;
        self
    }

    /// The log directives alone: no audit events or spans beyond what they
    /// enable.
    ///
    /// ```
    /// let filter = warden::StackFilter::parse("warn")?.logs_only();
    /// # drop(filter);
    /// # Ok::<(), String>(())
    /// ```
    pub fn logs_only(self) -> Self {
        self.span_level(LevelFilter::OFF).without_audit_events()
    }

    /// The most verbose level the log directives enable anywhere (what a
    /// bridge from the `log` crate needs to let through).
    ///
    /// ```
    /// use tracing::level_filters::LevelFilter;
    ///
    /// let filter = warden::StackFilter::parse("warn,my_app=debug")?;
    /// assert_eq!(filter.log_level(), LevelFilter::DEBUG);
    /// # Ok::<(), String>(())
    /// ```
    pub fn log_level(&self) -> LevelFilter {
        match &self.log {
            Log::Fixed(inner) => inner.log_level(),
            Log::Live(live) => live.current().log_level(),
        }
    }

    /// Whether the log directives decide per call site only (`Targets`).
    pub fn is_static(&self) -> bool {
        match &self.log {
            Log::Fixed(inner) => matches!(inner, Inner::Static(_)),
            Log::Live(live) => !live.is_env(),
        }
    }

    /// The same filter, with directives that can be changed while it runs
    /// through the handle (`WardenGuard::set_filter`, `PUT /filter` on the
    /// ops endpoint): a change applies to call sites already seen, and is
    /// written to the audit trail as a `CONFIG_CHANGE` record when the
    /// filter keeps audit events. An event costs a load of one flag more
    /// than with fixed directives (`benches/filter.rs`).
    ///
    /// ```
    /// use tracing_subscriber::prelude::*;
    ///
    /// let (filter, handle) = warden::StackFilter::parse("info")?.logs_only().reloadable();
    /// let subscriber = tracing_subscriber::registry().with(filter);
    /// tracing::subscriber::with_default(subscriber, || {
    ///     assert!(!tracing::enabled!(tracing::Level::DEBUG));
    ///     let change = handle.set("info,my_app=debug").unwrap();
    ///     assert_eq!((change.old.as_str(), change.new.as_str()), ("info", "info,my_app=debug"));
    ///     assert!(tracing::enabled!(target: "my_app", tracing::Level::DEBUG));
    ///     // A bad directive changes nothing and says why.
    ///     assert!(handle.set("info,my_app=loud").is_err());
    ///     assert_eq!(handle.directives(), "info,my_app=debug");
    /// });
    /// # Ok::<(), String>(())
    /// ```
    pub fn reloadable(mut self) -> (StackFilter, FilterHandle) {
        let live = match self.log {
            Log::Live(live) => live,
            Log::Fixed(inner) => Arc::new(Live::new(
                inner,
                self.directives.clone(),
                self.audit,
                self.owner,
            )),
        };
        self.log = Log::Live(Arc::clone(&live));
        (self, FilterHandle::new(live))
    }

    /// Whether an event with `target` is an audit event: its target is
    /// `audit`, an added audit target, or a path below one.
    #[inline]
    fn is_audit_target(&self, target: &str) -> bool {
        // Most events' targets are not audit targets: their first byte
        // says so, unless the application added targets of its own.
        if !self.audit
            || (target.as_bytes().first() != Some(&b'a') && self.audit_targets.is_empty())
        {
            return false;
        }
        target_is_under(target, warden_core::AUDIT_TARGET)
            || self
                .audit_targets
                .iter()
                .any(|t| target_is_under(target, t))
    }
}

/// Whether `target` is `prefix` or a path below it (`app::db` under `app`,
/// not `apple`): how the filter, the flood limit and the request lines
/// match audit and per-target settings.
#[inline]
pub(crate) fn target_is_under(target: &str, prefix: &str) -> bool {
    target
        .strip_prefix(prefix)
        .is_some_and(|rest| rest.is_empty() || rest.starts_with("::"))
}

/// Runs `$body` with `$f` the filter the directives make, whichever it is
/// (for live directives, the current one).
macro_rules! each {
    ($self:ident, $f:ident => $body:expr) => {
        match &$self.log {
            Log::Fixed(inner) => each!(@ inner, $f => $body),
            Log::Live(live) => {
                let current = live.current();
                each!(@ &**current, $f => $body)
            }
        }
    };
    (@ $inner:expr, $f:ident => $body:expr) => {
        match $inner {
            Inner::Static($f) => $body,
            Inner::Env($f) => {
                let $f = &**$f;
                $body
            }
        }
    };
}

// A cache, of the directives' answer for each held-level call site: a
// `Targets` answer depends on the call site alone.
thread_local! {
    static TARGETS_SAID: SiteCache<bool, 64> = const { SiteCache::new(false) };
}

impl StackFilter {
    /// The key of the directives' answers in `TARGETS_SAID`, when they are
    /// `Targets` (an `EnvFilter`'s answer depends on the spans entered).
    #[inline]
    fn targets_owner(&self) -> Option<u64> {
        match &self.log {
            Log::Fixed(Inner::Static(_)) => Some(self.owner),
            Log::Fixed(Inner::Env(_)) => None,
            Log::Live(live) => live.targets_owner(),
        }
    }

    /// Whether the directives are an `EnvFilter` now: it alone takes the
    /// span callbacks and judges events by their fields. A live filter
    /// reads one flag to know (a `Targets` one needs nothing more).
    #[inline]
    fn takes_span_callbacks(&self) -> bool {
        match &self.log {
            Log::Fixed(inner) => matches!(inner, Inner::Env(_)),
            Log::Live(live) => live.is_env(),
        }
    }

    /// [`with_env`](Self::with_env) for a span callback, out of line.
    #[cold]
    #[inline(never)]
    fn env_callback(&self, f: impl FnOnce(&EnvFilter)) {
        self.with_env(f);
    }

    /// Runs `f` on the `EnvFilter`, when the directives are one.
    #[inline]
    fn with_env<R>(&self, f: impl FnOnce(&EnvFilter) -> R) -> Option<R> {
        match &self.log {
            Log::Fixed(Inner::Env(env)) => Some(f(env)),
            Log::Fixed(Inner::Static(_)) => None,
            Log::Live(live) => {
                if !live.is_env() {
                    return None;
                }
                match &**live.current() {
                    Inner::Env(env) => Some(f(env)),
                    Inner::Static(_) => None,
                }
            }
        }
    }
}

impl<S> Layer<S> for StackFilter
where
    S: Subscriber + for<'a> LookupSpan<'a>,
{
    fn register_callsite(&self, metadata: &'static Metadata<'static>) -> Interest {
        // The directives first: `EnvFilter` registers the call site for
        // its span and field matching.
        let log = each!(self, f => Layer::<S>::register_callsite(f, metadata));
        if log.is_always() {
            return log;
        }
        if metadata.is_span() && *metadata.level() <= self.span_level {
            return Interest::always();
        }
        if metadata.is_event()
            && (self.is_audit_target(metadata.target()) || *metadata.level() <= self.held)
        {
            // Asked per event, so that `enabled` marks each one the
            // directives turn down for the log sinks.
            return Interest::sometimes();
        }
        log
    }

    fn enabled(&self, metadata: &Metadata<'_>, ctx: Context<'_, S>) -> bool {
        if metadata.is_span() {
            return *metadata.level() <= self.span_level
                || each!(self, f => Layer::<S>::enabled(f, metadata, ctx));
        }
        if self.is_audit_target(metadata.target()) {
            // Enabled for the audit layer whatever the directives say;
            // whether the log sinks write it is theirs to decide. (Only
            // the call sites the directives do not always enable are asked
            // here, per event: the others need no mark.)
            let logged = each!(self, f => Layer::<S>::enabled(f, metadata, ctx));
            mark_event_logged(metadata, logged);
            return true;
        }
        if *metadata.level() <= self.held {
            // Written if the directives say so; else held for the request.
            // `Targets` answers by call site alone: its answer is kept per
            // thread, under a key a change of directives replaces.
            let logged = match self.targets_owner() {
                Some(owner) => {
                    let key = SiteKey::new(owner, std::ptr::from_ref(metadata) as usize);
                    TARGETS_SAID.cached(
                        key,
                        || each!(self, f => Layer::<S>::enabled(f, metadata, ctx)),
                    )
                }
                None => each!(self, f => Layer::<S>::enabled(f, metadata, ctx)),
            };
            if logged {
                mark_event_logged(metadata, true);
            } else {
                mark_event_held(metadata);
            }
            return true;
        }
        each!(self, f => Layer::<S>::enabled(f, metadata, ctx))
    }

    fn max_level_hint(&self) -> Option<LevelFilter> {
        let log = each!(self, f => Layer::<S>::max_level_hint(f))?;
        // Audit events are kept at every level.
        let kept = if self.audit {
            LevelFilter::TRACE
        } else {
            self.span_level
        };
        Some(log.max(kept).max(self.held))
    }

    // No `event_enabled`: `EnvFilter` decides events in `enabled` (its
    // field directives match span fields), and `Targets` per call site.

    fn on_register_dispatch(&self, dispatch: &Dispatch) {
        if let Log::Live(live) = &self.log {
            live.register(dispatch);
        }
    }

    // The span callbacks: only an `EnvFilter` takes them. The check is
    // inlined and the call cold, so that a `Targets` filter (the usual
    // case) costs a load and a test per callback, with no frame.
    #[inline]
    fn on_new_span(&self, attrs: &Attributes<'_>, id: &Id, ctx: Context<'_, S>) {
        if self.takes_span_callbacks() {
            self.env_callback(|f| Layer::<S>::on_new_span(f, attrs, id, ctx));
        }
    }

    #[inline]
    fn on_record(&self, id: &Id, values: &Record<'_>, ctx: Context<'_, S>) {
        if self.takes_span_callbacks() {
            self.env_callback(|f| Layer::<S>::on_record(f, id, values, ctx));
        }
    }

    #[inline]
    fn on_enter(&self, id: &Id, ctx: Context<'_, S>) {
        if self.takes_span_callbacks() {
            self.env_callback(|f| Layer::<S>::on_enter(f, id, ctx));
        }
    }

    #[inline]
    fn on_exit(&self, id: &Id, ctx: Context<'_, S>) {
        if self.takes_span_callbacks() {
            self.env_callback(|f| Layer::<S>::on_exit(f, id, ctx));
        }
    }

    #[inline]
    fn on_close(&self, id: Id, ctx: Context<'_, S>) {
        if self.takes_span_callbacks() {
            self.env_callback(|f| Layer::<S>::on_close(f, id, ctx));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tracing::Event;
    use tracing_subscriber::prelude::*;

    /// Counts the events that reach it.
    #[derive(Clone, Default)]
    struct Count(std::sync::Arc<std::sync::atomic::AtomicUsize>);

    impl<S: Subscriber> Layer<S> for Count {
        fn on_event(&self, _: &Event<'_>, _: Context<'_, S>) {
            self.0.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        }
    }

    fn seen(directives: &str, f: impl FnOnce()) -> usize {
        let count = Count::default();
        let filter = StackFilter::parse(directives).unwrap();
        let subscriber = tracing_subscriber::registry()
            .with(filter)
            .with(count.clone());
        tracing::subscriber::with_default(subscriber, f);
        count.0.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// The events `EnvFilter` itself lets through for `directives`.
    fn seen_by_env_filter(directives: &str, f: impl FnOnce()) -> usize {
        let count = Count::default();
        let subscriber = tracing_subscriber::registry()
            .with(EnvFilter::builder().parse(directives).unwrap())
            .with(count.clone());
        tracing::subscriber::with_default(subscriber, f);
        count.0.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Events of every level under a few targets, one inside a span.
    fn events() {
        tracing::error!(target: "app", "e");
        tracing::warn!(target: "app::db", "w");
        tracing::info!(target: "app::db::pool", "i");
        tracing::debug!(target: "app::web", "d");
        tracing::trace!(target: "other", "t");
        tracing::info!(target: "application", "prefix, not a path");
        let _span = tracing::debug_span!(target: "app::web", "request").entered();
        tracing::debug!(target: "app::web", "inside");
    }

    #[test]
    fn targets_decide_every_plain_directive_list_as_env_filter_does() {
        for directives in [
            "",
            "info",
            "INFO",
            "warn,app=trace",
            "app::db=debug",
            "app",
            "off,app::web=debug",
            "trace,app::db=off",
            "error,application=info",
            "debug,other=trace",
        ] {
            assert_eq!(
                seen(directives, events),
                seen_by_env_filter(directives, events),
                "{directives:?}"
            );
        }
    }

    #[test]
    fn spaces_between_directives_mean_nothing_and_never_panic() {
        assert_eq!(
            seen("info, app=debug", events),
            seen("info,app=debug", events)
        );
        assert_eq!(
            seen(" warn ,\n app=trace ", events),
            seen("warn,app=trace", events)
        );
        // EnvFilter alone panics on these (a cut inside a character);
        // here they are a directive, or refused.
        for directives in [
            "\n\n[{\u{a3}=message/3\u{c9}\u{c9}}]",
            " app[sp\u{e9}n{f\u{e9}=1}]=debug",
            "\t\u{1F600}=info, x[\u{e9}\u{e9}]",
        ] {
            let _ = StackFilter::parse(directives);
        }
    }

    /// Which events reach the layers, and which of them the log sinks
    /// are told to write.
    #[derive(Clone, Default)]
    struct Marks(std::sync::Arc<std::sync::Mutex<Vec<(String, bool)>>>);

    impl<S: Subscriber> Layer<S> for Marks {
        fn on_event(&self, event: &Event<'_>, _: Context<'_, S>) {
            let meta = event.metadata();
            let logged = warden_core::internal::event_logged(meta);
            self.0
                .lock()
                .unwrap()
                .push((meta.name().to_owned(), logged));
        }
    }

    fn marks(directives: &str, f: impl FnOnce()) -> Vec<(String, bool)> {
        let marks = Marks::default();
        let subscriber = tracing_subscriber::registry()
            .with(StackFilter::parse(directives).unwrap())
            .with(marks.clone());
        tracing::subscriber::with_default(subscriber, f);
        marks.0.lock().unwrap().clone()
    }

    #[test]
    fn audit_events_reach_every_layer_and_the_log_sinks_only_as_the_directives_say() {
        let events = || {
            tracing::debug!(name: "audit_debug", target: "audit", action = "a");
            tracing::warn!(name: "audit_warn", target: "audit::billing", action = "b");
            tracing::debug!(name: "plain_debug", target: "app", "not enabled");
            tracing::debug!(name: "auditing_is_not_audit", target: "auditing", "not enabled");
            let _request = tracing::info_span!("request", tenant = "acme").entered();
            tracing::debug!(name: "audit_in_request", target: "audit", action = "c");
        };
        let plain = [
            ("audit_debug".to_owned(), false),
            ("audit_warn".to_owned(), true),
            ("audit_in_request".to_owned(), false),
        ];
        assert_eq!(marks("warn", events), plain);
        // EnvFilter with span directives: inside the request, DEBUG is written.
        let scoped = marks("warn,[request]=debug", events);
        assert_eq!(scoped[..2], plain[..2]);
        assert_eq!(scoped[2], ("audit_in_request".to_owned(), true));
        // Field directives: an audit event they turn down stays the audit layer's.
        let fields = marks("warn,[{tenant=acme}]=debug", events);
        assert_eq!(fields.len(), 3, "{fields:?}");
        assert_eq!(fields[2], ("audit_in_request".to_owned(), true));
        // Without the extras, the directives decide alone.
        let logs_only = {
            let marks = Marks::default();
            let subscriber = tracing_subscriber::registry()
                .with(StackFilter::parse("warn").unwrap().logs_only())
                .with(marks.clone());
            tracing::subscriber::with_default(subscriber, events);
            marks.0.lock().unwrap().clone()
        };
        assert_eq!(logs_only, [("audit_warn".to_owned(), true)]);
    }

    #[test]
    fn both_filters_decide_as_env_filter_does() {
        let events = || {
            tracing::debug!(target: "app::db", "query");
            tracing::debug!(target: "app::web", "request");
            tracing::info!(target: "other", "hello");
            tracing::trace!(target: "other", "noise");
            let _span = tracing::info_span!("request", tenant = "acme").entered();
            tracing::trace!(target: "other", "inside");
        };
        assert!(
            StackFilter::parse("info,app::db=debug")
                .unwrap()
                .is_static()
        );
        assert_eq!(seen("info,app::db=debug", events), 2);
        assert_eq!(seen("warn", events), 0);
        assert_eq!(seen("trace", events), 5);
        assert_eq!(seen("off", events), 0);
        assert!(!StackFilter::parse("").unwrap().is_static());
        assert_eq!(seen("app::db=debug", events), 1);
        let scoped = "info,[request{tenant=acme}]=trace";
        assert!(!StackFilter::parse(scoped).unwrap().is_static());
        assert_eq!(seen(scoped, events), 2);
    }

    /// Held-level events are enabled and marked held while the directives
    /// turn them down, and written (not held) once a change lets them
    /// through: the per-thread answers of the old directives are not used.
    #[test]
    fn held_events_are_marked_until_a_change_lets_them_through() {
        #[derive(Clone, Default)]
        struct Held(std::sync::Arc<std::sync::Mutex<Vec<(bool, bool)>>>);
        impl<S: Subscriber> Layer<S> for Held {
            fn on_event(&self, event: &Event<'_>, _: Context<'_, S>) {
                let meta = event.metadata();
                let marks = (
                    warden_core::internal::event_logged(meta),
                    warden_core::internal::event_held(meta),
                );
                self.0.lock().unwrap().push(marks);
            }
        }
        let (filter, handle) = StackFilter::parse("info")
            .unwrap()
            .logs_only()
            .held_level(LevelFilter::DEBUG)
            .reloadable();
        let seen = Held::default();
        let subscriber = tracing_subscriber::registry()
            .with(filter)
            .with(seen.clone());
        let debug = || tracing::debug!(target: "app::db", "query");
        tracing::subscriber::with_default(subscriber, || {
            debug();
            debug();
            tracing::trace!(target: "app::db", "below the held level");
            handle.set("info,app::db=debug").unwrap();
            debug();
            handle.set("info").unwrap();
            debug();
        });
        let held = (false, true);
        let logged = (true, false);
        assert_eq!(*seen.0.lock().unwrap(), [held, held, logged, held]);
    }
}
