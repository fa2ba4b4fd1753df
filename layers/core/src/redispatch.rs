//! Which event in flight is a sanitized copy the PII gate dispatched in
//! place of the original: the gate lets exactly that event through, and a
//! part that counts events (the flood limit) does not count it again.

use std::cell::Cell;

use tracing_core::Event;

// Not a cache or a pool: a mark between a layer and its own dispatch.
thread_local! {
    /// The address of the copy this thread is dispatching now (0: none).
    static COPY: Cell<usize> = const { Cell::new(0) };
}

#[inline]
fn address(event: &Event<'_>) -> usize {
    std::ptr::from_ref(event) as usize
}

/// Runs `dispatch` (which dispatches `copy`) with `copy` marked as the
/// copy of an event already counted, and the mark before restored after.
pub fn dispatching_copy<R>(copy: &Event<'_>, dispatch: impl FnOnce() -> R) -> R {
    struct Restore(usize);
    impl Drop for Restore {
        fn drop(&mut self) {
            let previous = self.0;
            let _ = COPY.try_with(|c| c.set(previous));
        }
    }
    let previous = COPY.try_with(|c| c.replace(address(copy))).unwrap_or(0);
    let _restore = Restore(previous);
    dispatch()
}

/// Whether `event` is the copy being dispatched ([`dispatching_copy`]).
#[inline]
pub fn is_copy(event: &Event<'_>) -> bool {
    COPY.try_with(Cell::get)
        .is_ok_and(|copy| copy == address(event))
}
