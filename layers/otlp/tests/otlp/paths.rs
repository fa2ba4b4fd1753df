//! The two export paths every collector test runs on: warden's own
//! requests (the default), and `opentelemetry-otlp` exporters a user built
//! and handed over (`OtlpBuilder::span_exporter` / `log_exporter`), set up
//! from the same settings.

use std::collections::HashMap;
use std::sync::OnceLock;

use opentelemetry_otlp::{
    LogExporter, SpanExporter, WithExportConfig, WithHttpConfig, WithTonicConfig,
};
use warden_otlp::{Compression, Otlp, OtlpBuilder, Protocol, Signal};

/// Which exporter sends spans and log records.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Path {
    /// warden's own OTLP requests.
    Direct,
    /// `opentelemetry-otlp`'s exporters, built by "the user".
    Sdk,
}

/// The runtime the user's gRPC exporters are built in (tonic's channel
/// runs there): alive for the whole test binary.
fn user_runtime() -> &'static tokio::runtime::Runtime {
    static RUNTIME: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    RUNTIME.get_or_init(|| {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .unwrap()
    })
}

/// Starts `builder`'s exporter on `path`.
pub(crate) fn build(builder: OtlpBuilder, path: Path) -> Otlp {
    let Path::Sdk = path else {
        return builder.build().unwrap();
    };
    let _ = rustls::crypto::ring::default_provider().install_default();
    let config = builder.config().unwrap();
    let gzip = config.compression == Compression::Gzip;
    let _runtime = user_runtime().enter();
    let (spans, logs) = match config.protocol {
        Protocol::Grpc => {
            let mut metadata = tonic::metadata::MetadataMap::new();
            for (k, v) in &config.headers {
                let key = tonic::metadata::MetadataKey::from_bytes(k.as_bytes()).unwrap();
                metadata.insert(key, v.parse().unwrap());
            }
            let mut spans = SpanExporter::builder()
                .with_tonic()
                .with_endpoint(config.endpoint_for(Signal::Traces))
                .with_timeout(config.timeout)
                .with_metadata(metadata.clone());
            let mut logs = LogExporter::builder()
                .with_tonic()
                .with_endpoint(config.endpoint_for(Signal::Logs))
                .with_timeout(config.timeout)
                .with_metadata(metadata);
            if gzip {
                spans = spans.with_compression(opentelemetry_otlp::Compression::Gzip);
                logs = logs.with_compression(opentelemetry_otlp::Compression::Gzip);
            }
            (spans.build().unwrap(), logs.build().unwrap())
        }
        Protocol::HttpProtobuf => {
            let headers: HashMap<String, String> = config.headers.iter().cloned().collect();
            let client = reqwest::Client::builder()
                .timeout(config.timeout)
                .build()
                .unwrap();
            let mut spans = SpanExporter::builder()
                .with_http()
                .with_protocol(opentelemetry_otlp::Protocol::HttpBinary)
                .with_endpoint(config.endpoint_for(Signal::Traces))
                .with_timeout(config.timeout)
                .with_headers(headers.clone())
                .with_http_client(client.clone());
            let mut logs = LogExporter::builder()
                .with_http()
                .with_protocol(opentelemetry_otlp::Protocol::HttpBinary)
                .with_endpoint(config.endpoint_for(Signal::Logs))
                .with_timeout(config.timeout)
                .with_headers(headers)
                .with_http_client(client);
            if gzip {
                spans = spans.with_compression(opentelemetry_otlp::Compression::Gzip);
                logs = logs.with_compression(opentelemetry_otlp::Compression::Gzip);
            }
            (spans.build().unwrap(), logs.build().unwrap())
        }
    };
    builder
        .span_exporter(spans)
        .log_exporter(logs)
        .build()
        .unwrap()
}

/// Runs each named test (a `fn(Path)`) on both paths, as
/// `<name>::direct` and `<name>::sdk_exporter`.
macro_rules! on_both_paths {
    ($($name:ident),* $(,)?) => {
        $(
            mod $name {
                #[test]
                fn direct() {
                    super::$name(crate::paths::Path::Direct)
                }
                #[test]
                fn sdk_exporter() {
                    super::$name(crate::paths::Path::Sdk)
                }
            }
        )*
    };
}
pub(crate) use on_both_paths;
