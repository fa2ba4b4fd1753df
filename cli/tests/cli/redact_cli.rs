//! The `warden` binary, run as a user would.

use std::io::Write;
use std::process::{Command, Stdio};

fn warden(args: &[&str], stdin: &[u8], env: &[(&str, &str)]) -> (i32, Vec<u8>, String) {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_warden"));
    cmd.args(args)
        .env_remove("WARDEN_PII_KEY")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for (k, v) in env {
        cmd.env(k, v);
    }
    let mut child = cmd.spawn().unwrap();
    let mut input = child.stdin.take().unwrap();
    let data = stdin.to_vec();
    let writer = std::thread::spawn(move || {
        let _ = input.write_all(&data);
    });
    let out = child.wait_with_output().unwrap();
    writer.join().unwrap();
    (
        out.status.code().unwrap_or(-1),
        out.stdout,
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn local_addresses_are_left_unless_asked_and_placeholders_counted() {
    let input = b"bound to 127.0.0.1:8080 and [::1]:9000, password=${DB_PASSWORD}\n";
    let (code, out, err) = warden(&["redact", "--stats"], input, &[]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(out, input.to_vec());
    assert!(
        err.contains("0 value(s) redacted , 1 placeholder(s) left"),
        "{err}"
    );
    let (_, out, _) = warden(&["redact", "--redact-local-addresses"], input, &[]);
    assert_eq!(
        String::from_utf8_lossy(&out),
        "bound to [REDACTED:IP_ADDRESS]:8080 and [[REDACTED:IP_ADDRESS]]:9000, password=${DB_PASSWORD}\n"
    );
}

#[test]
fn redacts_a_stream() {
    let (code, out, err) = warden(
        &["redact", "--stats"],
        b"user ada@example.com from 10.1.2.3\nbad \xfe byte\n",
        &[],
    );
    assert_eq!(code, 0, "{err}");
    assert_eq!(
        out,
        "user [REDACTED:EMAIL] from [REDACTED:IP_ADDRESS]\nbad \u{fffd} byte\n".as_bytes()
    );
    assert!(err.contains("line 2: invalid UTF-8"), "{err}");
    assert!(
        err.contains("2 value(s) redacted EMAIL=1 IP_ADDRESS=1"),
        "{err}"
    );
}

#[test]
fn hmac_tokens_are_stable_across_runs_with_the_same_key() {
    let key = [("WARDEN_PII_KEY", "a-test-key-of-32-bytes-long-0001")];
    let args = ["redact", "--json", "--strategy", "hmac"];
    let (c1, o1, _) = warden(&args, br#"{"email":"Ada@Example.com"}"#, &key);
    let (c2, o2, _) = warden(&args, br#"{"email":"ada@example.com"}"#, &key);
    assert_eq!((c1, c2), (0, 0));
    assert_eq!(o1, o2);
    assert!(
        String::from_utf8(o1)
            .unwrap()
            .starts_with(r#"{"email":"[EMAIL:k"#)
    );
}

#[test]
fn a_bad_configuration_exits_2_with_a_message() {
    let (code, out, err) = warden(&["redact", "--strategy", "hmac"], b"x\n", &[]);
    assert_eq!(code, 2);
    assert!(out.is_empty());
    assert!(err.contains("WARDEN_PII_KEY"), "{err}");
    let (code, _, err) = warden(&["redact", "--disable", "nonsense"], b"", &[]);
    assert_eq!(code, 2);
    assert!(err.contains("unknown PII kind"), "{err}");
}

#[test]
fn a_large_line_streams_through() {
    let mut line = "word ".repeat(2_000_000).into_bytes();
    line.extend_from_slice(b"ada@example.com\n");
    let (code, out, _) = warden(&["redact"], &line, &[]);
    assert_eq!(code, 0);
    assert!(out.ends_with(b"[REDACTED:EMAIL]\n"));
    assert_eq!(out.len(), line.len() - 15 + 16);
}
