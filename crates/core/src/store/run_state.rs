//! Which fields a run's completion writes.

use bgtasks_abstractions::{JobInfo, JobStatus};

/// The job a store keeps when a run completes: the stored job's definition (id, name,
/// group, type, args, description, times, kind, cron, limits, lock timeout, node,
/// source) with the run-state fields of `outcome` (status, trigger and try counts,
/// abandoned flag, interval, priority, last and next run time, result, tenant, base
/// interval). A job paused during the run stays paused unless the run completed or
/// stopped it.
pub fn merge_run_state(stored: &JobInfo, outcome: &JobInfo) -> JobInfo {
    let mut merged = stored.clone();
    apply_run_state(&mut merged, outcome);
    merged
}

/// The status a completion leaves: the run's, except that a job paused during the run
/// stays paused unless the run completed or stopped it.
pub fn merged_status(stored: JobStatus, outcome: JobStatus) -> JobStatus {
    if stored == JobStatus::Paused && !matches!(outcome, JobStatus::Completed | JobStatus::Stopped)
    {
        JobStatus::Paused
    } else {
        outcome
    }
}

/// [`merge_run_state`] in place: writes the run-state fields of `outcome` onto `stored`.
pub fn apply_run_state(stored: &mut JobInfo, outcome: &JobInfo) {
    stored.status = merged_status(stored.status, outcome.status);
    stored.trigger_count = outcome.trigger_count;
    stored.try_count = outcome.try_count;
    stored.is_abandoned = outcome.is_abandoned;
    stored.interval = outcome.interval;
    stored.priority = outcome.priority;
    stored.last_run_time = outcome.last_run_time;
    stored.next_run_time = outcome.next_run_time;
    stored.result.clone_from(&outcome.result);
    stored.tenant_id = outcome.tenant_id;
    stored.base_interval = outcome.base_interval;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_the_definition_and_a_pause() {
        // spec: R20
        let mut stored = JobInfo::once("j", "t").with_description("edited during the run");
        stored.status = JobStatus::Paused;
        let mut outcome = JobInfo::once("j", "t").with_description("old");
        outcome.status = JobStatus::FailedRetry;
        outcome.try_count = 2;
        outcome.interval = 675;
        let merged = merge_run_state(&stored, &outcome);
        assert_eq!(merged.description, "edited during the run");
        assert_eq!(
            (merged.status, merged.try_count, merged.interval),
            (JobStatus::Paused, 2, 675)
        );
        outcome.status = JobStatus::Stopped;
        assert_eq!(
            merge_run_state(&stored, &outcome).status,
            JobStatus::Stopped
        );
    }
}
