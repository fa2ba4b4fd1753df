//! The national identifier schemes the gate knows, each countable and able
//! to be turned off on its own.

use std::fmt;
use std::str::FromStr;

macro_rules! schemes {
    ($($(#[$doc:meta])* $variant:ident = $name:literal,)*) => {
        /// A national identifier scheme, validated as the scheme defines it
        /// (check digits or letters, embedded birth dates, allowed ranges).
        ///
        /// Values of every scheme are redacted as
        /// [`PiiKind::NationalId`](crate::PiiKind::NationalId); a scheme can
        /// be turned off alone ([`SanitizerBuilder::disable_national_id`](crate::SanitizerBuilder::disable_national_id)),
        /// and each is counted on its own
        /// ([`RedactionCounts::national_id`](crate::RedactionCounts::national_id)).
        /// The US ITIN is redacted as an SSN.
        ///
        /// ```
        /// use warden_pii::NationalIdScheme;
        ///
        /// let bsn: NationalIdScheme = "NL_BSN".parse().unwrap();
        /// assert_eq!(bsn, NationalIdScheme::NlBsn);
        /// assert_eq!(bsn.to_string(), "NL_BSN");
        /// assert_eq!(NationalIdScheme::ALL.len(), 40);
        /// ```
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
        #[non_exhaustive]
        pub enum NationalIdScheme {
            $($(#[$doc])* $variant,)*
        }

        impl NationalIdScheme {
            /// Every scheme, in the order of their bits.
            pub const ALL: &'static [NationalIdScheme] = &[$(NationalIdScheme::$variant,)*];

            /// The scheme's name: its country code and the scheme's own
            /// abbreviation (`NL_BSN`, `BR_CPF`).
            pub fn name(self) -> &'static str {
                match self {
                    $(NationalIdScheme::$variant => $name,)*
                }
            }
        }
    };
}

schemes! {
    /// The Netherlands' burgerservicenummer.
    NlBsn = "NL_BSN",
    /// Portugal's número de identificação fiscal.
    PtNif = "PT_NIF",
    /// Canada's social insurance number.
    CaSin = "CA_SIN",
    /// Australia's tax file number.
    AuTfn = "AU_TFN",
    /// Israel's teudat zehut.
    IlId = "IL_ID",
    /// Chile's rol único tributario.
    ClRut = "CL_RUT",
    /// Bulgaria's EGN.
    BgEgn = "BG_EGN",
    /// The Czech and Slovak rodné číslo.
    CzRc = "CZ_RC",
    /// The UK's NHS number.
    GbNhs = "GB_NHS",
    /// Sweden's personnummer.
    SePersonnummer = "SE_PERSONNUMMER",
    /// Denmark's CPR number.
    DkCpr = "DK_CPR",
    /// Australia's Medicare card number.
    AuMedicare = "AU_MEDICARE",
    /// Poland's PESEL.
    PlPesel = "PL_PESEL",
    /// Germany's Steuer-Identifikationsnummer.
    DeSteuerId = "DE_STEUER_ID",
    /// Turkey's T.C. kimlik numarası.
    TrKimlik = "TR_KIMLIK",
    /// Norway's fødselsnummer.
    NoFodselsnummer = "NO_FODSELSNUMMER",
    /// Estonia's isikukood and Lithuania's asmens kodas.
    EeLtPersonalCode = "EE_LT_PERSONAL_CODE",
    /// Belgium's national register number.
    BeNationalNumber = "BE_NN",
    /// Croatia's OIB.
    HrOib = "HR_OIB",
    /// Greece's AMKA.
    GrAmka = "GR_AMKA",
    /// Brazil's CPF.
    BrCpf = "BR_CPF",
    /// Italy's numeric codice fiscale (a company's partita IVA).
    ItPartitaIva = "IT_PARTITA_IVA",
    /// India's Aadhaar.
    InAadhaar = "IN_AADHAAR",
    /// Japan's My Number.
    JpMyNumber = "JP_MY_NUMBER",
    /// Romania's CNP.
    RoCnp = "RO_CNP",
    /// South Africa's identity number.
    ZaId = "ZA_ID",
    /// South Korea's resident registration number.
    KrRrn = "KR_RRN",
    /// Brazil's CNPJ.
    BrCnpj = "BR_CNPJ",
    /// France's NIR (numéro de sécurité sociale).
    FrNir = "FR_NIR",
    /// China's resident identity card number.
    CnRic = "CN_RIC",
    /// Finland's henkilötunnus.
    FiHetu = "FI_HETU",
    /// Spain's DNI (a person's NIF).
    EsDni = "ES_DNI",
    /// Spain's NIE, and the K, L and M NIF.
    EsNie = "ES_NIE",
    /// Spain's CIF (a company's NIF).
    EsCif = "ES_CIF",
    /// Singapore's NRIC and FIN.
    SgNric = "SG_NRIC",
    /// India's PAN.
    InPan = "IN_PAN",
    /// Italy's codice fiscale of a person.
    ItCodiceFiscale = "IT_CODICE_FISCALE",
    /// Mexico's CURP.
    MxCurp = "MX_CURP",
    /// Mexico's RFC.
    MxRfc = "MX_RFC",
    /// The UK's National Insurance number.
    GbNino = "GB_NINO",
}

impl NationalIdScheme {
    /// The scheme's bit in a set of schemes.
    pub(crate) fn bit(self) -> u64 {
        1 << (self as u32)
    }

    /// The schemes of `set`, in order.
    pub(crate) fn in_set(set: u64) -> impl Iterator<Item = NationalIdScheme> {
        Self::ALL
            .iter()
            .copied()
            .filter(move |s| set & s.bit() != 0)
    }
}

impl fmt::Display for NationalIdScheme {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A name that is no [`NationalIdScheme`]'s.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown national identifier scheme `{0}` (expected a name such as NL_BSN or BR_CPF)")]
pub struct UnknownScheme(pub String);

impl FromStr for NationalIdScheme {
    type Err = UnknownScheme;

    /// Parses a scheme's [`name`](NationalIdScheme::name), in any case.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let wanted = s.trim();
        Self::ALL
            .iter()
            .copied()
            .find(|scheme| scheme.name().eq_ignore_ascii_case(wanted))
            .ok_or_else(|| UnknownScheme(s.to_owned()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_parse_back_and_bits_are_distinct() {
        assert!(NationalIdScheme::ALL.len() <= 64);
        let mut bits = 0u64;
        for &scheme in NationalIdScheme::ALL {
            assert_eq!(scheme.name().parse::<NationalIdScheme>(), Ok(scheme));
            assert_eq!(bits & scheme.bit(), 0);
            bits |= scheme.bit();
        }
        assert_eq!(
            "br_cpf".parse::<NationalIdScheme>(),
            Ok(NationalIdScheme::BrCpf)
        );
        assert!("XX_NOPE".parse::<NationalIdScheme>().is_err());
    }
}
