//! Queueing and controlling jobs (R26), locks (R28) and bad input.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use bgtasks_abstractions::{
    Interruption, JobDefinitionError, JobError, JobInfo, JobRunnableContext, JobStatus, job_fn,
};
use bgtasks_core::store::{JobDefinitions, RunLogs};
use bgtasks_core::{InMemoryJobLockProvider, JobLockProvider, JobScheduler, SchedulerError};

use crate::common::{builder, counting, next_report, reports_within, sleeping, start};

#[tokio::test(start_paused = true)]
async fn queue_refuses_duplicates_and_invalid_definitions() {
    // spec: R26
    let (b, store) = builder();
    let (runtime, _reports) = start(b.runnable("t", counting(Arc::default()))).await;
    let later = runtime.clock().now() + chrono::Duration::hours(1);
    assert!(
        runtime
            .queue(JobInfo::once("j", "t").with_begin_time(later))
            .await
            .unwrap()
    );
    assert!(
        !runtime.queue(JobInfo::once("j", "t")).await.unwrap(),
        "a duplicate id returns false"
    );
    let err = runtime
        .queue(JobInfo::period("report", "t", "61 * * * * ?"))
        .await
        .unwrap_err();
    assert!(
        err.to_string()
            .starts_with("job `report`: invalid cron expression `61 * * * * ?`"),
        "{err}"
    );
    let err = runtime
        .queue(JobInfo::period("empty", "t", ""))
        .await
        .unwrap_err();
    assert!(matches!(
        err,
        SchedulerError::InvalidJob(JobDefinitionError::MissingCron { .. })
    ));
    let err = runtime
        .queue(JobInfo::once("neg", "t").with_max_count(-1))
        .await
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "job `neg`: max count must not be negative, got -1"
    );
    let batch = vec![JobInfo::once("a", "t"), JobInfo::period("b", "t", "nope")];
    assert!(runtime.queue_many(batch).await.is_err());
    assert!(
        store.find("a").await.unwrap().is_none(),
        "an invalid batch queues nothing"
    );
    let job = store.find("j").await.unwrap().unwrap().job;
    assert_eq!(job.status, JobStatus::Queuing);
    assert!(runtime.exists("j").await.unwrap());
    assert!(!runtime.exists("nope").await.unwrap());
    runtime.shutdown().await.unwrap();
}

#[tokio::test(start_paused = true)]
async fn trigger_runs_now_and_queues_when_absent() {
    // spec: R26
    let (b, _) = builder();
    let (runtime, mut reports) = start(b.runnable("t", counting(Arc::default()))).await;
    let later = runtime.clock().now() + chrono::Duration::hours(5);
    runtime
        .queue(JobInfo::once("later", "t").with_begin_time(later))
        .await
        .unwrap();
    runtime
        .trigger(JobInfo::once("later", "t"))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        next_report(&mut reports, Duration::from_secs(1))
            .await
            .unwrap()
            .job_id,
        "later"
    );
    runtime
        .trigger(JobInfo::once("fresh", "t"))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        next_report(&mut reports, Duration::from_secs(1))
            .await
            .unwrap()
            .job_id,
        "fresh"
    );
    // A completed job runs again when triggered.
    runtime
        .trigger(JobInfo::once("fresh", "t"))
        .await
        .unwrap()
        .unwrap();
    let again = next_report(&mut reports, Duration::from_secs(1))
        .await
        .unwrap();
    assert_eq!(again.job.unwrap().trigger_count, 2);
    runtime.shutdown().await.unwrap();
}

#[tokio::test(start_paused = true)]
async fn pause_interrupts_the_run_and_resume_runs_it_again() {
    // spec: R26
    let (b, store) = builder();
    let (runtime, mut reports) = start(b.runnable("slow", sleeping(Duration::from_secs(60)))).await;
    runtime
        .queue(JobInfo::once("slow-1", "slow"))
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert_eq!(runtime.running_count(), 1);
    assert!(runtime.pause("slow-1").await.unwrap().is_ok());
    let report = next_report(&mut reports, Duration::from_secs(5))
        .await
        .unwrap();
    assert_eq!(report.interruption, Some(Interruption::Paused));
    let job = store.find("slow-1").await.unwrap().unwrap().job;
    assert_eq!(
        (job.status, job.trigger_count, job.try_count),
        (JobStatus::Paused, 0, 0),
        "an interruption is not a failure"
    );
    assert!(
        reports_within(&mut reports, Duration::from_secs(120))
            .await
            .is_empty(),
        "paused jobs do not run"
    );
    assert!(runtime.exists("slow-1").await.unwrap());
    assert!(runtime.resume("slow-1").await.unwrap().is_ok());
    assert!(
        runtime.resume("slow-1").await.unwrap().is_err(),
        "only paused jobs resume"
    );
    let report = next_report(&mut reports, Duration::from_secs(61))
        .await
        .unwrap();
    assert!(report.succeeded());
    assert_eq!(report.job.unwrap().status, JobStatus::Completed);
    runtime.shutdown().await.unwrap();
}

#[tokio::test(start_paused = true)]
async fn remove_interrupts_the_run_and_deletes_the_job() {
    // spec: R26
    let (b, store) = builder();
    let (runtime, mut reports) = start(b.runnable("slow", sleeping(Duration::from_secs(60)))).await;
    runtime
        .queue(JobInfo::persistent("slow-1", "slow", 10, 0))
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert!(runtime.remove("slow-1").await.unwrap().is_ok());
    assert!(runtime.remove("slow-1").await.unwrap().is_err());
    let report = next_report(&mut reports, Duration::from_secs(5))
        .await
        .unwrap();
    assert_eq!(report.interruption, Some(Interruption::Removed));
    assert!(store.find("slow-1").await.unwrap().is_none());
    assert!(
        store.list_logs("slow-1", 10).await.unwrap().is_empty(),
        "the removed job's run leaves no log behind (R46)"
    );
    assert!(!runtime.exists("slow-1").await.unwrap());
    assert!(
        reports_within(&mut reports, Duration::from_secs(120))
            .await
            .is_empty()
    );
    runtime.shutdown().await.unwrap();
}

#[tokio::test(start_paused = true)]
async fn stop_lets_running_jobs_finish_and_takes_no_new_ones() {
    // spec: R26
    let (b, _) = builder();
    let (runtime, mut reports) = start(b.runnable("slow", sleeping(Duration::from_secs(10)))).await;
    runtime.queue(JobInfo::once("first", "slow")).await.unwrap();
    tokio::time::sleep(Duration::from_secs(1)).await;
    runtime.stop().await.unwrap();
    runtime
        .queue(JobInfo::once("second", "slow"))
        .await
        .unwrap();
    let finished = reports_within(&mut reports, Duration::from_secs(60)).await;
    assert_eq!(finished.len(), 1);
    assert!(finished[0].succeeded(), "the running job finished normally");
    runtime.start().await.unwrap();
    assert_eq!(
        next_report(&mut reports, Duration::from_secs(11))
            .await
            .unwrap()
            .job_id,
        "second"
    );
    runtime.shutdown().await.unwrap();
}

#[tokio::test(start_paused = true)]
async fn shutdown_leaves_an_interrupted_run_ready_to_run_again() {
    // spec: R26
    let (b, store) = builder();
    let stubborn = job_fn(|_ctx: JobRunnableContext| async move {
        // Ignores its cancellation signal.
        tokio::time::sleep(Duration::from_secs(3600)).await;
        Ok::<(), JobError>(())
    });
    let (runtime, _reports) = start(b.runnable("stubborn", stubborn)).await;
    runtime
        .queue(JobInfo::once("long", "stubborn"))
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_secs(1)).await;
    let due = store.find("long").await.unwrap().unwrap();
    assert_eq!(due.job.next_run_time, None, "claimed");
    assert!(due.lease.is_some(), "running");
    runtime.shutdown().await.unwrap();
    let job = store.find("long").await.unwrap().unwrap().job;
    assert_eq!(job.status, JobStatus::Queuing, "not left as if running");
    assert!(job.next_run_time.is_some(), "due again");
    assert_eq!((job.trigger_count, job.try_count), (0, 0));
    assert!(matches!(
        runtime.queue(JobInfo::once("x", "t")).await,
        Err(SchedulerError::ShutDown)
    ));

    // A new node on the same store takes it at once.
    let (b2, _) = builder();
    let runs = Arc::new(AtomicUsize::new(0));
    let (second, mut reports) = start(
        b2.store(store.clone())
            .runnable("stubborn", counting(runs.clone())),
    )
    .await;
    let report = next_report(&mut reports, Duration::from_secs(1))
        .await
        .expect("runs again at once");
    assert_eq!(report.job_id, "long");
    assert_eq!(runs.load(Ordering::SeqCst), 1);
    second.shutdown().await.unwrap();
}

#[tokio::test(start_paused = true)]
async fn a_job_with_a_lock_timeout_runs_only_while_it_holds_the_lock() {
    // spec: R28
    let (mut b, _) = builder();
    let locks = Arc::new(InMemoryJobLockProvider::new(b.clock_handle()));
    let (runtime, mut reports) = start(
        b.lock_provider(locks.clone())
            .runnable("t", counting(Arc::default())),
    )
    .await;
    assert!(
        locks.try_lock("exclusive", 30).await.unwrap(),
        "another scheduler holds it"
    );
    runtime
        .queue(JobInfo::once("exclusive", "t").with_lock_timeout(30))
        .await
        .unwrap();
    assert!(
        reports_within(&mut reports, Duration::from_secs(10))
            .await
            .is_empty(),
        "does not run without the lock"
    );
    locks.release("exclusive").await.unwrap();
    let report = next_report(&mut reports, Duration::from_secs(2))
        .await
        .expect("runs once the lock is free");
    assert!(report.succeeded());
    assert!(
        locks.try_lock("exclusive", 30).await.unwrap(),
        "the run released its lock"
    );
    runtime.shutdown().await.unwrap();
}

#[tokio::test(start_paused = true)]
async fn two_runtimes_on_one_store_run_each_job_once() {
    // spec: R28
    let (b1, store) = builder();
    let (b2, _) = builder();
    let runs = Arc::new(AtomicUsize::new(0));
    let (one, mut reports_one) =
        start(b1.node_name("a").runnable("t", counting(runs.clone()))).await;
    let (two, mut reports_two) = start(
        b2.node_name("b")
            .store(store.clone())
            .runnable("t", counting(runs.clone())),
    )
    .await;
    let jobs = (0..200)
        .map(|i| JobInfo::once(format!("j{i}"), "t"))
        .collect();
    one.queue_many(jobs).await.unwrap();
    let a = reports_within(&mut reports_one, Duration::from_secs(10))
        .await
        .len();
    let b = reports_within(&mut reports_two, Duration::from_secs(1))
        .await
        .len();
    assert_eq!(a + b, 200);
    assert_eq!(runs.load(Ordering::SeqCst), 200);
    one.shutdown().await.unwrap();
    two.shutdown().await.unwrap();
}
