//! A reusable string per thread, for text a layer builds and copies out.

use crate::cache::{LocalPool, Pool};

/// Strings that grew past this (a 10 MB field) are not kept.
const KEEP_AT_MOST: usize = 64 * 1024;

thread_local! {
    /// Enough for the deepest nesting warden's layers use at once (a line
    /// and its fields, inside a value's `Debug` that logs).
    static SCRATCH: Pool<String> = const { Pool::new(4) };
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
}
