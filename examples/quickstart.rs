//! The main job: a small service logs requests full of personal data, and
//! warden's PII gate keeps all of it out of the JSON logs.
//!
//! ```text
//! cargo run --release --example quickstart [-- --requests 2000]
//! ```
//!
//! Every request runs in a span with its correlation ID (the first half of
//! the requests bring one in an `x-request-id`-style field, the rest get a
//! fresh UUID v7), and `warden-json` writes the lines. It prints a sample of
//! the sanitized JSON lines, checks that every line carries its request's
//! ID, then what the gate replaced, by kind. (Audit routing, latency
//! metrics and OTLP export join this example as they land.)

use std::error::Error;
use std::fmt;
use std::io::{self, Write};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use tracing::{error, info, info_span, warn};
use tracing_subscriber::prelude::*;
use warden::correlation::CorrelationLayer;
use warden::pii::PiiLayer;

/// Collects what the `fmt` layer writes, to show and count it.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl io::Write for Captured {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
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

fn requests_from_args() -> usize {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == "--requests")
        .and_then(|i| args.get(i + 1))
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
    match n % 10 {
        0 => warn!(user = %customer.email, ip = %ip, "failed login for {}", customer.email),
        1 => {
            let err = PaymentDeclined {
                card: CARDS[n % CARDS.len()].to_owned(),
            };
            error!(error = &err as &(dyn Error + 'static), customer = ?customer, "payment failed");
        }
        2 => info!(
            card = 4111111111111111u64,
            ssn = "123-45-6789",
            iban = "DE89 3704 0044 0532 0130 00",
            "stored billing details"
        ),
        3 => info!(
            authorization = "Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0In0.c2lnbmF0dXJl",
            api_key = "sk_live_51HqAbCdEfGhIjKlMnOp",
            "called the payment provider"
        ),
        _ => info!(
            customer_id = customer.id,
            items = (n % 7) as u64,
            total_cents = (n * 137 % 50_000) as u64,
            "checkout completed"
        ),
    }
}

fn main() -> Result<(), Box<dyn Error>> {
    let requests = requests_from_args();
    let sink = Captured::default();
    let pii = PiiLayer::default();
    let writer = sink.clone();
    let subscriber = tracing_subscriber::registry()
        .with(CorrelationLayer::default())
        .with(pii.clone())
        .with(
            warden::json::layer()
                .map_event_format(|json| json.with_span_list(false))
                .with_writer(move || writer.clone()),
        );

    let started = Instant::now();
    tracing::subscriber::with_default(subscriber, || (0..requests).for_each(handle));
    let elapsed = started.elapsed();

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
    let misattributed = lines
        .iter()
        .filter(|line| !carries_its_request_id(line))
        .count();
    writeln!(
        out,
        "\nLines carrying their own request's correlation ID: {} of {}",
        lines.len() - misattributed,
        lines.len()
    )?;
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
    writeln!(out, "\nNext: sanitize any log stream with the CLI:")?;
    writeln!(
        out,
        "  echo 'user ada@example.com from 10.0.0.1' | cargo run -q -p warden-cli -- redact"
    )?;
    if leaked > 0 {
        return Err("raw PII reached the log".into());
    }
    if misattributed > 0 {
        return Err("a line lacks its request's correlation ID".into());
    }
    Ok(())
}

/// Whether a JSON line's `correlation_id` is its request's: the one the
/// request brought (even requests) or a fresh UUID (odd ones).
fn carries_its_request_id(line: &str) -> bool {
    let Ok(json) = serde_json::from_str::<serde_json::Value>(line) else {
        return false;
    };
    let (Some(customer), Some(id)) = (
        json["span"]["customer_id"].as_u64(),
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
