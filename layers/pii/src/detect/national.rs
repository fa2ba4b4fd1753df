//! National identifiers written as digits alone, validated as their
//! schemes define them: check digits (weighted sums modulo 11 or 10, Luhn,
//! ISO 7064, Verhoeff, modulo 97) and, where the number holds one, a birth
//! date. A bare run of digits is only taken for one beside a word naming
//! it (`BSN 111222333`, `PESEL: 44051401359`, `national id …`): the check
//! digit alone would pass one random number in ten.

use super::card::luhn_valid as luhn;
use crate::NationalIdScheme;

/// Whether `d` (digit values) is a valid identifier of a scheme whose
/// numbers have its length and are digits alone.
pub(crate) fn valid(d: &[u8]) -> bool {
    let rut = |d: &[u8]| cl_rut(&d[..d.len() - 1], b'0' + d[d.len() - 1]);
    match d.len() {
        8 => rut(d),
        9 => nl_bsn(d) || pt_nif(d) || ca_sin(d) || au_tfn(d) || il_teudat_zehut(d) || rut(d),
        10 => {
            bg_egn(d)
                || cz_rodne_cislo(d)
                || gb_nhs(d)
                || se_personnummer(d)
                || dk_cpr(d)
                || au_medicare(d)
        }
        11 => {
            pl_pesel(d)
                || de_steuer_idnr(d)
                || tr_kimlik(d)
                || no_fodselsnummer(d)
                || ee_lt_isikukood(d)
                || be_national_number(d)
                || hr_oib(d)
                || gr_amka(d)
                || br_cpf(d)
                || it_partita_iva(d)
        }
        12 => in_aadhaar(d) || jp_my_number(d) || se_personnummer_with_century(d),
        13 => ro_cnp(d) || za_id(d) || kr_rrn(d),
        14 => br_cnpj(d),
        15 => fr_nir(d),
        18 => cn_resident_id(d),
        _ => false,
    }
}

/// The schemes under which `value` (an identifier as it was found:
/// `390.533.447-05`, `AB 12 34 56 C`, `131052-308T`) validates, as the bits
/// of [`NationalIdScheme`]: what a hit is counted as, and whether every
/// scheme it may be is turned off. 0 when it validates under none (a
/// value taken whole under a key naming an identifier).
pub(crate) fn schemes_of(value: &[u8]) -> u64 {
    use NationalIdScheme as S;
    let compact: Vec<u8> = value
        .iter()
        .filter(|c| c.is_ascii_alphanumeric() || **c == b'&')
        .map(u8::to_ascii_uppercase)
        .collect();
    let Some(&last) = compact.last() else {
        return 0;
    };
    let mut set = 0;
    let mut add = |scheme: S, ok: bool| {
        if ok {
            set |= scheme.bit();
        }
    };
    let digit_values = |d: &[u8]| d.iter().map(|c| c - b'0').collect::<Vec<u8>>();
    let n = compact.len();
    let all_digits = |d: &[u8]| d.iter().all(u8::is_ascii_digit);
    if all_digits(&compact) {
        let d = digit_values(&compact);
        let rut = |d: &[u8]| cl_rut(&d[..d.len() - 1], b'0' + d[d.len() - 1]);
        match n {
            8 => add(S::ClRut, rut(&d)),
            9 => {
                add(S::NlBsn, nl_bsn(&d));
                add(S::PtNif, pt_nif(&d));
                add(S::CaSin, ca_sin(&d));
                add(S::AuTfn, au_tfn(&d));
                add(S::IlId, il_teudat_zehut(&d));
                add(S::ClRut, rut(&d));
            }
            10 => {
                add(S::BgEgn, bg_egn(&d));
                add(S::CzRc, cz_rodne_cislo(&d));
                add(S::GbNhs, gb_nhs(&d));
                add(S::SePersonnummer, se_personnummer(&d));
                add(S::DkCpr, dk_cpr(&d));
                add(S::AuMedicare, au_medicare(&d));
            }
            11 => {
                add(S::PlPesel, pl_pesel(&d));
                add(S::DeSteuerId, de_steuer_idnr(&d));
                add(S::TrKimlik, tr_kimlik(&d));
                add(S::NoFodselsnummer, no_fodselsnummer(&d));
                add(S::EeLtPersonalCode, ee_lt_isikukood(&d));
                add(S::BeNationalNumber, be_national_number(&d));
                add(S::HrOib, hr_oib(&d));
                add(S::GrAmka, gr_amka(&d));
                add(S::BrCpf, br_cpf(&d));
                add(S::ItPartitaIva, it_partita_iva(&d));
            }
            12 => {
                add(S::InAadhaar, in_aadhaar(&d));
                add(S::JpMyNumber, jp_my_number(&d));
                add(S::SePersonnummer, se_personnummer_with_century(&d));
            }
            13 => {
                add(S::RoCnp, ro_cnp(&d));
                add(S::ZaId, za_id(&d));
                add(S::KrRrn, kr_rrn(&d));
            }
            14 => add(S::BrCnpj, br_cnpj(&d)),
            15 => add(S::FrNir, fr_nir(&d)),
            18 => add(S::CnRic, cn_resident_id(&d)),
            _ => {}
        }
        // Finland's henkilötunnus with `-` or `+` and a digit check.
        if n == 10 && value.len() == 11 && matches!(value[6], b'-' | b'+') {
            add(S::FiHetu, fi_hetu(&d[..6], &d[6..9], compact[9]));
        }
        return set;
    }
    let body = &compact[..n - 1];
    if all_digits(body) {
        let d = digit_values(body);
        match n - 1 {
            17 => add(
                S::CnRic,
                last == b'X' && cn_check(&d) == 10 && day_of_month(two(&d, 12), two(&d, 10)),
            ),
            7 | 8 => {
                add(S::ClRut, cl_rut(&d, last));
                add(S::EsDni, n - 1 == 8 && es_dni(&d, last));
            }
            9 => add(
                S::FiHetu,
                value.len() == 11 && fi_hetu(&d[..6], &d[6..9], last),
            ),
            _ => {}
        }
    }
    // Finland's henkilötunnus with a letter for its century.
    if n == 11 && value.len() == 11 && all_digits(&compact[..6]) && all_digits(&compact[7..10]) {
        let d = digit_values(&compact[..6]);
        let serial = digit_values(&compact[7..10]);
        add(S::FiHetu, fi_hetu(&d, &serial, last));
    }
    match n {
        9 if all_digits(&compact[1..8]) => {
            let d = digit_values(&compact[1..8]);
            let (prefix, letter) = (compact[0], last);
            let with = |lead: u8| [&[lead][..], &d[..]].concat();
            add(
                S::EsNie,
                match prefix {
                    b'X' | b'Y' | b'Z' => es_dni(&with(prefix - b'X'), letter),
                    b'K' | b'L' | b'M' => es_dni(&with(0), letter),
                    _ => false,
                },
            );
            add(
                S::SgNric,
                matches!(prefix, b'S' | b'T' | b'F' | b'G') && sg_nric(prefix, &d, letter),
            );
            add(S::EsCif, match_es_cif(&compact, 0).is_some());
        }
        9 => add(
            S::GbNino,
            gb_nino_prefix(compact[0], compact[1])
                && all_digits(&compact[2..8])
                && matches!(last, b'A'..=b'D'),
        ),
        _ => {}
    }
    if n == 10 {
        let shape = compact[..5].iter().all(u8::is_ascii_uppercase)
            && all_digits(&compact[5..9])
            && last.is_ascii_uppercase();
        add(S::InPan, shape && b"ABCFGHLJPT".contains(&compact[3]));
    }
    if n == 16 {
        add(S::ItCodiceFiscale, it_codice_fiscale(&compact));
    }
    if n == 18 {
        add(S::MxCurp, mx_curp(&compact));
    }
    if (12..=13).contains(&n) {
        add(S::MxRfc, match_rfc(&compact, n - 9, 0).is_some());
    }
    set
}

/// Whether a run of `len` digits followed by `next` may start a national
/// identifier in its scheme's own written form (one test for most runs).
#[inline]
pub(crate) fn may_start_written_form(b: &[u8], s: usize, len: usize, next: Option<u8>) -> bool {
    // The dotted forms (`76.086.428-5`, `390.533.447-05`,
    // `16.727.230/0001-97`) have a second dot four bytes after the first:
    // not a decimal (`12.4ms`) or a version.
    if next == Some(b'.') {
        return len <= 3 && b.get(s + len + 4) == Some(&b'.');
    }
    // Canada's SIN in its groups (`046-454-286`, `123 456 782`): the
    // same separator again four bytes on.
    if len == 3 && matches!(next, Some(b' ' | b'-')) {
        // Not the tail of a longer dashed name (`calvisitor-10-105-163-202`).
        return b.get(s + 7) == next.as_ref()
            && (s == 0 || !matches!(b[s - 1], b'-' | b'.' | b'+' | b'('))
            && b.get(s + 4..s + 7)
                .is_some_and(|g| g.iter().all(u8::is_ascii_digit));
    }
    matches!(
        (len, next),
        (6, Some(b'-' | b'+' | b'/' | b'A'..=b'F' | b'U'..=b'Y' | b'a'..=b'f' | b'u'..=b'y'))
            | (7, Some(b'-'))
            | (8, Some(b'A'..=b'Z' | b'a'..=b'z' | b'-'))
            | (17, Some(b'X' | b'x'))
    )
}

/// A national identifier in its scheme's own written form, starting at the
/// digit `s`: a form distinctive enough, once validated, to be found
/// without a word naming it. Returns its end. The forms: Brazil's CPF
/// `390.533.447-05`; Sweden's personnummer `880320-0016`; South Korea's
/// RRN `971013-9019902`; Finland's henkilötunnus `131052-308T`; the Czech
/// and Slovak rodné číslo `710319/2745`; Spain's DNI `54362315K` (or
/// `54362315-K`); China's resident ID ending in `X`.
pub(crate) fn match_written_form(b: &[u8], s: usize) -> Option<usize> {
    let digits_at = |at: usize, n: usize| {
        b.get(at..at + n)
            .filter(|run| run.iter().all(u8::is_ascii_digit))
            .map(|run| run.iter().map(|c| c - b'0').collect::<Vec<u8>>())
    };
    let after_ok = |end: usize| !b.get(end).is_some_and(|c| c.is_ascii_alphanumeric());
    let run = b[s..].iter().take_while(|c| c.is_ascii_digit()).count();
    let next = b.get(s + run).copied();
    match (run, next) {
        // CNPJ: dd.ddd.ddd/dddd-dd
        (2, Some(b'.')) if b.get(s + 10) == Some(&b'/') => {
            let shape = b.get(s + 6) == Some(&b'.') && b.get(s + 15) == Some(&b'-');
            if !shape {
                return None;
            }
            let mut d = Vec::with_capacity(14);
            for (at, n) in [(s, 2), (s + 3, 3), (s + 7, 3), (s + 11, 4), (s + 16, 2)] {
                d.extend(digits_at(at, n)?);
            }
            (shape && after_ok(s + 18) && br_cnpj(&d)).then_some(s + 18)
        }
        // RUT: d.ddd.ddd-c or dd.ddd.ddd-c (c a digit or K)
        (1 | 2, Some(b'.')) => {
            let at = s + run;
            let shape = b.get(at + 4) == Some(&b'.') && b.get(at + 8) == Some(&b'-');
            if !shape {
                return None;
            }
            let mut d = digits_at(s, run)?;
            d.extend(digits_at(at + 1, 3)?);
            d.extend(digits_at(at + 5, 3)?);
            let check = *b.get(at + 9)?;
            (shape && after_ok(at + 10) && cl_rut(&d, check)).then_some(at + 10)
        }
        // SIN: ddd ddd ddd or ddd-ddd-ddd, one separator throughout.
        (3, Some(sep @ (b' ' | b'-'))) => {
            // Not a longer grouping (`123 456 782 9`).
            let more = b.get(s + 11) == Some(&sep) && b.get(s + 12).is_some_and(u8::is_ascii_digit);
            let shape = b.get(s + 7) == Some(&sep)
                && !more
                && !b.get(s + 11).is_some_and(u8::is_ascii_alphanumeric);
            let groups = [s, s + 4, s + 8];
            let digits = |at: usize| {
                b.get(at..at + 3)
                    .is_some_and(|g| g.iter().all(u8::is_ascii_digit))
            };
            if !shape || !groups.iter().all(|&at| digits(at)) {
                return None;
            }
            let mut d = [0u8; 9];
            for (k, &at) in groups.iter().enumerate() {
                for j in 0..3 {
                    d[k * 3 + j] = b[at + j] - b'0';
                }
            }
            let before_ok = s == 0 || !matches!(b[s - 1], b'0'..=b'9' | b'-' | b'+' | b'(' | b'.');
            (before_ok && ca_sin(&d)).then_some(s + 11)
        }
        (3, Some(b'.')) => {
            // CPF: ddd.ddd.ddd-dd
            let shape = b.get(s + 7) == Some(&b'.') && b.get(s + 11) == Some(&b'-');
            if !shape {
                return None;
            }
            let mut d = Vec::with_capacity(11);
            for (at, n) in [(s, 3), (s + 4, 3), (s + 8, 3), (s + 12, 2)] {
                d.extend(digits_at(at, n)?);
            }
            (shape && after_ok(s + 14) && br_cpf(&d)).then_some(s + 14)
        }
        (6, Some(sep)) => {
            let head = digits_at(s, 6)?;
            let tail_run = b[s + 7..].iter().take_while(|c| c.is_ascii_digit()).count();
            let end = s + 7 + tail_run;
            let with = |tail: Vec<u8>| [head.clone(), tail].concat();
            match (sep, tail_run) {
                (b'-' | b'+', 4) if after_ok(end) => {
                    // Sweden's personnummer, or Finland's henkilötunnus
                    // whose check character is a digit.
                    let tail = digits_at(s + 7, 4)?;
                    (se_personnummer(&with(tail.clone()))
                        || fi_hetu(&head, &tail[..3], b'0' + tail[3]))
                    .then_some(end)
                }
                (b'-', 7) if after_ok(end) => kr_rrn(&with(digits_at(s + 7, 7)?)).then_some(end),
                (b'/', 4) if after_ok(end) => {
                    cz_rodne_cislo(&with(digits_at(s + 7, 4)?)).then_some(end)
                }
                (b'A'..=b'F' | b'U'..=b'Y' | b'a'..=b'f' | b'u'..=b'y', 4) if after_ok(end) => {
                    let tail = digits_at(s + 7, 4)?;
                    fi_hetu(&head, &tail[..3], b'0' + tail[3]).then_some(end)
                }
                (b'-' | b'+' | b'A'..=b'F' | b'U'..=b'Y' | b'a'..=b'f' | b'u'..=b'y', 3) => {
                    let check = b.get(end)?.to_ascii_uppercase();
                    let serial = digits_at(s + 7, 3)?;
                    (after_ok(end + 1) && fi_hetu(&head, &serial, check)).then_some(end + 1)
                }
                _ => None,
            }
        }
        (7 | 8, Some(c)) => {
            let (letter, end) = if c == b'-' {
                (*b.get(s + run + 1)?, s + run + 2)
            } else {
                (c, s + run + 1)
            };
            let d = digits_at(s, run)?;
            // Spain's DNI, its letter in either case (`55555555k`).
            let dni =
                run == 8 && letter.is_ascii_alphabetic() && es_dni(&d, letter.to_ascii_uppercase());
            // RUT without its dots: ddddddd-c or dddddddd-c.
            let rut = c == b'-' && cl_rut(&d, letter);
            ((dni || rut) && after_ok(end)).then_some(end)
        }
        (17, Some(b'X' | b'x')) => {
            let d = digits_at(s, 17)?;
            (after_ok(s + 18) && cn_check(&d) == 10 && day_of_month(two(&d, 12), two(&d, 10)))
                .then_some(s + 18)
        }
        _ => None,
    }
}

/// Whether the text at `s` has the shape of Brazil's CPF
/// (`ddd.ddd.ddd-dd`), valid or not: a shape no phone number is written in.
pub(crate) fn is_cpf_shaped(b: &[u8], s: usize) -> bool {
    b.get(s..s + 14).is_some_and(|t| {
        t.iter().enumerate().all(|(k, c)| match k {
            3 | 7 => *c == b'.',
            11 => *c == b'-',
            _ => c.is_ascii_digit(),
        })
    }) && !b.get(s + 14).is_some_and(u8::is_ascii_alphanumeric)
}

/// A national identifier that starts with letters, in its scheme's
/// written form, whose first `letters` letters start at `s` (a digit
/// follows them): Spain's NIE `X2482300W`, Singapore's NRIC and FIN
/// `S1234567D`, India's PAN `ACUPA7085R`, Italy's codice fiscale
/// `RCCMNL83S18D969H`, the UK's National Insurance number `AB123456C`.
/// Returns its end.
pub(crate) fn match_letter_form(b: &[u8], s: usize, letters: usize) -> Option<usize> {
    let upper = |k: usize| b.get(k).is_some_and(u8::is_ascii_uppercase);
    let digits_at = |at: usize, n: usize| {
        b.get(at..at + n)
            .filter(|run| run.iter().all(u8::is_ascii_digit))
            .map(|run| run.iter().map(|c| c - b'0').collect::<Vec<u8>>())
    };
    let after_ok = |end: usize| !b.get(end).is_some_and(|c| c.is_ascii_alphanumeric());
    // A NIE in lower case (`x9613851n`), as a DNI may be written.
    let nie = letters == 1 && matches!(b[s], b'x' | b'y' | b'z');
    if !nie && !(s..s + letters).all(upper) {
        return None;
    }
    match letters {
        1 => {
            let d = digits_at(s + 1, 7)?;
            // The letter, after a dash for a NIE (`Y8063915-Z`).
            let dash = b.get(s + 8) == Some(&b'-') && matches!(b[s], b'X' | b'Y' | b'Z');
            let at = s + 8 + usize::from(dash);
            let (letter, end) = (*b.get(at)?, at + 1);
            let letter_ok = if nie {
                letter.is_ascii_lowercase()
            } else {
                letter.is_ascii_uppercase()
            };
            if !letter_ok || !after_ok(end) {
                return None;
            }
            let letter = letter.to_ascii_uppercase();
            let valid = match b[s].to_ascii_uppercase() {
                // NIE: the letter stands for a leading digit, then as DNI.
                prefix @ (b'X' | b'Y' | b'Z') => {
                    let lead = prefix - b'X';
                    es_dni(&[&[lead][..], &d[..]].concat(), letter)
                }
                prefix @ (b'S' | b'T' | b'F' | b'G') => sg_nric(prefix, &d, letter),
                // Spain's NIF for a person without a DNI: K, L or M, then
                // seven digits checked as a DNI's.
                b'K' | b'L' | b'M' => es_dni(&[&[0][..], &d[..]].concat(), letter),
                _ => false,
            };
            valid.then_some(end)
        }
        2 => {
            // NINO: two prefix letters, six digits, a suffix A to D.
            digits_at(s + 2, 6)?;
            let suffix = *b.get(s + 8)?;
            (gb_nino_prefix(b[s], b[s + 1]) && matches!(suffix, b'A'..=b'D') && after_ok(s + 9))
                .then_some(s + 9)
        }
        4 => {
            // CURP: four letters, the birth date, sex, state, three
            // consonants, a character and the check digit.
            let code = b.get(s..s + 18)?;
            (after_ok(s + 18) && mx_curp(code)).then_some(s + 18)
        }
        5 => {
            // PAN: five letters (the fourth the holder's type), four
            // digits, a letter.
            let d = digits_at(s + 5, 4)?;
            let last = *b.get(s + 9)?;
            (b"ABCFGHLJPT".contains(&b[s + 3])
                && d.iter().any(|&x| x != 0)
                && last.is_ascii_uppercase()
                && after_ok(s + 10))
            .then_some(s + 10)
        }
        6 => {
            let code = b.get(s..s + 16)?;
            (after_ok(s + 16) && it_codice_fiscale(code)).then_some(s + 16)
        }
        _ => None,
    }
}

/// The states of Mexico as a CURP writes them (`NE`: born abroad).
const MX_STATES: [[u8; 2]; 33] = [
    *b"AS", *b"BC", *b"BS", *b"CC", *b"CH", *b"CL", *b"CM", *b"CS", *b"DF", *b"DG", *b"GR", *b"GT",
    *b"HG", *b"JC", *b"MC", *b"MN", *b"MS", *b"NE", *b"NL", *b"NT", *b"OC", *b"PL", *b"QR", *b"QT",
    *b"SL", *b"SP", *b"SR", *b"TC", *b"TL", *b"TS", *b"VZ", *b"YN", *b"ZS",
];

/// The words a CURP or RFC never starts with: the schemes replace them.
const MX_WORDS: [[u8; 4]; 81] = [
    *b"BACA", *b"BAKA", *b"BUEI", *b"BUEY", *b"CACA", *b"CACO", *b"CAGA", *b"CAGO", *b"CAKA",
    *b"CAKO", *b"COGE", *b"COGI", *b"COJA", *b"COJE", *b"COJI", *b"COJO", *b"COLA", *b"CULO",
    *b"FALO", *b"FETO", *b"GETA", *b"GUEI", *b"GUEY", *b"JETA", *b"JOTO", *b"KACA", *b"KACO",
    *b"KAGA", *b"KAGO", *b"KAKA", *b"KAKO", *b"KOGE", *b"KOGI", *b"KOJA", *b"KOJE", *b"KOJI",
    *b"KOJO", *b"KOLA", *b"KULO", *b"LILO", *b"LOCA", *b"LOCO", *b"LOKA", *b"LOKO", *b"MAME",
    *b"MAMO", *b"MEAR", *b"MEAS", *b"MEON", *b"MIAR", *b"MION", *b"MOCO", *b"MOKO", *b"MULA",
    *b"MULO", *b"NACA", *b"NACO", *b"PEDA", *b"PEDO", *b"PENE", *b"PIPI", *b"PITO", *b"POPO",
    *b"PUTA", *b"PUTO", *b"QULO", *b"RATA", *b"ROBA", *b"ROBE", *b"ROBO", *b"RUIN", *b"SENO",
    *b"TETA", *b"VACA", *b"VAGA", *b"VAGO", *b"VAKA", *b"VUEI", *b"VUEY", *b"WUEI", *b"WUEY",
];

/// Mexico's RFC (registro federal de contribuyentes) whose date starts at
/// the digit `i`, after three letters (a company's) or four (a person's),
/// `&` among them: `GODE561231GR8`, `ABC990101AB1`, also written in groups
/// (`GODE 561231 GR8`). Returns its start, its end, and whether its check
/// character holds (else it is only taken beside a word naming it).
pub(crate) fn match_rfc(b: &[u8], i: usize, floor: usize) -> Option<(usize, usize, bool)> {
    let spaced = i > floor && b[i - 1] == b' ';
    let letters_end = if spaced { i - 1 } else { i };
    let is_letter = |c: u8| c.is_ascii_uppercase() || c == b'&';
    let mut s = letters_end;
    while s > floor && letters_end - s < 5 && is_letter(b[s - 1]) {
        s -= 1;
    }
    let letters = letters_end - s;
    if !(3..=4).contains(&letters) || (s > 0 && b[s - 1].is_ascii_alphanumeric()) {
        return None;
    }
    let date = b.get(i..i + 6)?;
    if !date.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let d: Vec<u8> = date.iter().map(|c| c - b'0').collect();
    if !day_of_month(two(&d, 4), two(&d, 2)) {
        return None;
    }
    if let [a, b2, c, d4] = b[s..letters_end] {
        if RFC_WORDS.contains(&[a, b2, c, d4]) {
            return None;
        }
    }
    let mut h = i + 6;
    if spaced {
        if b.get(h) != Some(&b' ') {
            return None;
        }
        h += 1;
    }
    let homoclave = b.get(h..h + 3)?;
    if !homoclave
        .iter()
        .all(|c| c.is_ascii_digit() || c.is_ascii_uppercase())
        || b.get(h + 3).is_some_and(u8::is_ascii_alphanumeric)
    {
        return None;
    }
    let mut code = [b' '; 12];
    let body: Vec<u8> = b[s..letters_end]
        .iter()
        .chain(date)
        .chain(&homoclave[..2])
        .copied()
        .collect();
    code[12 - body.len()..].copy_from_slice(&body);
    // The homoclave's alphabet (`[1-9A-V][1-9A-Z]`), then its check.
    let (h1, h2) = (homoclave[0], homoclave[1]);
    let alphabet =
        matches!(h1, b'1'..=b'9' | b'A'..=b'V') && matches!(h2, b'1'..=b'9' | b'A'..=b'Z');
    Some((s, h + 3, alphabet && mx_rfc_check(&code) == homoclave[2]))
}

/// The words a person's RFC never starts with (the scheme replaces them).
const RFC_WORDS: [[u8; 4]; 41] = [
    *b"BUEI", *b"BUEY", *b"CACA", *b"CACO", *b"CAGA", *b"CAGO", *b"CAKA", *b"CAKO", *b"COGE",
    *b"COJA", *b"COJE", *b"COJI", *b"COJO", *b"CULO", *b"FETO", *b"GUEY", *b"JOTO", *b"KACA",
    *b"KACO", *b"KAGA", *b"KAGO", *b"KAKA", *b"KOGE", *b"KOJO", *b"KULO", *b"MAME", *b"MAMO",
    *b"MEAR", *b"MEAS", *b"MEON", *b"MION", *b"MOCO", *b"MULA", *b"PEDA", *b"PEDO", *b"PENE",
    *b"PUTA", *b"PUTO", *b"QULO", *b"RATA", *b"RUIN",
];

/// The check character of an RFC's first twelve characters (padded on
/// the left with spaces).
fn mx_rfc_check(code: &[u8; 12]) -> u8 {
    const ALPHABET: &[u8] = b"0123456789ABCDEFGHIJKLMN&OPQRSTUVWXYZ ";
    let sum: usize = code
        .iter()
        .enumerate()
        .map(|(i, c)| ALPHABET.iter().position(|a| a == c).unwrap_or(0) * (13 - i))
        .sum();
    ALPHABET[(11 - sum % 11) % 11]
}

/// Spain's NIF of a company (CIF): a letter for its kind, seven digits and
/// a control digit or letter. Random codes pass one time in ten, so it is
/// only taken beside a word naming it. `s` is the letter.
pub(crate) fn match_es_cif(b: &[u8], s: usize) -> Option<usize> {
    let kind = *b.get(s)?;
    if !b"ABCDEFGHJNPQRSUVW".contains(&kind) {
        return None;
    }
    let d = b.get(s + 1..s + 8)?;
    if !d.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let d: Vec<u8> = d.iter().map(|c| c - b'0').collect();
    let control = *b.get(s + 8)?;
    if b.get(s + 9).is_some_and(u8::is_ascii_alphanumeric) {
        return None;
    }
    let odd: u32 = d
        .iter()
        .step_by(2)
        .map(|&x| {
            let twice = u32::from(x) * 2;
            twice / 10 + twice % 10
        })
        .sum();
    let even: u32 = d.iter().skip(1).step_by(2).map(|&x| u32::from(x)).sum();
    let check = (10 - (odd + even) % 10) % 10;
    let ok = control == b'0' + check as u8 || control == b"JABCDEFGHI"[check as usize];
    ok.then_some(s + 9)
}

/// Mexico's CURP: its shape, state, birth date and check digit.
fn mx_curp(code: &[u8]) -> bool {
    const ALPHABET: &[u8] = b"0123456789ABCDEFGHIJKLMN&OPQRSTUVWXYZ";
    let shape = code[..4].iter().all(u8::is_ascii_uppercase)
        && code[4..10].iter().all(u8::is_ascii_digit)
        && b"HMX".contains(&code[10])
        && code[11..16].iter().all(u8::is_ascii_uppercase)
        && code[16].is_ascii_alphanumeric()
        && code[17].is_ascii_digit();
    if !shape
        || !MX_STATES.contains(&[code[11], code[12]])
        || MX_WORDS.contains(&[code[0], code[1], code[2], code[3]])
    {
        return false;
    }
    let date: Vec<u8> = code[4..10].iter().map(|c| c - b'0').collect();
    let mut sum = 0u32;
    for (i, c) in code[..17].iter().enumerate() {
        let Some(value) = ALPHABET.iter().position(|a| a == c) else {
            return false;
        };
        sum += value as u32 * (18 - i as u32);
    }
    (10 - sum % 10) % 10 == u32::from(code[17] - b'0') && day_of_month(two(&date, 4), two(&date, 2))
}

/// Brazil's CNPJ (a company's number, listed with the CPF): two modulus
/// 11 check digits.
fn br_cnpj(d: &[u8]) -> bool {
    let check = |sum: u32| (11 - sum % 11) % 11 % 10;
    let d1 = check(weighted(&d[..12], &[5, 4, 3, 2, 9, 8, 7, 6, 5, 4, 3, 2]));
    let d2 = check(weighted(&d[..13], &[6, 5, 4, 3, 2, 9, 8, 7, 6, 5, 4, 3, 2]));
    d.iter().any(|&x| x != d[0]) && d1 == u32::from(d[12]) && d2 == u32::from(d[13])
}

/// Chile's RUT (rol único tributario): the body's weighted sum modulo 11,
/// `K` for 10.
fn cl_rut(body: &[u8], check: u8) -> bool {
    let sum: u32 = body
        .iter()
        .rev()
        .enumerate()
        .map(|(i, &x)| u32::from(x) * (9 - (i as u32 % 6)))
        .sum();
    b"0123456789K"[(sum % 11) as usize] == check
}

/// Australia's Medicare card number (ten digits: the card's eight, its
/// check digit, an issue number).
fn au_medicare(d: &[u8]) -> bool {
    (2..=6).contains(&d[0]) && weighted(&d[..8], &[1, 3, 7, 9, 1, 3, 7, 9]) % 10 == u32::from(d[8])
}

/// The UK's National Insurance number written in groups (`AB 12 34 56
/// C`), whose first group of digits starts at `s` after a space: its
/// start and end.
pub(crate) fn match_spaced_nino(b: &[u8], s: usize) -> Option<(usize, usize)> {
    let start = s.checked_sub(3)?;
    let (p1, p2) = (b[start], b[start + 1]);
    let word_start = start == 0 || !b[start - 1].is_ascii_alphanumeric();
    let groups = (0..3).all(|g| {
        let at = s + g * 3;
        b.get(at..at + 2)
            .is_some_and(|two| two.iter().all(u8::is_ascii_digit))
            && (g == 2 || b.get(at + 2) == Some(&b' '))
    });
    let suffix_at = s + 8;
    let ok = word_start
        && p1.is_ascii_uppercase()
        && p2.is_ascii_uppercase()
        && gb_nino_prefix(p1, p2)
        && groups
        && b.get(suffix_at) == Some(&b' ')
        && b.get(suffix_at + 1)
            .is_some_and(|c| matches!(c, b'A'..=b'D'))
        && !b.get(suffix_at + 2).is_some_and(u8::is_ascii_alphanumeric);
    ok.then_some((start, suffix_at + 2))
}

/// Singapore's NRIC and FIN check letter.
fn sg_nric(prefix: u8, d: &[u8], letter: u8) -> bool {
    let offset = if matches!(prefix, b'T' | b'G') { 4 } else { 0 };
    let sum = weighted(d, &[2, 7, 6, 5, 4, 3, 2]) + offset;
    let letters: &[u8; 11] = if matches!(prefix, b'S' | b'T') {
        b"JZIHGFEDCBA"
    } else {
        b"XWUTRQPNMLK"
    };
    letters[(sum % 11) as usize] == letter
}

/// Whether two letters may start a UK National Insurance number.
fn gb_nino_prefix(a: u8, b: u8) -> bool {
    !b"DFIQUV".contains(&a)
        && !b"DFIOQUV".contains(&b)
        && ![*b"BG", *b"GB", *b"NK", *b"KN", *b"TN", *b"NT", *b"ZZ"].contains(&[a, b])
}

/// Italy's codice fiscale for a person: six letters, the birth year,
/// month letter and day (digits that may be letters where the code was
/// made unique), the place, and the check letter.
fn it_codice_fiscale(code: &[u8]) -> bool {
    // The values of odd positions (1st, 3rd, …) for 0-9 and A-Z alike.
    const ODD: [u32; 26] = [
        1, 0, 5, 7, 9, 13, 15, 17, 19, 21, 2, 4, 18, 20, 11, 3, 6, 8, 12, 14, 16, 10, 22, 25, 24,
        23,
    ];
    let digit_like = |c: u8| c.is_ascii_digit() || b"LMNPQRSTUV".contains(&c);
    let shape = code[..6].iter().all(u8::is_ascii_uppercase)
        && code[6..8].iter().all(|&c| digit_like(c))
        && b"ABCDEHLMPRST".contains(&code[8])
        && code[9..11].iter().all(|&c| digit_like(c))
        && code[11].is_ascii_uppercase()
        && code[12..15].iter().all(|&c| digit_like(c))
        && code[15].is_ascii_uppercase();
    // Omocodia: a digit replaced by a letter, to tell namesakes apart.
    let digit = |c: u8| match c {
        b'0'..=b'9' => c - b'0',
        _ => b"LMNPQRSTUV"
            .iter()
            .position(|&l| l == c)
            .map_or(0, |p| p as u8),
    };
    // The day of birth, plus 40 for a woman.
    let day = digit(code[9]) * 10 + digit(code[10]);
    if !shape || !matches!(day, 1..=31 | 41..=71) {
        return false;
    }
    let value = |c: u8| -> usize {
        if c.is_ascii_digit() {
            usize::from(c - b'0')
        } else {
            usize::from(c - b'A')
        }
    };
    let sum: u32 = code[..15]
        .iter()
        .enumerate()
        .map(|(i, &c)| {
            if i % 2 == 0 {
                ODD[value(c)]
            } else {
                value(c) as u32
            }
        })
        .sum();
    u32::from(code[15] - b'A') == sum % 26
}

/// Finland's henkilötunnus: `ddmmyy`, a century sign, a serial and a
/// check character (the nine digits modulo 31).
fn fi_hetu(date: &[u8], serial: &[u8], check: u8) -> bool {
    const CHECKS: &[u8; 31] = b"0123456789ABCDEFHJKLMNPRSTUVWXY";
    let n = number(date) * 1000 + number(serial);
    CHECKS[(n % 31) as usize] == check && day_of_month(two(date, 0), two(date, 2))
}

/// Spain's DNI: eight digits and the letter of their number modulo 23.
fn es_dni(d: &[u8], letter: u8) -> bool {
    const LETTERS: &[u8; 23] = b"TRWAGMYFPDXBNJZSQVHLCKE";
    LETTERS[(number(d) % 23) as usize] == letter
}

/// The sum of `d`'s digits times `weights`, pairwise.
fn weighted(d: &[u8], weights: &[u32]) -> u32 {
    d.iter().zip(weights).map(|(&x, &w)| u32::from(x) * w).sum()
}

/// The number `d` spells.
fn number(d: &[u8]) -> u64 {
    d.iter().fold(0, |n, &x| n * 10 + u64::from(x))
}

/// ISO 7064 MOD 11,10 over the whole number (its last digit the check).
fn mod_11_10(d: &[u8]) -> bool {
    let mut p = 10u32;
    for &x in &d[..d.len() - 1] {
        let s = (u32::from(x) + p) % 10;
        p = (if s == 0 { 10 } else { s } * 2) % 11;
    }
    (11 - p) % 10 == u32::from(d[d.len() - 1])
}

/// Whether `dd`, `mm` make a day of a month (any year).
fn day_of_month(dd: u8, mm: u8) -> bool {
    let days = match mm {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 => 29,
        _ => return false,
    };
    (1..=days).contains(&dd)
}

fn two(d: &[u8], at: usize) -> u8 {
    d[at] * 10 + d[at + 1]
}

/// The Netherlands' burgerservicenummer: the "eleven test".
fn nl_bsn(d: &[u8]) -> bool {
    let sum = weighted(&d[..8], &[9, 8, 7, 6, 5, 4, 3, 2]) as i64 - i64::from(d[8]);
    sum % 11 == 0 && sum > 0
}

/// Portugal's NIF (número de identificação fiscal).
fn pt_nif(d: &[u8]) -> bool {
    let check = (11 - weighted(&d[..8], &[9, 8, 7, 6, 5, 4, 3, 2]) % 11) % 11 % 10;
    matches!(d[0], 1..=3 | 5 | 6 | 8 | 9) && check == u32::from(d[8])
}

/// Canada's social insurance number.
fn ca_sin(d: &[u8]) -> bool {
    !matches!(d[0], 0 | 8) && luhn(d)
}

/// Australia's tax file number.
fn au_tfn(d: &[u8]) -> bool {
    weighted(d, &[1, 4, 3, 7, 5, 8, 6, 9, 10]) % 11 == 0 && d.iter().any(|&x| x != 0)
}

/// Israel's identity number (teudat zehut).
fn il_teudat_zehut(d: &[u8]) -> bool {
    luhn(d) && d.iter().any(|&x| x != 0)
}

/// Bulgaria's unified civil number (EGN): check digit and birth date.
fn bg_egn(d: &[u8]) -> bool {
    let check = weighted(&d[..9], &[2, 4, 8, 5, 10, 9, 7, 3, 6]) % 11 % 10;
    let month = two(d, 2);
    let month = match month {
        1..=12 => month,
        21..=32 => month - 20,
        41..=52 => month - 40,
        _ => return false,
    };
    check == u32::from(d[9]) && day_of_month(two(d, 4), month)
}

/// The Czech and Slovak birth number (rodné číslo), ten-digit form.
fn cz_rodne_cislo(d: &[u8]) -> bool {
    let month = two(d, 2);
    let month = match month {
        1..=12 => month,
        21..=32 => month - 20,
        51..=62 => month - 50,
        71..=82 => month - 70,
        _ => return false,
    };
    let n = number(d);
    let first = number(&d[..9]);
    (n % 11 == 0 || (first % 11 == 10 && d[9] == 0)) && day_of_month(two(d, 4), month)
}

/// The UK's NHS number.
fn gb_nhs(d: &[u8]) -> bool {
    let check = 11 - weighted(&d[..9], &[10, 9, 8, 7, 6, 5, 4, 3, 2]) % 11;
    let check = if check == 11 { 0 } else { check };
    check != 10 && check == u32::from(d[9])
}

/// Sweden's personnummer (without the century): Luhn and birth date
/// (or a coordination number's day plus 60).
fn se_personnummer(d: &[u8]) -> bool {
    let day = two(d, 4);
    let day = if day > 60 { day - 60 } else { day };
    luhn(d) && day_of_month(day, two(d, 2))
}

/// Sweden's personnummer with its century (`19170512-0424`).
fn se_personnummer_with_century(d: &[u8]) -> bool {
    matches!(two(d, 0), 18..=20) && se_personnummer(&d[2..])
}

/// Italy's numeric codice fiscale (a company's, the same as its partita
/// IVA): Luhn, and the code of a province office.
fn it_partita_iva(d: &[u8]) -> bool {
    let office = u32::from(d[7]) * 100 + u32::from(d[8]) * 10 + u32::from(d[9]);
    d[..7].iter().any(|&x| x != 0)
        && ((1..=100).contains(&office) || matches!(office, 120 | 121 | 888 | 999))
        && luhn(d)
}

/// Denmark's CPR number: a birth date (its modulus 11 check was dropped
/// in 2007, so the date is all there is to check).
fn dk_cpr(d: &[u8]) -> bool {
    day_of_month(two(d, 0), two(d, 2))
}

/// Poland's PESEL: check digit and birth month (the century in it).
fn pl_pesel(d: &[u8]) -> bool {
    let check = (10 - weighted(&d[..10], &[1, 3, 7, 9, 1, 3, 7, 9, 1, 3]) % 10) % 10;
    let month = two(d, 2) % 20;
    check == u32::from(d[10]) && day_of_month(two(d, 4), month)
}

/// Germany's tax identification number (Steuer-IdNr): ISO 7064 MOD
/// 11,10, no leading zero, and in its first ten digits one digit twice or
/// three times and no other repeated.
fn de_steuer_idnr(d: &[u8]) -> bool {
    let mut counts = [0u8; 10];
    for &x in &d[..10] {
        counts[usize::from(x)] += 1;
    }
    let repeated: Vec<u8> = counts.iter().copied().filter(|&c| c > 1).collect();
    d[0] != 0 && matches!(repeated[..], [2] | [3]) && mod_11_10(d)
}

/// Turkey's T.C. kimlik numarası.
fn tr_kimlik(d: &[u8]) -> bool {
    let odd: u32 = weighted(&d[..9], &[1, 0, 1, 0, 1, 0, 1, 0, 1]);
    let even: u32 = weighted(&d[..9], &[0, 1, 0, 1, 0, 1, 0, 1, 0]);
    let c1 = (odd * 7 + 10 * 10 - even) % 10; // (7·odd − even) mod 10, kept positive
    let c2 = (odd + even + c1) % 10;
    d[0] != 0 && c1 == u32::from(d[9]) && c2 == u32::from(d[10])
}

/// Norway's fødselsnummer: two modulus 11 check digits.
fn no_fodselsnummer(d: &[u8]) -> bool {
    let check = |sum: u32| match 11 - sum % 11 {
        11 => Some(0),
        10 => None,
        c => Some(c),
    };
    let k1 = check(weighted(&d[..9], &[3, 7, 6, 1, 8, 9, 4, 5, 2]));
    let k2 = check(weighted(&d[..10], &[5, 4, 3, 2, 7, 6, 5, 4, 3, 2]));
    let day = two(d, 0);
    let day = if day > 40 { day - 40 } else { day }; // a D-number
    k1 == Some(u32::from(d[9])) && k2 == Some(u32::from(d[10])) && day_of_month(day, two(d, 2))
}

/// Estonia's isikukood and Lithuania's asmens kodas (one scheme).
fn ee_lt_isikukood(d: &[u8]) -> bool {
    let first: Vec<u32> = (0..10).map(|i| i % 9 + 1).collect();
    let mut check = weighted(&d[..10], &first) % 11;
    if check == 10 {
        let second: Vec<u32> = (0..10).map(|i| (i + 2) % 9 + 1).collect();
        check = weighted(&d[..10], &second) % 11;
    }
    // Centuries 1800 to 2199 (1-8); 9, in Lithuania, for a person whose
    // birth date is not known.
    let dated = match d[0] {
        1..=8 => day_of_month(two(d, 5), two(d, 3)),
        9 => true,
        _ => false,
    };
    dated && check % 10 == u32::from(d[10])
}

/// Belgium's national register number: modulus 97, for births before
/// 2000 and after.
fn be_national_number(d: &[u8]) -> bool {
    let base = number(&d[..9]);
    let check = u64::from(two(d, 9));
    97 - base % 97 == check || 97 - (2_000_000_000 + base) % 97 == check
}

/// Croatia's OIB: ISO 7064 MOD 11,10.
fn hr_oib(d: &[u8]) -> bool {
    mod_11_10(d)
}

/// Greece's AMKA (social security number): Luhn and birth date.
fn gr_amka(d: &[u8]) -> bool {
    luhn(d) && day_of_month(two(d, 0), two(d, 2))
}

/// Brazil's CPF: two modulus 11 check digits, not one digit repeated.
fn br_cpf(d: &[u8]) -> bool {
    let check = |sum: u32| (11 - sum % 11) % 11 % 10;
    let d1 = check(weighted(&d[..9], &[10, 9, 8, 7, 6, 5, 4, 3, 2]));
    let d2 = check(weighted(&d[..10], &[11, 10, 9, 8, 7, 6, 5, 4, 3, 2]));
    d.iter().any(|&x| x != d[0]) && d1 == u32::from(d[9]) && d2 == u32::from(d[10])
}

/// India's Aadhaar: Verhoeff, no leading 0 or 1, not a palindrome.
fn in_aadhaar(d: &[u8]) -> bool {
    const MUL: [[u8; 10]; 10] = [
        [0, 1, 2, 3, 4, 5, 6, 7, 8, 9],
        [1, 2, 3, 4, 0, 6, 7, 8, 9, 5],
        [2, 3, 4, 0, 1, 7, 8, 9, 5, 6],
        [3, 4, 0, 1, 2, 8, 9, 5, 6, 7],
        [4, 0, 1, 2, 3, 9, 5, 6, 7, 8],
        [5, 9, 8, 7, 6, 0, 4, 3, 2, 1],
        [6, 5, 9, 8, 7, 1, 0, 4, 3, 2],
        [7, 6, 5, 9, 8, 2, 1, 0, 4, 3],
        [8, 7, 6, 5, 9, 3, 2, 1, 0, 4],
        [9, 8, 7, 6, 5, 4, 3, 2, 1, 0],
    ];
    const PERM: [[u8; 10]; 8] = [
        [0, 1, 2, 3, 4, 5, 6, 7, 8, 9],
        [1, 5, 7, 6, 2, 8, 3, 0, 9, 4],
        [5, 8, 0, 3, 7, 9, 6, 1, 4, 2],
        [8, 9, 1, 6, 0, 4, 3, 5, 2, 7],
        [9, 4, 5, 3, 1, 2, 6, 8, 7, 0],
        [4, 2, 8, 6, 5, 7, 3, 9, 0, 1],
        [2, 7, 9, 3, 8, 0, 6, 4, 1, 5],
        [7, 0, 4, 6, 9, 1, 3, 2, 5, 8],
    ];
    let check = d.iter().rev().enumerate().fold(0u8, |c, (i, &x)| {
        MUL[usize::from(c)][usize::from(PERM[i % 8][usize::from(x)])]
    });
    let palindrome = d.iter().eq(d.iter().rev());
    d[0] >= 2 && check == 0 && !palindrome
}

/// Japan's individual number (My Number).
fn jp_my_number(d: &[u8]) -> bool {
    let sum = weighted(&d[..11], &[6, 5, 4, 3, 2, 7, 6, 5, 4, 3, 2]);
    (11 - sum % 11) % 11 % 10 == u32::from(d[11])
}

/// Romania's CNP: check digit, and a birth date.
fn ro_cnp(d: &[u8]) -> bool {
    let check = weighted(&d[..12], &[2, 7, 9, 1, 4, 6, 3, 5, 8, 2, 7, 9]) % 11;
    let check = if check == 10 { 1 } else { check };
    d[0] != 0 && check == u32::from(d[12]) && day_of_month(two(d, 5), two(d, 3))
}

/// South Africa's identity number: Luhn and birth date.
fn za_id(d: &[u8]) -> bool {
    luhn(d) && day_of_month(two(d, 4), two(d, 2))
}

/// South Korea's resident registration number.
fn kr_rrn(d: &[u8]) -> bool {
    let sum = weighted(&d[..12], &[2, 3, 4, 5, 6, 7, 8, 9, 2, 3, 4, 5]);
    (11 - sum % 11) % 10 == u32::from(d[12])
        && day_of_month(two(d, 4), two(d, 2))
        // The registration office's region.
        && two(d, 7) <= 96
}

/// France's NIR (numéro de sécurité sociale), digits only (not Corsica's
/// `2A`/`2B`): modulus 97 key.
fn fr_nir(d: &[u8]) -> bool {
    let key = 97 - number(&d[..13]) % 97;
    matches!(d[0], 1 | 2 | 7 | 8) && key == u64::from(two(d, 13))
}

/// China's resident identity card number, digits only (not one whose check
/// is `X`): ISO 7064 MOD 11-2 and a birth date.
fn cn_resident_id(d: &[u8]) -> bool {
    cn_check(&d[..17]) == u32::from(d[17]) && day_of_month(two(d, 12), two(d, 10))
}

/// The check of a Chinese resident ID's first 17 digits (10 is `X`).
fn cn_check(d: &[u8]) -> u32 {
    let sum: u32 = d[..17]
        .iter()
        .enumerate()
        .map(|(i, &x)| u32::from(x) * ((1u32 << (17 - i)) % 11))
        .sum();
    (12 - sum % 11) % 11
}

#[cfg(test)]
mod tests {
    use super::*;

    fn digits(s: &str) -> Vec<u8> {
        s.bytes()
            .filter(u8::is_ascii_digit)
            .map(|c| c - b'0')
            .collect()
    }

    /// Each scheme's published examples (python-stdnum's documentation,
    /// which quotes the schemes' own), valid and with a wrong check digit.
    #[test]
    fn each_scheme_takes_its_examples_and_refuses_a_wrong_check_digit() {
        type Check = fn(&[u8]) -> bool;
        let cases: [(&str, Check, &str, &str); 27] = [
            ("BSN", nl_bsn, "1112.22.333", "1112.52.333"),
            ("PT NIF", pt_nif, "501 964 843", "501 964 842"),
            ("CA SIN", ca_sin, "123-456-782", "123-456-783"),
            ("AU TFN", au_tfn, "123 456 782", "123 456 783"),
            ("IL ID", il_teudat_zehut, "039337423", "039337422"),
            ("BG EGN", bg_egn, "752316 926 3", "752316 926 4"),
            ("BG EGN 2", bg_egn, "8032056031", "8032056032"),
            ("CZ RC", cz_rodne_cislo, "710319/2745", "710319/2746"),
            ("GB NHS", gb_nhs, "943-476-5870", "943-476-5871"),
            ("SE PNR", se_personnummer, "880320-0016", "880320-0018"),
            ("PL PESEL", pl_pesel, "44051401359", "44051401358"),
            ("DE IdNr", de_steuer_idnr, "36 574 261 809", "36574261890"),
            ("TR TCKN", tr_kimlik, "17291716060", "17291716050"),
            ("NO FNR", no_fodselsnummer, "151086 95088", "15108695077"),
            ("EE IK", ee_lt_isikukood, "36805280109", "36805280108"),
            (
                "BE NN",
                be_national_number,
                "85 07 30 033 28",
                "85 07 30 033 29",
            ),
            (
                "BE NN 2000",
                be_national_number,
                "17 07 30 033 84",
                "17 07 30 033 85",
            ),
            ("HR OIB", hr_oib, "33392005961", "33392005962"),
            ("GR AMKA", gr_amka, "01013099997", "01013099999"),
            ("BR CPF", br_cpf, "390.533.447-05", "390.533.447-06"),
            ("IN Aadhaar", in_aadhaar, "234123412346", "234123412347"),
            (
                "JP My Number",
                jp_my_number,
                "6214 9832 0257",
                "6214 9832 0258",
            ),
            ("RO CNP", ro_cnp, "1630615123457", "1630615123458"),
            ("ZA ID", za_id, "7503305044089", "7503305044088"),
            ("KR RRN", kr_rrn, "971013-9019902", "971013-9019903"),
            ("FR NIR", fr_nir, "2 95 10 99 126 111 93", "295109912611199"),
            (
                "CN RIC",
                cn_resident_id,
                "360426199101010071",
                "360426199101010072",
            ),
        ];
        for (name, check, good, bad) in cases {
            assert!(check(&digits(good)), "{name}: {good}");
            assert!(!check(&digits(bad)), "{name}: {bad}");
            assert!(valid(&digits(good)), "{name}: {good} by length");
        }
    }

    #[test]
    fn written_forms_are_found_bare_when_they_validate() {
        fn found(t: &str) -> Option<&str> {
            match_written_form(t.as_bytes(), 0).map(|e| &t[..e])
        }
        for id in [
            "16.727.230/0001-97",
            "76.086.428-5",
            "76086428-5",
            "12531909-2",
            "390.533.447-05",
            "880320-0016",
            "971013-9019902",
            "131052-308T",
            "710319/2745",
            "54362315K",
            "54362315-K",
        ] {
            assert_eq!(found(id), Some(id), "{id}");
            let after = format!("{id} rest");
            assert_eq!(found(&after), Some(id), "{after}");
        }
        for wrong in [
            "16.727.230/0001-98",
            "76.086.428-4",
            "12531909-3",
            "390.533.447-06",
            "880320-0018",
            "971013-9019903",
            "131052-308U",
            "710319/2746",
            "54362315Z",
            // Shapes of other things: a date range, a build, a path.
            "081109-2036",
            "2015.04.21-11",
            "123456/7890",
            "12345678ABC",
        ] {
            assert_eq!(found(wrong), None, "{wrong}");
        }
        // China's resident ID with the check X: 11010519491231002X.
        assert_eq!(found("11010519491231002X"), Some("11010519491231002X"));
    }

    #[test]
    fn letter_forms_are_found_bare_when_they_validate() {
        fn found(t: &str) -> Option<&str> {
            let letters = t.bytes().take_while(u8::is_ascii_alphabetic).count();
            match_letter_form(t.as_bytes(), 0, letters).map(|e| &t[..e])
        }
        for id in [
            "X2482300W",
            "S1234567D",
            "ACUPA7085R",
            "RCCMNL83S18D969H",
            "AB123456C",
            "BOXW310820HNERXN09",
        ] {
            assert_eq!(found(id), Some(id), "{id}");
        }
        for wrong in [
            "X2482300A",
            "S1234567A",
            "ACUZA7085R",
            "RCCMNL83S18D969A",
            "QQ123456C",
            "AB123456E",
            "ABC1234567",
            "SRV1234567X",
            "BOXW310820HNERXN08",
        ] {
            assert_eq!(found(wrong), None, "{wrong}");
        }
    }

    #[test]
    fn a_national_insurance_number_in_groups() {
        let t = "NINO AB 12 34 56 C on file";
        let s = t.find("12").unwrap();
        assert_eq!(match_spaced_nino(t.as_bytes(), s), Some((5, 18)));
        for wrong in [
            "QQ 12 34 56 C",
            "AB 12 34 56 E",
            "XAB 12 34 56 C",
            "AB 12 34 567 C",
        ] {
            let s = wrong.find("12").unwrap();
            assert_eq!(match_spaced_nino(wrong.as_bytes(), s), None, "{wrong}");
        }
        // Medicare: 2123 45670 1 (card 21234567, check 0, issue 1).
        assert!(au_medicare(&digits("2123456701")));
        assert!(!au_medicare(&digits("2123456711")));
    }

    #[test]
    fn other_rules_of_the_schemes() {
        // Steuer-IdNr: a digit may repeat only once (two or three times).
        assert!(!de_steuer_idnr(&digits("36554266806")));
        // PESEL: an invalid birth date.
        assert!(!pl_pesel(&digits("02381307589")));
        // Aadhaar: never starting with 0 or 1.
        assert!(!in_aadhaar(&digits("123412341234")));
        // CPF: one digit repeated is no number.
        assert!(!br_cpf(&digits("11111111111")));
        // The wrong lengths are nobody's.
        assert!(!valid(&digits("12345")));
        assert!(!valid(&digits("12345678901234567890")));
        // RRN: the registration office's region is at most 96.
        assert!(!kr_rrn(&digits("9710139999904")));
        // Isikukood: centuries 1800 to 2199; asmens kodas 9 has no date.
        assert!(ee_lt_isikukood(&digits("81205280108")));
        assert!(ee_lt_isikukood(&digits("96813280109")));
        // Personnummer with its century; Italy's numeric codice fiscale.
        assert!(valid(&digits("191705120424")));
        assert!(!valid(&digits("211705120424")));
        assert!(it_partita_iva(&digits("00743110157")));
        assert!(!it_partita_iva(&digits("00743110158")));
        // CURP: a state that does not exist, a word the scheme replaces.
        assert!(mx_curp(b"BOXW310820HNERXN09"));
        assert!(!mx_curp(b"PEGL890909MQQRMS02"));
        assert!(!mx_curp(b"BACA890909MJCRMS05"));
        // Codice fiscale: a day that is no day (32; a woman's 41 to 71).
        assert!(!it_codice_fiscale(b"CNTCHR83T32D969H"));
    }

    #[test]
    fn each_identifier_is_told_by_its_scheme() {
        use NationalIdScheme as S;
        for (value, scheme) in [
            ("1112.22.333", S::NlBsn),
            ("501 964 843", S::PtNif),
            ("123-456-782", S::CaSin),
            ("123 456 782", S::AuTfn),
            ("039337423", S::IlId),
            ("76.086.428-5", S::ClRut),
            ("752316 926 3", S::BgEgn),
            ("710319/2745", S::CzRc),
            ("943-476-5870", S::GbNhs),
            ("880320-0016", S::SePersonnummer),
            ("19880320-0016", S::SePersonnummer),
            ("44051401359", S::PlPesel),
            ("36 574 261 809", S::DeSteuerId),
            ("17291716060", S::TrKimlik),
            ("151086 95088", S::NoFodselsnummer),
            ("36805280109", S::EeLtPersonalCode),
            ("85 07 30 033 28", S::BeNationalNumber),
            ("33392005961", S::HrOib),
            ("01013099997", S::GrAmka),
            ("390.533.447-05", S::BrCpf),
            ("00743110157", S::ItPartitaIva),
            ("2341 2341 2346", S::InAadhaar),
            ("6214 9832 0257", S::JpMyNumber),
            ("1630615123457", S::RoCnp),
            ("7503305044089", S::ZaId),
            ("971013-9019902", S::KrRrn),
            ("16.727.230/0001-97", S::BrCnpj),
            ("2 95 10 99 126 111 93", S::FrNir),
            ("360426199101010071", S::CnRic),
            ("44011320141005001X", S::CnRic),
            ("131052-308T", S::FiHetu),
            ("200528-1533", S::FiHetu),
            ("54362315K", S::EsDni),
            ("X2482300W", S::EsNie),
            ("L1111111G", S::EsNie),
            ("A11111119", S::EsCif),
            ("S1234567D", S::SgNric),
            ("ACUPA7085R", S::InPan),
            ("RCCMNL83S18D969H", S::ItCodiceFiscale),
            ("BOXW310820HNERXN09", S::MxCurp),
            ("GODE561231GR8", S::MxRfc),
            ("AB 12 34 56 C", S::GbNino),
        ] {
            assert_ne!(
                schemes_of(value.as_bytes()) & scheme.bit(),
                0,
                "{value}: {scheme}"
            );
        }
        assert_eq!(schemes_of(b"not an id"), 0);
        assert_eq!(schemes_of(b"12345"), 0);
    }

    #[test]
    fn mexico_rfc_with_and_without_its_check() {
        fn found(t: &str) -> Option<(&str, bool)> {
            let b = t.as_bytes();
            let i = b.iter().position(u8::is_ascii_digit)?;
            match_rfc(b, i, 0).map(|(s, e, checked)| (&t[s..e], checked))
        }
        for (t, checked) in [
            ("GODE561231GR8", true),
            ("ABC990101AB1 ", false),
            ("AA&0607148I0", true),
            ("&JE040614N51", true),
            ("CCM 650122 I06", false),
            ("SIN 931116 9P8", false),
        ] {
            assert_eq!(found(t), Some((t.trim_end(), checked)), "{t}");
        }
        // A date that is no date, a word the scheme replaces, letters
        // glued to a word, a longer code.
        for t in [
            "GODE561331GR8",
            "CACA580710NF7",
            "xGODE561231GR8",
            "GODE561231GR8X",
        ] {
            assert_eq!(found(t).filter(|f| f.1), None, "{t}");
        }
    }

    #[test]
    fn spanish_company_and_klm_numbers() {
        assert_eq!(match_es_cif(b"A11111119", 0), Some(9));
        assert_eq!(match_es_cif(b"A11111118", 0), None);
        assert_eq!(match_es_cif(b"P0800000B ok", 0), Some(9));
        let klm = |t: &str| match_letter_form(t.as_bytes(), 0, 1);
        assert_eq!(klm("L1111111G"), Some(9));
        assert_eq!(klm("L1111111C"), None);
    }

    #[test]
    fn canada_sin_in_its_groups() {
        let found = |t: &str| match_written_form(t.as_bytes(), 0);
        assert_eq!(found("123 456 782"), Some(11));
        assert_eq!(found("123-456-782 ok"), Some(11));
        // A wrong check digit, a first digit no SIN has, mixed or longer
        // groupings.
        for t in [
            "123 456 783",
            "046 454 286",
            "123-456 782",
            "123 456 782 9",
            "123 456 7821",
        ] {
            assert_eq!(found(t), None, "{t}");
        }
        // The tail of a dashed host name is none.
        let b = b"calvisitor-10-123-456-782";
        assert!(!may_start_written_form(b, 14, 3, Some(b'-')));
    }

    #[test]
    fn finnish_check_digits_and_lower_case_and_a_chinese_x() {
        let found = |t: &str| match_written_form(t.as_bytes(), 0);
        assert_eq!(found("131052a308t"), Some(11));
        assert_eq!(found("200528-1533"), Some(11));
        assert_eq!(found("200528-1534"), None);
        assert_eq!(found("44011320141005001x"), Some(18));
        assert_eq!(found("44011320141005001y"), None);
    }
}
