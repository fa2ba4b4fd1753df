//! Costs of the PII gate, each beside its baseline measured in the same run.
//!
//! `cargo bench --bench pii` (figures in BENCHMARKS.md).

use std::hint::black_box;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use regex::RegexSet;
use tracing::Dispatch;
use tracing_subscriber::prelude::*;
use warden::pii::{PiiLayer, Sanitizer};

mod common;
use common::{
    CLEAN, CLEAN_KV, DENSE, DIRTY, FIVE_PATTERNS, ReadFloor, clean_event, dense_event, dirty_event,
    loghub_lines,
};

/// The baseline the issue names: one `RegexSet` of five common PII patterns.
fn regex_set() -> RegexSet {
    RegexSet::new([
        r"[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}",
        r"(?:\+?1[-. ]?)?\(?\d{3}\)?[-. ]?\d{3}[-. ]?\d{4}",
        r"\b\d{3}-\d{2}-\d{4}\b",
        r"\b(?:\d[ -]?){13,19}\b",
        r"\b(?:\d{1,3}\.){3}\d{1,3}\b",
    ])
    .expect("valid patterns")
}

fn sanitize(c: &mut Criterion) {
    assert_eq!(CLEAN.len(), 120);
    assert_eq!(CLEAN_KV.len(), 120);
    let sanitizer = Sanitizer::default();
    let set = regex_set();
    assert!(sanitizer.findings(CLEAN).is_empty());
    assert!(sanitizer.findings(CLEAN_KV).is_empty());
    assert_eq!(sanitizer.findings(DIRTY).len(), 2);

    let mut g = c.benchmark_group("sanitize");
    for (name, text) in [
        ("clean_120b", CLEAN),
        ("clean_120b_kv", CLEAN_KV),
        ("email_and_phone", DIRTY),
    ] {
        g.throughput(Throughput::Bytes(text.len() as u64));
        g.bench_with_input(BenchmarkId::new("warden", name), text, |b, t| {
            b.iter(|| sanitizer.sanitize(black_box(t)))
        });
        g.bench_with_input(
            BenchmarkId::new("regexset_5_matches", name),
            text,
            |b, t| b.iter(|| set.matches(black_box(t))),
        );
    }
    g.bench_function("contains_pii/clean_120b", |b| {
        b.iter(|| sanitizer.contains_pii(black_box(CLEAN)))
    });
    g.finish();

    let mut large = c.benchmark_group("sanitize_large");
    large.sample_size(10);
    let mut big = CLEAN.repeat(10 * 1024 * 1024 / CLEAN.len());
    big.push_str(" ada@example.com");
    large.throughput(Throughput::Bytes(big.len() as u64));
    large.bench_function("warden/10mb", |b| {
        b.iter(|| sanitizer.sanitize(black_box(&big)))
    });
    large.finish();
}

/// `fmt::layer().json()` alone, behind the PII gate, and behind the floor
/// of any gate that reads every value ([`common::ReadFloor`]), each
/// writing to a sink.
fn fmt_json_alone_gated_floor() -> (Dispatch, Dispatch, Dispatch) {
    // A macro, not a closure: each layer's type depends on the stack under it.
    macro_rules! fmt_json {
        () => {
            tracing_subscriber::fmt::layer()
                .json()
                .with_writer(std::io::sink)
        };
    }
    (
        Dispatch::new(tracing_subscriber::registry().with(fmt_json!())),
        Dispatch::new(
            tracing_subscriber::registry()
                .with(PiiLayer::default())
                .with(fmt_json!()),
        ),
        Dispatch::new(
            tracing_subscriber::registry()
                .with(ReadFloor)
                .with(fmt_json!()),
        ),
    )
}

fn layer(c: &mut Criterion) {
    let (alone, gated, floor) = fmt_json_alone_gated_floor();

    let mut g = c.benchmark_group("event_4_fields");
    g.bench_function("fmt_json_alone", |b| {
        tracing::dispatcher::with_default(&alone, || b.iter(clean_event))
    });
    g.bench_function("pii+fmt_json", |b| {
        tracing::dispatcher::with_default(&gated, || b.iter(clean_event))
    });
    g.bench_function("floor_read+fmt_json", |b| {
        tracing::dispatcher::with_default(&floor, || b.iter(clean_event))
    });
    g.bench_function("fmt_json_alone/dirty", |b| {
        tracing::dispatcher::with_default(&alone, || b.iter(dirty_event))
    });
    g.bench_function("pii+fmt_json/dirty", |b| {
        tracing::dispatcher::with_default(&gated, || b.iter(dirty_event))
    });
    g.finish();
}

fn real_logs(c: &mut Criterion) {
    let sanitizer = Sanitizer::default();
    let set = RegexSet::new(FIVE_PATTERNS).expect("valid patterns");
    let naive = regex::Regex::new(&FIVE_PATTERNS.join("|")).expect("valid pattern");
    assert!(sanitizer.findings(DENSE).is_empty());

    let mut g = c.benchmark_group("dense_line");
    g.bench_function("warden/sanitize", |b| {
        b.iter(|| sanitizer.sanitize(black_box(DENSE)))
    });
    g.bench_function("regexset_5/is_match", |b| {
        b.iter(|| set.is_match(black_box(DENSE)))
    });
    g.finish();

    let lines = loghub_lines();
    if lines.is_empty() {
        eprintln!("loghub samples not found: the real-log benches are skipped");
        return;
    }
    let mut g = c.benchmark_group("loghub_all_lines");
    g.sample_size(10);
    g.throughput(Throughput::Elements(lines.len() as u64));
    g.bench_function("warden/sanitize", |b| {
        b.iter(|| {
            for l in &lines {
                black_box(sanitizer.sanitize(black_box(l)));
            }
        })
    });
    g.bench_function("naive_one_regex/replace_all", |b| {
        b.iter(|| {
            for l in &lines {
                black_box(naive.replace_all(black_box(l), "[REDACTED]"));
            }
        })
    });
    g.finish();

    // `warden redact` on the ten samples concatenated, in memory: its line
    // loop (UTF-8 check, sanitize, buffered write), beside the naive regex
    // over the same lines.
    let text: Vec<u8> = lines
        .iter()
        .flat_map(|l| [l.as_bytes(), b"\n"])
        .flatten()
        .copied()
        .collect();
    let args = warden_cli::redact::RedactArgs {
        json: false,
        strategy: warden::pii::Strategy::Redact,
        strategy_for: Vec::new(),
        disable: Vec::new(),
        allow: Vec::new(),
        secret_key: Vec::new(),
        hmac_key_file: None,
        hmac_key_id: None,
        redact_local_addresses: false,
        stats: false,
    };
    let mut g = c.benchmark_group("redact_loghub");
    g.sample_size(10);
    g.throughput(Throughput::Bytes(text.len() as u64));
    g.bench_function("warden_redact", |b| {
        b.iter(|| {
            warden_cli::redact::run(&args, &text[..], std::io::sink(), &mut std::io::sink())
                .expect("redacts")
        })
    });
    g.bench_function("naive_one_regex/replace_all", |b| {
        b.iter(|| {
            let mut out = std::io::BufWriter::new(std::io::sink());
            for line in text.split(|&c| c == b'\n') {
                let line = std::str::from_utf8(line).expect("UTF-8");
                std::io::Write::write_all(
                    &mut out,
                    naive.replace_all(line, "[REDACTED]").as_bytes(),
                )
                .expect("writes");
            }
        })
    });
    g.finish();

    let (alone, gated, floor) = fmt_json_alone_gated_floor();
    let mut g = c.benchmark_group("event_dense_message");
    g.bench_function("fmt_json_alone", |b| {
        tracing::dispatcher::with_default(&alone, || b.iter(dense_event))
    });
    g.bench_function("pii+fmt_json", |b| {
        tracing::dispatcher::with_default(&gated, || b.iter(dense_event))
    });
    g.bench_function("floor_read+fmt_json", |b| {
        tracing::dispatcher::with_default(&floor, || b.iter(dense_event))
    });
    g.finish();
}

criterion_group!(benches, sanitize, layer, real_logs);
criterion_main!(benches);
