//! Failed runs: the retry ladder for real, panics, unknown types, missing arguments,
//! failure types driving retry.

use std::sync::Arc;
use std::time::Duration;

use bgtasks_abstractions::{
    JobError, JobEventContext, JobExceptionType, JobExceptionTypeFinder, JobInfo, JobPriority,
    JobRunnableContext, JobStatus, job_fn,
};
use bgtasks_core::JobScheduler;
use bgtasks_core::retry::{NoRetryPolicy, PerFailureTypeRetryPolicy, ReferenceRetryPolicy};
use bgtasks_core::store::JobDefinitions;

use crate::common::{
    CountingStore, builder, counting, failing_then_ok, next_report, reports_within, start,
};

#[tokio::test(start_paused = true)]
async fn a_failed_job_runs_again_on_this_node_after_the_grown_interval() {
    // spec: R15, R18
    let (b, store) = builder();
    let (runtime, mut reports) = start(b.node_name("node-a").runnable(
        "t",
        failing_then_ok(2, JobError::http(503, "upstream down")),
    ))
    .await;
    runtime.queue(JobInfo::once("flaky", "t")).await.unwrap();
    let first = next_report(&mut reports, Duration::from_secs(5))
        .await
        .unwrap();
    assert_eq!(first.exception_type, Some(JobExceptionType::NETWORK));
    let after_first = first.job.clone().unwrap();
    assert_eq!(
        (
            after_first.status,
            after_first.interval,
            after_first.try_count
        ),
        (JobStatus::FailedRetry, 450, 1)
    );
    let second = next_report(&mut reports, Duration::from_secs(451))
        .await
        .expect("retried after 450 s");
    assert_eq!((second.run_time - first.run_time).num_seconds(), 450);
    assert_eq!(second.node, "node-a");
    let third = next_report(&mut reports, Duration::from_secs(676))
        .await
        .expect("retried after 675 s");
    assert_eq!((third.run_time - second.run_time).num_seconds(), 675);
    assert!(third.succeeded());
    let job = store.find("flaky").await.unwrap().unwrap().job;
    assert_eq!(
        (job.status, job.try_count, job.interval),
        (JobStatus::Completed, 0, 675)
    );
    runtime.shutdown().await.unwrap();
}

#[tokio::test(start_paused = true)]
async fn a_panicking_runnable_is_a_system_failure_not_a_crash() {
    // spec: R24
    let (b, _) = builder();
    let panics = job_fn(|_ctx: JobRunnableContext| async move {
        if true {
            panic!("index out of bounds");
        }
        Ok::<(), JobError>(())
    });
    let (runtime, mut reports) = start(
        b.runnable("panics", panics)
            .runnable("ok", counting(Arc::default())),
    )
    .await;
    runtime.queue(JobInfo::once("bad", "panics")).await.unwrap();
    let report = next_report(&mut reports, Duration::from_secs(5))
        .await
        .unwrap();
    assert_eq!(report.exception_type, Some(JobExceptionType::SYSTEM));
    let message = report.error.unwrap().to_string();
    assert!(
        message.contains("job `bad` (type `panics`) panicked: index out of bounds"),
        "{message}"
    );
    runtime.queue(JobInfo::once("good", "ok")).await.unwrap();
    let report = next_report(&mut reports, Duration::from_secs(5))
        .await
        .expect("the scheduler still runs jobs");
    assert!(report.succeeded());
    runtime.shutdown().await.unwrap();
}

#[tokio::test(start_paused = true)]
async fn a_job_type_this_node_lacks_is_left_to_a_node_that_has_it() {
    // spec: R41
    let (b, store) = builder();
    let (old_node, mut old_reports) = start(b.node_name("v1")).await;
    old_node
        .queue(JobInfo::once("added-in-v2", "new-type"))
        .await
        .unwrap();
    assert!(
        reports_within(&mut old_reports, Duration::from_secs(3600))
            .await
            .is_empty(),
        "a node never claims a type it has not registered, nor spins on it"
    );
    let left = store.find("added-in-v2").await.unwrap().unwrap();
    assert_eq!(
        (left.job.status, left.job.try_count, left.lease.is_none()),
        (JobStatus::Queuing, 0, true),
        "left due, never failed for its type"
    );
    let (b2, _) = builder();
    let runs = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let (new_node, mut new_reports) = start(
        b2.node_name("v2")
            .store(store.clone())
            .runnable("new-type", counting(runs.clone())),
    )
    .await;
    let report = next_report(&mut new_reports, Duration::from_secs(5))
        .await
        .expect("the node that has the type runs it");
    assert_eq!(
        (report.job_id.as_str(), report.node.as_str()),
        ("added-in-v2", "v2")
    );
    assert!(report.succeeded());
    old_node.shutdown().await.unwrap();
    new_node.shutdown().await.unwrap();
}

#[tokio::test(start_paused = true)]
async fn a_missing_argument_is_a_business_failure_naming_the_key() {
    // spec: R7, R24
    let (b, store) = builder();
    let needs_url = job_fn(|ctx: JobRunnableContext| async move {
        let _url = ctx.get_str("url")?;
        Ok(())
    });
    let (runtime, mut reports) = start(b.runnable("fetch", needs_url)).await;
    runtime
        .queue(JobInfo::once("fetch-1", "fetch"))
        .await
        .unwrap();
    let report = next_report(&mut reports, Duration::from_secs(5))
        .await
        .unwrap();
    assert_eq!(report.exception_type, Some(JobExceptionType::BUSINESS));
    let job = store.find("fetch-1").await.unwrap().unwrap().job;
    assert_eq!(
        job.result.as_deref(),
        Some("missing required argument `url`")
    );
    runtime.shutdown().await.unwrap();
}

#[tokio::test(start_paused = true)]
async fn max_tries_end_in_abandonment_after_exactly_that_many_runs() {
    // spec: R17
    let (b, store) = builder();
    let (runtime, mut reports) =
        start(b.runnable("t", failing_then_ok(usize::MAX, JobError::business("no")))).await;
    runtime
        .queue(
            JobInfo::once("doomed", "t")
                .with_interval(1)
                .with_max_try_count(3),
        )
        .await
        .unwrap();
    let runs = reports_within(&mut reports, Duration::from_secs(3600)).await;
    assert_eq!(runs.len(), 3);
    let job = store.find("doomed").await.unwrap().unwrap().job;
    assert_eq!(
        (job.status, job.is_abandoned, job.next_run_time),
        (JobStatus::Stopped, true, None)
    );
    assert_eq!(job.priority, JobPriority::Low);
    runtime.shutdown().await.unwrap();
}

/// Calls every failure Business.
struct EverythingIsBusiness;
impl JobExceptionTypeFinder for EverythingIsBusiness {
    fn find(&self, _: &JobEventContext, _: &JobError) -> JobExceptionType {
        JobExceptionType::BUSINESS
    }
}

#[tokio::test(start_paused = true)]
async fn a_custom_finder_and_per_type_policy_decide_what_a_failure_means() {
    // spec: R21, R23
    let policy = PerFailureTypeRetryPolicy::new(Arc::new(ReferenceRetryPolicy::default()))
        .on(JobExceptionType::BUSINESS, Arc::new(NoRetryPolicy));
    let (b, store) = builder();
    let (runtime, mut reports) = start(
        b.finder(Arc::new(EverythingIsBusiness))
            .retry_policy(Arc::new(policy))
            .runnable(
                "t",
                failing_then_ok(usize::MAX, JobError::http(503, "down")),
            ),
    )
    .await;
    runtime.queue(JobInfo::once("j", "t")).await.unwrap();
    let report = next_report(&mut reports, Duration::from_secs(5))
        .await
        .unwrap();
    assert_eq!(
        report.exception_type,
        Some(JobExceptionType::BUSINESS),
        "the custom finder decided"
    );
    let job = store.find("j").await.unwrap().unwrap().job;
    assert_eq!(
        (job.status, job.is_abandoned, job.try_count),
        (JobStatus::Stopped, true, 1)
    );
    runtime.shutdown().await.unwrap();
}

#[tokio::test(start_paused = true)]
async fn error_codes_map_to_failure_types_through_the_options() {
    // spec: R24, R29
    let (b, _) = builder();
    let (runtime, mut reports) = start(
        b.configure(|o| {
            o.error_code_map
                .insert("QUOTA".into(), JobExceptionType::APPLICATION);
        })
        .runnable(
            "t",
            failing_then_ok(1, JobError::new("quota exceeded").with_code("QUOTA")),
        ),
    )
    .await;
    runtime.queue(JobInfo::once("j", "t")).await.unwrap();
    let report = next_report(&mut reports, Duration::from_secs(5))
        .await
        .unwrap();
    assert_eq!(report.exception_type, Some(JobExceptionType::APPLICATION));
    runtime.shutdown().await.unwrap();
}

#[tokio::test(start_paused = true)]
async fn a_run_whose_save_fails_for_a_while_is_saved_without_running_again() {
    // spec: R20
    let runs = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let store = Arc::new(CountingStore::new());
    store
        .failing_completions
        .store(4, std::sync::atomic::Ordering::SeqCst);
    let (b, _) = builder();
    let (runtime, mut reports) =
        start(b.store(store.clone()).runnable("t", counting(runs.clone()))).await;
    runtime.queue(JobInfo::once("j", "t")).await.unwrap();
    let report = next_report(&mut reports, Duration::from_secs(10))
        .await
        .expect("the run finishes once the store is back");
    assert!(report.succeeded());
    let saved = report.job.expect("saved by the fifth try");
    assert_eq!(
        (saved.status, saved.trigger_count),
        (JobStatus::Completed, 1)
    );
    assert!(
        reports_within(&mut reports, Duration::from_secs(600))
            .await
            .is_empty(),
        "no second run"
    );
    assert_eq!(runs.load(std::sync::atomic::Ordering::SeqCst), 1);
    assert_eq!(
        store.completions.load(std::sync::atomic::Ordering::SeqCst),
        5
    );
    runtime.shutdown().await.unwrap();
}

#[tokio::test(start_paused = true)]
async fn a_run_whose_save_keeps_failing_is_given_back_and_runs_again() {
    // spec: R20
    let runs = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let store = Arc::new(CountingStore::new());
    store
        .failing_completions
        .store(usize::MAX, std::sync::atomic::Ordering::SeqCst);
    let (b, _) = builder();
    let (runtime, mut reports) = start(
        b.store(store.clone())
            .runnable("t", counting(runs.clone()))
            .configure(|o| o.listener_timeout = Duration::from_secs(10)),
    )
    .await;
    runtime.queue(JobInfo::once("j", "t")).await.unwrap();
    let first = next_report(&mut reports, Duration::from_secs(20))
        .await
        .expect("the first run ends once the save-retry window (5 s) is over");
    assert!(first.job.is_none(), "nothing was saved");
    store
        .failing_completions
        .store(0, std::sync::atomic::Ordering::SeqCst);
    let second = next_report(&mut reports, Duration::from_secs(20))
        .await
        .expect("given back, it runs again");
    let saved = second.job.expect("saved this time");
    assert_eq!(
        (saved.status, saved.trigger_count),
        (JobStatus::Completed, 1)
    );
    assert_eq!(runs.load(std::sync::atomic::Ordering::SeqCst), 2);
    runtime.shutdown().await.unwrap();
}
