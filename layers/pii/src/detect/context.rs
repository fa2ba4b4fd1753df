//! Context words: a bare number is a phone number, an SSN, a card or a
//! passport number when a word naming that kind stands shortly before it
//! in the same clause (`call me on 206 5550143`, `my SSN: 219099999`,
//! `passport 340020013`), as a person reads it.
//!
//! Only small words may stand between the context word and the number
//! (`my credit card number is …`, `call me on …`): `mobile app build
//! 12345678` or `passport check took 340020013 us` announce nothing. As a
//! key, a word counts only when it names the kind (`phone=…`,
//! `passport_no=…`), not when it is a verb (`call_id=…`). A number
//! followed by a unit (`1234567 ms`) is a measurement.
//!
//! The look-back is bounded (at most [`WINDOW`] bytes and [`MAX_WORDS`]
//! words, stopping at a clause's end), so the pass stays linear.

/// The kinds a context word can announce, as bits.
pub(crate) const PHONE: u8 = 1;
pub(crate) const SSN: u8 = 2;
pub(crate) const CARD: u8 = 4;
pub(crate) const PASSPORT: u8 = 8;
pub(crate) const NATIONAL: u8 = 16;

/// How far before a number its context word may stand, in bytes.
const WINDOW: usize = 40;
/// How many words back the look-back reads.
const MAX_WORDS: usize = 5;

/// What a (lower-cased) word is to the look-back.
enum Word {
    /// A word that names kinds, as a noun (also as a key).
    Names(u8),
    /// A verb that announces a phone number in a sentence (`call me on`),
    /// not as a key (`call_id`).
    Verb,
    /// A small word that may stand between a context word and its number.
    Filler,
    /// Anything else: the look-back stops.
    Other,
}

fn classify(w: &[u8]) -> Word {
    match w {
        b"call" | b"called" | b"calling" | b"ring" | b"dial" | b"reach" | b"text" => Word::Verb,
        b"number" | b"numbers" | b"no" | b"nr" | b"nbr" | b"num" | b"is" | b"was" | b"are"
        | b"at" | b"on" | b"to" | b"me" | b"my" | b"your" | b"his" | b"her" | b"their" | b"our"
        | b"the" | b"a" | b"an" | b"of" | b"for" | b"us" | b"please" | b"its" | b"home"
        | b"work" | b"office" | b"private" | b"personal" | b"direct" | b"line" | b"new"
        | b"primary" | b"main" | b"and" | b"or" | b"id" | b"document" | b"via" | b"under"
        | b"with" => Word::Filler,
        b"file" | b"register" | b"registration" | b"code" | b"de" | b"du" | b"la" | b"le"
        | b"el" | b"ihre" | b"ihr" | b"seu" | b"sua" | b"su" | b"di" | b"da" | b"do" | b"des"
        | b"del" | b"van" | b"der" | b"il" | b"nummer" | b"numer" | b"numero" | b"nro"
        | b"numarasi" | b"cislo" => Word::Filler,
        // "number" in the languages whose identifiers are named above.
        w if !w.is_ascii()
            && [
                "número",
                "numéro",
                "číslo",
                "numarası",
                "номер",
                "αριθμός",
                "番号",
                "번호",
            ]
            .iter()
            .any(|n| n.as_bytes() == w) =>
        {
            Word::Filler
        }
        w => match if w.is_ascii() {
            word_kinds(w)
        } else {
            word_kinds_beyond_ascii(w)
        } {
            0 => Word::Other,
            k => Word::Names(k),
        },
    }
}

/// The kinds a (lower-cased) word names.
fn word_kinds(w: &[u8]) -> u8 {
    match w {
        b"phone" | b"phones" | b"telephone" | b"tel" | b"mobile" | b"cell" | b"cellphone"
        | b"callback" | b"fax" | b"sms" | b"whatsapp" | b"msisdn" | b"hotline" | b"landline"
        | b"contact" | b"telefon" | b"telefono" | b"celular" | b"handy" | b"mob"
        // Other languages' words for a phone number.
        | b"telefone" | b"telefoon" | b"telefonu" | b"telefonnummer" | b"telefoonnummer"
        | b"rufnummer" | b"handynummer" | b"mobilnummer" | b"festnetz" | b"movil" | b"tlf"
        | b"puhelin" | b"cel" => PHONE,
        b"ssn" | b"ssns" | b"itin" => SSN,
        // A tax or social security number is an SSN in the US, a national
        // identifier elsewhere.
        b"social" | b"security" | b"tin" | b"taxpayer" | b"tax" => SSN | NATIONAL,
        b"national"
        | b"identity"
        | b"identification"
        | b"nationalid"
        | b"citizen"
        | b"resident"
        | b"bsn"
        | b"burgerservicenummer"
        | b"sofinummer"
        | b"pesel"
        | b"steuer"
        | b"steuerid"
        | b"idnr"
        | b"identifikationsnummer"
        | b"steueridentifikationsnummer"
        | b"steuernummer"
        | b"sozialversicherungsnummer"
        | b"nir"
        | b"insee"
        | b"securite"
        | b"sociale"
        | b"cnp"
        | b"egn"
        | b"tckn"
        | b"kimlik"
        | b"aadhaar"
        | b"aadhar"
        | b"uidai"
        | b"personnummer"
        | b"hetu"
        | b"henkilotunnus"
        | b"cpr"
        | b"fodselsnummer"
        | b"isikukood"
        | b"asmens"
        | b"kodas"
        | b"oib"
        | b"amka"
        | b"teudat"
        | b"zehut"
        | b"cpf"
        | b"rrn"
        | b"sin"
        | b"tfn"
        | b"nhs"
        | b"nino"
        | b"rodne"
        | b"cislo"
        | b"mynumber"
        | b"nrn"
        | b"nif"
        | b"cnpj"
        | b"rut"
        | b"curp"
        | b"nric"
        | b"dni"
        | b"nie"
        | b"rfc"
        | b"cif"
        | b"nss"
        | b"rijksregisternummer"
        | b"rijksregister"
        | b"identiteitsnummer"
        | b"identiteitsnommer"
        | b"personalausweis"
        | b"ausweis"
        | b"codice"
        | b"fiscale"
        | b"partita"
        | b"iva"
        | b"pps"
        | b"identyfikacyjny"
        | b"medicare" => NATIONAL,
        b"card" | b"cards" | b"credit" | b"debit" | b"visa" | b"mastercard" | b"amex" | b"cc"
        | b"pan" | b"cardnumber" => CARD,
        b"passport" | b"passports" | b"travel" => PASSPORT,
        _ => 0,
    }
}

/// Whether `c` is part of a word: an ASCII letter, or a byte of a
/// character beyond ASCII (`fødselsnummer`, `ЕГН`, `身份证号`).
#[inline]
fn is_word_byte(c: u8) -> bool {
    c.is_ascii_alphabetic() || c >= 0x80
}

/// The kinds a word with characters beyond ASCII names: the identifiers'
/// names in their own languages and scripts (upper and lower case as
/// written; a CJK name may be followed by a particle, `身份证号是`).
fn word_kinds_beyond_ascii(w: &[u8]) -> u8 {
    const NATIONAL_WORDS: [&str; 10] = [
        "fødselsnummer",
        "henkilötunnus",
        "rodné",
        "sécurité",
        "ЕГН",
        "егн",
        "ΑΜΚΑ",
        "αμκα",
        "ΑΦΜ",
        "αφμ",
    ];
    // Written without spaces, so found inside a longer word.
    const CJK_NATIONAL: [&str; 6] = [
        "身份证",
        "身份證",
        "公民身份号码",
        "주민등록번호",
        "マイナンバー",
        "個人番号",
    ];
    let Ok(word) = std::str::from_utf8(w) else {
        return 0;
    };
    if NATIONAL_WORDS.contains(&word) || CJK_NATIONAL.iter().any(|n| word.contains(n)) {
        return NATIONAL;
    }
    match word {
        "teléfono" | "téléphone" | "telefón" | "телефон" | "電話" | "电话" | "手机" | "전화"
        | "móvil" | "τηλέφωνο" | "τηλ" => PHONE,
        _ => 0,
    }
}

/// The kinds announced by the words shortly before position `s`.
pub(crate) fn kinds_before(b: &[u8], s: usize) -> u8 {
    let lo = s.saturating_sub(WINDOW);
    let mut i = s.min(b.len());
    let mut words = 0;
    let mut kinds = 0;
    // Whether the number is a key's value (`phone=…`, `SSN: …`).
    let mut keyed = false;
    // A number with no letter before it in the window (a stamp or an id
    // at a line's start, `- 1131566461 2005.11.09`) has nothing to read
    // back: found at once, nearest first, rather than byte by byte below.
    if !b[lo..i].iter().rev().any(|&c| is_word_byte(c)) {
        return 0;
    }
    let mut lower = [0u8; 32];
    while i > lo {
        let c = b[i - 1];
        if is_word_byte(c) {
            let end = i;
            while i > lo && is_word_byte(b[i - 1]) {
                i -= 1;
            }
            let word = &b[i..end];
            // A word cut by the window, or too long to be one of ours,
            // ends the look-back.
            if !(i > lo || i == 0 || !is_word_byte(b[i - 1])) || word.len() > lower.len() {
                break;
            }
            for (d, s) in lower.iter_mut().zip(word) {
                *d = s.to_ascii_lowercase();
            }
            match classify(&lower[..word.len()]) {
                Word::Names(k) => kinds |= k,
                Word::Verb if !keyed => kinds |= PHONE,
                Word::Filler => {}
                Word::Verb | Word::Other => break,
            }
            words += 1;
            // A key is read up to its first word; in a sentence, up to
            // the first word that names a kind, but for a card that may be
            // an identity card (`resident identity card`, `ID card no`).
            if words == MAX_WORDS
                || (kinds != 0
                    && kinds != CARD
                    && !matches!(b.get(i.wrapping_sub(1)), Some(b'_' | b'-' | b'.')))
            {
                break;
            }
            continue;
        }
        match c {
            // A clause's end, or a bracketed part (`[REDACTED:PHONE]`, a
            // replacement made before, must not read as a context word).
            b'\n' | b'\r' | b';' | b'|' | b'!' | b'?' | b']' => break,
            b'=' | b':' if words == 0 => {
                keyed = true;
                i -= 1;
            }
            // Another field's key or value (`phone: 1, id: 5551234567`).
            b',' | b'=' | b':' | b'&' => break,
            b'.' if i < b.len()
                && matches!(b.get(i), Some(b' '))
                && i >= 5
                && b[i - 5..i - 1].iter().all(u8::is_ascii_alphabetic) =>
            {
                break;
            }
            _ => i -= 1,
        }
    }
    kinds
}

/// Whether the number ending at `e` is followed by a unit (`1234567 ms`,
/// `340020013 us`, `5120 bytes`): then it is a measurement.
pub(crate) fn followed_by_unit(b: &[u8], e: usize) -> bool {
    let mut k = e;
    if b.get(k) == Some(&b' ') {
        k += 1;
    }
    if b.get(k) == Some(&b'%') {
        return true;
    }
    let we = k + b[k.min(b.len())..]
        .iter()
        .take_while(|c| c.is_ascii_alphabetic())
        .count();
    if we == k || we - k > 8 {
        return false;
    }
    let mut lower = [0u8; 8];
    for (d, s) in lower.iter_mut().zip(&b[k..we]) {
        *d = s.to_ascii_lowercase();
    }
    matches!(
        &lower[..we - k],
        b"ms"
            | b"s"
            | b"sec"
            | b"secs"
            | b"seconds"
            | b"ns"
            | b"us"
            | b"min"
            | b"mins"
            | b"minutes"
            | b"h"
            | b"hrs"
            | b"hours"
            | b"days"
            | b"b"
            | b"bytes"
            | b"kb"
            | b"mb"
            | b"gb"
            | b"tb"
            | b"kib"
            | b"mib"
            | b"gib"
            | b"times"
            | b"items"
            | b"records"
            | b"rows"
            | b"entries"
            | b"requests"
            | b"users"
            | b"events"
            | b"lines"
            | b"files"
            | b"pages"
            | b"ops"
            | b"hz"
            | b"khz"
            | b"mhz"
    )
}

/// A number read after a context word: digit groups joined by one space,
/// `-`, `.` or `/`, or in parentheses.
pub(crate) struct Number {
    pub(crate) end: usize,
    pub(crate) count: usize,
    pub(crate) digits: [u8; 19],
    /// Bit `c` set where a group ends after `c` digits.
    pub(crate) bounds: u32,
}

/// Reads the digit groups starting at `s` (a digit or `(`), at most 19
/// digits, and no group after `longest` digits; with `stop_at_trunk`, a
/// group starting with `0` after seven digits starts a new number
/// (`052 5552606 074-7111234`).
pub(crate) fn read_number(b: &[u8], s: usize, stop_at_trunk: bool, longest: usize) -> Number {
    let mut n = Number {
        end: s,
        count: 0,
        digits: [0; 19],
        bounds: 0,
    };
    let mut i = s;
    loop {
        let paren = b.get(i) == Some(&b'(');
        let g = i + usize::from(paren);
        let mut j = g;
        // Inside parentheses, the trunk prefix and area code may be
        // joined too (`(0-312)`, `(8 12)`, `(06 1)`).
        let mut group = [0u8; 19];
        let mut len = 0;
        while j < b.len() && n.count + len < 19 {
            let c = b[j];
            if c.is_ascii_digit() {
                group[len] = c - b'0';
                len += 1;
                j += 1;
            } else if paren
                && len > 0
                && matches!(c, b' ' | b'-')
                && b.get(j + 1).is_some_and(u8::is_ascii_digit)
            {
                j += 1;
            } else {
                break;
            }
        }
        if len == 0 || (paren && b.get(j) != Some(&b')')) {
            break;
        }
        if j < b.len() && b[j].is_ascii_digit() {
            // More than 19 digits: no number of these kinds.
            n.count = 0;
            return n;
        }
        // A group with a trunk 0 after seven digits starts the next number
        // of a list (`052 5552606 074-7111234`), if it is one; a shorter
        // tail is this number's (`800 01 25 07`, `8 301 123-09-85`).
        let next_number = || digits_joined(b, g, 7) >= 7;
        if (stop_at_trunk && n.count >= 7 && b[g] == b'0' && next_number()) || n.count >= longest {
            break;
        }
        n.digits[n.count..n.count + len].copy_from_slice(&group[..len]);
        n.count += len;
        n.bounds |= 1 << n.count;
        i = j + usize::from(paren);
        n.end = i;
        match (b.get(i), b.get(i + 1)) {
            (Some(b' ' | b'-' | b'.' | b'/'), Some(&c)) if c.is_ascii_digit() || c == b'(' => {
                i += 1
            }
            (Some(b'('), _) => {}
            _ => break,
        }
    }
    n
}

/// How many digits the groups starting at `s` hold, joined as
/// [`read_number`] joins them, counting no further than `enough`.
#[inline]
pub(crate) fn digits_joined(b: &[u8], s: usize, enough: usize) -> usize {
    let mut count = 0;
    let mut i = s;
    while i < b.len() && count < enough {
        let c = b[i];
        if c.is_ascii_digit() {
            count += 1;
            i += 1;
        } else if c == b')'
            || (matches!(c, b' ' | b'-' | b'.' | b'/' | b'(')
                && b.get(i + 1)
                    .is_some_and(|&n| n.is_ascii_digit() || n == b'('))
        {
            i += 1;
        } else {
            break;
        }
    }
    count
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds(s: &str) -> u8 {
        kinds_before(s.as_bytes(), s.len())
    }

    #[test]
    fn words_before_a_number() {
        assert_eq!(kinds("call me on "), PHONE);
        assert_eq!(kinds("my SSN: "), SSN);
        assert_eq!(kinds("Social Security No. "), SSN | NATIONAL);
        assert_eq!(kinds("CN mobile "), PHONE);
        assert_eq!(kinds("passport number is "), PASSPORT);
        assert_eq!(kinds("my credit card number is "), CARD);
        assert_eq!(kinds("tel. "), PHONE);
        assert_eq!(kinds("order "), 0);
        // Too far, or in another clause.
        assert_eq!(kinds("phone was checked by the operator on duty at "), 0);
        assert_eq!(kinds("phone ok; order "), 0);
        assert_eq!(kinds("the phone broke. Order "), 0);
        assert_eq!(kinds("microphone "), 0);
        assert_eq!(kinds("phone: 1, id: "), 0);
        assert_eq!(kinds("phone=1 order="), 0);
        assert_eq!(kinds("call_id="), 0);
        assert_eq!(kinds("passport_no="), PASSPORT);
        assert_eq!(kinds("mobile app build "), 0);
        assert_eq!(kinds("passport check took "), 0);
        assert_eq!(kinds("tax year 2024 total "), 0);
        assert_eq!(kinds("reach me at "), PHONE);
        assert_eq!(kinds("travel document "), PASSPORT);
        assert_eq!(kinds("my taxpayer id is "), SSN | NATIONAL);
        assert_eq!(kinds("my BSN is "), NATIONAL);
        assert_eq!(kinds("numero de securite sociale "), NATIONAL);
        // In their own languages and scripts.
        for named in [
            "fødselsnummer: ",
            "rodné číslo ",
            "ЕГН: ",
            "ΑΜΚΑ ",
            "身份证号: ",
            "我的身份证号是",
            "주민등록번호 ",
            "numéro de sécurité sociale ",
            "tax file number: ",
            "resident identity card ",
        ] {
            assert_ne!(kinds(named) & NATIONAL, 0, "{named}");
        }
        // A card is still a card; an unknown word beyond ASCII names nothing.
        assert_eq!(kinds("credit card "), CARD);
        assert_eq!(kinds("größe "), 0);
        // Phone words of other languages.
        for named in ["Rufnummer ", "telefone: ", "móvil ", "tlf ", "τηλέφωνο "] {
            assert_ne!(kinds(named) & PHONE, 0, "{named}");
        }
        // "Number" in the identifiers' languages stands between.
        for named in [
            "BSN-nummer ",
            "PESEL numer ",
            "TC kimlik numarası ",
            "numero di codice fiscale ",
        ] {
            assert_ne!(kinds(named) & NATIONAL, 0, "{named}");
        }
        assert_eq!(kinds("{\"pan\":\""), CARD);
    }

    #[test]
    fn units() {
        let unit = |s: &str| followed_by_unit(s.as_bytes(), 7);
        assert!(unit("1234567 ms"));
        assert!(unit("1234567ms later"));
        assert!(unit("1234567 bytes"));
        assert!(unit("1234567%"));
        assert!(!unit("1234567 now"));
        assert!(!unit("1234567"));
    }

    #[test]
    fn numbers() {
        fn read(s: &str) -> (&str, usize) {
            let n = read_number(s.as_bytes(), 0, true, 19);
            (&s[..n.end], n.count)
        }
        assert_eq!(read("206 5550143 now"), ("206 5550143", 10));
        assert_eq!(read("(030) 7390135"), ("(030) 7390135", 10));
        assert_eq!(read("052 5552606 074-7111234"), ("052 5552606", 10));
        assert_eq!(read("219-09-9999."), ("219-09-9999", 9));
        assert_eq!(read("12345678901234567890").1, 0);
    }
}
