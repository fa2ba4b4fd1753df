//! Latency metrics from the spans a service already has, and alert rules
//! that fire and resolve.
//!
//! ```text
//! cargo run --example metrics_alerts
//! ```
//!
//! A `checkout` operation runs in batches of 30 calls at about 1 ms; one
//! batch, the eighth, takes about 8 ms a call. A rule on the p95 since
//! start, evaluated after each batch, fires when that batch pushes the slow
//! calls above 5% and resolves once enough fast calls follow: after about
//! 20 batches (600 calls, the slow ones down to 5%), or later on a busy
//! machine where some fast calls oversleep; it stops there, or after 60
//! batches. It prints every transition and the p50/p95/p99 table, and
//! exits with an error if the rule never fired or never resolved.

use std::error::Error;
use std::time::Duration;

use tracing_subscriber::prelude::*;
use warden::metrics::{Alerts, MetricsLayer, Rule, TransitionKind, Window};

fn checkout(slow: bool, i: u64) {
    let span = tracing::info_span!("checkout", order = i, error = i % 40 == 0);
    let _entered = span.enter();
    let pause = if slow { 8 } else { 1 };
    std::thread::sleep(Duration::from_millis(pause));
}

fn main() -> Result<(), Box<dyn Error>> {
    let metrics = MetricsLayer::new();
    let subscriber = tracing_subscriber::registry().with(metrics.clone());
    let mut alerts = Alerts::new().rule(
        Rule::p95("checkout")
            .above(Duration::from_millis(5))
            .over(Window::SinceStart),
    );
    let mut fired = false;
    let mut resolved = false;
    tracing::subscriber::with_default(subscriber, || {
        for batch in 0..60u64 {
            let slow = batch == 7;
            for i in 0..30 {
                checkout(slow, batch * 30 + i);
            }
            for t in alerts.evaluate(&metrics) {
                let value = t.value.map_or("no data".into(), |v| format!("{v:.2}"));
                println!("after batch {batch}: {} {:?} at {value}", t.rule, t.kind);
                fired |= t.kind == TransitionKind::Fired;
                resolved |= t.kind == TransitionKind::Resolved;
            }
            if resolved {
                break;
            }
        }
    });
    println!("\n{}", metrics.snapshot(Window::SinceStart));
    match (fired, resolved) {
        (true, true) => Ok(()),
        (false, _) => Err("the p95 rule never fired".into()),
        (true, false) => Err("the p95 rule never resolved".into()),
    }
}
