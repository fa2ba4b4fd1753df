//! The PII gate alone, in front of `tracing-subscriber`'s own JSON format:
//! every event that carries a sensitive value (in a field of any type or in
//! the message) reaches the formatter sanitized, and span fields too when
//! the formatter is wrapped.
//!
//! ```text
//! cargo run --example pii_gate
//! ```
//!
//! It prints the lines it wrote and the gate's redaction counts, and exits
//! with an error if any raw value reached the output.

use std::error::Error;
use std::io::Write as _;
use std::sync::{Arc, Mutex};

use tracing_subscriber::prelude::*;
use warden::pii::{PiiKind, PiiLayer, Sanitizer, Strategy};

/// The lines the formatter wrote, kept to be checked.
#[derive(Clone, Default)]
struct Lines(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for Lines {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0
            .lock()
            .map_err(|_| std::io::Error::other("poisoned"))?
            .extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

const RAW: &[&str] = &[
    "ada@example.com",
    "+44 20 7946 0958",
    "4111 1111 1111 1111",
    "hunter2",
    "203.0.113.9",
    "DE89370400440532013000",
];

fn main() -> Result<(), Box<dyn Error>> {
    // Cards keep their last four digits; everything else is redacted.
    let sanitizer = Sanitizer::builder()
        .strategy_for(PiiKind::CreditCard, Strategy::Mask)
        .build()?;
    let gate = PiiLayer::new(sanitizer);
    let lines = Lines::default();
    let sink = lines.clone();
    let formatter = tracing_subscriber::fmt::layer()
        .json()
        .with_writer(move || sink.clone());
    let subscriber = tracing_subscriber::registry()
        .with(gate.clone())
        // Wrapped, the formatter also gets sanitized span fields.
        .with(gate.clone().wrap(formatter));

    tracing::subscriber::with_default(subscriber, || {
        let span = tracing::info_span!("signup", email = "ada@example.com");
        let _entered = span.enter();
        tracing::info!(phone = "+44 20 7946 0958", "new customer");
        tracing::info!(
            card = "4111 1111 1111 1111",
            amount_cents = 4250u64,
            "charged"
        );
        tracing::warn!(
            password = "hunter2",
            client_ip = "203.0.113.9",
            "login retried"
        );
        tracing::info!("refund to DE89370400440532013000 queued");
        tracing::info!(
            order = 98231u64,
            status = 200u64,
            "clean lines pass as they are"
        );
    });

    let text = String::from_utf8(lines.0.lock().map_err(|_| "poisoned")?.clone())?;
    let mut out = std::io::stdout().lock();
    for line in text.lines() {
        writeln!(out, "{line}")?;
    }
    let counts = gate.redactions();
    writeln!(out, "\nredacted: {counts}")?;
    if let Some(raw) = RAW.iter().find(|raw| text.contains(*raw)) {
        return Err(format!("raw value {raw:?} reached the output").into());
    }
    writeln!(out, "no raw value reached the output")?;
    Ok(())
}
