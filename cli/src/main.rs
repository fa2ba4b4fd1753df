//! `warden`: the command line of the warden tracing layers.
//!
//! ```text
//! warden redact [--json] [--strategy redact|mask|hmac] [--strategy-for KIND=STRATEGY]...
//!               [--disable KIND]... [--allow VALUE]... [--secret-key NAME]...
//! ```
#![deny(missing_docs)]
#![deny(unsafe_code)]

mod redact;

use std::io::{self, Write};
use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// Warden: safe, useful telemetry for `tracing`.
#[derive(Debug, Parser)]
#[command(name = "warden", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Sanitize logs from stdin to stdout, line by line.
    Redact(redact::RedactArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Redact(args) => {
            let stdin = io::stdin();
            let stdout = io::stdout();
            let stderr = io::stderr();
            let outcome = redact::run(&args, stdin.lock(), stdout.lock(), &mut stderr.lock());
            match outcome {
                Ok(summary) => {
                    let mut err = io::stderr().lock();
                    let _ = summary.report(&mut err, args.stats);
                    let _ = err.flush();
                    ExitCode::SUCCESS
                }
                Err(redact::RedactError::Io(e)) if e.kind() == io::ErrorKind::BrokenPipe => {
                    ExitCode::SUCCESS
                }
                Err(e) => {
                    let _ = writeln!(io::stderr(), "warden redact: {e}");
                    ExitCode::from(e.exit_code())
                }
            }
        }
    }
}
