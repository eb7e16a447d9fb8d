//! Fixed times, job builders and short-hands shared by the cases.

use std::time::Duration;

use bgtasks_abstractions::{JobInfo, JobStatus};
use bgtasks_store::{
    ClaimRequest, ClaimedRun, CompletionOutcome, JobLog, JobRecord, JobStore, RunCompletion,
};
use chrono::{DateTime, TimeZone, Utc};

/// The lease every case claims with.
pub const LEASE: Duration = Duration::from_secs(30);

/// A fixed instant, `secs` seconds after the suite's epoch (whole seconds, so that every
/// store keeps it exactly).
pub fn t(secs: i64) -> DateTime<Utc> {
    Utc.timestamp_opt(1_800_000_000 + secs, 0)
        .single()
        .expect("a valid timestamp")
}

/// A Once job, Queuing, due at `t(due)`, created at `t(-1000)`.
pub fn queued(id: &str, due: i64) -> JobInfo {
    let mut job = JobInfo::once(id, "t");
    job.creation_time = t(-1000);
    job.begin_time = t(-1000);
    job.status = JobStatus::Queuing;
    job.next_run_time = Some(t(due));
    job
}

/// Inserts jobs that must all be new.
pub async fn seed(store: &dyn JobStore, jobs: &[JobInfo]) {
    let inserted = store.insert(jobs).await.expect("insert");
    assert!(
        inserted.iter().all(|i| *i),
        "seeded jobs are new: {inserted:?}"
    );
}

/// Claims up to `limit` runs of any type for `node` at `t(now)`.
pub async fn claim(store: &dyn JobStore, node: &str, now: i64, limit: usize) -> Vec<ClaimedRun> {
    store
        .claim(&ClaimRequest {
            node,
            now: t(now),
            limit,
            lease: LEASE,
            job_types: None,
        })
        .await
        .expect("claim")
}

/// Claims the one run that must be due for `node` at `t(now)`.
pub async fn claim_one(store: &dyn JobStore, node: &str, now: i64) -> ClaimedRun {
    let mut runs = claim(store, node, now, 1).await;
    assert_eq!(runs.len(), 1, "one run is due for {node} at t({now})");
    runs.remove(0)
}

/// The completion of a run whose job ends in `status`, having run once more.
pub fn finished(run: &ClaimedRun, status: JobStatus) -> RunCompletion {
    let mut job = run.job.clone();
    job.status = status;
    job.trigger_count = job.trigger_count.saturating_add(1);
    job.last_run_time = Some(run.lease.due_at);
    if status == JobStatus::Completed {
        job.next_run_time = None;
    }
    RunCompletion::new(run.lease.clone(), job)
}

/// Completes one run.
pub async fn complete(store: &dyn JobStore, completion: RunCompletion) -> CompletionOutcome {
    let mut outcomes = store
        .complete(std::slice::from_ref(&completion), &[])
        .await
        .expect("complete");
    assert_eq!(outcomes.len(), 1);
    outcomes.remove(0)
}

/// The stored record of a job that must exist.
pub async fn record(store: &dyn JobStore, id: &str) -> JobRecord {
    store
        .find(id)
        .await
        .expect("find")
        .unwrap_or_else(|| panic!("job {id} is in the store"))
}

/// A run log of `job_id` at `t(at)`.
pub fn log(job_id: &str, at: i64, message: &str) -> JobLog {
    JobLog {
        job_id: job_id.into(),
        job_name: "name".into(),
        job_group: "group".into(),
        job_type: "t".into(),
        message: message.into(),
        run_time: t(at),
        exception: None,
        exception_type: None,
        tenant_id: None,
        node: "node-a".into(),
        duration_ms: 1,
        lease_token: None,
    }
}

/// The ids of jobs, in order.
pub fn ids(jobs: impl IntoIterator<Item = JobInfo>) -> Vec<String> {
    jobs.into_iter().map(|j| j.id).collect()
}
