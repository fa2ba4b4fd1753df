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
///
/// A line whole in `input`'s buffer is read there, without a copy; one
/// that two reads split is put together first. What was written is
/// flushed whenever everything read so far is done, before a read that
/// may wait for more input (`tail -f app.log | warden redact` shows each
/// line as it comes).
pub fn run(
    args: &RedactArgs,
    mut input: impl BufRead,
    output: impl Write,
    err: &mut impl Write,
) -> Result<Summary, RedactError> {
    let sanitizer = build_sanitizer(args)?;
    let mut lines = Lines {
        args,
        sanitizer: &sanitizer,
        out: io::BufWriter::with_capacity(64 * 1024, output),
        summary: Summary::default(),
    };
    let mut split = Vec::new();
    loop {
        let read = input.fill_buf()?;
        if read.is_empty() {
            break;
        }
        let (take, whole) = match memchr::memchr(b'\n', read) {
            Some(i) => (i + 1, true),
            None => (read.len(), false),
        };
        let drained = take == read.len();
        if whole && split.is_empty() {
            lines.redact(&read[..take], err)?;
        } else {
            split.extend_from_slice(&read[..take]);
            if whole {
                lines.redact(&split, err)?;
                split.clear();
            }
        }
        input.consume(take);
        if drained {
            lines.out.flush()?;
        }
    }
    if !split.is_empty() {
        lines.redact(&split, err)?;
    }
    let Lines {
        mut out,
        mut summary,
        ..
    } = lines;
    out.flush()?;
    summary.redactions = sanitizer.redactions().to_string();
    summary.placeholders = sanitizer.placeholders_seen();
    Ok(summary)
}

/// [`run`]'s state: where lines go, and what was counted.
struct Lines<'a, W: Write> {
    args: &'a RedactArgs,
    sanitizer: &'a Sanitizer,
    out: io::BufWriter<W>,
    summary: Summary,
}

impl<W: Write> Lines<'_, W> {
    /// Sanitizes one line (`line` with its ending, if it has one) into
    /// the output.
    fn redact(&mut self, line: &[u8], err: &mut impl Write) -> Result<(), RedactError> {
        let summary = &mut self.summary;
        summary.lines += 1;
        let (body, ending) = split_line_ending(line);
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
        let json_value = if self.args.json && !text.trim().is_empty() {
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
                summary.redacted += self.sanitizer.sanitize_json(&mut value) as u64;
                serde_json::to_writer(&mut self.out, &value).map_err(io::Error::from)?;
            }
            None => {
                let (clean, n) = self.sanitizer.sanitize_counted(&text);
                summary.redacted += n as u64;
                self.out.write_all(clean.as_bytes())?;
            }
        }
        self.out.write_all(ending)?;
        Ok(())
    }
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
        let mut out = Vec::new();
        let mut err = Vec::new();
        let r = run(&args(argv), input, &mut out, &mut err);
        (
            r,
            String::from_utf8(out).unwrap(),
            String::from_utf8(err).unwrap(),
        )
    }

    fn args(argv: &[&str]) -> RedactArgs {
        Wrapper::parse_from(std::iter::once("redact").chain(argv.iter().copied())).args
    }

    #[test]
    fn the_output_is_the_same_however_reads_split_the_lines() {
        let input: &[u8] = b"mail ada@example.com\r\nclean\n\nbad \xff 10.0.0.1\na long line 4111 1111 1111 1111 ok\nlast +44 20 7946 0958";
        let (whole, expected, _) = run_with(&[], input);
        let whole = whole.unwrap();
        for capacity in 1..=input.len() {
            let mut out = Vec::new();
            let reader = io::BufReader::with_capacity(capacity, input);
            let s = run(&args(&[]), reader, &mut out, &mut Vec::new()).unwrap();
            assert_eq!(
                String::from_utf8(out).unwrap(),
                expected,
                "reads of {capacity}"
            );
            assert_eq!(
                (s.lines, s.redacted, s.invalid_utf8),
                (whole.lines, whole.redacted, whole.invalid_utf8)
            );
        }
    }

    /// Input that checks, at each read after the first, that every line
    /// before it was already written out (flushed, not held in a buffer).
    struct Watching<'a> {
        lines: std::vec::IntoIter<&'a [u8]>,
        current: &'a [u8],
        written: std::rc::Rc<std::cell::RefCell<Vec<u8>>>,
        lines_done: usize,
    }

    impl io::Read for Watching<'_> {
        fn read(&mut self, _: &mut [u8]) -> io::Result<usize> {
            unreachable!("read through BufRead")
        }
    }

    impl BufRead for Watching<'_> {
        fn fill_buf(&mut self) -> io::Result<&[u8]> {
            if self.current.is_empty() {
                let written = self.written.borrow();
                let shown = written.iter().filter(|&&c| c == b'\n').count();
                assert_eq!(shown, self.lines_done, "a line waits in a buffer");
                self.current = self.lines.next().unwrap_or_default();
            }
            Ok(self.current)
        }

        fn consume(&mut self, n: usize) {
            self.current = &self.current[n..];
            if self.current.is_empty() {
                self.lines_done += 1;
            }
        }
    }

    #[derive(Clone)]
    struct Shared(std::rc::Rc<std::cell::RefCell<Vec<u8>>>);

    impl Write for Shared {
        fn write(&mut self, b: &[u8]) -> io::Result<usize> {
            self.0.borrow_mut().extend_from_slice(b);
            Ok(b.len())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn each_line_is_written_out_before_the_next_read() {
        // As from `tail -f`: a read returns one line, and the next waits.
        let written = Shared(Default::default());
        let input = Watching {
            lines: vec![&b"mail ada@example.com\n"[..], b"clean\n", b"ip 10.0.0.1\n"].into_iter(),
            current: b"",
            written: written.0.clone(),
            lines_done: 0,
        };
        let s = run(&args(&[]), input, written.clone(), &mut Vec::new()).unwrap();
        assert_eq!(s.lines, 3);
        assert_eq!(
            String::from_utf8(written.0.borrow().clone()).unwrap(),
            "mail [REDACTED:EMAIL]\nclean\nip [REDACTED:IP_ADDRESS]\n"
        );
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
