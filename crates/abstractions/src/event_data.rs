//! What listeners learn about a run (R8).

use std::time::Duration;

use chrono::{DateTime, Utc};
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use crate::error::JobError;
use crate::job::JobInfo;
use crate::job_args::JobArgs;
use crate::kind::JobKind;
use crate::lease::RunLease;
use crate::opt_outs::JobOptOuts;
use crate::status::JobStatus;

/// Why a run ended before its runnable returned.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub enum Interruption {
    /// The job was paused.
    Paused,
    /// The job was stopped.
    Stopped,
    /// The job was removed.
    Removed,
    /// The runtime shut down; the run is given back to run again.
    Shutdown,
    /// The node lost the run's lease (another node may have taken it over).
    LeaseLost,
}

/// The data of one run, before and after it executes. Holds the job as claimed (before
/// the run changed anything) and what the run produced.
#[derive(Debug, Clone)]
pub struct JobEventData {
    job: JobInfo,
    /// When the run started.
    pub run_time: DateTime<Utc>,
    /// When the job fires next according to its schedule (the scheduler's next fire time).
    pub next_run_time: Option<DateTime<Utc>>,
    /// The error the run failed with; `None` before the run and after a success.
    pub error: Option<JobError>,
    /// What the run set as its result.
    pub result: Option<String>,
    /// How long the run took.
    pub execution_duration: Duration,
    /// Set when the run was interrupted rather than finished.
    pub interruption: Option<Interruption>,
    /// The run's cancellation signal.
    pub cancellation: CancellationToken,
    /// What the job's type opted out of.
    pub opt_outs: JobOptOuts,
    /// The node that ran the job.
    pub node: String,
    /// The lease of the run, when it was claimed from a store.
    pub lease: Option<RunLease>,
}

impl JobEventData {
    /// The data of a run of `job` starting at `run_time`.
    pub fn new(job: JobInfo, run_time: DateTime<Utc>, node: impl Into<String>) -> Self {
        Self {
            next_run_time: job.next_run_time,
            job,
            run_time,
            error: None,
            result: None,
            execution_duration: Duration::ZERO,
            interruption: None,
            cancellation: CancellationToken::new(),
            opt_outs: JobOptOuts::default(),
            node: node.into(),
            lease: None,
        }
    }

    /// The job as it was claimed, before this run changed anything.
    pub fn job(&self) -> &JobInfo {
        &self.job
    }

    /// The job's key (its id).
    pub fn key(&self) -> &str {
        &self.job.id
    }

    /// The job's type (the runnable's registered name).
    pub fn job_type(&self) -> &str {
        &self.job.job_type
    }

    /// The job's group.
    pub fn group(&self) -> &str {
        &self.job.group
    }

    /// The job's name.
    pub fn name(&self) -> &str {
        &self.job.name
    }

    /// The job's arguments.
    pub fn args(&self) -> &JobArgs {
        &self.job.args
    }

    /// The job's status before the run.
    pub fn status(&self) -> JobStatus {
        self.job.status
    }

    /// How the job repeats.
    pub fn kind(&self) -> JobKind {
        self.job.kind
    }

    /// The tenant: the job's own, else the `TenantId` argument.
    pub fn tenant_id(&self) -> Option<Uuid> {
        self.job.tenant_id.or_else(|| self.job.args.tenant_id())
    }

    /// The job's description.
    pub fn description(&self) -> &str {
        &self.job.description
    }

    /// How many times the job ran before this run.
    pub fn triggered_count(&self) -> i32 {
        self.job.trigger_count
    }

    /// The job's max count (the reference's repeat count).
    pub fn repeat_count(&self) -> i32 {
        self.job.max_count
    }

    /// When the job ran before this run.
    pub fn last_run_time(&self) -> Option<DateTime<Utc>> {
        self.job.last_run_time
    }

    /// The run's duration in milliseconds.
    pub fn execution_duration_ms(&self) -> u64 {
        u64::try_from(self.execution_duration.as_millis()).unwrap_or(u64::MAX)
    }

    /// Whether the run failed.
    pub fn failed(&self) -> bool {
        self.error.is_some()
    }

    /// Gives back the job, consuming the data.
    pub fn into_job(self) -> JobInfo {
        self.job
    }
}
