//! A reusable string per thread, for text a layer builds and copies out.

use std::cell::RefCell;

use crate::cache::{LocalPool, Pool};

/// Strings that grew past this (a 10 MB field) are not kept.
const KEEP_AT_MOST: usize = 64 * 1024;

thread_local! {
    /// Enough for the deepest nesting warden's layers use at once (a line
    /// and its fields, inside a value's `Debug` that logs).
    static SCRATCH: Pool<String, 4> = const { Pool::new() };
    /// [`with_scratch_pair`]'s strings, borrowed in place.
    static PAIR: RefCell<(String, String)> = const { RefCell::new((String::new(), String::new())) };
}

/// Runs `f` with an empty string: one of the thread's reusable ones, or a
/// fresh one if those are in use (a `Debug` implementation that logs while
/// it is formatted), so the steady state allocates nothing.
///
/// ```
/// let len = warden_core::internal::with_scratch(|buf| {
///     buf.push_str("abc");
///     buf.len()
/// });
/// assert_eq!(len, 3);
/// ```
pub fn with_scratch<R>(f: impl FnOnce(&mut String) -> R) -> R {
    let mut buf = SCRATCH.take_one().unwrap_or_default();
    buf.clear();
    let result = f(&mut buf);
    if buf.capacity() <= KEEP_AT_MOST {
        SCRATCH.give_back(buf);
    }
    result
}

/// [`with_scratch`] with two strings at once (a line and the text of its
/// fields): the thread's pair, used where it lies, or two from the pool
/// when the pair is in use (a value's `Debug` that logs while a line is
/// written).
///
/// ```
/// let joined = warden_core::internal::with_scratch_pair(|a, b| {
///     a.push_str("line");
///     b.push_str("fields");
///     format!("{a} {b}")
/// });
/// assert_eq!(joined, "line fields");
/// ```
pub fn with_scratch_pair<R>(mut f: impl FnMut(&mut String, &mut String) -> R) -> R {
    // Not the pool: a line is the hot path, and a pair borrowed in place
    // moves no string in or out (about 90 instructions a line less,
    // measured with `scripts/instructions json/event/warden_json`). `f` is
    // `FnMut` so that it is still there for the pool when the pair is not.
    let done = PAIR.try_with(|pair| {
        let mut pair = pair.try_borrow_mut().ok()?;
        let (a, b) = &mut *pair;
        a.clear();
        b.clear();
        let result = f(a, b);
        for buf in [a, b] {
            if buf.capacity() > KEEP_AT_MOST {
                *buf = String::new();
            }
        }
        Some(result)
    });
    if let Ok(Some(result)) = done {
        return result;
    }
    let (a, b) = SCRATCH
        .try_with(|pool| (pool.take(), pool.take()))
        .unwrap_or_default();
    let (mut a, mut b) = (a.unwrap_or_default(), b.unwrap_or_default());
    a.clear();
    b.clear();
    let result = f(&mut a, &mut b);
    let _ = SCRATCH.try_with(|pool| {
        for buf in [a, b] {
            if buf.capacity() <= KEEP_AT_MOST {
                pool.give(buf);
            }
        }
    });
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nested_use_gets_a_string_of_its_own() {
        let outer = with_scratch(|a| {
            a.push_str("outer");
            let inner = with_scratch(|b| {
                b.push_str("inner");
                b.clone()
            });
            format!("{a}/{inner}")
        });
        assert_eq!(outer, "outer/inner");
        with_scratch(|buf| assert!(buf.is_empty()));
    }

    #[test]
    fn a_nested_pair_comes_from_the_pool_and_both_come_back_empty() {
        let outer = with_scratch_pair(|a, b| {
            a.push_str("line");
            b.push_str("fields");
            let inner = with_scratch_pair(|c, d| {
                assert!(c.is_empty() && d.is_empty());
                c.push_str("inner");
                format!("{c}{d}")
            });
            format!("{a}/{b}/{inner}")
        });
        assert_eq!(outer, "line/fields/inner");
        with_scratch_pair(|a, b| assert!(a.is_empty() && b.is_empty()));
        // A string that grew past the bound is not kept.
        with_scratch_pair(|a, _| a.push_str(&"x".repeat(KEEP_AT_MOST + 1)));
        PAIR.with(|pair| assert!(pair.borrow().0.capacity() <= KEEP_AT_MOST));
    }
}
