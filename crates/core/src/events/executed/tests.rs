//! The executed event's rules (R13–R20), one by one and as properties.

use std::sync::Arc;

use bgtasks_abstractions::{
    JobError, JobEvent, JobEventContext, JobEventData, JobExceptionType, JobInfo, JobKind,
    JobOptOuts, JobPriority, JobStatus,
};
use chrono::{DateTime, TimeZone, Utc};
use proptest::prelude::*;

use super::{JobExecutedEvent, apply_run_outcome};
use crate::clock::SystemClock;
use crate::retry::ReferenceRetryPolicy;
use crate::store::{ClaimRequest, InMemoryJobStore, JobDefinitions, JobRuns};

fn t(secs: i64) -> DateTime<Utc> {
    Utc.timestamp_opt(1_800_000_000 + secs, 0).single().unwrap()
}

fn run(job: &JobInfo, error: Option<JobError>, result: Option<&str>) -> JobEventData {
    let mut data = JobEventData::new(job.clone(), t(100), "node");
    data.next_run_time = Some(t(160));
    data.error = error;
    data.result = result.map(str::to_owned);
    data
}

fn apply(job: &mut JobInfo, data: &JobEventData) {
    let exception = data.error.as_ref().map(|_| JobExceptionType::NETWORK);
    apply_run_outcome(
        job,
        data,
        exception,
        &ReferenceRetryPolicy::default(),
        t(101),
    );
}

#[test]
fn every_run_counts_and_copies_the_run() {
    // spec: R13
    let tenant = uuid::Uuid::new_v4();
    let mut job = JobInfo::persistent("p", "t", 60, 0).with_arg("TenantId", tenant.to_string());
    job.status = JobStatus::Queuing;
    let data = run(&job, None, None);
    apply(&mut job, &data);
    assert_eq!(job.trigger_count, 1);
    assert_eq!(job.tenant_id, Some(tenant));
    assert_eq!(job.last_run_time, Some(t(100)));
    assert_eq!(job.next_run_time, Some(t(160)));
    assert_eq!(job.result.as_deref(), Some("OK"));
    assert_eq!(job.status, JobStatus::Running);
    let data = run(&job, None, Some("42 rows"));
    apply(&mut job, &data);
    assert_eq!(job.result.as_deref(), Some("42 rows"));
    assert_eq!(job.trigger_count, 2);
}

#[test]
fn a_failure_counts_a_try_and_keeps_the_innermost_message() {
    // spec: R14
    #[derive(Debug, thiserror::Error)]
    #[error("connection reset by peer")]
    struct Inner;
    let mut job = JobInfo::once("o", "t");
    job.status = JobStatus::Queuing;
    job.is_abandoned = true;
    let data = run(&job, Some(JobError::wrap("sync failed", Inner)), None);
    apply(&mut job, &data);
    assert_eq!(job.try_count, 1);
    assert!(!job.is_abandoned);
    assert_eq!(job.result.as_deref(), Some("connection reset by peer"));
    assert_eq!(job.status, JobStatus::FailedRetry);
    assert_eq!(
        job.next_run_time,
        Some(t(101 + 450)),
        "retried the grown interval after the failure"
    );
}

#[test]
fn max_tries_stop_and_abandon() {
    // spec: R17
    let mut job = JobInfo::once("o", "t").with_max_try_count(2);
    job.status = JobStatus::Queuing;
    for _ in 0..2 {
        let data = run(&job, Some(JobError::new("x")), None);
        apply(&mut job, &data);
    }
    assert_eq!(job.status, JobStatus::Stopped);
    assert!(job.is_abandoned);
    assert_eq!(job.next_run_time, None);

    let mut forever = JobInfo::once("f", "t").with_max_try_count(0);
    for _ in 0..60 {
        let data = run(&forever, Some(JobError::new("x")), None);
        apply(&mut forever, &data);
    }
    assert_eq!(
        forever.status,
        JobStatus::FailedRetry,
        "max try count 0 never stops"
    );
}

#[test]
fn success_resets_tries_and_completes_once_jobs_and_exhausted_counts() {
    // spec: R19
    let mut once = JobInfo::once("o", "t");
    once.try_count = 3;
    let data = run(&once, None, None);
    apply(&mut once, &data);
    assert_eq!(
        (once.try_count, once.status, once.next_run_time),
        (0, JobStatus::Completed, None)
    );

    let mut counted = JobInfo::persistent("p", "t", 10, 2);
    let data = run(&counted, None, None);
    apply(&mut counted, &data);
    assert_eq!(counted.status, JobStatus::Running);
    let data = run(&counted, None, None);
    apply(&mut counted, &data);
    assert_eq!(
        (counted.status, counted.next_run_time),
        (JobStatus::Completed, None)
    );

    let mut period = JobInfo::period("c", "t", "0 * * * * ?");
    let data = run(&period, None, None);
    apply(&mut period, &data);
    assert_eq!(
        period.status,
        JobStatus::Running,
        "Period jobs without max count run on"
    );
}

#[tokio::test]
async fn the_event_updates_the_claimed_job_and_saves_it_under_its_lease() {
    // spec: R20
    let store = Arc::new(InMemoryJobStore::new());
    let mut job = JobInfo::once("j", "t");
    job.status = JobStatus::Queuing;
    job.next_run_time = Some(t(0));
    store.insert(std::slice::from_ref(&job)).await.unwrap();
    let claimed = store
        .claim(&ClaimRequest {
            node: "node",
            now: t(100),
            limit: 1,
            lease: std::time::Duration::from_secs(60),
            job_types: None,
        })
        .await
        .unwrap()
        .remove(0);
    let event = JobExecutedEvent::new(
        store.clone(),
        Arc::new(ReferenceRetryPolicy::default()),
        Arc::new(SystemClock),
    );
    let mut data = run(&claimed.job, Some(JobError::http(503, "down")), None);
    data.lease = Some(claimed.lease.clone());
    let ctx = JobEventContext::standalone(data);
    event.on_after_executed(&ctx).await.unwrap();
    let saved = store.find("j").await.unwrap().unwrap();
    assert_eq!(
        (
            saved.job.try_count,
            saved.job.status,
            saved.job.interval,
            saved.lease.is_none()
        ),
        (1, JobStatus::FailedRetry, 450, true)
    );
    assert_eq!(
        ctx.saved_job().unwrap(),
        saved.job,
        "the saved state is shared with later listeners"
    );

    // The same lease again: the run is over, nothing is written.
    let mut late = run(&claimed.job, None, None);
    late.lease = Some(claimed.lease);
    let late = JobEventContext::standalone(late);
    event.on_after_executed(&late).await.unwrap();
    assert!(late.saved_job().is_none());
    assert_eq!(store.find("j").await.unwrap().unwrap(), saved);

    // A run without a lease has nothing to save.
    let ghost = JobEventContext::standalone(run(&JobInfo::once("ghost", "t"), None, None));
    event.on_after_executed(&ghost).await.unwrap();
    assert!(store.find("ghost").await.unwrap().is_none());
    assert!(ghost.saved_job().is_none());
}

#[tokio::test]
async fn opted_out_and_interrupted_runs_are_skipped() {
    // spec: R11
    let store = Arc::new(InMemoryJobStore::new());
    let event = JobExecutedEvent::new(
        store,
        Arc::new(ReferenceRetryPolicy::default()),
        Arc::new(SystemClock),
    );
    let mut data = run(&JobInfo::once("j", "t"), None, None);
    data.opt_outs = JobOptOuts {
        skip_status_handling: true,
        ..JobOptOuts::default()
    };
    assert!(!event.can_after_executed(&JobEventContext::standalone(data)));
    let mut data = run(&JobInfo::once("j", "t"), None, None);
    data.interruption = Some(bgtasks_abstractions::Interruption::Paused);
    assert!(!event.can_after_executed(&JobEventContext::standalone(data)));
}

fn any_kind() -> impl Strategy<Value = JobKind> {
    prop_oneof![
        Just(JobKind::Once),
        Just(JobKind::Period),
        Just(JobKind::Persistent)
    ]
}

proptest! {
    /// Random sequences of outcomes through the executed event keep the invariants.
    #[test]
    fn outcomes_keep_the_invariants(
        kind in any_kind(),
        max_try in 0i32..8,
        max_count in 0i32..6,
        interval in 0i64..1000,
        outcomes in proptest::collection::vec(any::<bool>(), 1..40),
    ) {
        // spec: R13, R14, R15, R16, R17, R19
        let mut job = JobInfo::new("p", "t");
        job.kind = kind;
        job.cron = Some("0 * * * * ?".into());
        job.max_try_count = max_try;
        job.max_count = max_count;
        job.interval = interval;
        job.status = JobStatus::Queuing;
        let mut failures_in_a_row = 0;
        for (i, succeeded) in outcomes.iter().enumerate() {
            if matches!(job.status, JobStatus::Stopped | JobStatus::Completed) {
                break;
            }
            let before = job.clone();
            let error = if *succeeded { None } else { Some(JobError::new("boom")) };
            let data = run(&job, error, None);
            apply(&mut job, &data);
            prop_assert_eq!(job.trigger_count, i as i32 + 1);
            prop_assert!(job.interval <= 86_400 || job.interval == before.interval);
            if *succeeded {
                failures_in_a_row = 0;
                prop_assert_eq!(job.try_count, 0);
                prop_assert!(!job.is_abandoned);
                let done = kind == JobKind::Once || (max_count > 0 && job.trigger_count >= max_count);
                prop_assert_eq!(job.status == JobStatus::Completed, done);
            } else {
                failures_in_a_row += 1;
                prop_assert_eq!(job.try_count, failures_in_a_row);
                prop_assert_eq!(job.result.as_deref(), Some("boom"));
                if max_try > 0 && failures_in_a_row >= max_try {
                    prop_assert_eq!(job.status, JobStatus::Stopped);
                } else if kind == JobKind::Period {
                    prop_assert_eq!(job.status, JobStatus::Running);
                    prop_assert_eq!(job.interval, before.interval);
                    prop_assert_eq!(job.priority, before.priority);
                } else {
                    prop_assert_eq!(job.status, JobStatus::FailedRetry);
                    prop_assert!(job.interval > before.interval.max(0) || job.interval == 86_400);
                    prop_assert_eq!(job.next_run_time, Some(t(101) + chrono::Duration::seconds(job.interval)));
                }
            }
            if job.status == JobStatus::Stopped {
                prop_assert!(job.is_abandoned);
                prop_assert_eq!(job.next_run_time, None);
            }
            if job.priority != before.priority {
                prop_assert!(matches!(job.priority, JobPriority::BelowNormal | JobPriority::Low));
            }
        }
    }
}
