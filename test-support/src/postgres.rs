//! A real PostgreSQL server from Debian's packages: a private cluster made
//! with `initdb` in a temporary directory, started with `pg_ctl` on a free
//! loopback port (as the `postgres` system user when the tests run as
//! root, since PostgreSQL refuses root), stopped and removed when dropped.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use crate::collector::free_port;

/// The superuser of the test clusters, and its password.
pub const ADMIN: (&str, &str) = ("warden", "warden-test-password");

/// A running private PostgreSQL cluster.
#[derive(Debug)]
pub struct Postgres {
    dir: PathBuf,
    bin: PathBuf,
    /// Its port on 127.0.0.1.
    pub port: u16,
    options: String,
}

/// The directory of `initdb` and `pg_ctl`: `$PG_BIN`, else the newest
/// under `/usr/lib/postgresql`.
fn bin_dir() -> Option<PathBuf> {
    if let Some(dir) = std::env::var_os("PG_BIN") {
        return Some(PathBuf::from(dir));
    }
    let mut versions: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .ok()?
        .filter_map(Result::ok)
        .map(|e| e.path().join("bin"))
        .filter(|bin| bin.join("initdb").exists())
        .collect();
    versions.sort_by_key(|p| {
        p.parent()
            .and_then(Path::file_name)
            .and_then(|v| v.to_str())
            .and_then(|v| v.parse::<u32>().ok())
            .unwrap_or(0)
    });
    versions.pop()
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
        .unwrap_or(false)
}

/// Runs a server program, as `postgres` when we are root.
fn run(program: &Path, args: &[&str]) -> Output {
    let mut command = if is_root() {
        let mut c = Command::new("runuser");
        c.args(["-u", "postgres", "--"]).arg(program);
        c
    } else {
        Command::new(program)
    };
    command
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("{}: {e}", program.display()))
}

fn check(output: Output, what: &str) {
    assert!(
        output.status.success(),
        "{what} failed: {}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

impl Postgres {
    /// Whether a server can be started here (its binaries are installed).
    pub fn available() -> bool {
        bin_dir().is_some()
    }

    /// Starts a new cluster with PostgreSQL's default settings.
    pub fn start() -> Self {
        Self::start_with(&[])
    }

    /// Starts a new cluster that also accepts TLS, with `server.pem` and
    /// `server.key` from `certificates` (as `write_certificates` leaves
    /// them: a certificate for `localhost`).
    pub fn start_with_tls(certificates: &Path) -> Self {
        Self::start_configured(&[("ssl", "on")], Some(certificates))
    }

    /// Starts a new cluster with these extra settings (`-c name=value`).
    pub fn start_with(settings: &[(&str, &str)]) -> Self {
        Self::start_configured(settings, None)
    }

    fn start_configured(settings: &[(&str, &str)], certificates: Option<&Path>) -> Self {
        let bin = bin_dir().expect(
            "PostgreSQL's server binaries (Debian's postgresql package; ./scripts/test installs it)",
        );
        let dir = std::env::temp_dir().join(format!("warden-pg-{}", uuid::Uuid::new_v4().simple()));
        std::fs::create_dir_all(&dir).expect("a scratch directory");
        let pwfile = dir.join("pw");
        std::fs::write(&pwfile, ADMIN.1).expect("the password file");
        let mut tls_options = String::new();
        if let Some(certs) = certificates {
            let (cert, key) = (dir.join("server.crt"), dir.join("server.key"));
            std::fs::copy(certs.join("server.pem"), &cert).expect("the server certificate");
            std::fs::copy(certs.join("server.key"), &key).expect("the server key");
            #[cfg(unix)]
            {
                use std::os::unix::fs::PermissionsExt;
                std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o600))
                    .expect("chmod the server key");
            }
            tls_options = format!(
                " -c ssl_cert_file={} -c ssl_key_file={}",
                cert.display(),
                key.display()
            );
        }
        if is_root() {
            check(
                Command::new("chown")
                    .args(["-R", "postgres:postgres"])
                    .arg(&dir)
                    .output()
                    .expect("chown"),
                "chown",
            );
        }
        let data = dir.join("data");
        check(
            run(
                &bin.join("initdb"),
                &[
                    "-D",
                    data.to_str().unwrap_or_default(),
                    "-U",
                    ADMIN.0,
                    "--pwfile",
                    pwfile.to_str().unwrap_or_default(),
                    "--auth-local=trust",
                    "--auth-host=scram-sha-256",
                    "--no-sync",
                    "-E",
                    "UTF8",
                    "--locale=C",
                ],
            ),
            "initdb",
        );
        let port = free_port();
        let mut options = format!(
            "-p {port} -c listen_addresses=127.0.0.1 -k {}",
            dir.display()
        );
        for (name, value) in settings {
            options.push_str(&format!(" -c {name}={value}"));
        }
        options.push_str(&tls_options);
        let server = Postgres {
            dir,
            bin,
            port,
            options,
        };
        server.start_again();
        server
    }

    /// The data directory (for `postgresql.conf`, certificates…).
    pub fn data_dir(&self) -> PathBuf {
        self.dir.join("data")
    }

    /// A URL for `user` with `password` to the `postgres` database, without
    /// TLS.
    pub fn url(&self, user: &str, password: &str) -> String {
        format!(
            "postgres://{user}:{password}@127.0.0.1:{}/postgres?sslmode=disable",
            self.port
        )
    }

    /// The superuser's URL.
    pub fn admin_url(&self) -> String {
        self.url(ADMIN.0, ADMIN.1)
    }

    /// Runs SQL as the superuser (with `psql` over the cluster's socket).
    pub fn psql(&self, sql: &str) -> String {
        let output = run(
            &self.bin.join("psql"),
            &[
                "-X",
                "-q",
                "-v",
                "ON_ERROR_STOP=1",
                "-t",
                "-A",
                "-h",
                self.dir.to_str().unwrap_or_default(),
                "-p",
                &self.port.to_string(),
                "-U",
                ADMIN.0,
                "-d",
                "postgres",
                "-c",
                sql,
            ],
        );
        check(output.clone(), &format!("psql {sql}"));
        String::from_utf8_lossy(&output.stdout).into_owned()
    }

    /// Starts the server (again), waiting until it accepts connections.
    pub fn start_again(&self) {
        let log = self.dir.join("server.log");
        check(
            run(
                &self.bin.join("pg_ctl"),
                &[
                    "-D",
                    self.data_dir().to_str().unwrap_or_default(),
                    "-l",
                    log.to_str().unwrap_or_default(),
                    "-o",
                    &self.options,
                    "-w",
                    "-t",
                    "60",
                    "start",
                ],
            ),
            "pg_ctl start",
        );
    }

    /// Stops the server (`fast`: connections are cut, what is committed
    /// stays).
    pub fn stop(&self) {
        let _ = run(
            &self.bin.join("pg_ctl"),
            &[
                "-D",
                self.data_dir().to_str().unwrap_or_default(),
                "-m",
                "fast",
                "-w",
                "stop",
            ],
        );
    }

    /// The server's log so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.join("server.log")).unwrap_or_default()
    }
}

impl Drop for Postgres {
    fn drop(&mut self) {
        let _ = run(
            &self.bin.join("pg_ctl"),
            &[
                "-D",
                self.data_dir().to_str().unwrap_or_default(),
                "-m",
                "immediate",
                "-w",
                "stop",
            ],
        );
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
