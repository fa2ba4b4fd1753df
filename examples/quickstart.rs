//! The main job: a small service logs requests full of personal data, and
//! warden's PII gate keeps all of it out of the JSON logs.
//!
//! ```text
//! cargo run --release --example quickstart [-- --requests 2000] [--ops-addr 127.0.0.1:9464] [--serve SECONDS]
//! ```
//!
//! The operations endpoints (`/metrics`, `/healthz`, `/readyz`, `/alerts`)
//! are served on `--ops-addr` (a free port by default) and the address is
//! printed first. With `--serve`, the service keeps taking a steady trickle
//! of requests after the summary, for that many seconds (0: until stopped),
//! so that Prometheus or `warden top` can watch it live.
//!
//! Every request runs in a span with its correlation ID (even requests
//! bring one in an `x-request-id`-style field, odd ones get a fresh UUID
//! v7), and its work in an operation span (`login`, `payment`, `checkout`…)
//! with a realistic latency spread. The stack:
//!
//! - `CorrelationLayer` gives each span its request's ID;
//! - `PiiLayer` sanitizes every event;
//! - `MetricsLayer` times operations, and two alert rules are evaluated ten
//!   times over the run (a payment incident in the middle third fires one
//!   and resolves it);
//! - `AuditLayer` stores logins, failed logins, `#[audited]` tool calls and
//!   alerts in `./warden-audit.db` (its key in `./warden-audit.db.key`);
//! - `warden-json` writes the lines;
//! - with `OTEL_EXPORTER_OTLP_ENDPOINT` set, `warden-otlp` sends spans,
//!   events, audit records and metrics to that collector, and the summary
//!   shows what was exported and dropped.
//!
//! The stack is the one `warden::init()` installs, built with
//! `warden::Warden::builder()` so the lines can be captured and checked.
//!
//! It prints a sample of the lines and checks that every service line
//! carries its own request's ID. It then prints the p50/p95/p99 table, the
//! alerts, the audit counts with a `verify` of the store, what the gate
//! replaced, and the CLI commands to try next. It fails if a raw value
//! leaked, a line is misattributed, or the store does not verify.

use std::error::Error;
use std::fmt;
use std::io::{self, Write};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tracing::{error, info, info_span, warn};
use warden::audit::{EventType, Query, SqliteStore, audited};
use warden::flood::{FloodLimit, Rate};
use warden::metrics::{Alerts, Rule, TransitionKind, Window};
use warden::request_lines::RequestLines;

/// Where the quickstart's audit store goes (and its key, beside it).
const AUDIT_DB: &str = "warden-audit.db";

/// Burns `micros` of CPU: a stand-in for real work, so that span timings
/// have a realistic spread without the run taking long.
fn work(micros: u64) {
    let until = Instant::now() + std::time::Duration::from_micros(micros);
    while Instant::now() < until {
        std::hint::spin_loop();
    }
}

/// A latency in microseconds with a long right tail (deterministic).
fn latency(n: usize, median_us: u64) -> u64 {
    let spread = [50u64, 70, 80, 90, 100, 100, 110, 130, 160, 250, 400, 900];
    median_us * spread[(n * 7 + n / 3) % spread.len()] / 100
}

/// A tool call the service makes, audited with its parameters, outcome
/// and duration.
#[audited(skip(api_key))]
fn lookup_order(order_id: u64, customer_email: &str, api_key: &str) -> Result<u64, String> {
    let _ = (customer_email, api_key);
    work(latency(order_id as usize, 80));
    if order_id % 7 == 0 {
        return Err(format!("order {order_id} not found"));
    }
    Ok(order_id * 3)
}

/// Collects what the `fmt` layer writes, to show and count it.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>, Arc<std::sync::atomic::AtomicBool>);

impl io::Write for Captured {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        // Once the run is checked, lines are no longer kept (`--serve`).
        if self.1.load(std::sync::atomic::Ordering::Relaxed) {
            return Ok(buf.len());
        }
        self.0
            .lock()
            .map_err(|_| io::Error::other("poisoned"))?
            .extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

#[derive(Debug)]
#[allow(dead_code)] // read through Debug
struct Customer {
    id: u64,
    email: String,
    phone: String,
    password: String,
}

#[derive(Debug)]
struct PaymentDeclined {
    card: String,
}

impl fmt::Display for PaymentDeclined {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "card {} declined by issuer", self.card)
    }
}

impl Error for PaymentDeclined {}

const FIRST: &[&str] = &[
    "ada", "grace", "alan", "edsger", "barbara", "donald", "margaret", "ken",
];
const CARDS: &[&str] = &[
    "4111 1111 1111 1111",
    "5555-5555-5555-4444",
    "378282246310005",
    "6011111111111117",
];

/// The value after `--name` on the command line.
fn arg(name: &str) -> Option<String> {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .cloned()
}

fn requests_from_args() -> usize {
    arg("--requests")
        .and_then(|n| n.parse().ok())
        .unwrap_or(2_000)
}

fn handle(n: usize) {
    let name = FIRST[n % FIRST.len()];
    let customer = Customer {
        id: 10_000 + n as u64,
        email: format!("{name}.{n}@example.com"),
        phone: format!("+1 415 555 {:04}", n % 10_000),
        password: format!("s3cret-{n}"),
    };
    let ip = format!("203.0.113.{}", n % 250 + 1);
    let span = if n % 2 == 0 {
        let incoming = format!("req-{n:06}");
        info_span!("request", correlation_id = %incoming, route = "/api/v1/checkout", client_ip = %ip, customer_id = customer.id)
    } else {
        info_span!("request", route = "/api/v1/checkout", client_ip = %ip, customer_id = customer.id)
    };
    let _entered = span.enter();
    // Payments fail often in the middle third of the run (an incident),
    // rarely otherwise.
    let incident = (requests_total() / 3..2 * requests_total() / 3).contains(&n);
    match n % 10 {
        0 => {
            let _op = info_span!("login").entered();
            work(latency(n, 150));
            warn!(user = %customer.email, ip = %ip, "failed login for {}", customer.email);
            warden::audit::security!(action = "login_failed", user_id = %customer.id, ip = %ip);
        }
        1 => {
            let op = info_span!("payment", error = tracing::field::Empty).entered();
            // Held in the request (below the `info` filter) and written,
            // marked "buffered", only if the payment fails.
            tracing::debug!(customer = %customer.email, attempt = 1u64, "charging the card on file");
            work(latency(n, 400));
            tracing::debug!(provider_ms = latency(n, 400), "provider answered");
            if incident || n % 500 == 1 {
                op.record("error", true);
                let err = PaymentDeclined {
                    card: CARDS[n % CARDS.len()].to_owned(),
                };
                error!(error = &err as &(dyn Error + 'static), customer = ?customer, "payment failed");
            } else {
                info!(customer_id = customer.id, "payment accepted");
            }
        }
        2 => {
            let _op = info_span!("billing").entered();
            work(latency(n, 120));
            info!(
                card = 4111111111111111u64,
                ssn = "123-45-6789",
                iban = "DE89 3704 0044 0532 0130 00",
                "stored billing details"
            );
        }
        3 => {
            let _op = info_span!("payment_provider").entered();
            // A retry loop that logs every attempt: its call site is
            // flood-limited (100 lines a second), and what it suppressed is
            // said in one line and counted.
            for attempt in 0..20u64 {
                info!(target: "quickstart::retry", attempt, "provider busy, retrying");
            }
            work(latency(n, 600));
            info!(
                authorization = "Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0In0.c2lnbmF0dXJl",
                api_key = "sk_live_51HqAbCdEfGhIjKlMnOp",
                "called the payment provider"
            );
        }
        4 => {
            let _op = info_span!("order_lookup").entered();
            let _ = lookup_order(n as u64, &customer.email, "sk_live_51HqAbCdEfGhIjKlMnOp");
        }
        5 => {
            let _op = info_span!("login").entered();
            work(latency(n, 150));
            warden::audit::authentication!(action = "login", user_id = %customer.id, ip = %ip);
        }
        _ => {
            let _op = info_span!("checkout").entered();
            work(latency(n, 250));
            info!(
                customer_id = customer.id,
                items = (n % 7) as u64,
                total_cents = (n * 137 % 50_000) as u64,
                "checkout completed"
            );
        }
    }
}

static REQUESTS: std::sync::OnceLock<usize> = std::sync::OnceLock::new();

fn requests_total() -> usize {
    *REQUESTS.get().unwrap_or(&2_000)
}

fn main() -> Result<(), Box<dyn Error>> {
    let requests = requests_from_args();
    let _ = REQUESTS.set(requests);
    let sink = Captured::default();
    let writer = sink.clone();
    let stop_capturing = Arc::clone(&sink.1);
    // The stack `warden::init()` installs (correlation, PII gate, metrics,
    // audit to ./warden-audit.db, OTLP when OTEL_EXPORTER_OTLP_ENDPOINT is
    // set, warden-json), built here without installing it globally so the
    // JSON lines can be captured and checked.
    let ops_addr: std::net::SocketAddr = arg("--ops-addr")
        .unwrap_or_else(|| "127.0.0.1:0".into())
        .parse()?;
    let serve: Option<u64> = arg("--serve").map(|s| s.parse()).transpose()?;
    let (subscriber, guard) = warden::Warden::builder()
        .filter("info")
        .audit_sqlite(AUDIT_DB)
        .writer(move || writer.clone())
        .ops_addr(ops_addr)
        // The retry loop's call site at 100 lines a second (bursts of 200).
        .flood_limit(FloodLimit::builder().target("quickstart::retry", Rate::new(100, 200)))
        // DEBUG lines held in their request, written if it fails; the INFO
        // lines of half the requests (by correlation ID) kept, and every
        // failed or slow request's.
        .request_lines(
            RequestLines::builder()
                .sample(0.5)
                .slow(Duration::from_millis(3)),
        )
        .build()?;
    let dispatch = tracing::Dispatch::new(subscriber);
    if let Some(addr) = guard.ops_addr() {
        println!(
            "Operations endpoints: http://{addr}/metrics (and /healthz /readyz /alerts; watch with: cargo run -q -p warden-cli -- top http://{addr})\n"
        );
    }
    let metrics = guard
        .metrics()
        .cloned()
        .ok_or("metrics are on by default")?;
    let pii = guard.pii().cloned().ok_or("the gate is on by default")?;
    let audit = guard.audit().cloned().ok_or("audit is on by default")?;
    // Payment errors per evaluation period: the errors since the last one
    // over the payments since the last one.
    let last = Mutex::new((0u64, 0u64));
    let alerts = Alerts::new()
        .rule(
            Rule::custom("payment error rate > 5% per period", move |s| {
                let payment = s.get("payment")?;
                let mut last = last.lock().ok()?;
                let (count, errors) = (payment.count - last.0, payment.errors - last.1);
                *last = (payment.count, payment.errors);
                (count > 0).then(|| errors as f64 / count as f64)
            })
            .above(0.05)
            .for_periods(2)
            .over(Window::SinceStart),
        )
        .rule(
            Rule::p95("payment_provider")
                .above(std::time::Duration::from_millis(4))
                .over(Window::SinceStart),
        );
    let alerts = warden::metrics::AlertsView::new(alerts);
    guard.ops().set_alerts(alerts.clone());

    let started = Instant::now();
    let mut transitions = Vec::new();
    tracing::dispatcher::with_default(&dispatch, || {
        // Ten evaluation periods over the run.
        let period = requests.div_ceil(10).max(1);
        for n in 0..requests {
            handle(n);
            if (n + 1) % period == 0 || n + 1 == requests {
                for t in alerts.evaluate(&metrics) {
                    transitions.push((n + 1, t));
                }
            }
        }
    });
    let elapsed = started.elapsed();
    // Flush, sign a checkpoint and stop the audit writer (or only flush,
    // when the service goes on serving); send what the OTLP exporter holds.
    if serve.is_some() {
        audit.flush(Duration::from_secs(10))?;
    } else {
        audit.shutdown(Duration::from_secs(10))?;
    }
    let otlp_stats = match guard.otlp() {
        Some(otlp) => {
            let flushed = otlp.flush(Duration::from_secs(10));
            Some((
                otlp.config().endpoint_for(warden::otlp::Signal::Traces),
                otlp.stats(),
                flushed,
            ))
        }
        None => None,
    };

    // The flood limit says what it suppressed once the flood has ended (a
    // tick later).
    let flood_deadline = Instant::now() + Duration::from_secs(2);
    while guard
        .flood()
        .is_some_and(|f| f.suppressed() > 0 && f.reports() == 0)
        && Instant::now() < flood_deadline
    {
        std::thread::sleep(Duration::from_millis(10));
    }
    let bytes = sink.0.lock().map_err(|_| "log buffer poisoned")?.clone();
    let text = String::from_utf8(bytes)?;
    let lines: Vec<&str> = text.lines().collect();
    let mut out = io::stdout().lock();
    writeln!(
        out,
        "warden quickstart: {requests} requests, {} JSON lines in {elapsed:.2?}\n",
        lines.len()
    )?;
    writeln!(
        out,
        "A sample of what the JSON log received (one line per kind of request):"
    )?;
    for line in lines.iter().take(5) {
        writeln!(out, "  {line}")?;
    }
    // Every raw value the simulated service logs, in the forms it logs them.
    let raw_values = [
        "@example.com",
        "4111 1111 1111 1111",
        "4111111111111111",
        "5555-5555-5555-4444",
        "378282246310005",
        "6011111111111117",
        "+1 415 555",
        "123-45-6789",
        "DE89 3704",
        "s3cret-",
        "sk_live_",
        "eyJhbGci",
        "203.0.113.",
    ];
    let leaked = raw_values.iter().filter(|raw| text.contains(*raw)).count();
    let service_lines: Vec<&&str> = lines
        .iter()
        .filter(|line| line.contains("\"target\":\"quickstart\""))
        .collect();
    let misattributed = service_lines
        .iter()
        .filter(|line| !carries_its_request_id(line))
        .count();
    writeln!(
        out,
        "\nService lines carrying their own request's correlation ID: {} of {}",
        service_lines.len() - misattributed,
        service_lines.len()
    )?;
    writeln!(out, "\nLatency per operation (MetricsLayer, since start):")?;
    for row in metrics.snapshot(Window::SinceStart).to_string().lines() {
        writeln!(out, "  {row}")?;
    }
    writeln!(out, "\nAlerts (evaluated 10 times over the run):")?;
    if transitions.is_empty() {
        writeln!(out, "  none fired")?;
    }
    for (at, t) in &transitions {
        let what = match t.kind {
            TransitionKind::Fired => "FIRED   ",
            TransitionKind::Resolved => "RESOLVED",
        };
        writeln!(
            out,
            "  after request {at:>6}: {what} {} (value {}, threshold {})",
            t.rule,
            t.value.map_or("-".into(), |v| format!("{v:.3}")),
            t.threshold
        )?;
    }
    let store = SqliteStore::open(AUDIT_DB)?;
    let records = store.query(&Query::default())?;
    let count = |t: &EventType| records.iter().filter(|r| r.event_type == *t).count();
    writeln!(
        out,
        "\nAudit store {AUDIT_DB}: {} records in all (this run and earlier ones)",
        records.len()
    )?;
    for t in [
        EventType::Authentication,
        EventType::Security,
        EventType::ToolInvocation,
        EventType::Alert,
    ] {
        writeln!(out, "  {:<16} {:>8}", t.as_str(), count(&t))?;
    }
    let report = warden::audit::verify(AUDIT_DB)?;
    writeln!(
        out,
        "  verify: {} records, {} valid, {} signed checkpoints: {}",
        report.records,
        report.valid,
        report.valid_checkpoints,
        if report.is_ok() { "OK" } else { "FAILED" }
    )?;
    writeln!(out, "  audit records dropped: {}", audit.dropped())?;
    // Who and from where, as keyed hashes of the real values: joinable,
    // and findable with `warden audit query --user <id>`.
    let failed_login = records.iter().find(|r| r.action == "login_failed");
    if let Some(r) = failed_login {
        writeln!(
            out,
            "  newest failed login: user {}, client {}, outcome {}",
            r.user_id.as_deref().unwrap_or("-"),
            r.client_ip_hash.as_deref().unwrap_or("-"),
            r.outcome.as_str()
        )?;
    }
    writeln!(out, "\nWhat the PII gate replaced, by kind:")?;
    for (kind, count) in pii.redactions().iter().filter(|(_, n)| *n > 0) {
        writeln!(out, "  {:<12} {count:>8}", kind.name())?;
    }
    writeln!(out, "  {:<12} {:>8}", "total", pii.redactions().total())?;
    writeln!(
        out,
        "\nRaw values found in the log: {leaked} (of {} checked)",
        raw_values.len()
    )?;
    writeln!(out, "Events dropped by the gate: {}", pii.dropped_events())?;
    // Control in production: the flood limit, the requests' held DEBUG
    // lines, sampling.
    let flood = guard.flood().ok_or("the flood limit is on by default")?;
    let held = guard
        .request_lines()
        .map(RequestLines::stats)
        .ok_or("request lines were asked for")?;
    let buffered = lines
        .iter()
        .filter(|l| l.contains("\"buffered\":true"))
        .count();
    writeln!(
        out,
        "\nFlood limit: {} retry lines suppressed ({} written); said in-band as: {}",
        flood.suppressed(),
        text.matches("provider busy, retrying").count(),
        lines
            .iter()
            .find(|l| l.contains("events suppressed from quickstart::retry"))
            .map_or("(not yet: said when the flood ends)", |l| l.trim())
    )?;
    writeln!(
        out,
        "Failed requests' DEBUG lines: {} held, {} written with \"buffered\": true ({buffered} in the log), {} dropped with their clean requests",
        held.held, held.written, held.discarded
    )?;
    writeln!(
        out,
        "Sampling at 0.5: {} requests' INFO lines not kept, {} kept anyway (failed or slow)",
        held.requests_sampled_out, held.requests_kept_late
    )?;
    match &otlp_stats {
        Some((endpoint, stats, flushed)) => {
            writeln!(out, "\nOTLP export to {endpoint}:")?;
            for row in stats.to_string().lines() {
                writeln!(out, "  {row}")?;
            }
            if let Err(e) = flushed {
                writeln!(out, "  flush: {e}")?;
            }
        }
        None => writeln!(
            out,
            "\nOTLP export: off (set OTEL_EXPORTER_OTLP_ENDPOINT=http://localhost:4317 to send spans, logs, audit records and metrics to a collector)"
        )?,
    }
    writeln!(
        out,
        "\nNext: query and verify the audit store with the CLI:"
    )?;
    writeln!(
        out,
        "  cargo run -q -p warden-cli -- audit query --db {AUDIT_DB} --event SECURITY --limit 5"
    )?;
    writeln!(
        out,
        "  cargo run -q -p warden-cli -- audit query --db {AUDIT_DB} --user 10000   # finds customer 10000 by its keyed hash"
    )?;
    writeln!(
        out,
        "  cargo run -q -p warden-cli -- audit stats --db {AUDIT_DB}"
    )?;
    writeln!(
        out,
        "  cargo run -q -p warden-cli -- audit verify --db {AUDIT_DB}"
    )?;
    writeln!(out, "\nOr sanitize any log stream:")?;
    writeln!(
        out,
        "  echo 'user ada@example.com from 10.0.0.1' | cargo run -q -p warden-cli -- redact"
    )?;
    if leaked > 0 {
        return Err("raw PII reached the log".into());
    }
    if !report.is_ok() {
        return Err("the audit store does not verify".into());
    }
    let pseudonymous = |v: Option<&str>| v.is_some_and(|v| v.starts_with("hmac:"));
    if failed_login.is_some_and(|r| {
        r.outcome != warden::audit::Outcome::Failure
            || !pseudonymous(r.user_id.as_deref())
            || !pseudonymous(r.client_ip_hash.as_deref())
    }) {
        return Err("a failed login is not stored as a pseudonymous failure".into());
    }
    if misattributed > 0 {
        return Err("a line lacks its request's correlation ID".into());
    }
    if let Some(seconds) = serve {
        stop_capturing.store(true, std::sync::atomic::Ordering::Relaxed);
        serve_on(
            &dispatch,
            &metrics,
            &alerts,
            requests,
            seconds,
            guard.ops_addr(),
        )?;
        audit.shutdown(Duration::from_secs(10))?;
    }
    Ok(())
}

/// Keeps taking requests (about 200 a second) for `seconds` (0: until the
/// process is stopped), evaluating the alert rules every 2 seconds.
fn serve_on(
    dispatch: &tracing::Dispatch,
    metrics: &warden::metrics::MetricsLayer,
    alerts: &warden::metrics::AlertsView,
    first: usize,
    seconds: u64,
    addr: Option<std::net::SocketAddr>,
) -> Result<(), Box<dyn Error>> {
    if let Some(addr) = addr {
        println!(
            "\nServing on http://{addr}/metrics{}",
            if seconds == 0 {
                " until stopped".to_owned()
            } else {
                format!(" for {seconds} s")
            }
        );
    }
    io::stdout().flush()?;
    let started = Instant::now();
    let mut last_evaluation = Instant::now();
    let mut n = first;
    tracing::dispatcher::with_default(dispatch, || {
        while seconds == 0 || started.elapsed() < Duration::from_secs(seconds) {
            handle(n);
            n += 1;
            if last_evaluation.elapsed() >= Duration::from_secs(2) {
                alerts.evaluate(metrics);
                last_evaluation = Instant::now();
            }
            std::thread::sleep(Duration::from_millis(5));
        }
    });
    Ok(())
}

/// Whether a JSON line's `correlation_id` is its request's: the one the
/// request brought (even requests) or a fresh UUID (odd ones).
fn carries_its_request_id(line: &str) -> bool {
    let Ok(json) = serde_json::from_str::<serde_json::Value>(line) else {
        return false;
    };
    let (Some(customer), Some(id)) = (
        json["spans"][0]["customer_id"].as_u64(),
        json["correlation_id"].as_str(),
    ) else {
        return false;
    };
    let n = customer - 10_000;
    if n % 2 == 0 {
        id == format!("req-{n:06}")
    } else {
        id.len() == 36 && id.as_bytes()[14] == b'7'
    }
}
