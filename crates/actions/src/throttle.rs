//! Which failures a notifier is told of: guarding against alert fatigue (R33, R51).
//! The state it needs lives in the store — the job's try count and whether it was
//! abandoned, saved with the outcome, and the notifications already stored — so a
//! policy holds across nodes and restarts.

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use bgtasks_abstractions::{JobInfo, JobStatus};

/// Which failures of a job send a notification.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum NotifyPolicy {
    /// Every failure (the reference's behaviour).
    #[default]
    Every,
    /// The first failure of a streak and the one that abandons the job.
    FirstAndFinal,
    /// Only the failure that abandons the job.
    Final,
}

impl NotifyPolicy {
    /// The policy's name: `every`, `first-and-final` or `final`.
    pub const fn as_str(self) -> &'static str {
        match self {
            NotifyPolicy::Every => "every",
            NotifyPolicy::FirstAndFinal => "first-and-final",
            NotifyPolicy::Final => "final",
        }
    }

    /// Whether a failure at `stage` sends a notification.
    pub fn wants(self, stage: FailureStage) -> bool {
        match self {
            NotifyPolicy::Every => true,
            NotifyPolicy::FirstAndFinal => stage.first || stage.last,
            NotifyPolicy::Final => stage.last,
        }
    }
}

impl fmt::Display for NotifyPolicy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The text names no policy.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown notify policy `{0}`: expected `every`, `first-and-final` or `final`")]
pub struct UnknownNotifyPolicy(pub String);

impl FromStr for NotifyPolicy {
    type Err = UnknownNotifyPolicy;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        match text.trim().to_ascii_lowercase().replace('_', "-").as_str() {
            "every" | "all" => Ok(NotifyPolicy::Every),
            "first-and-final" => Ok(NotifyPolicy::FirstAndFinal),
            "final" => Ok(NotifyPolicy::Final),
            _ => Err(UnknownNotifyPolicy(text.to_owned())),
        }
    }
}

/// Where a failure stands in its streak.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct FailureStage {
    /// The first failure since the last success (try count 1).
    pub first: bool,
    /// The failure abandoned the job (it is stopped and will not retry).
    pub last: bool,
}

impl FailureStage {
    /// The stage of a failed run, read from the job's state as the run left it (the
    /// outcome saved with the notification).
    pub fn of(outcome: &JobInfo) -> Self {
        Self {
            first: outcome.try_count == 1,
            last: outcome.is_abandoned || outcome.status == JobStatus::Stopped,
        }
    }
}

/// How a notifier throttles the failure notifications of one action: which failures of
/// a streak it wants, and the least time between two of them (measured between run
/// times, kept in the store). The failure that abandons a job is never held back by the
/// interval.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Throttle {
    /// Which failures send a notification.
    pub policy: NotifyPolicy,
    /// The least time between two notifications of the job's action (zero: no limit).
    pub min_interval: Duration,
}

impl Throttle {
    /// Every failure, no interval.
    pub const NONE: Throttle = Throttle {
        policy: NotifyPolicy::Every,
        min_interval: Duration::ZERO,
    };

    /// Whether a failure at `stage` is notified, and with what minimum interval for the
    /// store to enforce (`None`: none).
    pub fn decide(self, stage: FailureStage) -> Option<Option<Duration>> {
        if !self.policy.wants(stage) {
            return None;
        }
        Some((!stage.last && !self.min_interval.is_zero()).then_some(self.min_interval))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_decides() {
        // spec: R33
        assert_eq!("every".parse(), Ok(NotifyPolicy::Every));
        assert_eq!("First_And_Final".parse(), Ok(NotifyPolicy::FirstAndFinal));
        assert_eq!(" final ".parse(), Ok(NotifyPolicy::Final));
        assert!("sometimes".parse::<NotifyPolicy>().is_err());
        let middle = FailureStage::default();
        let first = FailureStage {
            first: true,
            last: false,
        };
        let last = FailureStage {
            first: false,
            last: true,
        };
        assert!(NotifyPolicy::Every.wants(middle));
        assert!(!NotifyPolicy::FirstAndFinal.wants(middle));
        assert!(
            NotifyPolicy::FirstAndFinal.wants(first) && NotifyPolicy::FirstAndFinal.wants(last)
        );
        assert!(!NotifyPolicy::Final.wants(first) && NotifyPolicy::Final.wants(last));
    }

    #[test]
    fn the_final_failure_is_never_held_back_by_the_interval() {
        // spec: R51
        let throttle = Throttle {
            policy: NotifyPolicy::FirstAndFinal,
            min_interval: Duration::from_secs(600),
        };
        let first = FailureStage {
            first: true,
            last: false,
        };
        let last = FailureStage {
            first: false,
            last: true,
        };
        assert_eq!(throttle.decide(first), Some(Some(Duration::from_secs(600))));
        assert_eq!(throttle.decide(FailureStage::default()), None);
        assert_eq!(throttle.decide(last), Some(None));
        assert_eq!(Throttle::NONE.decide(first), Some(None));
    }

    #[test]
    fn the_stage_comes_from_the_outcome() {
        // spec: R17
        let mut job = JobInfo::new("j", "t").with_max_try_count(3);
        job.try_count = 1;
        assert_eq!(
            FailureStage::of(&job),
            FailureStage {
                first: true,
                last: false
            }
        );
        job.try_count = 3;
        job.is_abandoned = true;
        job.status = JobStatus::Stopped;
        assert_eq!(
            FailureStage::of(&job),
            FailureStage {
                first: false,
                last: true
            }
        );
    }
}
