//! Instruction counts for the PII gate: run one case in a loop so that
//! `valgrind --tool=callgrind` can count instructions per call, a figure
//! that, unlike wall time on a shared VM, repeats exactly.
//!
//! `./scripts/instructions` runs every case. Run by `cargo bench` without a
//! case, it does nothing.

use std::hint::black_box;

use tracing_subscriber::prelude::*;
use warden::pii::{PiiLayer, Sanitizer};

mod common;
use common::{clean_event, CLEAN, CLEAN_KV, DIRTY};

fn main() {
    let mut args = std::env::args().skip(1);
    let case = args.next().unwrap_or_default();
    let n: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(100_000);
    let s = Sanitizer::default();
    let text = |t: &str| {
        for _ in 0..n {
            black_box(s.sanitize(black_box(t)));
        }
    };
    let events = || (0..n).for_each(|_| clean_event());
    match case.as_str() {
        "sanitize/clean_120b" => text(CLEAN),
        "sanitize/clean_120b_kv" => text(CLEAN_KV),
        "sanitize/email_and_phone" => text(DIRTY),
        "event/fmt_json_alone" => tracing::subscriber::with_default(
            tracing_subscriber::registry().with(
                tracing_subscriber::fmt::layer()
                    .json()
                    .with_writer(std::io::sink),
            ),
            events,
        ),
        "event/pii+fmt_json" => tracing::subscriber::with_default(
            tracing_subscriber::registry()
                .with(PiiLayer::default())
                .with(
                    tracing_subscriber::fmt::layer()
                        .json()
                        .with_writer(std::io::sink),
                ),
            events,
        ),
        "event/pii_alone" => tracing::subscriber::with_default(
            tracing_subscriber::registry().with(PiiLayer::default()),
            events,
        ),
        // `cargo bench` runs every bench target with `--bench`: nothing to do.
        _ => {}
    }
}
