//! What the runtime tells observers after each run.

use std::time::Duration;

use bgtasks_abstractions::{Interruption, JobError, JobExceptionType, JobInfo};
use chrono::{DateTime, Utc};

/// One finished run, as broadcast by [`Runtime::subscribe`](crate::Runtime::subscribe):
/// what happened and the job state it left behind.
#[derive(Debug, Clone)]
pub struct RunReport {
    /// The job id.
    pub job_id: String,
    /// The job type.
    pub job_type: String,
    /// The node that ran it.
    pub node: String,
    /// When the run started.
    pub run_time: DateTime<Utc>,
    /// How long it took.
    pub duration: Duration,
    /// The error, if the run failed.
    pub error: Option<JobError>,
    /// The failure type the finder gave the error.
    pub exception_type: Option<JobExceptionType>,
    /// Set when the run was interrupted rather than finished.
    pub interruption: Option<Interruption>,
    /// The job as the executed event saved it (`None` if it was not saved: interrupted,
    /// opted out, or removed).
    pub job: Option<JobInfo>,
}

impl RunReport {
    /// Whether the run succeeded.
    pub fn succeeded(&self) -> bool {
        self.error.is_none() && self.interruption.is_none()
    }
}
