//! What an operator looks at first: how many jobs are in each state, how long the queue
//! is, and how runs went minute by minute.

use std::collections::BTreeMap;
use std::time::Duration;

use bgtasks_abstractions::BoxFuture;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::error::StoreError;

/// Counts of the jobs a store holds, one aggregate query.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct JobCounts {
    /// Every job.
    pub total: u64,
    /// By status code (the reference's numbers: -1, 0, 5, 10, 15, 20, 30).
    pub by_status: BTreeMap<i32, u64>,
    /// By job type.
    pub by_type: BTreeMap<String, u64>,
    /// By group.
    pub by_group: BTreeMap<String, u64>,
    /// Runs in flight, by the node that holds their lease.
    pub running_by_node: BTreeMap<String, u64>,
    /// Abandoned jobs.
    pub abandoned: u64,
    /// Jobs due now and waiting for a node: active, not abandoned, not running, next run
    /// time at or before `now`.
    pub due: u64,
    /// The earliest next run time among those: `now` minus it is the queue's lag.
    pub oldest_due: Option<DateTime<Utc>>,
}

impl JobCounts {
    /// How long the oldest due job has waited at `now` (zero when none waits).
    pub fn lag(&self, now: DateTime<Utc>) -> Duration {
        self.oldest_due
            .and_then(|due| (now - due).to_std().ok())
            .unwrap_or(Duration::ZERO)
    }
}

/// How the runs of one stretch of time went, from the run logs.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RunBucket {
    /// The start of the stretch.
    pub start: DateTime<Utc>,
    /// Runs that succeeded (logs without an error).
    pub succeeded: u64,
    /// Runs that failed, by failure type name (`business`, `application`, `network`,
    /// `system`; a combination of types is named by its types joined with `|`).
    pub failed: BTreeMap<String, u64>,
    /// Runs interrupted before their end (logs with an error text but no failure type,
    /// such as a rescue's).
    pub interrupted: u64,
}

impl RunBucket {
    /// Every run of the stretch.
    pub fn runs(&self) -> u64 {
        self.succeeded + self.failed.values().sum::<u64>() + self.interrupted
    }
}

/// Statistics of a store. Implement it with plain `async fn`s; the runtime calls it
/// through [`DynJobStatistics`].
pub trait JobStatistics: Send + Sync {
    /// The counts of every job, with the due ones judged at `now` (the store's clock,
    /// where it keeps one).
    fn counts(
        &self,
        now: DateTime<Utc>,
    ) -> impl Future<Output = Result<JobCounts, StoreError>> + Send;

    /// The runs logged since `since`, in stretches of `bucket` (at least a second) from
    /// `since` on, oldest first; stretches without runs are left out.
    fn run_history(
        &self,
        since: DateTime<Utc>,
        bucket: Duration,
    ) -> impl Future<Output = Result<Vec<RunBucket>, StoreError>> + Send;
}

/// The object-safe form of [`JobStatistics`], with the same methods returning boxed
/// futures; a [`JobStore`](crate::JobStore) is one. Every `JobStatistics` is one:
/// implement `JobStatistics`, not this.
pub trait DynJobStatistics: Send + Sync {
    /// See [`JobStatistics::counts`].
    fn counts(&self, now: DateTime<Utc>) -> BoxFuture<'_, Result<JobCounts, StoreError>>;
    /// See [`JobStatistics::run_history`].
    fn run_history(
        &self,
        since: DateTime<Utc>,
        bucket: Duration,
    ) -> BoxFuture<'_, Result<Vec<RunBucket>, StoreError>>;
}

impl<T: JobStatistics> DynJobStatistics for T {
    fn counts(&self, now: DateTime<Utc>) -> BoxFuture<'_, Result<JobCounts, StoreError>> {
        Box::pin(JobStatistics::counts(self, now))
    }

    fn run_history(
        &self,
        since: DateTime<Utc>,
        bucket: Duration,
    ) -> BoxFuture<'_, Result<Vec<RunBucket>, StoreError>> {
        Box::pin(JobStatistics::run_history(self, since, bucket))
    }
}
