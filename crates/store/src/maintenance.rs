//! Maintenance: the system jobs' transitions (polling, checking, cleaning).

use async_trait::async_trait;
use bgtasks_abstractions::JobInfo;
use chrono::{DateTime, Utc};

use crate::error::StoreError;

/// The transitions of the system jobs. Each is one atomic operation on the store whose
/// conditions are checked per job inside it: none reads jobs and writes them back.
#[async_trait]
pub trait Maintenance: Send + Sync {
    /// Removes Completed jobs whose last run time (else end time, else creation time) is
    /// older than `expired_before`, pinned to `node` when given, at most `max`, oldest
    /// first, with their run logs (and the actions kept beside them), and returns them
    /// (R27).
    async fn cleanup(
        &self,
        node: Option<&str>,
        expired_before: DateTime<Utc>,
        max: usize,
    ) -> Result<Vec<JobInfo>, StoreError>;

    /// Polling (R30): gives waiting jobs that have no next run time (written by an
    /// outside writer) their first fire time (their begin time), if they are not Period
    /// jobs, may run on `node`, are not running and have not ended by `now` (by the
    /// store's clock); at most `max`, in the waiting order. Returns their ids.
    async fn publish_waiting(
        &self,
        node: &str,
        now: DateTime<Utc>,
        max: usize,
    ) -> Result<Vec<String>, StoreError>;

    /// Checking (R29): Running jobs that may run on `node` but have no next run time and
    /// no run in flight anywhere — scheduled nowhere — become Stopped; at most `max`.
    /// Returns their ids.
    async fn stop_lost(&self, node: &str, max: usize) -> Result<Vec<String>, StoreError>;
}
