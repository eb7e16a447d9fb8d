//! [`JobRuns`] on SQLite: the data path, in the modules `claims`, `completion` and
//! `leases`.

use std::sync::Arc;
use std::time::Duration;

use bgtasks_abstractions::RunLease;
use bgtasks_store::{
    ClaimRequest, ClaimedRun, CompletionOutcome, GiveBack, JobLog, JobRuns, RenewOutcome, Rescued,
    RunCompletion, StoreError,
};
use chrono::{DateTime, Utc};
use tokio::sync::Notify;

use crate::store::SqliteJobStore;
use crate::{claims, completion, leases};

impl JobRuns for SqliteJobStore {
    /// One `BEGIN IMMEDIATE` transaction, taken only when a cheap read finds a run due:
    /// the (priority, tries) groups are walked from the best down, and in each the runs
    /// due by `now` are leased (and their attempts counted), with one statement per
    /// batch. A due row that does not decode, or a Period job whose cron does not parse,
    /// is set aside (R42).
    async fn claim(&self, request: &ClaimRequest<'_>) -> Result<Vec<ClaimedRun>, StoreError> {
        claims::claim(&self.inner, request).await
    }

    async fn next_due_time(
        &self,
        node: &str,
        job_types: Option<&[String]>,
    ) -> Result<Option<DateTime<Utc>>, StoreError> {
        claims::next_due_time(&self.inner, node, job_types).await
    }

    /// SQLite has no clock of its own: the lease is extended until `now + lease`, by the
    /// caller's clock (processes on one machine share it).
    async fn renew(
        &self,
        node: &str,
        leases: &[RunLease],
        lease: Duration,
        now: DateTime<Utc>,
    ) -> Result<Vec<RenewOutcome>, StoreError> {
        leases::renew(&self.inner, node, leases, lease, now).await
    }

    /// The outcomes and the logs are written in one transaction, with one statement for
    /// all the runs and one for all the logs: one disk sync. The notifications of the
    /// saved outcomes are stored in the same transaction, one statement each (rare: a
    /// run's actions call for them).
    async fn complete(
        &self,
        runs: &[RunCompletion],
        logs: &[JobLog],
    ) -> Result<Vec<CompletionOutcome>, StoreError> {
        completion::complete(&self.inner, runs, logs).await
    }

    async fn give_back(
        &self,
        lease: &RunLease,
        how: GiveBack,
    ) -> Result<CompletionOutcome, StoreError> {
        completion::give_back(&self.inner, lease, how).await
    }

    /// One transaction for the whole batch: one disk sync.
    async fn give_back_many(
        &self,
        runs: &[(RunLease, GiveBack)],
    ) -> Result<Vec<CompletionOutcome>, StoreError> {
        completion::give_back_many(&self.inner, runs).await
    }

    /// Takes the write lock only when a cheap read finds an expired lease.
    async fn rescue(&self, now: DateTime<Utc>) -> Result<Vec<Rescued>, StoreError> {
        leases::rescue(&self.inner, now).await
    }

    /// Yes: a batch of completions or logs is one transaction, so one disk sync.
    fn prefers_batched_writes(&self) -> bool {
        true
    }

    fn backend_name(&self) -> &'static str {
        "sqlite"
    }

    /// Fires after this handle's own writes that may make a job due (insert, control,
    /// complete, give back, rescue, polling) and, when the store watches the file
    /// ([`watch_interval`](crate::SqliteStoreOptions::watch_interval)), within that
    /// interval of a commit by another process. Without the watcher, jobs queued by other
    /// processes are seen when the runtime next re-reads the next due time.
    fn subscribe_due(&self) -> Option<Arc<Notify>> {
        Some(self.inner.signals.due.subscribe())
    }

    /// Fires when this handle pauses, stops or removes a running job and, when the store
    /// watches the file, within the watch interval of another process doing so (it bumps
    /// the counter `bgtasks_control`, which the watcher reads when the file changed).
    fn subscribe_control(&self) -> Option<Arc<Notify>> {
        Some(self.inner.signals.control.subscribe())
    }
}
