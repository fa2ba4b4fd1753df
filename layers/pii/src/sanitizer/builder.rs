//! Configuring a sanitizer: kinds, strategies, key names, custom
//! detectors and the HMAC key, checked once at build time.

use std::fmt;
use std::sync::Arc;

use super::custom::CustomSet;
use super::{Inner, Sanitizer};
use crate::NationalIdScheme;
use crate::detect::{DEFAULT_SECRET_KEYS, Detectors, PHONE_KEYS, PersonalKeys, SecretKeys};
use crate::kind::Builtin;
use crate::stats::Counters;
use crate::strategy::HmacKey;
use crate::{PiiKind, Strategy};

/// The environment variable the `Hmac` strategy reads its key from when
/// the builder was given none.
pub const HMAC_KEY_ENV: &str = "WARDEN_PII_KEY";

/// A validator for a custom detector: given the matched text, says whether
/// it really is a value of the kind.
pub type Validator = Arc<dyn Fn(&str) -> bool + Send + Sync>;

/// A detector added to the built-in ones: a name, a regular expression
/// and an optional validator.
///
/// ```
/// use warden_pii::{CustomDetector, Sanitizer};
///
/// let sanitizer = Sanitizer::builder()
///     .detector(CustomDetector::new("EMPLOYEE_ID", r"\bEMP-\d{6}\b").validator(|m| !m.ends_with("000000")))
///     .build()?;
/// assert_eq!(sanitizer.sanitize("by EMP-123456, not EMP-000000"), "by [REDACTED:EMPLOYEE_ID], not EMP-000000");
/// # Ok::<(), warden_pii::BuildError>(())
/// ```
#[derive(Clone)]
pub struct CustomDetector {
    pub(super) name: Arc<str>,
    pub(super) pattern: String,
    pub(super) validator: Option<Validator>,
}

impl CustomDetector {
    /// A detector named `name` (shown as `[REDACTED:NAME]`) for `pattern`.
    pub fn new(name: impl AsRef<str>, pattern: impl Into<String>) -> Self {
        CustomDetector {
            name: Arc::from(name.as_ref().trim().to_ascii_uppercase()),
            pattern: pattern.into(),
            validator: None,
        }
    }

    /// Accepts a match only when `f` returns true for its text.
    pub fn validator(mut self, f: impl Fn(&str) -> bool + Send + Sync + 'static) -> Self {
        self.validator = Some(Arc::new(f));
        self
    }
}

impl fmt::Debug for CustomDetector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CustomDetector")
            .field("name", &self.name)
            .field("pattern", &self.pattern)
            .field("validator", &self.validator.is_some())
            .finish()
    }
}

/// Why a [`SanitizerBuilder`] could not build.
///
/// ```
/// use warden_pii::{BuildError, Sanitizer, Strategy};
///
/// let err = Sanitizer::builder().strategy(Strategy::Hmac).hmac_key("short").build().unwrap_err();
/// assert!(matches!(err, BuildError::WeakHmacKey { len: 5, .. }));
/// ```
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum BuildError {
    /// A kind uses [`Strategy::Hmac`] but no key was given to the builder
    /// and `WARDEN_PII_KEY` is not set.
    #[error(
        "the hmac strategy is chosen for {kinds} but no key was given: call SanitizerBuilder::hmac_key or set {HMAC_KEY_ENV}"
    )]
    MissingHmacKey {
        /// The kinds that use the strategy.
        kinds: String,
    },
    /// The key for [`Strategy::Hmac`] is too short to resist guessing.
    #[error("the hmac key is {len} bytes long; at least {min} are required")]
    WeakHmacKey {
        /// The key's length.
        len: usize,
        /// The shortest key accepted.
        min: usize,
    },
    /// A custom detector's pattern did not compile.
    #[error("custom detector {name}: invalid pattern: {source}")]
    InvalidPattern {
        /// The detector's name.
        name: String,
        /// Why the regex engine refused it.
        source: PatternError,
    },
    /// A custom detector has an empty name or the name of a built-in kind.
    #[error("custom detector name `{0}` is empty or taken by a built-in kind")]
    InvalidName(String),
    /// A personal key name was given a kind that names cannot give.
    #[error(
        "personal key `{name}`: {kind} is not a kind a field's name gives (use PERSON_NAME, ADDRESS, DATE_OF_BIRTH, NATIONAL_ID or PASSPORT)"
    )]
    NotAPersonalKind {
        /// The key name.
        name: String,
        /// The kind it was given.
        kind: PiiKind,
    },
}

/// Why a custom detector's pattern did not compile: the regex engine's
/// message and `source()`. The engine's own error type is not part of
/// warden's API.
#[derive(Debug)]
pub struct PatternError(Box<regex_automata::meta::BuildError>);

impl PatternError {
    pub(super) fn new(error: regex_automata::meta::BuildError) -> Self {
        PatternError(Box::new(error))
    }
}

impl fmt::Display for PatternError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl std::error::Error for PatternError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.0.source()
    }
}

/// Configures a [`Sanitizer`].
///
/// ```
/// use warden_pii::{PiiKind, Sanitizer, Strategy};
///
/// let sanitizer = Sanitizer::builder()
///     .strategy_for(PiiKind::CreditCard, Strategy::Mask)
///     .disable(PiiKind::IpAddress)
///     .allow("support@example.com")
///     .secret_key("session_token")
///     .build()?;
/// let out = sanitizer.sanitize("card 4111 1111 1111 1111 from 10.0.0.7, mail support@example.com");
/// assert_eq!(out, "card **** **** **** 1111 from 10.0.0.7, mail support@example.com");
/// # Ok::<(), warden_pii::BuildError>(())
/// ```
#[derive(Debug, Clone)]
#[must_use]
pub struct SanitizerBuilder {
    enabled: [bool; Builtin::COUNT],
    default_strategy: Strategy,
    strategies: Vec<(PiiKind, Strategy)>,
    secret_keys: Vec<String>,
    personal_keys: Vec<(Builtin, String)>,
    not_personal_keys: Vec<String>,
    /// Personal key names given a kind names cannot give (an error at
    /// build).
    refused_personal: Vec<(String, PiiKind)>,
    allow: Vec<String>,
    custom: Vec<CustomDetector>,
    hmac_key: Option<Vec<u8>>,
    hmac_key_id: Option<String>,
    local_ips: bool,
    national_off: u64,
}

impl Default for SanitizerBuilder {
    fn default() -> Self {
        SanitizerBuilder {
            enabled: [true; Builtin::COUNT],
            default_strategy: Strategy::Redact,
            strategies: Vec::new(),
            secret_keys: DEFAULT_SECRET_KEYS
                .iter()
                .map(|s| (*s).to_owned())
                .collect(),
            personal_keys: crate::detect::default_personal_names()
                .map(|(kind, name)| (kind, name.to_owned()))
                .collect(),
            not_personal_keys: Vec::new(),
            refused_personal: Vec::new(),
            allow: Vec::new(),
            custom: Vec::new(),
            hmac_key: None,
            hmac_key_id: None,
            local_ips: false,
            national_off: 0,
        }
    }
}

impl SanitizerBuilder {
    /// The strategy for every kind without one of its own.
    pub fn strategy(mut self, strategy: Strategy) -> Self {
        self.default_strategy = strategy;
        self
    }

    /// The strategy for one kind.
    ///
    /// ```
    /// use warden_pii::{PiiKind, Sanitizer, Strategy};
    ///
    /// let s = Sanitizer::builder().strategy_for(PiiKind::Phone, Strategy::Mask).build()?;
    /// assert_eq!(s.sanitize("call +1 415 555 2671"), "call +* *** *** 2671");
    /// # Ok::<(), warden_pii::BuildError>(())
    /// ```
    pub fn strategy_for(mut self, kind: PiiKind, strategy: Strategy) -> Self {
        self.strategies.retain(|(k, _)| *k != kind);
        self.strategies.push((kind, strategy));
        self
    }

    /// Stops detecting a built-in kind.
    ///
    /// ```
    /// use warden_pii::{PiiKind, Sanitizer};
    ///
    /// let s = Sanitizer::builder().disable(PiiKind::IpAddress).build()?;
    /// assert_eq!(s.sanitize("from 10.1.2.3 by ada@example.com"), "from 10.1.2.3 by [REDACTED:EMAIL]");
    /// # Ok::<(), warden_pii::BuildError>(())
    /// ```
    pub fn disable(mut self, kind: PiiKind) -> Self {
        if let Some(b) = kind.builtin() {
            self.enabled[b as usize] = false;
        }
        self
    }

    /// Detects a built-in kind again after [`disable`](Self::disable).
    ///
    /// ```
    /// use warden_pii::{PiiKind, Sanitizer};
    ///
    /// let s = Sanitizer::builder().only([PiiKind::Email]).enable(PiiKind::Ssn).build()?;
    /// assert_eq!(s.sanitize("ssn 123-45-6789"), "ssn [REDACTED:SSN]");
    /// # Ok::<(), warden_pii::BuildError>(())
    /// ```
    pub fn enable(mut self, kind: PiiKind) -> Self {
        if let Some(b) = kind.builtin() {
            self.enabled[b as usize] = true;
        }
        self
    }

    /// Stops finding the identifiers of one national scheme (a number
    /// that validates under it alone is left as it is); the other schemes,
    /// and values under a key naming an identifier, are still redacted.
    ///
    /// ```
    /// use warden_pii::{NationalIdScheme, Sanitizer};
    ///
    /// let s = Sanitizer::builder()
    ///     .disable_national_id(NationalIdScheme::BrCpf)
    ///     .build()?;
    /// assert_eq!(s.sanitize("CPF 390.533.447-05"), "CPF 390.533.447-05");
    /// assert_eq!(s.sanitize("DNI 54362315K"), "DNI [REDACTED:NATIONAL_ID]");
    /// # Ok::<(), warden_pii::BuildError>(())
    /// ```
    pub fn disable_national_id(mut self, scheme: NationalIdScheme) -> Self {
        self.national_off |= scheme.bit();
        self
    }

    /// Finds a national scheme's identifiers again after
    /// [`disable_national_id`](Self::disable_national_id).
    ///
    /// ```
    /// use warden_pii::{NationalIdScheme, Sanitizer};
    ///
    /// let s = Sanitizer::builder()
    ///     .disable_national_id(NationalIdScheme::BrCpf)
    ///     .enable_national_id(NationalIdScheme::BrCpf)
    ///     .build()?;
    /// assert_eq!(s.sanitize("CPF 390.533.447-05"), "CPF [REDACTED:NATIONAL_ID]");
    /// # Ok::<(), warden_pii::BuildError>(())
    /// ```
    pub fn enable_national_id(mut self, scheme: NationalIdScheme) -> Self {
        self.national_off &= !scheme.bit();
        self
    }

    /// Detects only the given built-in kinds.
    ///
    /// ```
    /// use warden_pii::{PiiKind, Sanitizer};
    ///
    /// let s = Sanitizer::builder().only([PiiKind::Email]).build()?;
    /// assert_eq!(s.sanitize("ada@example.com from 10.1.2.3"), "[REDACTED:EMAIL] from 10.1.2.3");
    /// # Ok::<(), warden_pii::BuildError>(())
    /// ```
    pub fn only(mut self, kinds: impl IntoIterator<Item = PiiKind>) -> Self {
        self.enabled = [false; Builtin::COUNT];
        for kind in kinds {
            self = self.enable(kind);
        }
        self
    }

    /// Adds a secret key name: a field or key with this name has its whole
    /// value redacted. Names are compared word by word, ignoring case and
    /// separators (`api_key` matches `apiKey` and `X-API-KEY`).
    pub fn secret_key(mut self, name: impl Into<String>) -> Self {
        self.secret_keys.push(name.into());
        self
    }

    /// Replaces the list of secret key names (the default is
    /// [`DEFAULT_SECRET_KEYS`](crate::DEFAULT_SECRET_KEYS)).
    ///
    /// ```
    /// use warden_pii::Sanitizer;
    ///
    /// let s = Sanitizer::builder().secret_keys(["pin", "otp"]).build()?;
    /// assert_eq!(s.sanitize("otp=482913 sent"), "otp=[REDACTED:SECRET] sent");
    /// # Ok::<(), warden_pii::BuildError>(())
    /// ```
    pub fn secret_keys<I, S>(mut self, names: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.secret_keys = names.into_iter().map(Into::into).collect();
        self
    }

    /// Adds a personal key name: a field or key with this name holds
    /// personal data of `kind` (one of `PERSON_NAME`, `ADDRESS`,
    /// `DATE_OF_BIRTH`, `NATIONAL_ID`, `PASSPORT`), and its whole value is
    /// replaced. Names are compared word by word, as secret names are
    /// (`pet_owner` matches `petOwner` and `shop.pet-owner`). A bare `name`
    /// is no person's name by default; `.personal_key(PiiKind::PersonName,
    /// "name")` makes it one for a service whose `name` fields hold people's
    /// names.
    ///
    /// ```
    /// use warden_pii::{PiiKind, Sanitizer};
    ///
    /// let s = Sanitizer::builder().personal_key(PiiKind::PersonName, "pet_owner").build()?;
    /// assert_eq!(s.sanitize("petOwner=Ada"), "petOwner=[REDACTED:PERSON_NAME]");
    /// assert_eq!(s.sanitize_field("first_name", "Ada"), "[REDACTED:PERSON_NAME]");
    /// # Ok::<(), warden_pii::BuildError>(())
    /// ```
    pub fn personal_key(mut self, kind: PiiKind, name: impl Into<String>) -> Self {
        let name = name.into();
        match kind.builtin() {
            Some(builtin) if crate::detect::is_personal_kind(builtin) => {
                self.personal_keys.push((builtin, name));
            }
            _ => self.refused_personal.push((name, kind)),
        }
        self
    }

    /// A name that never names personal data, whatever else it matches:
    /// for a service whose `cardholder` field is a company, or whose
    /// `street` is a game level.
    ///
    /// ```
    /// use warden_pii::Sanitizer;
    ///
    /// let s = Sanitizer::builder().not_personal_key("cardholder").build()?;
    /// assert_eq!(s.sanitize("cardholder=ACME"), "cardholder=ACME");
    /// assert_eq!(s.sanitize("first_name=Ada"), "first_name=[REDACTED:PERSON_NAME]");
    /// # Ok::<(), warden_pii::BuildError>(())
    /// ```
    pub fn not_personal_key(mut self, name: impl Into<String>) -> Self {
        self.not_personal_keys.push(name.into());
        self
    }

    /// A value that is never replaced, compared ignoring ASCII case: a
    /// support address that must stay visible, a documentation IP.
    ///
    /// ```
    /// use warden_pii::Sanitizer;
    ///
    /// let s = Sanitizer::builder().allow("support@example.com").build()?;
    /// assert_eq!(s.sanitize("write to Support@Example.com"), "write to Support@Example.com");
    /// assert_eq!(s.sanitize("from ada@example.com"), "from [REDACTED:EMAIL]");
    /// # Ok::<(), warden_pii::BuildError>(())
    /// ```
    pub fn allow(mut self, value: impl Into<String>) -> Self {
        self.allow.push(value.into());
        self
    }

    /// Whether loopback and unspecified addresses (`127.0.0.1`, `::1`,
    /// `0.0.0.0`, `::`, all of `127/8` and `0/8`) are redacted too. They
    /// identify no one (a service's own bind address is one), so by
    /// default they are left.
    ///
    /// ```
    /// use warden_pii::Sanitizer;
    ///
    /// assert_eq!(Sanitizer::default().sanitize("bound to 127.0.0.1:8080"), "bound to 127.0.0.1:8080");
    /// let strict = Sanitizer::builder().redact_local_addresses(true).build()?;
    /// assert_eq!(strict.sanitize("bound to 127.0.0.1:8080"), "bound to [REDACTED:IP_ADDRESS]:8080");
    /// # Ok::<(), warden_pii::BuildError>(())
    /// ```
    pub fn redact_local_addresses(mut self, yes: bool) -> Self {
        self.local_ips = yes;
        self
    }

    /// Adds a custom detector.
    ///
    /// ```
    /// use warden_pii::{CustomDetector, PiiKind, Sanitizer, Strategy};
    ///
    /// let s = Sanitizer::builder()
    ///     .detector(CustomDetector::new("ticket", r"\bTCK-\d{6}\b"))
    ///     .strategy_for(PiiKind::Custom("TICKET".into()), Strategy::Mask)
    ///     .build()?;
    /// assert_eq!(s.sanitize("see TCK-123456"), "see ***-**3456");
    /// # Ok::<(), warden_pii::BuildError>(())
    /// ```
    pub fn detector(mut self, detector: CustomDetector) -> Self {
        self.custom.push(detector);
        self
    }

    /// The key for [`Strategy::Hmac`] (at least 16 bytes). Without one,
    /// the `WARDEN_PII_KEY` environment variable is read at build time.
    ///
    /// ```
    /// use warden_pii::{Sanitizer, Strategy};
    ///
    /// let s = Sanitizer::builder()
    ///     .strategy(Strategy::Hmac)
    ///     .hmac_key("a key of at least sixteen bytes")
    ///     .hmac_key_id("k2026")
    ///     .build()?;
    /// // Stable: the same address written two ways gives the same token.
    /// assert_eq!(s.sanitize("ADA@Example.com"), s.sanitize("ada@example.com"));
    /// assert!(s.sanitize("ada@example.com").starts_with("[EMAIL:k2026:"));
    /// # Ok::<(), warden_pii::BuildError>(())
    /// ```
    pub fn hmac_key(mut self, key: impl AsRef<[u8]>) -> Self {
        self.hmac_key = Some(key.as_ref().to_vec());
        self
    }

    /// The key id shown in hashed tokens (default: derived from the key),
    /// so that a key can be rotated and tokens told apart.
    pub fn hmac_key_id(mut self, id: impl Into<String>) -> Self {
        self.hmac_key_id = Some(id.into());
        self
    }

    /// Builds the sanitizer.
    ///
    /// Fails when a kind uses [`Strategy::Hmac`] without a key (never a
    /// silent fallback), when the key is shorter than 16 bytes, or when a
    /// custom pattern does not compile.
    pub fn build(self) -> Result<Sanitizer, BuildError> {
        if let Some((name, kind)) = self.refused_personal.first() {
            return Err(BuildError::NotAPersonalKind {
                name: name.clone(),
                kind: kind.clone(),
            });
        }
        let mut kinds: Vec<PiiKind> = PiiKind::builtins().collect();
        for d in &self.custom {
            let kind = PiiKind::Custom(d.name.clone());
            if d.name.is_empty() || PiiKind::builtins().any(|b| b.name() == &*d.name) {
                return Err(BuildError::InvalidName(d.name.to_string()));
            }
            if !kinds.contains(&kind) {
                kinds.push(kind);
            }
        }
        let strategies: Vec<Strategy> = kinds
            .iter()
            .map(|k| {
                self.strategies
                    .iter()
                    .find(|(kind, _)| kind == k)
                    .map_or(self.default_strategy, |(_, s)| *s)
            })
            .collect();
        let hashed: Vec<&str> = kinds
            .iter()
            .zip(&strategies)
            .filter(|(k, s)| {
                **s == Strategy::Hmac && k.builtin().is_none_or(|b| self.enabled[b as usize])
            })
            .map(|(k, _)| k.name())
            .collect();
        let hmac = if hashed.is_empty() {
            None
        } else {
            let key = match self.hmac_key.clone() {
                Some(key) => key,
                None => std::env::var_os(HMAC_KEY_ENV)
                    .map(|v| v.into_encoded_bytes())
                    .ok_or_else(|| BuildError::MissingHmacKey {
                        kinds: hashed.join(", "),
                    })?,
            };
            if key.len() < HmacKey::MIN_LEN {
                return Err(BuildError::WeakHmacKey {
                    len: key.len(),
                    min: HmacKey::MIN_LEN,
                });
            }
            HmacKey::new(&key, self.hmac_key_id.clone())
        };
        let custom = CustomSet::new(&self.custom, &kinds)?;
        Ok(self.assemble(kinds, strategies, hmac, custom))
    }

    /// Puts a sanitizer together from checked parts.
    pub(super) fn assemble(
        self,
        kinds: Vec<PiiKind>,
        strategies: Vec<Strategy>,
        hmac: Option<HmacKey>,
        custom: Option<CustomSet>,
    ) -> Sanitizer {
        Sanitizer {
            inner: Arc::new(Inner {
                id: warden_core::internal::next_owner(),
                detectors: Detectors::new(
                    self.enabled,
                    SecretKeys::new(&self.secret_keys),
                    SecretKeys::new(PHONE_KEYS),
                    PersonalKeys::new(
                        self.personal_keys.iter().map(|(k, n)| (*k, n.as_str())),
                        &self.not_personal_keys,
                    ),
                    self.local_ips,
                )
                .with_national_off(self.national_off),
                custom,
                counters: Counters::new(kinds.len()),
                strategies,
                placeholders: kinds
                    .iter()
                    .map(|k| format!("[REDACTED:{}]", k.name()))
                    .collect(),
                kinds,
                allow: self.allow.iter().map(|v| v.to_lowercase()).collect(),
                hmac,
            }),
        }
    }
}
