//! Transport: the exporters and clients that carry spans, logs and
//! metrics to the collector, over gRPC (tonic) or HTTP/protobuf (reqwest),
//! with the configured endpoint, headers, compression and timeout.

use std::collections::HashMap;
use std::io::Write as _;

use opentelemetry_otlp::{WithExportConfig, WithHttpConfig, WithTonicConfig};
use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_proto::tonic::collector::metrics::v1::metrics_service_client::MetricsServiceClient;
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::logs::LogExporter as _;
use opentelemetry_sdk::trace::SpanExporter as _;
use prost::Message as _;

use crate::config::{Compression, OtlpConfig, Protocol, Signal};

/// gRPC metadata from header pairs.
pub(crate) fn metadata(
    headers: &[(String, String)],
) -> Result<tonic::metadata::MetadataMap, String> {
    let mut map = tonic::metadata::MetadataMap::new();
    for (k, v) in headers {
        let key =
            tonic::metadata::MetadataKey::from_bytes(k.as_bytes()).map_err(|e| e.to_string())?;
        let value = v
            .parse()
            .map_err(|_| format!("invalid value for header {k}"))?;
        map.insert(key, value);
    }
    Ok(map)
}

pub(crate) struct Exporters {
    pub(crate) spans: opentelemetry_otlp::SpanExporter,
    pub(crate) logs: opentelemetry_otlp::LogExporter,
    pub(crate) metrics: MetricsTransport,
    /// Over HTTP, a client and address to ask why an export failed: the
    /// SDK's HTTP exporter reports only "network error".
    pub(crate) http_probe: Option<(reqwest::Client, String)>,
}

/// Why a request to `url` with `client` fails: the whole error chain
/// (`… invalid peer certificate: UnknownIssuer`), or `None` if it does not.
pub(crate) async fn why_http_fails(client: &reqwest::Client, url: &str) -> Option<String> {
    let error = client.head(url).send().await.err()?;
    Some(chain_text(&error))
}

/// An error and its sources, joined by `": "`: reqwest's own message
/// leaves out the cause (a refused connection, an untrusted certificate).
fn chain_text(error: &(dyn std::error::Error + 'static)) -> String {
    let links: Vec<String> = warden_core::error_chain(error)
        .map(|e| e.to_string())
        .collect();
    links.join(": ")
}

fn otlp_compression(c: Compression) -> Option<opentelemetry_otlp::Compression> {
    match c {
        Compression::Gzip => Some(opentelemetry_otlp::Compression::Gzip),
        Compression::None => None,
    }
}

/// A span or log exporter builder set up for gRPC.
fn over_grpc<B: WithExportConfig + WithTonicConfig>(
    builder: B,
    endpoint: String,
    config: &OtlpConfig,
    metadata: tonic::metadata::MetadataMap,
    tls: Option<tonic::transport::ClientTlsConfig>,
) -> B {
    let builder = builder
        .with_endpoint(endpoint)
        .with_timeout(config.timeout)
        .with_metadata(metadata);
    let builder = match tls {
        Some(tls) => builder.with_tls_config(tls),
        None => builder,
    };
    match otlp_compression(config.compression) {
        Some(c) => builder.with_compression(c),
        None => builder,
    }
}

/// The TLS configuration of `signal`'s gRPC channel: `None` for
/// `http://`.
fn grpc_tls(
    config: &OtlpConfig,
    signal: Signal,
) -> Result<Option<tonic::transport::ClientTlsConfig>, String> {
    if !config.endpoint_for(signal).starts_with("https://") {
        return Ok(None);
    }
    config
        .tls_for(signal)
        .tonic_config()
        .map(Some)
        .map_err(|e| e.to_string())
}

/// A span or log exporter builder set up for HTTP/protobuf.
fn over_http<B: WithExportConfig + WithHttpConfig>(
    builder: B,
    endpoint: String,
    config: &OtlpConfig,
    client: reqwest::Client,
) -> B {
    let headers: HashMap<String, String> = config.headers.iter().cloned().collect();
    let builder = builder
        .with_protocol(opentelemetry_otlp::Protocol::HttpBinary)
        .with_endpoint(endpoint)
        .with_timeout(config.timeout)
        .with_headers(headers)
        .with_http_client(client);
    match otlp_compression(config.compression) {
        Some(c) => builder.with_compression(c),
        None => builder,
    }
}

/// The HTTP client of one signal's HTTP/protobuf exports: TLS on rustls
/// with the ring provider, trusting the signal's CA file (else the
/// system's roots) and presenting its client certificate if one is set.
pub(crate) fn http_client(config: &OtlpConfig, signal: Signal) -> Result<reqwest::Client, String> {
    let builder = reqwest::Client::builder().timeout(config.timeout);
    let https = config.endpoint_for(signal).starts_with("https://");
    let files = config.tls_for(signal);
    // reqwest is built without a crypto provider of its own: it is always
    // given this configuration (ring), with the system's roots loaded only
    // when the endpoint is `https://` or TLS files are set.
    let tls = files
        .client_config(https || !files.is_empty())
        .map_err(|e| e.to_string())?;
    builder
        .tls_backend_preconfigured(tls)
        .build()
        .map_err(|e| e.to_string())
}

impl Exporters {
    pub(crate) fn build(config: &OtlpConfig, resource: &Resource) -> Result<Self, String> {
        use opentelemetry_otlp::{LogExporter, SpanExporter};
        let err = |e: opentelemetry_otlp::ExporterBuildError| e.to_string();
        let traces = config.endpoint_for(Signal::Traces);
        let logs = config.endpoint_for(Signal::Logs);
        let mut http_probe = None;
        let (mut spans, mut logs, client) = match config.protocol {
            Protocol::Grpc => {
                let md = metadata(&config.headers)?;
                let spans_tls = grpc_tls(config, Signal::Traces)?;
                let logs_tls = grpc_tls(config, Signal::Logs)?;
                let spans = over_grpc(
                    SpanExporter::builder().with_tonic(),
                    traces,
                    config,
                    md.clone(),
                    spans_tls,
                );
                let logs = over_grpc(
                    LogExporter::builder().with_tonic(),
                    logs,
                    config,
                    md,
                    logs_tls,
                );
                (
                    spans.build().map_err(err)?,
                    logs.build().map_err(err)?,
                    None,
                )
            }
            Protocol::HttpProtobuf => {
                // One client per signal: each may have TLS files of its own.
                let traces_client = http_client(config, Signal::Traces)?;
                http_probe = Some((traces_client.clone(), traces.clone()));
                let spans = over_http(
                    SpanExporter::builder().with_http(),
                    traces,
                    config,
                    traces_client,
                );
                let logs = over_http(
                    LogExporter::builder().with_http(),
                    logs,
                    config,
                    http_client(config, Signal::Logs)?,
                );
                (
                    spans.build().map_err(err)?,
                    logs.build().map_err(err)?,
                    None,
                )
            }
        };
        spans.set_resource(resource);
        logs.set_resource(resource);
        Ok(Exporters {
            spans,
            logs,
            metrics: MetricsTransport::new(config, client)?,
            http_probe,
        })
    }
}

/// Sends metric requests over the configured protocol.
pub(crate) enum MetricsTransport {
    Grpc {
        client: MetricsServiceClient<tonic::transport::Channel>,
        headers: tonic::metadata::MetadataMap,
    },
    Http {
        client: reqwest::Client,
        url: String,
        headers: reqwest::header::HeaderMap,
        gzip: bool,
    },
}

impl MetricsTransport {
    /// Must run inside the export thread's runtime (the gRPC channel
    /// connects lazily on it). Over HTTP, `client` is the one the span and
    /// log exporters use.
    pub(crate) fn new(
        config: &OtlpConfig,
        client: Option<reqwest::Client>,
    ) -> Result<Self, String> {
        let url = config.endpoint_for(Signal::Metrics);
        match config.protocol {
            Protocol::Grpc => {
                let tls = grpc_tls(config, Signal::Metrics)?;
                let mut endpoint = tonic::transport::Endpoint::from_shared(url)
                    .map_err(|e| e.to_string())?
                    .timeout(config.timeout)
                    .connect_timeout(config.timeout);
                if let Some(tls) = tls {
                    endpoint = endpoint.tls_config(tls).map_err(|e| e.to_string())?;
                }
                let channel = endpoint.connect_lazy();
                let mut client = MetricsServiceClient::new(channel);
                if config.compression == Compression::Gzip {
                    client = client.send_compressed(tonic::codec::CompressionEncoding::Gzip);
                }
                Ok(MetricsTransport::Grpc {
                    client,
                    headers: metadata(&config.headers)?,
                })
            }
            Protocol::HttpProtobuf => {
                let mut headers = reqwest::header::HeaderMap::new();
                for (k, v) in &config.headers {
                    let name = reqwest::header::HeaderName::from_bytes(k.as_bytes())
                        .map_err(|e| e.to_string())?;
                    let value =
                        reqwest::header::HeaderValue::from_str(v).map_err(|e| e.to_string())?;
                    headers.insert(name, value);
                }
                let client = match client {
                    Some(client) => client,
                    None => http_client(config, Signal::Metrics)?,
                };
                Ok(MetricsTransport::Http {
                    client,
                    url,
                    headers,
                    gzip: config.compression == Compression::Gzip,
                })
            }
        }
    }

    pub(crate) async fn send(
        &mut self,
        request: ExportMetricsServiceRequest,
    ) -> Result<(), String> {
        match self {
            MetricsTransport::Grpc { client, headers } => {
                let mut request = tonic::Request::new(request);
                *request.metadata_mut() = headers.clone();
                client
                    .export(request)
                    .await
                    .map(|_| ())
                    .map_err(|s| s.to_string())
            }
            MetricsTransport::Http {
                client,
                url,
                headers,
                gzip,
            } => {
                let mut body = request.encode_to_vec();
                let mut builder = client
                    .post(url.as_str())
                    .headers(headers.clone())
                    .header("content-type", "application/x-protobuf");
                if *gzip {
                    let mut encoder =
                        flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
                    encoder.write_all(&body).map_err(|e| e.to_string())?;
                    body = encoder.finish().map_err(|e| e.to_string())?;
                    builder = builder.header("content-encoding", "gzip");
                }
                let response = builder
                    .body(body)
                    .send()
                    .await
                    .map_err(|e| chain_text(&e))?;
                if response.status().is_success() {
                    Ok(())
                } else {
                    Err(format!("collector answered {}", response.status()))
                }
            }
        }
    }
}
