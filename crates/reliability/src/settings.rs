//! Runtime options a scenario sets on a worker with `--set NAME=VALUE`: the bounds of
//! R42–R46 (rescues in a row, time-limit grace, store timeout, lease safety margin,
//! retention), which the command line has no flag of their own for.
//!
//! ```text
//! --set max_rescues=2 --set store_timeout_ms=1500 --set retention.logs_per_job=10
//! ```
//!
//! | name | option |
//! |---|---|
//! | `max_rescues` | `max_rescues` |
//! | `time_limit_grace_ms` | `time_limit_grace` |
//! | `store_timeout_ms` | `store_timeout` |
//! | `lease_safety_margin_ms` | `lease_safety_margin` |
//! | `result_max_chars` | `result_max_chars` |
//! | `retention.enabled` | `retention.enabled` (`true` / `false`) |
//! | `retention.interval_ms` | `retention.interval` |
//! | `retention.log_max_age_ms` | `retention.log_max_age` (`none` keeps logs of any age) |
//! | `retention.logs_per_job` | `retention.logs_per_job` (`none` keeps them all) |
//! | `retention.notification_max_age_ms` | `retention.notification_max_age` (`none`) |
//! | `retention.max_per_run` | `retention.max_per_run` |
//! | `error_code.CODE` | `error_code_map[CODE]`: a failure type name (`Network`, `Business`…) |

use std::str::FromStr;
use std::time::Duration;

use bgtasks::{BackgroundTasksOptions, JobExceptionType};

/// Applies one `NAME=VALUE` setting to `options`; the error names the setting and the
/// value.
pub fn apply(options: &mut BackgroundTasksOptions, setting: &str) -> Result<(), String> {
    let (name, value) = setting
        .split_once('=')
        .ok_or_else(|| format!("`--set {setting}`: expected NAME=VALUE"))?;
    let (name, value) = (name.trim(), value.trim());
    let retention = &mut options.retention;
    match name {
        "max_rescues" => options.max_rescues = number(name, value)?,
        "time_limit_grace_ms" => options.time_limit_grace = millis(name, value)?,
        "store_timeout_ms" => options.store_timeout = millis(name, value)?,
        "lease_safety_margin_ms" => options.lease_safety_margin = Some(millis(name, value)?),
        "result_max_chars" => options.result_max_chars = number(name, value)?,
        "retention.enabled" => retention.enabled = number(name, value)?,
        "retention.interval_ms" => retention.interval = millis(name, value)?,
        "retention.log_max_age_ms" => retention.log_max_age = optional(name, value, millis)?,
        "retention.logs_per_job" => retention.logs_per_job = optional(name, value, number)?,
        "retention.notification_max_age_ms" => {
            retention.notification_max_age = optional(name, value, millis)?;
        }
        "retention.max_per_run" => retention.max_per_run = number(name, value)?,
        other if other.starts_with("error_code.") => {
            let code = &other["error_code.".len()..];
            let failure = JobExceptionType::parse_name(value).ok_or_else(|| {
                format!("`--set {setting}`: `{value}` is not a failure type (Network, System…)")
            })?;
            options.error_code_map.insert(code.to_owned(), failure);
        }
        other => {
            return Err(format!(
                "`--set {setting}`: no setting `{other}` (see the worker's documentation)"
            ));
        }
    }
    Ok(())
}

/// The `--set` arguments for `settings`, for a worker's command line.
pub fn args(settings: &[(&str, String)]) -> Vec<String> {
    settings
        .iter()
        .flat_map(|(name, value)| ["--set".to_owned(), format!("{name}={value}")])
        .collect()
}

fn number<T: FromStr>(name: &str, value: &str) -> Result<T, String>
where
    T::Err: std::fmt::Display,
{
    value
        .parse()
        .map_err(|e| format!("`--set {name}={value}`: {e}"))
}

fn millis(name: &str, value: &str) -> Result<Duration, String> {
    number::<u64>(name, value).map(Duration::from_millis)
}

fn optional<T>(
    name: &str,
    value: &str,
    parse: fn(&str, &str) -> Result<T, String>,
) -> Result<Option<T>, String> {
    if value == "none" {
        Ok(None)
    } else {
        parse(name, value).map(Some)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn settings_reach_their_options_and_bad_ones_are_named() {
        let mut options = BackgroundTasksOptions::default();
        for setting in args(&[
            ("max_rescues", "2".to_owned()),
            ("store_timeout_ms", "1500".to_owned()),
            ("lease_safety_margin_ms", "700".to_owned()),
            ("retention.logs_per_job", "10".to_owned()),
            ("retention.log_max_age_ms", "none".to_owned()),
        ])
        .chunks(2)
        {
            apply(&mut options, &setting[1]).unwrap();
        }
        assert_eq!(options.max_rescues, 2);
        assert_eq!(options.store_timeout, Duration::from_millis(1500));
        assert_eq!(
            options.lease_safety_margin,
            Some(Duration::from_millis(700))
        );
        assert_eq!(options.retention.logs_per_job, Some(10));
        assert_eq!(options.retention.log_max_age, None);
        let error = apply(&mut options, "max_rescues=lots").unwrap_err();
        assert!(error.contains("max_rescues=lots"), "{error}");
        let error = apply(&mut options, "lease_ms=5").unwrap_err();
        assert!(error.contains("no setting `lease_ms`"), "{error}");
        assert!(apply(&mut options, "max_rescues").is_err());
        apply(&mut options, "error_code.Timeout=application").unwrap();
        assert_eq!(
            options.error_code_map.get("Timeout"),
            Some(&JobExceptionType::APPLICATION)
        );
        assert!(apply(&mut options, "error_code.Timeout=soon").is_err());
    }
}
