//! Checking a runtime's options before it is built: every bad value is named with the
//! option and the reason.

use bgtasks_abstractions::{BackgroundTasksOptions, CronSchedule};

/// A runtime that cannot be built as configured.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum BuildError {
    /// An option has a value the runtime cannot work with.
    #[error("invalid option `{option}` = `{value}`: {reason}")]
    InvalidOption {
        /// The option's name.
        option: &'static str,
        /// Its value.
        value: String,
        /// Why it is refused.
        reason: String,
    },
}

/// The first option of `options` that is out of range, as a [`BuildError`].
pub(super) fn validate(options: &BackgroundTasksOptions) -> Result<(), BuildError> {
    let invalid = |option: &'static str, value: String, reason: &str| BuildError::InvalidOption {
        option,
        value,
        reason: reason.to_owned(),
    };
    if options.node_name.trim().is_empty() {
        return Err(invalid(
            "node_name",
            options.node_name.clone(),
            "a node needs a name",
        ));
    }
    if options.workers == 0 || options.workers > 100_000 {
        return Err(invalid(
            "workers",
            options.workers.to_string(),
            "must be between 1 and 100000",
        ));
    }
    if options.lease_duration.is_zero() {
        return Err(invalid(
            "lease_duration",
            format!("{:?}", options.lease_duration),
            "must be positive",
        ));
    }
    if options.lease_renewal_interval.is_zero()
        || options.lease_renewal_interval >= options.lease_duration
    {
        return Err(invalid(
            "lease_renewal_interval",
            format!("{:?}", options.lease_renewal_interval),
            "must be positive and shorter than lease_duration",
        ));
    }
    if let Some(margin) = options.lease_safety_margin
        && margin
            >= options
                .lease_duration
                .saturating_sub(options.lease_renewal_interval)
    {
        return Err(invalid(
            "lease_safety_margin",
            format!("{margin:?}"),
            "must be shorter than lease_duration less lease_renewal_interval, or a run would be \
             cut between two renewals that succeed",
        ));
    }
    if options.store_timeout.is_zero() {
        return Err(invalid(
            "store_timeout",
            format!("{:?}", options.store_timeout),
            "must be positive",
        ));
    }
    if options.retention.enabled && options.retention.interval.is_zero() {
        return Err(invalid(
            "retention.interval",
            format!("{:?}", options.retention.interval),
            "must be positive",
        ));
    }
    if options.rescue_interval.is_zero() {
        return Err(invalid(
            "rescue_interval",
            format!("{:?}", options.rescue_interval),
            "must be positive",
        ));
    }
    if options.listener_timeout.is_zero() {
        return Err(invalid(
            "listener_timeout",
            format!("{:?}", options.listener_timeout),
            "must be positive",
        ));
    }
    for (option, cron) in [
        ("polling.cron", &options.polling.cron),
        ("checking.cron", &options.checking.cron),
        ("cleaning.job.cron", &options.cleaning.job.cron),
    ] {
        if let Err(error) = CronSchedule::parse(cron) {
            return Err(invalid(option, cron.clone(), &error.reason));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use crate::runtime::RuntimeBuilder;

    #[test]
    fn bad_options_are_named() {
        // spec: R29
        let err = RuntimeBuilder::new().workers(0).build().unwrap_err();
        assert_eq!(
            err.to_string(),
            "invalid option `workers` = `0`: must be between 1 and 100000"
        );
        let err = RuntimeBuilder::new()
            .configure(|o| o.polling.cron = "every minute".into())
            .build()
            .unwrap_err();
        assert!(
            err.to_string()
                .starts_with("invalid option `polling.cron` = `every minute`"),
            "{err}"
        );
    }
}
