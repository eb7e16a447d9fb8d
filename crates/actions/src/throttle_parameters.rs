//! The two parameters every alerting action shares — which failures it is told of and
//! the least time between two alerts of a job — read into a [`Throttle`] and written from
//! a typed action builder, so that the failure e-mail and the webhook spell and parse
//! them the same way.

use std::time::Duration;

use bgtasks_abstractions::JobAction;
use tracing::warn;

use crate::throttle::{NotifyPolicy, Throttle};

/// The parameter naming which failures alert: `every`, `first-and-final` or `final`.
pub const NOTIFY_PARAMETER: &str = "notify";
/// The parameter holding the least whole number of seconds between two alerts of a job.
pub const MIN_INTERVAL_PARAMETER: &str = "min_interval_secs";

impl Throttle {
    /// The throttle `action` asks for in its [`NOTIFY_PARAMETER`] and
    /// [`MIN_INTERVAL_PARAMETER`], each falling back to `default`'s when absent or
    /// unreadable (an unreadable value is logged with the action's name and the value).
    ///
    /// ```
    /// use std::time::Duration;
    ///
    /// use bgtasks_actions::{JobAction, NotifyPolicy, Throttle};
    ///
    /// let action = JobAction::new("alert")
    ///     .with_parameter("notify", "first-and-final")
    ///     .with_parameter("min_interval_secs", "soon");
    /// let throttle = Throttle::of_action(&action, Throttle::NONE);
    /// assert_eq!(throttle.policy, NotifyPolicy::FirstAndFinal);
    /// assert_eq!(throttle.min_interval, Duration::ZERO, "unreadable: the default");
    /// ```
    pub fn of_action(action: &JobAction, default: Throttle) -> Throttle {
        Throttle {
            policy: policy_of(action, default.policy),
            min_interval: min_interval_of(action, default.min_interval),
        }
    }

    /// `action` with `policy` and `min_interval` written as its parameters (those given);
    /// what a typed action builder calls when it becomes a [`JobAction`]. The interval
    /// is written in whole seconds.
    pub fn write_parameters(
        mut action: JobAction,
        policy: Option<NotifyPolicy>,
        min_interval: Option<Duration>,
    ) -> JobAction {
        if let Some(policy) = policy {
            action = action.with_parameter(NOTIFY_PARAMETER, policy.as_str());
        }
        if let Some(interval) = min_interval {
            action = action.with_parameter(MIN_INTERVAL_PARAMETER, interval.as_secs().to_string());
        }
        action
    }
}

fn policy_of(action: &JobAction, default: NotifyPolicy) -> NotifyPolicy {
    let Some(text) = action.parameter_text(NOTIFY_PARAMETER) else {
        return default;
    };
    text.parse().unwrap_or_else(|error| {
        warn!(action = %action.name, %error, "action `{}`: {error}; using `{default}`", action.name);
        default
    })
}

fn min_interval_of(action: &JobAction, default: Duration) -> Duration {
    let Some(text) = action.parameter_text(MIN_INTERVAL_PARAMETER) else {
        return default;
    };
    match text.trim().parse::<u64>() {
        Ok(seconds) => Duration::from_secs(seconds),
        Err(error) => {
            warn!(
                action = %action.name,
                value = %text,
                "action `{}`: `{MIN_INTERVAL_PARAMETER}` must be a whole number of seconds, not `{text}` ({error}); using the default",
                action.name
            );
            default
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn defaults() -> Throttle {
        Throttle {
            policy: NotifyPolicy::Final,
            min_interval: Duration::from_secs(60),
        }
    }

    #[test]
    fn what_is_written_is_read_back() {
        // spec: R33
        let action = Throttle::write_parameters(
            JobAction::new("alert"),
            Some(NotifyPolicy::FirstAndFinal),
            Some(Duration::from_millis(600_900)),
        );
        assert_eq!(
            action.parameter_text(MIN_INTERVAL_PARAMETER).as_deref(),
            Some("600")
        );
        assert_eq!(
            Throttle::of_action(&action, defaults()),
            Throttle {
                policy: NotifyPolicy::FirstAndFinal,
                min_interval: Duration::from_secs(600),
            }
        );
    }

    #[test]
    fn absent_or_unreadable_values_fall_back_to_the_defaults() {
        // spec: R33
        assert_eq!(
            Throttle::of_action(&JobAction::new("alert"), defaults()),
            defaults()
        );
        let bad = JobAction::new("alert")
            .with_parameter(NOTIFY_PARAMETER, "sometimes")
            .with_parameter(MIN_INTERVAL_PARAMETER, "-5");
        assert_eq!(Throttle::of_action(&bad, defaults()), defaults());
        let written = Throttle::write_parameters(JobAction::new("alert"), None, None);
        assert!(written.parameter_text(NOTIFY_PARAMETER).is_none());
        assert!(written.parameter_text(MIN_INTERVAL_PARAMETER).is_none());
    }
}
