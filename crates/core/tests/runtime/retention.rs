//! Retention (R46): run logs are kept by age and by count per job, on by default, by a
//! supervised loop on every node.

use std::sync::Arc;
use std::sync::atomic::AtomicUsize;
use std::time::Duration;

use bgtasks_abstractions::JobInfo;
use bgtasks_core::JobScheduler;
use bgtasks_core::store::RunLogs;

use crate::common::{builder, counting, reports_within, start};

#[tokio::test(start_paused = true)]
async fn the_retention_loop_keeps_the_newest_logs_of_each_job() {
    // spec: R46
    let (b, store) = builder();
    let (runtime, mut reports) = start(
        b.configure(|o| {
            o.retention.logs_per_job = Some(3);
            o.retention.interval = Duration::from_secs(60);
        })
        .runnable("t", counting(Arc::new(AtomicUsize::new(0)))),
    )
    .await;
    runtime
        .queue(
            JobInfo::persistent("every-second", "t", 1, 10).with_begin_time(runtime.clock().now()),
        )
        .await
        .unwrap();
    let runs = reports_within(&mut reports, Duration::from_secs(15)).await;
    assert_eq!(runs.len(), 10);
    runtime.flush_logs().await;
    assert_eq!(
        store.list_logs("every-second", 100).await.unwrap().len(),
        10
    );
    tokio::time::sleep(Duration::from_secs(61)).await;
    let kept = store.list_logs("every-second", 100).await.unwrap();
    assert_eq!(kept.len(), 3, "the loop pruned the job's oldest logs");
    let newest = runs.iter().map(|r| r.run_time).max().unwrap();
    assert!(
        kept.iter().any(|l| l.run_time == newest),
        "the newest are kept"
    );
    let health = runtime.health();
    let retention = health
        .loop_named("retention")
        .expect("retention is a supervised loop");
    assert!(retention.last_iteration.is_some() && retention.next_iteration.is_some());
    assert!(health.is_ready(runtime.clock().now() - chrono::Duration::seconds(30)));
    runtime.shutdown().await.unwrap();
}

#[test]
fn retention_is_on_by_default() {
    // spec: R46
    let options = bgtasks_abstractions::BackgroundTasksOptions::default();
    assert!(options.retention.enabled);
    assert_eq!(options.retention.logs_per_job, Some(1000));
    assert_eq!(
        options.retention.log_max_age,
        Some(Duration::from_secs(30 * 86400))
    );
    assert_eq!(
        options.retention.notification_max_age,
        Some(Duration::from_secs(7 * 86400))
    );
}
