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

use tracing_core::Metadata;

// Not a cache or a pool: a mark between two layers of one dispatch.
thread_local! {
    /// The call site of the last event the log filter turned down, as an
    /// address (0: none).
    static UNLOGGED: Cell<usize> = const { Cell::new(0) };
}

#[inline]
fn address(meta: &Metadata<'_>) -> usize {
    std::ptr::from_ref(meta) as usize
}

/// Records whether the log filter lets the event of call site `meta`,
/// now being dispatched on this thread, through to the log sinks.
/// [`event_logged`] reads it.
#[inline]
pub fn mark_event_logged(meta: &Metadata<'_>, logged: bool) {
    let value = if logged { 0 } else { address(meta) };
    let _ = UNLOGGED.try_with(|cell| cell.set(value));
}

/// Whether a log sink should write the event of call site `meta` now being
/// dispatched: false only if the stack's filter said its log directives
/// turn it down.
#[inline]
pub fn event_logged(meta: &Metadata<'_>) -> bool {
    UNLOGGED
        .try_with(|cell| cell.get() != address(meta))
        .unwrap_or(true)
}

#[cfg(test)]
mod tests {
    use super::*;
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
        mark_event_logged(&META_A, false);
        std::thread::spawn(|| assert!(event_logged(&META_A)))
            .join()
            .unwrap();
        assert!(!event_logged(&META_A));
    }
}
