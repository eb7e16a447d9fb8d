//! Retry chosen by the failure's type (R21).

use std::sync::Arc;

use bgtasks_abstractions::{JobExceptionType, JobInfo};

use super::{RetryDecision, RetryPolicy, RunFailure};

/// Picks a policy by the failure's type: the first rule whose types contain the failure's
/// type decides, else the fallback. For example Business failures stop at once while
/// Network failures back off exponentially.
#[derive(Debug, Clone)]
pub struct PerFailureTypeRetryPolicy {
    rules: Vec<(JobExceptionType, Arc<dyn RetryPolicy>)>,
    fallback: Arc<dyn RetryPolicy>,
}

impl PerFailureTypeRetryPolicy {
    /// Uses `fallback` for every failure until rules are added.
    pub fn new(fallback: Arc<dyn RetryPolicy>) -> Self {
        Self {
            rules: Vec::new(),
            fallback,
        }
    }

    /// Uses `policy` for failures of any of `types`.
    pub fn on(mut self, types: JobExceptionType, policy: Arc<dyn RetryPolicy>) -> Self {
        self.rules.push((types, policy));
        self
    }

    fn pick(&self, exception_type: JobExceptionType) -> &Arc<dyn RetryPolicy> {
        self.rules
            .iter()
            .find(|(types, _)| !exception_type.is_empty() && types.contains(exception_type))
            .map_or(&self.fallback, |(_, policy)| policy)
    }
}

impl RetryPolicy for PerFailureTypeRetryPolicy {
    fn on_failure(&self, job: &mut JobInfo, failure: &RunFailure<'_>) -> RetryDecision {
        self.pick(failure.exception_type).on_failure(job, failure)
    }

    fn on_success(&self, job: &mut JobInfo) {
        self.fallback.on_success(job)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::retry::test_support::fail;
    use crate::retry::{ExponentialRetryPolicy, NoRetryPolicy, ReferenceRetryPolicy};
    use std::time::Duration;

    #[test]
    fn business_stops_network_backs_off_others_use_the_ladder() {
        // spec: R21, R22
        let policy = PerFailureTypeRetryPolicy::new(Arc::new(ReferenceRetryPolicy::default()))
            .on(JobExceptionType::BUSINESS, Arc::new(NoRetryPolicy))
            .on(
                JobExceptionType::NETWORK,
                Arc::new(ExponentialRetryPolicy::new(
                    Duration::from_secs(1),
                    2.0,
                    Duration::from_secs(8),
                )),
            );
        let mut business = JobInfo::once("b", "t");
        assert_eq!(
            fail(&policy, &mut business, JobExceptionType::BUSINESS),
            RetryDecision::Stop
        );
        let mut network = JobInfo::once("n", "t");
        let RetryDecision::RetryAt(at) = fail(&policy, &mut network, JobExceptionType::NETWORK)
        else {
            panic!("network failures retry");
        };
        assert_eq!(at.timestamp(), 1);
        assert_eq!(
            network.interval, 300,
            "the exponential policy leaves the interval alone"
        );
        let mut system = JobInfo::once("s", "t");
        fail(&policy, &mut system, JobExceptionType::SYSTEM);
        assert_eq!(
            system.interval, 450,
            "the fallback ladder grew the interval"
        );
    }
}
