//! Job definitions: insert, update, remove, find, list.

use bgtasks_abstractions::{BoxFuture, JobInfo, JobPriority, JobStatus};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::error::StoreError;
use crate::outcome::Transition;
use crate::query::{JobPage, JobQuery};
use crate::record::JobRecord;

/// Which jobs a removal may remove.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum RemoveIf {
    /// Whatever its state (a running job's run is interrupted: its node learns at its next
    /// renewal that the job is gone).
    #[default]
    Always,
    /// Only a Stopped job (the reference's admin rule); any other is refused with its
    /// current state.
    Stopped,
    /// Only a finished job: Completed or Stopped (a unique job's key is free again).
    Finished,
}

impl RemoveIf {
    /// Whether a job in `status` may be removed.
    pub fn allows(self, status: JobStatus) -> bool {
        match self {
            RemoveIf::Always => true,
            RemoveIf::Stopped => status == JobStatus::Stopped,
            RemoveIf::Finished => matches!(status, JobStatus::Completed | JobStatus::Stopped),
        }
    }
}

/// Changes to a job's definition. Each field given replaces the stored one; the run
/// state (status, counters, run times, lease) is left alone, except that a changed
/// schedule (cron, begin time, interval) of a job that is scheduled and not running gives
/// it a new next run time, computed by [`rules::apply_update`](crate::rules::apply_update).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct DefinitionUpdate {
    /// A new name.
    pub name: Option<String>,
    /// A new group.
    pub group: Option<String>,
    /// A new description.
    pub description: Option<String>,
    /// New arguments.
    pub args: Option<bgtasks_abstractions::JobArgs>,
    /// A new begin time.
    pub begin_time: Option<DateTime<Utc>>,
    /// A new end time (`Some(None)` removes it).
    pub end_time: Option<Option<DateTime<Utc>>>,
    /// A new cron expression (Period jobs).
    pub cron: Option<String>,
    /// A new interval in seconds.
    pub interval: Option<i64>,
    /// A new max try count.
    pub max_try_count: Option<i32>,
    /// A new max count.
    pub max_count: Option<i32>,
    /// A new priority.
    pub priority: Option<JobPriority>,
    /// A new lock timeout in seconds.
    pub lock_timeout: Option<i64>,
    /// A new node (`Some(None)` lets any node run it).
    pub node_name: Option<Option<String>>,
    /// A new time limit in seconds (`Some(None)` removes it).
    pub time_limit: Option<Option<i64>>,
    /// New actions (replacing all of them).
    pub actions: Option<Vec<bgtasks_abstractions::JobAction>>,
}

impl DefinitionUpdate {
    /// Whether the update changes nothing.
    pub fn is_empty(&self) -> bool {
        *self == DefinitionUpdate::default()
    }

    /// Whether the update changes when the job runs.
    pub fn changes_schedule(&self) -> bool {
        self.cron.is_some()
            || self.begin_time.is_some()
            || self.interval.is_some()
            || self.end_time.is_some()
    }
}

/// Where jobs are defined. Every method is one atomic operation. Implement it with plain
/// `async fn`s; the runtime calls it through [`DynJobDefinitions`].
pub trait JobDefinitions: Send + Sync {
    /// Inserts each job unless one with its id exists (a repeated id in `jobs` is
    /// inserted once, the first); `true` for each inserted. Durable stores insert a batch
    /// in one transaction. An inserted job is at revision 1, with no lease.
    fn insert(
        &self,
        jobs: &[JobInfo],
    ) -> impl Future<Output = Result<Vec<bool>, StoreError>> + Send;

    /// Applies `update` to the definition of job `id`, if `expected_revision` is `None` or
    /// the job's revision; the revision then grows by one. Refused with
    /// [`NotFound`](crate::Refusal::NotFound), or with
    /// [`StateChanged`](crate::Refusal::StateChanged) when the revision moved on. `now`
    /// is the time a changed schedule is computed from.
    fn update(
        &self,
        id: &str,
        update: &DefinitionUpdate,
        expected_revision: Option<i64>,
        now: DateTime<Utc>,
    ) -> impl Future<Output = Result<Transition, StoreError>> + Send;

    /// Removes job `id` with its run logs (and the actions kept beside it), if `only`
    /// allows its status; returns the job as it was. A run in flight is interrupted: its
    /// node learns at its next renewal that the job is gone, and can no longer complete,
    /// renew or give back anything (R38).
    fn remove(
        &self,
        id: &str,
        only: RemoveIf,
    ) -> impl Future<Output = Result<Transition, StoreError>> + Send;

    /// The job `id`, if there is one.
    fn find(&self, id: &str) -> impl Future<Output = Result<Option<JobRecord>, StoreError>> + Send;

    /// The jobs the query selects, one page of them, and how many match in all.
    fn list(&self, query: &JobQuery) -> impl Future<Output = Result<JobPage, StoreError>> + Send;

    /// The reference's waiting jobs (R27): not abandoned, not Period, status Queuing or
    /// FailedRetry, with runs or tries left; highest priority first, then fewest tries,
    /// then earliest next run; at most `max`.
    fn list_waiting(
        &self,
        max: usize,
    ) -> impl Future<Output = Result<Vec<JobInfo>, StoreError>> + Send;

    /// Period jobs by the same filter and order (R27), at most `max`.
    fn list_period(
        &self,
        max: usize,
    ) -> impl Future<Output = Result<Vec<JobInfo>, StoreError>> + Send;

    /// Jobs in status Running that may run on `node` (pinned to it or to no node), in the
    /// waiting order, at most `max` (R27).
    fn list_running(
        &self,
        node: &str,
        max: usize,
    ) -> impl Future<Output = Result<Vec<JobInfo>, StoreError>> + Send;
}

/// The object-safe form of [`JobDefinitions`], with the same methods returning boxed
/// futures; a [`JobStore`](crate::JobStore) is one. Every `JobDefinitions` is one:
/// implement `JobDefinitions`, not this.
pub trait DynJobDefinitions: Send + Sync {
    /// See [`JobDefinitions::insert`].
    fn insert<'a>(&'a self, jobs: &'a [JobInfo]) -> BoxFuture<'a, Result<Vec<bool>, StoreError>>;
    /// See [`JobDefinitions::update`].
    fn update<'a>(
        &'a self,
        id: &'a str,
        update: &'a DefinitionUpdate,
        expected_revision: Option<i64>,
        now: DateTime<Utc>,
    ) -> BoxFuture<'a, Result<Transition, StoreError>>;
    /// See [`JobDefinitions::remove`].
    fn remove<'a>(
        &'a self,
        id: &'a str,
        only: RemoveIf,
    ) -> BoxFuture<'a, Result<Transition, StoreError>>;
    /// See [`JobDefinitions::find`].
    fn find<'a>(&'a self, id: &'a str) -> BoxFuture<'a, Result<Option<JobRecord>, StoreError>>;
    /// See [`JobDefinitions::list`].
    fn list<'a>(&'a self, query: &'a JobQuery) -> BoxFuture<'a, Result<JobPage, StoreError>>;
    /// See [`JobDefinitions::list_waiting`].
    fn list_waiting(&self, max: usize) -> BoxFuture<'_, Result<Vec<JobInfo>, StoreError>>;
    /// See [`JobDefinitions::list_period`].
    fn list_period(&self, max: usize) -> BoxFuture<'_, Result<Vec<JobInfo>, StoreError>>;
    /// See [`JobDefinitions::list_running`].
    fn list_running<'a>(
        &'a self,
        node: &'a str,
        max: usize,
    ) -> BoxFuture<'a, Result<Vec<JobInfo>, StoreError>>;
}

impl<T: JobDefinitions> DynJobDefinitions for T {
    fn insert<'a>(&'a self, jobs: &'a [JobInfo]) -> BoxFuture<'a, Result<Vec<bool>, StoreError>> {
        Box::pin(JobDefinitions::insert(self, jobs))
    }

    fn update<'a>(
        &'a self,
        id: &'a str,
        update: &'a DefinitionUpdate,
        expected_revision: Option<i64>,
        now: DateTime<Utc>,
    ) -> BoxFuture<'a, Result<Transition, StoreError>> {
        Box::pin(JobDefinitions::update(
            self,
            id,
            update,
            expected_revision,
            now,
        ))
    }

    fn remove<'a>(
        &'a self,
        id: &'a str,
        only: RemoveIf,
    ) -> BoxFuture<'a, Result<Transition, StoreError>> {
        Box::pin(JobDefinitions::remove(self, id, only))
    }

    fn find<'a>(&'a self, id: &'a str) -> BoxFuture<'a, Result<Option<JobRecord>, StoreError>> {
        Box::pin(JobDefinitions::find(self, id))
    }

    fn list<'a>(&'a self, query: &'a JobQuery) -> BoxFuture<'a, Result<JobPage, StoreError>> {
        Box::pin(JobDefinitions::list(self, query))
    }

    fn list_waiting(&self, max: usize) -> BoxFuture<'_, Result<Vec<JobInfo>, StoreError>> {
        Box::pin(JobDefinitions::list_waiting(self, max))
    }

    fn list_period(&self, max: usize) -> BoxFuture<'_, Result<Vec<JobInfo>, StoreError>> {
        Box::pin(JobDefinitions::list_period(self, max))
    }

    fn list_running<'a>(
        &'a self,
        node: &'a str,
        max: usize,
    ) -> BoxFuture<'a, Result<Vec<JobInfo>, StoreError>> {
        Box::pin(JobDefinitions::list_running(self, node, max))
    }
}
