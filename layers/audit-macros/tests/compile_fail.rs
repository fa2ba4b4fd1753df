//! `#[audited]` refuses what it cannot record, at compile time, with a
//! message that says what to write instead.

#[test]
fn misuses_are_compile_errors() {
    let cases = trybuild::TestCases::new();
    cases.compile_fail("tests/ui/*.rs");
}
