//! Maintenance: the system jobs' transitions (polling, checking, cleaning).

use std::time::Duration;

use bgtasks_abstractions::{BoxFuture, JobInfo};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::error::StoreError;

/// How long run logs are kept (R46): by age, and by count per job. Both are on by
/// default.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct LogRetention {
    /// Logs older than this (by run time) go; `None` keeps them whatever their age.
    pub max_age: Option<Duration>,
    /// Beyond this many logs of one job, its oldest go; `None` keeps them all.
    pub max_per_job: Option<usize>,
}

impl Default for LogRetention {
    /// 30 days, and 1,000 logs per job.
    fn default() -> Self {
        Self {
            max_age: Some(Duration::from_secs(30 * 24 * 3600)),
            max_per_job: Some(1000),
        }
    }
}

/// The transitions of the system jobs. Each is one atomic operation on the store whose
/// conditions are checked per job inside it: none reads jobs and writes them back.
/// Implement it with plain `async fn`s; the runtime calls it through [`DynMaintenance`].
pub trait Maintenance: Send + Sync {
    /// Removes Completed jobs whose last run time (else end time, else creation time) is
    /// older than `expired_before`, pinned to `node` when given, at most `max`, oldest
    /// first, with their run logs (and the actions kept beside them), and returns them
    /// (R27).
    fn cleanup(
        &self,
        node: Option<&str>,
        expired_before: DateTime<Utc>,
        max: usize,
    ) -> impl Future<Output = Result<Vec<JobInfo>, StoreError>> + Send;

    /// Polling (R30): gives waiting jobs that have no next run time (written by an
    /// outside writer) their first fire time (their begin time), if they are not Period
    /// jobs, may run on `node`, are not running and have not ended by `now` (by the
    /// store's clock); at most `max`, in the waiting order. Returns their ids.
    fn publish_waiting(
        &self,
        node: &str,
        now: DateTime<Utc>,
        max: usize,
    ) -> impl Future<Output = Result<Vec<String>, StoreError>> + Send;

    /// Checking (R29): Running jobs that may run on `node` but have no next run time and
    /// no run in flight anywhere — scheduled nowhere — become Stopped; at most `max`.
    /// Returns their ids.
    fn stop_lost(
        &self,
        node: &str,
        max: usize,
    ) -> impl Future<Output = Result<Vec<String>, StoreError>> + Send;

    /// Retention (R46): removes the run logs older than `retention.max_age` before `now`,
    /// and, of each job, those beyond its newest `retention.max_per_job`; at most `max`
    /// in one call (a durable store removes them in one statement). Returns how many
    /// went.
    fn prune_logs(
        &self,
        retention: &LogRetention,
        now: DateTime<Utc>,
        max: usize,
    ) -> impl Future<Output = Result<u64, StoreError>> + Send;
}

/// The object-safe form of [`Maintenance`], with the same methods returning boxed
/// futures; a [`JobStore`](crate::JobStore) is one. Every `Maintenance` is one: implement
/// `Maintenance`, not this.
pub trait DynMaintenance: Send + Sync {
    /// See [`Maintenance::cleanup`].
    fn cleanup<'a>(
        &'a self,
        node: Option<&'a str>,
        expired_before: DateTime<Utc>,
        max: usize,
    ) -> BoxFuture<'a, Result<Vec<JobInfo>, StoreError>>;
    /// See [`Maintenance::publish_waiting`].
    fn publish_waiting<'a>(
        &'a self,
        node: &'a str,
        now: DateTime<Utc>,
        max: usize,
    ) -> BoxFuture<'a, Result<Vec<String>, StoreError>>;
    /// See [`Maintenance::stop_lost`].
    fn stop_lost<'a>(
        &'a self,
        node: &'a str,
        max: usize,
    ) -> BoxFuture<'a, Result<Vec<String>, StoreError>>;
    /// See [`Maintenance::prune_logs`].
    fn prune_logs<'a>(
        &'a self,
        retention: &'a LogRetention,
        now: DateTime<Utc>,
        max: usize,
    ) -> BoxFuture<'a, Result<u64, StoreError>>;
}

impl<T: Maintenance> DynMaintenance for T {
    fn cleanup<'a>(
        &'a self,
        node: Option<&'a str>,
        expired_before: DateTime<Utc>,
        max: usize,
    ) -> BoxFuture<'a, Result<Vec<JobInfo>, StoreError>> {
        Box::pin(Maintenance::cleanup(self, node, expired_before, max))
    }

    fn publish_waiting<'a>(
        &'a self,
        node: &'a str,
        now: DateTime<Utc>,
        max: usize,
    ) -> BoxFuture<'a, Result<Vec<String>, StoreError>> {
        Box::pin(Maintenance::publish_waiting(self, node, now, max))
    }

    fn stop_lost<'a>(
        &'a self,
        node: &'a str,
        max: usize,
    ) -> BoxFuture<'a, Result<Vec<String>, StoreError>> {
        Box::pin(Maintenance::stop_lost(self, node, max))
    }

    fn prune_logs<'a>(
        &'a self,
        retention: &'a LogRetention,
        now: DateTime<Utc>,
        max: usize,
    ) -> BoxFuture<'a, Result<u64, StoreError>> {
        Box::pin(Maintenance::prune_logs(self, retention, now, max))
    }
}
