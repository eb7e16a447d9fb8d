//! The data path of the store contract ([`JobRuns`]) on PostgreSQL: claims in
//! [`claims`](crate::claims), renewals, give-backs and rescues in
//! [`leases`](crate::leases), completions in [`completions`](crate::completions).

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use bgtasks_abstractions::RunLease;
use bgtasks_store::{
    ClaimRequest, ClaimedRun, CompletionOutcome, GiveBack, JobLog, JobRuns, RenewOutcome, Rescued,
    RunCompletion, StoreError,
};
use chrono::{DateTime, Utc};
use tokio::sync::Notify;

use crate::notify::Channel;
use crate::store::PostgresJobStore;

#[async_trait]
impl JobRuns for PostgresJobStore {
    async fn claim(&self, request: &ClaimRequest<'_>) -> Result<Vec<ClaimedRun>, StoreError> {
        self.claim_runs(request).await
    }

    async fn next_due_time(
        &self,
        node: &str,
        job_types: Option<&[String]>,
    ) -> Result<Option<DateTime<Utc>>, StoreError> {
        self.next_due(node, job_types).await
    }

    async fn renew(
        &self,
        node: &str,
        leases: &[RunLease],
        lease: Duration,
        now: DateTime<Utc>,
    ) -> Result<Vec<RenewOutcome>, StoreError> {
        self.renew_leases(node, leases, lease, now).await
    }

    /// The outcomes and the logs in one statement (one commit).
    async fn complete(
        &self,
        runs: &[RunCompletion],
        logs: &[JobLog],
    ) -> Result<Vec<CompletionOutcome>, StoreError> {
        self.complete_runs(runs, logs).await
    }

    async fn give_back(
        &self,
        lease: &RunLease,
        how: GiveBack,
    ) -> Result<CompletionOutcome, StoreError> {
        self.give_back_run(lease, how).await
    }

    async fn rescue(&self, now: DateTime<Utc>) -> Result<Vec<Rescued>, StoreError> {
        self.rescue_expired(now).await
    }

    /// Yes: one statement saves the completions (and logs) of many concurrent runs.
    fn prefers_batched_writes(&self) -> bool {
        true
    }

    fn subscribe_due(&self) -> Option<Arc<Notify>> {
        self.subscribe(Channel::Due)
    }

    fn subscribe_control(&self) -> Option<Arc<Notify>> {
        self.subscribe(Channel::Control)
    }
}
