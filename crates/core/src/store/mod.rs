//! Where jobs, their runs and their logs live (R27), and how nodes claim due runs.

mod error;
mod log;
mod memory;
mod run_state;
mod writer;

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use bgtasks_abstractions::{JobInfo, RunLease};
use chrono::{DateTime, Utc};
use tokio::sync::Notify;

pub use self::error::StoreError;
pub use self::log::JobLog;
pub use self::memory::{DEFAULT_MAX_LOGS, InMemoryJobStore};
pub use self::run_state::{apply_run_state, merge_run_state, merged_status};
pub use self::writer::RunWriter;

/// The outcome of one run, to be saved under its lease.
#[derive(Debug, Clone)]
pub struct RunCompletion {
    /// The lease the run holds.
    pub lease: RunLease,
    /// The job state the run produced.
    pub job: JobInfo,
}

/// A run a node claimed: the job as it is now (its next run time already moved on to the
/// following fire time) and the lease that guards the run.
#[derive(Debug, Clone)]
pub struct ClaimedRun {
    /// The job, as claimed.
    pub job: JobInfo,
    /// The lease on this run.
    pub lease: RunLease,
}

/// What to do with a claimed run that is given back without a result.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReleaseMode {
    /// Leave the job's schedule as the claim moved it (the run is over).
    KeepSchedule,
    /// Make the job due again at this time (the run did not happen).
    RunAgainAt(DateTime<Utc>),
}

/// The result of giving back a lease.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CompletionOutcome {
    /// The store took the result.
    Saved,
    /// The lease was no longer this run's (it expired and was rescued): nothing written.
    LeaseLost,
    /// The job is gone (removed during the run): nothing written.
    JobGone,
}

/// A job store: the source of truth for what is due. The runtime holds one as
/// `Arc<dyn JobStore>`; the in-memory store is the default, and durable stores implement
/// the same contract (and pass the same conformance suite).
///
/// The first group of methods is the reference's `IJobStore` (R27). The second is how
/// nodes share work: a node *claims* due runs, holding a lease on each; completion is
/// fenced by the lease's token, so an old owner whose lease lapsed cannot overwrite the
/// result of the node that rescued the run.
#[async_trait]
pub trait JobStore: Send + Sync {
    /// Waiting jobs: not abandoned, not Period, status Queuing or FailedRetry, with runs
    /// or tries left; highest priority first, then fewest tries, then earliest next run;
    /// at most `max`.
    async fn list_waiting(&self, max: usize) -> Result<Vec<JobInfo>, StoreError>;

    /// Period jobs by the same filter and order, at most `max`.
    async fn list_period(&self, max: usize) -> Result<Vec<JobInfo>, StoreError>;

    /// Jobs in status Running that may run on `node` (pinned to it or to no node), at
    /// most `max`.
    async fn list_running(&self, node: &str, max: usize) -> Result<Vec<JobInfo>, StoreError>;

    /// The job with this id.
    async fn find(&self, id: &str) -> Result<Option<JobInfo>, StoreError>;

    /// Inserts or replaces a job.
    async fn store(&self, job: &JobInfo) -> Result<(), StoreError>;

    /// Inserts a job unless one with its id exists; `false` if it did.
    async fn insert(&self, job: &JobInfo) -> Result<bool, StoreError>;

    /// Inserts several jobs, each unless one with its id exists; one `bool` per job as for
    /// [`insert`](Self::insert) (a repeated id in `jobs` is inserted once). Durable stores
    /// do it in one transaction; the default calls `insert` for each.
    async fn insert_many(&self, jobs: &[JobInfo]) -> Result<Vec<bool>, StoreError> {
        let mut inserted = Vec::with_capacity(jobs.len());
        for job in jobs {
            inserted.push(self.insert(job).await?);
        }
        Ok(inserted)
    }

    /// Removes a job (and any lease on it); `false` if there was none.
    async fn remove(&self, id: &str) -> Result<bool, StoreError>;

    /// Appends a run log.
    async fn store_log(&self, log: &JobLog) -> Result<(), StoreError>;

    /// The latest run logs of a job, newest first, at most `max`.
    async fn list_logs(&self, job_id: &str, max: usize) -> Result<Vec<JobLog>, StoreError>;

    /// Removes Completed jobs whose last run time (else end time, else creation time) is
    /// older than `expired_before`, of `node` when given, at most `max`, with their run
    /// logs (and, on stores that keep them beside the jobs, their actions), oldest first,
    /// and returns them.
    async fn cleanup(
        &self,
        node: Option<&str>,
        expired_before: DateTime<Utc>,
        max: usize,
    ) -> Result<Vec<JobInfo>, StoreError>;

    /// Claims up to `limit` due runs that may run on `node`, highest priority first,
    /// leasing each for `lease`. Each claimed job's next run time moves on to its
    /// following fire time in the same step, so no two nodes claim one tick.
    async fn claim_due(
        &self,
        node: &str,
        now: DateTime<Utc>,
        limit: usize,
        lease: Duration,
    ) -> Result<Vec<ClaimedRun>, StoreError>;

    /// The earliest time a job that may run on `node` becomes due, if any is scheduled.
    async fn next_due_time(&self, node: &str) -> Result<Option<DateTime<Utc>>, StoreError>;

    /// Extends the leases `node` holds on these jobs until `until`; returns the ids of
    /// the jobs whose lease this node no longer holds.
    async fn renew_leases(
        &self,
        node: &str,
        leases: &[RunLease],
        until: DateTime<Utc>,
    ) -> Result<Vec<String>, StoreError>;

    /// Saves the job state a run produced and ends its lease, if the lease is still this
    /// run's. Only the run-state fields are written (see [`merge_run_state`]): changes to
    /// the job's definition made during the run are kept, and a job paused during the run
    /// stays paused.
    async fn complete_run(
        &self,
        lease: &RunLease,
        job: &JobInfo,
    ) -> Result<CompletionOutcome, StoreError>;

    /// Saves the outcomes of several runs, each as [`complete_run`](Self::complete_run)
    /// would, returning one outcome per run in order. Durable stores do it in one
    /// transaction; the default calls `complete_run` for each.
    async fn complete_runs(
        &self,
        runs: &[RunCompletion],
    ) -> Result<Vec<CompletionOutcome>, StoreError> {
        let mut outcomes = Vec::with_capacity(runs.len());
        for run in runs {
            outcomes.push(self.complete_run(&run.lease, &run.job).await?);
        }
        Ok(outcomes)
    }

    /// Appends several run logs. Durable stores do it in one statement; the default calls
    /// `store_log` for each.
    async fn store_logs(&self, logs: &[JobLog]) -> Result<(), StoreError> {
        for log in logs {
            self.store_log(log).await?;
        }
        Ok(())
    }

    /// Saves the outcomes of several runs and appends run logs together — in one
    /// transaction for a durable store, so one disk sync. The default calls
    /// [`complete_runs`](Self::complete_runs), then [`store_logs`](Self::store_logs),
    /// logging (not returning) a failure to write the logs once the outcomes are saved.
    async fn write_runs(
        &self,
        runs: &[RunCompletion],
        logs: &[JobLog],
    ) -> Result<Vec<CompletionOutcome>, StoreError> {
        let outcomes = self.complete_runs(runs).await?;
        if let Err(error) = self.store_logs(logs).await {
            tracing::warn!(%error, logs = logs.len(), "could not write run logs");
        }
        Ok(outcomes)
    }

    /// Whether the runtime should gather the completions and logs of concurrent runs into
    /// batches ([`complete_runs`](Self::complete_runs), [`store_logs`](Self::store_logs))
    /// rather than write each at once. Durable stores say yes: one transaction for many
    /// runs. The in-memory store says no.
    fn prefers_batched_writes(&self) -> bool {
        false
    }

    /// Ends a run's lease without a result.
    async fn release_run(
        &self,
        lease: &RunLease,
        mode: ReleaseMode,
    ) -> Result<CompletionOutcome, StoreError>;

    /// Makes runs whose lease expired before `now` due again at their original time
    /// (without counting a failed try), logs the interruption, and returns their ids.
    async fn rescue_expired(&self, now: DateTime<Utc>) -> Result<Vec<String>, StoreError>;

    /// A signal the store fires when a job may have become due earlier than the runtime
    /// knew (a job queued, triggered or retried). `None` if the store cannot tell; the
    /// runtime then re-reads the next due time at least every `poll` interval.
    fn subscribe_due(&self) -> Option<Arc<Notify>> {
        None
    }
}

#[async_trait]
impl<T: JobStore + ?Sized> JobStore for Arc<T> {
    async fn list_waiting(&self, max: usize) -> Result<Vec<JobInfo>, StoreError> {
        (**self).list_waiting(max).await
    }
    async fn list_period(&self, max: usize) -> Result<Vec<JobInfo>, StoreError> {
        (**self).list_period(max).await
    }
    async fn list_running(&self, node: &str, max: usize) -> Result<Vec<JobInfo>, StoreError> {
        (**self).list_running(node, max).await
    }
    async fn find(&self, id: &str) -> Result<Option<JobInfo>, StoreError> {
        (**self).find(id).await
    }
    async fn store(&self, job: &JobInfo) -> Result<(), StoreError> {
        (**self).store(job).await
    }
    async fn insert(&self, job: &JobInfo) -> Result<bool, StoreError> {
        (**self).insert(job).await
    }
    async fn remove(&self, id: &str) -> Result<bool, StoreError> {
        (**self).remove(id).await
    }
    async fn store_log(&self, log: &JobLog) -> Result<(), StoreError> {
        (**self).store_log(log).await
    }
    async fn list_logs(&self, job_id: &str, max: usize) -> Result<Vec<JobLog>, StoreError> {
        (**self).list_logs(job_id, max).await
    }
    async fn cleanup(
        &self,
        node: Option<&str>,
        expired_before: DateTime<Utc>,
        max: usize,
    ) -> Result<Vec<JobInfo>, StoreError> {
        (**self).cleanup(node, expired_before, max).await
    }
    async fn claim_due(
        &self,
        node: &str,
        now: DateTime<Utc>,
        limit: usize,
        lease: Duration,
    ) -> Result<Vec<ClaimedRun>, StoreError> {
        (**self).claim_due(node, now, limit, lease).await
    }
    async fn next_due_time(&self, node: &str) -> Result<Option<DateTime<Utc>>, StoreError> {
        (**self).next_due_time(node).await
    }
    async fn renew_leases(
        &self,
        node: &str,
        leases: &[RunLease],
        until: DateTime<Utc>,
    ) -> Result<Vec<String>, StoreError> {
        (**self).renew_leases(node, leases, until).await
    }
    async fn complete_run(
        &self,
        lease: &RunLease,
        job: &JobInfo,
    ) -> Result<CompletionOutcome, StoreError> {
        (**self).complete_run(lease, job).await
    }
    async fn release_run(
        &self,
        lease: &RunLease,
        mode: ReleaseMode,
    ) -> Result<CompletionOutcome, StoreError> {
        (**self).release_run(lease, mode).await
    }
    async fn complete_runs(
        &self,
        runs: &[RunCompletion],
    ) -> Result<Vec<CompletionOutcome>, StoreError> {
        (**self).complete_runs(runs).await
    }
    async fn store_logs(&self, logs: &[JobLog]) -> Result<(), StoreError> {
        (**self).store_logs(logs).await
    }
    async fn write_runs(
        &self,
        runs: &[RunCompletion],
        logs: &[JobLog],
    ) -> Result<Vec<CompletionOutcome>, StoreError> {
        (**self).write_runs(runs, logs).await
    }
    fn prefers_batched_writes(&self) -> bool {
        (**self).prefers_batched_writes()
    }
    async fn insert_many(&self, jobs: &[JobInfo]) -> Result<Vec<bool>, StoreError> {
        (**self).insert_many(jobs).await
    }
    async fn rescue_expired(&self, now: DateTime<Utc>) -> Result<Vec<String>, StoreError> {
        (**self).rescue_expired(now).await
    }
    fn subscribe_due(&self) -> Option<Arc<Notify>> {
        (**self).subscribe_due()
    }
}

/// Whether a job passes the reference's "waiting" filter (R27), for Period or non-Period.
pub fn is_waiting(job: &JobInfo, period: bool) -> bool {
    use bgtasks_abstractions::{JobKind, JobStatus};
    !job.is_abandoned
        && (job.kind == JobKind::Period) == period
        && matches!(job.status, JobStatus::Queuing | JobStatus::FailedRetry)
        && ((job.max_count == 0 || job.trigger_count < job.max_count)
            || (job.max_try_count == 0 || job.try_count < job.max_try_count))
}

/// The reference's waiting order (R27): highest priority, then fewest tries, then earliest
/// next run time (jobs without one last).
pub fn waiting_order(a: &JobInfo, b: &JobInfo) -> std::cmp::Ordering {
    b.priority
        .cmp(&a.priority)
        .then(a.try_count.cmp(&b.try_count))
        .then_with(|| match (a.next_run_time, b.next_run_time) {
            (Some(x), Some(y)) => x.cmp(&y),
            (Some(_), None) => std::cmp::Ordering::Less,
            (None, Some(_)) => std::cmp::Ordering::Greater,
            (None, None) => std::cmp::Ordering::Equal,
        })
}

/// The time clean-up measures a Completed job's age from (R27): its last run, else its
/// end, else its creation.
pub fn cleanup_reference_time(job: &JobInfo) -> DateTime<Utc> {
    job.last_run_time
        .or(job.end_time)
        .unwrap_or(job.creation_time)
}
