//! The webhook notifier's defaults.

use std::time::Duration;

use bgtasks_actions::NotifyPolicy;
use reqwest::header::HeaderValue;

use crate::error::WebhookSetupError;
use crate::preset::WebhookPreset;

/// The longest timeout a request may have: a delivery holds its notification's lease
/// meanwhile.
const LONGEST_TIMEOUT: Duration = Duration::from_secs(600);

/// How the webhook notifier posts, and its defaults for actions that do not set a
/// parameter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebhookOptions {
    /// How long one request may take, connecting and reading the answer included
    /// (default 10 s). A request past it is a transient failure, retried by the delivery
    /// loop; keep it below the loop's notifier timeout (30 s by default).
    pub timeout: Duration,
    /// How many `307`/`308` redirects a request follows (default 3). Other redirects are
    /// never followed (they would turn the POST into a GET): the answer is a permanent
    /// failure that names its status.
    pub max_redirects: usize,
    /// The preset when the action sets none ([`WebhookPreset::Json`]).
    pub default_preset: WebhookPreset,
    /// The culture when the action sets none (`en`).
    pub default_culture: String,
    /// Which failures post when the action sets no `notify` ([`NotifyPolicy::Every`]).
    pub default_policy: NotifyPolicy,
    /// The least time between two posts about one job when the action sets no
    /// `min_interval_secs` (zero: no limit).
    pub default_min_interval: Duration,
    /// The `User-Agent` of every request (`bgtasks-webhook/<version>`).
    pub user_agent: String,
}

impl Default for WebhookOptions {
    fn default() -> Self {
        Self {
            timeout: Duration::from_secs(10),
            max_redirects: 3,
            default_preset: WebhookPreset::Json,
            default_culture: "en".to_owned(),
            default_policy: NotifyPolicy::Every,
            default_min_interval: Duration::ZERO,
            user_agent: concat!("bgtasks-webhook/", env!("CARGO_PKG_VERSION")).to_owned(),
        }
    }
}

impl WebhookOptions {
    /// Checks the options; the error names the option and its value.
    pub fn validate(&self) -> Result<(), WebhookSetupError> {
        let invalid = |option, value: String, reason| {
            Err(WebhookSetupError::InvalidOption {
                option,
                value,
                reason,
            })
        };
        if self.timeout.is_zero() || self.timeout > LONGEST_TIMEOUT {
            return invalid(
                "timeout",
                format!("{:?}", self.timeout),
                "must be positive and at most 10 minutes",
            );
        }
        if self.max_redirects > 10 {
            return invalid(
                "max_redirects",
                self.max_redirects.to_string(),
                "must be at most 10",
            );
        }
        if HeaderValue::from_str(&self.user_agent).is_err() {
            return invalid(
                "user_agent",
                self.user_agent.clone(),
                "must be printable ASCII",
            );
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bad_options_are_named() {
        // spec: R42
        assert!(WebhookOptions::default().validate().is_ok());
        let none = WebhookOptions {
            timeout: Duration::ZERO,
            ..WebhookOptions::default()
        };
        assert_eq!(
            none.validate().unwrap_err().to_string(),
            "invalid webhook option `timeout` = `0ns`: must be positive and at most 10 minutes"
        );
        let agent = WebhookOptions {
            user_agent: "bad\nagent".into(),
            ..WebhookOptions::default()
        };
        assert!(agent.validate().is_err());
    }
}
