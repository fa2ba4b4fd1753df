//! Transport: what carries encoded OTLP requests to the collector, over
//! gRPC (tonic) or HTTP/protobuf (reqwest), with the configured endpoint,
//! headers, compression, TLS and timeout.

use std::io::Write as _;

use bytes::BufMut as _;
use prost::Message as _;
use tonic::codec::{Codec, DecodeBuf, Decoder, EncodeBuf, Encoder};

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

/// An error and its sources, joined by `": "`: reqwest's own message
/// leaves out the cause (a refused connection, an untrusted certificate).
fn chain_text(error: &(dyn std::error::Error + 'static)) -> String {
    let links: Vec<String> = warden_core::error_chain(error)
        .map(|e| e.to_string())
        .collect();
    links.join(": ")
}

/// The TLS configuration of `signal`'s gRPC channel: `None` for
/// `http://`.
pub(crate) fn grpc_tls(
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

/// The answer to an export: how many of the request's items the collector
/// refused (OTLP's partial success), and why.
#[derive(Clone, PartialEq, prost::Message)]
struct ExportResponse {
    #[prost(message, optional, tag = "1")]
    partial_success: Option<PartialSuccess>,
}

/// `Export{Trace,Logs,Metrics}PartialSuccess`: the three share this layout.
#[derive(Clone, PartialEq, prost::Message)]
struct PartialSuccess {
    #[prost(int64, tag = "1")]
    rejected: i64,
    #[prost(string, tag = "2")]
    error_message: String,
}

/// What the collector accepted of one request.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Accepted {
    /// Items it refused (partial success), counted as failed.
    pub(crate) rejected: u64,
    /// Its reason, when it refused some.
    pub(crate) message: String,
}

impl From<ExportResponse> for Accepted {
    fn from(response: ExportResponse) -> Self {
        let partial = response.partial_success.unwrap_or_default();
        Accepted {
            rejected: u64::try_from(partial.rejected).unwrap_or(0),
            message: partial.error_message,
        }
    }
}

/// A gRPC codec for a request already encoded: the bytes go out as they
/// are, and the answer is read as an [`ExportResponse`].
#[derive(Debug, Clone, Copy, Default)]
struct Encoded;

impl Codec for Encoded {
    type Encode = Vec<u8>;
    type Decode = ExportResponse;
    type Encoder = Self;
    type Decoder = Self;

    fn encoder(&mut self) -> Self::Encoder {
        *self
    }

    fn decoder(&mut self) -> Self::Decoder {
        *self
    }
}

impl Encoder for Encoded {
    type Item = Vec<u8>;
    type Error = tonic::Status;

    fn encode(&mut self, item: Vec<u8>, dst: &mut EncodeBuf<'_>) -> Result<(), tonic::Status> {
        dst.put_slice(&item);
        Ok(())
    }
}

impl Decoder for Encoded {
    type Item = ExportResponse;
    type Error = tonic::Status;

    fn decode(&mut self, src: &mut DecodeBuf<'_>) -> Result<Option<ExportResponse>, tonic::Status> {
        ExportResponse::decode(src)
            .map(Some)
            .map_err(|e| tonic::Status::internal(e.to_string()))
    }
}

/// Sends one signal's encoded requests: to its endpoint, with the
/// configured headers, compression, TLS and timeout. Clones share the
/// connection.
#[derive(Clone)]
pub(crate) enum Sender {
    Grpc {
        grpc: tonic::client::Grpc<tonic::transport::Channel>,
        path: http::uri::PathAndQuery,
        headers: tonic::metadata::MetadataMap,
    },
    Http {
        client: reqwest::Client,
        url: String,
        headers: reqwest::header::HeaderMap,
        gzip: bool,
    },
}

fn grpc_path(signal: Signal) -> http::uri::PathAndQuery {
    http::uri::PathAndQuery::from_static(match signal {
        Signal::Traces => "/opentelemetry.proto.collector.trace.v1.TraceService/Export",
        Signal::Logs => "/opentelemetry.proto.collector.logs.v1.LogsService/Export",
        Signal::Metrics => "/opentelemetry.proto.collector.metrics.v1.MetricsService/Export",
    })
}

/// The configured headers for HTTP.
pub(crate) fn http_headers(config: &OtlpConfig) -> Result<reqwest::header::HeaderMap, String> {
    let mut headers = reqwest::header::HeaderMap::new();
    for (k, v) in &config.headers {
        let name =
            reqwest::header::HeaderName::from_bytes(k.as_bytes()).map_err(|e| e.to_string())?;
        let value = reqwest::header::HeaderValue::from_str(v).map_err(|e| e.to_string())?;
        headers.insert(name, value);
    }
    Ok(headers)
}

impl Sender {
    /// Must run inside the export thread's runtime (the gRPC channel
    /// connects lazily on it).
    pub(crate) fn new(config: &OtlpConfig, signal: Signal) -> Result<Self, String> {
        let url = config.endpoint_for(signal);
        match config.protocol {
            Protocol::Grpc => {
                let tls = grpc_tls(config, signal)?;
                let mut endpoint = tonic::transport::Endpoint::from_shared(url)
                    .map_err(|e| e.to_string())?
                    .timeout(config.timeout)
                    .connect_timeout(config.timeout);
                if let Some(tls) = tls {
                    endpoint = endpoint.tls_config(tls).map_err(|e| e.to_string())?;
                }
                let mut grpc = tonic::client::Grpc::new(endpoint.connect_lazy());
                if config.compression == Compression::Gzip {
                    grpc = grpc.send_compressed(tonic::codec::CompressionEncoding::Gzip);
                }
                Ok(Sender::Grpc {
                    grpc,
                    path: grpc_path(signal),
                    headers: metadata(&config.headers)?,
                })
            }
            Protocol::HttpProtobuf => Ok(Sender::Http {
                client: http_client(config, signal)?,
                url,
                headers: http_headers(config)?,
                gzip: config.compression == Compression::Gzip,
            }),
        }
    }

    /// Sends one encoded request.
    pub(crate) async fn send(&mut self, body: Vec<u8>) -> Result<Accepted, String> {
        match self {
            Sender::Grpc {
                grpc,
                path,
                headers,
            } => {
                grpc.ready().await.map_err(|e| chain_text(&e))?;
                let mut request = tonic::Request::new(body);
                *request.metadata_mut() = headers.clone();
                grpc.unary(request, path.clone(), Encoded)
                    .await
                    .map(|response| response.into_inner().into())
                    .map_err(|status| status_text(&status))
            }
            Sender::Http {
                client,
                url,
                headers,
                gzip,
            } => {
                let mut body = body;
                let mut builder = client
                    .post(url.as_str())
                    .headers(headers.clone())
                    .header("content-type", "application/x-protobuf");
                if *gzip {
                    let mut encoder = flate2::write::GzEncoder::new(
                        Vec::with_capacity(body.len() / 4),
                        flate2::Compression::default(),
                    );
                    encoder.write_all(&body).map_err(|e| e.to_string())?;
                    body = encoder.finish().map_err(|e| e.to_string())?;
                    builder = builder.header("content-encoding", "gzip");
                }
                let response = builder
                    .body(body)
                    .send()
                    .await
                    .map_err(|e| chain_text(&e))?;
                let status = response.status();
                if !status.is_success() {
                    return Err(format!("collector answered {status}"));
                }
                let answer = response.bytes().await.map_err(|e| chain_text(&e))?;
                Ok(ExportResponse::decode(answer)
                    .map(Accepted::from)
                    .unwrap_or_default())
            }
        }
    }
}

/// A gRPC status with the transport error behind it (a refused
/// connection, an untrusted certificate), which its message leaves out.
fn status_text(status: &tonic::Status) -> String {
    use std::error::Error as _;
    let mut text = status.to_string();
    if let Some(source) = status.source() {
        let chain = chain_text(source);
        if !text.contains(&chain) {
            text.push_str(": ");
            text.push_str(&chain);
        }
    }
    text
}
