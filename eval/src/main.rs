//! `warden-eval`: scores `warden-pii`'s default sanitizer on labelled cases and on real logs.
//!
//! ```text
//! warden-eval [--cases DIR] [--loghub DIR] [--show-misses] [--min-recall 0.99]
//!             [--min-kind-recall 0.97] [--max-fpr 0.005]
//! ```
//!
//! Cases are JSON lines, `{"source": "…", "text": "…", "pii": [["KIND", "value"], …]}`; a case
//! with no labels must come out unchanged. A labelled value is recalled when every byte of it is
//! inside a finding (of any kind: nothing of it leaks); a finding that touches no label is a
//! false positive, and bytes a finding takes beyond its label are damage. On the log samples,
//! every redaction other than an IP or email address is printed (there should be none), and
//! every IPv4 address a strict reference reading finds must be redacted.
//!
//! Exits 1 when a threshold is not met, 2 on bad arguments or unreadable input.
#![deny(missing_docs)]
#![deny(unsafe_code)]

mod cases;
mod loghub;

use std::path::PathBuf;
use std::process::ExitCode;

/// Thresholds and inputs from the command line.
struct Args {
    cases: PathBuf,
    loghub: Option<PathBuf>,
    show_misses: bool,
    min_recall: f64,
    min_kind_recall: f64,
    max_fpr: f64,
}

fn parse_args() -> Result<Args, String> {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let mut args = Args {
        cases: root.join("data"),
        loghub: Some(root.join("../../shared/corpora/loghub")),
        show_misses: false,
        min_recall: 0.99,
        min_kind_recall: 0.97,
        max_fpr: 0.005,
    };
    let mut it = std::env::args().skip(1);
    while let Some(a) = it.next() {
        let mut value = |name: &str| it.next().ok_or_else(|| format!("{name} needs a value"));
        let number = |s: String| s.parse::<f64>().map_err(|e| format!("{s}: {e}"));
        match a.as_str() {
            "--cases" => args.cases = PathBuf::from(value("--cases")?),
            "--loghub" => args.loghub = Some(PathBuf::from(value("--loghub")?)),
            "--no-loghub" => args.loghub = None,
            "--show-misses" => args.show_misses = true,
            "--min-recall" => args.min_recall = number(value("--min-recall")?)?,
            "--min-kind-recall" => args.min_kind_recall = number(value("--min-kind-recall")?)?,
            "--max-fpr" => args.max_fpr = number(value("--max-fpr")?)?,
            "-h" | "--help" => {
                return Err(
                    "usage: warden-eval [--cases DIR] [--loghub DIR | --no-loghub] \
                            [--show-misses] [--min-recall R] [--min-kind-recall R] [--max-fpr F]"
                        .into(),
                );
            }
            other => return Err(format!("unknown argument {other}")),
        }
    }
    Ok(args)
}

fn main() -> ExitCode {
    let args = match parse_args() {
        Ok(a) => a,
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::from(2);
        }
    };
    let sanitizer = warden_pii::Sanitizer::default();
    let mut failures = Vec::new();

    match cases::evaluate(&sanitizer, &args.cases, args.show_misses) {
        Ok(score) => {
            print!("{score}");
            failures.extend(score.failures(args.min_recall, args.min_kind_recall, args.max_fpr));
        }
        Err(e) => {
            eprintln!("warden-eval: {e}");
            return ExitCode::from(2);
        }
    }
    if let Some(dir) = &args.loghub {
        match loghub::evaluate(&sanitizer, dir) {
            Ok(report) => {
                print!("{report}");
                failures.extend(report.failures());
            }
            Err(e) => {
                eprintln!("warden-eval: {e}");
                return ExitCode::from(2);
            }
        }
    }
    if failures.is_empty() {
        println!("\nall thresholds met");
        ExitCode::SUCCESS
    } else {
        println!("\nbelow threshold:");
        for f in &failures {
            println!("  - {f}");
        }
        ExitCode::from(1)
    }
}
