//! The metrics layer with real spans: sync and async, entered many times,
//! closed on other threads, errors both ways, operation fields, the
//! cardinality bound.

use std::time::Duration;

use tracing::Instrument;
use tracing_subscriber::prelude::*;
use warden_metrics::{MetricsLayer, OVERFLOW, Timing, Window};

fn with<R>(metrics: &MetricsLayer, f: impl FnOnce() -> R) -> R {
    tracing::subscriber::with_default(tracing_subscriber::registry().with(metrics.clone()), f)
}

#[test]
fn counts_durations_and_in_flight_per_operation() {
    let metrics = MetricsLayer::new();
    with(&metrics, || {
        for i in 0..20u64 {
            let _span = tracing::info_span!("checkout").entered();
            std::thread::sleep(Duration::from_millis(if i < 19 { 1 } else { 30 }));
        }
        let _open = tracing::info_span!("checkout");
        let _other = tracing::info_span!("search").entered();
        let snapshot = metrics.snapshot(Window::SinceStart);
        let checkout = snapshot.get("checkout").unwrap();
        assert_eq!(
            (checkout.count, checkout.errors, checkout.in_flight),
            (20, 0, 1)
        );
        assert!(
            checkout.p50 >= Duration::from_millis(1) && checkout.p50 < Duration::from_millis(25),
            "{:?}",
            checkout.p50
        );
        assert!(checkout.max >= Duration::from_millis(30));
        assert!(
            checkout.p99 >= Duration::from_millis(29),
            "{:?}",
            checkout.p99
        );
        assert_eq!(snapshot.get("search").unwrap().in_flight, 1);
        assert_eq!(
            metrics
                .snapshot(Window::CurrentMinute)
                .get("checkout")
                .unwrap()
                .count,
            20
        );
        let table = snapshot.to_string();
        assert!(
            table.lines().next().unwrap().starts_with("operation"),
            "{table}"
        );
        assert!(
            table.contains("checkout") && table.contains("p95 ms"),
            "{table}"
        );
    });
    assert_eq!(
        metrics
            .snapshot(Window::SinceStart)
            .get("search")
            .unwrap()
            .in_flight,
        0
    );
}

#[test]
fn errors_are_found_from_fields_status_and_error_events_with_codes() {
    let metrics = MetricsLayer::new();
    with(&metrics, || {
        drop(tracing::info_span!("pay", error = true));
        drop(tracing::info_span!("pay", error = false));
        drop(tracing::info_span!("pay", otel.status_code = "ERROR"));
        let span = tracing::info_span!("pay", error.code = tracing::field::Empty);
        span.in_scope(|| tracing::error!("card declined"));
        span.record("error.code", "card_declined");
        drop(span);
        let late = tracing::info_span!("pay", error = tracing::field::Empty);
        late.record("error", "timeout");
        drop(late);
        tracing::info_span!("pay").in_scope(|| tracing::warn!("only a warning"));
    });
    let pay = metrics.snapshot(Window::SinceStart);
    let pay = pay.get("pay").unwrap();
    assert_eq!((pay.count, pay.errors), (6, 4));
    assert!((pay.error_rate - 4.0 / 6.0).abs() < 1e-9);
    assert!((pay.availability - 2.0 / 6.0).abs() < 1e-9);
    assert_eq!(pay.errors_by_code.get("card_declined"), Some(&1));
}

#[test]
fn the_operation_can_come_from_a_field_even_one_recorded_later() {
    let metrics = MetricsLayer::builder()
        .operation_field("http.route")
        .build();
    with(&metrics, || {
        drop(tracing::info_span!("request", http.route = "/orders/{id}"));
        drop(tracing::info_span!("request", http.route = "/orders/{id}"));
        let span = tracing::info_span!("request", http.route = tracing::field::Empty);
        span.record("http.route", "/users");
        drop(span);
        drop(tracing::info_span!("background_job"));
    });
    let snapshot = metrics.snapshot(Window::SinceStart);
    assert_eq!(snapshot.get("/orders/{id}").unwrap().count, 2);
    assert_eq!(snapshot.get("/users").unwrap().count, 1);
    assert_eq!(snapshot.get("/users").unwrap().in_flight, 0);
    assert_eq!(snapshot.get("background_job").unwrap().count, 1);
    assert!(
        snapshot
            .get("request")
            .is_none_or(|r| r.count == 0 && r.in_flight == 0)
    );
}

#[test]
fn async_spans_entered_many_times_count_once_and_busy_time_leaves_out_waiting() {
    let wall = MetricsLayer::new();
    let busy = MetricsLayer::builder().timing(Timing::Busy).build();
    let subscriber = tracing_subscriber::registry()
        .with(wall.clone())
        .with(busy.clone());
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    tracing::subscriber::with_default(subscriber, || {
        runtime.block_on(async {
            let tasks: Vec<_> = (0..8)
                .map(|_| {
                    tokio::spawn(
                        async {
                            for _ in 0..5 {
                                tokio::time::sleep(Duration::from_millis(10)).await;
                            }
                        }
                        .instrument(tracing::info_span!("poll_loop")),
                    )
                })
                .collect();
            for task in tasks {
                task.await.unwrap();
            }
        });
    });
    let wall = wall.snapshot(Window::SinceStart);
    let busy = busy.snapshot(Window::SinceStart);
    let (w, b) = (
        wall.get("poll_loop").unwrap(),
        busy.get("poll_loop").unwrap(),
    );
    assert_eq!(
        (w.count, b.count),
        (8, 8),
        "one sample per span, however often entered"
    );
    assert!(w.p50 >= Duration::from_millis(50), "{:?}", w.p50);
    assert!(
        b.p50 < Duration::from_millis(10),
        "busy time leaves out the sleeps: {:?}",
        b.p50
    );
}

#[test]
fn spans_closed_on_another_thread_are_counted() {
    let metrics = MetricsLayer::new();
    let dispatch = tracing::Dispatch::new(tracing_subscriber::registry().with(metrics.clone()));
    let spans: Vec<_> = tracing::dispatcher::with_default(&dispatch, || {
        (0..10).map(|_| tracing::info_span!("handoff")).collect()
    });
    std::thread::spawn(move || drop(spans)).join().unwrap();
    let snapshot = metrics.snapshot(Window::SinceStart);
    let handoff = snapshot.get("handoff").unwrap();
    assert_eq!((handoff.count, handoff.in_flight), (10, 0));
}

#[test]
fn operations_beyond_the_bound_are_counted_as_overflow() {
    let metrics = MetricsLayer::builder()
        .operation_field("op")
        .max_operations(3)
        .build();
    with(&metrics, || {
        for i in 0..50 {
            let name = format!("op-{}", i % 10);
            drop(tracing::info_span!("work", op = name.as_str()));
        }
    });
    let snapshot = metrics.snapshot(Window::SinceStart);
    let named: u64 = snapshot
        .operations
        .iter()
        .filter(|o| o.operation != OVERFLOW)
        .map(|o| o.count)
        .sum();
    assert_eq!(
        snapshot.operations.len(),
        4,
        "three operations and the overflow series"
    );
    assert_eq!(
        named + snapshot.overflow().unwrap().count,
        50,
        "nothing is lost"
    );
    assert_eq!(snapshot.overflow().unwrap().count, 35);
    assert!(snapshot.overflowed >= 35);
}

/// A span renamed by its operation field leaves no empty row behind.
#[test]
fn a_renamed_span_leaves_no_empty_row() {
    let metrics = MetricsLayer::builder()
        .operation_field("http.route")
        .build();
    let subscriber = tracing_subscriber::registry().with(metrics.clone());
    tracing::subscriber::with_default(subscriber, || {
        let span = tracing::info_span!("request", http.route = tracing::field::Empty);
        span.record("http.route", "/orders/{id}");
        drop(span);
    });
    let snapshot = metrics.snapshot(warden_metrics::Window::SinceStart);
    let rows: Vec<&str> = snapshot
        .operations
        .iter()
        .map(|o| o.operation.as_str())
        .collect();
    assert_eq!(rows, ["/orders/{id}"]);
}

/// Two metrics layers of different settings in one stack: the first keeps
/// its measure in warden's shared span record, the second beside it; both
/// count every span, error and operation by their own settings.
#[test]
fn two_metrics_layers_in_one_stack_each_count_by_their_own_settings() {
    let by_name = MetricsLayer::new();
    let by_route = MetricsLayer::builder()
        .operation_field("route")
        .timing(Timing::Busy)
        .build();
    let subscriber = tracing_subscriber::registry()
        .with(by_name.clone())
        .with(by_route.clone());
    tracing::subscriber::with_default(subscriber, || {
        for i in 0..4 {
            let span = tracing::info_span!("request", route = "/orders/{id}");
            let _entered = span.enter();
            if i == 0 {
                tracing::error!("failed");
            }
        }
        let open = tracing::info_span!("request", route = "/health");
        let by_route_now = by_route.snapshot(Window::SinceStart);
        assert_eq!(by_route_now.get("/health").map(|o| o.in_flight), Some(1));
        drop(open);
    });
    let names = by_name.snapshot(Window::SinceStart);
    let request = names.get("request").unwrap();
    assert_eq!(
        (request.count, request.errors, request.in_flight),
        (5, 1, 0)
    );
    let routes = by_route.snapshot(Window::SinceStart);
    let orders = routes.get("/orders/{id}").unwrap();
    assert_eq!((orders.count, orders.errors), (4, 1));
    let health = routes.get("/health").unwrap();
    assert_eq!((health.count, health.in_flight), (1, 0));
    assert!(routes.get("request").is_none());
}
