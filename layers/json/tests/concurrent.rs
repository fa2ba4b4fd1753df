//! 1,000 concurrent requests on a multi-thread runtime: every JSON line
//! carries its own request's ID and no other.

use std::collections::HashMap;

use tracing::Instrument;
use tracing_subscriber::prelude::*;
use warden_correlation::CorrelationLayer;
use warden_test_support::Buffer;

const TASKS: u64 = 1_000;
const STEPS: u64 = 5;

#[test]
fn every_line_carries_its_own_request_id() {
    let out = Buffer::default();
    let subscriber = tracing_subscriber::registry()
        .with(CorrelationLayer::default())
        .with(warden_json::layer().with_writer(out.clone()));
    tracing::subscriber::set_global_default(subscriber).unwrap();

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(4)
        .build()
        .unwrap();
    runtime.block_on(async {
        let handles: Vec<_> = (0..TASKS)
            .map(|task| {
                let id = format!("req-{task}");
                let span = tracing::info_span!("request", correlation_id = %id);
                tokio::spawn(
                    async move {
                        for step in 0..STEPS {
                            tracing::info!(task, step, "working");
                            tokio::task::yield_now().await;
                        }
                        // A task spawned from inside the request.
                        tokio::spawn(
                            async move { tracing::info!(task, step = STEPS, "child task") }
                                .in_current_span(),
                        )
                        .await
                        .unwrap();
                        // A plain thread the span is handed to.
                        let span = tracing::Span::current();
                        std::thread::spawn(move || {
                            span.in_scope(|| tracing::info!(task, step = STEPS + 1, "thread"))
                        })
                        .join()
                        .unwrap();
                    }
                    .instrument(span),
                )
            })
            .collect();
        for handle in handles {
            handle.await.unwrap();
        }
    });

    let lines = out.lines();
    assert_eq!(lines.len() as u64, TASKS * (STEPS + 2));
    let mut per_task: HashMap<u64, u64> = HashMap::new();
    for line in &lines {
        let task = line["task"].as_u64().unwrap();
        assert_eq!(
            line["correlation_id"],
            format!("req-{task}"),
            "a line of task {task} carries another ID: {line}"
        );
        assert_eq!(line["span"]["name"], "request");
        *per_task.entry(task).or_default() += 1;
    }
    assert_eq!(per_task.len() as u64, TASKS);
    assert!(per_task.values().all(|&n| n == STEPS + 2));
}
