//! Helpers for this crate's unit tests.

use std::error::Error;
use std::fmt;

/// An error with a fixed message and an I/O error as its source.
#[derive(Debug)]
pub(crate) struct Chained(pub(crate) &'static str, pub(crate) std::io::Error);

impl fmt::Display for Chained {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0)
    }
}

impl Error for Chained {
    fn source(&self) -> Option<&(dyn Error + 'static)> {
        Some(&self.1)
    }
}
