//! Where and how to export: the standard `OTEL_*` environment, overridden
//! by the builder.

use std::collections::BTreeMap;
use std::time::Duration;

use crate::OtlpError;
use crate::tls::{TlsFile, TlsFiles};

/// The OTLP transport.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Protocol {
    /// OTLP over gRPC (port 4317 by default).
    #[default]
    Grpc,
    /// OTLP over HTTP with protobuf bodies (port 4318 by default).
    HttpProtobuf,
}

impl Protocol {
    /// Parses `grpc` or `http/protobuf`, as `OTEL_EXPORTER_OTLP_PROTOCOL`
    /// spells them. `http/json` is refused: warden sends protobuf only.
    ///
    /// ```
    /// use warden_otlp::Protocol;
    /// assert_eq!(Protocol::parse("http/protobuf")?, Protocol::HttpProtobuf);
    /// assert!(Protocol::parse("http/json").is_err());
    /// # Ok::<(), warden_otlp::OtlpError>(())
    /// ```
    pub fn parse(text: &str) -> Result<Self, OtlpError> {
        match text.trim() {
            "grpc" => Ok(Protocol::Grpc),
            "http/protobuf" | "http" => Ok(Protocol::HttpProtobuf),
            other => Err(OtlpError::UnsupportedProtocol(other.to_owned())),
        }
    }

    fn default_endpoint(self) -> &'static str {
        match self {
            Protocol::Grpc => "http://localhost:4317",
            Protocol::HttpProtobuf => "http://localhost:4318",
        }
    }
}

/// Request-body compression.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Compression {
    /// No compression.
    #[default]
    None,
    /// gzip.
    Gzip,
}

impl Compression {
    /// Parses `gzip` or `none`, as `OTEL_EXPORTER_OTLP_COMPRESSION` spells them.
    ///
    /// ```
    /// use warden_otlp::Compression;
    /// assert_eq!(Compression::parse("gzip")?, Compression::Gzip);
    /// assert!(Compression::parse("zstd").is_err());
    /// # Ok::<(), warden_otlp::OtlpError>(())
    /// ```
    pub fn parse(text: &str) -> Result<Self, OtlpError> {
        match text.trim() {
            "gzip" => Ok(Compression::Gzip),
            "none" | "" => Ok(Compression::None),
            other => Err(OtlpError::UnsupportedCompression(other.to_owned())),
        }
    }
}

/// One of the three OTLP signals.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Signal {
    /// Spans.
    Traces,
    /// Log records (events and audit records).
    Logs,
    /// Metrics.
    Metrics,
}

impl Signal {
    fn env_suffix(self) -> &'static str {
        match self {
            Signal::Traces => "TRACES",
            Signal::Logs => "LOGS",
            Signal::Metrics => "METRICS",
        }
    }

    fn http_path(self) -> &'static str {
        match self {
            Signal::Traces => "/v1/traces",
            Signal::Logs => "/v1/logs",
            Signal::Metrics => "/v1/metrics",
        }
    }
}

/// The resolved settings of an exporter. Built by
/// [`OtlpBuilder`](crate::OtlpBuilder), which reads the environment first.
///
/// ```
/// let config = warden_otlp::Otlp::builder()
///     .ignore_env()
///     .endpoint("http://collector:4317")
///     .config()?;
/// assert_eq!(config.endpoint.as_deref(), Some("http://collector:4317"));
/// assert_eq!(config.protocol, warden_otlp::Protocol::Grpc);
/// # Ok::<(), warden_otlp::OtlpError>(())
/// ```
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct OtlpConfig {
    /// The base endpoint (`OTEL_EXPORTER_OTLP_ENDPOINT`); `None` means the
    /// protocol's localhost default.
    pub endpoint: Option<String>,
    /// Per-signal endpoints (`OTEL_EXPORTER_OTLP_{TRACES,LOGS,METRICS}_ENDPOINT`),
    /// used as they are, HTTP paths included.
    pub signal_endpoints: BTreeMap<&'static str, String>,
    /// `OTEL_EXPORTER_OTLP_PROTOCOL`.
    pub protocol: Protocol,
    /// `OTEL_EXPORTER_OTLP_HEADERS`: sent with every request.
    pub headers: Vec<(String, String)>,
    /// `OTEL_EXPORTER_OTLP_COMPRESSION`.
    pub compression: Compression,
    /// `OTEL_EXPORTER_OTLP_TIMEOUT`: the most one export may take.
    pub timeout: Duration,
    /// `OTEL_SERVICE_NAME` (else `service.name` from
    /// `OTEL_RESOURCE_ATTRIBUTES`, else the SDK's `unknown_service`).
    pub service_name: Option<String>,
    /// Extra resource attributes, added to those of `OTEL_RESOURCE_ATTRIBUTES`.
    pub resource_attributes: Vec<(String, String)>,
    /// Spans held for export at most (`OTEL_BSP_MAX_QUEUE_SIZE`); more are dropped and counted.
    pub span_queue: usize,
    /// Log records held for export at most (`OTEL_BLRP_MAX_QUEUE_SIZE`).
    pub log_queue: usize,
    /// Audit records held for export at most.
    pub audit_queue: usize,
    /// Records per export request (`OTEL_BSP_MAX_EXPORT_BATCH_SIZE`).
    pub max_batch: usize,
    /// How often queued records are sent when fewer than a batch wait
    /// (`OTEL_BSP_SCHEDULE_DELAY`).
    pub delay: Duration,
    /// How often metrics are sent (`OTEL_METRIC_EXPORT_INTERVAL`).
    pub metrics_interval: Duration,
    /// Export requests of one signal in flight at once
    /// (`OTEL_BSP_MAX_CONCURRENT_EXPORTS`, default 4): while the collector
    /// answers one batch the next ones are already on their way, so the
    /// rate delivered is not bounded by one batch per round trip.
    pub max_concurrent_exports: usize,
    /// `OTEL_EXPORTER_OTLP_INSECURE`: for a gRPC endpoint written without a
    /// scheme (`collector:4317`), `true` sends in clear; otherwise TLS.
    pub insecure: Option<bool>,
    /// The CA to trust and the client certificate to present over TLS
    /// (`OTEL_EXPORTER_OTLP_CERTIFICATE`, `…_CLIENT_CERTIFICATE`,
    /// `…_CLIENT_KEY`).
    pub tls: TlsFiles,
    /// Per-signal TLS files (`OTEL_EXPORTER_OTLP_TRACES_CERTIFICATE`, …),
    /// each replacing the general one of the same role for that signal.
    pub signal_tls: BTreeMap<&'static str, TlsFiles>,
    /// Per-signal `…_INSECURE` (`OTEL_EXPORTER_OTLP_TRACES_INSECURE`, …).
    pub signal_insecure: BTreeMap<&'static str, bool>,
}

impl Default for OtlpConfig {
    /// The specification's defaults, ignoring the environment.
    fn default() -> Self {
        OtlpConfig {
            endpoint: None,
            signal_endpoints: BTreeMap::new(),
            protocol: Protocol::Grpc,
            headers: Vec::new(),
            compression: Compression::None,
            timeout: Duration::from_secs(10),
            service_name: None,
            resource_attributes: Vec::new(),
            span_queue: 16_384,
            log_queue: 16_384,
            audit_queue: 4_096,
            max_batch: 512,
            delay: Duration::from_millis(200),
            metrics_interval: Duration::from_secs(60),
            max_concurrent_exports: 4,
            insecure: None,
            tls: TlsFiles::default(),
            signal_tls: BTreeMap::new(),
            signal_insecure: BTreeMap::new(),
        }
    }
}

/// `OTEL_EXPORTER_OTLP_{signal}_{role}`, as a static name (for errors).
fn signal_variable(signal: &str, role: &str) -> &'static str {
    const NAMES: [&str; 12] = [
        "OTEL_EXPORTER_OTLP_TRACES_INSECURE",
        "OTEL_EXPORTER_OTLP_TRACES_CERTIFICATE",
        "OTEL_EXPORTER_OTLP_TRACES_CLIENT_CERTIFICATE",
        "OTEL_EXPORTER_OTLP_TRACES_CLIENT_KEY",
        "OTEL_EXPORTER_OTLP_LOGS_INSECURE",
        "OTEL_EXPORTER_OTLP_LOGS_CERTIFICATE",
        "OTEL_EXPORTER_OTLP_LOGS_CLIENT_CERTIFICATE",
        "OTEL_EXPORTER_OTLP_LOGS_CLIENT_KEY",
        "OTEL_EXPORTER_OTLP_METRICS_INSECURE",
        "OTEL_EXPORTER_OTLP_METRICS_CERTIFICATE",
        "OTEL_EXPORTER_OTLP_METRICS_CLIENT_CERTIFICATE",
        "OTEL_EXPORTER_OTLP_METRICS_CLIENT_KEY",
    ];
    let wanted = format!("OTEL_EXPORTER_OTLP_{signal}_{role}");
    NAMES
        .iter()
        .find(|n| **n == wanted)
        .copied()
        .unwrap_or("OTEL_EXPORTER_OTLP_*")
}

/// Where the variables come from: the process environment, or a lookup
/// of the caller's ([`OtlpConfig::from_vars`]).
struct Vars<F>(F);

impl<F: Fn(&str) -> Option<String>> Vars<F> {
    /// One variable; empty counts as unset.
    fn var(&self, name: &str) -> Option<String> {
        (self.0)(name).filter(|v| !v.trim().is_empty())
    }

    /// A `true`/`false` variable.
    fn flag(&self, name: &'static str) -> Result<Option<bool>, OtlpError> {
        self.var(name)
            .map(|value| match value.trim().to_ascii_lowercase().as_str() {
                "true" => Ok(true),
                "false" => Ok(false),
                _ => Err(OtlpError::InvalidFlag {
                    variable: name,
                    value,
                }),
            })
            .transpose()
    }

    /// A whole number.
    fn number(&self, name: &'static str) -> Result<Option<u64>, OtlpError> {
        self.var(name)
            .map(|v| {
                v.trim()
                    .parse::<u64>()
                    .map_err(|_| OtlpError::InvalidNumber {
                        variable: name,
                        value: v,
                    })
            })
            .transpose()
    }
}

/// Reads one environment variable; empty counts as unset.
fn var(name: &str) -> Option<String> {
    Vars(|n: &str| std::env::var(n).ok()).var(name)
}

impl OtlpConfig {
    /// The defaults overridden by every standard variable that is set.
    pub fn from_env() -> Result<Self, OtlpError> {
        Self::from_vars(|name| std::env::var(name).ok())
    }

    /// The defaults overridden by the standard variables `lookup` gives
    /// (`None`, or an empty value, for one that is not set): the
    /// environment of [`from_env`](Self::from_env), read from elsewhere (a
    /// configuration file's section, a test's map).
    ///
    /// ```
    /// use std::collections::HashMap;
    /// use warden_otlp::{OtlpConfig, OtlpError};
    ///
    /// let vars = HashMap::from([
    ///     ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://collector:4317"),
    ///     ("OTEL_EXPORTER_OTLP_TIMEOUT", "2500"),
    /// ]);
    /// let config = OtlpConfig::from_vars(|name| vars.get(name).map(|v| v.to_string()))?;
    /// assert_eq!(config.endpoint.as_deref(), Some("http://collector:4317"));
    /// assert_eq!(config.timeout, std::time::Duration::from_millis(2500));
    ///
    /// let bad = OtlpConfig::from_vars(|name| (name == "OTEL_EXPORTER_OTLP_TIMEOUT").then(|| "soon".into()));
    /// assert!(matches!(bad, Err(OtlpError::InvalidNumber { variable: "OTEL_EXPORTER_OTLP_TIMEOUT", .. })));
    /// # Ok::<(), OtlpError>(())
    /// ```
    pub fn from_vars(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, OtlpError> {
        let vars = Vars(lookup);
        let var = |name: &str| vars.var(name);
        let flag = |name| vars.flag(name);
        let number = |name| vars.number(name);
        let mut config = OtlpConfig::default();
        if let Some(protocol) = var("OTEL_EXPORTER_OTLP_PROTOCOL") {
            config.protocol = Protocol::parse(&protocol)?;
        }
        config.endpoint = var("OTEL_EXPORTER_OTLP_ENDPOINT");
        for signal in [Signal::Traces, Signal::Logs, Signal::Metrics] {
            let name = format!("OTEL_EXPORTER_OTLP_{}_ENDPOINT", signal.env_suffix());
            if let Some(endpoint) = var(&name) {
                config
                    .signal_endpoints
                    .insert(signal.env_suffix(), endpoint);
            }
        }
        if let Some(headers) = var("OTEL_EXPORTER_OTLP_HEADERS") {
            config.headers = parse_pairs(&headers, "OTEL_EXPORTER_OTLP_HEADERS")?;
        }
        if let Some(compression) = var("OTEL_EXPORTER_OTLP_COMPRESSION") {
            config.compression = Compression::parse(&compression)?;
        }
        if let Some(ms) = number("OTEL_EXPORTER_OTLP_TIMEOUT")? {
            config.timeout = Duration::from_millis(ms);
        }
        config.service_name = var("OTEL_SERVICE_NAME");
        config.insecure = flag("OTEL_EXPORTER_OTLP_INSECURE")?;
        for signal in [Signal::Traces, Signal::Logs, Signal::Metrics] {
            let suffix = signal.env_suffix();
            if let Some(insecure) = flag(signal_variable(suffix, "INSECURE"))? {
                config.signal_insecure.insert(suffix, insecure);
            }
            let mut files = TlsFiles::default();
            for (role, slot) in [
                ("CERTIFICATE", &mut files.certificate),
                ("CLIENT_CERTIFICATE", &mut files.client_certificate),
                ("CLIENT_KEY", &mut files.client_key),
            ] {
                let name = signal_variable(suffix, role);
                if let Some(path) = var(name) {
                    *slot = Some(TlsFile::new(path, name));
                }
            }
            if !files.is_empty() {
                config.signal_tls.insert(suffix, files);
            }
        }
        for (name, slot) in [
            (
                "OTEL_EXPORTER_OTLP_CERTIFICATE",
                &mut config.tls.certificate,
            ),
            (
                "OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE",
                &mut config.tls.client_certificate,
            ),
            ("OTEL_EXPORTER_OTLP_CLIENT_KEY", &mut config.tls.client_key),
        ] {
            if let Some(path) = var(name) {
                *slot = Some(TlsFile::new(path, name));
            }
        }
        if let Some(n) = number("OTEL_BSP_MAX_QUEUE_SIZE")? {
            config.span_queue = n as usize;
        }
        if let Some(n) = number("OTEL_BLRP_MAX_QUEUE_SIZE")? {
            config.log_queue = n as usize;
        }
        if let Some(n) = number("OTEL_BSP_MAX_EXPORT_BATCH_SIZE")? {
            config.max_batch = n as usize;
        }
        if let Some(n) = number("OTEL_BSP_MAX_CONCURRENT_EXPORTS")? {
            config.max_concurrent_exports = n as usize;
        }
        if let Some(ms) = number("OTEL_BSP_SCHEDULE_DELAY")? {
            config.delay = Duration::from_millis(ms);
        }
        if let Some(ms) = number("OTEL_METRIC_EXPORT_INTERVAL")? {
            config.metrics_interval = Duration::from_millis(ms);
        }
        Ok(config)
    }

    /// Whether the environment names a collector: `OTEL_EXPORTER_OTLP_ENDPOINT`
    /// or a per-signal endpoint is set, and `OTEL_SDK_DISABLED` is not `true`.
    /// [`warden::init`](https://docs.rs/warden) exports only then.
    pub fn env_configured() -> bool {
        let disabled = var("OTEL_SDK_DISABLED").is_some_and(|v| v.trim() == "true");
        let named = ["", "TRACES_", "LOGS_", "METRICS_"]
            .iter()
            .any(|s| var(&format!("OTEL_EXPORTER_OTLP_{s}ENDPOINT")).is_some());
        named && !disabled
    }

    /// The full address `signal` is sent to: a per-signal endpoint as it
    /// is; otherwise the base endpoint, plus `/v1/<signal>` over HTTP.
    pub fn endpoint_for(&self, signal: Signal) -> String {
        if let Some(endpoint) = self.signal_endpoints.get(signal.env_suffix()) {
            if self.protocol == Protocol::Grpc && !endpoint.contains("://") {
                let insecure = self
                    .signal_insecure
                    .get(signal.env_suffix())
                    .copied()
                    .or(self.insecure);
                let scheme = if insecure == Some(true) {
                    "http"
                } else {
                    "https"
                };
                return format!("{scheme}://{endpoint}");
            }
            return endpoint.clone();
        }
        let base = self
            .endpoint
            .as_deref()
            .unwrap_or(self.protocol.default_endpoint());
        match self.protocol {
            // Without a scheme, `…_INSECURE` decides: TLS unless it is true.
            Protocol::Grpc if !base.contains("://") => {
                let scheme = if self.insecure == Some(true) {
                    "http"
                } else {
                    "https"
                };
                format!("{scheme}://{base}")
            }
            Protocol::Grpc => base.to_owned(),
            Protocol::HttpProtobuf => {
                format!("{}{}", base.trim_end_matches('/'), signal.http_path())
            }
        }
    }

    /// The TLS files `signal` uses: its own, else the general ones, role by
    /// role.
    pub fn tls_for(&self, signal: Signal) -> TlsFiles {
        let mut files = self.tls.clone();
        if let Some(own) = self.signal_tls.get(signal.env_suffix()) {
            for (mine, general) in [
                (&own.certificate, &mut files.certificate),
                (&own.client_certificate, &mut files.client_certificate),
                (&own.client_key, &mut files.client_key),
            ] {
                if mine.is_some() {
                    general.clone_from(mine);
                }
            }
        }
        files
    }

    /// Checks what the builder cannot type-check: endpoints are `http://`
    /// or `https://` URLs with a host, TLS files exist and parse, sizes are
    /// positive.
    pub fn validate(&self) -> Result<(), OtlpError> {
        for signal in [Signal::Traces, Signal::Logs, Signal::Metrics] {
            let endpoint = self.endpoint_for(signal);
            let rest = endpoint
                .strip_prefix("http://")
                .or_else(|| endpoint.strip_prefix("https://"));
            if rest.is_none_or(|r| r.is_empty() || r.starts_with('/')) {
                return Err(OtlpError::InvalidEndpoint(endpoint));
            }
        }
        for (name, value) in [
            ("span queue", self.span_queue),
            ("log queue", self.log_queue),
            ("audit queue", self.audit_queue),
            ("batch size", self.max_batch),
            ("concurrent exports", self.max_concurrent_exports),
        ] {
            if value == 0 {
                return Err(OtlpError::InvalidSize(name));
            }
        }
        for signal in [Signal::Traces, Signal::Logs, Signal::Metrics] {
            let files = self.tls_for(signal);
            if !files.is_empty() {
                files.check()?;
            }
        }
        for (name, value) in &self.headers {
            let valid_name = !name.is_empty()
                && name
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b));
            if !valid_name || value.bytes().any(|b| b < 0x20 || b == 0x7f) {
                return Err(OtlpError::InvalidHeader(name.clone()));
            }
        }
        Ok(())
    }
}

/// Parses `k1=v1,k2=v2` with percent-encoded values, as the specification
/// writes `OTEL_EXPORTER_OTLP_HEADERS` and `OTEL_RESOURCE_ATTRIBUTES`.
pub(crate) fn parse_pairs(
    text: &str,
    variable: &'static str,
) -> Result<Vec<(String, String)>, OtlpError> {
    text.split(',')
        .filter(|p| !p.trim().is_empty())
        .map(|pair| {
            let (k, v) = pair.split_once('=').ok_or_else(|| OtlpError::InvalidPair {
                variable,
                pair: pair.to_owned(),
            })?;
            Ok((
                percent_decode(k.trim()).to_lowercase(),
                percent_decode(v.trim()),
            ))
        })
        .collect()
}

fn percent_decode(text: &str) -> String {
    percent_encoding::percent_decode_str(text)
        .decode_utf8_lossy()
        .into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn http_endpoints_get_signal_paths_and_grpc_ones_do_not() {
        let mut config = OtlpConfig {
            endpoint: Some("http://collector:4318/".into()),
            protocol: Protocol::HttpProtobuf,
            ..OtlpConfig::default()
        };
        assert_eq!(
            config.endpoint_for(Signal::Logs),
            "http://collector:4318/v1/logs"
        );
        config
            .signal_endpoints
            .insert("TRACES", "http://other/x".into());
        assert_eq!(config.endpoint_for(Signal::Traces), "http://other/x");
        config.protocol = Protocol::Grpc;
        config.endpoint = None;
        assert_eq!(
            config.endpoint_for(Signal::Metrics),
            "http://localhost:4317"
        );
    }

    #[test]
    fn pairs_are_percent_decoded_and_bad_ones_named() {
        let pairs = parse_pairs("api-key=a%20b, X-Team=core", "V").unwrap();
        assert_eq!(
            pairs,
            [
                ("api-key".into(), "a b".into()),
                ("x-team".into(), "core".into())
            ]
        );
        assert!(matches!(
            parse_pairs("novalue", "V"),
            Err(OtlpError::InvalidPair { .. })
        ));
        assert_eq!(percent_decode("100%"), "100%");
        assert_eq!(percent_decode("%4"), "%4");
    }

    #[test]
    fn bad_settings_are_refused_with_their_names() {
        assert!(matches!(
            Protocol::parse("http/json"),
            Err(OtlpError::UnsupportedProtocol(_))
        ));
        assert!(matches!(
            Compression::parse("zstd"),
            Err(OtlpError::UnsupportedCompression(_))
        ));
        // Over HTTP an endpoint needs its scheme; over gRPC, without one,
        // `insecure` decides.
        let bad = OtlpConfig {
            endpoint: Some("localhost:4318".into()),
            protocol: Protocol::HttpProtobuf,
            ..OtlpConfig::default()
        };
        assert!(matches!(bad.validate(), Err(OtlpError::InvalidEndpoint(_))));
        let bare = OtlpConfig {
            endpoint: Some("localhost:4317".into()),
            ..OtlpConfig::default()
        };
        assert_eq!(bare.endpoint_for(Signal::Traces), "https://localhost:4317");
        let tls = OtlpConfig {
            endpoint: Some("https://collector.example:4317".into()),
            protocol: Protocol::Grpc,
            ..OtlpConfig::default()
        };
        assert!(tls.validate().is_ok(), "https over gRPC is TLS");
        let bad = OtlpConfig {
            span_queue: 0,
            ..OtlpConfig::default()
        };
        assert!(matches!(bad.validate(), Err(OtlpError::InvalidSize(_))));
        assert!(OtlpConfig::default().validate().is_ok());
    }
}
