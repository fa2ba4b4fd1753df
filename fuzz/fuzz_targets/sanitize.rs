//! Fuzzes `Sanitizer::sanitize` and `findings` on arbitrary input.
//!
//! Run with `cargo +nightly fuzz run sanitize` from the repository root.
//! The same invariants run on stable, on random input, in
//! `layers/pii/tests/properties.rs`.
#![no_main]

use std::borrow::Cow;
use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use warden_pii::{Sanitizer, Strategy};

fn sanitizers() -> &'static [Sanitizer; 2] {
    static S: OnceLock<[Sanitizer; 2]> = OnceLock::new();
    S.get_or_init(|| {
        [
            Sanitizer::default(),
            Sanitizer::builder()
                .strategy(Strategy::Mask)
                .build()
                .expect("mask needs no key"),
        ]
    })
}

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    for s in sanitizers() {
        let findings = s.findings(&text);
        let mut floor = 0;
        for f in &findings {
            assert!(f.range.start >= floor && f.range.end > f.range.start && f.range.end <= text.len());
            assert!(text.is_char_boundary(f.range.start) && text.is_char_boundary(f.range.end));
            floor = f.range.end;
        }
        let once = s.sanitize(&text);
        assert_eq!(findings.is_empty(), matches!(once, Cow::Borrowed(_)));
    }
    let redact = &sanitizers()[0];
    let once = redact.sanitize(&text);
    assert_eq!(redact.sanitize(&once), once, "sanitizing twice changed the output");
});
