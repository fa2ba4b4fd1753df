//! The kinds of sensitive value the sanitizer knows.

use std::fmt;
use std::str::FromStr;
use std::sync::Arc;

/// A kind of sensitive value.
///
/// Its [`name`](PiiKind::name) is what a redaction shows:
/// `[REDACTED:EMAIL]`.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum PiiKind {
    /// An email address (`EMAIL`).
    Email,
    /// A telephone number (`PHONE`).
    Phone,
    /// A US Social Security number (`SSN`).
    Ssn,
    /// A payment card number (`CREDIT_CARD`).
    CreditCard,
    /// An IPv4 or IPv6 address (`IP_ADDRESS`).
    IpAddress,
    /// An International Bank Account Number (`IBAN`).
    Iban,
    /// A JSON Web Token (`JWT`).
    Jwt,
    /// A provider API key: AWS, GitHub, GitLab, Slack, Stripe, Google,
    /// OpenAI-style, npm, Hugging Face, SendGrid (`API_KEY`).
    ApiKey,
    /// The credential of a `Bearer` or `Basic` authorization value
    /// (`AUTH_TOKEN`).
    AuthToken,
    /// A PEM private key block (`PRIVATE_KEY`).
    PrivateKey,
    /// A value under a secret-named key or field, such as `password`
    /// (`SECRET`).
    Secret,
    /// A network interface's hardware (MAC) address, in colon, dash or
    /// Cisco dot form (`MAC_ADDRESS`).
    MacAddress,
    /// A passport number, announced by a context word such as `passport`
    /// (`PASSPORT`).
    Passport,
    /// A kind added with a custom detector, by its name.
    Custom(Arc<str>),
}

/// The built-in kinds as a compact index.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[repr(u8)]
pub(crate) enum Builtin {
    Email,
    Phone,
    Ssn,
    CreditCard,
    IpAddress,
    Iban,
    Jwt,
    ApiKey,
    AuthToken,
    PrivateKey,
    Secret,
    MacAddress,
    Passport,
}

impl Builtin {
    pub(crate) const COUNT: usize = 13;
    pub(crate) const ALL: [Builtin; Builtin::COUNT] = [
        Builtin::Email,
        Builtin::Phone,
        Builtin::Ssn,
        Builtin::CreditCard,
        Builtin::IpAddress,
        Builtin::Iban,
        Builtin::Jwt,
        Builtin::ApiKey,
        Builtin::AuthToken,
        Builtin::PrivateKey,
        Builtin::Secret,
        Builtin::MacAddress,
        Builtin::Passport,
    ];

    pub(crate) fn kind(self) -> PiiKind {
        match self {
            Builtin::Email => PiiKind::Email,
            Builtin::Phone => PiiKind::Phone,
            Builtin::Ssn => PiiKind::Ssn,
            Builtin::CreditCard => PiiKind::CreditCard,
            Builtin::IpAddress => PiiKind::IpAddress,
            Builtin::Iban => PiiKind::Iban,
            Builtin::Jwt => PiiKind::Jwt,
            Builtin::ApiKey => PiiKind::ApiKey,
            Builtin::AuthToken => PiiKind::AuthToken,
            Builtin::PrivateKey => PiiKind::PrivateKey,
            Builtin::Secret => PiiKind::Secret,
            Builtin::MacAddress => PiiKind::MacAddress,
            Builtin::Passport => PiiKind::Passport,
        }
    }
}

impl PiiKind {
    /// Every built-in kind.
    pub fn builtins() -> impl Iterator<Item = PiiKind> {
        Builtin::ALL.into_iter().map(Builtin::kind)
    }

    /// The upper-case name shown in redactions: `EMAIL`, `CREDIT_CARD`, or
    /// a custom kind's name.
    pub fn name(&self) -> &str {
        match self {
            PiiKind::Email => "EMAIL",
            PiiKind::Phone => "PHONE",
            PiiKind::Ssn => "SSN",
            PiiKind::CreditCard => "CREDIT_CARD",
            PiiKind::IpAddress => "IP_ADDRESS",
            PiiKind::Iban => "IBAN",
            PiiKind::Jwt => "JWT",
            PiiKind::ApiKey => "API_KEY",
            PiiKind::AuthToken => "AUTH_TOKEN",
            PiiKind::PrivateKey => "PRIVATE_KEY",
            PiiKind::Secret => "SECRET",
            PiiKind::MacAddress => "MAC_ADDRESS",
            PiiKind::Passport => "PASSPORT",
            PiiKind::Custom(name) => name,
        }
    }

    pub(crate) fn builtin(&self) -> Option<Builtin> {
        Builtin::ALL.into_iter().find(|b| b.kind() == *self)
    }
}

impl fmt::Display for PiiKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The error for a name that is no built-in kind.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown PII kind `{0}` (expected one of EMAIL, PHONE, SSN, CREDIT_CARD, IP_ADDRESS, IBAN, JWT, API_KEY, AUTH_TOKEN, PRIVATE_KEY, SECRET, MAC_ADDRESS, PASSPORT)")]
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
        assert!("nope".parse::<PiiKind>().is_err());
        assert_eq!(
            PiiKind::Custom("EMPLOYEE_ID".into()).to_string(),
            "EMPLOYEE_ID"
        );
    }
}
