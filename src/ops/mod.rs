//! The operations surface: what a running service shows its scraper, its
//! orchestrator and the person on call.
//!
//! - `/metrics`: every operation's latency (summary quantiles and a
//!   classic histogram), calls, errors by code, in-flight; the alert rules'
//!   states; the OTLP exporter's and the audit router's own counters; the
//!   process' basics — Prometheus' text format, or OpenMetrics when the
//!   scraper asks for it (`Accept: application/openmetrics-text`).
//! - `/healthz`: alive (always 200 while the process answers).
//! - `/readyz`: ready to take traffic — each check named in a JSON body,
//!   503 when one fails: the audit store is written to, the exporter has
//!   not been failing for longer than a grace period, no critical alert
//!   fires.
//! - `/alerts`: the rules and their state, as JSON.
//!
//! [`Ops`] answers them; mount [`Ops::service`] in any `tower` HTTP stack
//! (axum's `nest_service`, hyper, tonic), or run [`Ops::serve`]'s small
//! server on a thread of its own (`Warden::builder().ops_addr(..)`).
//!
//! ```
//! use warden::ops::Ops;
//!
//! let ops = Ops::builder().metrics(warden::metrics::MetricsLayer::new()).build();
//! let server = ops.serve("127.0.0.1:0".parse().unwrap())?;
//! println!("metrics at http://{}/metrics", server.addr());
//! # Ok::<(), std::io::Error>(())
//! ```

/// Where [`WardenBuilder::ops`](crate::WardenBuilder::ops) serves the
/// endpoints: loopback, port 9464 (the OpenTelemetry Prometheus exporter's
/// port). Loopback by default because `/metrics` names the service's
/// operations and `PUT /filter` changes what it logs.
pub const DEFAULT_ADDR: std::net::SocketAddr =
    std::net::SocketAddr::new(std::net::IpAddr::V4(std::net::Ipv4Addr::LOCALHOST), 9464);

#[cfg(feature = "audit")]
mod audit;
mod filter;
mod flood;
#[cfg(feature = "json")]
mod json;
#[cfg(feature = "otlp")]
mod otlp;
#[cfg(feature = "pii")]
mod pii;
mod process;
mod readiness;
mod request_lines;
mod server;
mod service;
mod source;

use std::sync::{Arc, RwLock};
use std::time::Duration;

#[cfg(feature = "audit")]
use warden_audit::AuditLayer;
use warden_metrics::{AlertState, AlertsView, ExpositionFormat, MetricsLayer, PrometheusEncoder};
#[cfg(feature = "otlp")]
use warden_otlp::Otlp;
#[cfg(feature = "pii")]
use warden_pii::PiiLayer;

pub use filter::TOKEN_ENV;
pub use readiness::{Check, Readiness};
pub use server::OpsServer;
pub use service::{OpsFuture, OpsService};
pub use source::OpsSource;

/// What the endpoints read: the stack's parts, any of them optional.
#[derive(Clone, Debug)]
pub struct Ops {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    metrics: Option<MetricsLayer>,
    alerts: RwLock<Option<AlertsView>>,
    /// Every other part shown: the exporter, the audit router, the gate,
    /// and the service's own, in that order.
    sources: Vec<Box<dyn OpsSource>>,
    encoder: PrometheusEncoder,
    /// The size of the last `/metrics` body, to size the next one's buffer.
    last_metrics_len: std::sync::atomic::AtomicUsize,
    /// How [`Ops::serve`]'s server treats its clients.
    limits: server::Limits,
    /// The log directives `PUT /filter` changes, and the token it needs.
    filter: Option<crate::FilterHandle>,
    token: Option<filter::Token>,
}

/// Configures [`Ops`].
#[derive(Debug, Default)]
pub struct OpsBuilder {
    metrics: Option<MetricsLayer>,
    alerts: Option<AlertsView>,
    #[cfg(feature = "audit")]
    audit: Option<AuditLayer>,
    #[cfg(feature = "otlp")]
    otlp: Option<Otlp>,
    #[cfg(feature = "pii")]
    pii: Option<PiiLayer>,
    sources: Vec<Box<dyn OpsSource>>,
    encoder: Option<PrometheusEncoder>,
    exporter_grace: Option<Duration>,
    audit_grace: Option<Duration>,
    limits: server::Limits,
    filter: Option<crate::FilterHandle>,
    token: Option<filter::Token>,
}

impl Ops {
    /// A builder with no parts yet.
    pub fn builder() -> OpsBuilder {
        OpsBuilder::default()
    }

    /// Shows (and checks readiness against) these alerts from now on.
    pub fn set_alerts(&self, alerts: AlertsView) {
        if let Ok(mut slot) = self.inner.alerts.write() {
            *slot = Some(alerts);
        }
    }

    /// The alerts shown, if any.
    pub fn alerts(&self) -> Option<AlertsView> {
        self.inner.alerts.read().ok().and_then(|a| a.clone())
    }

    /// The `/metrics` body, appended to `out`.
    pub fn write_metrics(&self, format: ExpositionFormat, out: &mut String) {
        let encoder = &self.inner.encoder;
        if let Some(metrics) = &self.inner.metrics {
            encoder.encode(metrics, format, out);
        }
        if let Some(alerts) = self.alerts() {
            let report = alerts.report();
            encoder.encode_alerts(
                report
                    .iter()
                    .map(|a| (a.rule.as_str(), a.state == AlertState::Firing)),
                format,
                out,
            );
        }
        for source in &self.inner.sources {
            source.write_metrics(encoder, format, out);
        }
        process::write(format, out);
        PrometheusEncoder::finish(format, out);
    }

    /// The `/alerts` body: `{"alerts": [{"rule", "operation", "state",
    /// "severity", "value", "threshold", "since"}]}`.
    pub fn alerts_json(&self) -> String {
        let alerts: Vec<serde_json::Value> = self
            .alerts()
            .map(|a| a.report())
            .unwrap_or_default()
            .into_iter()
            .map(|a| {
                let mut since = String::new();
                if let Some(t) = a.since {
                    warden_core::internal::rfc3339_micros(&mut since, t);
                }
                serde_json::json!({
                    "rule": a.rule,
                    "operation": a.operation,
                    "state": match a.state {
                        AlertState::Firing => "firing",
                        AlertState::Ok => "ok",
                    },
                    "severity": a.severity.as_str(),
                    "value": a.value,
                    "threshold": a.threshold,
                    "since": (!since.is_empty()).then_some(since),
                })
            })
            .collect();
        serde_json::json!({ "alerts": alerts }).to_string()
    }
}

impl OpsBuilder {
    /// The metrics layer whose operations `/metrics` shows.
    pub fn metrics(mut self, metrics: MetricsLayer) -> Self {
        self.metrics = Some(metrics);
        self
    }

    /// The alerts `/alerts` and `/metrics` show; critical ones firing make
    /// `/readyz` fail.
    pub fn alerts(mut self, alerts: AlertsView) -> Self {
        self.alerts = Some(alerts);
        self
    }

    /// The audit router: its counters in `/metrics`, and `/readyz` fails
    /// while one of its sinks has been failing for longer than
    /// [`audit_grace`](Self::audit_grace).
    #[cfg(feature = "audit")]
    #[cfg_attr(docsrs, doc(cfg(feature = "audit")))]
    pub fn audit(mut self, audit: AuditLayer) -> Self {
        self.audit = Some(audit);
        self
    }

    /// The OTLP exporter: its counters in `/metrics`, and `/readyz` fails
    /// while exports have been failing for longer than
    /// [`exporter_grace`](Self::exporter_grace).
    #[cfg(feature = "otlp")]
    #[cfg_attr(docsrs, doc(cfg(feature = "otlp")))]
    pub fn otlp(mut self, otlp: Otlp) -> Self {
        self.otlp = Some(otlp);
        self
    }

    /// The PII gate: its redactions by kind in `/metrics`
    /// (`warden_pii_redactions_total{kind="EMAIL"}`), so that a jump in
    /// redactions — a new field leaking personal data — is visible; and
    /// national identifiers by scheme, once any was replaced
    /// (`warden_pii_national_id_redactions_total{scheme="BR_CPF"}`).
    ///
    /// ```
    /// let gate = warden::pii::PiiLayer::default();
    /// let ops = warden::ops::Ops::builder().pii(gate.clone()).build();
    /// gate.sanitizer().sanitize("CPF 390.533.447-05");
    /// let mut page = String::new();
    /// ops.write_metrics(Default::default(), &mut page);
    /// assert!(page.contains(r#"pii_redactions_total{kind="EMAIL"} 0"#), "{page}");
    /// assert!(page.contains(r#"pii_national_id_redactions_total{scheme="BR_CPF"} 1"#), "{page}");
    /// ```
    #[cfg(feature = "pii")]
    #[cfg_attr(docsrs, doc(cfg(feature = "pii")))]
    pub fn pii(mut self, gate: PiiLayer) -> Self {
        self.pii = Some(gate);
        self
    }

    /// Another part to show in `/metrics` and check in `/readyz` (see
    /// [`OpsSource`]), after the stack's own; sources are read in the
    /// order they were added.
    pub fn source(mut self, source: impl OpsSource + 'static) -> Self {
        self.sources.push(Box::new(source));
        self
    }

    /// How `/metrics` names and buckets the operations.
    pub fn encoder(mut self, encoder: PrometheusEncoder) -> Self {
        self.encoder = Some(encoder);
        self
    }

    /// How long [`Ops::serve`]'s server waits for a connection's request
    /// head, from the moment it connects (default 10 s): a client that
    /// connects and sends nothing, or a header a byte at a time, is cut
    /// then.
    pub fn header_read_timeout(mut self, timeout: Duration) -> Self {
        self.limits.header_read_timeout = timeout;
        self
    }

    /// How many connections [`Ops::serve`]'s server holds at once (default
    /// 2,048); one more is closed at once.
    pub fn max_connections(mut self, n: usize) -> Self {
        self.limits.max_connections = n.max(1);
        self
    }

    /// The log directives `GET /filter` shows and `PUT /filter` changes
    /// (the `init()` stack's, from [`StackFilter::reloadable`](crate::StackFilter::reloadable)).
    pub fn filter(mut self, handle: crate::FilterHandle) -> Self {
        self.filter = Some(handle);
        self
    }

    /// The bearer token `PUT /filter` needs (`Authorization: Bearer
    /// <token>`, compared in constant time). Without one, `PUT /filter`
    /// is refused (403): changing what a service logs is off unless asked
    /// for. `init()` reads it from [`TOKEN_ENV`] (`WARDEN_OPS_TOKEN`).
    ///
    /// ```
    /// let (_filter, handle) = warden::StackFilter::parse("info")?.reloadable();
    /// let ops = warden::ops::Ops::builder().filter(handle).token("s3cret").build();
    /// # drop(ops);
    /// # Ok::<(), String>(())
    /// ```
    pub fn token(mut self, token: impl Into<String>) -> Self {
        self.token = Some(filter::Token::new(token.into()));
        self
    }

    /// How long exports may fail before `/readyz` says so (default 60 s).
    pub fn exporter_grace(mut self, grace: Duration) -> Self {
        self.exporter_grace = Some(grace);
        self
    }

    /// How long an audit sink may fail before `/readyz` says so (default
    /// 0: at once — records are piling up in the queue).
    pub fn audit_grace(mut self, grace: Duration) -> Self {
        self.audit_grace = Some(grace);
        self
    }

    /// The endpoints' state.
    pub fn build(self) -> Ops {
        let mut sources: Vec<Box<dyn OpsSource>> = Vec::new();
        #[cfg(feature = "otlp")]
        if let Some(otlp) = self.otlp {
            let grace = self.exporter_grace.unwrap_or(Duration::from_secs(60));
            sources.push(Box::new(otlp::OtlpSource { otlp, grace }));
        }
        #[cfg(feature = "audit")]
        if let Some(audit) = self.audit {
            let grace = self.audit_grace.unwrap_or(Duration::ZERO);
            sources.push(Box::new(audit::AuditSource { audit, grace }));
        }
        #[cfg(feature = "pii")]
        if let Some(gate) = self.pii {
            sources.push(Box::new(pii::PiiSource { gate }));
        }
        // Without the features that read them, the graces are unused.
        let _ = (self.exporter_grace, self.audit_grace);
        sources.extend(self.sources);
        Ops {
            inner: Arc::new(Inner {
                metrics: self.metrics,
                alerts: RwLock::new(self.alerts),
                sources,
                encoder: self.encoder.unwrap_or_default(),
                last_metrics_len: std::sync::atomic::AtomicUsize::new(4096),
                limits: self.limits,
                filter: self.filter,
                token: self.token,
            }),
        }
    }
}

/// Appends one counter family without labels: `<ns>_<name>_total value`.
fn unlabelled_counter(
    encoder: &warden_metrics::PrometheusEncoder,
    (name, help): (&str, &str),
    value: u64,
    format: warden_metrics::ExpositionFormat,
    out: &mut String,
) {
    let none: &[(&str, &str)] = &[];
    encoder.encode_counter(name, help, [(none, value)], format, out);
}
