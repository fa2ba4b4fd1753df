//! The kinds of sensitive value the sanitizer knows.

use std::fmt;
use std::str::FromStr;
use std::sync::Arc;

/// Declares every built-in kind once: its variant, its doc and the name a
/// redaction shows. `PiiKind`, the compact `Builtin` index, the lists and
/// the name maps all come from this one table, so a new kind is one line.
macro_rules! builtin_kinds {
    ($($(#[doc = $doc:literal])+ $variant:ident => $name:literal,)+) => {
        /// A kind of sensitive value.
        ///
        /// Its [`name`](PiiKind::name) is what a redaction shows:
        /// `[REDACTED:EMAIL]`.
        ///
        /// ```
        /// use warden_pii::PiiKind;
        ///
        /// assert_eq!(PiiKind::CreditCard.name(), "CREDIT_CARD");
        /// assert_eq!("credit-card".parse::<PiiKind>(), Ok(PiiKind::CreditCard));
        /// assert_eq!(PiiKind::builtins().count(), 17);
        /// ```
        #[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
        #[non_exhaustive]
        pub enum PiiKind {
            $($(#[doc = $doc])+ $variant,)+
            /// A kind added with a custom detector, by its name.
            Custom(Arc<str>),
        }

        /// The built-in kinds as a compact index.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        #[repr(u8)]
        pub(crate) enum Builtin {
            $($variant,)+
        }

        impl Builtin {
            pub(crate) const COUNT: usize = [$($name,)+].len();
            pub(crate) const ALL: [Builtin; Builtin::COUNT] = [$(Builtin::$variant,)+];

            pub(crate) fn kind(self) -> PiiKind {
                match self {
                    $(Builtin::$variant => PiiKind::$variant,)+
                }
            }
        }

        impl PiiKind {
            /// The upper-case name shown in redactions: `EMAIL`,
            /// `CREDIT_CARD`, or a custom kind's name.
            pub fn name(&self) -> &str {
                match self {
                    $(PiiKind::$variant => $name,)+
                    PiiKind::Custom(name) => name,
                }
            }

            pub(crate) fn builtin(&self) -> Option<Builtin> {
                match self {
                    $(PiiKind::$variant => Some(Builtin::$variant),)+
                    PiiKind::Custom(_) => None,
                }
            }
        }

        /// The built-in kinds' names, for error messages.
        const BUILTIN_NAMES: &str = concat!($($name, " "),+);
    };
}

builtin_kinds! {
    /// An email address (`EMAIL`).
    Email => "EMAIL",
    /// A telephone number (`PHONE`).
    Phone => "PHONE",
    /// A US Social Security number (`SSN`).
    Ssn => "SSN",
    /// A payment card number (`CREDIT_CARD`).
    CreditCard => "CREDIT_CARD",
    /// An IPv4 or IPv6 address (`IP_ADDRESS`).
    IpAddress => "IP_ADDRESS",
    /// An International Bank Account Number (`IBAN`).
    Iban => "IBAN",
    /// A JSON Web Token (`JWT`).
    Jwt => "JWT",
    /// A provider API key: AWS, GitHub, GitLab, Slack, Stripe, Google,
    /// OpenAI-style, npm, Hugging Face, SendGrid (`API_KEY`).
    ApiKey => "API_KEY",
    /// The credential of a `Bearer` or `Basic` authorization value
    /// (`AUTH_TOKEN`).
    AuthToken => "AUTH_TOKEN",
    /// A PEM private key block (`PRIVATE_KEY`).
    PrivateKey => "PRIVATE_KEY",
    /// A value under a secret-named key or field, such as `password`
    /// (`SECRET`).
    Secret => "SECRET",
    /// A network interface's hardware (MAC) address, in colon, dash or
    /// Cisco dot form (`MAC_ADDRESS`).
    MacAddress => "MAC_ADDRESS",
    /// A passport number, announced by a context word such as `passport`
    /// or under a key that names one (`passport_number`) (`PASSPORT`).
    Passport => "PASSPORT",
    /// A person's name, under a field or key that names one (`first_name`,
    /// `customer_name`, `lastName`, `cardholder`; not a bare `name`)
    /// (`PERSON_NAME`).
    PersonName => "PERSON_NAME",
    /// A postal address or a part of one, under a field or key that names
    /// it (`street`, `address_line1`, `postcode`, `shipping_address`)
    /// (`ADDRESS`).
    Address => "ADDRESS",
    /// A date of birth, under a field or key that names one (`dob`,
    /// `birth_date`, `dateOfBirth`) (`DATE_OF_BIRTH`).
    DateOfBirth => "DATE_OF_BIRTH",
    /// A national identifier (identity card, tax, social security or
    /// insurance number, driving licence), under a field or key that names
    /// one (`national_id`, `tax_id`, `bsn`, `driver_license`)
    /// (`NATIONAL_ID`).
    NationalId => "NATIONAL_ID",
}

impl PiiKind {
    /// Every built-in kind.
    ///
    /// ```
    /// use warden_pii::PiiKind;
    ///
    /// let names: Vec<String> = PiiKind::builtins().map(|k| k.name().to_owned()).collect();
    /// assert_eq!(names[..3], ["EMAIL", "PHONE", "SSN"]);
    /// assert!(PiiKind::builtins().any(|k| k == PiiKind::MacAddress));
    /// ```
    pub fn builtins() -> impl Iterator<Item = PiiKind> {
        Builtin::ALL.into_iter().map(Builtin::kind)
    }
}

impl fmt::Display for PiiKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The error for a name that is no built-in kind.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown PII kind `{0}` (expected one of: {names})", names = BUILTIN_NAMES.trim_end())]
pub struct UnknownKind(pub String);

impl FromStr for PiiKind {
    type Err = UnknownKind;

    /// Parses a built-in kind's name, in any case, with `_` or `-`
    /// (`credit-card`, `CREDIT_CARD`, `ip`).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let norm = s.trim().to_ascii_uppercase().replace('-', "_");
        let alias = match norm.as_str() {
            "IP" => "IP_ADDRESS",
            "CARD" => "CREDIT_CARD",
            "API_TOKEN" => "API_KEY",
            "MAC" => "MAC_ADDRESS",
            other => other,
        };
        PiiKind::builtins()
            .find(|k| k.name() == alias)
            .ok_or_else(|| UnknownKind(s.to_owned()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for k in PiiKind::builtins() {
            assert_eq!(k.name().parse::<PiiKind>().unwrap(), k);
            assert_eq!(k.builtin().map(Builtin::kind), Some(k));
        }
        assert_eq!(
            "credit-card".parse::<PiiKind>().unwrap(),
            PiiKind::CreditCard
        );
        assert_eq!("ip".parse::<PiiKind>().unwrap(), PiiKind::IpAddress);
        let err = "nope".parse::<PiiKind>().unwrap_err().to_string();
        assert!(
            err.contains("EMAIL PHONE SSN") && err.ends_with("NATIONAL_ID)"),
            "{err}"
        );
        assert_eq!(
            PiiKind::Custom("EMPLOYEE_ID".into()).to_string(),
            "EMPLOYEE_ID"
        );
    }
}
