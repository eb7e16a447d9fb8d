//! Fixed-interval retry, and no retry at all (R21).

use std::time::Duration;

use bgtasks_abstractions::JobInfo;

use super::{RetryDecision, RetryPolicy, RunFailure, retry_after};

/// Retries a failed job after the same delay every time, up to its max try count.
#[derive(Debug, Clone)]
pub struct FixedIntervalRetryPolicy {
    delay: Duration,
}

impl FixedIntervalRetryPolicy {
    /// Retries after `delay`.
    pub fn new(delay: Duration) -> Self {
        Self { delay }
    }
}

impl RetryPolicy for FixedIntervalRetryPolicy {
    fn on_failure(&self, job: &mut JobInfo, failure: &RunFailure<'_>) -> RetryDecision {
        retry_after(job, failure.failed_at, self.delay)
    }
}

/// Never retries: the first failure stops and abandons the job. Useful for Business
/// failures, where trying again gives the same answer.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoRetryPolicy;

impl RetryPolicy for NoRetryPolicy {
    fn on_failure(&self, _job: &mut JobInfo, _failure: &RunFailure<'_>) -> RetryDecision {
        RetryDecision::Stop
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::retry::test_support::fail;
    use bgtasks_abstractions::{JobExceptionType, JobStatus};
    use chrono::{DateTime, Utc};

    #[test]
    fn fixed_interval_keeps_the_delay_and_stops_at_max() {
        // spec: R21
        let policy = FixedIntervalRetryPolicy::new(Duration::from_secs(30));
        let mut job = JobInfo::once("j", "t").with_max_try_count(2);
        let first = fail(&policy, &mut job, JobExceptionType::NETWORK);
        assert_eq!(
            first,
            RetryDecision::RetryAt(DateTime::<Utc>::UNIX_EPOCH + chrono::Duration::seconds(30))
        );
        assert_eq!(job.status, JobStatus::FailedRetry);
        assert_eq!(job.interval, 300, "the job's own interval is left alone");
        assert_eq!(
            fail(&policy, &mut job, JobExceptionType::NETWORK),
            RetryDecision::Stop
        );
    }

    #[test]
    fn no_retry_stops_at_once() {
        // spec: R21
        let mut job = JobInfo::once("j", "t");
        assert_eq!(
            fail(&NoRetryPolicy, &mut job, JobExceptionType::BUSINESS),
            RetryDecision::Stop
        );
    }
}
