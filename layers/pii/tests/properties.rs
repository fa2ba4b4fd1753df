//! Property tests for the sanitizer.

use std::borrow::Cow;
use std::net::{Ipv4Addr, Ipv6Addr};

use proptest::prelude::*;
use warden_pii::{PiiKind, Sanitizer};

fn luhn_check_digit(body: &[u8]) -> u8 {
    let sum: u32 = body
        .iter()
        .rev()
        .enumerate()
        .map(|(i, &d)| {
            let d = u32::from(d);
            if i % 2 == 0 {
                let x = d * 2;
                if x > 9 { x - 9 } else { x }
            } else {
                d
            }
        })
        .sum();
    ((10 - sum % 10) % 10) as u8
}

fn card() -> impl Strategy<Value = String> {
    let networks = prop_oneof![
        Just(("4", 16)),
        Just(("4", 13)),
        Just(("51", 16)),
        Just(("55", 16)),
        Just(("2221", 16)),
        Just(("34", 15)),
        Just(("37", 15)),
        Just(("6011", 16)),
        Just(("65", 16)),
        Just(("3530", 16)),
        Just(("62", 19)),
    ];
    (networks, prop::collection::vec(0u8..10, 19), 0usize..3).prop_map(
        |((prefix, len), random, style)| {
            let mut digits: Vec<u8> = prefix.bytes().map(|b| b - b'0').collect();
            digits.extend_from_slice(&random[..len - 1 - digits.len()]);
            digits.push(luhn_check_digit(&digits));
            let plain: String = digits.iter().map(|d| char::from(b'0' + d)).collect();
            match (style, len) {
                (1, 16) | (2, 16) => {
                    let sep = if style == 1 { " " } else { "-" };
                    plain
                        .as_bytes()
                        .chunks(4)
                        .map(|c| std::str::from_utf8(c).unwrap())
                        .collect::<Vec<_>>()
                        .join(sep)
                }
                (1, 15) => format!("{} {} {}", &plain[..4], &plain[4..10], &plain[10..]),
                _ => plain,
            }
        },
    )
}

fn email() -> impl Strategy<Value = String> {
    (
        "[a-z0-9]([a-z0-9_+-]{0,8}[a-z0-9])?(\\.[a-z0-9]{1,6}){0,2}",
        prop::collection::vec("[a-z0-9]([a-z0-9-]{0,8}[a-z0-9])?", 1..3),
        "[a-z]{2,6}",
        any::<bool>(),
    )
        .prop_map(|(local, labels, tld, upper)| {
            let e = format!("{local}@{}.{tld}", labels.join("."));
            if upper { e.to_uppercase() } else { e }
        })
}

fn phone() -> impl Strategy<Value = String> {
    let nanp =
        ("[2-9][0-8][0-9]", "[2-9][0-9]{2}", "[0-9]{4}", 0usize..6).prop_map(|(a, e, l, style)| {
            match style {
                0 => format!("({a}) {e}-{l}"),
                1 => format!("{a}-{e}-{l}"),
                2 => format!("{a}.{e}.{l}"),
                3 => format!("+1 {a} {e} {l}"),
                4 => format!("+1{a}{e}{l}"),
                _ => format!("1-{a}-{e}-{l}"),
            }
        });
    let international = (
        prop_oneof![
            Just("44"),
            Just("49"),
            Just("33"),
            Just("91"),
            Just("61"),
            Just("81"),
            Just("353"),
            Just("34")
        ],
        "[1-9][0-9]{2}",
        "[0-9]{3}",
        "[0-9]{3,4}",
        prop_oneof![Just(" "), Just("-"), Just(".")],
    )
        .prop_map(|(cc, a, b, c, sep)| format!("+{cc}{sep}{a}{sep}{b}{sep}{c}"));
    prop_oneof![nanp, international]
}

fn ssn() -> impl Strategy<Value = String> {
    (
        1u32..900,
        1u32..100,
        1u32..10000,
        prop_oneof![Just('-'), Just(' '), Just('.')],
    )
        .prop_filter("area 666 is never issued", |(a, ..)| *a != 666)
        .prop_map(|(a, g, s, sep)| format!("{a:03}{sep}{g:02}{sep}{s:04}"))
}

fn ip() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<[u8; 4]>().prop_map(|o| Ipv4Addr::from(o).to_string()),
        any::<[u16; 8]>()
            .prop_filter("needs a few hex digits", |g| g
                .iter()
                .filter(|&&x| x != 0)
                .count()
                >= 2)
            .prop_map(|g| Ipv6Addr::from(g).to_string()),
    ]
}

fn iban() -> impl Strategy<Value = String> {
    let countries = prop_oneof![
        Just(("DE", 22)),
        Just(("BE", 16)),
        Just(("NO", 15)),
        Just(("FI", 18)),
        Just(("AT", 20)),
        Just(("ES", 24)),
        Just(("PL", 28)),
    ];
    (countries, prop::collection::vec(0u8..10, 30), any::<bool>()).prop_map(
        |((cc, len), digits, grouped)| {
            let bban: String = digits[..len - 4]
                .iter()
                .map(|d| char::from(b'0' + d))
                .collect();
            let numeric: String = format!(
                "{bban}{}00",
                cc.bytes()
                    .map(|c| (c - b'A' + 10).to_string())
                    .collect::<String>()
            );
            let rem = numeric
                .bytes()
                .fold(0u32, |r, c| (r * 10 + u32::from(c - b'0')) % 97);
            let iban = format!("{cc}{:02}{bban}", 98 - rem);
            if grouped {
                iban.as_bytes()
                    .chunks(4)
                    .map(|c| std::str::from_utf8(c).unwrap())
                    .collect::<Vec<_>>()
                    .join(" ")
            } else {
                iban
            }
        },
    )
}

/// Filler text: words and small numbers, never two numbers in a row.
fn filler() -> impl Strategy<Value = String> {
    prop::collection::vec(
        (
            "[a-zA-Z]{1,10}",
            prop::option::of("[1-9][0-9]{0,3}"),
            "[ ,;!?.]{0,1}",
        ),
        0..8,
    )
    .prop_map(|tokens| {
        tokens
            .into_iter()
            .map(|(word, number, punct)| match number {
                Some(n) => format!("{word} {n}{punct}"),
                None => format!("{word}{punct}"),
            })
            .collect::<Vec<_>>()
            .join(" ")
    })
}

fn check_hidden(
    kind: PiiKind,
    value: &str,
    before: &str,
    after: &str,
) -> Result<(), TestCaseError> {
    // Loopback and unspecified addresses are left by default (they
    // identify no one); with this option every address is redacted.
    let s = Sanitizer::builder()
        .redact_local_addresses(true)
        .build()
        .expect("default options build");
    let text = format!("{before} {value} {after}");
    let out = s.sanitize(&text);
    prop_assert!(!out.contains(value), "{value:?} survived in {out:?}");
    let start = before.len() + 1;
    let covering = s
        .findings(&text)
        .into_iter()
        .find(|f| f.range.start <= start && f.range.end >= start + value.len());
    prop_assert_eq!(covering.map(|f| f.kind), Some(kind), "{:?}", text);
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    #[test]
    fn emails_never_survive(v in email(), a in filler(), b in filler()) {
        check_hidden(PiiKind::Email, &v, &a, &b)?;
    }

    #[test]
    fn phones_never_survive(v in phone(), a in filler(), b in filler()) {
        check_hidden(PiiKind::Phone, &v, &a, &b)?;
    }

    #[test]
    fn ssns_never_survive(v in ssn(), a in filler(), b in filler()) {
        check_hidden(PiiKind::Ssn, &v, &a, &b)?;
    }

    #[test]
    fn cards_never_survive(v in card(), a in filler(), b in filler()) {
        check_hidden(PiiKind::CreditCard, &v, &a, &b)?;
    }

    #[test]
    fn ips_never_survive(v in ip(), a in filler(), b in filler()) {
        check_hidden(PiiKind::IpAddress, &v, &a, &b)?;
    }

    #[test]
    fn ibans_never_survive(v in iban(), a in filler(), b in filler()) {
        check_hidden(PiiKind::Iban, &v, &a, &b)?;
    }

    #[test]
    fn clean_text_comes_back_borrowed(text in filler()) {
        let out = Sanitizer::default().sanitize(&text);
        prop_assert!(matches!(out, Cow::Borrowed(_)), "changed: {:?} -> {:?}", text, out);
    }

    #[test]
    fn cards_as_integers_are_caught(v in card()) {
        let digits: String = v.chars().filter(char::is_ascii_digit).collect();
        let n: u64 = digits.parse().unwrap();
        let mut json = serde_json::json!({ "n": n });
        Sanitizer::default().sanitize_json(&mut json);
        prop_assert_eq!(json["n"].as_str(), Some("[REDACTED:CREDIT_CARD]"));
    }

    /// Text made of the pieces the detectors look at (context words, keys,
    /// operators, quotes, brackets, flags, separators, digits, hex), which
    /// arbitrary strings almost never assemble: no panic, findings in
    /// order, disjoint and on character boundaries, clean text borrowed.
    /// (Not idempotence: on such soup a replacement can change how the
    /// fragment beside it reads, e.g. `…1111::abA` next to a card.)
    #[test]
    fn token_soup_keeps_the_structural_invariants(parts in proptest::collection::vec(token(), 0..40)) {
        check_structure(&parts.concat())?;
    }

    /// What the fuzz target checks, on arbitrary strings.
    #[test]
    fn arbitrary_input_keeps_the_invariants(text in any::<String>(), bytes in any::<Vec<u8>>()) {
        for t in [text, String::from_utf8_lossy(&bytes).into_owned()] {
            check_invariants(&t)?;
        }
    }
}

fn token() -> impl Strategy<Value = String> {
    prop_oneof![
        prop::sample::select(vec![
            "password",
            "token",
            "api_key",
            "PGPASSWORD",
            "phone",
            "call",
            "me",
            "on",
            "SSN",
            "ssn",
            "passport",
            "No",
            "card",
            "tax",
            "id",
            "mobile",
            "user",
            "-p",
            "-u ",
            "--user ",
            "--password ",
            "mysql",
            "getenv(",
            "<password>",
            "</password>",
            "=",
            ":",
            ":=",
            "==",
            "=>",
            ",",
            ";",
            " ",
            "  ",
            "\"",
            "'",
            "`",
            "(",
            ")",
            "[",
            "]",
            "{",
            "}",
            "<",
            ">",
            "$",
            "${",
            "%s",
            "*",
            "x",
            "X",
            "_",
            "-",
            ".",
            "/",
            "+",
            "#",
            "@",
            "::",
            "ffff",
            "ab",
            "0",
            "00",
            "1",
            "12",
            "4111",
            "555",
            "2671",
            "127.0.0.1",
            "10.0.0.7",
            "0701/114930",
            "eyJ",
            "AKIA",
            "ghp_",
            "Bearer ",
            "DE89",
            "\n",
            "ms",
            "blk_",
            "Token{",
            "://",
            "example.com",
            "var.",
            "null",
        ])
        .prop_map(str::to_owned),
        "[0-9]{1,20}",
        "[0-9a-fA-F:.-]{1,12}",
    ]
}

/// Findings are in order, disjoint and on character boundaries; clean
/// input is borrowed. Returns what one sanitizing call made.
fn check_structure(text: &str) -> Result<String, TestCaseError> {
    let s = Sanitizer::default();
    let findings = s.findings(text);
    let mut floor = 0;
    for f in &findings {
        prop_assert!(
            f.range.start >= floor && f.range.end > f.range.start && f.range.end <= text.len()
        );
        prop_assert!(text.is_char_boundary(f.range.start) && text.is_char_boundary(f.range.end));
        floor = f.range.end;
    }
    let once = s.sanitize(text);
    prop_assert_eq!(findings.is_empty(), matches!(once, Cow::Borrowed(_)));
    Ok(once.into_owned())
}

/// The structural invariants, and sanitizing is idempotent.
fn check_invariants(text: &str) -> Result<(), TestCaseError> {
    let once = check_structure(text)?;
    let twice = Sanitizer::default().sanitize(&once);
    prop_assert_eq!(&*twice, &*once);
    Ok(())
}

#[test]
fn structured_near_misses_are_left_alone() {
    let s = Sanitizer::default();
    for text in [
        "version 10.0.19041.1 build 2024-01-15T10:30:00Z",
        "order #4155552671 total 1234.56",
        "uuid 550e8400-e29b-41d4-a716-446655440000",
        "sha 9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
        "matrix 1 2 3 4 5 6 7 8 9 10 11 12 13",
        "timestamp 1700000000123 elapsed 0.25s",
        "path /usr/lib/x86_64-linux-gnu/libssl.so.3",
        "rust path tracing_subscriber::fmt::Layer::new",
        "isbn 978-3-16-148410-0",
    ] {
        assert_eq!(s.findings(text), [], "{text}");
    }
}
