//! Which run logs a store keeps: the log of a run only while that run still holds its
//! job (R37, R46).

use chrono::{DateTime, Utc};

use crate::logs::JobLog;
use crate::record::JobRecord;

/// Whether a store appends `log`, given `record`, its job as the store has it at that
/// moment (`None`: no job with the log's id). A log without a lease token (one written
/// by hand, an import) is kept as it is. A run's log — one naming its lease token — is
/// kept only while the run still holds the job:
///
/// - the job is leased under that token: the run is in flight (its log is written before
///   its lease is given back, or in the same call as its completion); or
/// - the job's last run time is the log's run time, to the microsecond: the run's outcome
///   was saved in it, and no later run's since. Only that run's own completion writes its
///   start time there.
///
/// So a run whose job was removed while it ran leaves no log, and neither does one whose
/// job was removed and queued again under the same id (the new job holds another lease
/// token, never this one, R38, and not the old run's start time); nor does a run whose
/// lease was lost to a rescue. The price is a lost log, never a misplaced one: a log
/// written after the job's next run has completed finds another start time.
pub fn keeps_run_log(record: Option<&JobRecord>, log: &JobLog) -> bool {
    keeps_run_log_of(
        record.map(|record| {
            (
                record.lease.as_ref().map(|lease| lease.token),
                record.job.last_run_time,
            )
        }),
        log,
    )
}

/// [`keeps_run_log`] from the two things it reads of the job — `None` when there is no
/// job, else the token of its lease (`None` when it is not leased) and its last run time
/// — for a store that does not build the whole record to append a log.
pub fn keeps_run_log_of(job: Option<(Option<i64>, Option<DateTime<Utc>>)>, log: &JobLog) -> bool {
    let Some(token) = log.lease_token else {
        return true;
    };
    let Some((lease_token, last_run_time)) = job else {
        return false;
    };
    lease_token == Some(token)
        || last_run_time.is_some_and(|last| same_microsecond(last, log.run_time))
}

/// Whether two times are the same to the microsecond (what a durable store keeps).
fn same_microsecond(a: DateTime<Utc>, b: DateTime<Utc>) -> bool {
    a.timestamp_micros() == b.timestamp_micros()
}

#[cfg(test)]
mod tests {
    use bgtasks_abstractions::JobInfo;
    use chrono::TimeZone;

    use super::*;
    use crate::record::LeaseInfo;

    fn at(secs: i64) -> DateTime<Utc> {
        Utc.timestamp_opt(secs, 0).single().unwrap_or_default()
    }

    fn log(token: Option<i64>, run_time: DateTime<Utc>) -> JobLog {
        JobLog {
            job_id: "j".into(),
            job_name: "j".into(),
            job_group: "g".into(),
            job_type: "t".into(),
            message: "OK".into(),
            run_time,
            exception: None,
            exception_type: None,
            tenant_id: None,
            node: "a".into(),
            duration_ms: 1,
            lease_token: token,
        }
    }

    fn leased(token: i64) -> JobRecord {
        let mut record = JobRecord::new(JobInfo::once("j", "t"));
        record.lease = Some(LeaseInfo {
            node: "a".into(),
            token,
            expires_at: at(100),
            due_at: at(0),
        });
        record
    }

    #[test]
    fn a_run_log_is_kept_only_while_its_run_holds_the_job() {
        // spec: R46
        assert!(keeps_run_log(None, &log(None, at(1))), "no token: as given");
        assert!(
            !keeps_run_log(None, &log(Some(7), at(1))),
            "the job is gone"
        );
        assert!(keeps_run_log(Some(&leased(7)), &log(Some(7), at(1))));
        assert!(
            !keeps_run_log(Some(&leased(8)), &log(Some(7), at(1))),
            "another run holds it"
        );
        let mut saved = JobRecord::new(JobInfo::once("j", "t"));
        saved.job.last_run_time = Some(at(1) + chrono::Duration::nanoseconds(300));
        assert!(
            keeps_run_log(Some(&saved), &log(Some(7), at(1))),
            "its outcome is saved"
        );
        let queued_again = JobRecord::new(JobInfo::once("j", "t"));
        assert!(!keeps_run_log(Some(&queued_again), &log(Some(7), at(1))));
    }
}
