//! 1,000 concurrent requests on a multi-thread runtime, under a global
//! default subscriber as services run (its own test binary: a process sets
//! the global default once).

use std::collections::{HashMap, HashSet};

use tracing::{Instrument, info, info_span};
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
mod common;

use common::Lines;
use warden_correlation::{CorrelationId, CorrelationIdExt, CorrelationLayer};

#[test]
fn a_thousand_concurrent_tasks_each_keep_their_own_id() {
    let lines = Lines::default();
    tracing_subscriber::registry()
        .with(CorrelationLayer::default())
        .with(lines.clone())
        .init();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(4)
        .enable_all()
        .build()
        .unwrap();
    let expected: HashMap<u64, CorrelationId> = runtime.block_on(async {
        let mut handles = Vec::new();
        for task in 0..1000u64 {
            let span = info_span!("request", task);
            let id = span.correlation_id().unwrap();
            let handle = tokio::spawn(
                async move {
                    info!(task, "start");
                    tokio::task::yield_now().await;
                    assert_eq!(CorrelationId::current(), Some(id.clone()), "task {task}");
                    // A child task spawned in the span keeps the ID.
                    let child = tokio::spawn(
                        async move {
                            tokio::task::yield_now().await;
                            info!(task, "child");
                            CorrelationId::current()
                        }
                        .in_current_span(),
                    );
                    assert_eq!(child.await.unwrap(), Some(id.clone()));
                    info!(task, "end");
                    (task, id)
                }
                .instrument(span),
            );
            handles.push(handle);
        }
        let mut expected = HashMap::new();
        for h in handles {
            let (task, id) = h.await.unwrap();
            expected.insert(task, id);
        }
        expected
    });

    let lines = lines.0.lock().unwrap();
    assert_eq!(lines.len(), 3000);
    for (task, id) in lines.iter() {
        let task = task.expect("every line names its task");
        assert_eq!(
            id.as_ref(),
            expected.get(&task),
            "a line of task {task} carries another ID"
        );
    }
    let distinct: HashSet<_> = expected.values().collect();
    assert_eq!(distinct.len(), 1000);
}
