//! The reference's waiting filter and order (R27), and the age clean-up measures.

use std::cmp::Ordering;

use bgtasks_abstractions::{JobInfo, JobKind, JobStatus};
use chrono::{DateTime, Utc};

/// Whether a job passes the reference's "waiting" filter (R27), for Period or non-Period.
pub fn is_waiting(job: &JobInfo, period: bool) -> bool {
    !job.is_abandoned
        && (job.kind == JobKind::Period) == period
        && matches!(job.status, JobStatus::Queuing | JobStatus::FailedRetry)
        && ((job.max_count == 0 || job.trigger_count < job.max_count)
            || (job.max_try_count == 0 || job.try_count < job.max_try_count))
}

/// The reference's waiting order (R27): highest priority, then fewest tries, then earliest
/// next run time (jobs without one last).
pub fn waiting_order(a: &JobInfo, b: &JobInfo) -> Ordering {
    b.priority
        .cmp(&a.priority)
        .then(a.try_count.cmp(&b.try_count))
        .then_with(|| match (a.next_run_time, b.next_run_time) {
            (Some(x), Some(y)) => x.cmp(&y),
            (Some(_), None) => Ordering::Less,
            (None, Some(_)) => Ordering::Greater,
            (None, None) => Ordering::Equal,
        })
}

/// The time clean-up measures a Completed job's age from (R27): its last run, else its
/// end, else its creation.
pub fn cleanup_reference_time(job: &JobInfo) -> DateTime<Utc> {
    job.last_run_time
        .or(job.end_time)
        .unwrap_or(job.creation_time)
}
