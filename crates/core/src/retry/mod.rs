//! What happens after a failed run (R15–R21): pluggable retry policies.

mod exponential;
mod fixed;
mod per_type;
mod reference;

use std::fmt;
use std::sync::Arc;

use bgtasks_abstractions::{JobError, JobExceptionType, JobInfo, JobKind, JobStatus};
use chrono::{DateTime, Utc};

pub use self::exponential::ExponentialRetryPolicy;
pub use self::fixed::{FixedIntervalRetryPolicy, NoRetryPolicy};
pub use self::per_type::PerFailureTypeRetryPolicy;
pub use self::reference::{ReferenceRetryPolicy, reference_next_interval, reference_priority};

/// A failed run, as a retry policy sees it.
#[derive(Debug, Clone, Copy)]
pub struct RunFailure<'a> {
    /// The error the run failed with.
    pub error: &'a JobError,
    /// What the failure-type finder made of it.
    pub exception_type: JobExceptionType,
    /// When the failure was handled.
    pub failed_at: DateTime<Utc>,
}

/// What a policy decided for a failed job.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RetryDecision {
    /// Run the job again at this time.
    RetryAt(DateTime<Utc>),
    /// Leave the job on its schedule (a Period job keeps its cron ticks).
    KeepSchedule,
    /// Stop the job and abandon it.
    Stop,
}

/// Decides what a failure means for a job's future. The executed event has already
/// counted the try (R13–R14) when it asks; the policy may change the job's status,
/// priority and interval, and returns when (or whether) it runs again. The runtime holds
/// one as `Arc<dyn RetryPolicy>`.
pub trait RetryPolicy: Send + Sync + fmt::Debug {
    /// Decides for a failed run.
    fn on_failure(&self, job: &mut JobInfo, failure: &RunFailure<'_>) -> RetryDecision;

    /// Called after a successful run (the try count is already reset). Nothing by default.
    fn on_success(&self, _job: &mut JobInfo) {}
}

impl<T: RetryPolicy + ?Sized> RetryPolicy for Arc<T> {
    fn on_failure(&self, job: &mut JobInfo, failure: &RunFailure<'_>) -> RetryDecision {
        (**self).on_failure(job, failure)
    }

    fn on_success(&self, job: &mut JobInfo) {
        (**self).on_success(job)
    }
}

impl<T: RetryPolicy + ?Sized> RetryPolicy for Box<T> {
    fn on_failure(&self, job: &mut JobInfo, failure: &RunFailure<'_>) -> RetryDecision {
        (**self).on_failure(job, failure)
    }

    fn on_success(&self, job: &mut JobInfo) {
        (**self).on_success(job)
    }
}

/// R17: a job with a max try count stops once it has failed that many times.
pub fn max_tries_reached(job: &JobInfo) -> bool {
    job.max_try_count > 0 && job.try_count >= job.max_try_count
}

/// The decision shared by the simple policies: stop at the max try count, keep a Period
/// job on its cron, otherwise mark the job FailedRetry and run it again after `delay`.
pub fn retry_after(
    job: &mut JobInfo,
    failed_at: DateTime<Utc>,
    delay: std::time::Duration,
) -> RetryDecision {
    if max_tries_reached(job) {
        return RetryDecision::Stop;
    }
    if job.kind == JobKind::Period {
        return RetryDecision::KeepSchedule;
    }
    job.status = JobStatus::FailedRetry;
    RetryDecision::RetryAt(crate::clock::saturating_add(failed_at, delay))
}

#[cfg(test)]
pub(crate) mod test_support {
    use super::*;

    pub(crate) fn fail(
        policy: &dyn RetryPolicy,
        job: &mut JobInfo,
        exception_type: JobExceptionType,
    ) -> RetryDecision {
        let error = JobError::new("x");
        job.try_count += 1;
        policy.on_failure(
            job,
            &RunFailure {
                error: &error,
                exception_type,
                failed_at: DateTime::<Utc>::UNIX_EPOCH,
            },
        )
    }

    #[test]
    fn policies_are_object_safe() {
        // spec: R21
        fn _obj_safe(_: Arc<dyn RetryPolicy>) {}
        let policies: Vec<Arc<dyn RetryPolicy>> = vec![
            Arc::new(ReferenceRetryPolicy::default()),
            Arc::new(FixedIntervalRetryPolicy::new(
                std::time::Duration::from_secs(5),
            )),
            Arc::new(ExponentialRetryPolicy::default()),
            Arc::new(NoRetryPolicy),
            Arc::new(PerFailureTypeRetryPolicy::new(Arc::new(NoRetryPolicy))),
        ];
        for policy in policies {
            let mut job = JobInfo::once("j", "t").with_max_try_count(0);
            let decision = fail(policy.as_ref(), &mut job, JobExceptionType::NETWORK);
            assert_ne!(decision, RetryDecision::KeepSchedule, "{policy:?}");
        }
    }
}
