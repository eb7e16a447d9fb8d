//! The reference's retry ladder (R15–R17), with the cap of R16.

use std::time::Duration;

use bgtasks_abstractions::{JobInfo, JobKind, JobPriority, JobStatus};

use super::{RetryDecision, RetryPolicy, RunFailure, max_tries_reached};

/// The default policy: exactly the reference's behaviour. On a failure of a job that is
/// not Period: status FailedRetry; priority drops to BelowNormal once the try count is past
/// a third of the max (up to half), and to Low past two thirds; the interval (50 if it was
/// ≤ 0) grows by 1.5×, rounded half to even (300 → 450 → 675 → 1012 → 1518 …), capped at
/// `max_interval` (R16). The job then runs again `interval` seconds after the failure.
/// After `max try count` failures the job stops (R17). Period jobs keep their cron.
#[derive(Debug, Clone)]
pub struct ReferenceRetryPolicy {
    max_interval: Duration,
    restore_interval_on_success: bool,
}

impl Default for ReferenceRetryPolicy {
    fn default() -> Self {
        Self {
            max_interval: Duration::from_secs(24 * 3600),
            restore_interval_on_success: false,
        }
    }
}

impl ReferenceRetryPolicy {
    /// The reference ladder capped at `max_interval`.
    pub fn new(max_interval: Duration) -> Self {
        Self {
            max_interval,
            ..Self::default()
        }
    }

    /// After a success, set the interval back to what it was before the first failure
    /// (the reference never shrinks it, so a Persistent job that failed once repeats more
    /// slowly for ever; that stays the default).
    pub fn restore_interval_on_success(mut self, restore: bool) -> Self {
        self.restore_interval_on_success = restore;
        self
    }

    /// The cap on the interval, in seconds.
    pub fn max_interval_secs(&self) -> i64 {
        i64::try_from(self.max_interval.as_secs())
            .unwrap_or(i64::MAX)
            .max(1)
    }
}

/// R15's priority rule for a try count and max try count.
pub fn reference_priority(current: JobPriority, try_count: i32, max_try_count: i32) -> JobPriority {
    if try_count <= max_try_count / 2 && try_count > max_try_count / 3 {
        JobPriority::BelowNormal
    } else if f64::from(try_count) > f64::from(max_try_count) / 1.5 {
        JobPriority::Low
    } else {
        current
    }
}

/// R15's interval growth (with R16's cap): ≤ 0 becomes 50, then × 1.5 rounded half to even.
pub fn reference_next_interval(interval: i64, max_interval_secs: i64) -> i64 {
    let base = if interval <= 0 {
        50
    } else {
        interval.min(max_interval_secs)
    };
    // Exact in f64 for every value up to the cap; ties go to even as in .NET's Math.Round.
    let grown = (base as f64 * 1.5).round_ties_even();
    if grown >= max_interval_secs as f64 {
        max_interval_secs
    } else {
        grown as i64
    }
}

impl RetryPolicy for ReferenceRetryPolicy {
    fn on_failure(&self, job: &mut JobInfo, failure: &RunFailure<'_>) -> RetryDecision {
        if job.kind != JobKind::Period {
            job.status = JobStatus::FailedRetry;
            job.priority = reference_priority(job.priority, job.try_count, job.max_try_count);
            if job.base_interval.is_none() {
                job.base_interval = Some(job.interval);
            }
            job.interval = reference_next_interval(job.interval, self.max_interval_secs());
        }
        if max_tries_reached(job) {
            return RetryDecision::Stop;
        }
        if job.kind == JobKind::Period {
            return RetryDecision::KeepSchedule;
        }
        RetryDecision::RetryAt(crate::clock::saturating_add_secs(
            failure.failed_at,
            job.interval,
        ))
    }

    fn on_success(&self, job: &mut JobInfo) {
        if self.restore_interval_on_success
            && let Some(base) = job.base_interval.take()
        {
            job.interval = base;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::retry::test_support::fail;
    use bgtasks_abstractions::JobExceptionType;

    #[test]
    fn interval_ladder_rounds_half_to_even() {
        // spec: R15
        let mut interval = 300;
        let mut seen = vec![];
        for _ in 0..6 {
            interval = reference_next_interval(interval, 86_400);
            seen.push(interval);
        }
        assert_eq!(seen, vec![450, 675, 1012, 1518, 2277, 3416]);
        assert_eq!(reference_next_interval(0, 86_400), 75);
        assert_eq!(reference_next_interval(-3, 86_400), 75);
        assert_eq!(reference_next_interval(1, 86_400), 2); // 1.5 → 2
        assert_eq!(reference_next_interval(5, 86_400), 8); // 7.5 → 8
        assert_eq!(reference_next_interval(7, 86_400), 10); // 10.5 → 10
    }

    #[test]
    fn interval_is_capped_and_never_overflows() {
        // spec: R16
        let mut interval = 300;
        for _ in 0..200 {
            interval = reference_next_interval(interval, 86_400);
            assert!(interval <= 86_400);
        }
        assert_eq!(interval, 86_400);
        assert_eq!(reference_next_interval(i64::MAX, 86_400), 86_400);
        let mut job = JobInfo::once("j", "t").with_max_try_count(0);
        let policy = ReferenceRetryPolicy::default();
        for _ in 0..100 {
            fail(&policy, &mut job, JobExceptionType::SYSTEM);
        }
        assert_eq!(job.interval, 86_400);
        assert_eq!(job.status, JobStatus::FailedRetry);
    }

    /// The table of R15: for several max try counts, the interval and priority after each
    /// failure, and where R17 stops the job.
    #[test]
    fn ladder_table_for_several_max_try_counts() {
        // spec: R15, R17
        use JobPriority::{BelowNormal as B, Low as L, Normal as N};
        let cases: Vec<(i32, Vec<(i64, JobPriority)>)> = vec![
            (3, vec![(450, N), (675, N), (1012, L)]),
            (5, vec![(450, N), (675, B), (1012, B), (1518, L), (2277, L)]),
            (
                10,
                vec![
                    (450, N),
                    (675, N),
                    (1012, N),
                    (1518, B),
                    (2277, B),
                    (3416, B),
                    (5124, L),
                    (7686, L),
                    (11529, L),
                    (17294, L),
                ],
            ),
        ];
        let policy = ReferenceRetryPolicy::default();
        for (max, expected) in cases {
            let mut job = JobInfo::once("j", "t").with_max_try_count(max);
            for (i, (interval, priority)) in expected.iter().enumerate() {
                let decision = fail(&policy, &mut job, JobExceptionType::NETWORK);
                assert_eq!(
                    (job.interval, job.priority),
                    (*interval, *priority),
                    "max {max}, failure {}",
                    i + 1
                );
                let last = i + 1 == expected.len();
                if last {
                    assert_eq!(decision, RetryDecision::Stop, "max {max}");
                } else {
                    assert_eq!(job.status, JobStatus::FailedRetry);
                    assert!(
                        matches!(decision, RetryDecision::RetryAt(_)),
                        "max {max}, failure {}",
                        i + 1
                    );
                }
            }
        }
    }

    #[test]
    fn priority_thresholds_for_fifty() {
        // spec: R15
        // 50/3 = 16, 50/2 = 25, 50/1.5 = 33.3
        assert_eq!(
            reference_priority(JobPriority::High, 16, 50),
            JobPriority::High
        );
        assert_eq!(
            reference_priority(JobPriority::High, 17, 50),
            JobPriority::BelowNormal
        );
        assert_eq!(
            reference_priority(JobPriority::High, 25, 50),
            JobPriority::BelowNormal
        );
        assert_eq!(
            reference_priority(JobPriority::BelowNormal, 26, 50),
            JobPriority::BelowNormal
        );
        assert_eq!(
            reference_priority(JobPriority::BelowNormal, 33, 50),
            JobPriority::BelowNormal
        );
        assert_eq!(
            reference_priority(JobPriority::BelowNormal, 34, 50),
            JobPriority::Low
        );
    }

    #[test]
    fn retry_time_is_the_grown_interval_after_the_failure() {
        // spec: R18
        let mut job = JobInfo::once("j", "t");
        let decision = fail(
            &ReferenceRetryPolicy::default(),
            &mut job,
            JobExceptionType::NETWORK,
        );
        assert_eq!(
            decision,
            RetryDecision::RetryAt(chrono::DateTime::UNIX_EPOCH + chrono::Duration::seconds(450))
        );
    }

    #[test]
    fn period_jobs_keep_their_schedule() {
        // spec: R18
        let mut job = JobInfo::period("p", "t", "0 * * * * ?").with_max_try_count(3);
        job.status = JobStatus::Running;
        let policy = ReferenceRetryPolicy::default();
        assert_eq!(
            fail(&policy, &mut job, JobExceptionType::SYSTEM),
            RetryDecision::KeepSchedule
        );
        assert_eq!(
            (job.status, job.priority, job.interval),
            (JobStatus::Running, JobPriority::Normal, 300)
        );
        fail(&policy, &mut job, JobExceptionType::SYSTEM);
        assert_eq!(
            fail(&policy, &mut job, JobExceptionType::SYSTEM),
            RetryDecision::Stop
        );
    }

    #[test]
    fn restoring_the_interval_after_success_is_an_option() {
        // spec: R21
        let mut job = JobInfo::persistent("p", "t", 60, 0);
        let keep = ReferenceRetryPolicy::default();
        fail(&keep, &mut job, JobExceptionType::NETWORK);
        keep.on_success(&mut job);
        assert_eq!(job.interval, 90, "the reference never shrinks the interval");
        let restore = ReferenceRetryPolicy::default().restore_interval_on_success(true);
        fail(&restore, &mut job, JobExceptionType::NETWORK);
        restore.on_success(&mut job);
        assert_eq!(job.interval, 60);
        assert_eq!(job.base_interval, None);
    }
}
