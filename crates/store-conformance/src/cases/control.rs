//! The operator's transitions on jobs that are not running: what each does, and what
//! each refuses.

use bgtasks_abstractions::{JobInfo, JobStatus};
use bgtasks_store::{JobStore, Refusal, Transition};

use crate::DynStoreFactory;
use crate::support::{claim, queued, record, seed, t};

fn refused_as(outcome: &Transition, status: JobStatus) {
    match outcome {
        Err(Refusal::StateChanged(current)) => assert_eq!(current.job.status, status),
        other => panic!("expected a refusal naming status {status}, got {other:?}"),
    }
}

async fn stored_as(store: &dyn JobStore, id: &str) -> (JobStatus, Option<i64>) {
    let job = record(store, id).await.job;
    (
        job.status,
        job.next_run_time.map(|n| n.timestamp() - t(0).timestamp()),
    )
}

/// R26, R37: pause and resume, each under its condition.
pub async fn pause_and_resume(factory: &dyn DynStoreFactory) {
    let store = factory.fresh().await;
    let mut retrying = queued("retrying", 500);
    retrying.status = JobStatus::FailedRetry;
    retrying.try_count = 2;
    let mut period = JobInfo::period("cron", "t", "0/10 * * * * ?");
    period.status = JobStatus::Running;
    period.trigger_count = 4;
    period.next_run_time = Some(t(10));
    seed(store.as_ref(), &[queued("j", 0), retrying, period]).await;
    let paused = store.pause("j").await.unwrap().unwrap();
    assert_eq!(paused.job.status, JobStatus::Paused);
    assert!(
        claim(store.as_ref(), "a", 5, 10)
            .await
            .iter()
            .all(|r| r.job.id != "j")
    );
    refused_as(&store.pause("j").await.unwrap(), JobStatus::Paused);
    let resumed = store.resume("j", t(200)).await.unwrap().unwrap();
    assert_eq!(
        (resumed.job.status, resumed.job.next_run_time),
        (JobStatus::Queuing, Some(t(200))),
        "due at once when resumed"
    );
    refused_as(
        &store.resume("j", t(200)).await.unwrap(),
        JobStatus::Queuing,
    );

    store.pause("retrying").await.unwrap().unwrap();
    store.resume("retrying", t(5)).await.unwrap().unwrap();
    assert_eq!(
        stored_as(store.as_ref(), "retrying").await,
        (JobStatus::FailedRetry, Some(500)),
        "a retry still ahead keeps its time"
    );
    store.pause("cron").await.unwrap().unwrap();
    store.resume("cron", t(33)).await.unwrap().unwrap();
    assert_eq!(
        stored_as(store.as_ref(), "cron").await,
        (JobStatus::Running, Some(40)),
        "a Period job resumes at its first tick from now: missed ticks are not replayed"
    );
    assert_eq!(store.pause("none").await.unwrap(), Err(Refusal::NotFound));
    assert_eq!(
        store.resume("none", t(0)).await.unwrap(),
        Err(Refusal::NotFound)
    );
}

/// R26, R37: stop and start, each under its condition.
pub async fn stop_and_start(factory: &dyn DynStoreFactory) {
    let store = factory.fresh().await;
    let mut done = queued("done", 0);
    done.status = JobStatus::Completed;
    done.next_run_time = None;
    let mut abandoned = queued("abandoned", 0);
    abandoned.status = JobStatus::Stopped;
    abandoned.is_abandoned = true;
    abandoned.try_count = 50;
    abandoned.trigger_count = 50;
    abandoned.next_run_time = None;
    seed(store.as_ref(), &[queued("j", 0), done, abandoned]).await;
    let stopped = store.stop("j").await.unwrap().unwrap();
    assert_eq!(
        (
            stopped.job.status,
            stopped.job.next_run_time,
            stopped.job.is_abandoned
        ),
        (JobStatus::Stopped, None, false)
    );
    refused_as(&store.stop("j").await.unwrap(), JobStatus::Stopped);
    refused_as(&store.stop("done").await.unwrap(), JobStatus::Completed);
    refused_as(
        &store.start("done", t(0)).await.unwrap(),
        JobStatus::Completed,
    );
    let started = store.start("abandoned", t(70)).await.unwrap().unwrap();
    assert_eq!(
        (
            started.job.status,
            started.job.is_abandoned,
            started.job.try_count,
            started.job.trigger_count,
            started.job.next_run_time
        ),
        (JobStatus::Running, false, 0, 50, Some(t(70))),
        "started again: tries back, counted runs kept, due now"
    );
    assert_eq!(store.stop("none").await.unwrap(), Err(Refusal::NotFound));
    assert_eq!(
        store.start("none", t(0)).await.unwrap(),
        Err(Refusal::NotFound)
    );
}

/// R26, R37: a trigger makes any job due now; an abandoned one gets its tries back.
pub async fn trigger_runs_a_job_now(factory: &dyn DynStoreFactory) {
    let store = factory.fresh().await;
    let mut done = queued("done", 0);
    done.status = JobStatus::Completed;
    done.trigger_count = 1;
    done.next_run_time = None;
    let mut abandoned = queued("abandoned", 0);
    abandoned.status = JobStatus::Stopped;
    abandoned.is_abandoned = true;
    abandoned.try_count = 3;
    abandoned.next_run_time = None;
    seed(store.as_ref(), &[queued("later", 900), done, abandoned]).await;
    for id in ["later", "done", "abandoned"] {
        store.trigger(id, t(5)).await.unwrap().unwrap();
    }
    assert_eq!(
        stored_as(store.as_ref(), "later").await,
        (JobStatus::Queuing, Some(5))
    );
    assert_eq!(
        stored_as(store.as_ref(), "done").await,
        (JobStatus::Running, Some(5))
    );
    let abandoned = record(store.as_ref(), "abandoned").await.job;
    assert_eq!(
        (
            abandoned.status,
            abandoned.is_abandoned,
            abandoned.try_count
        ),
        (JobStatus::Queuing, false, 0)
    );
    assert_eq!(
        claim(store.as_ref(), "a", 5, 10).await.len(),
        3,
        "all three due now"
    );
    assert_eq!(
        store.trigger("none", t(0)).await.unwrap(),
        Err(Refusal::NotFound)
    );
}
