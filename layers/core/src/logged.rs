//! Which event in flight the log filter turned down.
//!
//! A warden stack's filter (`warden::StackFilter`) enables more than the
//! log directives say: audit events at any level, for the audit layer, and
//! the spans that metrics time and correlation IDs ride on. The log sinks
//! (JSON lines, OTLP log records) must still write only what the
//! directives let through. The filter decides that for each audit event
//! the directives do not always enable, when it is asked whether the event
//! is enabled, and leaves its answer here for the sinks' `on_event`, which
//! runs on the same thread right after. Other events cost nothing here.
//!
//! The mark names the event's call site, so a sink never applies it to
//! another call site's event; only audit call sites are ever marked, and
//! each of their events is marked afresh. (Two limits, both about an audit
//! call site the directives turn down: an audit event logged from inside
//! its field expressions is asked about in between and may clear the
//! mark, so that one line is written; and a stack without `StackFilter` on
//! the same thread, writing with warden's sinks, skips that call site's
//! events after the other stack marked one.)

use std::cell::Cell;
use std::sync::atomic::{AtomicU64, Ordering};

use tracing_core::Metadata;

// Not a cache or a pool: a mark between two layers of one dispatch.
thread_local! {
    /// The call site of the last event the log filter turned down, as an
    /// address (0: none), and the epoch it was marked in.
    static UNLOGGED: Cell<(usize, u64)> = const { Cell::new((0, 0)) };
}

/// Whether any stack samples requests (`WardenSpan::set_kept`): until
/// one does, an exporter does not look for a span's request verdict.
static SAMPLING: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// Says that a stack samples requests (once, when it is built).
pub fn sampling_started() {
    SAMPLING.store(true, Ordering::Release);
}

/// Whether any stack samples requests.
#[inline]
pub fn sampling_on() -> bool {
    SAMPLING.load(Ordering::Relaxed)
}

/// Marks of an earlier epoch are not read: a change of the log directives
/// starts a new one ([`forget_marks`]), since a call site marked before
/// it may no longer be asked about (and so marked afresh) after it.
static EPOCH: AtomicU64 = AtomicU64::new(0);

/// Makes every mark made so far, on every thread, count as none: for a
/// change of the log directives, after which a call site they now always
/// enable is no longer asked about, and would keep its last mark.
pub fn forget_marks() {
    EPOCH.fetch_add(1, Ordering::Release);
}

/// The mark for the event now being dispatched, if one of this epoch.
#[inline]
fn current_mark() -> usize {
    match UNLOGGED.try_with(Cell::get) {
        Ok((mark, epoch)) if epoch == EPOCH.load(Ordering::Acquire) => mark,
        _ => 0,
    }
}

#[inline]
fn set_mark(mark: usize) {
    let epoch = EPOCH.load(Ordering::Acquire);
    let _ = UNLOGGED.try_with(|cell| cell.set((mark, epoch)));
}

#[inline]
fn address(meta: &Metadata<'_>) -> usize {
    std::ptr::from_ref(meta) as usize
}

/// The low bit of a mark: the event is *held* (below the log directives,
/// at or above the level a request keeps for its failure), not an audit
/// event. Metadata is aligned, so the bit is free.
const HELD: usize = 1;

// Not a cache or a pool: what a replay of held events tells the sinks.
thread_local! {
    /// While held events are written again: the wall-clock time of the
    /// one being written, as time since the Unix epoch.
    static REPLAYING: Cell<Option<std::time::Duration>> = const { Cell::new(None) };
}

/// Marks the event of call site `meta`, now being dispatched on this
/// thread, as one the log directives turn down but a request holds for
/// its failure: the sinks skip it ([`event_logged`] is false) and the
/// part that holds request lines takes it ([`event_held`]).
#[inline]
pub fn mark_event_held(meta: &Metadata<'_>) {
    set_mark(address(meta) | HELD);
}

/// Whether the event of call site `meta` now being dispatched was marked
/// held ([`mark_event_held`]).
#[inline]
pub fn event_held(meta: &Metadata<'_>) -> bool {
    current_mark() == address(meta) | HELD
}

/// The mark while held events are written again ([`replaying`]): no
/// call site's address (it is odd and all ones).
const REPLAY: usize = usize::MAX;

/// Runs `write` (which dispatches a held event again) with the sinks told
/// that the event is a held one written late: its time is `at` (since the
/// Unix epoch), it is to be written whatever mark it had, and lines say
/// `"buffered": true`.
pub fn replaying<R>(at: std::time::Duration, write: impl FnOnce() -> R) -> R {
    let epoch = EPOCH.load(Ordering::Acquire);
    let mark = UNLOGGED
        .try_with(|cell| cell.replace((REPLAY, epoch)))
        .unwrap_or((0, 0));
    let before = REPLAYING
        .try_with(|cell| cell.replace(Some(at)))
        .ok()
        .flatten();
    let out = write();
    let _ = REPLAYING.try_with(|cell| cell.set(before));
    let _ = UNLOGGED.try_with(|cell| cell.set(mark));
    out
}

/// How a log sink writes the event now being dispatched.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Written {
    /// Not at all: the stack's filter turned it down (the audit layer's
    /// alone, or held for its request's failure).
    Not,
    /// Now, as usual.
    Now,
    /// Late: a request's held line, written with its own time (since the
    /// Unix epoch) and marked `buffered`.
    Late(std::time::Duration),
}

/// How a log sink writes the event of call site `meta` now being
/// dispatched: [`event_logged`] and [`replayed_at`] in one read of the
/// mark, for the sinks' hot path.
#[inline]
pub fn written(meta: &Metadata<'_>) -> Written {
    match current_mark() {
        REPLAY => match replayed_at() {
            Some(at) => Written::Late(at),
            None => Written::Now,
        },
        mark if mark & !HELD == address(meta) => Written::Not,
        _ => Written::Now,
    }
}

/// While a held event is written again ([`replaying`]): its time, since
/// the Unix epoch.
#[inline]
pub fn replayed_at() -> Option<std::time::Duration> {
    REPLAYING.try_with(Cell::get).ok().flatten()
}

/// Records whether the log filter lets the event of call site `meta`,
/// now being dispatched on this thread, through to the log sinks.
/// [`event_logged`] reads it.
#[inline]
pub fn mark_event_logged(meta: &Metadata<'_>, logged: bool) {
    set_mark(if logged { 0 } else { address(meta) });
}

/// Whether a log sink should write the event of call site `meta` now being
/// dispatched: false only if the stack's filter said its log directives
/// turn it down (for the audit layer, or held for a request's failure).
#[inline]
pub fn event_logged(meta: &Metadata<'_>) -> bool {
    current_mark() & !HELD != address(meta)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The epoch is global: a test that starts a new one would blank the
    /// marks another test just made.
    static ONE_AT_A_TIME: std::sync::Mutex<()> = std::sync::Mutex::new(());
    use tracing_core::{Callsite, Interest, Level, metadata::Kind};

    struct Site(u8);
    static A: Site = Site(0);
    static B: Site = Site(1);
    static META_A: Metadata<'static> = tracing_core::metadata! {
        name: "a", target: "audit", level: Level::DEBUG, fields: &[],
        callsite: &A, kind: Kind::EVENT,
    };
    static META_B: Metadata<'static> = tracing_core::metadata! {
        name: "b", target: "audit", level: Level::DEBUG, fields: &[],
        callsite: &B, kind: Kind::EVENT,
    };

    impl Callsite for Site {
        fn set_interest(&self, _: Interest) {}
        fn metadata(&self) -> &Metadata<'_> {
            if self.0 == 0 { &META_A } else { &META_B }
        }
    }

    #[test]
    fn a_mark_applies_to_its_own_call_site_only() {
        let _one_at_a_time = ONE_AT_A_TIME.lock().unwrap_or_else(|p| p.into_inner());
        assert!(event_logged(&META_A), "nothing marked yet");
        mark_event_logged(&META_A, false);
        assert!(!event_logged(&META_A));
        assert!(event_logged(&META_B), "another call site is not touched");
        mark_event_logged(&META_A, true);
        assert!(event_logged(&META_A));
        mark_event_logged(&META_B, false);
        assert!(event_logged(&META_A));
        assert!(!event_logged(&META_B));
    }

    #[test]
    fn each_thread_has_its_own_mark() {
        let _one_at_a_time = ONE_AT_A_TIME.lock().unwrap_or_else(|p| p.into_inner());
        mark_event_logged(&META_A, false);
        std::thread::spawn(|| assert!(event_logged(&META_A)))
            .join()
            .unwrap();
        assert!(!event_logged(&META_A));
    }

    #[test]
    fn a_held_event_is_no_sink_s_and_a_replay_writes_it_with_its_time() {
        let _one_at_a_time = ONE_AT_A_TIME.lock().unwrap_or_else(|p| p.into_inner());
        mark_event_held(&META_A);
        assert!(!event_logged(&META_A) && event_held(&META_A));
        assert!(event_logged(&META_B) && !event_held(&META_B));
        // An audit mark is not a held one.
        mark_event_logged(&META_B, false);
        assert!(!event_logged(&META_B) && !event_held(&META_B));
        mark_event_held(&META_A);
        let at = std::time::Duration::from_secs(1_700_000_000);
        assert_eq!(replayed_at(), None);
        let inside = replaying(at, || {
            (event_logged(&META_A), event_held(&META_A), replayed_at())
        });
        assert_eq!(inside, (true, false, Some(at)));
        // The mark and the note are as they were after.
        assert!(event_held(&META_A));
        assert_eq!(replayed_at(), None);
    }

    #[test]
    fn a_change_of_directives_forgets_every_mark() {
        let _one_at_a_time = ONE_AT_A_TIME.lock().unwrap_or_else(|p| p.into_inner());
        mark_event_held(&META_A);
        assert!(event_held(&META_A) && !event_logged(&META_A));
        forget_marks();
        assert!(!event_held(&META_A) && event_logged(&META_A));
        mark_event_logged(&META_B, false);
        assert!(!event_logged(&META_B), "a mark made after is read");
    }
}
