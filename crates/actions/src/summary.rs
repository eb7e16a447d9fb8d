//! What a notification tells of the run that called for it. It is stored with the
//! notification, so that any node can deliver it later — after a crash, a restart or an
//! outage — with what the run was when it happened (R51).

use bgtasks_abstractions::{JobArgs, JobEventContext, JobExceptionType, JobInfo, JobStatus};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::throttle::FailureStage;

/// One run, as a notification carries it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RunSummary {
    /// The job's id.
    pub job_id: String,
    /// The job's group.
    pub group: String,
    /// The job's name.
    pub name: String,
    /// The job's type.
    pub job_type: String,
    /// The job's tenant, if any.
    #[serde(default)]
    pub tenant_id: Option<String>,
    /// The job's arguments when it ran.
    #[serde(default)]
    pub args: JobArgs,
    /// When the run started.
    pub run_time: DateTime<Utc>,
    /// The node that ran it.
    pub node: String,
    /// How long it took, in milliseconds.
    #[serde(default)]
    pub duration_ms: u64,
    /// Why it failed; `None` for a success.
    #[serde(default)]
    pub failure: Option<RunFailure>,
    /// What the run set as its result.
    #[serde(default)]
    pub result: Option<String>,
    /// The job's status after the run.
    pub status: JobStatus,
    /// The job's try count after the run (1 on the first failure of a streak).
    pub try_count: i32,
    /// The job's max try count.
    pub max_try_count: i32,
    /// Where a failure stands in its streak.
    #[serde(default)]
    pub first_failure: bool,
    /// Whether the failure abandoned the job.
    #[serde(default)]
    pub final_failure: bool,
}

/// How a run failed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RunFailure {
    /// The error's own message.
    pub message: String,
    /// The message of its innermost cause (what the failure mail shows).
    pub innermost_message: String,
    /// The error and its causes, outermost first, joined by ": ".
    pub chain: String,
    /// The error's code, if any.
    #[serde(default)]
    pub code: Option<String>,
    /// The HTTP status it carried, if any.
    #[serde(default)]
    pub http_status: Option<u16>,
    /// The failure type the finder found.
    #[serde(default)]
    pub failure_type: Option<JobExceptionType>,
}

impl RunSummary {
    /// The summary of the run of `context`, whose job `outcome` is the state it left.
    pub fn of(context: &JobEventContext, outcome: &JobInfo) -> Self {
        let data = context.data();
        let failure = data.error.as_ref().map(|error| RunFailure {
            message: error.message().to_owned(),
            innermost_message: error.innermost_message(),
            chain: error.chain_text(),
            code: error.code().map(str::to_owned),
            http_status: error.http_status(),
            failure_type: context.exception_type(),
        });
        let stage = if failure.is_some() {
            FailureStage::of(outcome)
        } else {
            FailureStage::default()
        };
        Self {
            job_id: data.key().to_owned(),
            group: data.group().to_owned(),
            name: data.name().to_owned(),
            job_type: data.job_type().to_owned(),
            tenant_id: data.tenant_id().map(|t| t.to_string()),
            args: data.args().clone(),
            run_time: data.run_time,
            node: data.node.clone(),
            duration_ms: data.execution_duration_ms(),
            failure,
            result: outcome.result.clone(),
            status: outcome.status,
            try_count: outcome.try_count,
            max_try_count: outcome.max_try_count,
            first_failure: stage.first,
            final_failure: stage.last,
        }
    }

    /// Whether the run failed.
    pub fn failed(&self) -> bool {
        self.failure.is_some()
    }

    /// Where the failure stands in its streak.
    pub fn stage(&self) -> FailureStage {
        FailureStage {
            first: self.first_failure,
            last: self.final_failure,
        }
    }
}
