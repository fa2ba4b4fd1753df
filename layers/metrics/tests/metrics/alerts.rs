//! Alert rules firing after N periods and resolving, with callbacks and
//! the ALERT audit events they log.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tracing_subscriber::prelude::*;
use warden_metrics::{AlertState, Alerts, MetricsLayer, Rule, TransitionKind, Window};
use warden_test_support::Capture;

/// The `event_type`, `action` and `rule` of every audit event `capture`
/// saw.
fn audit_events(capture: &Capture) -> Vec<(String, String, String)> {
    capture
        .seen()
        .iter()
        .filter(|e| e.metadata.target() == warden_core::AUDIT_TARGET)
        .map(|e| {
            let text = |name| e.value(name).unwrap_or_default().to_owned();
            (text("event_type"), text("action"), text("rule"))
        })
        .collect()
}

#[test]
fn fires_after_n_breaching_periods_and_resolves_after_m_clear_ones() {
    let metrics = MetricsLayer::new();
    let value = Arc::new(AtomicU64::new(0));
    let fired = Arc::new(Mutex::new(Vec::new()));
    let resolved = Arc::new(Mutex::new(Vec::new()));
    let audit = Capture::default();
    let mut alerts = Alerts::new()
        .rule({
            let value = Arc::clone(&value);
            Rule::custom("queue_depth", move |_| {
                Some(value.load(Ordering::SeqCst) as f64)
            })
            .above(100.0)
            .for_periods(2)
            .resolve_after(3)
        })
        .on_fire({
            let fired = Arc::clone(&fired);
            move |t| fired.lock().unwrap().push(t.clone())
        })
        .on_resolve({
            let resolved = Arc::clone(&resolved);
            move |t| resolved.lock().unwrap().push(t.clone())
        });
    let subscriber = tracing_subscriber::registry()
        .with(metrics.clone())
        .with(audit.clone());
    tracing::subscriber::with_default(subscriber, || {
        // value per period, and whether the alert fires (F) or resolves (R) then
        let script: [(u64, Option<TransitionKind>); 10] = [
            (50, None),
            (150, None), // one breach: not yet
            (20, None),  // the streak resets
            (150, None),
            (200, Some(TransitionKind::Fired)), // two in a row
            (300, None),                        // still firing, no new transition
            (10, None),
            (10, None),
            (10, Some(TransitionKind::Resolved)), // three clear in a row
            (10, None),
        ];
        for (period, (v, expected)) in script.iter().enumerate() {
            value.store(*v, Ordering::SeqCst);
            let transitions = alerts.evaluate(&metrics);
            assert_eq!(
                transitions.iter().map(|t| t.kind).next(),
                *expected,
                "period {period}"
            );
        }
    });
    assert_eq!(
        alerts.states(),
        vec![("queue_depth".to_owned(), AlertState::Ok)]
    );
    let fired = fired.lock().unwrap();
    assert_eq!(fired.len(), 1);
    assert_eq!((fired[0].value, fired[0].threshold), (Some(200.0), 100.0));
    assert_eq!(resolved.lock().unwrap().len(), 1);
    let events = audit_events(&audit);
    assert_eq!(
        events,
        vec![
            ("ALERT".into(), "alert_fired".into(), "queue_depth".into()),
            (
                "ALERT".into(),
                "alert_resolved".into(),
                "queue_depth".into()
            ),
        ]
    );
}

#[test]
fn latency_error_rate_and_availability_rules_read_real_spans() {
    let metrics = MetricsLayer::new();
    let mut alerts = Alerts::new()
        .rule(
            Rule::p95("checkout")
                .above(Duration::from_millis(2))
                .for_periods(2)
                .over(Window::SinceStart),
        )
        .rule(
            Rule::error_rate("checkout")
                .above(0.05)
                .over(Window::SinceStart),
        )
        .rule(
            Rule::availability("checkout")
                .below(0.95)
                .over(Window::SinceStart),
        )
        .rule(
            Rule::p95("idle")
                .above(Duration::from_millis(1))
                .over(Window::SinceStart),
        );
    tracing::subscriber::with_default(tracing_subscriber::registry().with(metrics.clone()), || {
        for i in 0..10 {
            let _span = tracing::info_span!("checkout", error = i % 2 == 0).entered();
            std::thread::sleep(Duration::from_millis(5));
        }
        let first = alerts.evaluate(&metrics);
        let names: Vec<_> = first.iter().map(|t| t.rule.as_str()).collect();
        assert_eq!(
            names,
            [
                "error_rate(checkout) > 0.05",
                "availability(checkout) < 0.95"
            ]
        );
        let second = alerts.evaluate(&metrics);
        assert_eq!(
            second.len(),
            1,
            "the p95 rule needs two periods: {second:?}"
        );
        assert!(second[0].value.unwrap() >= 5.0);
        // A flood of fast successes brings everything back under the bars.
        for _ in 0..2_000 {
            drop(tracing::info_span!("checkout"));
        }
        let third = alerts.evaluate(&metrics);
        assert!(third.iter().all(|t| t.kind == TransitionKind::Resolved));
        assert_eq!(third.len(), 2, "ratios resolve at once: {third:?}");
        let fourth = alerts.evaluate(&metrics);
        assert_eq!(
            fourth.len(),
            1,
            "the p95 rule resolves after two clear periods"
        );
    });
    assert!(alerts.states().iter().all(|(_, s)| *s == AlertState::Ok));
}

#[test]
fn a_spawned_evaluator_fires_on_its_own() {
    let metrics = MetricsLayer::new();
    let dispatch = tracing::Dispatch::new(tracing_subscriber::registry().with(metrics.clone()));
    tracing::dispatcher::with_default(&dispatch, || {
        for _ in 0..5 {
            drop(tracing::info_span!("pay", error = true));
        }
    });
    let handle = Alerts::new()
        .rule(Rule::error_rate("pay").above(0.5).over(Window::SinceStart))
        .spawn(metrics, Duration::from_millis(20));
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    while handle.states()[0].1 != AlertState::Firing {
        assert!(std::time::Instant::now() < deadline, "never fired");
        std::thread::sleep(Duration::from_millis(10));
    }
    drop(handle);
}

/// A rule naming an operation that never happens, while others do, says so
/// once; a rule whose operation is seen says nothing.
#[test]
fn a_rule_naming_an_operation_never_seen_warns_once() {
    let metrics = MetricsLayer::new();
    let capture = Capture::default();
    let subscriber = tracing_subscriber::registry()
        .with(metrics.clone())
        .with(capture.clone());
    let mut alerts = Alerts::new()
        .rule(Rule::error_rate("chekout").above(0.5))
        .rule(Rule::error_rate("checkout").above(0.5));
    tracing::subscriber::with_default(subscriber, || {
        // No traffic yet: nothing to compare with, no warning.
        alerts.evaluate(&metrics);
        drop(tracing::info_span!("checkout").entered());
        for _ in 0..3 {
            alerts.evaluate(&metrics);
        }
    });
    let warnings: Vec<String> = capture
        .seen()
        .iter()
        .filter(|e| e.metadata.target() == "warden::metrics")
        .map(|e| e.value("message").unwrap_or_default().to_owned())
        .collect();
    assert_eq!(warnings.len(), 1, "{warnings:?}");
    assert!(
        warnings[0].contains("\"chekout\"") && warnings[0].contains("checkout"),
        "{warnings:?}"
    );
}
