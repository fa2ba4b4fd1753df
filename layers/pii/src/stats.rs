//! Counts of what was redacted, by kind.

use std::sync::atomic::{AtomicU64, Ordering};

use crate::{NationalIdScheme, PiiKind};

/// Live counters, one per kind, shared by every clone of a sanitizer.
#[derive(Debug)]
pub(crate) struct Counters {
    counts: Box<[AtomicU64]>,
    /// National identifiers, per scheme (as `NationalIdScheme::ALL`).
    schemes: Box<[AtomicU64]>,
}

impl Counters {
    pub(crate) fn new(kinds: usize) -> Self {
        Counters {
            counts: (0..kinds).map(|_| AtomicU64::new(0)).collect(),
            schemes: NationalIdScheme::ALL
                .iter()
                .map(|_| AtomicU64::new(0))
                .collect(),
        }
    }

    #[inline]
    pub(crate) fn add(&self, kind: usize, n: u64) {
        if let Some(c) = self.counts.get(kind) {
            c.fetch_add(n, Ordering::Relaxed);
        }
    }

    /// Counts a national identifier under the first scheme of `schemes`
    /// (bits of [`NationalIdScheme`]) it validates under, if any.
    pub(crate) fn add_scheme(&self, schemes: u64) {
        if let Some(scheme) = NationalIdScheme::in_set(schemes).next() {
            if let Some(c) = self.schemes.get(scheme as usize) {
                c.fetch_add(1, Ordering::Relaxed);
            }
        }
    }

    pub(crate) fn snapshot(&self, kinds: &[PiiKind]) -> RedactionCounts {
        RedactionCounts {
            counts: kinds
                .iter()
                .cloned()
                .zip(self.counts.iter().map(|c| c.load(Ordering::Relaxed)))
                .collect(),
            schemes: NationalIdScheme::ALL
                .iter()
                .copied()
                .zip(self.schemes.iter().map(|c| c.load(Ordering::Relaxed)))
                .filter(|(_, n)| *n > 0)
                .collect(),
        }
    }
}

/// How many values of each kind were replaced, read at one moment.
///
/// ```
/// use warden_pii::{PiiKind, Sanitizer};
///
/// let s = Sanitizer::default();
/// s.sanitize("ada@example.com called +1 415 555 2671");
/// let counts = s.redactions();
/// assert_eq!(counts.total(), 2);
/// assert_eq!(counts.get(&PiiKind::Phone), 1);
/// let nonzero: Vec<String> = counts.iter().filter(|(_, n)| *n > 0).map(|(k, n)| format!("{k}={n}")).collect();
/// assert_eq!(nonzero, ["EMAIL=1", "PHONE=1"]);
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RedactionCounts {
    counts: Vec<(PiiKind, u64)>,
    /// National identifiers by scheme (those counted at least once).
    schemes: Vec<(NationalIdScheme, u64)>,
}

impl RedactionCounts {
    /// The count for `kind` (0 for a kind the sanitizer does not know).
    pub fn get(&self, kind: &PiiKind) -> u64 {
        self.counts
            .iter()
            .find(|(k, _)| k == kind)
            .map_or(0, |(_, n)| *n)
    }

    /// The count over every kind.
    pub fn total(&self) -> u64 {
        self.counts.iter().map(|(_, n)| n).sum()
    }

    /// How many national identifiers of `scheme` were replaced. A value
    /// taken whole under a key naming an identifier, valid under no scheme,
    /// is counted in [`PiiKind::NationalId`] only.
    ///
    /// ```
    /// use warden_pii::{NationalIdScheme, PiiKind, Sanitizer};
    ///
    /// let s = Sanitizer::default();
    /// s.sanitize("CPF 390.533.447-05, DNI 54362315K, national_id=ABC");
    /// let counts = s.redactions();
    /// assert_eq!(counts.national_id(NationalIdScheme::BrCpf), 1);
    /// assert_eq!(counts.national_id(NationalIdScheme::EsDni), 1);
    /// assert_eq!(counts.get(&PiiKind::NationalId), 3);
    /// ```
    pub fn national_id(&self, scheme: NationalIdScheme) -> u64 {
        self.schemes
            .iter()
            .find(|(s, _)| *s == scheme)
            .map_or(0, |(_, n)| *n)
    }

    /// Every national identifier scheme counted at least once, with its
    /// count.
    pub fn national_ids(&self) -> impl Iterator<Item = (NationalIdScheme, u64)> + '_ {
        self.schemes.iter().copied()
    }

    /// Each kind with its count, built-in kinds first, zeros included.
    pub fn iter(&self) -> impl Iterator<Item = (&PiiKind, u64)> {
        self.counts.iter().map(|(k, n)| (k, *n))
    }
}

impl std::fmt::Display for RedactionCounts {
    /// `EMAIL=2 PHONE=1`: the kinds with a non-zero count.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut first = true;
        for (kind, n) in self.iter().filter(|(_, n)| *n > 0) {
            if !first {
                f.write_str(" ")?;
            }
            write!(f, "{kind}={n}")?;
            first = false;
        }
        Ok(())
    }
}
