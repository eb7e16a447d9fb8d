//! The operator's transitions on one job. Each returns `false` (and changes nothing) when
//! its condition does not hold; the store then refuses with the job's current state.

use bgtasks_abstractions::{
    CronSchedule, Interruption, JobInfo, JobKind, JobStatus, first_fire_time,
};
use chrono::{DateTime, Utc};

use crate::definitions::DefinitionUpdate;
use crate::outcome::active_status;
use crate::record::JobRecord;

/// Pause: a Queuing, Running or FailedRetry job becomes Paused; a run in flight is asked
/// to stop (R39).
pub fn pause(record: &mut JobRecord) -> bool {
    let status = record.job.status;
    if !(status.is_schedulable() || status == JobStatus::None) {
        return false;
    }
    record.job.status = JobStatus::Paused;
    if record.lease.is_some() {
        record.interrupt = Some(Interruption::Paused);
        record.triggered = false;
    }
    true
}

/// Resume: a Paused job is active again. Not running: due at `now` at the latest (a Period
/// job at its first tick from `now`; never past its end time). Running (paused during a
/// run its node has not yet interrupted): the pause is withdrawn and the run goes on.
pub fn resume(record: &mut JobRecord, now: DateTime<Utc>, schedule: Option<&CronSchedule>) -> bool {
    if record.job.status != JobStatus::Paused {
        return false;
    }
    let job = &mut record.job;
    job.status = active_status(job.try_count, job.trigger_count);
    if record.lease.is_some() {
        record.interrupt = None;
    } else {
        job.next_run_time = match job.kind {
            JobKind::Period => first_fire_time(job, schedule, now),
            JobKind::Once | JobKind::Persistent => {
                within_end(job, job.next_run_time.unwrap_or(now).max(now))
            }
        };
    }
    true
}

/// Trigger: the job runs now. A job that is not active becomes active (an abandoned one
/// is no longer abandoned and gets its tries back), due at `now`. While it runs, the
/// trigger is remembered (it runs once more when the run ends, R40) and a pause or stop
/// its node has not yet acted on is withdrawn. Always applies.
pub fn trigger(record: &mut JobRecord, now: DateTime<Utc>) -> bool {
    let job = &mut record.job;
    let reactivate = !job.status.is_schedulable() || job.is_abandoned;
    if reactivate {
        if job.is_abandoned {
            job.is_abandoned = false;
            job.try_count = 0;
        }
        job.status = active_status(job.try_count, job.trigger_count);
    }
    if record.lease.is_some() {
        record.interrupt = None;
        record.triggered = true;
    } else {
        job.next_run_time = Some(now);
    }
    true
}

/// Stop: a job that is not Completed or Stopped is Stopped, with no next run; a run in
/// flight is asked to stop (R39).
pub fn stop(record: &mut JobRecord) -> bool {
    if matches!(record.job.status, JobStatus::Completed | JobStatus::Stopped) {
        return false;
    }
    record.job.status = JobStatus::Stopped;
    record.job.next_run_time = None;
    if record.lease.is_some() {
        record.interrupt = Some(Interruption::Stopped);
        record.triggered = false;
    }
    true
}

/// Start: a Stopped job is active again, not abandoned, with its tries back; not running,
/// it is scheduled from `now` (a Period job at its first tick, another at `now`, never
/// past its end time). Running (stopped during a run its node has not yet interrupted):
/// the stop is withdrawn and the run goes on.
pub fn start(record: &mut JobRecord, now: DateTime<Utc>, schedule: Option<&CronSchedule>) -> bool {
    if record.job.status != JobStatus::Stopped {
        return false;
    }
    let job = &mut record.job;
    job.is_abandoned = false;
    job.try_count = 0;
    job.status = active_status(0, job.trigger_count);
    if record.lease.is_some() {
        record.interrupt = None;
    } else {
        job.next_run_time = match job.kind {
            JobKind::Period => first_fire_time(job, schedule, now),
            JobKind::Once | JobKind::Persistent => within_end(job, job.begin_time.max(now)),
        };
    }
    true
}

/// Applies a definition update (the caller checked the revision): the fields given
/// replace the stored ones and the revision grows by one. A changed schedule of a job
/// that is active and not running gives it a new next run time: a Period job its first
/// tick from `now` (`schedule` is its new cron, parsed), a job that never ran its begin
/// time; a job past its new end time none.
pub fn apply_update(
    record: &mut JobRecord,
    update: &DefinitionUpdate,
    now: DateTime<Utc>,
    schedule: Option<&CronSchedule>,
) {
    let job = &mut record.job;
    if let Some(name) = &update.name {
        job.name.clone_from(name);
    }
    if let Some(group) = &update.group {
        job.group.clone_from(group);
    }
    if let Some(description) = &update.description {
        job.description.clone_from(description);
    }
    if let Some(args) = &update.args {
        job.args = args.clone();
    }
    if let Some(begin) = update.begin_time {
        job.begin_time = begin;
    }
    if let Some(end) = update.end_time {
        job.end_time = end;
    }
    if let Some(cron) = &update.cron {
        job.cron = Some(cron.clone());
    }
    if let Some(interval) = update.interval {
        job.interval = interval;
        job.base_interval = None;
    }
    if let Some(max_try_count) = update.max_try_count {
        job.max_try_count = max_try_count;
    }
    if let Some(max_count) = update.max_count {
        job.max_count = max_count;
    }
    if let Some(priority) = update.priority {
        job.priority = priority;
    }
    if let Some(lock_timeout) = update.lock_timeout {
        job.lock_timeout = lock_timeout;
    }
    if let Some(node) = &update.node_name {
        job.node_name.clone_from(node);
    }
    if let Some(limit) = update.time_limit {
        job.time_limit = limit;
    }
    if let Some(actions) = &update.actions {
        job.actions.clone_from(actions);
    }
    record.revision = record.revision.saturating_add(1);
    let active = job.status.is_schedulable() && !job.is_abandoned;
    if update.changes_schedule() && active && record.lease.is_none() {
        job.next_run_time = match job.kind {
            JobKind::Period => first_fire_time(job, schedule, now),
            JobKind::Once | JobKind::Persistent if job.trigger_count == 0 => {
                first_fire_time(job, None, now)
            }
            JobKind::Once | JobKind::Persistent => {
                job.next_run_time.and_then(|next| within_end(job, next))
            }
        };
    }
}

fn within_end(job: &JobInfo, at: DateTime<Utc>) -> Option<DateTime<Utc>> {
    match job.end_time {
        Some(end) if at > end => None,
        _ => Some(at),
    }
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;
    use crate::record::LeaseInfo;

    fn at(secs: i64) -> DateTime<Utc> {
        Utc.timestamp_opt(1_800_000_000 + secs, 0).unwrap()
    }

    fn record(status: JobStatus) -> JobRecord {
        let mut job = JobInfo::once("j", "t");
        job.status = status;
        job.next_run_time = Some(at(10));
        JobRecord::new(job)
    }

    fn leased(mut record: JobRecord) -> JobRecord {
        record.lease = Some(LeaseInfo {
            node: "n".into(),
            token: 7,
            expires_at: at(100),
            due_at: at(10),
        });
        record
    }

    #[test]
    fn pause_and_resume_follow_the_status() {
        // spec: R37
        for status in [JobStatus::Completed, JobStatus::Stopped, JobStatus::Paused] {
            let mut r = record(status);
            let before = r.clone();
            assert!(!pause(&mut r), "{status}");
            assert_eq!(r, before, "a refusal changes nothing");
        }
        let mut r = record(JobStatus::FailedRetry);
        r.job.try_count = 2;
        assert!(pause(&mut r) && r.job.status == JobStatus::Paused && r.interrupt.is_none());
        assert!(resume(&mut r, at(20), None));
        assert_eq!(
            (r.job.status, r.job.next_run_time),
            (JobStatus::FailedRetry, Some(at(20)))
        );
        assert!(!resume(&mut r, at(20), None), "not paused any more");
    }

    #[test]
    fn a_pause_reaches_the_run_and_a_resume_withdraws_it() {
        // spec: R39
        let mut r = leased(record(JobStatus::Running));
        r.job.trigger_count = 1;
        assert!(pause(&mut r));
        assert_eq!(r.interrupt, Some(Interruption::Paused));
        assert!(resume(&mut r, at(20), None));
        assert_eq!((r.interrupt, r.job.status), (None, JobStatus::Running));
        assert_eq!(r.job.next_run_time, Some(at(10)), "the run goes on");
    }

    #[test]
    fn a_trigger_during_a_run_is_remembered() {
        // spec: R40
        let mut r = leased(record(JobStatus::Running));
        assert!(trigger(&mut r, at(30)));
        assert!(r.triggered);
        assert_eq!(r.job.next_run_time, Some(at(10)));
        let mut idle = record(JobStatus::Stopped);
        idle.job.is_abandoned = true;
        idle.job.try_count = 5;
        assert!(trigger(&mut idle, at(30)));
        assert_eq!(
            (idle.job.status, idle.job.is_abandoned, idle.job.try_count),
            (JobStatus::Queuing, false, 0)
        );
        assert_eq!(idle.job.next_run_time, Some(at(30)));
    }

    #[test]
    fn stop_and_start() {
        // spec: R37
        let mut r = leased(record(JobStatus::Running));
        assert!(stop(&mut r));
        assert_eq!(
            (r.job.status, r.job.next_run_time, r.interrupt),
            (JobStatus::Stopped, None, Some(Interruption::Stopped))
        );
        assert!(!stop(&mut r));
        r.lease = None;
        r.interrupt = None;
        r.job.is_abandoned = true;
        assert!(start(&mut r, at(40), None));
        assert_eq!(
            (r.job.status, r.job.is_abandoned, r.job.next_run_time),
            (JobStatus::Queuing, false, Some(at(40)))
        );
    }

    #[test]
    fn an_update_reschedules_only_an_idle_active_job() {
        // spec: R37
        let mut r = record(JobStatus::Queuing);
        r.job.begin_time = at(0);
        let update = DefinitionUpdate {
            begin_time: Some(at(50)),
            description: Some("new".into()),
            ..DefinitionUpdate::default()
        };
        apply_update(&mut r, &update, at(5), None);
        assert_eq!(
            (r.revision, r.job.next_run_time, r.job.description.as_str()),
            (2, Some(at(50)), "new")
        );
        let mut running = leased(record(JobStatus::Running));
        apply_update(&mut running, &update, at(5), None);
        assert_eq!(running.job.next_run_time, Some(at(10)));
    }
}
