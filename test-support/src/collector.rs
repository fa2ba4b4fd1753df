//! A real OpenTelemetry collector (`rotel-agent`, from the `rotel` package
//! on PyPI) on free loopback ports, printing everything it receives.

use std::io::{BufRead, BufReader};
use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

/// The collector binary: `$ROTEL_AGENT`, else the one the `rotel` Python
/// package ships.
fn agent() -> PathBuf {
    if let Some(path) = std::env::var_os("ROTEL_AGENT") {
        return path.into();
    }
    let out = Command::new("python3")
        .args([
            "-c",
            "import os, rotel; print(os.path.join(os.path.dirname(rotel.__file__), 'rotel-agent'))",
        ])
        .output()
        .expect("python3 runs");
    let path = PathBuf::from(String::from_utf8_lossy(&out.stdout).trim());
    assert!(
        out.status.success() && path.exists(),
        "rotel-agent not found: run ./scripts/test (it installs the `rotel` package) or set ROTEL_AGENT"
    );
    path
}

/// A loopback port nothing listens on (a dead collector).
pub fn closed_port() -> u16 {
    free_port()
}

/// A loopback port free at the time of the call.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

/// A running `rotel-agent`, killed and cleaned up when dropped.
#[derive(Debug)]
pub struct Collector {
    child: Option<Child>,
    /// Its OTLP/gRPC port on 127.0.0.1.
    pub grpc_port: u16,
    /// Its OTLP/HTTP port on 127.0.0.1.
    pub http_port: u16,
    output: Arc<Mutex<String>>,
    dir: PathBuf,
    debug: bool,
}

impl Collector {
    /// A collector that prints everything it receives.
    pub fn start() -> Self {
        Self::start_with(true)
    }

    /// A collector that prints nothing it receives (for benchmarks).
    pub fn start_quiet() -> Self {
        Self::start_with(false)
    }

    fn start_with(debug: bool) -> Self {
        let dir = std::env::temp_dir().join(format!(
            "warden-rotel-{}-{}",
            std::process::id(),
            free_port()
        ));
        std::fs::create_dir_all(&dir).expect("a writable temporary directory");
        let mut collector = Collector {
            child: None,
            grpc_port: free_port(),
            http_port: free_port(),
            output: Arc::default(),
            dir,
            debug,
        };
        collector.spawn();
        collector
    }

    fn spawn(&mut self) {
        let mut command = Command::new(agent());
        command.args([
            "start",
            "--exporter",
            "blackhole",
            "--batch-timeout",
            "10ms",
        ]);
        if self.debug {
            command
                .args(["--debug-log", "traces", "--debug-log", "logs"])
                .args([
                    "--debug-log",
                    "metrics",
                    "--debug-log-verbosity",
                    "detailed",
                ]);
        }
        // A quiet collector's output is not read: nothing in the measuring
        // process competes with what it measures.
        let (stdout, stderr) = if self.debug {
            (Stdio::piped(), Stdio::piped())
        } else {
            (Stdio::null(), Stdio::null())
        };
        let mut child = command
            .arg("--otlp-grpc-endpoint")
            .arg(format!("127.0.0.1:{}", self.grpc_port))
            .arg("--otlp-http-endpoint")
            .arg(format!("127.0.0.1:{}", self.http_port))
            .arg("--pid-file")
            .arg(self.dir.join("rotel.pid"))
            .arg("--log-file")
            .arg(self.dir.join("rotel.log"))
            .env("NO_COLOR", "1")
            .stdout(stdout)
            .stderr(stderr)
            .spawn()
            .expect("rotel-agent starts");
        let streams = [
            child
                .stdout
                .take()
                .map(|s| Box::new(s) as Box<dyn std::io::Read + Send>),
            child
                .stderr
                .take()
                .map(|s| Box::new(s) as Box<dyn std::io::Read + Send>),
        ];
        for stream in streams.into_iter().flatten() {
            let output = Arc::clone(&self.output);
            std::thread::spawn(move || {
                for line in BufReader::new(stream).lines().map_while(Result::ok) {
                    let mut out = output.lock().unwrap_or_else(PoisonError::into_inner);
                    out.push_str(&line);
                    out.push('\n');
                }
            });
        }
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(20);
        while std::net::TcpStream::connect(("127.0.0.1", self.grpc_port)).is_err()
            || std::net::TcpStream::connect(("127.0.0.1", self.http_port)).is_err()
        {
            assert!(
                Instant::now() < deadline,
                "rotel did not listen: {}",
                self.output()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Its OTLP/gRPC endpoint.
    pub fn grpc(&self) -> String {
        format!("http://127.0.0.1:{}", self.grpc_port)
    }

    /// Its OTLP/HTTP endpoint.
    pub fn http(&self) -> String {
        format!("http://127.0.0.1:{}", self.http_port)
    }

    /// Everything it printed so far, without colour codes.
    pub fn output(&self) -> String {
        let raw = self
            .output
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone();
        strip_ansi(&raw)
    }

    /// Waits until `done(output)` holds and the output has then stopped
    /// growing for a moment, at most `timeout`.
    ///
    /// The collector prints a batch in several writes, so the line a test
    /// waits for can arrive before the rest of its batch: waiting for the
    /// output to settle keeps the assertions that follow from reading half a
    /// batch.
    pub fn wait_for(&self, timeout: Duration, done: impl Fn(&str) -> bool) -> bool {
        const SETTLE: Duration = Duration::from_millis(150);
        let deadline = Instant::now() + timeout;
        let mut held_since: Option<(Instant, usize)> = None;
        loop {
            let output = self.output();
            if done(&output) {
                match held_since {
                    Some((since, len)) if len == output.len() => {
                        if since.elapsed() >= SETTLE {
                            return true;
                        }
                    }
                    _ => held_since = Some((Instant::now(), output.len())),
                }
            } else {
                held_since = None;
            }
            if Instant::now() > deadline {
                return held_since.is_some();
            }
            std::thread::sleep(Duration::from_millis(25));
        }
    }

    /// Kills it (SIGKILL): connections drop, nothing is flushed.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts it again on the same ports.
    pub fn restart(&mut self) {
        self.kill();
        self.output
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clear();
        self.spawn();
    }
}

impl Drop for Collector {
    fn drop(&mut self) {
        self.kill();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn strip_ansi(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            for c in chars.by_ref() {
                if c.is_ascii_alphabetic() {
                    break;
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}
