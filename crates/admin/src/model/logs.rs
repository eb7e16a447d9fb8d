//! Run logs as the API shows them (the reference's `BackgroundJobLogDto`, plus ours).

use bgtasks_store::{JobLogEntry, LogPage};
use chrono::{DateTime, Utc};
use serde::Serialize;
use utoipa::ToSchema;

/// One run of a job.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct JobLogDto {
    /// The log's id.
    pub(crate) id: i64,
    /// The job's id.
    pub(crate) job_id: String,
    /// The job's name.
    pub(crate) job_name: String,
    /// The job's group.
    pub(crate) job_group: String,
    /// The job's registered type.
    pub(crate) job_type: String,
    /// What the run returned.
    pub(crate) message: String,
    /// When it started.
    pub(crate) run_time: DateTime<Utc>,
    /// The error text of a failed (or interrupted) run.
    pub(crate) exception: Option<String>,
    /// The failure type the finder gave the error (`Business`, `Network`...).
    pub(crate) exception_type: Option<String>,
    /// The job's tenant.
    pub(crate) tenant_id: Option<String>,
    /// The node that ran it.
    pub(crate) node: String,
    /// How long it took, in milliseconds.
    pub(crate) duration_ms: u64,
}

impl From<JobLogEntry> for JobLogDto {
    fn from(entry: JobLogEntry) -> Self {
        let log = entry.log;
        Self {
            id: entry.id,
            job_id: log.job_id,
            job_name: log.job_name,
            job_group: log.job_group,
            job_type: log.job_type,
            message: log.message,
            run_time: log.run_time,
            exception: log.exception,
            exception_type: log.exception_type.map(|t| t.name()),
            tenant_id: log.tenant_id.map(|t| t.to_string()),
            node: log.node,
            duration_ms: log.duration_ms,
        }
    }
}

/// One page of run logs, newest first.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct JobLogPageDto {
    /// The logs of the page.
    pub(crate) items: Vec<JobLogDto>,
    /// How many logs match the filters.
    pub(crate) total_count: u64,
}

impl From<LogPage> for JobLogPageDto {
    fn from(page: LogPage) -> Self {
        Self {
            items: page.items.into_iter().map(JobLogDto::from).collect(),
            total_count: page.total,
        }
    }
}
