//! A claimed run and the lease that guards it.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// The lease a node holds on one run of a job it claimed from the store. While the lease
/// is alive no other node claims the job; when it lapses the run can be rescued. The
/// `token` fences completion: a store refuses a completion whose token is not the job's
/// current one, so an old owner never overwrites a new owner's result.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunLease {
    /// The job id.
    pub job_id: String,
    /// The fencing token: grows with every claim of the job.
    pub token: i64,
    /// The node that holds the lease.
    pub node: String,
    /// When the lease lapses unless renewed.
    pub expires_at: DateTime<Utc>,
    /// When the claimed run was due (restored if the run is given back unfinished).
    pub due_at: DateTime<Utc>,
}
