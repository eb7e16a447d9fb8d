//! What a transition answers: applied, or refused and why.

use std::fmt;

use bgtasks_abstractions::{Interruption, JobStatus};

use crate::record::JobRecord;

/// Why a store refused a transition. A refusal changes nothing.
#[derive(Debug, Clone, PartialEq)]
pub enum Refusal {
    /// There is no job with that id.
    NotFound,
    /// The lease named is no longer the run's: it expired and the run was rescued, or the
    /// job was removed and queued again (tokens are never reused, R38).
    LeaseLost,
    /// The job's state no longer allows the transition (pausing a Completed job, removing
    /// a job that is not Stopped when only Stopped ones may go, updating a definition
    /// whose revision moved on…). Carries the job as it is now.
    StateChanged(Box<JobRecord>),
}

impl Refusal {
    /// The job as it is now, for a refusal because its state changed.
    pub fn current(&self) -> Option<&JobRecord> {
        match self {
            Refusal::StateChanged(record) => Some(record),
            _ => None,
        }
    }
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Refusal::NotFound => f.write_str("no such job"),
            Refusal::LeaseLost => f.write_str("the run's lease is no longer held"),
            Refusal::StateChanged(record) => write!(
                f,
                "the job's state changed: it is {}{}{}",
                record.job.status,
                if record.job.is_abandoned {
                    " (abandoned)"
                } else {
                    ""
                },
                if record.is_running() { ", running" } else { "" }
            ),
        }
    }
}

/// The answer to a control transition (pause, resume, trigger, stop, start, update,
/// remove): the job as the transition left it, or why it was refused.
pub type Transition = Result<JobRecord, Refusal>;

/// A refused transition, as something to show: `job `{id}`: {refusal}`.
pub fn describe_refusal(id: &str, refusal: &Refusal) -> String {
    format!("job `{id}`: {refusal}")
}

/// What happened to a run's outcome handed to the store
/// ([`complete`](crate::JobRuns::complete)).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CompletionOutcome {
    /// The store took the result.
    Saved,
    /// The lease was no longer this run's (it expired and was rescued, or the job was
    /// removed and queued again): nothing written.
    LeaseLost,
    /// The job is gone (removed during the run): nothing written.
    JobGone,
    /// The job was paused or stopped during the run: the store recorded the run as
    /// interrupted (no try charged, nothing counted; a paused job runs again once
    /// resumed) instead of its outcome (R39).
    Interrupted(Interruption),
}

impl CompletionOutcome {
    /// Whether the outcome was saved.
    pub fn is_saved(self) -> bool {
        self == CompletionOutcome::Saved
    }
}

/// What a lease renewal learned of one run ([`renew`](crate::JobRuns::renew)).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RenewOutcome {
    /// The lease is extended.
    Renewed,
    /// The lease is no longer this node's: stop the run, write nothing.
    LeaseLost,
    /// The job was paused, stopped or removed while it ran: interrupt the run (R39). A
    /// paused or stopped job's lease is extended so that the run can be given back.
    Interrupt(Interruption),
}

/// The status a job returns to when it becomes active again (resume, start): FailedRetry
/// if it is retrying a failure, Running if it ran before, Queuing if it never ran.
pub fn active_status(try_count: i32, trigger_count: i32) -> JobStatus {
    if try_count > 0 {
        JobStatus::FailedRetry
    } else if trigger_count > 0 {
        JobStatus::Running
    } else {
        JobStatus::Queuing
    }
}
