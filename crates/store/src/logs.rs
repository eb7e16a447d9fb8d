//! Run logs (R12): one record per run, and the rescue records.

use bgtasks_abstractions::{BoxFuture, JobExceptionType};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::error::StoreError;
use crate::query::{MAX_PAGE_SIZE, TimeRange};

/// What the log event stores for each run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct JobLog {
    /// The job id.
    pub job_id: String,
    /// The job name.
    pub job_name: String,
    /// The job group.
    pub job_group: String,
    /// The job type.
    pub job_type: String,
    /// The run's result, cut to the configured maximum length.
    pub message: String,
    /// When the run started.
    pub run_time: DateTime<Utc>,
    /// The error text of a failed run, cut to the configured maximum length.
    pub exception: Option<String>,
    /// The failure type the finder gave the error (`None` for a success, and for a run
    /// interrupted before its end, which has an error text but no failure type).
    #[serde(default)]
    pub exception_type: Option<JobExceptionType>,
    /// The tenant of the job.
    pub tenant_id: Option<Uuid>,
    /// The node that ran the job.
    pub node: String,
    /// How long the run took, in milliseconds.
    pub duration_ms: u64,
    /// The lease token of the run this log records, set by the runtime's log event;
    /// `None` for a log written otherwise (by hand, an import, a store's own rescue
    /// record), which is appended as it is. A log with a token is appended only while its
    /// run still holds the job — the job exists and is leased under this token (the run
    /// is in flight), or its last run time is this log's run time (the run's own
    /// completion recorded its start) — and dropped otherwise, so that a run whose job was removed (and
    /// maybe queued again under its id) while it ran leaves no log behind (R46; the rule
    /// is [`rules::keeps_run_log`](crate::rules::keeps_run_log)). The logs given to
    /// [`JobRuns::complete`](crate::JobRuns::complete) are judged against the jobs as
    /// they were before that call's completions. Not stored: a log read back has none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lease_token: Option<i64>,
}

/// A stored run log and its id (ids grow with every log appended).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct JobLogEntry {
    /// The log's id in the store.
    pub id: i64,
    /// The log.
    pub log: JobLog,
}

/// Which run logs to list, newest first.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct LogQuery {
    /// The logs of this job only.
    pub job_id: Option<String>,
    /// Logs with (`true`) or without (`false`) an error.
    pub has_exception: Option<bool>,
    /// The run time in this range.
    pub run_time: TimeRange,
    /// How many matching logs to skip.
    pub offset: usize,
    /// How many to return (cut to [`MAX_PAGE_SIZE`]).
    pub limit: usize,
}

impl LogQuery {
    /// The newest `max` logs of a job.
    pub fn of_job(job_id: impl Into<String>, max: usize) -> Self {
        Self {
            job_id: Some(job_id.into()),
            limit: max,
            ..Self::default()
        }
    }

    /// The page size the store uses.
    pub fn page_size(&self) -> usize {
        self.limit.min(MAX_PAGE_SIZE)
    }

    /// Whether `entry` passes the filters.
    pub fn matches(&self, log: &JobLog) -> bool {
        self.job_id.as_deref().is_none_or(|id| log.job_id == id)
            && self
                .has_exception
                .is_none_or(|has| log.exception.is_some() == has)
            && self.run_time.contains(Some(log.run_time))
    }
}

/// One page of run logs, newest first, and how many match in all.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct LogPage {
    /// The logs of the page.
    pub items: Vec<JobLogEntry>,
    /// How many logs match the filters.
    pub total: u64,
}

/// Where run logs are kept. Implement it with plain `async fn`s; the runtime calls it
/// through [`DynRunLogs`].
pub trait RunLogs: Send + Sync {
    /// Appends run logs, in order (one statement on a durable store).
    fn append_logs(&self, logs: &[JobLog]) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// The logs the query selects, newest first, one page of them.
    fn query_logs(
        &self,
        query: &LogQuery,
    ) -> impl Future<Output = Result<LogPage, StoreError>> + Send;

    /// The log with this id.
    fn find_log(
        &self,
        id: i64,
    ) -> impl Future<Output = Result<Option<JobLogEntry>, StoreError>> + Send;

    /// Removes the log with this id; `false` if there was none.
    fn remove_log(&self, id: i64) -> impl Future<Output = Result<bool, StoreError>> + Send;

    /// The newest `max` logs of a job, newest first.
    fn list_logs(
        &self,
        job_id: &str,
        max: usize,
    ) -> impl Future<Output = Result<Vec<JobLog>, StoreError>> + Send {
        async move {
            let page = self.query_logs(&LogQuery::of_job(job_id, max)).await?;
            Ok(page.items.into_iter().map(|entry| entry.log).collect())
        }
    }
}

/// The object-safe form of [`RunLogs`], with the same methods returning boxed futures; a
/// [`JobStore`](crate::JobStore) is one. Every `RunLogs` is one: implement `RunLogs`, not
/// this.
pub trait DynRunLogs: Send + Sync {
    /// See [`RunLogs::append_logs`].
    fn append_logs<'a>(&'a self, logs: &'a [JobLog]) -> BoxFuture<'a, Result<(), StoreError>>;
    /// See [`RunLogs::query_logs`].
    fn query_logs<'a>(&'a self, query: &'a LogQuery) -> BoxFuture<'a, Result<LogPage, StoreError>>;
    /// See [`RunLogs::find_log`].
    fn find_log(&self, id: i64) -> BoxFuture<'_, Result<Option<JobLogEntry>, StoreError>>;
    /// See [`RunLogs::remove_log`].
    fn remove_log(&self, id: i64) -> BoxFuture<'_, Result<bool, StoreError>>;
    /// See [`RunLogs::list_logs`].
    fn list_logs<'a>(
        &'a self,
        job_id: &'a str,
        max: usize,
    ) -> BoxFuture<'a, Result<Vec<JobLog>, StoreError>>;
}

impl<T: RunLogs> DynRunLogs for T {
    fn append_logs<'a>(&'a self, logs: &'a [JobLog]) -> BoxFuture<'a, Result<(), StoreError>> {
        Box::pin(RunLogs::append_logs(self, logs))
    }

    fn query_logs<'a>(&'a self, query: &'a LogQuery) -> BoxFuture<'a, Result<LogPage, StoreError>> {
        Box::pin(RunLogs::query_logs(self, query))
    }

    fn find_log(&self, id: i64) -> BoxFuture<'_, Result<Option<JobLogEntry>, StoreError>> {
        Box::pin(RunLogs::find_log(self, id))
    }

    fn remove_log(&self, id: i64) -> BoxFuture<'_, Result<bool, StoreError>> {
        Box::pin(RunLogs::remove_log(self, id))
    }

    fn list_logs<'a>(
        &'a self,
        job_id: &'a str,
        max: usize,
    ) -> BoxFuture<'a, Result<Vec<JobLog>, StoreError>> {
        Box::pin(RunLogs::list_logs(self, job_id, max))
    }
}
