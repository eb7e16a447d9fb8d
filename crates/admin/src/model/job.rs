//! A job as the API shows it: the reference's `BackgroundJobInfoDto` names, in camelCase,
//! plus what our store keeps beside it (revision, lease, pending interruption...).

use bgtasks_store::JobRecord;
use chrono::{DateTime, Utc};
use serde::Serialize;
use utoipa::ToSchema;

use crate::model::actions::JobActionView;

/// A job.
///
/// Names follow the reference's clients: `type` is the registered job type (the code
/// that runs it) and `jobType` the reference's name for the kind (0 Once, 1 Period,
/// 2 Persistent). Status, priority and source are the reference's numeric codes.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct JobDto {
    /// The job's id.
    pub(crate) id: String,
    /// Its tenant, if any.
    pub(crate) tenant_id: Option<String>,
    /// Display name.
    pub(crate) name: String,
    /// Group.
    pub(crate) group: String,
    /// The registered job type that runs it.
    #[serde(rename = "type")]
    pub(crate) job_type: String,
    /// Arguments (a JSON object).
    #[schema(value_type = Object)]
    pub(crate) args: serde_json::Value,
    /// Status code: -1 None, 0 Completed, 5 Queuing, 10 Running, 15 FailedRetry,
    /// 20 Paused, 30 Stopped.
    pub(crate) status: i32,
    /// Free text.
    pub(crate) description: String,
    /// What the last run returned (or why the job was set aside).
    pub(crate) result: Option<String>,
    /// When it was created.
    pub(crate) creation_time: DateTime<Utc>,
    /// No run before this time.
    pub(crate) begin_time: DateTime<Utc>,
    /// No run after this time.
    pub(crate) end_time: Option<DateTime<Utc>>,
    /// When it last ran.
    pub(crate) last_run_time: Option<DateTime<Utc>>,
    /// When it runs next (`null`: it will not run again on its own).
    pub(crate) next_run_time: Option<DateTime<Utc>>,
    /// Kind code: 0 Once, 1 Period, 2 Persistent (the reference's `jobType`).
    #[serde(rename = "jobType")]
    pub(crate) kind: i32,
    /// Cron expression of a Period job.
    pub(crate) cron: Option<String>,
    /// How many times it ran.
    pub(crate) trigger_count: i32,
    /// Failures in a row.
    pub(crate) try_count: i32,
    /// Failures in a row after which it is abandoned (0 never).
    pub(crate) max_try_count: i32,
    /// Runs of a Persistent job (0 unlimited).
    pub(crate) max_count: i32,
    /// Stopped for failing too often.
    pub(crate) is_abandoned: bool,
    /// Seconds between runs (Persistent) and before a retry.
    pub(crate) interval: i64,
    /// Priority code: 5 Low, 10 BelowNormal, 15 Normal, 20 AboveNormal, 25 High.
    pub(crate) priority: i32,
    /// Seconds of the exclusive lock a run holds (0 none).
    #[serde(rename = "lockTimeOut")]
    pub(crate) lock_timeout: i64,
    /// The node it must run on.
    pub(crate) node_name: Option<String>,
    /// Source code: -1 None, 0 User, 10 System.
    pub(crate) source: i32,
    /// Longest a run may take, in seconds.
    pub(crate) time_limit: Option<i64>,
    /// Its actions (notifiers fired after runs), by position.
    pub(crate) actions: Vec<JobActionView>,
    /// Revision of the definition; send it back to update only what you saw.
    pub(crate) revision: i64,
    /// The revision as text (the reference's name).
    pub(crate) concurrency_stamp: String,
    /// Whether a node is running it now.
    pub(crate) running: bool,
    /// The run in flight, if any.
    pub(crate) lease: Option<LeaseDto>,
    /// A pause or stop asked during the run in flight, not yet acted on.
    pub(crate) interrupt: Option<String>,
    /// Triggered during the run in flight: it runs once more afterwards.
    pub(crate) triggered: bool,
    /// Claims ever.
    pub(crate) attempts: i64,
    /// Rescues in a row since its last completion.
    pub(crate) rescues: i32,
}

/// The run in flight.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct LeaseDto {
    /// The node running it.
    pub(crate) node: String,
    /// When the lease lapses unless renewed.
    pub(crate) expires_at: DateTime<Utc>,
    /// When the run was due.
    pub(crate) due_at: DateTime<Utc>,
}

impl JobDto {
    /// The API's view of a stored job (secret-looking action parameters hidden).
    pub(crate) fn from_record(record: JobRecord) -> Self {
        let JobRecord {
            job,
            revision,
            lease,
            interrupt,
            triggered,
            attempts,
            rescues,
        } = record;
        let actions = job
            .actions
            .iter()
            .enumerate()
            .map(|(index, action)| JobActionView::of(&job.id, index, action))
            .collect();
        Self {
            tenant_id: job.tenant_id.map(|t| t.to_string()),
            args: serde_json::Value::Object(job.args.as_map().clone()),
            status: job.status.code(),
            kind: job.kind.code(),
            priority: job.priority.code(),
            source: job.source.code(),
            running: lease.is_some(),
            lease: lease.map(|lease| LeaseDto {
                node: lease.node,
                expires_at: lease.expires_at,
                due_at: lease.due_at,
            }),
            interrupt: interrupt.map(|why| format!("{why:?}")),
            concurrency_stamp: revision.to_string(),
            revision,
            triggered,
            attempts,
            rescues,
            actions,
            id: job.id,
            name: job.name,
            group: job.group,
            job_type: job.job_type,
            description: job.description,
            result: job.result,
            creation_time: job.creation_time,
            begin_time: job.begin_time,
            end_time: job.end_time,
            last_run_time: job.last_run_time,
            next_run_time: job.next_run_time,
            cron: job.cron,
            trigger_count: job.trigger_count,
            try_count: job.try_count,
            max_try_count: job.max_try_count,
            max_count: job.max_count,
            is_abandoned: job.is_abandoned,
            interval: job.interval,
            lock_timeout: job.lock_timeout,
            node_name: job.node_name,
            time_limit: job.time_limit,
        }
    }
}

/// One page of jobs (the reference's `PagedResultDto`).
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct JobPageDto {
    /// The jobs of the page.
    pub(crate) items: Vec<JobDto>,
    /// How many jobs match the filters.
    pub(crate) total_count: u64,
    /// How many were skipped.
    pub(crate) skip_count: usize,
    /// The page size used (capped at 1,000).
    pub(crate) max_result_count: usize,
}
