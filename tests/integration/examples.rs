//! Every example under `examples/` runs to success, as a user would run it
//! (`cargo test` builds them first): the layer examples check their own
//! results and fail otherwise, and the OTLP one exports to a real collector.

use std::path::PathBuf;
use std::process::{Command, Output};

use warden_test_support::{Collector, RAW};

/// The example binary `cargo test` built beside this test's own binary.
pub(crate) fn example(name: &str) -> Command {
    let test_binary = std::env::current_exe().expect("the test binary's path");
    let profile_dir = test_binary
        .parent()
        .and_then(|deps| deps.parent())
        .expect("target/<profile>/deps");
    let path: PathBuf = profile_dir
        .join("examples")
        .join(format!("{name}{}", std::env::consts::EXE_SUFFIX));
    assert!(path.exists(), "{} was not built", path.display());
    let mut command = Command::new(path);
    command.env_remove("OTEL_EXPORTER_OTLP_ENDPOINT");
    command
}

fn run(mut command: Command) -> String {
    let Output {
        status,
        stdout,
        stderr,
    } = command.output().expect("the example starts");
    let stdout = String::from_utf8_lossy(&stdout).into_owned();
    assert!(
        status.success(),
        "{status}\nstdout:\n{stdout}\nstderr:\n{}",
        String::from_utf8_lossy(&stderr)
    );
    stdout
}

#[test]
fn pii_gate_keeps_every_raw_value_out() {
    let out = run(example("pii_gate"));
    assert!(out.contains("no raw value reached the output"), "{out}");
    assert!(out.contains("**** **** **** 1111"), "{out}");
}

#[test]
fn audit_sqlite_stores_records_that_verify() {
    let dir = warden_test_support::Scratch::new();
    let mut command = example("audit_sqlite");
    command.arg(dir.path("audit.db"));
    let out = run(command);
    assert!(out.contains("login_failed"), "{out}");
    assert!(out.contains("result:      OK"), "{out}");
    for raw in RAW {
        assert!(!out.contains(raw), "{raw} in {out}");
    }
}

#[test]
fn metrics_alerts_fire_and_resolve() {
    let out = run(example("metrics_alerts"));
    assert!(out.contains("Fired"), "{out}");
    assert!(out.contains("Resolved"), "{out}");
    // About 600 calls on a quiet machine (the slow ones down to 5%); more
    // where some fast calls overslept and the rule resolved later.
    let count = out
        .lines()
        .find_map(|line| line.strip_prefix("checkout"))
        .and_then(|row| row.split_whitespace().next()?.parse::<u64>().ok());
    assert!(
        count.is_some_and(|n| n >= 600 && n % 30 == 0),
        "{count:?} in {out}"
    );
}

#[test]
fn otlp_export_reaches_a_real_collector_sanitized() {
    let collector = Collector::start();
    let mut command = example("otlp_export");
    command.env("OTEL_EXPORTER_OTLP_ENDPOINT", collector.grpc());
    let out = run(command);
    assert!(out.contains("spans             5"), "{out}");
    assert!(
        collector.wait_for(std::time::Duration::from_secs(20), |o| o
            .contains("get_order")
            && o.contains("order read")),
        "{}",
        collector.output()
    );
    assert!(!collector.output().contains("ada@example.com"));
}

#[test]
fn quickstart_runs_on_embedded_defaults() {
    let dir = warden_test_support::Scratch::new();
    let mut command = example("quickstart");
    command.current_dir(&dir.0).args(["--requests", "200"]);
    run(command);
}

/// Runs `command`, which must succeed, and returns its one export-failure
/// report on stderr (failing unless there is exactly one) and its stdout.
fn the_one_failure_report(mut command: Command) -> (String, String) {
    let output = command.output().expect("the example starts");
    assert!(output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    let reports: Vec<&str> = stderr
        .lines()
        .filter(|l| l.starts_with("warden-otlp: exporting"))
        .collect();
    assert_eq!(reports.len(), 1, "{stderr}");
    (
        reports[0].to_owned(),
        String::from_utf8_lossy(&output.stdout).into_owned(),
    )
}

#[test]
fn a_failing_export_is_reported_once_on_stderr_with_its_reason() {
    // Nothing listens on port 9: every export of this run fails.
    let mut command = example("otlp_export");
    command.env("OTEL_EXPORTER_OTLP_ENDPOINT", "https://127.0.0.1:9");
    let (report, stdout) = the_one_failure_report(command);
    assert!(report.contains("Connection refused"), "{report}");
    assert!(
        stdout.contains("spans             0          0          5"),
        "{stdout}"
    );
}

#[test]
fn an_untrusted_certificate_is_reported_once_with_its_reason() {
    let dir = warden_test_support::Scratch::new();
    warden_test_support::write_certificates(&dir.0);
    let collector = Collector::start();
    let proxy = warden_test_support::TlsProxy::start(&dir.0, collector.http_port, None);
    let mut command = example("otlp_export");
    command
        .env("OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf")
        .env(
            "OTEL_EXPORTER_OTLP_ENDPOINT",
            format!("https://localhost:{}", proxy.port),
        )
        // A CA that signed nothing the proxy presents.
        .env("OTEL_EXPORTER_OTLP_CERTIFICATE", dir.path("other-ca.pem"));
    let (report, _) = the_one_failure_report(command);
    assert!(report.contains("UnknownIssuer"), "{report}");
    assert!(!collector.output().contains("get_order"));
}

/// The axum recipe: one metrics row per route, an access line per request
/// carrying its correlation ID, 503s counted as errors (the example checks
/// its own metrics; here, its log lines).
#[cfg(feature = "tower")]
#[test]
fn axum_service_gets_a_row_per_route_and_access_lines() {
    let out = run(example("axum_service"));
    let access: Vec<serde_json::Value> = out
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .filter(|v: &serde_json::Value| v["target"] == "warden::access")
        .collect();
    assert_eq!(access.len(), 30, "{out}");
    assert!(
        access.iter().all(|a| a["correlation_id"].is_string()),
        "{out}"
    );
    assert!(
        access.iter().any(|a| a["message"]
            .as_str()
            .is_some_and(|m| m.starts_with("GET /orders/{id} 200 "))),
        "{out}"
    );
    assert!(access.iter().any(|a| a["status"] == 503), "{out}");
}

/// The graceful-stop recipe (`warden::shutdown_signal`): the axum example
/// with `--serve` answers until SIGTERM or SIGINT, then stops taking
/// requests, flushes within its timeout (5 s) and says what it delivered:
/// it exits within the timeout plus a second, with nothing lost.
#[cfg(all(unix, feature = "tower", feature = "signal"))]
#[test]
fn axum_service_stops_gracefully_on_sigterm_and_sigint() {
    use std::io::{BufRead, BufReader, Read, Write};
    use std::process::Stdio;
    use std::time::{Duration, Instant};

    for signal in ["TERM", "INT"] {
        let mut child = example("axum_service")
            .arg("--serve")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("the example starts");
        let mut stderr = BufReader::new(child.stderr.take().expect("stderr"));
        let mut line = String::new();
        stderr.read_line(&mut line).expect("its first line");
        let addr = line
            .trim()
            .strip_prefix("listening on ")
            .unwrap_or_else(|| panic!("{line}"))
            .to_owned();
        let mut stream = std::net::TcpStream::connect(&addr).expect("it listens");
        stream
            .write_all(b"GET /orders/7 HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n")
            .unwrap();
        let mut answer = String::new();
        stream.read_to_string(&mut answer).unwrap();
        assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");

        let asked = Instant::now();
        let sent = std::process::Command::new("kill")
            .arg(format!("-{signal}"))
            .arg(child.id().to_string())
            .status()
            .expect("kill runs");
        assert!(sent.success());
        let status = loop {
            if let Some(status) = child.try_wait().unwrap() {
                break status;
            }
            if asked.elapsed() > Duration::from_secs(6) {
                let _ = child.kill();
                panic!("SIG{signal}: still running after 6 s");
            }
            std::thread::sleep(Duration::from_millis(20));
        };
        let mut rest = String::new();
        stderr.read_to_string(&mut rest).unwrap();
        let mut out = String::new();
        child
            .stdout
            .take()
            .expect("stdout")
            .read_to_string(&mut out)
            .unwrap();
        assert!(status.success(), "SIG{signal}: {status}\n{rest}");
        assert!(
            rest.contains("nothing lost")
                && rest.contains("audit route sqlite: 1 written, 0 dropped, 0 unwritten"),
            "SIG{signal}: {rest}"
        );
        assert!(
            out.contains(&format!("\"signal\":\"SIG{signal}\"")),
            "{out}"
        );
        assert!(out.contains("GET /orders/{id} 200"), "{out}");
    }
}
