//! The notifier's defaults.

use std::time::Duration;

use crate::parameters::DEFAULT_SUBJECT;
use bgtasks_actions::NotifyPolicy;

/// Defaults of the failed-job notifier for actions that do not set a parameter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobExecutedFailedOptions {
    /// The domain of each mail's Message-ID when the sender has none to give
    /// (`bgtasks.local`); normally the sender's domain is used.
    pub message_id_domain: String,
    /// The culture when the action sets none (`en`).
    pub default_culture: String,
    /// The subject when the action sets none ("From job execute exception").
    pub default_subject: String,
    /// Which failures mail when the action sets no `notify` ([`NotifyPolicy::Every`]).
    pub default_policy: NotifyPolicy,
    /// The least time between two mails of one job when the action sets no
    /// `min_interval_secs` (zero: no limit).
    pub default_min_interval: Duration,
    /// Who the default footer names: "Copyright © {year} {copyright_holder}" (`bgtasks`).
    pub copyright_holder: String,
}

impl Default for JobExecutedFailedOptions {
    fn default() -> Self {
        Self {
            message_id_domain: "bgtasks.local".to_owned(),
            default_culture: "en".to_owned(),
            default_subject: DEFAULT_SUBJECT.to_owned(),
            default_policy: NotifyPolicy::Every,
            default_min_interval: Duration::ZERO,
            copyright_holder: "bgtasks".to_owned(),
        }
    }
}
