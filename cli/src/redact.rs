//! `warden redact`: sanitize a log stream.

use std::io::{self, BufRead, Write};
use std::path::PathBuf;

use clap::Args;
use warden_pii::{BuildError, PiiKind, Sanitizer, Strategy};

/// Options of `warden redact`.
#[derive(Debug, Args)]
pub struct RedactArgs {
    /// Parse each line as JSON and sanitize every string value (keys kept;
    /// values under secret-named keys redacted whole). Lines that are not
    /// JSON are sanitized as text and counted.
    #[arg(long)]
    pub json: bool,
    /// Strategy for every kind: redact, mask (keep the last 4) or hmac
    /// (keyed hash; key from --hmac-key-file or WARDEN_PII_KEY).
    #[arg(long, default_value = "redact", value_parser = parse_strategy)]
    pub strategy: Strategy,
    /// Strategy for one kind, e.g. `CREDIT_CARD=mask`. Repeatable.
    #[arg(long = "strategy-for", value_name = "KIND=STRATEGY", value_parser = parse_kind_strategy)]
    pub strategy_for: Vec<(PiiKind, Strategy)>,
    /// Do not detect this kind (e.g. IP_ADDRESS). Repeatable.
    #[arg(long, value_name = "KIND", value_parser = parse_kind)]
    pub disable: Vec<PiiKind>,
    /// Never replace this exact value (case-insensitive). Repeatable.
    #[arg(long, value_name = "VALUE")]
    pub allow: Vec<String>,
    /// Also treat this key name as secret. Repeatable.
    #[arg(long = "secret-key", value_name = "NAME")]
    pub secret_key: Vec<String>,
    /// Read the hmac key from this file instead of WARDEN_PII_KEY.
    #[arg(long, value_name = "PATH")]
    pub hmac_key_file: Option<PathBuf>,
    /// The key id shown in hashed tokens.
    #[arg(long, value_name = "ID")]
    pub hmac_key_id: Option<String>,
    /// Redact loopback and unspecified addresses too (127.0.0.1, ::1,
    /// 0.0.0.0, ::), which identify no one and are left by default.
    #[arg(long)]
    pub redact_local_addresses: bool,
    /// Print what was redacted, by kind, on stderr at the end.
    #[arg(long)]
    pub stats: bool,
}

fn parse_strategy(s: &str) -> Result<Strategy, String> {
    s.parse()
        .map_err(|e: warden_pii::UnknownStrategy| e.to_string())
}

fn parse_kind(s: &str) -> Result<PiiKind, String> {
    s.parse()
        .map_err(|e: warden_pii::UnknownKind| e.to_string())
}

fn parse_kind_strategy(s: &str) -> Result<(PiiKind, Strategy), String> {
    let (kind, strategy) = s
        .split_once('=')
        .ok_or_else(|| format!("expected KIND=STRATEGY, got `{s}`"))?;
    Ok((parse_kind(kind)?, parse_strategy(strategy)?))
}

/// Why `warden redact` stopped.
#[derive(Debug, thiserror::Error)]
pub enum RedactError {
    /// Reading or writing failed.
    #[error("{0}")]
    Io(#[from] io::Error),
    /// The options do not make a sanitizer.
    #[error("{0}")]
    Config(#[from] BuildError),
    /// The hmac key file could not be read.
    #[error("cannot read hmac key file {path}: {source}")]
    KeyFile {
        /// The file.
        path: PathBuf,
        /// The error.
        source: io::Error,
    },
}

impl RedactError {
    /// 1 for I/O errors, 2 for configuration errors.
    pub fn exit_code(&self) -> u8 {
        match self {
            RedactError::Io(_) => 1,
            RedactError::Config(_) | RedactError::KeyFile { .. } => 2,
        }
    }
}

/// What a run did.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Summary {
    /// Lines read.
    pub lines: u64,
    /// Lines whose bytes were not valid UTF-8 (replaced with U+FFFD).
    pub invalid_utf8: u64,
    /// In `--json` mode, lines that were not JSON (sanitized as text).
    pub not_json: u64,
    /// Values replaced, by kind (`EMAIL=2 PHONE=1`).
    pub redactions: String,
    /// Values replaced in all.
    pub redacted: u64,
    /// Placeholders and references left under secret-named keys
    /// (`${DB_PASSWORD}`, `<your token>`).
    pub placeholders: u64,
}

impl Summary {
    /// Writes the end-of-run notes: always the data problems, and the
    /// counts with `stats`.
    pub fn report(&self, err: &mut impl Write, stats: bool) -> io::Result<()> {
        if self.invalid_utf8 > 0 {
            writeln!(
                err,
                "warden redact: {} line(s) had invalid UTF-8, replaced with U+FFFD",
                self.invalid_utf8
            )?;
        }
        if self.not_json > 0 {
            writeln!(
                err,
                "warden redact: {} line(s) were not JSON and were sanitized as text",
                self.not_json
            )?;
        }
        if stats {
            writeln!(
                err,
                "warden redact: {} line(s), {} value(s) redacted {}, {} placeholder(s) left",
                self.lines, self.redacted, self.redactions, self.placeholders
            )?;
        }
        Ok(())
    }
}

/// How many invalid-UTF-8 lines are named one by one on stderr.
const REPORTED_LINES: u64 = 10;

fn build_sanitizer(args: &RedactArgs) -> Result<Sanitizer, RedactError> {
    let mut b = Sanitizer::builder()
        .strategy(args.strategy)
        .redact_local_addresses(args.redact_local_addresses);
    for (kind, strategy) in &args.strategy_for {
        b = b.strategy_for(kind.clone(), *strategy);
    }
    for kind in &args.disable {
        b = b.disable(kind.clone());
    }
    for value in &args.allow {
        b = b.allow(value.clone());
    }
    for name in &args.secret_key {
        b = b.secret_key(name.clone());
    }
    if let Some(path) = &args.hmac_key_file {
        let key = std::fs::read(path).map_err(|source| RedactError::KeyFile {
            path: path.clone(),
            source,
        })?;
        let trimmed = key.strip_suffix(b"\n").unwrap_or(&key);
        b = b.hmac_key(trimmed);
    }
    if let Some(id) = &args.hmac_key_id {
        b = b.hmac_key_id(id.clone());
    }
    Ok(b.build()?)
}

/// Sanitizes `input` into `output` line by line. Memory stays bounded by
/// the longest line. Data problems (invalid UTF-8, lines that are not
/// JSON) are reported on `err` and counted, never fatal.
pub fn run(
    args: &RedactArgs,
    mut input: impl BufRead,
    output: impl Write,
    err: &mut impl Write,
) -> Result<Summary, RedactError> {
    let sanitizer = build_sanitizer(args)?;
    let mut out = io::BufWriter::with_capacity(64 * 1024, output);
    let mut summary = Summary::default();
    let mut buf = Vec::with_capacity(8 * 1024);
    loop {
        buf.clear();
        if input.read_until(b'\n', &mut buf)? == 0 {
            break;
        }
        summary.lines += 1;
        let (body, ending) = split_line_ending(&buf);
        let text = match std::str::from_utf8(body) {
            Ok(t) => std::borrow::Cow::Borrowed(t),
            Err(_) => {
                summary.invalid_utf8 += 1;
                if summary.invalid_utf8 <= REPORTED_LINES {
                    writeln!(
                        err,
                        "warden redact: line {}: invalid UTF-8 replaced with U+FFFD",
                        summary.lines
                    )?;
                }
                String::from_utf8_lossy(body)
            }
        };
        let json_value = if args.json && !text.trim().is_empty() {
            match serde_json::from_str::<serde_json::Value>(&text) {
                Ok(v) => Some(v),
                Err(_) => {
                    summary.not_json += 1;
                    None
                }
            }
        } else {
            None
        };
        match json_value {
            Some(mut value) => {
                summary.redacted += sanitizer.sanitize_json(&mut value) as u64;
                serde_json::to_writer(&mut out, &value).map_err(io::Error::from)?;
            }
            None => {
                let (clean, n) = sanitizer.sanitize_counted(&text);
                summary.redacted += n as u64;
                out.write_all(clean.as_bytes())?;
            }
        }
        out.write_all(ending)?;
        // Streaming: flush whenever no more input is waiting.
        if input.fill_buf().map(|b| b.is_empty()).unwrap_or(true) {
            out.flush()?;
        }
    }
    out.flush()?;
    summary.redactions = sanitizer.redactions().to_string();
    summary.placeholders = sanitizer.placeholders_seen();
    Ok(summary)
}

fn split_line_ending(line: &[u8]) -> (&[u8], &[u8]) {
    if let Some(body) = line.strip_suffix(b"\r\n") {
        (body, b"\r\n")
    } else if let Some(body) = line.strip_suffix(b"\n") {
        (body, b"\n")
    } else {
        (line, b"")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser)]
    struct Wrapper {
        #[command(flatten)]
        args: RedactArgs,
    }

    fn run_with(argv: &[&str], input: &[u8]) -> (Result<Summary, RedactError>, String, String) {
        let args = Wrapper::parse_from(std::iter::once("redact").chain(argv.iter().copied())).args;
        let mut out = Vec::new();
        let mut err = Vec::new();
        let r = run(&args, input, &mut out, &mut err);
        (
            r,
            String::from_utf8(out).unwrap(),
            String::from_utf8(err).unwrap(),
        )
    }

    #[test]
    fn text_lines_keep_their_endings() {
        let (r, out, _) = run_with(&[], b"mail ada@example.com\r\nclean\nlast 10.0.0.1");
        assert_eq!(
            out,
            "mail [REDACTED:EMAIL]\r\nclean\nlast [REDACTED:IP_ADDRESS]"
        );
        let s = r.unwrap();
        assert_eq!((s.lines, s.redacted), (3, 2));
    }

    #[test]
    fn json_mode_sanitizes_values_and_keeps_keys_in_order() {
        let input = br#"{"z":"ada@example.com","a":{"password":"hunter2","n":4111111111111111},"k":[1,"10.0.0.1"]}
not json ada@example.com

"#;
        let (r, out, err) = run_with(&["--json"], input);
        assert_eq!(
            out,
            "{\"z\":\"[REDACTED:EMAIL]\",\"a\":{\"password\":\"[REDACTED:SECRET]\",\"n\":\"[REDACTED:CREDIT_CARD]\"},\"k\":[1,\"[REDACTED:IP_ADDRESS]\"]}\n\
             not json [REDACTED:EMAIL]\n\n"
        );
        let s = r.unwrap();
        assert_eq!(s.not_json, 1);
        assert_eq!(err, "");
    }

    #[test]
    fn invalid_utf8_is_replaced_and_reported() {
        let (r, out, err) = run_with(&[], b"ok\nbad \xff ada@example.com\n");
        assert_eq!(out, "ok\nbad \u{fffd} [REDACTED:EMAIL]\n");
        assert!(err.contains("line 2: invalid UTF-8"), "{err}");
        assert_eq!(r.unwrap().invalid_utf8, 1);
    }

    #[test]
    fn strategies_from_the_command_line() {
        let (_, out, _) = run_with(
            &[
                "--strategy-for",
                "credit-card=mask",
                "--disable",
                "ip",
                "--allow",
                "help@example.com",
            ],
            b"4111 1111 1111 1111 10.0.0.1 help@example.com ada@example.com\n",
        );
        assert_eq!(
            out,
            "**** **** **** 1111 10.0.0.1 help@example.com [REDACTED:EMAIL]\n"
        );
    }

    #[test]
    fn hmac_without_a_key_is_a_configuration_error() {
        warden_test_support::remove_env(warden_pii::HMAC_KEY_ENV);
        let (r, out, _) = run_with(&["--strategy", "hmac"], b"ada@example.com\n");
        let e = r.unwrap_err();
        assert_eq!(e.exit_code(), 2);
        assert!(e.to_string().contains("WARDEN_PII_KEY"), "{e}");
        assert_eq!(out, "");
    }
}
