//! Runs: how nodes claim due runs, keep their leases, hand their outcomes back, and
//! rescue the runs of nodes that died.

use std::sync::Arc;
use std::time::Duration;

use bgtasks_abstractions::{BoxFuture, JobInfo, RunLease};
use chrono::{DateTime, Utc};
use tokio::sync::Notify;

use crate::error::StoreError;
use crate::logs::JobLog;
use crate::outbox::NewNotification;
use crate::outcome::{CompletionOutcome, RenewOutcome};

/// What a node asks for when it claims.
#[derive(Debug, Clone, Copy)]
pub struct ClaimRequest<'a> {
    /// The claiming node; jobs pinned to another node are left alone.
    pub node: &'a str,
    /// The caller's time: runs due at or before it are claimed. A store that judges time
    /// by a clock of its own (PostgreSQL's default: the database's) uses that instead.
    pub now: DateTime<Utc>,
    /// The most runs to claim.
    pub limit: usize,
    /// How long each lease lasts unless renewed.
    pub lease: Duration,
    /// The job types the node can run (R41): jobs of other types are left for nodes that
    /// have them. `None` claims any type (for tools and tests).
    pub job_types: Option<&'a [String]>,
}

impl ClaimRequest<'_> {
    /// Whether the request takes jobs of `job_type`.
    pub fn takes(&self, job_type: &str) -> bool {
        self.job_types
            .is_none_or(|types| types.iter().any(|t| t == job_type))
    }
}

/// A run a node claimed: the job as it is now (its next run time already moved on to the
/// following fire time) and the lease that guards the run.
#[derive(Debug, Clone)]
pub struct ClaimedRun {
    /// The job, as claimed.
    pub job: JobInfo,
    /// The lease on this run.
    pub lease: RunLease,
    /// Which claim of the job this is (1 for the first; every claim counts, R43).
    pub attempt: i64,
    /// How many times in a row, before this claim, the job's run was rescued because its
    /// node died (R43): a runtime fails a run rescued too often instead of running it.
    pub rescues: i32,
}

/// The outcome of one run, to be saved under its lease.
#[derive(Debug, Clone)]
pub struct RunCompletion {
    /// The lease the run holds.
    pub lease: RunLease,
    /// The job state the run produced; only its run-state fields are written
    /// ([`rules::apply_run_state`](crate::rules::apply_run_state)).
    pub job: JobInfo,
    /// The notifications the outcome calls for, stored with it atomically if it is saved
    /// (and only then), each unless it is throttled or already stored (R51).
    pub notifications: Vec<NewNotification>,
}

impl RunCompletion {
    /// A completion with no notifications.
    pub fn new(lease: RunLease, job: JobInfo) -> Self {
        Self {
            lease,
            job,
            notifications: Vec::new(),
        }
    }
}

/// How a run without a result is handed back ([`JobRuns::give_back`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GiveBack {
    /// The run did not happen (shutdown, an interruption, a result that could not be
    /// saved): the job is due again at the time the run was due.
    RunAgain,
    /// The run is over without a result: the schedule stays as the claim moved it.
    KeepSchedule,
    /// The run did not happen and the job is due again at this time (a job lock held
    /// elsewhere).
    RunAt(DateTime<Utc>),
}

/// A run whose lease expired, made due again by [`JobRuns::rescue`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rescued {
    /// The job.
    pub job_id: String,
    /// The node whose lease expired.
    pub node: String,
    /// When the lease expired.
    pub expired_at: DateTime<Utc>,
}

/// The data path: claim, renew, complete, give back, rescue. Every method is one atomic
/// transition, fenced by the lease's token where it names a lease. Implement it with
/// plain `async fn`s; the runtime calls it through [`DynJobRuns`].
pub trait JobRuns: Send + Sync {
    /// Claims up to `request.limit` due runs the node may run, highest priority first,
    /// then fewest tries, then earliest due; leases each with a fresh token (unique for
    /// the lifetime of the store, R38). Each claimed job's next run time moves on to its
    /// following fire time in the same step, so no two nodes claim one tick. A due job
    /// past its end time, or a row that cannot be decoded, is taken off the schedule.
    fn claim(
        &self,
        request: &ClaimRequest<'_>,
    ) -> impl Future<Output = Result<Vec<ClaimedRun>, StoreError>> + Send;

    /// The earliest time a job the node may claim (by pin and by type) becomes due, if
    /// any is scheduled.
    fn next_due_time(
        &self,
        node: &str,
        job_types: Option<&[String]>,
    ) -> impl Future<Output = Result<Option<DateTime<Utc>>, StoreError>> + Send;

    /// Extends the leases `node` holds until `now + lease` (by the store's clock), and
    /// says for each lease, in order, whether it is renewed, lost, or its run is to be
    /// interrupted because the job was paused, stopped or removed (R39).
    fn renew(
        &self,
        node: &str,
        leases: &[RunLease],
        lease: Duration,
        now: DateTime<Utc>,
    ) -> impl Future<Output = Result<Vec<RenewOutcome>, StoreError>> + Send;

    /// Saves the outcomes of runs, each only if its lease is still the run's, with the
    /// notifications each saved outcome calls for, and appends `logs` — in one
    /// transaction on a durable store. Only the run-state fields are written, so a
    /// definition edited during the run is kept; the job's consecutive rescues go back to
    /// zero. A job paused or stopped during its run gets
    /// [`CompletionOutcome::Interrupted`] instead (R39, and its notifications are not
    /// stored); a job triggered during its run is due again at once (R40). One outcome
    /// per run, in order.
    fn complete(
        &self,
        runs: &[RunCompletion],
        logs: &[JobLog],
    ) -> impl Future<Output = Result<Vec<CompletionOutcome>, StoreError>> + Send;

    /// Ends a run's lease without a result, if the lease is still the run's
    /// ([`Saved`](CompletionOutcome::Saved)).
    fn give_back(
        &self,
        lease: &RunLease,
        how: GiveBack,
    ) -> impl Future<Output = Result<CompletionOutcome, StoreError>> + Send;

    /// Ends the leases of several runs without a result, each as
    /// [`give_back`](Self::give_back) would: one outcome per run, in order. A durable store
    /// does it in one transaction; this default gives them back one by one (a failure
    /// part-way may leave the earlier ones given back, and their leases ended).
    fn give_back_many(
        &self,
        runs: &[(RunLease, GiveBack)],
    ) -> impl Future<Output = Result<Vec<CompletionOutcome>, StoreError>> + Send {
        async move {
            let mut outcomes = Vec::with_capacity(runs.len());
            for (lease, how) in runs {
                outcomes.push(self.give_back(lease, *how).await?);
            }
            Ok(outcomes)
        }
    }

    /// Makes runs whose lease expired before `now` (by the store's clock) due again at
    /// the time they were due, without counting a failed try (but counting one more
    /// rescue in a row, R43), logs each interruption naming the node, and returns them.
    fn rescue(
        &self,
        now: DateTime<Utc>,
    ) -> impl Future<Output = Result<Vec<Rescued>, StoreError>> + Send;

    /// Whether the runtime should gather the completions and logs of concurrent runs into
    /// batches rather than write each at once. Durable stores say yes (one transaction
    /// for many runs); the in-memory store says no.
    fn prefers_batched_writes(&self) -> bool {
        false
    }

    /// The kind of store, as metrics label its calls (`store` of
    /// `bgtasks_store_operation_duration_seconds`): `memory`, `sqlite`, `postgres`, or
    /// `custom` for a store that does not say.
    fn backend_name(&self) -> &'static str {
        "custom"
    }

    /// A signal the store fires when a job may have become due earlier than the runtime
    /// knew (queued, triggered, retried, given back). `None` if the store cannot tell;
    /// the runtime then re-reads the next due time at least every second.
    fn subscribe_due(&self) -> Option<Arc<Notify>> {
        None
    }

    /// A signal the store fires when a running job is paused, stopped or removed, so
    /// that the node running it renews (and learns of it) at once rather than at its next
    /// renewal. `None` if the store cannot tell.
    fn subscribe_control(&self) -> Option<Arc<Notify>> {
        None
    }
}

/// The object-safe form of [`JobRuns`], with the same methods returning boxed futures; a
/// [`JobStore`](crate::JobStore) is one. Every `JobRuns` is one: implement `JobRuns`, not
/// this.
pub trait DynJobRuns: Send + Sync {
    /// See [`JobRuns::claim`].
    fn claim<'a>(
        &'a self,
        request: &'a ClaimRequest<'_>,
    ) -> BoxFuture<'a, Result<Vec<ClaimedRun>, StoreError>>;
    /// See [`JobRuns::next_due_time`].
    fn next_due_time<'a>(
        &'a self,
        node: &'a str,
        job_types: Option<&'a [String]>,
    ) -> BoxFuture<'a, Result<Option<DateTime<Utc>>, StoreError>>;
    /// See [`JobRuns::renew`].
    fn renew<'a>(
        &'a self,
        node: &'a str,
        leases: &'a [RunLease],
        lease: Duration,
        now: DateTime<Utc>,
    ) -> BoxFuture<'a, Result<Vec<RenewOutcome>, StoreError>>;
    /// See [`JobRuns::complete`].
    fn complete<'a>(
        &'a self,
        runs: &'a [RunCompletion],
        logs: &'a [JobLog],
    ) -> BoxFuture<'a, Result<Vec<CompletionOutcome>, StoreError>>;
    /// See [`JobRuns::give_back`].
    fn give_back<'a>(
        &'a self,
        lease: &'a RunLease,
        how: GiveBack,
    ) -> BoxFuture<'a, Result<CompletionOutcome, StoreError>>;
    /// See [`JobRuns::give_back_many`].
    fn give_back_many<'a>(
        &'a self,
        runs: &'a [(RunLease, GiveBack)],
    ) -> BoxFuture<'a, Result<Vec<CompletionOutcome>, StoreError>>;
    /// See [`JobRuns::rescue`].
    fn rescue(&self, now: DateTime<Utc>) -> BoxFuture<'_, Result<Vec<Rescued>, StoreError>>;
    /// See [`JobRuns::prefers_batched_writes`].
    fn prefers_batched_writes(&self) -> bool;
    /// See [`JobRuns::backend_name`].
    fn backend_name(&self) -> &'static str;
    /// See [`JobRuns::subscribe_due`].
    fn subscribe_due(&self) -> Option<Arc<Notify>>;
    /// See [`JobRuns::subscribe_control`].
    fn subscribe_control(&self) -> Option<Arc<Notify>>;
}

impl<T: JobRuns> DynJobRuns for T {
    fn claim<'a>(
        &'a self,
        request: &'a ClaimRequest<'_>,
    ) -> BoxFuture<'a, Result<Vec<ClaimedRun>, StoreError>> {
        Box::pin(JobRuns::claim(self, request))
    }

    fn next_due_time<'a>(
        &'a self,
        node: &'a str,
        job_types: Option<&'a [String]>,
    ) -> BoxFuture<'a, Result<Option<DateTime<Utc>>, StoreError>> {
        Box::pin(JobRuns::next_due_time(self, node, job_types))
    }

    fn renew<'a>(
        &'a self,
        node: &'a str,
        leases: &'a [RunLease],
        lease: Duration,
        now: DateTime<Utc>,
    ) -> BoxFuture<'a, Result<Vec<RenewOutcome>, StoreError>> {
        Box::pin(JobRuns::renew(self, node, leases, lease, now))
    }

    fn complete<'a>(
        &'a self,
        runs: &'a [RunCompletion],
        logs: &'a [JobLog],
    ) -> BoxFuture<'a, Result<Vec<CompletionOutcome>, StoreError>> {
        Box::pin(JobRuns::complete(self, runs, logs))
    }

    fn give_back<'a>(
        &'a self,
        lease: &'a RunLease,
        how: GiveBack,
    ) -> BoxFuture<'a, Result<CompletionOutcome, StoreError>> {
        Box::pin(JobRuns::give_back(self, lease, how))
    }

    fn give_back_many<'a>(
        &'a self,
        runs: &'a [(RunLease, GiveBack)],
    ) -> BoxFuture<'a, Result<Vec<CompletionOutcome>, StoreError>> {
        Box::pin(JobRuns::give_back_many(self, runs))
    }

    fn rescue(&self, now: DateTime<Utc>) -> BoxFuture<'_, Result<Vec<Rescued>, StoreError>> {
        Box::pin(JobRuns::rescue(self, now))
    }

    fn prefers_batched_writes(&self) -> bool {
        JobRuns::prefers_batched_writes(self)
    }

    fn backend_name(&self) -> &'static str {
        JobRuns::backend_name(self)
    }

    fn subscribe_due(&self) -> Option<Arc<Notify>> {
        JobRuns::subscribe_due(self)
    }

    fn subscribe_control(&self) -> Option<Arc<Notify>> {
        JobRuns::subscribe_control(self)
    }
}
