//! A job as a store holds it: its definition and state, and what the store keeps beside
//! them (the definition's revision, the lease of a run in flight, a requested interruption
//! and a pending trigger).

use bgtasks_abstractions::{Interruption, JobInfo};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// A job and the store's bookkeeping about it, as [`find`](crate::JobDefinitions::find)
/// and [`list`](crate::JobDefinitions::list) return it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct JobRecord {
    /// The job: the reference's model, definition and run state.
    pub job: JobInfo,
    /// The revision of the job's definition: 1 when inserted, one more with every
    /// definition update. A caller that read revision `n` and updates with
    /// `expected_revision = Some(n)` is refused if someone updated it meanwhile.
    pub revision: i64,
    /// The lease of the run in flight, if a node is running the job.
    pub lease: Option<LeaseInfo>,
    /// An interruption requested while the job was running (pause, stop), not yet acted
    /// on by the node that runs it. It learns of it at its next lease renewal.
    pub interrupt: Option<Interruption>,
    /// Whether the job was triggered while it was running: it runs once more when the
    /// run in flight ends (R40).
    pub triggered: bool,
    /// How many times the job has been claimed, ever (every claim counts an attempt, R43).
    pub attempts: i64,
    /// How many times in a row its run was rescued because its node died, since the last
    /// completion (R43).
    pub rescues: i32,
}

impl JobRecord {
    /// A record of a job that is not running, at revision 1.
    pub fn new(job: JobInfo) -> Self {
        Self {
            job,
            revision: 1,
            lease: None,
            interrupt: None,
            triggered: false,
            attempts: 0,
            rescues: 0,
        }
    }

    /// Whether a node is running the job.
    pub fn is_running(&self) -> bool {
        self.lease.is_some()
    }
}

/// Who holds the lease of a run in flight, and until when.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LeaseInfo {
    /// The node running the job.
    pub node: String,
    /// The lease's fencing token: unique for the lifetime of the store (R38).
    pub token: i64,
    /// When the lease lapses unless renewed (by the store's clock).
    pub expires_at: DateTime<Utc>,
    /// When the run in flight was due.
    pub due_at: DateTime<Utc>,
}
