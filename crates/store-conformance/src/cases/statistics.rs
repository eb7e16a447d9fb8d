//! Statistics: counts, the queue's lag, runs per stretch of time by failure type.

use std::time::Duration;

use bgtasks_abstractions::{JobExceptionType, JobStatus};

use crate::DynStoreFactory;
use crate::support::{claim_one, log, queued, seed, t};

/// Counts by status, type, group and the node running them; the due jobs and the
/// oldest of them (the queue's lag).
pub async fn counts_by_status_type_group_and_node_and_the_queue_lag(factory: &dyn DynStoreFactory) {
    let store = factory.fresh().await;
    let mut report = queued("report", 5);
    report.job_type = "report".into();
    report.group = "reports".into();
    let mut mail = queued("mail", 20);
    mail.job_type = "mail".into();
    let mut stopped = queued("stopped", 0);
    stopped.status = JobStatus::Stopped;
    stopped.is_abandoned = true;
    stopped.next_run_time = None;
    let mut later = queued("later", 500);
    later.group = "reports".into();
    seed(
        store.as_ref(),
        &[report, mail, stopped, later, queued("busy", 0)],
    )
    .await;
    claim_one(store.as_ref(), "node-a", 0).await;
    let counts = store.counts(t(30)).await.unwrap();
    assert_eq!(counts.total, 5);
    assert_eq!(counts.by_status.get(&JobStatus::Queuing.code()), Some(&4));
    assert_eq!(counts.by_status.get(&JobStatus::Stopped.code()), Some(&1));
    assert_eq!(counts.by_type.get("t"), Some(&3));
    assert_eq!(counts.by_type.get("report"), Some(&1));
    assert_eq!(counts.by_group.get("reports"), Some(&2));
    assert_eq!(counts.by_group.get("Default"), Some(&3));
    assert_eq!(counts.running_by_node.get("node-a"), Some(&1));
    assert_eq!(counts.running_by_node.len(), 1);
    assert_eq!(counts.abandoned, 1);
    assert_eq!(
        counts.due, 2,
        "report and mail; busy is running, later not due"
    );
    assert_eq!(counts.oldest_due, Some(t(5)));
    assert_eq!(counts.lag(t(30)), Duration::from_secs(25));
    let empty = factory.fresh().await.counts(t(0)).await.unwrap();
    assert_eq!((empty.total, empty.due, empty.oldest_due), (0, 0, None));
}

/// The run history: runs per stretch, succeeded, failed by failure type, interrupted.
pub async fn run_history_by_minute_and_failure_type(factory: &dyn DynStoreFactory) {
    let store = factory.fresh().await;
    let mut logs = vec![log("a", 0, "ok"), log("a", 10, "ok"), log("b", 59, "ok")];
    for (at, failure_type) in [
        (20, JobExceptionType::NETWORK),
        (30, JobExceptionType::NETWORK),
        (70, JobExceptionType::BUSINESS),
        (75, JobExceptionType::SYSTEM),
    ] {
        let mut failed = log("c", at, "boom");
        failed.exception = Some("boom".into());
        failed.exception_type = Some(failure_type);
        logs.push(failed);
    }
    let mut rescued = log("d", 80, "run interrupted; rescued to run again");
    rescued.exception = Some("the lease of node `x` expired".into());
    logs.push(rescued);
    logs.push(log("e", 200, "ok"));
    logs.push(log("too-old", -5, "ok"));
    store.append_logs(&logs).await.unwrap();
    let history = store
        .run_history(t(0), Duration::from_secs(60))
        .await
        .unwrap();
    let starts: Vec<_> = history.iter().map(|b| b.start).collect();
    assert_eq!(
        starts,
        [t(0), t(60), t(180)],
        "empty stretches are left out"
    );
    let first = &history[0];
    assert_eq!(first.succeeded, 3);
    assert_eq!(first.failed.get("network"), Some(&2));
    assert_eq!((first.interrupted, first.runs()), (0, 5));
    let second = &history[1];
    assert_eq!(second.succeeded, 0);
    assert_eq!(second.failed.get("business"), Some(&1));
    assert_eq!(second.failed.get("system"), Some(&1));
    assert_eq!(second.interrupted, 1);
    assert_eq!(history[2].succeeded, 1);
    assert!(
        store
            .run_history(t(1000), Duration::from_secs(60))
            .await
            .unwrap()
            .is_empty()
    );
}
