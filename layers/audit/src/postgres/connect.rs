//! Connection settings as libpq users expect them: a URL or a key/value
//! string, the `PG*` environment variables, `.pgpass`, and `sslmode` up to
//! `verify-full` on rustls (the ring provider, as the OTLP exporter uses).

use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use postgres::config::SslMode as ClientSslMode;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{DigitallySignedStruct, RootCertStore, SignatureScheme};

use crate::error::AuditError;

/// How a connection uses TLS (libpq's `sslmode`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum SslMode {
    /// Never.
    Disable,
    /// TLS if the server offers it, without checking its certificate.
    Prefer,
    /// TLS always, without checking the certificate (unless a root
    /// certificate is given, as libpq does: then as `VerifyCa`).
    Require,
    /// TLS, the certificate signed by a trusted root.
    VerifyCa,
    /// TLS, the certificate signed by a trusted root and naming the host.
    VerifyFull,
}

impl FromStr for SslMode {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "disable" => Ok(SslMode::Disable),
            "allow" | "prefer" => Ok(SslMode::Prefer),
            "require" => Ok(SslMode::Require),
            "verify-ca" => Ok(SslMode::VerifyCa),
            "verify-full" => Ok(SslMode::VerifyFull),
            other => Err(format!(
                "sslmode {other:?} is not one of disable, allow, prefer, require, verify-ca, verify-full"
            )),
        }
    }
}

/// Where and how to connect: parsed once, used for every (re)connection.
#[derive(Clone)]
pub(crate) struct PgSettings {
    config: postgres::Config,
    ssl: SslMode,
    root_cert: Option<PathBuf>,
    /// The text as given, without a password, for messages.
    pub(crate) display: String,
}

impl std::fmt::Debug for PgSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PgSettings")
            .field("target", &self.display)
            .field("ssl", &self.ssl)
            .finish_non_exhaustive()
    }
}

/// Whether `text` names a PostgreSQL database (a `postgres://` URL or a
/// key/value string) rather than a file.
pub fn is_postgres(text: &str) -> bool {
    text.starts_with("postgres://")
        || text.starts_with("postgresql://")
        || (text.contains('=') && !text.contains('/') && !Path::new(text).exists())
}

impl PgSettings {
    /// Parses `text` (`postgres://user@host:5432/db?sslmode=verify-full`
    /// or `host=… user=… dbname=…`), then fills what it leaves out from
    /// `PGHOST`, `PGPORT`, `PGUSER`, `PGDATABASE`, `PGPASSWORD` (else
    /// `.pgpass`: `PGPASSFILE` or `~/.pgpass`), `PGSSLMODE`,
    /// `PGSSLROOTCERT`, `PGCONNECT_TIMEOUT`, as libpq does.
    pub(crate) fn parse(text: &str) -> Result<Self, AuditError> {
        let bad =
            |reason: String| AuditError::Config(format!("database {}: {reason}", redact(text)));
        // tokio-postgres knows sslmode only up to `require`, and not
        // `sslrootcert`: take both out and keep them here.
        let (rest, extracted) = extract(text, &["sslmode", "sslrootcert"]);
        let mut config = postgres::Config::from_str(&rest).map_err(|e| bad(e.to_string()))?;
        let env = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
        if config.get_hosts().is_empty() {
            config.host(&env("PGHOST").unwrap_or_else(|| "localhost".into()));
        }
        if config.get_ports().is_empty() {
            let port = env("PGPORT")
                .map_or(Ok(5432), |p| p.parse())
                .map_err(|_| bad("PGPORT is not a port number".into()))?;
            config.port(port);
        }
        if config.get_user().is_none() {
            let user = env("PGUSER")
                .or_else(|| env("USER"))
                .unwrap_or_else(|| "postgres".into());
            config.user(&user);
        }
        if config.get_dbname().is_none() {
            if let Some(db) = env("PGDATABASE") {
                config.dbname(&db);
            }
        }
        if config.get_connect_timeout().is_none() {
            let seconds = env("PGCONNECT_TIMEOUT")
                .and_then(|s| s.parse().ok())
                .unwrap_or(10);
            config.connect_timeout(Duration::from_secs(seconds));
        }
        config.keepalives(true);
        if config.get_password().is_none() {
            if let Some(password) = env("PGPASSWORD").or_else(|| pgpass_password(&config)) {
                config.password(password);
            }
        }
        let ssl = match extracted
            .first()
            .cloned()
            .flatten()
            .or_else(|| env("PGSSLMODE"))
        {
            Some(mode) => mode.parse().map_err(bad)?,
            None => SslMode::Prefer,
        };
        let root_cert = extracted
            .get(1)
            .cloned()
            .flatten()
            .or_else(|| env("PGSSLROOTCERT"))
            .map(PathBuf::from)
            .or_else(|| {
                let default = home()?.join(".postgresql").join("root.crt");
                default.exists().then_some(default)
            });
        let ssl = match ssl {
            SslMode::Require if root_cert.is_some() => SslMode::VerifyCa,
            other => other,
        };
        Ok(PgSettings {
            config,
            ssl,
            root_cert,
            display: redact(text),
        })
    }

    /// Opens a connection.
    pub(crate) fn connect(&self) -> Result<postgres::Client, AuditError> {
        let failed = |e: postgres::Error| AuditError::Postgres {
            target: self.display.clone(),
            reason: error_text(&e),
        };
        let mut config = self.config.clone();
        match self.ssl {
            SslMode::Disable => {
                config.ssl_mode(ClientSslMode::Disable);
                config.connect(postgres::NoTls).map_err(failed)
            }
            mode => {
                config.ssl_mode(if mode == SslMode::Prefer {
                    ClientSslMode::Prefer
                } else {
                    ClientSslMode::Require
                });
                let tls = self.tls_config(mode)?;
                config
                    .connect(tokio_postgres_rustls::MakeRustlsConnect::new(tls))
                    .map_err(failed)
            }
        }
    }

    fn tls_config(&self, mode: SslMode) -> Result<rustls::ClientConfig, AuditError> {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let builder = rustls::ClientConfig::builder_with_provider(Arc::clone(&provider))
            .with_safe_default_protocol_versions()
            .map_err(|e| AuditError::Config(format!("TLS: {e}")))?;
        let config = match mode {
            SslMode::Disable | SslMode::Prefer | SslMode::Require => builder
                .dangerous()
                .with_custom_certificate_verifier(Arc::new(Relaxed {
                    chain: None,
                    algorithms: provider.signature_verification_algorithms,
                }))
                .with_no_client_auth(),
            SslMode::VerifyCa | SslMode::VerifyFull => {
                let roots = Arc::new(self.roots()?);
                let webpki = rustls::client::WebPkiServerVerifier::builder_with_provider(
                    roots,
                    Arc::clone(&provider),
                )
                .build()
                .map_err(|e| AuditError::Config(format!("TLS: {e}")))?;
                let verifier: Arc<dyn ServerCertVerifier> = if mode == SslMode::VerifyCa {
                    Arc::new(Relaxed {
                        chain: Some(webpki),
                        algorithms: provider.signature_verification_algorithms,
                    })
                } else {
                    webpki
                };
                builder
                    .dangerous()
                    .with_custom_certificate_verifier(verifier)
                    .with_no_client_auth()
            }
        };
        Ok(config)
    }

    /// The roots a certificate must chain to: `sslrootcert`, else the
    /// system's.
    fn roots(&self) -> Result<RootCertStore, AuditError> {
        let mut roots = RootCertStore::empty();
        match &self.root_cert {
            Some(path) => {
                let pem = std::fs::read(path).map_err(|e| AuditError::io(path, e))?;
                let certs = rustls_pki_types::pem::PemObject::pem_slice_iter(&pem)
                    .collect::<Result<Vec<CertificateDer<'static>>, _>>()
                    .map_err(|e| AuditError::Config(format!("{}: {e}", path.display())))?;
                if certs.is_empty() {
                    return Err(AuditError::Config(format!(
                        "{}: no PEM certificate in it",
                        path.display()
                    )));
                }
                for cert in certs {
                    roots
                        .add(cert)
                        .map_err(|e| AuditError::Config(format!("{}: {e}", path.display())))?;
                }
            }
            None => {
                for cert in rustls_native_certs::load_native_certs().certs {
                    let _ = roots.add(cert);
                }
            }
        }
        Ok(roots)
    }
}

/// The whole text of a client error: its message and its causes.
pub(crate) fn error_text(error: &postgres::Error) -> String {
    let mut text = error.to_string();
    let mut source = std::error::Error::source(error);
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        if !text.contains(&cause_text) {
            text.push_str(": ");
            text.push_str(&cause_text);
        }
        source = cause.source();
    }
    text
}

/// `text` without a password (URL userinfo or `password=`).
fn redact(text: &str) -> String {
    if let Some(rest) = text.split_once("://").map(|(_, r)| r) {
        if let Some((userinfo, after)) = rest.split_once('@') {
            if let Some((user, _)) = userinfo.split_once(':') {
                let scheme = &text[..text.len() - rest.len()];
                return format!("{scheme}{user}:***@{after}");
            }
        }
        return text.to_owned();
    }
    text.split_whitespace()
        .map(|pair| match pair.split_once('=') {
            Some(("password", _)) => "password=***".to_owned(),
            _ => pair.to_owned(),
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// Takes the `names` options out of a URL's query or a key/value string:
/// the rest, and each one's value (in `names` order).
fn extract(text: &str, names: &[&str]) -> (String, Vec<Option<String>>) {
    let mut found = vec![None; names.len()];
    let mut take = |key: &str, value: &str| match names.iter().position(|n| *n == key) {
        Some(i) => {
            found[i] = Some(value.to_owned());
            true
        }
        None => false,
    };
    if text.contains("://") {
        let Some((base, query)) = text.split_once('?') else {
            return (text.to_owned(), found);
        };
        let kept: Vec<&str> = query
            .split('&')
            .filter(|pair| {
                let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
                !take(k, v)
            })
            .collect();
        let rest = if kept.is_empty() {
            base.to_owned()
        } else {
            format!("{base}?{}", kept.join("&"))
        };
        (rest, found)
    } else {
        let kept: Vec<&str> = text
            .split_whitespace()
            .filter(|pair| {
                let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
                !take(k.trim(), v.trim().trim_matches('\''))
            })
            .collect();
        (kept.join(" "), found)
    }
}

fn home() -> Option<PathBuf> {
    std::env::var_os("HOME").map(PathBuf::from)
}

/// The password `.pgpass` gives for this host, port, database and user
/// (`PGPASSFILE`, else `~/.pgpass`; ignored unless only its owner can read
/// it, as libpq does).
fn pgpass_password(config: &postgres::Config) -> Option<String> {
    let file = std::env::var_os("PGPASSFILE")
        .map(PathBuf::from)
        .or_else(|| Some(home()?.join(".pgpass")))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&file).ok()?.permissions().mode();
        if mode & 0o077 != 0 {
            eprintln!(
                "warden-audit: {} is readable by others: ignored (chmod 0600 it)",
                file.display()
            );
            return None;
        }
    }
    let text = std::fs::read_to_string(&file).ok()?;
    let host = match config.get_hosts().first() {
        Some(postgres::config::Host::Tcp(h)) => h.clone(),
        #[cfg(unix)]
        Some(postgres::config::Host::Unix(_)) => "localhost".into(),
        None => "localhost".into(),
    };
    let port = config
        .get_ports()
        .first()
        .copied()
        .unwrap_or(5432)
        .to_string();
    let user = config.get_user().unwrap_or_default().to_owned();
    let dbname = config
        .get_dbname()
        .map_or_else(|| user.clone(), str::to_owned);
    pgpass_lookup(&text, &host, &port, &dbname, &user)
}

/// The password of the first `.pgpass` line matching (`*` matches
/// anything; `\:` and `\\` are escapes).
pub(crate) fn pgpass_lookup(
    text: &str,
    host: &str,
    port: &str,
    db: &str,
    user: &str,
) -> Option<String> {
    for line in text.lines() {
        if line.starts_with('#') || line.trim().is_empty() {
            continue;
        }
        let mut fields = Vec::new();
        let mut field = String::new();
        let mut chars = line.chars();
        while let Some(c) = chars.next() {
            match c {
                '\\' => field.extend(chars.next()),
                ':' if fields.len() < 4 => fields.push(std::mem::take(&mut field)),
                c => field.push(c),
            }
        }
        fields.push(field);
        if fields.len() != 5 {
            continue;
        }
        let matches = |pattern: &str, value: &str| pattern == "*" || pattern == value;
        if matches(&fields[0], host)
            && matches(&fields[1], port)
            && matches(&fields[2], db)
            && matches(&fields[3], user)
        {
            return fields.pop();
        }
    }
    None
}

/// The checks libpq's weaker modes leave out: `sslmode=require` (no
/// `chain`: encrypted, any certificate) and `sslmode=verify-ca` (the chain
/// is checked, the host name is not). The handshake's signatures are
/// checked in both.
#[derive(Debug)]
struct Relaxed {
    /// The chain's verifier, for `verify-ca`.
    chain: Option<Arc<rustls::client::WebPkiServerVerifier>>,
    /// The provider's signature algorithms.
    algorithms: rustls::crypto::WebPkiSupportedAlgorithms,
}

impl ServerCertVerifier for Relaxed {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let Some(chain) = &self.chain else {
            return Ok(ServerCertVerified::assertion());
        };
        match chain.verify_server_cert(end_entity, intermediates, server_name, ocsp_response, now) {
            Err(rustls::Error::InvalidCertificate(rustls::CertificateError::NotValidForName))
            | Err(rustls::Error::InvalidCertificate(
                rustls::CertificateError::NotValidForNameContext { .. },
            )) => Ok(ServerCertVerified::assertion()),
            other => other,
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.algorithms.supported_schemes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_and_key_value_strings_parse_with_libpq_options_taken_out() {
        let (rest, found) = extract(
            "postgres://u:p@h:5/db?sslmode=verify-full&application_name=x&sslrootcert=/ca.pem",
            &["sslmode", "sslrootcert"],
        );
        assert_eq!(rest, "postgres://u:p@h:5/db?application_name=x");
        assert_eq!(found, [Some("verify-full".into()), Some("/ca.pem".into())]);
        let (rest, found) = extract("host=h sslmode=require user=u", &["sslmode", "sslrootcert"]);
        assert_eq!(
            (rest.as_str(), &found[..]),
            ("host=h user=u", &[Some("require".into()), None][..])
        );
        let settings =
            PgSettings::parse("postgres://ada:secret@db.internal:6543/audit?sslmode=verify-full")
                .unwrap();
        assert_eq!(settings.ssl, SslMode::VerifyFull);
        assert_eq!(
            settings.display,
            "postgres://ada:***@db.internal:6543/audit?sslmode=verify-full"
        );
        assert!(!format!("{settings:?}").contains("secret"));
        assert_eq!(
            redact("host=h password=hunter2 user=u"),
            "host=h password=*** user=u"
        );
        assert!(PgSettings::parse("postgres://h/db?sslmode=sometimes").is_err());
    }

    #[test]
    fn pgpass_lines_match_with_wildcards_and_escapes() {
        let text = "# comment\nother:5432:*:ada:no\ndb\\:1:*:audit:ada:pa\\:ss\n*:*:*:*:fallback\n";
        assert_eq!(
            pgpass_lookup(text, "db:1", "5432", "audit", "ada").as_deref(),
            Some("pa:ss")
        );
        assert_eq!(
            pgpass_lookup(text, "h", "1", "x", "bob").as_deref(),
            Some("fallback")
        );
        assert_eq!(pgpass_lookup("h:1:d:u:p", "h", "2", "d", "u"), None);
    }
}
