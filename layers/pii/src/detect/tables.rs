//! Reference tables the validators check against.

/// ITU-T E.164 country calling codes in service. Codes are prefix-free, so
/// a number's code is the first 1, 2 or 3 of its digits found here.
const CALLING_CODES_1: &[u16] = &[1, 7];
const CALLING_CODES_2: &[u16] = &[
    20, 27, 30, 31, 32, 33, 34, 36, 39, 40, 41, 43, 44, 45, 46, 47, 48, 49, 51, 52, 53, 54, 55, 56,
    57, 58, 60, 61, 62, 63, 64, 65, 66, 81, 82, 84, 86, 90, 91, 92, 93, 94, 95, 98,
];
const CALLING_CODES_3: &[u16] = &[
    211, 212, 213, 216, 218, 220, 221, 222, 223, 224, 225, 226, 227, 228, 229, 230, 231, 232, 233,
    234, 235, 236, 237, 238, 239, 240, 241, 242, 243, 244, 245, 246, 247, 248, 249, 250, 251, 252,
    253, 254, 255, 256, 257, 258, 260, 261, 262, 263, 264, 265, 266, 267, 268, 269, 290, 291, 297,
    298, 299, 350, 351, 352, 353, 354, 355, 356, 357, 358, 359, 370, 371, 372, 373, 374, 375, 376,
    377, 378, 379, 380, 381, 382, 383, 385, 386, 387, 389, 420, 421, 423, 500, 501, 502, 503, 504,
    505, 506, 507, 508, 509, 590, 591, 592, 593, 594, 595, 596, 597, 598, 599, 670, 672, 673, 674,
    675, 676, 677, 678, 679, 680, 681, 682, 683, 685, 686, 687, 688, 689, 690, 691, 692, 800, 808,
    850, 852, 853, 855, 856, 870, 878, 880, 881, 882, 883, 886, 888, 960, 961, 962, 963, 964, 965,
    966, 967, 968, 970, 971, 972, 973, 974, 975, 976, 977, 979, 992, 993, 994, 995, 996, 998,
];

/// The length in digits of the country calling code that `digits` starts
/// with, or `None` if it starts with no code in service.
pub(crate) fn calling_code_len(digits: &[u8]) -> Option<usize> {
    let value = |n: usize| -> Option<u16> {
        let part = digits.get(..n)?;
        part.iter().try_fold(0u16, |acc, &d| {
            d.is_ascii_digit().then(|| acc * 10 + u16::from(d - b'0'))
        })
    };
    for (len, table) in [
        (1, CALLING_CODES_1),
        (2, CALLING_CODES_2),
        (3, CALLING_CODES_3),
    ] {
        if let Some(code) = value(len) {
            if table.binary_search(&code).is_ok() {
                return Some(len);
            }
        }
    }
    None
}

/// IBAN lengths by country (SWIFT IBAN registry).
const IBAN_LENGTHS: &[([u8; 2], u8)] = &[
    (*b"AD", 24),
    (*b"AE", 23),
    (*b"AL", 28),
    (*b"AT", 20),
    (*b"AZ", 28),
    (*b"BA", 20),
    (*b"BE", 16),
    (*b"BG", 22),
    (*b"BH", 22),
    (*b"BI", 27),
    (*b"BR", 29),
    (*b"BY", 28),
    (*b"CH", 21),
    (*b"CR", 22),
    (*b"CY", 28),
    (*b"CZ", 24),
    (*b"DE", 22),
    (*b"DJ", 27),
    (*b"DK", 18),
    (*b"DO", 28),
    (*b"EE", 20),
    (*b"EG", 29),
    (*b"ES", 24),
    (*b"FI", 18),
    (*b"FK", 18),
    (*b"FO", 18),
    (*b"FR", 27),
    (*b"GB", 22),
    (*b"GE", 22),
    (*b"GI", 23),
    (*b"GL", 18),
    (*b"GR", 27),
    (*b"GT", 28),
    (*b"HN", 28),
    (*b"HR", 21),
    (*b"HU", 28),
    (*b"IE", 22),
    (*b"IL", 23),
    (*b"IQ", 23),
    (*b"IS", 26),
    (*b"IT", 27),
    (*b"JO", 30),
    (*b"KW", 30),
    (*b"KZ", 20),
    (*b"LB", 28),
    (*b"LC", 32),
    (*b"LI", 21),
    (*b"LT", 20),
    (*b"LU", 20),
    (*b"LV", 21),
    (*b"LY", 25),
    (*b"MC", 27),
    (*b"MD", 24),
    (*b"ME", 22),
    (*b"MK", 19),
    (*b"MN", 20),
    (*b"MR", 27),
    (*b"MT", 31),
    (*b"MU", 30),
    (*b"NI", 28),
    (*b"NL", 18),
    (*b"NO", 15),
    (*b"OM", 23),
    (*b"PK", 24),
    (*b"PL", 28),
    (*b"PS", 29),
    (*b"PT", 25),
    (*b"QA", 29),
    (*b"RO", 24),
    (*b"RS", 22),
    (*b"RU", 33),
    (*b"SA", 24),
    (*b"SC", 31),
    (*b"SD", 18),
    (*b"SE", 24),
    (*b"SI", 19),
    (*b"SK", 24),
    (*b"SM", 27),
    (*b"SO", 23),
    (*b"ST", 25),
    (*b"SV", 28),
    (*b"TL", 23),
    (*b"TN", 24),
    (*b"TR", 26),
    (*b"UA", 29),
    (*b"VA", 22),
    (*b"VG", 24),
    (*b"XK", 20),
    (*b"YE", 30),
];

/// [`IBAN_LENGTHS`] by country code, one entry for each pair of capital
/// letters (0 for a country that issues no IBAN): one lookup, where a
/// search of the list cost ~65 instructions (`an101`, `tc19060`: every
/// word of two letters and digits is tried as an IBAN's start).
static IBAN_LENGTH_BY_CODE: [u8; 26 * 26] = {
    let mut t = [0u8; 26 * 26];
    let mut k = 0;
    while k < IBAN_LENGTHS.len() {
        let ([a, b], len) = IBAN_LENGTHS[k];
        t[(a - b'A') as usize * 26 + (b - b'A') as usize] = len;
        k += 1;
    }
    t
};

/// The IBAN length for the (upper-case) country code, if it issues IBANs.
#[inline]
pub(crate) fn iban_length(country: [u8; 2]) -> Option<usize> {
    let [a, b] = country;
    if !a.is_ascii_uppercase() || !b.is_ascii_uppercase() {
        return None;
    }
    let len = IBAN_LENGTH_BY_CODE[usize::from(a - b'A') * 26 + usize::from(b - b'A')];
    (len != 0).then_some(usize::from(len))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tables_are_sorted_for_binary_search() {
        for t in [CALLING_CODES_1, CALLING_CODES_2, CALLING_CODES_3] {
            assert!(t.windows(2).all(|w| w[0] < w[1]));
        }
    }

    #[test]
    fn calling_codes() {
        assert_eq!(calling_code_len(b"14155552671"), Some(1));
        assert_eq!(calling_code_len(b"442079460958"), Some(2));
        assert_eq!(calling_code_len(b"353861234567"), Some(3));
        assert_eq!(calling_code_len(b"2101234567"), None); // 210 is unassigned
        assert_eq!(calling_code_len(b"8"), None);
    }

    #[test]
    fn iban_lengths() {
        assert_eq!(iban_length(*b"DE"), Some(22));
        assert_eq!(iban_length(*b"NO"), Some(15));
        assert_eq!(iban_length(*b"US"), None);
        assert_eq!(iban_length(*b"de"), None);
        assert_eq!(iban_length(*b"D1"), None);
        // The table holds the list, and nothing else.
        for a in 0..=255u8 {
            for b in 0..=255u8 {
                let listed = IBAN_LENGTHS
                    .iter()
                    .find(|(c, _)| *c == [a, b])
                    .map(|(_, len)| usize::from(*len));
                assert_eq!(iban_length([a, b]), listed, "{a} {b}");
            }
        }
    }
}
