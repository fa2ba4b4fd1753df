//! The sanitizer: finds sensitive values in text and replaces them.

mod builder;
mod custom;
mod replacement;

pub use builder::{
    BuildError, CustomDetector, HMAC_KEY_ENV, PatternError, SanitizerBuilder, Validator,
};

use std::borrow::Cow;
use std::collections::HashSet;
use std::fmt;
use std::ops::{ControlFlow, Range};
use std::sync::Arc;

use crate::FieldNameKind;
use crate::detect::{Detectors, is_card_u128};
use crate::kind::Builtin;
use crate::stats::{Counters, RedactionCounts};
use crate::strategy::HmacKey;
use crate::{PiiKind, Strategy};
use custom::CustomSet;

/// What one sanitizing call replaced: how many values, and of which kinds
/// (a bit per kind index, for the first 64 kinds).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Tally {
    pub(crate) count: u64,
    pub(crate) kinds: u64,
}

impl Tally {
    fn add(&mut self, kind: usize) {
        self.count += 1;
        if kind < 64 {
            self.kinds |= 1 << kind;
        }
    }

    /// Adds what another call replaced.
    pub(crate) fn merge(&mut self, other: Tally) {
        self.count += other.count;
        self.kinds |= other.kinds;
    }
}

/// One sensitive value found in a text.
///
/// ```
/// use warden_pii::{PiiKind, Sanitizer};
///
/// let text = "mail ada@example.com or call +1 415 555 2671";
/// let findings = Sanitizer::default().findings(text);
/// assert_eq!(findings[0].kind, PiiKind::Email);
/// assert_eq!(&text[findings[0].range.clone()], "ada@example.com");
/// assert_eq!(findings[1].kind, PiiKind::Phone);
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Finding {
    /// What kind of value it is.
    pub kind: PiiKind,
    /// Where it is, in bytes.
    pub range: Range<usize>,
}

struct Inner {
    /// This configuration's identity in the field-name cache.
    id: u64,
    detectors: Detectors,
    custom: Option<CustomSet>,
    /// Every kind this sanitizer knows: the built-ins in order, then custom.
    kinds: Vec<PiiKind>,
    /// `[REDACTED:KIND]` for each kind, made once.
    placeholders: Vec<String>,
    strategies: Vec<Strategy>,
    counters: Counters,
    allow: HashSet<String>,
    hmac: Option<HmacKey>,
}

/// Finds sensitive values in text and replaces them.
///
/// Cheap to clone (the configuration is shared), `Send` and `Sync`. One
/// pass over the input finds every built-in kind; custom detectors are
/// compiled into one more multi-pattern pass. Work is linear in the input.
///
/// ```
/// use warden_pii::Sanitizer;
///
/// let sanitizer = Sanitizer::default();
/// assert_eq!(
///     sanitizer.sanitize("user ada@example.com paid with 4111 1111 1111 1111"),
///     "user [REDACTED:EMAIL] paid with [REDACTED:CREDIT_CARD]"
/// );
/// // Nothing found: the input comes back borrowed, not copied.
/// assert!(matches!(sanitizer.sanitize("order 42 shipped"), std::borrow::Cow::Borrowed(_)));
/// ```
#[derive(Clone)]
pub struct Sanitizer {
    inner: Arc<Inner>,
}

impl Default for Sanitizer {
    /// Every built-in kind, redacted, with the default secret key names.
    fn default() -> Self {
        let kinds: Vec<PiiKind> = PiiKind::builtins().collect();
        let strategies = vec![Strategy::Redact; kinds.len()];
        SanitizerBuilder::default().assemble(kinds, strategies, None, None)
    }
}

impl fmt::Debug for Sanitizer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Sanitizer")
            .field("kinds", &self.inner.kinds)
            .field("strategies", &self.inner.strategies)
            .field("hmac_key", &self.inner.hmac)
            .finish_non_exhaustive()
    }
}

impl Sanitizer {
    /// A builder, starting from the defaults.
    pub fn builder() -> SanitizerBuilder {
        SanitizerBuilder::default()
    }

    /// Calls `f` with each finding (kind index, byte range) in order,
    /// without overlaps, allow-listed values left out.
    fn for_each_finding(
        &self,
        text: &str,
        mut f: impl FnMut(usize, Range<usize>) -> ControlFlow<()>,
    ) {
        let inner = &*self.inner;
        let mut accept = |kind: usize, range: Range<usize>| -> ControlFlow<()> {
            let range = char_aligned(text, range);
            if !inner.allow.is_empty() && inner.allow.contains(&text[range.clone()].to_lowercase())
            {
                return ControlFlow::Continue(());
            }
            f(kind, range)
        };
        let Some(custom) = &inner.custom else {
            inner
                .detectors
                .scan(text, |hit| accept(hit.kind as usize, hit.start..hit.end));
            return;
        };
        // Merge the custom matches into the built-in ones: the earlier
        // start wins an overlap, the built-in one on a tie.
        let mut all: Vec<(usize, Range<usize>, bool)> = custom
            .matches(text)
            .into_iter()
            .map(|(k, r)| (k, r, false))
            .collect();
        inner.detectors.scan(text, |hit| {
            all.push((hit.kind as usize, hit.start..hit.end, true));
            ControlFlow::Continue(())
        });
        all.sort_by_key(|(_, r, builtin)| (r.start, !*builtin, usize::MAX - r.end));
        let mut floor = 0;
        for (kind, range, _) in all {
            if range.start < floor {
                continue;
            }
            floor = range.end;
            if accept(kind, range).is_break() {
                return;
            }
        }
    }

    /// Every sensitive value in `text`, in order, without overlaps.
    ///
    /// ```
    /// use warden_pii::{PiiKind, Sanitizer};
    ///
    /// let found = Sanitizer::default().findings("call +44 20 7946 0958");
    /// assert_eq!(found[0].kind, PiiKind::Phone);
    /// assert_eq!(found[0].range, 5..21);
    /// ```
    pub fn findings(&self, text: &str) -> Vec<Finding> {
        let mut out = Vec::new();
        self.for_each_finding(text, |kind, range| {
            out.push(Finding {
                kind: self.inner.kinds[kind].clone(),
                range,
            });
            ControlFlow::Continue(())
        });
        out
    }

    /// Whether `text` holds any sensitive value. Stops at the first.
    ///
    /// ```
    /// let s = warden_pii::Sanitizer::default();
    /// assert!(s.contains_pii("token=ghp_0123456789abcdefghijABCDEFGHIJ012345"));
    /// assert!(!s.contains_pii("GET /orders/42 200 in 12 ms"));
    /// ```
    pub fn contains_pii(&self, text: &str) -> bool {
        let mut found = false;
        self.for_each_finding(text, |_, _| {
            found = true;
            ControlFlow::Break(())
        });
        found
    }

    /// Replaces every sensitive value in `text`. Returns the input,
    /// borrowed, when there is nothing to replace.
    pub fn sanitize<'a>(&self, text: &'a str) -> Cow<'a, str> {
        self.sanitize_counted(text).0
    }

    /// [`sanitize`](Self::sanitize), also returning how many values were
    /// replaced.
    ///
    /// ```
    /// let (clean, replaced) = warden_pii::Sanitizer::default().sanitize_counted("ssn 123-45-6789, card 4111 1111 1111 1111");
    /// assert_eq!(replaced, 2);
    /// assert_eq!(clean, "ssn [REDACTED:SSN], card [REDACTED:CREDIT_CARD]");
    /// ```
    pub fn sanitize_counted<'a>(&self, text: &'a str) -> (Cow<'a, str>, usize) {
        let mut tally = Tally::default();
        let out = self.sanitize_tallied(text, &mut tally);
        (out, tally.count as usize)
    }

    /// [`sanitize`](Self::sanitize), adding what was replaced to `tally`.
    pub(crate) fn sanitize_tallied<'a>(&self, text: &'a str, tally: &mut Tally) -> Cow<'a, str> {
        let mut out: Option<String> = None;
        let mut last = 0;
        self.for_each_finding(text, |kind, range| {
            let o = out.get_or_insert_with(|| String::with_capacity(text.len() + 16));
            o.push_str(&text[last..range.start]);
            self.write_replacement(o, kind, &text[range.clone()], tally);
            last = range.end;
            ControlFlow::Continue(())
        });
        match out {
            None => Cow::Borrowed(text),
            Some(mut o) => {
                o.push_str(&text[last..]);
                Cow::Owned(o)
            }
        }
    }

    /// Sanitizes the value of a field or key named `name`: the whole value
    /// is replaced if the name is a secret key name (see
    /// [`is_secret_key`](Self::is_secret_key)), otherwise as
    /// [`sanitize`](Self::sanitize).
    ///
    /// ```
    /// use warden_pii::Sanitizer;
    ///
    /// let s = Sanitizer::default();
    /// assert_eq!(s.sanitize_field("db_password", "hunter2"), "[REDACTED:SECRET]");
    /// assert_eq!(s.sanitize_field("note", "hunter2"), "hunter2");
    /// ```
    pub fn sanitize_field<'a>(&self, name: &str, value: &'a str) -> Cow<'a, str> {
        let mut tally = Tally::default();
        let secret = self.is_secret_key(name);
        let personal = (!secret).then(|| self.personal_kind(name)).flatten();
        let whole = if secret {
            self.secret_replacement(value, &mut tally)
        } else if let Some(kind) = personal {
            self.whole_replacement(kind, value, &mut tally)
        } else if self.is_phone_key(name) {
            self.bare_phone_replacement(value, &mut tally)
        } else {
            None
        };
        match whole {
            Some(r) => Cow::Owned(r),
            None if secret || personal.is_some() => Cow::Borrowed(value),
            None => self.sanitize(value),
        }
    }

    /// The personal kind a field or key named `name` holds
    /// (`first_name`: `PERSON_NAME`; see
    /// [`SanitizerBuilder::personal_key`]), if any.
    ///
    /// ```
    /// use warden_pii::{PiiKind, Sanitizer};
    ///
    /// let s = Sanitizer::default();
    /// assert_eq!(s.personal_key_kind("billing.lastName"), Some(PiiKind::PersonName));
    /// assert_eq!(s.personal_key_kind("name"), None);
    /// ```
    pub fn personal_key_kind(&self, name: &str) -> Option<PiiKind> {
        self.personal_kind(name).map(Builtin::kind)
    }

    fn personal_kind(&self, name: &str) -> Option<Builtin> {
        self.inner.detectors.personal_kind(name.as_bytes())
    }

    /// The replacement for a whole value of `kind` (found by its field's
    /// name); `None` for an empty or allowed one, or a placeholder.
    pub(crate) fn whole_replacement(
        &self,
        kind: Builtin,
        value: &str,
        tally: &mut Tally,
    ) -> Option<String> {
        if value.is_empty() || self.is_allowed(value) || crate::detect::is_placeholder_value(value)
        {
            return None;
        }
        let mut out = String::new();
        self.write_replacement(&mut out, kind as usize, value, tally);
        Some(out)
    }

    /// As [`sanitize_field`](Self::sanitize_field), for a name that lives
    /// for the whole program (a `tracing` field's): what the name says is
    /// decided once and cached (see [`field_name_kind`](Self::field_name_kind)),
    /// so only the value is scanned.
    ///
    /// ```
    /// use warden_pii::Sanitizer;
    ///
    /// let s = Sanitizer::default();
    /// assert_eq!(s.sanitize_named("db_password", "hunter2"), "[REDACTED:SECRET]");
    /// assert_eq!(s.sanitize_named("mobile", "+14155550100"), "[REDACTED:PHONE]");
    /// assert_eq!(s.sanitize_named("note", "hunter2"), "hunter2");
    /// ```
    pub fn sanitize_named<'a>(&self, name: &'static str, value: &'a str) -> Cow<'a, str> {
        let mut tally = Tally::default();
        match self.field_name_kind(name) {
            FieldNameKind::Secret => match self.secret_replacement(value, &mut tally) {
                Some(r) => Cow::Owned(r),
                None => Cow::Borrowed(value),
            },
            FieldNameKind::Phone => match self.bare_phone_replacement(value, &mut tally) {
                Some(r) => Cow::Owned(r),
                None => self.sanitize(value),
            },
            FieldNameKind::Personal(kind) => {
                match self.whole_replacement(Builtin::ALL[usize::from(kind)], value, &mut tally) {
                    Some(r) => Cow::Owned(r),
                    None => Cow::Borrowed(value),
                }
            }
            _ => self.sanitize(value),
        }
    }

    /// Whether a bare number under a field or key named `name` is a phone
    /// number (`phone`, `mobile`, `tel`, `fax`, `msisdn`, …).
    pub fn is_phone_key(&self, name: &str) -> bool {
        let d = &self.inner.detectors;
        d.enabled[Builtin::Phone as usize] && d.phone_keys.matches(name.as_bytes())
    }

    /// The replacement for a bare phone number (`+` and 7–15 digits, as a
    /// phone-named field holds it), or `None` if `value` is not one.
    pub(crate) fn bare_phone_replacement(&self, value: &str, tally: &mut Tally) -> Option<String> {
        if !is_bare_phone(value) || self.is_allowed(value) {
            return None;
        }
        let mut out = String::new();
        self.write_replacement(&mut out, Builtin::Phone as usize, value, tally);
        Some(out)
    }

    fn is_allowed(&self, value: &str) -> bool {
        !self.inner.allow.is_empty() && self.inner.allow.contains(&value.to_lowercase())
    }

    /// This sanitizer's identity (each one built has its own): what a
    /// cache of its verdicts is keyed by.
    pub(crate) fn id(&self) -> u64 {
        self.inner.id
    }

    /// What a field named `name` holds, by its name alone: a secret, a
    /// phone number, or text to scan like any other. Decided once per name
    /// and cached per thread, so layers can ask for every field.
    ///
    /// ```
    /// use warden_pii::{FieldNameKind, Sanitizer};
    ///
    /// let s = Sanitizer::default();
    /// assert_eq!(s.field_name_kind("db_password"), FieldNameKind::Secret);
    /// assert_eq!(s.field_name_kind("mobile"), FieldNameKind::Phone);
    /// assert_eq!(s.field_name_kind("latency_ms"), FieldNameKind::Plain);
    /// ```
    pub fn field_name_kind(&self, name: &'static str) -> FieldNameKind {
        warden_core::internal::cached_field_name_kind(self.inner.id, name, || {
            if self.is_secret_key(name) {
                FieldNameKind::Secret
            } else if let Some(kind) = self.personal_kind(name) {
                FieldNameKind::Personal(kind as u8)
            } else if self.is_phone_key(name) {
                FieldNameKind::Phone
            } else {
                FieldNameKind::Plain
            }
        })
    }

    /// Whether values under a field or key named `name` are secrets.
    pub fn is_secret_key(&self, name: &str) -> bool {
        let d = &self.inner.detectors;
        d.enabled[Builtin::Secret as usize] && d.secret_keys.matches(name.as_bytes())
    }

    /// The replacement for a whole secret value; `None` for an empty one.
    pub(crate) fn secret_replacement(&self, value: &str, tally: &mut Tally) -> Option<String> {
        if value.is_empty() {
            return None;
        }
        let mut out = String::new();
        self.write_replacement(&mut out, Builtin::Secret as usize, value, tally);
        Some(out)
    }

    /// Whether an integer is a card number to replace (counts nothing).
    #[inline]
    pub(crate) fn integer_is_pii(&self, n: u128) -> bool {
        is_card_u128(n)
            && self.inner.detectors.enabled[Builtin::CreditCard as usize]
            && (self.inner.allow.is_empty() || !self.inner.allow.contains(&n.to_string()))
    }

    /// The replacement for an integer that is a card number.
    pub(crate) fn integer_replacement(&self, n: u128, tally: &mut Tally) -> Option<String> {
        if !self.integer_is_pii(n) {
            return None;
        }
        let mut out = String::new();
        self.write_replacement(
            &mut out,
            Builtin::CreditCard as usize,
            &n.to_string(),
            tally,
        );
        Some(out)
    }

    /// Sanitizes a JSON value in place: every string, every number that is
    /// a card number, and the whole value under a secret-named key. Keys
    /// are kept. Returns how many values were replaced.
    ///
    /// ```
    /// use warden_pii::Sanitizer;
    ///
    /// let mut v = serde_json::json!({"user": "ada@example.com", "password": {"old": "a", "new": "b"}, "n": 4});
    /// Sanitizer::default().sanitize_json(&mut v);
    /// assert_eq!(v, serde_json::json!({"user": "[REDACTED:EMAIL]", "password": "[REDACTED:SECRET]", "n": 4}));
    /// ```
    pub fn sanitize_json(&self, value: &mut serde_json::Value) -> usize {
        use serde_json::Value;
        match value {
            Value::String(s) => match self.sanitize_counted(s) {
                (Cow::Owned(new), n) => {
                    *s = new;
                    n
                }
                (Cow::Borrowed(_), _) => 0,
            },
            Value::Number(n) => {
                let replacement = n
                    .as_u64()
                    .map(u128::from)
                    .and_then(|n| self.integer_replacement(n, &mut Tally::default()));
                match replacement {
                    Some(r) => {
                        *value = Value::String(r);
                        1
                    }
                    None => 0,
                }
            }
            Value::Array(items) => items.iter_mut().map(|v| self.sanitize_json(v)).sum(),
            Value::Object(map) => map
                .iter_mut()
                .map(|(key, v)| {
                    let phone = match (&*v, self.is_phone_key(key)) {
                        (Value::String(t), true) => {
                            self.bare_phone_replacement(t, &mut Tally::default())
                        }
                        (Value::Number(n), true) => {
                            self.bare_phone_replacement(&n.to_string(), &mut Tally::default())
                        }
                        _ => None,
                    };
                    if let Some(r) = phone {
                        *v = Value::String(r);
                        1
                    } else if self.is_secret_key(key) && !v.is_null() {
                        let text = match v.take() {
                            Value::String(s) => s,
                            other => other.to_string(),
                        };
                        *v = Value::String(
                            self.secret_replacement(&text, &mut Tally::default())
                                .unwrap_or_default(),
                        );
                        1
                    } else if let Some(kind) = self.personal_kind(key) {
                        // A scalar under a personal key is replaced whole; an
                        // object or a list is looked into.
                        let text = match &*v {
                            Value::String(s) => Some(s.clone()),
                            Value::Number(n) => Some(n.to_string()),
                            _ => None,
                        };
                        match text
                            .and_then(|t| self.whole_replacement(kind, &t, &mut Tally::default()))
                        {
                            Some(r) => {
                                *v = Value::String(r);
                                1
                            }
                            None => self.sanitize_json(v),
                        }
                    } else {
                        self.sanitize_json(v)
                    }
                })
                .sum(),
            Value::Null | Value::Bool(_) => 0,
        }
    }

    /// How many values of each kind this sanitizer (and its clones) has
    /// replaced so far.
    ///
    /// ```
    /// use warden_pii::{PiiKind, Sanitizer};
    ///
    /// let s = Sanitizer::default();
    /// s.sanitize("ada@example.com, bob@example.org");
    /// assert_eq!(s.redactions().get(&PiiKind::Email), 2);
    /// assert_eq!(s.redactions().to_string(), "EMAIL=2");
    /// ```
    pub fn redactions(&self) -> RedactionCounts {
        self.inner.counters.snapshot(&self.inner.kinds)
    }

    /// How many values under secret-named keys were left because they are
    /// placeholders or references (`$API_KEY`, `${DB_PASSWORD}`, `<your
    /// token>`, `********`, `var.db_password`, a URL, `null`), counted by
    /// every call that looked at them.
    ///
    /// ```
    /// use warden_pii::Sanitizer;
    ///
    /// let s = Sanitizer::default();
    /// assert_eq!(s.sanitize("password=${DB_PASSWORD} token=<your token>"), "password=${DB_PASSWORD} token=<your token>");
    /// assert_eq!(s.placeholders_seen(), 2);
    /// ```
    pub fn placeholders_seen(&self) -> u64 {
        self.inner
            .detectors
            .placeholders
            .load(std::sync::atomic::Ordering::Relaxed)
    }

    /// The strategy used for `kind`.
    ///
    /// ```
    /// use warden_pii::{PiiKind, Sanitizer, Strategy};
    ///
    /// let s = Sanitizer::builder().strategy_for(PiiKind::CreditCard, Strategy::Mask).build()?;
    /// assert_eq!(s.strategy_of(&PiiKind::CreditCard), Strategy::Mask);
    /// assert_eq!(s.strategy_of(&PiiKind::Email), Strategy::Redact);
    /// # Ok::<(), warden_pii::BuildError>(())
    /// ```
    pub fn strategy_of(&self, kind: &PiiKind) -> Strategy {
        self.inner
            .kinds
            .iter()
            .position(|k| k == kind)
            .map_or(Strategy::Redact, |i| self.inner.strategies[i])
    }

    /// The names of the kinds set in `tally`, joined with `,`.
    pub(crate) fn kind_names(&self, tally: &Tally) -> String {
        let mut names = String::new();
        for (i, kind) in self.inner.kinds.iter().enumerate().take(64) {
            if tally.kinds & (1 << i) != 0 {
                if !names.is_empty() {
                    names.push(',');
                }
                names.push_str(kind.name());
            }
        }
        names
    }
}

/// `+` and 7–15 digits, nothing else.
pub(crate) fn is_bare_phone(value: &str) -> bool {
    let digits = value.strip_prefix('+').unwrap_or(value);
    (7..=15).contains(&digits.len()) && digits.bytes().all(|c| c.is_ascii_digit())
}

/// Widens `range` to the nearest character boundaries of `text`.
fn char_aligned(text: &str, range: Range<usize>) -> Range<usize> {
    let mut start = range.start.min(text.len());
    let mut end = range.end.min(text.len()).max(start);
    while !text.is_char_boundary(start) {
        start -= 1;
    }
    while !text.is_char_boundary(end) {
        end += 1;
    }
    start..end
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_is_replaced_with_its_placeholder() {
        let s = Sanitizer::default();
        let out = s.sanitize(
            "ada@example.com +1 415 555 2671 123-45-6789 4111111111111111 10.0.0.1 \
             GB82WEST12345698765432 AKIAIOSFODNN7EXAMPLE Bearer abc123def456 password=x",
        );
        assert_eq!(
            out,
            "[REDACTED:EMAIL] [REDACTED:PHONE] [REDACTED:SSN] [REDACTED:CREDIT_CARD] \
             [REDACTED:IP_ADDRESS] [REDACTED:IBAN] [REDACTED:API_KEY] Bearer [REDACTED:AUTH_TOKEN] \
             password=[REDACTED:SECRET]"
        );
    }

    #[test]
    fn hmac_needs_a_key_and_is_stable() {
        warden_test_support::remove_env(HMAC_KEY_ENV);
        let err = Sanitizer::builder()
            .strategy_for(PiiKind::Email, Strategy::Hmac)
            .build()
            .unwrap_err();
        assert!(matches!(err, BuildError::MissingHmacKey { .. }), "{err}");
        assert!(err.to_string().contains("EMAIL"));
        let weak = Sanitizer::builder()
            .strategy(Strategy::Hmac)
            .hmac_key("short")
            .build();
        assert!(matches!(weak, Err(BuildError::WeakHmacKey { len: 5, .. })));

        let s = Sanitizer::builder()
            .strategy(Strategy::Hmac)
            .hmac_key("0123456789abcdef0123456789abcdef")
            .hmac_key_id("k1")
            .build()
            .unwrap();
        let a = s.sanitize("from Ada@Example.com");
        let b = s.sanitize("to ada@example.com");
        assert_eq!(a.strip_prefix("from "), b.strip_prefix("to "));
        assert!(a.contains("[EMAIL:k1:"), "{a}");
        // Differently written, same number: same token.
        let c = s.sanitize("4111 1111 1111 1111");
        let d = s.sanitize("4111-1111-1111-1111");
        assert_eq!(c, d);
        let p1 = s.sanitize("+1 415 555 2671");
        let p2 = s.sanitize("(415) 555-2671");
        assert_eq!(p1, p2);
    }

    #[test]
    fn custom_detectors_merge_with_builtins() {
        let s = Sanitizer::builder()
            .detector(CustomDetector::new("ticket", r"TCK-\d+"))
            .build()
            .unwrap();
        assert_eq!(
            s.sanitize("TCK-991 for ada@example.com"),
            "[REDACTED:TICKET] for [REDACTED:EMAIL]"
        );
        let bad = Sanitizer::builder()
            .detector(CustomDetector::new("x", "("))
            .build();
        assert!(matches!(bad, Err(BuildError::InvalidPattern { .. })));
        let taken = Sanitizer::builder()
            .detector(CustomDetector::new("email", "x"))
            .build();
        assert!(matches!(taken, Err(BuildError::InvalidName(_))));
    }

    #[test]
    fn counts_by_kind() {
        let s = Sanitizer::default();
        let _ = s.sanitize("a@example.com b@example.com 10.0.0.1");
        let counts = s.clone().redactions();
        assert_eq!(counts.get(&PiiKind::Email), 2);
        assert_eq!(counts.get(&PiiKind::IpAddress), 1);
        assert_eq!(counts.total(), 3);
        assert_eq!(counts.to_string(), "EMAIL=2 IP_ADDRESS=1");
    }

    #[test]
    fn bare_numbers_under_phone_keys() {
        let s = Sanitizer::default();
        assert_eq!(s.sanitize_field("mobile", "5551234567"), "[REDACTED:PHONE]");
        assert_eq!(s.sanitize_field("order_id", "5551234567"), "5551234567");
        assert_eq!(s.sanitize_field("phone", "call me"), "call me");
        let mut v = serde_json::json!({"phone": 14155552671u64, "fax": "+14155552671", "n": 14155552671u64});
        s.sanitize_json(&mut v);
        assert_eq!(
            v,
            serde_json::json!({"phone": "[REDACTED:PHONE]", "fax": "[REDACTED:PHONE]", "n": 14155552671u64})
        );
        assert_eq!(
            s.sanitize("phone: 5551234567, id: 5551234567"),
            "phone: [REDACTED:PHONE], id: 5551234567"
        );
    }

    #[test]
    fn url_passwords_are_redacted() {
        let s = Sanitizer::default();
        assert_eq!(
            s.sanitize("connect postgres://admin:S3cr3tP@ss@db.internal:5432/prod"),
            "connect postgres://admin:[REDACTED:SECRET]@db.internal:5432/prod"
        );
    }

    #[test]
    fn allow_list_is_case_insensitive() {
        let s = Sanitizer::builder()
            .allow("Support@Example.com")
            .build()
            .unwrap();
        assert_eq!(
            s.sanitize("mail support@example.com or ada@example.com"),
            "mail support@example.com or [REDACTED:EMAIL]"
        );
    }

    #[test]
    fn large_values_are_handled() {
        let s = Sanitizer::default();
        let mut text = "lorem ipsum dolor sit amet ".repeat(400_000);
        text.push_str("ada@example.com");
        let out = s.sanitize(&text);
        assert!(out.ends_with("[REDACTED:EMAIL]"));
        assert_eq!(
            out.len(),
            text.len() - "ada@example.com".len() + "[REDACTED:EMAIL]".len()
        );
    }

    #[test]
    fn char_alignment() {
        let t = "aé";
        assert_eq!(char_aligned(t, 2..2), 1..3);
    }
}
