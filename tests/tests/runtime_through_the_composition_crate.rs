//! The whole runtime, wired by the `bgtasks` crate, observed through real runs.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use bgtasks::TokioClock;
use bgtasks::prelude::*;
use bgtasks::{BoxError, InMemoryJobStore, RunReport};
use tokio::sync::broadcast;

fn builder(store: Arc<InMemoryJobStore>) -> bgtasks::RuntimeBuilder {
    BackgroundTasks::builder()
        .clock(Arc::new(TokioClock::new()))
        .store(store)
}

async fn runs(reports: &mut broadcast::Receiver<RunReport>, within: Duration) -> Vec<RunReport> {
    let deadline = tokio::time::Instant::now() + within;
    let mut all = Vec::new();
    while let Ok(Ok(report)) = tokio::time::timeout_at(deadline, reports.recv()).await {
        all.push(report);
    }
    all
}

fn fails_then_succeeds(failures: usize, error: JobError) -> impl JobRunnable {
    let count = Arc::new(AtomicUsize::new(0));
    job_fn(move |_ctx: JobRunnableContext| {
        let count = count.clone();
        let error = error.clone();
        async move {
            if count.fetch_add(1, Ordering::SeqCst) < failures {
                Err(error)
            } else {
                Ok(())
            }
        }
    })
}

#[tokio::test(start_paused = true)]
async fn a_job_failing_twice_with_a_network_failure_then_succeeding_completes() {
    // spec: R13, R14, R15, R18, R19
    let store = Arc::new(InMemoryJobStore::new());
    let runtime = builder(store.clone())
        .runnable(
            "sync",
            fails_then_succeeds(2, JobError::timeout("upstream timed out")),
        )
        .build()
        .unwrap();
    let mut reports = runtime.subscribe();
    runtime.start().await.unwrap();
    runtime
        .queue(JobInfo::once("sync-1", "sync"))
        .await
        .unwrap();
    let all = runs(&mut reports, Duration::from_secs(3600)).await;
    assert_eq!(all.len(), 3);
    assert_eq!(all[0].exception_type, Some(JobExceptionType::NETWORK));
    assert_eq!(all[1].exception_type, Some(JobExceptionType::NETWORK));
    assert!(all[2].succeeded());
    let job = store.find("sync-1").await.unwrap().unwrap().job;
    assert_eq!(job.status, JobStatus::Completed);
    assert_eq!(job.try_count, 0);
    assert_eq!(job.interval, 675, "grown twice: 300 → 450 → 675");
    assert_eq!(job.trigger_count, 3);
    runtime.shutdown().await.unwrap();
}

#[tokio::test(start_paused = true)]
async fn a_job_that_always_fails_with_max_try_count_three_is_abandoned_after_three_runs() {
    // spec: R17
    let store = Arc::new(InMemoryJobStore::new());
    let runtime = builder(store.clone())
        .runnable(
            "doomed",
            fails_then_succeeds(usize::MAX, JobError::business("invoice is void")),
        )
        .build()
        .unwrap();
    let mut reports = runtime.subscribe();
    runtime.start().await.unwrap();
    runtime
        .queue(JobInfo::once("doomed-1", "doomed").with_max_try_count(3))
        .await
        .unwrap();
    let all = runs(&mut reports, Duration::from_secs(24 * 3600)).await;
    assert_eq!(all.len(), 3);
    assert!(
        all.iter()
            .all(|r| r.exception_type == Some(JobExceptionType::BUSINESS))
    );
    let job = store.find("doomed-1").await.unwrap().unwrap().job;
    assert_eq!(job.status, JobStatus::Stopped);
    assert!(job.is_abandoned);
    assert_eq!(job.next_run_time, None);
    assert_eq!(job.try_count, 3);
    runtime.shutdown().await.unwrap();
}

#[tokio::test(start_paused = true)]
async fn a_persistent_job_with_max_count_five_runs_exactly_five_times() {
    // spec: R3, R6
    let store = Arc::new(InMemoryJobStore::new());
    let count = Arc::new(AtomicUsize::new(0));
    let counter = count.clone();
    let runtime = builder(store.clone())
        .runnable(
            "tick",
            job_fn(move |_ctx: JobRunnableContext| {
                let counter = counter.clone();
                async move {
                    counter.fetch_add(1, Ordering::SeqCst);
                    Ok::<(), JobError>(())
                }
            }),
        )
        .build()
        .unwrap();
    let mut reports = runtime.subscribe();
    runtime.start().await.unwrap();
    runtime
        .queue(JobInfo::persistent("tick-1", "tick", 2, 5))
        .await
        .unwrap();
    let all = runs(&mut reports, Duration::from_secs(600)).await;
    assert_eq!(all.len(), 5);
    assert_eq!(count.load(Ordering::SeqCst), 5);
    assert_eq!(
        store.find("tick-1").await.unwrap().unwrap().job.status,
        JobStatus::Completed
    );
    runtime.shutdown().await.unwrap();
}

struct PanickingListener;

impl JobEvent for PanickingListener {
    async fn on_after_executed(&self, _: &JobEventContext) -> Result<(), BoxError> {
        panic!("a bug in a listener");
    }
}

struct CountingListener(Arc<AtomicUsize>);

impl JobEvent for CountingListener {
    async fn on_after_executed(&self, _: &JobEventContext) -> Result<(), BoxError> {
        self.0.fetch_add(1, Ordering::SeqCst);
        Ok(())
    }
}

#[tokio::test(start_paused = true)]
async fn a_panicking_listener_does_not_stop_the_other_listener_or_the_job() {
    // spec: R10
    let store = Arc::new(InMemoryJobStore::new());
    let heard = Arc::new(AtomicUsize::new(0));
    let runtime = builder(store.clone())
        .listener(Arc::new(PanickingListener))
        .listener(Arc::new(CountingListener(heard.clone())))
        .runnable("ok", fails_then_succeeds(0, JobError::new("unused")))
        .build()
        .unwrap();
    let mut reports = runtime.subscribe();
    runtime.start().await.unwrap();
    runtime
        .queue(JobInfo::persistent("p", "ok", 1, 3))
        .await
        .unwrap();
    let all = runs(&mut reports, Duration::from_secs(60)).await;
    assert_eq!(all.len(), 3, "the job kept running");
    assert!(all.iter().all(RunReport::succeeded));
    assert_eq!(
        heard.load(Ordering::SeqCst),
        3,
        "the other listener heard every run"
    );
    assert_eq!(
        store.find("p").await.unwrap().unwrap().job.status,
        JobStatus::Completed
    );
    runtime.shutdown().await.unwrap();
}
