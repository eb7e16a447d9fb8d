//! Which fields a run's completion writes.

use bgtasks_abstractions::JobInfo;

/// The job a store keeps when a run completes: the stored job's definition (id, name,
/// group, type, args, description, times, kind, cron, limits, lock timeout, node,
/// source) with the run-state fields of `outcome` (status, trigger and try counts,
/// abandoned flag, interval, priority, last and next run time, result, tenant, base
/// interval).
pub fn merge_run_state(stored: &JobInfo, outcome: &JobInfo) -> JobInfo {
    let mut merged = stored.clone();
    apply_run_state(&mut merged, outcome);
    merged
}

/// [`merge_run_state`] in place: writes the run-state fields of `outcome` onto `stored`.
pub fn apply_run_state(stored: &mut JobInfo, outcome: &JobInfo) {
    stored.status = outcome.status;
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
    use bgtasks_abstractions::JobStatus;

    use super::*;

    #[test]
    fn keeps_the_definition_and_takes_the_run_state() {
        // spec: R20
        let stored = JobInfo::once("j", "t").with_description("edited during the run");
        let mut outcome = JobInfo::once("j", "t").with_description("old");
        outcome.status = JobStatus::FailedRetry;
        outcome.try_count = 2;
        outcome.interval = 675;
        let merged = merge_run_state(&stored, &outcome);
        assert_eq!(merged.description, "edited during the run");
        assert_eq!(
            (merged.status, merged.try_count, merged.interval),
            (JobStatus::FailedRetry, 2, 675)
        );
    }
}
