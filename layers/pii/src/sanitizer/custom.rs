//! Custom detectors, compiled into one multi-pattern regex pass.

use std::ops::Range;

use regex_automata::meta::Regex;

use super::builder::{BuildError, CustomDetector, PatternError, Validator};
use crate::PiiKind;

/// The custom detectors, compiled into one multi-pattern regex.
pub(super) struct CustomSet {
    regex: Regex,
    /// Per pattern: its kind index and validator.
    patterns: Vec<(usize, Option<Validator>)>,
}

impl CustomSet {
    pub(super) fn new(
        detectors: &[CustomDetector],
        kinds: &[PiiKind],
    ) -> Result<Option<Self>, BuildError> {
        if detectors.is_empty() {
            return Ok(None);
        }
        let patterns: Vec<&str> = detectors.iter().map(|d| d.pattern.as_str()).collect();
        let regex = Regex::new_many(&patterns).map_err(|e| {
            // Name the detector whose pattern failed.
            let name = detectors
                .iter()
                .find(|d| Regex::new(&d.pattern).is_err())
                .map_or_else(|| "?".to_owned(), |d| d.name.to_string());
            BuildError::InvalidPattern {
                name,
                source: PatternError::new(e),
            }
        })?;
        let patterns = detectors
            .iter()
            .map(|d| {
                let index = kinds
                    .iter()
                    .position(|k| *k == PiiKind::Custom(d.name.clone()))
                    .unwrap_or(0);
                (index, d.validator.clone())
            })
            .collect();
        Ok(Some(CustomSet { regex, patterns }))
    }

    /// Every validated match, as (kind index, range).
    pub(super) fn matches(&self, text: &str) -> Vec<(usize, Range<usize>)> {
        self.regex
            .find_iter(text)
            .filter(|m| !m.is_empty())
            .filter_map(|m| {
                let (kind, validator) = self.patterns.get(m.pattern().as_usize())?;
                let ok = validator.as_ref().is_none_or(|v| v(&text[m.range()]));
                ok.then(|| (*kind, m.range()))
            })
            .collect()
    }
}
