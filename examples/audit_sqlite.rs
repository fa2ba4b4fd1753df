//! Audit events into a tamper-evident SQLite store, then read back and
//! verified, as `warden audit query` and `warden audit verify` would.
//!
//! ```text
//! cargo run --example audit_sqlite [-- path/to/audit.db]
//! ```
//!
//! Without a path the store goes to a fresh temporary directory. Records
//! are hash-chained, checkpoints are signed with the key kept beside the
//! store (`audit.db.key`), and identities are sanitized before they are
//! stored.

use std::error::Error;
use std::time::Duration;

use tracing_subscriber::prelude::*;
use warden::audit::{AuditLayer, Query, StoreReader, audited};

/// A tool call, recorded with its parameters, outcome and duration.
#[audited(skip(token))]
fn refund(order_id: u64, amount_cents: u64, token: &str) -> Result<(), String> {
    if token.is_empty() {
        return Err("no token".into());
    }
    if amount_cents > 100_000 {
        return Err(format!("refund of order {order_id} above the limit"));
    }
    Ok(())
}

fn main() -> Result<(), Box<dyn Error>> {
    let path = match std::env::args().nth(1) {
        Some(path) => std::path::PathBuf::from(path),
        None => {
            let dir =
                std::env::temp_dir().join(format!("warden-audit-example-{}", std::process::id()));
            std::fs::create_dir_all(&dir)?;
            dir.join("audit.db")
        }
    };
    let audit = AuditLayer::sqlite(&path)?;
    let subscriber = tracing_subscriber::registry().with(audit.clone());
    tracing::subscriber::with_default(subscriber, || {
        warden::audit::authentication!(action = "login", user_id = "u-42", outcome = "SUCCESS");
        warden::audit::security!(
            action = "login_failed",
            user_id = "ada@example.com",
            ip = "203.0.113.9",
            outcome = "FAILURE"
        );
        let _ = refund(98231, 4250, "tok_live_abc");
        let _ = refund(98232, 250_000, "tok_live_abc");
    });
    // Write what is queued, sign the shutdown checkpoint, stop the writer.
    audit.shutdown(Duration::from_secs(10))?;

    let reader = StoreReader::open(&path)?;
    println!("{}:", path.display());
    for record in reader.query(&Query::default())?.iter().rev() {
        println!(
            "  {:<16} {:<14} {:<8} user={}",
            record.event_type.as_str(),
            record.action,
            record.outcome.as_str(),
            record.user_id.as_deref().unwrap_or("-"),
        );
    }
    let report = warden::audit::verify(&path)?;
    println!("\n{report}");
    if !report.is_ok() {
        return Err("the store does not verify".into());
    }
    Ok(())
}
