//! `warden audit`: query, tail, count, verify and purge an audit store.

use std::io::{self, Write};
use std::path::PathBuf;
use std::time::{Duration, SystemTime};

use clap::{Args, Subcommand, ValueEnum};
use warden_audit::{
    AuditError, AuditKey, AuditLevel, AuditRecord, EventType, Outcome, PostgresStore, PublicKey,
    PurgeSigner, Query, SigningKey, SqliteStore, StoreReader, Verifier,
};

use crate::store::Store;

/// The `audit` subcommands.
#[derive(Debug, Subcommand)]
pub(crate) enum AuditCommand {
    /// Records matching filters, newest first.
    Query(QueryArgs),
    /// The newest records; with -f, then every new one as it is written.
    Tail(TailArgs),
    /// Counts by day, event type, level and outcome.
    Stats(StatsArgs),
    /// Checks the hash chain and the signed checkpoints of a SQLite store,
    /// or of JSONL files (`--db audit.jsonl`, its rotations included);
    /// exit 1 on any failure.
    Verify(VerifyArgs),
    /// Deletes expired records, keeping the store verifiable.
    Purge(PurgeArgs),
    /// PostgreSQL: creates the schema and a role that may only append
    /// (INSERT records, checkpoints and streams; read its stream's head),
    /// so that the service cannot rewrite history with its own credentials.
    SetupRole(SetupRoleArgs),
    /// Writes a new Ed25519 key pair for signing checkpoints: the secret
    /// key (mode 0600) and, beside it, the public key that verifies.
    Keygen(KeygenArgs),
}

/// Arguments of `warden audit keygen`.
#[derive(Debug, Args)]
pub(crate) struct KeygenArgs {
    /// Where to write the secret key; the public key goes to `<out>.pub`.
    #[arg(long)]
    out: PathBuf,
}

/// The audit database.
#[derive(Debug, Args)]
pub(crate) struct Db {
    /// The audit store: a SQLite file, or a PostgreSQL database
    /// (`postgres://user@host/db?sslmode=verify-full`, or `host=… dbname=…`;
    /// `PGPASSWORD`/`.pgpass` and the other `PG*` variables apply).
    #[arg(long, default_value = "warden-audit.db")]
    db: String,
}

impl Db {
    fn path(&self) -> &std::path::Path {
        std::path::Path::new(&self.db)
    }

    fn is_postgres(&self) -> bool {
        warden_audit::is_postgres(&self.db)
    }
}

/// How to print records.
#[derive(Debug, Clone, Copy, ValueEnum, Default)]
pub(crate) enum Format {
    /// Aligned columns.
    #[default]
    Table,
    /// One JSON object per line.
    Json,
}

/// Arguments of `warden audit query`.
#[derive(Debug, Args)]
pub(crate) struct QueryArgs {
    #[command(flatten)]
    db: Db,
    /// Only this level (INFO, WARNING, ERROR, SECURITY).
    #[arg(long)]
    level: Option<AuditLevel>,
    /// Only this event type (API_CALL, AUTHENTICATION, …).
    #[arg(long = "event")]
    event_type: Option<String>,
    /// Only this action.
    #[arg(long)]
    action: Option<String>,
    /// Only this user: as stored, or as its keyed hash with the store's key
    /// (stores written with a pseudonym key keep users only as hashes).
    #[arg(long)]
    user: Option<String>,
    /// The key file for --user (default: `WARDEN_AUDIT_KEY`, else the
    /// store's `<db>.key` if there is one).
    #[arg(long)]
    key_file: Option<PathBuf>,
    /// Only this resource.
    #[arg(long)]
    resource: Option<String>,
    /// Only this correlation ID.
    #[arg(long)]
    correlation: Option<String>,
    /// Only this outcome (SUCCESS, FAILURE).
    #[arg(long)]
    outcome: Option<Outcome>,
    /// Since a time ago (`30m`, `12h`, `7d`, `2w`) or an RFC 3339 time.
    #[arg(long, value_parser = parse_time)]
    since: Option<SystemTime>,
    /// Until a time ago or an RFC 3339 time.
    #[arg(long, value_parser = parse_time)]
    until: Option<SystemTime>,
    /// At most this many records.
    #[arg(long, default_value_t = 50)]
    limit: usize,
    /// How to print them.
    #[arg(long, value_enum, default_value_t)]
    format: Format,
}

/// Arguments of `warden audit tail`.
#[derive(Debug, Args)]
pub(crate) struct TailArgs {
    #[command(flatten)]
    db: Db,
    /// How many of the newest records to print first.
    #[arg(short = 'n', long, default_value_t = 10)]
    lines: usize,
    /// Keep printing records as they are written.
    #[arg(short, long)]
    follow: bool,
    /// How to print them.
    #[arg(long, value_enum, default_value_t)]
    format: Format,
}

/// Arguments of `warden audit stats`.
#[derive(Debug, Args)]
pub(crate) struct StatsArgs {
    #[command(flatten)]
    db: Db,
    /// Only records since a time ago or an RFC 3339 time (default: 30d).
    #[arg(long, value_parser = parse_time)]
    since: Option<SystemTime>,
}

/// Arguments of `warden audit verify`.
#[derive(Debug, Args)]
pub(crate) struct VerifyArgs {
    #[command(flatten)]
    db: Db,
    /// The HMAC key file (default: `WARDEN_AUDIT_KEY`, else the store's
    /// `<db>.key` if there is one).
    #[arg(long)]
    key_file: Option<PathBuf>,
    /// A public key to trust for Ed25519 checkpoints (repeatable; default:
    /// `<db>.pub` if there is one). Once one is given, checkpoints signed
    /// by any other key fail.
    #[arg(long = "public-key")]
    public_keys: Vec<PathBuf>,
    /// A file of checkpoints kept off the host (a `JsonlWitness` file, or
    /// exported `audit.checkpoint` log records); repeatable. The store must
    /// match every checkpoint of its stream in it.
    #[arg(long = "witness")]
    witnesses: Vec<PathBuf>,
}

/// Arguments of `warden audit purge`.
#[derive(Debug, Args)]
pub(crate) struct PurgeArgs {
    #[command(flatten)]
    db: Db,
    /// Delete records older than this (`90d`, `12h`…).
    #[arg(long, default_value = "90d", value_parser = parse_age)]
    older_than: Duration,
    /// PostgreSQL: the Ed25519 key that signs each stream's anchor
    /// checkpoint (pass its public key to `verify` too).
    #[arg(long)]
    signing_key: Option<PathBuf>,
    /// PostgreSQL: sign the anchors with HMAC and this key file instead.
    #[arg(long)]
    key_file: Option<PathBuf>,
}

/// Arguments of `warden audit setup-role`.
#[derive(Debug, Args)]
pub(crate) struct SetupRoleArgs {
    /// The PostgreSQL database, as a role that may create tables and roles.
    #[command(flatten)]
    db: Db,
    /// The role the service will log in as.
    #[arg(long)]
    role: String,
    /// The environment variable that holds the role's password.
    #[arg(long)]
    password_env: Option<String>,
    /// Print the SQL instead of running it.
    #[arg(long)]
    print: bool,
}

/// A span of time: a number and a unit among `s`, `m`, `h`, `d`, `w`.
fn parse_age(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    let split = text
        .find(|c: char| !c.is_ascii_digit())
        .ok_or_else(|| format!("{text:?}: add a unit (s, m, h, d, w)"))?;
    let (number, unit) = text.split_at(split);
    let n: u64 = number
        .parse()
        .map_err(|_| format!("{text:?} is not a duration like 7d"))?;
    let seconds = match unit {
        "s" => 1,
        "m" => 60,
        "h" => 3600,
        "d" => 86_400,
        "w" => 7 * 86_400,
        _ => return Err(format!("{text:?}: unknown unit {unit:?} (s, m, h, d, w)")),
    };
    Ok(Duration::from_secs(n.saturating_mul(seconds)))
}

/// A time: an age (`7d` ago) or an RFC 3339 time.
fn parse_time(text: &str) -> Result<SystemTime, String> {
    if let Some(time) = warden_core::internal::parse_rfc3339(text) {
        return Ok(time);
    }
    let age = parse_age(text)
        .map_err(|_| format!("{text:?} is neither an age like 7d nor an RFC 3339 time"))?;
    Ok(SystemTime::now()
        .checked_sub(age)
        .unwrap_or(SystemTime::UNIX_EPOCH))
}

/// Runs an `audit` subcommand; the exit code.
pub(crate) fn run(command: AuditCommand, out: &mut dyn Write) -> Result<u8, AuditError> {
    match command {
        AuditCommand::Query(args) => {
            let mut store = Store::open(&args.db.db)?;
            let mut query = Query {
                level: args.level,
                event_type: args.event_type.as_deref().map(EventType::parse),
                action: args.action,
                user_ids: Vec::new(),
                resource_id: args.resource,
                correlation_id: args.correlation,
                outcome: args.outcome,
                since: args.since,
                until: args.until,
                limit: Some(args.limit),
                after_seq: None,
            };
            if let Some(user) = &args.user {
                let key = store_key(args.db.path(), args.key_file.as_deref())?;
                query = query.user(user, key.as_ref());
            }
            let records = store.query_with_seq(&query)?;
            print_records(out, records.iter().map(|(_, r)| r), args.format, true)
                .map_err(|e| io_error(args.db.path(), e))?;
            Ok(0)
        }
        AuditCommand::Tail(args) => tail(args, out),
        AuditCommand::Stats(args) => {
            let mut store = Store::open(&args.db.db)?;
            let since = args
                .since
                .or_else(|| SystemTime::now().checked_sub(Duration::from_secs(30 * 86_400)));
            let rows = store.stats(since)?;
            let result = (|| {
                writeln!(
                    out,
                    "{:<10}  {:<18}  {:<8}  {:<7}  {:>8}",
                    "DAY", "EVENT", "LEVEL", "OUTCOME", "COUNT"
                )?;
                for row in &rows {
                    writeln!(
                        out,
                        "{:<10}  {:<18}  {:<8}  {:<7}  {:>8}",
                        row.day, row.event_type, row.level, row.outcome, row.count
                    )?;
                }
                writeln!(out, "{} records", rows.iter().map(|r| r.count).sum::<i64>())
            })();
            result.map_err(|e| io_error(args.db.path(), e))?;
            Ok(0)
        }
        AuditCommand::Verify(args) => verify(&args, out),
        AuditCommand::Keygen(args) => {
            let key = SigningKey::generate();
            key.write(&args.out)?;
            let public = warden_audit::public_key_file(&args.out);
            writeln!(
                out,
                "secret key: {} (keep it with the writer; SqliteSinkBuilder::signing_key)\npublic key: {} ({}; give it to whoever verifies: warden audit verify --public-key {})",
                args.out.display(),
                public.display(),
                key.public_key().id(),
                public.display()
            )
            .map_err(|e| io_error(&args.out, e))?;
            Ok(0)
        }
        AuditCommand::Purge(args) => purge(&args, out),
        AuditCommand::SetupRole(args) => setup_role(&args, out),
    }
}

/// `warden audit verify`.
fn verify(args: &VerifyArgs, out: &mut dyn Write) -> Result<u8, AuditError> {
    let db = args.db.path();
    let postgres = args.db.is_postgres();
    let jsonl = !postgres && is_jsonl(db);
    if !postgres && !jsonl {
        StoreReader::open(db)?;
    }
    let mut verifier = Verifier::new();
    let key = if postgres {
        store_key_from(args.key_file.as_deref())?
    } else {
        store_key(db, args.key_file.as_deref())?
    };
    if let Some(key) = key {
        verifier = verifier.hmac_key(key);
    }
    let mut public_keys = args.public_keys.clone();
    let beside = warden_audit::public_key_file(db);
    if public_keys.is_empty() && !postgres && beside.exists() {
        public_keys.push(beside);
    }
    for file in &public_keys {
        verifier = verifier.public_key(PublicKey::from_file(file)?);
    }
    for file in &args.witnesses {
        verifier = verifier.witness(warden_audit::read_witness_file(file)?);
    }
    let (text, ok) = if postgres {
        let reports = verifier.verify_postgres(&args.db.db)?;
        (reports.to_string(), reports.is_ok())
    } else if jsonl {
        let report = verifier.verify_jsonl(db)?;
        (report.to_string(), report.is_ok())
    } else {
        let report = verifier.verify(db)?;
        (report.to_string(), report.is_ok())
    };
    let shown = if postgres {
        "database".to_owned()
    } else {
        db.display().to_string()
    };
    writeln!(out, "{shown}: {text}").map_err(|e| io_error(db, e))?;
    Ok(if ok { 0 } else { 1 })
}

/// `warden audit purge`.
fn purge(args: &PurgeArgs, out: &mut dyn Write) -> Result<u8, AuditError> {
    let before = SystemTime::now()
        .checked_sub(args.older_than)
        .unwrap_or(SystemTime::UNIX_EPOCH);
    let deleted = if args.db.is_postgres() {
        let signer = match (&args.signing_key, store_key_from(args.key_file.as_deref())?) {
            (Some(file), _) => PurgeSigner::ed25519(SigningKey::from_file(file)?),
            (None, Some(key)) => PurgeSigner::hmac(key),
            (None, None) => {
                return Err(AuditError::Config(
                    "purging a PostgreSQL store signs an anchor checkpoint per stream: give --signing-key (or --key-file, or WARDEN_AUDIT_KEY)".into(),
                ));
            }
        };
        PostgresStore::open(&args.db.db)?.purge(before, &signer)?
    } else {
        StoreReader::open(&args.db.db)?;
        SqliteStore::open(&args.db.db)?.purge(before)? as u64
    };
    let shown = if args.db.is_postgres() {
        "database"
    } else {
        args.db.db.as_str()
    };
    writeln!(
        out,
        "{shown}: deleted {deleted} records older than {}",
        when(before)
    )
    .map_err(|e| io_error(args.db.path(), e))?;
    Ok(0)
}

/// `warden audit setup-role`.
fn setup_role(args: &SetupRoleArgs, out: &mut dyn Write) -> Result<u8, AuditError> {
    if args.print {
        write!(out, "{}", warden_audit::setup_role_sql(&args.role))
            .map_err(|e| io_error(args.db.path(), e))?;
        return Ok(0);
    }
    let password = match &args.password_env {
        Some(var) => Some(std::env::var(var).map_err(|_| {
            AuditError::Config(format!(
                "{var} is not set: it should hold the role's password"
            ))
        })?),
        None => None,
    };
    warden_audit::setup_role(&args.db.db, &args.role, password.as_deref())?;
    writeln!(
        out,
        "role {} can now add audit records, checkpoints and streams, and nothing else",
        args.role
    )
    .map_err(|e| io_error(args.db.path(), e))?;
    Ok(0)
}

/// Whether `path` is a JSON Lines audit file (else a SQLite store): its
/// first byte opens a JSON object.
fn is_jsonl(path: &std::path::Path) -> bool {
    use std::io::Read as _;
    let mut first = [0u8; 1];
    match std::fs::File::open(path) {
        Ok(mut file) => matches!(file.read(&mut first), Ok(1) if first[0] == b'{'),
        Err(_) => false,
    }
}

/// The HMAC key from `key_file`, else `WARDEN_AUDIT_KEY`.
fn store_key_from(key_file: Option<&std::path::Path>) -> Result<Option<AuditKey>, AuditError> {
    if let Some(file) = key_file {
        return AuditKey::from_file(file, false).map(Some);
    }
    match std::env::var("WARDEN_AUDIT_KEY") {
        Ok(key) => AuditKey::new(key.into_bytes()).map(Some),
        Err(_) => Ok(None),
    }
}

/// The key of the store at `db`: from `key_file` if given, else
/// `WARDEN_AUDIT_KEY`, else the store's key file if it exists.
fn store_key(
    db: &std::path::Path,
    key_file: Option<&std::path::Path>,
) -> Result<Option<AuditKey>, AuditError> {
    if let Some(key) = store_key_from(key_file)? {
        return Ok(Some(key));
    }
    let default = warden_audit::key_file(db);
    if default.exists() {
        AuditKey::from_file(&default, false).map(Some)
    } else {
        Ok(None)
    }
}

fn io_error(path: &std::path::Path, e: io::Error) -> AuditError {
    AuditError::Io {
        path: path.to_owned(),
        source: e,
    }
}

fn tail(args: TailArgs, out: &mut dyn Write) -> Result<u8, AuditError> {
    let path = args.db.path();
    let mut store = Store::open(&args.db.db)?;
    let mut newest = store.query_with_seq(&Query {
        limit: Some(args.lines),
        ..Query::default()
    })?;
    newest.reverse();
    // Record numbers grow with each write (across a database's writers).
    let mut last_seq = match newest.iter().map(|(seq, _)| *seq).max() {
        Some(seq) => seq,
        None => store.last_seq()?,
    };
    print_records(out, newest.iter().map(|(_, r)| r), args.format, true)
        .map_err(|e| io_error(path, e))?;
    if !args.follow {
        return Ok(0);
    }
    loop {
        std::thread::sleep(Duration::from_millis(500));
        let fresh = store.query_with_seq(&Query {
            after_seq: Some(last_seq),
            ..Query::default()
        })?;
        if let Some(seq) = fresh.iter().map(|(seq, _)| *seq).max() {
            last_seq = seq;
        }
        print_records(out, fresh.iter().map(|(_, r)| r), args.format, false)
            .map_err(|e| io_error(path, e))?;
        out.flush().map_err(|e| io_error(path, e))?;
    }
}

fn when(time: SystemTime) -> String {
    let mut text = String::new();
    warden_core::internal::rfc3339_micros(&mut text, time);
    text
}

fn print_records<'a>(
    out: &mut dyn Write,
    records: impl Iterator<Item = &'a AuditRecord>,
    format: Format,
    header: bool,
) -> io::Result<()> {
    match format {
        Format::Json => {
            for record in records {
                serde_json::to_writer(&mut *out, record)?;
                writeln!(out)?;
            }
        }
        Format::Table => {
            if header {
                writeln!(
                    out,
                    "{:<27}  {:<8}  {:<16}  {:<24}  {:<7}  {:<16}  {:<20}  CORRELATION",
                    "TIME", "LEVEL", "EVENT", "ACTION", "OUTCOME", "USER", "RESOURCE"
                )?;
            }
            for r in records {
                let cut = |s: &str, n: usize| -> String {
                    if s.chars().count() <= n {
                        s.to_owned()
                    } else {
                        s.chars().take(n - 1).chain(['…']).collect()
                    }
                };
                writeln!(
                    out,
                    "{:<27}  {:<8}  {:<16}  {:<24}  {:<7}  {:<16}  {:<20}  {}",
                    when(r.timestamp),
                    r.level.as_str(),
                    cut(r.event_type.as_str(), 16),
                    cut(&r.action, 24),
                    r.outcome.as_str(),
                    cut(r.user_id.as_deref().unwrap_or("-"), 16),
                    cut(r.resource_id.as_deref().unwrap_or("-"), 20),
                    r.correlation_id
                        .as_ref()
                        .map_or("-".to_owned(), ToString::to_string),
                )?;
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ages_and_times_parse() {
        assert_eq!(parse_age("7d"), Ok(Duration::from_secs(7 * 86_400)));
        assert_eq!(parse_age("30m"), Ok(Duration::from_secs(1800)));
        assert!(parse_age("7").is_err() && parse_age("7y").is_err() && parse_age("d").is_err());
        assert!(parse_time("2026-11-22T09:00:00Z").is_ok());
        assert!(parse_time("12h").unwrap() < SystemTime::now());
        assert!(parse_time("last tuesday").is_err());
    }
}
