//! A real TLS-terminating proxy, nginx from Debian's packages, in front of
//! a collector, on a free loopback port; and the certificates it and the
//! tests use, made at test time.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, DnType, IsCa, KeyPair};

use crate::collector::free_port;

/// A running nginx that terminates TLS and forwards to `upstream`; killed
/// when dropped.
#[derive(Debug)]
pub struct TlsProxy {
    child: Child,
    /// Its port on 127.0.0.1.
    pub port: u16,
}

/// The nginx binary: `$NGINX`, else the one on the path.
fn nginx() -> PathBuf {
    std::env::var_os("NGINX").map_or_else(|| PathBuf::from("nginx"), PathBuf::from)
}

impl TlsProxy {
    /// Starts nginx in `dir` (which must hold `server.pem` and
    /// `server.key`), forwarding HTTP to `http://127.0.0.1:{upstream}`.
    /// With `client_ca`, it requires a client certificate signed by that CA.
    pub fn start(dir: &Path, upstream: u16, client_ca: Option<&Path>) -> Self {
        Self::start_with(dir, upstream, client_ca, false)
    }

    /// As [`start`](Self::start), for gRPC: HTTP/2 over TLS, forwarded with
    /// `grpc_pass` to `grpc://127.0.0.1:{upstream}`.
    pub fn grpc(dir: &Path, upstream: u16, client_ca: Option<&Path>) -> Self {
        Self::start_with(dir, upstream, client_ca, true)
    }

    fn start_with(dir: &Path, upstream: u16, client_ca: Option<&Path>, grpc: bool) -> Self {
        let port = free_port();
        // Its own pid file, log, temporary files and configuration, so that
        // two proxies can share one directory of certificates. One process
        // (no master and workers): killing it on drop leaves nothing behind.
        let state = dir.join(format!("nginx-{port}"));
        std::fs::create_dir_all(&state).expect("a writable scratch directory");
        let (d, s) = (dir.display(), state.display());
        let verify = client_ca.map_or(String::new(), |ca| {
            format!(
                "ssl_client_certificate {}; ssl_verify_client on;",
                ca.display()
            )
        });
        let (http2, pass) = if grpc {
            (" http2", format!("grpc_pass grpc://127.0.0.1:{upstream};"))
        } else {
            ("", format!("proxy_pass http://127.0.0.1:{upstream};"))
        };
        let conf = format!(
            "master_process off; daemon off; pid {s}/nginx.pid; error_log {s}/error.log;
events {{ worker_connections 64; }}
http {{
  access_log off;
  client_body_temp_path {s}/body; proxy_temp_path {s}/proxy; fastcgi_temp_path {s}/fastcgi;
  uwsgi_temp_path {s}/uwsgi; scgi_temp_path {s}/scgi;
  server {{
    listen 127.0.0.1:{port} ssl{http2};
    ssl_certificate {d}/server.pem; ssl_certificate_key {d}/server.key;
    {verify}
    location / {{ {pass} }}
  }}
}}"
        );
        let conf_path = state.join("nginx.conf");
        std::fs::write(&conf_path, conf).expect("the nginx configuration is written");
        let child = Command::new(nginx())
            .arg("-c")
            .arg(&conf_path)
            .arg("-p")
            .arg(&state)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("nginx starts: run ./scripts/test (it installs nginx) or set NGINX");
        let deadline = Instant::now() + Duration::from_secs(20);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                Instant::now() < deadline,
                "nginx did not listen: {}",
                std::fs::read_to_string(state.join("error.log")).unwrap_or_default()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        TlsProxy { child, port }
    }
}

impl Drop for TlsProxy {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Writes `ca.pem`, `server.pem`/`server.key` (for `localhost`),
/// `client.pem`/`client.key`, `other-ca.pem` (a CA that signed none of
/// them) and `expired/server.pem`/`.key` (expired in 2021) into `dir`.
pub fn write_certificates(dir: &Path) {
    let ca_key = KeyPair::generate().expect("rcgen makes the test certificates");
    // Distinct names: a certificate whose subject is its issuer's reads as
    // self-signed to OpenSSL (nginx), whatever signed it.
    let mut ca_params =
        CertificateParams::new(Vec::<String>::new()).expect("rcgen makes the test certificates");
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca_params
        .distinguished_name
        .push(DnType::CommonName, "warden test CA");
    let ca =
        CertifiedIssuer::self_signed(ca_params, ca_key).expect("rcgen makes the test certificates");
    write(dir.join("ca.pem"), ca.pem());
    for (name, san) in [("server", "localhost"), ("client", "warden-client")] {
        let key = KeyPair::generate().expect("rcgen makes the test certificates");
        let mut params = CertificateParams::new(vec![san.to_owned()])
            .expect("rcgen makes the test certificates");
        params.distinguished_name.push(DnType::CommonName, san);
        let cert = params
            .signed_by(&key, &ca)
            .expect("rcgen makes the test certificates");
        write(dir.join(format!("{name}.pem")), cert.pem());
        write(dir.join(format!("{name}.key")), key.serialize_pem());
    }
    // A server certificate for `localhost` that expired in 2021.
    let expired_dir = dir.join("expired");
    std::fs::create_dir_all(&expired_dir).expect("a writable scratch directory");
    let key = KeyPair::generate().expect("rcgen makes the test certificates");
    let mut params = CertificateParams::new(vec!["localhost".to_owned()])
        .expect("rcgen makes the test certificates");
    params
        .distinguished_name
        .push(DnType::CommonName, "localhost");
    params.not_before = rcgen::date_time_ymd(2020, 1, 1);
    params.not_after = rcgen::date_time_ymd(2021, 1, 1);
    let cert = params
        .signed_by(&key, &ca)
        .expect("rcgen makes the test certificates");
    write(expired_dir.join("server.pem"), cert.pem());
    write(expired_dir.join("server.key"), key.serialize_pem());
    let other_key = KeyPair::generate().expect("rcgen makes the test certificates");
    let mut other =
        CertificateParams::new(Vec::<String>::new()).expect("rcgen makes the test certificates");
    other.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    other
        .distinguished_name
        .push(DnType::CommonName, "another CA");
    let other = other
        .self_signed(&other_key)
        .expect("rcgen makes the test certificates");
    write(dir.join("other-ca.pem"), other.pem());
}

fn write(path: impl AsRef<Path>, text: impl AsRef<[u8]>) {
    std::fs::write(path, text).expect("a writable scratch directory");
}
