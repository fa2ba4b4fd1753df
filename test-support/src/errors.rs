//! Errors with a `source()` chain, for the tests of every layer.

use std::error::Error;
use std::fmt;

use warden_core::ErrorChain;

/// An error whose chain has these messages, outermost first.
///
/// Panics when `messages` is empty.
pub fn chained<const N: usize>(messages: [&str; N]) -> ErrorChain {
    ErrorChain::from_messages(messages.map(str::to_owned)).expect("at least one message")
}

/// An error whose `source()` is itself: a chain that never ends unless the
/// walker stops it.
#[derive(Debug)]
pub struct Cyclic(pub &'static str);

impl fmt::Display for Cyclic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0)
    }
}

impl Error for Cyclic {
    fn source(&self) -> Option<&(dyn Error + 'static)> {
        Some(self)
    }
}
