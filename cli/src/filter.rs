//! `warden filter URL [DIRECTIVES]`: shows or changes a running service's
//! log directives through its ops endpoint (`GET`/`PUT /filter`).

use std::io::Write;

use warden_cli::http::{HttpError, Url};

/// The ops token's environment variable (the service's and the CLI's).
const TOKEN_ENV: &str = "WARDEN_OPS_TOKEN";

/// Shows or changes a running service's log directives.
#[derive(Debug, clap::Args)]
pub(crate) struct FilterArgs {
    /// The service's ops endpoint: `http://host:port`, or the prefix it is
    /// mounted under (`http://host:port/ops`).
    endpoint: String,
    /// The new directives (`EnvFilter` syntax: `info,my_app::db=debug`).
    /// Without them, the directives in force are shown.
    directives: Option<String>,
    /// The service's ops token (default: `$WARDEN_OPS_TOKEN`).
    #[arg(long)]
    token: Option<String>,
    /// Who asks, for the audit record of the change (default: `$USER`).
    #[arg(long)]
    actor: Option<String>,
}

/// Why the directives were not shown or changed.
#[derive(Debug, thiserror::Error)]
pub(crate) enum FilterError {
    #[error(transparent)]
    Http(#[from] HttpError),
    #[error("no ops token: pass --token or set {TOKEN_ENV}")]
    NoToken,
    #[error("{endpoint} refused: {status}: {reason}")]
    Refused {
        endpoint: String,
        status: String,
        reason: String,
    },
    #[error("{endpoint} answered something else than directives: {body:.200}")]
    Garbage { endpoint: String, body: String },
    #[error(transparent)]
    Io(#[from] std::io::Error),
}

impl FilterError {
    /// The exit status: 2 for what the command line lacks, 1 otherwise.
    pub(crate) fn exit_code(&self) -> u8 {
        match self {
            FilterError::NoToken | FilterError::Http(HttpError::Scheme(_)) => 2,
            _ => 1,
        }
    }
}

/// Runs the command, writing what it did to `out`.
pub(crate) fn run(args: &FilterArgs, out: &mut impl Write) -> Result<(), FilterError> {
    let url = Url::parse(&args.endpoint, |given| match given {
        Some(path) if path.ends_with("/filter") => path.to_owned(),
        Some(prefix) => format!("{prefix}/filter"),
        None => "/filter".to_owned(),
    })?;
    let refused = |status: String, body: &str| FilterError::Refused {
        endpoint: args.endpoint.clone(),
        status,
        reason: body.trim().to_owned(),
    };
    let garbage = |body: &str| FilterError::Garbage {
        endpoint: args.endpoint.clone(),
        body: body.to_owned(),
    };
    let field = |body: &str, name: &str| -> Option<String> {
        let json: serde_json::Value = serde_json::from_str(body).ok()?;
        Some(json.get(name)?.as_str()?.to_owned())
    };
    let Some(directives) = &args.directives else {
        let response = url.request("GET", &[], "")?;
        if response.status != 200 {
            return Err(refused(response.status_line, &response.body));
        }
        let now = field(&response.body, "directives").ok_or_else(|| garbage(&response.body))?;
        writeln!(out, "{now}")?;
        return Ok(());
    };
    let token = args
        .token
        .clone()
        .or_else(|| std::env::var(TOKEN_ENV).ok())
        .filter(|t| !t.is_empty())
        .ok_or(FilterError::NoToken)?;
    let actor = args
        .actor
        .clone()
        .or_else(|| std::env::var("USER").ok())
        .unwrap_or_default();
    let bearer = format!("Bearer {token}");
    let response = url.request(
        "PUT",
        &[
            ("authorization", &bearer),
            ("x-warden-actor", &actor),
            ("content-type", "text/plain; charset=utf-8"),
        ],
        directives,
    )?;
    if response.status != 200 {
        return Err(refused(response.status_line, &response.body));
    }
    let (Some(old), Some(new)) = (field(&response.body, "old"), field(&response.body, "new"))
    else {
        return Err(garbage(&response.body));
    };
    writeln!(out, "log filter: {old} -> {new}")?;
    Ok(())
}
