//! Walking an error's `source()` chain, bounded.

use std::error::Error;

/// The most links [`error_chain`] yields. A chain longer than this (or a
/// cyclic one, whose `source()` leads back to itself) is cut here, so that
/// no layer can loop forever inside the application's logging call.
pub const MAX_ERROR_CHAIN: usize = 64;

/// An error, then each of its `source()`s in turn, at most
/// [`MAX_ERROR_CHAIN`] links in all.
///
/// Every warden layer that prints, sanitizes, stores or exports an error
/// walks its chain with this iterator, so a cyclic chain ends everywhere.
///
/// ```
/// use std::{error::Error, fmt};
/// use warden_core::{error_chain, MAX_ERROR_CHAIN};
///
/// /// An error whose source is itself.
/// #[derive(Debug)]
/// struct Cyclic;
/// impl fmt::Display for Cyclic {
///     fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
///         f.write_str("again")
///     }
/// }
/// impl Error for Cyclic {
///     fn source(&self) -> Option<&(dyn Error + 'static)> {
///         Some(self)
///     }
/// }
///
/// assert_eq!(error_chain(&Cyclic).count(), MAX_ERROR_CHAIN);
/// let io = std::io::Error::other("disk full");
/// let texts: Vec<String> = error_chain(&io).map(|e| e.to_string()).collect();
/// assert_eq!(texts, ["disk full"]);
/// ```
pub fn error_chain<'a>(error: &'a (dyn Error + 'static)) -> ErrorChainIter<'a> {
    ErrorChainIter {
        next: Some(error),
        left: MAX_ERROR_CHAIN,
    }
}

/// The iterator [`error_chain`] returns.
#[derive(Clone, Debug)]
pub struct ErrorChainIter<'a> {
    next: Option<&'a (dyn Error + 'static)>,
    left: usize,
}

impl<'a> Iterator for ErrorChainIter<'a> {
    type Item = &'a (dyn Error + 'static);

    fn next(&mut self) -> Option<Self::Item> {
        if self.left == 0 {
            return None;
        }
        let current = self.next?;
        self.left -= 1;
        self.next = current.source();
        Some(current)
    }
}

impl std::iter::FusedIterator for ErrorChainIter<'_> {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn yields_the_error_then_its_sources() {
        let e = warden_test_support::chained(["outer", "inner"]);
        let texts: Vec<String> = error_chain(&e).map(|e| e.to_string()).collect();
        assert_eq!(texts, ["outer", "inner"]);
    }
}
