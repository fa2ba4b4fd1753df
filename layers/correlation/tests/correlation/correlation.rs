//! The correlation layer with real subscribers, threads and async tasks.

use tracing::{info, info_span};
use tracing_subscriber::layer::SubscriberExt;

use crate::common::Lines;
use warden_correlation::{CorrelationId, CorrelationIdExt, CorrelationLayer};

#[test]
fn children_inherit_and_roots_differ() {
    let subscriber = tracing_subscriber::registry().with(CorrelationLayer::default());
    tracing::subscriber::with_default(subscriber, || {
        let a = info_span!("a");
        let b = info_span!("b");
        let child = info_span!(parent: &a, "child");
        let grandchild = info_span!(parent: &child, "grandchild");
        let id_a = a.correlation_id().unwrap();
        assert_eq!(child.correlation_id(), Some(id_a.clone()));
        assert_eq!(grandchild.correlation_id(), Some(id_a.clone()));
        assert_ne!(b.correlation_id(), Some(id_a.clone()));
        assert_eq!(id_a.as_uuid().unwrap().get_version_num(), 7);
        // Contextual children too.
        let _entered = b.enter();
        let contextual = info_span!("contextual");
        assert_eq!(contextual.correlation_id(), b.correlation_id());
        assert_eq!(CorrelationId::current(), b.correlation_id());
    });
}

#[test]
fn the_id_comes_from_the_field_and_a_later_record() {
    let subscriber =
        tracing_subscriber::registry().with(CorrelationLayer::default().field_name("request_id"));
    tracing::subscriber::with_default(subscriber, || {
        let given = info_span!("req", request_id = "req-7f3a");
        assert_eq!(given.correlation_id().unwrap().to_string(), "req-7f3a");
        let bad = info_span!("req", request_id = "has a space");
        assert!(
            bad.correlation_id().unwrap().as_uuid().is_some(),
            "an invalid ID is ignored"
        );
        let later = info_span!("req", request_id = tracing::field::Empty);
        let before = later.correlation_id().unwrap();
        later.record("request_id", "from-header-1");
        assert_ne!(later.correlation_id(), Some(before));
        assert_eq!(later.correlation_id().unwrap().to_string(), "from-header-1");
        let child = info_span!(parent: &later, "child");
        assert_eq!(child.correlation_id().unwrap().to_string(), "from-header-1");
    });
}

#[test]
fn events_and_other_threads_see_the_span_id() {
    let lines = Lines::default();
    let subscriber = tracing_subscriber::registry()
        .with(CorrelationLayer::default())
        .with(lines.clone());
    let dispatch = tracing::Dispatch::new(subscriber);
    tracing::dispatcher::with_default(&dispatch, || {
        let span = info_span!("job");
        let id = span.correlation_id().unwrap();
        span.in_scope(|| info!(task = 1u64, "here"));
        let moved = span.clone();
        let d = dispatch.clone();
        let seen = std::thread::spawn(move || {
            tracing::dispatcher::with_default(&d, || {
                moved.in_scope(|| {
                    info!(task = 2u64, "there");
                    CorrelationId::current()
                })
            })
        })
        .join()
        .unwrap();
        assert_eq!(seen, Some(id.clone()));
        let lines = lines.0.lock().unwrap();
        assert_eq!(
            *lines,
            vec![(Some(1), Some(id.clone())), (Some(2), Some(id))]
        );
    });
}
