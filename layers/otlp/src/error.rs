//! What can go wrong when setting up or stopping an exporter.

/// Errors from configuring, starting, flushing or stopping an exporter.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum OtlpError {
    /// `OTEL_EXPORTER_OTLP_PROTOCOL` (or the builder) named a protocol
    /// other than `grpc` and `http/protobuf`.
    #[error("unsupported OTLP protocol {0:?}: use \"grpc\" or \"http/protobuf\"")]
    UnsupportedProtocol(String),
    /// A compression other than `gzip` and `none`.
    #[error("unsupported OTLP compression {0:?}: use \"gzip\" or \"none\"")]
    UnsupportedCompression(String),
    /// An endpoint that is not an `http://` URL with a host.
    #[error("invalid OTLP endpoint {0:?}: expected a URL such as http://localhost:4317")]
    InvalidEndpoint(String),
    /// A `k=v` list with an entry that has no `=`.
    #[error("{variable}: {pair:?} is not a key=value pair")]
    InvalidPair {
        /// The variable (or builder setting) it came from.
        variable: &'static str,
        /// The entry.
        pair: String,
    },
    /// An `https://` endpoint: this build has no TLS stack. Send to a
    /// collector or sidecar on a trusted network (`http://`), which
    /// forwards over TLS.
    #[error(
        "TLS endpoints are not supported in this build ({0}): send to a local collector over http:// and let it forward over TLS"
    )]
    TlsUnsupported(String),
    /// A header name or value that HTTP cannot carry.
    #[error("invalid OTLP header {0:?}")]
    InvalidHeader(String),
    /// A variable that should hold a whole number.
    #[error("{variable}={value:?} is not a whole number")]
    InvalidNumber {
        /// The variable.
        variable: &'static str,
        /// What it held.
        value: String,
    },
    /// A queue or batch size of zero.
    #[error("the {0} must be at least 1")]
    InvalidSize(&'static str),
    /// The OpenTelemetry exporter could not be built.
    #[error("could not build the OTLP exporter: {0}")]
    Exporter(String),
    /// The export thread could not be started.
    #[error("could not start the OTLP export thread: {0}")]
    Thread(#[from] std::io::Error),
}
