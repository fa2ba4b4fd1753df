//! `verify` on JSONL files: the chain across rotations, its signed
//! checkpoints, and each kind of tampering named as on a SQLite store.

use std::path::{Path, PathBuf};

use warden_audit::{
    AuditRecord, AuditSink, CheckpointPolicy, EventType, JsonlSink, JsonlWitness, Problem,
    SigningKey, Verifier, read_witness_file,
};
use warden_test_support::Scratch;

fn records(n: usize) -> Vec<AuditRecord> {
    (0..n)
        .map(|i| AuditRecord::new(EventType::DataAccess, format!("read-{i}")).with_user("u-1"))
        .collect()
}

/// 30 records in batches of 3, rotated every ~2 KB, a checkpoint every 6,
/// signed by `signing`; the files, oldest first.
fn write_chain(path: &Path, signing: &SigningKey, witness: Option<&Path>) -> Vec<PathBuf> {
    let mut sink = JsonlSink::open(path)
        .unwrap()
        .rotate_at_size(2_000)
        .signing_key(signing.clone())
        .checkpoints(CheckpointPolicy {
            every_records: 6,
            every: std::time::Duration::from_secs(3600),
        });
    if let Some(w) = witness {
        sink = sink.witness(JsonlWitness::open(w).unwrap());
    }
    for chunk in records(30).chunks(3) {
        sink.write(chunk).unwrap();
    }
    sink.close().unwrap();
    let mut files: Vec<_> = std::fs::read_dir(path.parent().unwrap())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| {
            p.file_name()
                .unwrap()
                .to_str()
                .unwrap()
                .starts_with("audit.jsonl")
        })
        .filter(|p| p != path)
        .collect();
    files.sort();
    files.push(path.to_owned());
    files
}

fn verify(path: &Path, signing: &SigningKey) -> warden_audit::VerifyReport {
    Verifier::new()
        .public_key(signing.public_key())
        .verify_jsonl(path)
        .unwrap()
}

/// Rewrites `file` with `edit` applied to its lines.
fn edit_lines(file: &Path, edit: impl FnOnce(&mut Vec<String>)) {
    let mut lines: Vec<String> = std::fs::read_to_string(file)
        .unwrap()
        .lines()
        .map(str::to_owned)
        .collect();
    edit(&mut lines);
    std::fs::write(file, lines.join("\n") + "\n").unwrap();
}

#[test]
fn a_rotated_signed_chain_verifies_with_the_public_key() {
    let dir = Scratch::new();
    let path = dir.path("audit.jsonl");
    let signing = SigningKey::generate();
    let files = write_chain(&path, &signing, None);
    assert!(files.len() >= 3, "{files:?}");
    let report = verify(&path, &signing);
    assert!(report.is_ok(), "{report}");
    // Five periodic checkpoints and one at close.
    assert_eq!(
        (report.records, report.valid, report.valid_checkpoints),
        (30, 30, 6)
    );
    assert_eq!(report.unverified_tail, 0);
    assert_eq!(report.signers[0].last_seq, 30);
    // Another key's public key fails every checkpoint.
    let other = verify(&path, &SigningKey::generate());
    assert!(
        other
            .problems
            .iter()
            .all(|p| matches!(p, Problem::UntrustedSigner { .. })),
        "{other}"
    );
}

#[test]
fn tampering_with_jsonl_files_is_named() {
    let signing = SigningKey::generate();
    let fresh = || {
        let dir = Scratch::new();
        let path = dir.path("audit.jsonl");
        let files = write_chain(&path, &signing, None);
        (dir, path, files)
    };

    // An edited line in a rotated file.
    let (_dir, path, files) = fresh();
    edit_lines(&files[0], |lines| {
        lines[1] = lines[1].replace("read-1", "read-X");
    });
    assert_eq!(
        verify(&path, &signing).problems,
        [Problem::Edited { seq: 2 }]
    );

    // A rotated file deleted in the middle of the chain.
    let (_dir, path, files) = fresh();
    let first_of_second = first_seq(&files[1]);
    let last_of_second = first_seq(&files[2]) - 1;
    std::fs::remove_file(&files[1]).unwrap();
    let problems = verify(&path, &signing).problems;
    assert_eq!(
        problems[0],
        Problem::Deleted {
            after_seq: first_of_second - 1,
            before_seq: last_of_second + 1
        },
        "{problems:?}"
    );

    // The last records cut, their checkpoints kept.
    let (_dir, path, _) = fresh();
    edit_lines(&path, |lines| {
        lines.retain(|l| !l.contains("\"seq\":30,") && !l.contains("\"seq\":29,"));
    });
    let problems = verify(&path, &signing).problems;
    assert!(
        problems.contains(&Problem::TailTruncated {
            checkpoint_last_seq: 30,
            last_seq: Some(28)
        }),
        "{problems:?}"
    );

    // Two lines swapped.
    let (_dir, path, files) = fresh();
    edit_lines(&files[0], |lines| lines.swap(0, 1));
    let problems = verify(&path, &signing).problems;
    assert!(!problems.is_empty(), "a swap went unnoticed");
    assert!(
        problems.iter().any(|p| matches!(
            p,
            Problem::Deleted { .. } | Problem::Reordered { .. } | Problem::HeadDeleted { .. }
        )),
        "{problems:?}"
    );
}

fn first_seq(file: &Path) -> i64 {
    std::fs::read_to_string(file)
        .unwrap()
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .find_map(|v| v["seq"].as_i64())
        .unwrap()
}

#[test]
fn a_jsonl_chain_rewritten_with_the_stolen_key_is_caught_by_its_witness() {
    let dir = Scratch::new();
    let path = dir.path("audit.jsonl");
    let witness = dir.path("witness.jsonl.off-host");
    let signing = SigningKey::generate();
    let files = write_chain(&path, &signing, Some(&witness));
    let witnessed = read_witness_file(&witness).unwrap();
    assert_eq!(witnessed.len(), 6);
    // The attacker rewrites the whole chain with one record changed, under
    // the same stream, re-signing with the stolen key.
    let stream = witnessed[0].checkpoint.stream.clone();
    let rewritten_dir = Scratch::new();
    let rewritten = rewritten_dir.path("audit.jsonl");
    std::fs::write(
        &rewritten,
        format!("{}\n", witnessed[0].to_json()), // carries the stream name over
    )
    .unwrap();
    let mut sink = JsonlSink::open(&rewritten)
        .unwrap()
        .signing_key(signing.clone());
    assert_eq!(sink.stream(), stream);
    let mut history = records(30);
    history[10].action = "nothing-to-see".into();
    sink.write(&history).unwrap();
    sink.close().unwrap();
    drop(sink);
    for file in &files {
        std::fs::remove_file(file).unwrap();
    }
    edit_lines(&rewritten, |lines| {
        lines.remove(0);
    });
    std::fs::copy(&rewritten, &path).unwrap();
    assert!(verify(&path, &signing).is_ok(), "the key alone cannot tell");
    let report = Verifier::new()
        .public_key(signing.public_key())
        .witness(witnessed)
        .verify_jsonl(&path)
        .unwrap();
    assert!(
        report
            .problems
            .iter()
            .any(|p| matches!(p, Problem::WitnessMismatch { last_seq: 12, .. })),
        "{report}"
    );
}

#[test]
fn a_sink_reopened_after_a_rotation_continues_the_chain() {
    let dir = Scratch::new();
    let path = dir.path("audit.jsonl");
    let signing = SigningKey::generate();
    let mut sink = JsonlSink::open(&path).unwrap().signing_key(signing.clone());
    sink.write(&records(5)).unwrap();
    sink.close().unwrap();
    drop(sink);
    // The process stopped just after a rotation: no current file.
    std::fs::rename(&path, dir.path("audit.jsonl.20261128T000000000000Z")).unwrap();
    let mut sink = JsonlSink::open(&path).unwrap().signing_key(signing.clone());
    sink.write(&records(5)).unwrap();
    sink.close().unwrap();
    let report = verify(&path, &signing);
    assert!(report.is_ok() && report.records == 10, "{report}");
}
