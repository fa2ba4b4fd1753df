//! `warden`: the command line of the warden tracing layers.
//!
//! ```text
//! warden redact [--json] [--strategy redact|mask|hmac] [--strategy-for KIND=STRATEGY]...
//!               [--disable KIND]... [--allow VALUE]... [--secret-key NAME]...
//! warden audit query  --db PATH [--level L] [--event T] [--action A] [--user U] [--resource R]
//!                     [--correlation C] [--outcome O] [--since 7d] [--until …] [--limit 50]
//!                     [--format table|json]
//! warden audit tail   --db PATH [-n 10] [-f]
//! warden audit stats  --db PATH [--since 30d]
//! warden audit verify --db PATH [--key-file F]
//! warden audit purge  --db PATH [--older-than 90d]
//! warden top http://127.0.0.1:9464 [--once] [--interval 2] [--sort p95] [--filter NAME]
//! warden filter http://127.0.0.1:9464 ['info,my_app::db=debug'] [--token T] [--actor NAME]
//! ```

mod audit;
mod filter;
mod store;
mod top;

use std::io::{self, Write};
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use warden_cli::redact;

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
    /// Query, tail, count, verify and purge an audit store.
    #[command(subcommand)]
    Audit(audit::AuditCommand),
    /// A live view of a service's operations endpoint: rate, errors,
    /// p50/p95/p99, in-flight, firing alerts.
    Top(top::TopArgs),
    /// Show or change a running service's log directives (its ops
    /// endpoint's `/filter`; a change needs the service's ops token).
    Filter(filter::FilterArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Audit(command) => {
            let mut out = io::stdout().lock();
            match audit::run(command, &mut out) {
                Ok(code) => ExitCode::from(code),
                Err(warden_audit::AuditError::Io { source, .. })
                    if source.kind() == io::ErrorKind::BrokenPipe =>
                {
                    ExitCode::SUCCESS
                }
                Err(e) => {
                    let _ = writeln!(io::stderr(), "warden audit: {e}");
                    ExitCode::from(match e {
                        warden_audit::AuditError::Config(_)
                        | warden_audit::AuditError::ShortKey(_) => 2,
                        _ => 1,
                    })
                }
            }
        }
        Command::Top(args) => match top::run(args) {
            Ok(code) => ExitCode::from(code),
            Err(e) => {
                let _ = writeln!(io::stderr(), "warden top: {e}");
                ExitCode::from(1)
            }
        },
        Command::Filter(args) => match filter::run(&args, &mut io::stdout().lock()) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                let _ = writeln!(io::stderr(), "warden filter: {e}");
                ExitCode::from(e.exit_code())
            }
        },
        Command::Redact(args) => {
            let stdin = io::stdin();
            let stdout = io::stdout();
            let stderr = io::stderr();
            // Reads of 64 KiB (stdin's own buffer holds 8): the output is
            // flushed once a read's lines are done.
            let input = io::BufReader::with_capacity(64 * 1024, stdin.lock());
            let outcome = redact::run(&args, input, stdout.lock(), &mut stderr.lock());
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
