//! TLS settings: the CA to trust and the client certificate to present,
//! from the specification's variables or the builder, read and checked
//! when the exporter is built; and the rustls configuration (ring
//! provider) the HTTP transport uses.

use std::path::PathBuf;
use std::sync::Arc;

use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};

use crate::OtlpError;

/// The most a PEM file of certificates or a key is read: a CA bundle of a
/// few hundred certificates is about 200 KiB.
const MAX_PEM_BYTES: u64 = 4 * 1024 * 1024;

/// A PEM file and where its path came from: a variable's name, or
/// `"builder"`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TlsFile {
    /// The file.
    pub path: PathBuf,
    /// `OTEL_EXPORTER_OTLP_CERTIFICATE`, …, or `builder`.
    pub source: &'static str,
}

impl TlsFile {
    pub(crate) fn new(path: impl Into<PathBuf>, source: &'static str) -> Self {
        TlsFile {
            path: path.into(),
            source,
        }
    }

    fn error(&self, reason: impl Into<String>) -> OtlpError {
        OtlpError::TlsFile {
            variable: self.source,
            path: self.path.clone(),
            reason: reason.into(),
        }
    }

    /// The file's bytes, up to [`MAX_PEM_BYTES`]: a path that names
    /// something endless (`/dev/zero`) or huge is refused, not read whole.
    fn bytes(&self) -> Result<Vec<u8>, OtlpError> {
        use std::io::Read;
        let file = std::fs::File::open(&self.path).map_err(|e| self.error(e.to_string()))?;
        let mut bytes = Vec::new();
        file.take(MAX_PEM_BYTES + 1)
            .read_to_end(&mut bytes)
            .map_err(|e| self.error(e.to_string()))?;
        if bytes.len() as u64 > MAX_PEM_BYTES {
            return Err(self.error(format!(
                "larger than {} KiB: not a PEM file (is the path the certificate's?)",
                MAX_PEM_BYTES / 1024
            )));
        }
        Ok(bytes)
    }

    fn certificates(&self) -> Result<Vec<CertificateDer<'static>>, OtlpError> {
        let bytes = self.bytes()?;
        let certs: Vec<_> = CertificateDer::pem_slice_iter(&bytes)
            .collect::<Result<_, _>>()
            .map_err(|e| self.error(format!("not PEM certificates: {e}")))?;
        if certs.is_empty() {
            return Err(self.error("holds no PEM certificate"));
        }
        Ok(certs)
    }

    fn private_key(&self) -> Result<PrivateKeyDer<'static>, OtlpError> {
        let bytes = self.bytes()?;
        PrivateKeyDer::from_pem_slice(&bytes)
            .map_err(|e| self.error(format!("not a PEM private key: {e}")))
    }
}

/// The TLS files of an exporter (`OTEL_EXPORTER_OTLP_CERTIFICATE`,
/// `…_CLIENT_CERTIFICATE`, `…_CLIENT_KEY`, or the builder's
/// [`ca_certificate`](crate::OtlpBuilder::ca_certificate) and
/// [`client_certificate`](crate::OtlpBuilder::client_certificate)).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct TlsFiles {
    /// The CA certificates to trust instead of the system's roots.
    pub certificate: Option<TlsFile>,
    /// The client certificate chain, for mutual TLS.
    pub client_certificate: Option<TlsFile>,
    /// The client certificate's private key.
    pub client_key: Option<TlsFile>,
}

impl TlsFiles {
    /// Reads and parses every file given; a missing, unreadable or
    /// malformed one is an error naming its variable and path.
    pub(crate) fn check(&self) -> Result<(), OtlpError> {
        self.client_config(false).map(drop)
    }

    /// The rustls client configuration (ring provider): the CA file's
    /// certificates, else the system's roots when `system_roots` (none
    /// otherwise: a plain-HTTP exporter need not read them); the client
    /// certificate if one is given.
    pub(crate) fn client_config(
        &self,
        system_roots: bool,
    ) -> Result<rustls::ClientConfig, OtlpError> {
        let mut roots = rustls::RootCertStore::empty();
        match &self.certificate {
            Some(file) => {
                for cert in file.certificates()? {
                    roots
                        .add(cert)
                        .map_err(|e| file.error(format!("not a usable CA certificate: {e}")))?;
                }
            }
            None if system_roots => {
                let native = rustls_native_certs::load_native_certs();
                roots.add_parsable_certificates(native.certs);
                #[cfg(feature = "webpki-roots")]
                roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
            }
            None => {}
        }
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let builder = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|e| OtlpError::Exporter(format!("TLS: {e}")))?
            .with_root_certificates(roots);
        match (&self.client_certificate, &self.client_key) {
            (None, None) => Ok(builder.with_no_client_auth()),
            (Some(cert), Some(key)) => builder
                .with_client_auth_cert(cert.certificates()?, key.private_key()?)
                .map_err(|e| match e {
                    // The certificate itself is refused before the key is
                    // compared with it: say so, not that the key is wrong.
                    rustls::Error::InvalidCertificate(_)
                        if e.to_string().contains("UnsupportedCertVersion") =>
                    {
                        cert.error(
                            "is an X.509 v1 certificate, which TLS clients refuse: issue it as \
                             v3 (with extensions, e.g. `openssl x509 -req ... -extfile v3.ext`)",
                        )
                    }
                    rustls::Error::InvalidCertificate(_) => {
                        cert.error(format!("is not a usable client certificate: {e}"))
                    }
                    _ => key.error(format!("does not match the client certificate: {e}")),
                }),
            (Some(cert), None) => Err(cert.error("a client certificate needs its key too")),
            (None, Some(key)) => Err(key.error("a client key needs its certificate too")),
        }
    }

    /// The TLS configuration of a gRPC channel (tonic on rustls with the
    /// ring provider): the CA file's certificates, else the system's roots;
    /// the client identity if one is given. The server name is the
    /// endpoint's host.
    pub(crate) fn tonic_config(&self) -> Result<tonic::transport::ClientTlsConfig, OtlpError> {
        use tonic::transport::{Certificate, ClientTlsConfig, Identity};
        // Parsed here too, so that a bad file is named as for HTTP.
        self.client_config(false)?;
        let mut tls = ClientTlsConfig::new();
        tls = match &self.certificate {
            Some(file) => tls.ca_certificate(Certificate::from_pem(file.bytes()?)),
            // The system's roots, and Mozilla's with `webpki-roots`.
            None => tls.with_enabled_roots(),
        };
        if let (Some(cert), Some(key)) = (&self.client_certificate, &self.client_key) {
            tls = tls.identity(Identity::from_pem(cert.bytes()?, key.bytes()?));
        }
        Ok(tls)
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.certificate.is_none() && self.client_certificate.is_none() && self.client_key.is_none()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    #[cfg(unix)]
    fn an_endless_file_is_refused_not_read_whole() {
        let file = TlsFile::new("/dev/zero", "OTEL_EXPORTER_OTLP_CERTIFICATE");
        let error = file.certificates().unwrap_err().to_string();
        assert!(error.contains("OTEL_EXPORTER_OTLP_CERTIFICATE"), "{error}");
        assert!(error.contains("/dev/zero"), "{error}");
        assert!(error.contains("not a PEM file"), "{error}");
    }
}
