//! Fixed times and job builders shared by the cases.

use bgtasks_abstractions::{JobInfo, JobStatus};
use chrono::{DateTime, TimeZone, Utc};

/// A fixed instant, `secs` seconds after the suite's epoch (whole seconds, so that every
/// store keeps it exactly).
pub fn t(secs: i64) -> DateTime<Utc> {
    Utc.timestamp_opt(1_800_000_000 + secs, 0)
        .single()
        .expect("a valid timestamp")
}

/// A Once job, Queuing, due at `t(due)`, created at `t(-1000)`.
pub fn queued(id: &str, due: i64) -> JobInfo {
    let mut job = JobInfo::once(id, "t");
    job.creation_time = t(-1000);
    job.begin_time = t(-1000);
    job.status = JobStatus::Queuing;
    job.next_run_time = Some(t(due));
    job
}
