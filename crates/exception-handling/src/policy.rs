//! Which failures send a mail: guarding against alert fatigue.

use std::fmt;
use std::str::FromStr;

use bgtasks_abstractions::{JobEventContext, JobStatus};

/// Which failures of a job send a mail.
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

    /// Whether a failure at `stage` sends a mail.
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
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FailureStage {
    /// The first failure since the last success (try count 1).
    pub first: bool,
    /// The failure abandoned the job (it is Stopped and will not retry).
    pub last: bool,
}

impl FailureStage {
    /// The stage of the failed run in `context`, read from the job as the executed event
    /// saved it. Without a saved job (its type opts out of status handling) it is
    /// worked out from the job as claimed: try count 0 is the first failure, and reaching
    /// the max try count is the last (R17).
    pub fn of(context: &JobEventContext) -> Self {
        match context.saved_job() {
            Some(saved) => Self {
                first: saved.try_count == 1,
                last: saved.is_abandoned || saved.status == JobStatus::Stopped,
            },
            None => {
                let claimed = context.data().job();
                let tries = claimed.try_count.saturating_add(1);
                Self {
                    first: tries == 1,
                    last: claimed.max_try_count > 0 && tries >= claimed.max_try_count,
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use bgtasks_abstractions::{JobEventData, JobInfo};

    use super::*;

    #[test]
    fn parses_and_decides() {
        // spec: R33
        assert_eq!("every".parse(), Ok(NotifyPolicy::Every));
        assert_eq!("First_And_Final".parse(), Ok(NotifyPolicy::FirstAndFinal));
        assert_eq!(" final ".parse(), Ok(NotifyPolicy::Final));
        assert!("sometimes".parse::<NotifyPolicy>().is_err());
        let middle = FailureStage {
            first: false,
            last: false,
        };
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
    fn stage_comes_from_the_saved_job_else_the_claimed_one() {
        // spec: R17
        let claimed = JobInfo::new("j", "t").with_max_try_count(3);
        let ctx = JobEventContext::standalone(JobEventData::new(
            claimed.clone(),
            chrono::Utc::now(),
            "n",
        ));
        assert_eq!(
            FailureStage::of(&ctx),
            FailureStage {
                first: true,
                last: false
            }
        );

        let mut saved = claimed.clone();
        saved.try_count = 3;
        saved.is_abandoned = true;
        saved.status = JobStatus::Stopped;
        ctx.record_saved_job(saved);
        assert_eq!(
            FailureStage::of(&ctx),
            FailureStage {
                first: false,
                last: true
            }
        );

        let mut near_end = claimed;
        near_end.try_count = 2;
        let ctx = JobEventContext::standalone(JobEventData::new(near_end, chrono::Utc::now(), "n"));
        assert_eq!(
            FailureStage::of(&ctx),
            FailureStage {
                first: false,
                last: true
            }
        );
    }
}
