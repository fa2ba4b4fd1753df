//! Personal data by the name of its field or key: a person's name, a
//! postal address, a date of birth, a national identifier. The value
//! itself has no shape to find it by (`Ada`, `Main Street 5`,
//! `1815-12-10`), so the name decides, compared word by word as secret
//! names are (`customer_first_name`, `lastName`, `address_line1`). A bare
//! `name` (of a service, a span, a metric, a file) is no person's name.

use super::secrets::SecretKeys;
use crate::kind::Builtin;

/// The kinds a field's name alone can give a value, in the order they
/// are tried.
pub(crate) const PERSONAL_KINDS: [Builtin; 5] = [
    Builtin::PersonName,
    Builtin::Address,
    Builtin::DateOfBirth,
    Builtin::NationalId,
    Builtin::Passport,
];

/// Whether names can give values `kind`.
pub(crate) fn is_personal_kind(kind: Builtin) -> bool {
    PERSONAL_KINDS.contains(&kind)
}

/// The default names of each personal kind. Names are compared word by
/// word: `first_name` also matches `customerFirstName` and
/// `billing.first-name`, never `firstname_policy` (a setting) or `name`.
pub(crate) const DEFAULT_PERSONAL_KEYS: [(Builtin, &[&str]); 5] = [
    (
        Builtin::PersonName,
        &[
            "first_name",
            "firstname",
            "last_name",
            "lastname",
            "full_name",
            "fullname",
            "given_name",
            "givenname",
            "family_name",
            "familyname",
            "middle_name",
            "maiden_name",
            "surname",
            "forename",
            "customer_name",
            "contact_name",
            "recipient_name",
            "sender_name",
            "billing_name",
            "shipping_name",
            "patient_name",
            "employee_name",
            "person_name",
            "legal_name",
            "holder_name",
            "cardholder",
            "card_holder",
            "account_holder",
        ],
    ),
    (
        Builtin::Address,
        &[
            "street",
            "address_line",
            "street_address",
            "home_address",
            "billing_address",
            "shipping_address",
            "mailing_address",
            "postal_address",
            "delivery_address",
            "residential_address",
            "house_number",
            "postcode",
            "post_code",
            "postal_code",
            "zipcode",
            "zip_code",
        ],
    ),
    (
        Builtin::DateOfBirth,
        &[
            "dob",
            "date_of_birth",
            "birth_date",
            "birthdate",
            "birthday",
            "geburtsdatum",
            "fecha_de_nacimiento",
            "date_de_naissance",
        ],
    ),
    (
        Builtin::NationalId,
        &[
            "national_id",
            "national_identifier",
            "national_identity",
            "national_insurance_number",
            "social_security_number",
            "social_insurance_number",
            "tax_id",
            "taxpayer_id",
            "tax_number",
            "tax_identification_number",
            "identity_card",
            "identity_number",
            "driver_license",
            "drivers_license",
            "driver_licence",
            "driving_license",
            "driving_licence",
            "nhs_number",
            "nino",
            "bsn",
            "burgerservicenummer",
            "pesel",
            "personnummer",
            "henkilotunnus",
            "fodselsnummer",
            "rodne_cislo",
            "codice_fiscale",
            "steuer_id",
            "steuerid",
            "steueridentifikationsnummer",
            "dni",
            "nie",
            "nif",
            "cnp",
            "egn",
            "oib",
            "amka",
            "tckn",
            "kimlik",
            "cpf",
            "curp",
            "aadhaar",
            "nric",
            "isikukood",
            "asmens_kodas",
            "rfc",
            "rut",
            "cnpj",
            "sin",
            "tfn",
            "rrn",
            "pan_number",
            "my_number",
            "mynumber",
            "teudat_zehut",
            "rijksregisternummer",
            "nir",
            "nss",
            "cpr",
            "hetu",
            "id_number",
            "id_card",
        ],
    ),
    (
        Builtin::Passport,
        &["passport_number", "passport_no", "passport_id"],
    ),
];

/// The names of each personal kind, and the names that are never
/// personal whatever else they match.
#[derive(Clone, Debug)]
pub(crate) struct PersonalKeys {
    /// A filter over the hashes of the names' ends (a one-word name, a
    /// longer one's last two words), each read back from its end as a key
    /// is read back from its delimiter ([`hash_word_back`]).
    bloom: Box<[u64; BLOOM_WORDS]>,
    /// The last three letters of the last words, case folded (row by the
    /// last two, bit by the one before; every bit for a two-letter word):
    /// what most keys fail at once.
    tails: Box<[u32; 1024]>,
    /// Every name of every kind: one test rules most keys out.
    all: SecretKeys,
    /// One set per kind of [`PERSONAL_KINDS`], in its order.
    sets: Vec<(Builtin, SecretKeys)>,
    /// Names that name no personal data (`not_personal_key`).
    never: SecretKeys,
}

impl PersonalKeys {
    /// The sets for `names` (kind, name) and the exclusions `never`.
    pub(crate) fn new<'a>(
        names: impl IntoIterator<Item = (Builtin, &'a str)>,
        never: &[String],
    ) -> Self {
        let mut sets: Vec<(Builtin, SecretKeys)> = PERSONAL_KINDS
            .iter()
            .map(|&kind| (kind, SecretKeys::new(std::iter::empty::<&str>())))
            .collect();
        let mut all = SecretKeys::new(std::iter::empty::<&str>());
        let mut bloom = Box::new([0u64; BLOOM_WORDS]);
        let mut tails = Box::new([0u32; 1024]);
        for (kind, name) in names {
            if let Some((_, set)) = sets.iter_mut().find(|(k, _)| *k == kind) {
                set.add(name);
                all.add(name);
                let b = name.as_bytes();
                let Some(end) = b.iter().rposition(u8::is_ascii_alphabetic).map(|k| k + 1) else {
                    continue;
                };
                // Filed as a key is read: its last word, and the word
                // before it across one separator or a case change.
                let (hash, k) = hash_word_back(b, end, 0, HASH_SEED);
                let mut k2 = k;
                if k2 > 0 && matches!(b[k2 - 1], b'_' | b'.' | b'-') {
                    k2 -= 1;
                }
                let filed = if k2 > 0 && LETTER[usize::from(b[k2 - 1])] != 0 {
                    hash_word_back(b, k2, 0, hash_step(hash, b' ')).0
                } else {
                    hash
                };
                let bit = bloom_bit(filed);
                bloom[bit / 64] |= 1 << (bit % 64);
                if end >= 2 {
                    let row = (usize::from(b[end - 1] & 31) << 5) | usize::from(b[end - 2] & 31);
                    tails[row] |= match end - k {
                        3.. => 1 << (b[end - 3] & 31),
                        _ => u32::MAX,
                    };
                }
            }
        }
        PersonalKeys {
            bloom,
            tails,
            all,
            sets,
            never: SecretKeys::new(never),
        }
    }

    /// The default names, without exclusions.
    #[cfg(test)]
    pub(crate) fn default_names() -> Self {
        Self::new(default_names(), &[])
    }

    /// Whether the key before the delimiter at `d` (read back no further
    /// than `floor`) may name personal data: its last word, or its last two,
    /// read back over a closing quote and trailing digits, pass the filter
    /// over the names (a one-word name, or a longer name's last two words:
    /// `tax id`, `postal code`, so that `order_id` and `status_code` fail
    /// here). A few instructions a letter, for every `=` and `:` of a text.
    #[inline]
    pub(crate) fn may_end_before(&self, b: &[u8], d: usize, floor: usize) -> bool {
        // The common key (`status=`): a letter right before the delimiter,
        // and its last three letters rule it out at once.
        if d >= floor + 3 && LETTER[usize::from(b[d - 1])] != 0 {
            let row = (usize::from(b[d - 1] & 31) << 5) | usize::from(b[d - 2] & 31);
            if self.tails[row] & (1 << (b[d - 3] & 31)) == 0 {
                return false;
            }
        }
        self.may_end_before_read(b, d, floor)
    }

    /// [`may_end_before`](Self::may_end_before) past its first test: a
    /// quoted key, one ending in digits, or one whose last letters pass.
    #[inline(never)]
    fn may_end_before_read(&self, b: &[u8], d: usize, floor: usize) -> bool {
        let mut end = d;
        if end > floor && matches!(b[end - 1], b'"' | b'\'') {
            end -= 1;
        }
        while end > floor && d - end < 4 && b[end - 1].is_ascii_digit() {
            end -= 1;
        }
        if end < floor + 2 {
            return false;
        }
        let (last, before) = (b[end - 1], b[end - 2]);
        let third = if end >= floor + 3 { b[end - 3] } else { 0 };
        let row = (usize::from(last & 31) << 5) | usize::from(before & 31);
        if self.tails[row] & (1 << (third & 31)) == 0 || LETTER[usize::from(last)] == 0 {
            return false;
        }
        let (hash, k) = hash_word_back(b, end, floor, HASH_SEED);
        if self.bloom_has(hash) {
            return true;
        }
        // The word before it, across one separator or a case change.
        let mut k2 = k;
        if k2 > floor && matches!(b[k2 - 1], b'_' | b'.' | b'-') {
            k2 -= 1;
        }
        if k2 == floor || LETTER[usize::from(b[k2 - 1])] == 0 {
            return false;
        }
        let (pair, _) = hash_word_back(b, k2, floor, hash_step(hash, b' '));
        self.bloom_has(pair)
    }

    #[inline]
    fn bloom_has(&self, hash: u32) -> bool {
        let bit = bloom_bit(hash);
        self.bloom[bit / 64] & (1 << (bit % 64)) != 0
    }

    /// The kind `key` names, if it names personal data: it ends as a name
    /// ends (read as a key in text is) and holds that name, and is no
    /// setting about it (`first_name_max_length`).
    pub(crate) fn kind_of(&self, key: &[u8], enabled: impl Fn(Builtin) -> bool) -> Option<Builtin> {
        if !self.may_end_before(key, key.len(), 0) || !self.all.matches_key(key) {
            return None;
        }
        let kind = self
            .sets
            .iter()
            .find(|(kind, set)| enabled(*kind) && set.matches(key))
            .map(|(kind, _)| *kind)?;
        (!self.never.matches(key) && !names_a_setting(key)).then_some(kind)
    }
}

/// 64-bit words of the filter over the names' last words (4,096 bits for
/// a few dozen words: a false pass in about one key of a hundred).
const BLOOM_WORDS: usize = 64;
const HASH_SEED: u32 = 0x811C_9DC5;

/// One step of the hash of a word read backwards, case folded (FNV-1a).
#[inline]
fn hash_step(hash: u32, c: u8) -> u32 {
    (hash ^ u32::from(c | 0x20)).wrapping_mul(0x0100_0193)
}

/// Letters (1 lower case, 2 upper case) and everything else (0), for the
/// read-back of a key's last words.
static LETTER: [u8; 256] = {
    let mut t = [0u8; 256];
    let mut c = 0;
    while c < 256 {
        let b = c as u8;
        t[c] = if b.is_ascii_lowercase() {
            1
        } else if b.is_ascii_uppercase() {
            2
        } else {
            0
        };
        c += 1;
    }
    t
};

/// Hashes the word that ends at `end` (read back no further than `floor`),
/// from `hash` on: its letters back to a non-letter or to the case change
/// that starts it (`last|Name`, and after an acronym, `NHS|Number`).
/// Returns the hash and where the word starts.
#[inline]
fn hash_word_back(b: &[u8], end: usize, floor: usize, mut hash: u32) -> (u32, usize) {
    let mut k = end;
    // The classes of the two letters read before this one (the ones after
    // it in the text), as one state of [`WORD_BACK`].
    let mut state = 0;
    while k > floor && end - k < 32 {
        let c = b[k - 1];
        let next = WORD_BACK[state][usize::from(c)];
        if next == WORD_ENDS {
            break;
        }
        hash = hash_step(hash, c);
        state = usize::from(next);
        k -= 1;
    }
    (hash, k)
}

/// [`WORD_BACK`]'s mark of a byte that ends the word read back.
const WORD_ENDS: u8 = 0xFF;

/// The read-back of [`hash_word_back`] as a table: for each state (the
/// [`LETTER`] classes of the two letters after the byte, `after * 3 +
/// after_that`, 0 before any) and byte, the next state, or [`WORD_ENDS`]
/// when the byte is no letter, a lower-case letter before a capital
/// (`last|Name`), or the last capital of an acronym before a word
/// (`NHS|Number`). One lookup a letter, where the three tests cost
/// several.
static WORD_BACK: [[u8; 256]; 9] = {
    let mut t = [[WORD_ENDS; 256]; 9];
    let mut state = 0;
    while state < 9 {
        let (after, after_that) = (state / 3, state % 3);
        let mut c = 0;
        while c < 256 {
            let class = LETTER[c];
            let acronym_before = class == 2 && after == 2 && after_that == 1;
            if !(class == 0 || (class == 1 && after == 2) || acronym_before) {
                t[state][c] = class * 3 + after as u8;
            }
            c += 1;
        }
        state += 1;
    }
    t
};

#[inline]
fn bloom_bit(hash: u32) -> usize {
    (hash >> 20) as usize % (BLOOM_WORDS * 64)
}

/// Whether `key` names a setting about personal data rather than the data
/// (`first_name_max_length`, `dob_required`, `street_updated`): as for
/// secrets, its last word says so, except the `name` and `id` that end
/// most personal names (`first_name`, `national_id`).
fn names_a_setting(key: &[u8]) -> bool {
    let last = key
        .rsplit(|c| !c.is_ascii_alphanumeric())
        .find(|w| !w.is_empty())
        .unwrap_or_default();
    let own = [&b"name"[..], b"id"]
        .iter()
        .any(|w| last.len() >= w.len() && last[last.len() - w.len()..].eq_ignore_ascii_case(w));
    !own && super::secrets::names_a_setting(key)
}

/// Every default (kind, name) pair.
pub(crate) fn default_names() -> impl Iterator<Item = (Builtin, &'static str)> {
    DEFAULT_PERSONAL_KEYS
        .iter()
        .flat_map(|(kind, names)| names.iter().map(move |name| (*kind, *name)))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The table's read-back against the three tests it replaced, on every
    /// end of texts of letters in both cases, digits and separators.
    #[test]
    fn the_word_table_reads_back_as_the_tests_would() {
        fn by_tests(b: &[u8], end: usize, floor: usize, mut hash: u32) -> (u32, usize) {
            let mut k = end;
            let (mut after, mut after_that) = (0u8, 0u8);
            while k > floor && end - k < 32 {
                let c = b[k - 1];
                let class = LETTER[usize::from(c)];
                let acronym_before = class == 2 && after == 2 && after_that == 1;
                if class == 0 || (class == 1 && after == 2) || acronym_before {
                    break;
                }
                hash = hash_step(hash, c);
                after_that = after;
                after = class;
                k -= 1;
            }
            (hash, k)
        }
        let alphabet = b"aZbYNHSumber_ -9.";
        let mut state = 0x9E37_79B9_7F4A_7C15u64;
        let fixed = [
            "NHSNumber",
            "lastName",
            "first_name",
            "PacketResponder",
            "aBCdE",
        ];
        for round in 0..20_000 {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            let len = (state % 40) as usize;
            let text: Vec<u8> = match fixed.get(round) {
                Some(t) => t.as_bytes().to_vec(),
                None => (0..len)
                    .map(|k| alphabet[((state >> (k % 58)) as usize + k * 7) % alphabet.len()])
                    .collect(),
            };
            let len = text.len();
            for end in 0..=len {
                for floor in [0, end / 2] {
                    assert_eq!(
                        hash_word_back(&text, end, floor, HASH_SEED),
                        by_tests(&text, end, floor, HASH_SEED),
                        "{:?} {end} {floor}",
                        String::from_utf8_lossy(&text)
                    );
                }
            }
        }
    }

    fn kind(key: &str) -> Option<Builtin> {
        PersonalKeys::default_names().kind_of(key.as_bytes(), |_| true)
    }

    #[test]
    fn names_are_compared_word_by_word() {
        for (key, expected) in [
            ("customer_name", Builtin::PersonName),
            ("first_name", Builtin::PersonName),
            ("lastName", Builtin::PersonName),
            ("billing.firstName", Builtin::PersonName),
            ("cardholder", Builtin::PersonName),
            ("CardHolder", Builtin::PersonName),
            ("street", Builtin::Address),
            ("address_line1", Builtin::Address),
            ("addressLine2", Builtin::Address),
            ("postcode", Builtin::Address),
            ("zip_code", Builtin::Address),
            ("dob", Builtin::DateOfBirth),
            ("birth_date", Builtin::DateOfBirth),
            ("dateOfBirth", Builtin::DateOfBirth),
            ("national_id", Builtin::NationalId),
            ("tax_id", Builtin::NationalId),
            ("driver_license", Builtin::NationalId),
            ("customer.nationalId", Builtin::NationalId),
            ("BSN", Builtin::NationalId),
            // An acronym before or as the last word.
            ("NHSNumber", Builtin::NationalId),
            ("customerTaxID", Builtin::NationalId),
            ("userDOB", Builtin::DateOfBirth),
            ("passport_number", Builtin::Passport),
        ] {
            assert_eq!(kind(key), Some(expected), "{key}");
        }
    }

    #[test]
    fn a_bare_name_and_other_things_named_are_not_personal() {
        for key in [
            "name",
            "service_name",
            "span.name",
            "metric_name",
            "file_name",
            "hostname",
            "username",
            "display_name",
            "address",
            "ip_address",
            "remote_address",
            "email_address",
            "zip",
            "street_view_enabled_policy",
            "first_name_max_length",
            "taxonomy",
            "syntax_identifier",
            "passport",
        ] {
            assert_eq!(kind(key), None, "{key}");
        }
    }

    #[test]
    fn the_filter_read_back_from_a_delimiter_passes_every_personal_key() {
        let keys = PersonalKeys::default_names();
        for (name_kind, names) in DEFAULT_PERSONAL_KEYS {
            let _ = name_kind;
            for name in names {
                for text in [
                    format!("{name}="),
                    format!("\"{name}\":"),
                    format!("customer.{name}1="),
                ] {
                    let d = text.len() - 1;
                    assert!(keys.may_end_before(text.as_bytes(), d, 0), "{text}");
                }
            }
        }
        for text in [
            "lastName=",
            "nhsNumber:",
            "dateOfBirth=",
            "taxId=",
            "NHSNumber=",
            "taxID=",
            "userDOB=",
        ] {
            assert!(
                keys.may_end_before(text.as_bytes(), text.len() - 1, 0),
                "{text}"
            );
        }
        let passed = [
            "status=", "bytes=", "cache=", "region=", "worker=", "retry=", "port=",
        ]
        .iter()
        .filter(|t| keys.may_end_before(t.as_bytes(), t.len() - 1, 0))
        .count();
        assert!(passed <= 1, "the filter passes {passed} of 7 ordinary keys");
    }

    #[test]
    fn names_can_be_added_and_taken_out() {
        let keys = PersonalKeys::new(
            default_names().chain([(Builtin::PersonName, "pet_owner")]),
            &["cardholder".to_owned()],
        );
        assert_eq!(
            keys.kind_of(b"pet_owner", |_| true),
            Some(Builtin::PersonName)
        );
        assert_eq!(keys.kind_of(b"cardholder", |_| true), None);
        assert_eq!(
            keys.kind_of(b"first_name", |k| k != Builtin::PersonName),
            None,
            "a disabled kind names nothing"
        );
    }
}
