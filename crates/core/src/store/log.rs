//! The record of one run (R12).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

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
    /// The tenant of the job.
    pub tenant_id: Option<Uuid>,
    /// The node that ran the job.
    pub node: String,
    /// How long the run took, in milliseconds.
    pub duration_ms: u64,
}
