//! Fuzzes `warden redact --json`'s line handler (`warden_cli::redact::run`)
//! on arbitrary input: lines that are JSON, not JSON, not UTF-8, deeply
//! nested, without an ending.
//!
//! Invariants: it never fails on data (only a writer can fail it), every
//! line comes out once with the ending it came with, a JSON line comes out
//! as JSON, and the counts are the lines'.
#![no_main]

use std::sync::OnceLock;

use clap::Parser;
use libfuzzer_sys::fuzz_target;
use warden_cli::redact::{RedactArgs, run};

#[derive(Parser)]
struct Command {
    #[command(flatten)]
    args: RedactArgs,
}

fn args() -> &'static RedactArgs {
    static ARGS: OnceLock<RedactArgs> = OnceLock::new();
    ARGS.get_or_init(|| Command::parse_from(["redact", "--json"]).args)
}

fuzz_target!(|data: &[u8]| {
    let (mut out, mut err) = (Vec::new(), Vec::new());
    let summary = run(args(), data, &mut out, &mut err).expect("only a writer can fail it");
    let lines = data.split_inclusive(|&b| b == b'\n').count() as u64;
    assert_eq!(summary.lines, lines);
    let written = out.split_inclusive(|&b| b == b'\n').count() as u64;
    // A line may only gain an ending it did not have when it is the last.
    assert_eq!(written, lines);
    assert!(summary.not_json + summary.invalid_utf8 <= 2 * lines);
    let ends = |d: &[u8]| d.iter().filter(|&&b| b == b'\n').count();
    assert_eq!(ends(&out), ends(data));
    for (line_in, line_out) in data
        .split_inclusive(|&b| b == b'\n')
        .zip(out.split_inclusive(|&b| b == b'\n'))
    {
        let body = line_in.strip_suffix(b"\n").unwrap_or(line_in);
        let body = body.strip_suffix(b"\r").unwrap_or(body);
        if let Ok(text) = std::str::from_utf8(body) {
            if !text.trim().is_empty()
                && serde_json::from_str::<serde_json::Value>(text).is_ok()
            {
                let out_body = line_out.strip_suffix(b"\n").unwrap_or(line_out);
                let out_body = out_body.strip_suffix(b"\r").unwrap_or(out_body);
                assert!(
                    serde_json::from_slice::<serde_json::Value>(out_body).is_ok(),
                    "a JSON line came out as something else"
                );
            }
        }
    }
});
