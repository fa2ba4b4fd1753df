//! The PII glue: the last step before export, through which every text the
//! exporter sends passes (with the `pii` feature, warden-pii's sanitizer;
//! without it, the texts go as the gate, if any, left them).

use std::borrow::Cow;

#[cfg(feature = "pii")]
use warden_pii::Sanitizer;

/// What the exporter runs each text it sends through.
#[derive(Clone, Debug, Default)]
pub(crate) struct LastStep {
    #[cfg(feature = "pii")]
    sanitizer: Sanitizer,
}

impl LastStep {
    /// The last step with `sanitizer` (the gate's, so keyed hashes match).
    #[cfg(feature = "pii")]
    pub(crate) fn new(sanitizer: Sanitizer) -> Self {
        LastStep { sanitizer }
    }

    /// `text`, sanitized as the value of the field `name`.
    #[inline]
    pub(crate) fn named<'a>(&self, name: &'static str, text: &'a str) -> Cow<'a, str> {
        #[cfg(feature = "pii")]
        return self.sanitizer.sanitize_named(name, text);
        #[cfg(not(feature = "pii"))]
        {
            let _ = name;
            Cow::Borrowed(text)
        }
    }

    /// `text`, sanitized as the value of the field `key` (a name made at
    /// run time: an audit record's metadata key).
    #[cfg(feature = "audit")]
    #[inline]
    pub(crate) fn field<'a>(&self, key: &str, text: &'a str) -> Cow<'a, str> {
        #[cfg(feature = "pii")]
        return self.sanitizer.sanitize_field(key, text);
        #[cfg(not(feature = "pii"))]
        {
            let _ = key;
            Cow::Borrowed(text)
        }
    }
}

#[cfg(all(test, feature = "pii"))]
mod tests {
    use super::*;

    #[test]
    fn every_text_is_sanitized_by_name_and_by_key() {
        let step = LastStep::default();
        assert_eq!(step.named("password", "hunter2"), "[REDACTED:SECRET]");
        #[cfg(feature = "audit")]
        assert!(
            !step
                .field("audit.metadata.note", "ada@example.com")
                .contains('@')
        );
        assert_eq!(step.named("route", "/orders"), "/orders");
    }
}
