//! Log directives changed while the stack runs: [`FilterHandle`], the
//! other end of [`StackFilter::reloadable`](super::StackFilter::reloadable).
//!
//! The current filter sits behind an `ArcSwap`: an event or a call site
//! asks it without a lock, and a change swaps it whole. `Targets`
//! directives decide per call site, so a change rebuilds tracing's
//! interest cache (every call site already seen is asked again) before it
//! returns; until then an event may still be decided by the old
//! directives, never by neither.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};

use arc_swap::{ArcSwap, Guard};
use tracing::dispatcher::WeakDispatch;
use tracing::{Dispatch, Level};

use super::Inner;

/// What a [`FilterHandle`] changes: the filter of one stack.
pub(super) struct Live {
    current: ArcSwap<Inner>,
    /// Whether `current` is an `EnvFilter`, read before it on each span
    /// callback and event: a `Targets` filter needs none of them.
    env: AtomicBool,
    /// The directives as given; the lock also makes changes one at a time.
    directives: Mutex<String>,
    /// The stack, to write each change to its audit trail (weak: the
    /// subscriber owns the filter).
    dispatch: OnceLock<WeakDispatch>,
    /// Whether the stack keeps audit events (then changes are recorded).
    audit: bool,
    /// Whether the `log` crate's bridge was installed with the stack (its
    /// own maximum level then follows the directives).
    log_bridge: AtomicBool,
    /// The key of the current directives' cached answers (a new one at
    /// each change, so that no answer of the old ones is used).
    owner: AtomicU64,
}

impl std::fmt::Debug for Live {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Live")
            .field("directives", &self.directives())
            .field("audit", &self.audit)
            .finish_non_exhaustive()
    }
}

impl Live {
    pub(super) fn new(inner: Inner, directives: String, audit: bool, owner: u64) -> Live {
        Live {
            owner: AtomicU64::new(owner),
            env: AtomicBool::new(matches!(inner, Inner::Env(_))),
            current: ArcSwap::from_pointee(inner),
            directives: Mutex::new(directives),
            dispatch: OnceLock::new(),
            audit,
            log_bridge: AtomicBool::new(false),
        }
    }

    /// The current filter.
    #[inline]
    pub(super) fn current(&self) -> Guard<Arc<Inner>> {
        self.current.load()
    }

    /// Whether the current filter is an `EnvFilter`.
    #[inline]
    pub(super) fn is_env(&self) -> bool {
        self.env.load(Ordering::Acquire)
    }

    /// The key of the current directives' cached answers, when they are
    /// `Targets`.
    #[inline]
    pub(super) fn targets_owner(&self) -> Option<u64> {
        if self.is_env() {
            return None;
        }
        Some(self.owner.load(Ordering::Acquire))
    }

    /// Keeps the stack the filter is part of, for the audit records.
    pub(super) fn register(&self, dispatch: &Dispatch) {
        let _ = self.dispatch.set(dispatch.downgrade());
    }

    fn directives(&self) -> String {
        match self.directives.lock() {
            Ok(text) => text.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

    /// Asks every call site's interest again. As the stack's own
    /// dispatcher: when it is the only one registered, tracing asks the
    /// calling thread's default, which on a thread outside the stack's
    /// scope (the ops server's, another test's) is no subscriber at all,
    /// and would turn every call site off.
    fn rebuild_interest(&self) {
        match self.dispatch.get().and_then(WeakDispatch::upgrade) {
            Some(dispatch) => {
                tracing::dispatcher::with_default(
                    &dispatch,
                    tracing::callsite::rebuild_interest_cache,
                );
            }
            None => tracing::callsite::rebuild_interest_cache(),
        }
    }

    /// Writes a change, or a refused one, to the stack's audit trail.
    fn record(&self, who: &str, old: &str, new: &str, refused: Option<&str>) {
        if !self.audit {
            return;
        }
        let Some(dispatch) = self.dispatch.get().and_then(WeakDispatch::upgrade) else {
            return;
        };
        let outcome = if refused.is_some() {
            "failure"
        } else {
            "success"
        };
        tracing::dispatcher::with_default(&dispatch, || {
            tracing::event!(
                target: warden_core::AUDIT_TARGET,
                Level::INFO,
                event_type = "CONFIG_CHANGE",
                action = "set_filter",
                resource_id = "log_filter",
                user_id = who,
                outcome,
                old_filter = old,
                new_filter = new,
                error_message = refused,
            );
        });
    }
}

/// Changes the log directives of a running stack's [`StackFilter`](super::StackFilter)
/// (from [`StackFilter::reloadable`](super::StackFilter::reloadable); the
/// `init()` stack's is behind `WardenGuard::set_filter` and the ops
/// endpoint's `PUT /filter`). Cheap to clone; every clone changes the
/// same filter.
///
/// A change applies to call sites already seen (tracing's interest cache
/// is rebuilt before [`set`](Self::set) returns), keeps what the filter
/// adds whatever the directives say (audit events, spans at its span
/// level), and, when the stack keeps audit events, is written to the audit
/// trail as a `CONFIG_CHANGE` record with who asked, the old directives and
/// the new. Directives the parser refuses change nothing: the error is
/// its message (and the refusal is recorded too). It works beside
/// per-layer filters, which `tracing_subscriber::reload` does not
/// (tokio-rs/tracing#1629): it swaps the directives, not a layer.
#[derive(Clone, Debug)]
pub struct FilterHandle {
    live: Arc<Live>,
}

/// What a [`FilterHandle::set`] changed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FilterChange {
    /// The directives before.
    pub old: String,
    /// The directives now.
    pub new: String,
}

/// Why directives were not applied.
#[derive(Debug, thiserror::Error, Clone, PartialEq, Eq)]
pub enum FilterError {
    /// The parser refused them; nothing changed.
    #[error("invalid filter directives {directives:?}: {reason}")]
    Invalid {
        /// The directives refused.
        directives: String,
        /// The parser's message.
        reason: String,
    },
}

impl FilterHandle {
    pub(super) fn new(live: Arc<Live>) -> FilterHandle {
        FilterHandle { live }
    }

    /// The directives in force.
    ///
    /// ```
    /// let (_filter, handle) = warden::StackFilter::parse("warn,my_app=debug")?.reloadable();
    /// assert_eq!(handle.directives(), "warn,my_app=debug");
    /// # Ok::<(), String>(())
    /// ```
    pub fn directives(&self) -> String {
        self.live.directives()
    }

    /// Applies `directives` (`EnvFilter`'s syntax), recorded as asked by
    /// the application itself.
    ///
    /// ```
    /// let (_filter, handle) = warden::StackFilter::parse("info")?.reloadable();
    /// let change = handle.set("debug").unwrap();
    /// assert_eq!(change.new, "debug");
    /// let refused = handle.set("debug,=").unwrap_err();
    /// assert!(refused.to_string().contains("debug,="), "{refused}");
    /// # Ok::<(), String>(())
    /// ```
    pub fn set(&self, directives: &str) -> Result<FilterChange, FilterError> {
        self.set_by(directives, "application")
    }

    /// Applies `directives`, recorded as asked by `who` (a user, a
    /// service account, `ops 127.0.0.1:50123`).
    ///
    /// ```
    /// let (_filter, handle) = warden::StackFilter::parse("info")?.reloadable();
    /// handle.set_by("info,sqlx=warn", "alice").unwrap();
    /// assert_eq!(handle.directives(), "info,sqlx=warn");
    /// # Ok::<(), String>(())
    /// ```
    pub fn set_by(&self, directives: &str, who: &str) -> Result<FilterChange, FilterError> {
        let live = &self.live;
        let mut text = match live.directives.lock() {
            Ok(text) => text,
            Err(poisoned) => poisoned.into_inner(),
        };
        let inner = match Inner::parse(directives) {
            Ok(inner) => inner,
            Err(reason) => {
                let old = text.clone();
                drop(text);
                live.record(who, &old, directives, Some(&reason));
                return Err(FilterError::Invalid {
                    directives: directives.to_owned(),
                    reason,
                });
            }
        };
        let env = matches!(inner, Inner::Env(_));
        let log_level = inner.log_level();
        live.current.store(Arc::new(inner));
        live.env.store(env, Ordering::Release);
        live.owner
            .store(warden_core::internal::next_owner(), Ordering::Release);
        let old = std::mem::replace(&mut *text, directives.to_owned());
        // Every call site already seen is asked again (and tracing's
        // maximum level recomputed) before this returns; the lock keeps
        // two changes from interleaving their rebuilds.
        // A call site the new directives always enable is no longer asked
        // about, and would keep the mark the old ones gave its last event.
        warden_core::internal::forget_marks();
        live.rebuild_interest();
        if live.log_bridge.load(Ordering::Relaxed) {
            set_log_max_level(log_level);
        }
        drop(text);
        live.record(who, &old, directives, None);
        Ok(FilterChange {
            old,
            new: directives.to_owned(),
        })
    }

    /// Makes the `log` crate's maximum level follow the directives (the
    /// bridge `init()` installs is capped at the level it started with).
    #[cfg_attr(not(feature = "log"), allow(dead_code))]
    pub(crate) fn follow_log_bridge(&self) {
        self.live.log_bridge.store(true, Ordering::Relaxed);
    }
}

/// The `log` crate's level filter for a tracing one.
#[cfg(feature = "log")]
pub(crate) fn log_level_filter(
    level: tracing::level_filters::LevelFilter,
) -> tracing_log::log::LevelFilter {
    use tracing_log::log::LevelFilter as Log;
    match level.into_level() {
        None => Log::Off,
        Some(Level::ERROR) => Log::Error,
        Some(Level::WARN) => Log::Warn,
        Some(Level::INFO) => Log::Info,
        Some(Level::DEBUG) => Log::Debug,
        Some(Level::TRACE) => Log::Trace,
    }
}

/// Moves the `log` crate's maximum level.
#[cfg(feature = "log")]
fn set_log_max_level(level: tracing::level_filters::LevelFilter) {
    tracing_log::log::set_max_level(log_level_filter(level));
}

#[cfg(not(feature = "log"))]
fn set_log_max_level(_: tracing::level_filters::LevelFilter) {}
