//! The data path's transitions on one job: what a completion, a give-back, a rescue and
//! a renewal do, given the lease they name.

use bgtasks_abstractions::{Interruption, JobStatus};
use chrono::{DateTime, Utc};

use crate::outcome::{CompletionOutcome, RenewOutcome, active_status};
use crate::record::JobRecord;
use crate::rules::apply_run_state;
use crate::runs::{ClaimRequest, GiveBack, RunCompletion};

/// Whether a job can be claimed by `request` at `now`: active, not abandoned, scheduled
/// by `now`, no run in flight, pinned to no node or to the claimer, of a type it takes.
pub fn is_claimable(record: &JobRecord, request: &ClaimRequest<'_>, now: DateTime<Utc>) -> bool {
    let job = &record.job;
    record.lease.is_none()
        && job.status.is_schedulable()
        && !job.is_abandoned
        && job.next_run_time.is_some_and(|due| due <= now)
        && job.runs_on(request.node)
        && request.takes(&job.job_type)
}

/// Whether `record`'s lease is the one of `token`.
fn holds(record: &JobRecord, token: i64) -> bool {
    record
        .lease
        .as_ref()
        .is_some_and(|lease| lease.token == token)
}

/// When a job whose run was cut short is due: the time its run was due, unless it is
/// Stopped.
fn due_again(record: &JobRecord, due_at: DateTime<Utc>) -> Option<DateTime<Utc>> {
    (record.job.status != JobStatus::Stopped).then_some(due_at)
}

/// Ends the lease; a trigger that came during the run makes the job due again at once
/// (active again if the run ended it, R40).
fn end_lease(record: &mut JobRecord, due_at: DateTime<Utc>) {
    record.lease = None;
    record.interrupt = None;
    if std::mem::take(&mut record.triggered) {
        let job = &mut record.job;
        if !job.status.is_schedulable() || job.is_abandoned {
            if job.is_abandoned {
                job.is_abandoned = false;
                job.try_count = 0;
            }
            job.status = active_status(job.try_count, job.trigger_count);
        }
        job.next_run_time = Some(due_at);
    }
}

/// A run's completion: refused if the lease is not the run's; recorded as interrupted
/// if the job was paused or stopped during the run (R39: no try charged, nothing
/// counted, a paused job due again at the run's due time once resumed; only the run's
/// start is kept, as the job's last run time, so that the run's log is kept by
/// [`keeps_run_log`](crate::rules::keeps_run_log)); else the run state is written (R20).
/// Either way the run ended, so the rescues in a row go back to zero.
pub fn complete(record: &mut JobRecord, completion: &RunCompletion) -> CompletionOutcome {
    if !holds(record, completion.lease.token) {
        return CompletionOutcome::LeaseLost;
    }
    let due_at = record
        .lease
        .as_ref()
        .map_or(completion.lease.due_at, |l| l.due_at);
    if let Some(why) = record.interrupt {
        record.job.next_run_time = due_again(record, due_at);
        record.job.last_run_time = completion.job.last_run_time.or(record.job.last_run_time);
        record.rescues = 0;
        end_lease(record, due_at);
        return CompletionOutcome::Interrupted(why);
    }
    apply_run_state(&mut record.job, &completion.job);
    record.rescues = 0;
    end_lease(record, due_at);
    CompletionOutcome::Saved
}

/// A run handed back without a result: refused if the lease is not the run's. `RunAgain`
/// makes the job due at the time the run was due, `RunAt` at that time, `KeepSchedule`
/// leaves it; a job paused during the run is due at the run's due time once resumed, a
/// stopped one stays without a next run.
pub fn give_back(record: &mut JobRecord, token: i64, how: GiveBack) -> CompletionOutcome {
    if !holds(record, token) {
        return CompletionOutcome::LeaseLost;
    }
    let Some(due_at) = record.lease.as_ref().map(|l| l.due_at) else {
        return CompletionOutcome::LeaseLost;
    };
    let paused = record.interrupt == Some(Interruption::Paused);
    match how {
        _ if paused => record.job.next_run_time = due_again(record, due_at),
        GiveBack::RunAgain => record.job.next_run_time = due_again(record, due_at),
        GiveBack::RunAt(at) => record.job.next_run_time = due_again(record, at),
        GiveBack::KeepSchedule => {}
    }
    if record.job.status == JobStatus::Stopped {
        record.job.next_run_time = None;
    }
    end_lease(record, due_at);
    CompletionOutcome::Saved
}

/// A rescue of a run whose lease expired: due again at the time it was due (unless the
/// job is Stopped), no try charged, one more rescue in a row counted (R43). `false` if
/// the job holds no lease.
pub fn rescue(record: &mut JobRecord) -> bool {
    let Some(due_at) = record.lease.as_ref().map(|l| l.due_at) else {
        return false;
    };
    record.rescues = record.rescues.saturating_add(1);
    record.job.next_run_time = due_again(record, due_at);
    end_lease(record, due_at);
    if record.job.status == JobStatus::Stopped {
        record.job.next_run_time = None;
    }
    true
}

/// A renewal of the lease of `token` held by `node` until `until`: what the node learns
/// of its run. The lease of a run asked to stop is extended too, so that the node can
/// give it back.
pub fn renew(
    record: Option<&mut JobRecord>,
    node: &str,
    token: i64,
    until: DateTime<Utc>,
) -> RenewOutcome {
    let Some(record) = record else {
        return RenewOutcome::Interrupt(Interruption::Removed);
    };
    let interrupt = record.interrupt;
    match record.lease.as_mut() {
        Some(lease) if lease.token == token && lease.node == node => {
            lease.expires_at = until;
            match interrupt {
                Some(why) => RenewOutcome::Interrupt(why),
                None => RenewOutcome::Renewed,
            }
        }
        _ => RenewOutcome::LeaseLost,
    }
}

#[cfg(test)]
mod tests {
    use bgtasks_abstractions::{JobInfo, RunLease};
    use chrono::TimeZone;

    use super::*;
    use crate::record::LeaseInfo;
    use crate::rules::{pause, stop, trigger};

    fn at(secs: i64) -> DateTime<Utc> {
        Utc.timestamp_opt(1_800_000_000 + secs, 0).unwrap()
    }

    fn running(token: i64) -> (JobRecord, RunCompletion) {
        let mut job = JobInfo::once("j", "t");
        job.status = JobStatus::Queuing;
        job.next_run_time = None;
        let mut record = JobRecord::new(job.clone());
        record.lease = Some(LeaseInfo {
            node: "n".into(),
            token,
            expires_at: at(60),
            due_at: at(10),
        });
        let mut outcome = job;
        outcome.status = JobStatus::Completed;
        outcome.trigger_count = 1;
        outcome.last_run_time = Some(at(11));
        let lease = RunLease {
            job_id: "j".into(),
            token,
            node: "n".into(),
            expires_at: at(60),
            due_at: at(10),
        };
        (record, RunCompletion::new(lease, outcome))
    }

    #[test]
    fn a_completion_is_fenced_by_its_token() {
        // spec: R38
        let (mut record, mut completion) = running(5);
        completion.lease.token = 4;
        let before = record.clone();
        assert_eq!(
            complete(&mut record, &completion),
            CompletionOutcome::LeaseLost
        );
        assert_eq!(record, before);
        completion.lease.token = 5;
        assert_eq!(complete(&mut record, &completion), CompletionOutcome::Saved);
        assert_eq!(
            (record.job.status, record.lease.is_none()),
            (JobStatus::Completed, true)
        );
    }

    #[test]
    fn a_run_paused_or_stopped_meanwhile_is_recorded_as_interrupted() {
        // spec: R39
        let (mut record, completion) = running(5);
        assert!(pause(&mut record));
        assert_eq!(
            complete(&mut record, &completion),
            CompletionOutcome::Interrupted(Interruption::Paused)
        );
        assert_eq!(
            (
                record.job.status,
                record.job.trigger_count,
                record.job.next_run_time
            ),
            (JobStatus::Paused, 0, Some(at(10)))
        );
        assert_eq!(
            record.job.last_run_time,
            Some(at(11)),
            "the run's start is kept"
        );
        let (mut record, completion) = running(6);
        assert!(stop(&mut record));
        assert_eq!(
            complete(&mut record, &completion),
            CompletionOutcome::Interrupted(Interruption::Stopped)
        );
        assert_eq!(
            (record.job.status, record.job.next_run_time),
            (JobStatus::Stopped, None)
        );
    }

    #[test]
    fn a_trigger_during_the_run_makes_the_job_due_once_more() {
        // spec: R40
        let (mut record, completion) = running(5);
        assert!(trigger(&mut record, at(20)));
        assert!(trigger(&mut record, at(21)));
        assert_eq!(complete(&mut record, &completion), CompletionOutcome::Saved);
        assert_eq!(
            (
                record.job.status,
                record.job.next_run_time,
                record.triggered
            ),
            (JobStatus::Running, Some(at(10)), false)
        );
    }

    #[test]
    fn renewal_tells_lost_removed_and_interrupted_runs_apart() {
        // spec: R39
        let (mut record, _) = running(5);
        assert_eq!(
            renew(Some(&mut record), "n", 5, at(90)),
            RenewOutcome::Renewed
        );
        assert_eq!(record.lease.as_ref().map(|l| l.expires_at), Some(at(90)));
        assert_eq!(
            renew(Some(&mut record), "n", 4, at(90)),
            RenewOutcome::LeaseLost
        );
        assert_eq!(
            renew(Some(&mut record), "m", 5, at(90)),
            RenewOutcome::LeaseLost
        );
        assert_eq!(
            renew(None, "n", 5, at(90)),
            RenewOutcome::Interrupt(Interruption::Removed)
        );
        assert!(pause(&mut record));
        assert_eq!(
            renew(Some(&mut record), "n", 5, at(95)),
            RenewOutcome::Interrupt(Interruption::Paused)
        );
    }

    #[test]
    fn give_back_and_rescue_make_the_run_due_again() {
        // spec: R47
        let (mut record, _) = running(5);
        assert_eq!(
            give_back(&mut record, 4, GiveBack::RunAgain),
            CompletionOutcome::LeaseLost
        );
        assert_eq!(
            give_back(&mut record, 5, GiveBack::RunAgain),
            CompletionOutcome::Saved
        );
        assert_eq!(
            (record.job.next_run_time, record.lease.is_none()),
            (Some(at(10)), true)
        );
        let (mut record, _) = running(6);
        assert!(rescue(&mut record));
        assert_eq!(
            (record.job.next_run_time, record.lease.is_none()),
            (Some(at(10)), true)
        );
        assert!(!rescue(&mut record));
    }
}
