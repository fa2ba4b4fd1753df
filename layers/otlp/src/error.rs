//! What can go wrong when setting up or stopping an exporter.

/// Errors from configuring, starting, flushing or stopping an exporter.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum OtlpError {
    /// `OTEL_EXPORTER_OTLP_PROTOCOL` (or the builder) named a protocol
    /// other than `grpc` and `http/protobuf`.
    #[error(
        "unsupported OTLP protocol {0:?} (OTEL_EXPORTER_OTLP_PROTOCOL): use \"grpc\" or \"http/protobuf\""
    )]
    UnsupportedProtocol(String),
    /// A compression other than `gzip` and `none`.
    #[error(
        "unsupported OTLP compression {0:?} (OTEL_EXPORTER_OTLP_COMPRESSION): use \"gzip\" or \"none\""
    )]
    UnsupportedCompression(String),
    /// An endpoint that is not an `http://` URL with a host.
    #[error(
        "invalid OTLP endpoint {0:?} (OTEL_EXPORTER_OTLP_ENDPOINT, a per-signal OTEL_EXPORTER_OTLP_*_ENDPOINT or the builder's endpoint): expected a URL such as http://localhost:4317"
    )]
    InvalidEndpoint(String),
    /// A `k=v` list with an entry that has no `=`.
    #[error("{variable}: {pair:?} is not a key=value pair")]
    InvalidPair {
        /// The variable (or builder setting) it came from.
        variable: &'static str,
        /// The entry.
        pair: String,
    },
    /// A TLS file (CA, client certificate or key) that is missing,
    /// unreadable or malformed: named with the variable (or `builder`) that
    /// gave it. Never a silent fallback to plain text.
    #[error("{variable}={path:?}: {reason}")]
    TlsFile {
        /// The variable that named the file, or `builder`.
        variable: &'static str,
        /// The file.
        path: std::path::PathBuf,
        /// What is wrong with it.
        reason: String,
    },
    /// A header name or value that HTTP cannot carry.
    #[error(
        "invalid OTLP header {0:?} (OTEL_EXPORTER_OTLP_HEADERS or the builder's header): a name is letters, digits, '-', '_' and '.', a value has no control character"
    )]
    InvalidHeader(String),
    /// A variable that should hold `true` or `false`.
    #[error("{variable}={value:?} is neither true nor false")]
    InvalidFlag {
        /// The variable.
        variable: &'static str,
        /// What it held.
        value: String,
    },
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
