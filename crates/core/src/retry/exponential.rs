//! Exponential back-off with a cap and optional jitter (R21).

use std::time::Duration;

use bgtasks_abstractions::JobInfo;

use super::{RetryDecision, RetryPolicy, RunFailure, retry_after};

/// Retries after `base × factor^(tries − 1)`, capped at `max`, with an optional random
/// jitter of ± a fraction of the delay so that many failing jobs do not retry in step.
#[derive(Debug, Clone)]
pub struct ExponentialRetryPolicy {
    base: Duration,
    factor: f64,
    max: Duration,
    jitter: f64,
}

impl Default for ExponentialRetryPolicy {
    /// 10 s, doubling, capped at 1 h, no jitter.
    fn default() -> Self {
        Self {
            base: Duration::from_secs(10),
            factor: 2.0,
            max: Duration::from_secs(3600),
            jitter: 0.0,
        }
    }
}

impl ExponentialRetryPolicy {
    /// `base × factor^(tries − 1)`, capped at `max`. A factor below 1 is taken as 1.
    pub fn new(base: Duration, factor: f64, max: Duration) -> Self {
        Self {
            base,
            factor: if factor.is_finite() {
                factor.max(1.0)
            } else {
                1.0
            },
            max,
            jitter: 0.0,
        }
    }

    /// Adds a random jitter of ± `fraction` (0 to 1) of each delay.
    pub fn with_jitter(mut self, fraction: f64) -> Self {
        self.jitter = if fraction.is_finite() {
            fraction.clamp(0.0, 1.0)
        } else {
            0.0
        };
        self
    }

    /// The delay before retry number `tries` (1 for the first failure), before jitter.
    pub fn delay_for(&self, tries: i32) -> Duration {
        let exponent = tries.saturating_sub(1).clamp(0, 1000);
        let seconds = self.base.as_secs_f64() * self.factor.powi(exponent);
        let capped = seconds.min(self.max.as_secs_f64());
        Duration::try_from_secs_f64(capped).unwrap_or(self.max)
    }
}

impl RetryPolicy for ExponentialRetryPolicy {
    fn on_failure(&self, job: &mut JobInfo, failure: &RunFailure<'_>) -> RetryDecision {
        let mut delay = self.delay_for(job.try_count);
        if self.jitter > 0.0 {
            let spread = (fastrand::f64() * 2.0 - 1.0) * self.jitter;
            delay = Duration::try_from_secs_f64((delay.as_secs_f64() * (1.0 + spread)).max(0.0))
                .unwrap_or(delay);
        }
        retry_after(job, failure.failed_at, delay)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::retry::test_support::fail;
    use bgtasks_abstractions::JobExceptionType;
    use chrono::{DateTime, Utc};

    #[test]
    fn doubles_up_to_the_cap() {
        // spec: R21
        let policy =
            ExponentialRetryPolicy::new(Duration::from_secs(10), 2.0, Duration::from_secs(60));
        let delays: Vec<u64> = (1..=6).map(|t| policy.delay_for(t).as_secs()).collect();
        assert_eq!(delays, vec![10, 20, 40, 60, 60, 60]);
        assert_eq!(policy.delay_for(i32::MAX), Duration::from_secs(60));
    }

    #[test]
    fn jitter_stays_within_its_fraction() {
        // spec: R21
        let policy =
            ExponentialRetryPolicy::new(Duration::from_secs(100), 2.0, Duration::from_secs(1000))
                .with_jitter(0.2);
        for _ in 0..200 {
            let mut job = JobInfo::once("j", "t").with_max_try_count(0);
            let RetryDecision::RetryAt(at) = fail(&policy, &mut job, JobExceptionType::NETWORK)
            else {
                panic!("expected a retry");
            };
            let secs = (at - DateTime::<Utc>::UNIX_EPOCH).num_milliseconds() as f64 / 1000.0;
            assert!((80.0..=120.0).contains(&secs), "{secs}");
        }
    }
}
