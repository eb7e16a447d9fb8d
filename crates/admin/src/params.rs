//! Reading one value of a request — a time, a number, a code, a flag — with an error that
//! names the field and the value when it is wrong.

use bgtasks_abstractions::{JobKind, JobPriority, JobSource, JobStatus};
use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};

use crate::error::ApiError;

/// A time: RFC 3339 (`2026-01-31T08:00:00Z`, any offset), or a date and time without an
/// offset, taken as UTC (`2026-01-31T08:00`, `2026-01-31 08:00:00`), or a date
/// (`2026-01-31`, midnight UTC).
pub(crate) fn time(field: &str, value: &str) -> Result<DateTime<Utc>, ApiError> {
    let text = value.trim();
    if let Ok(time) = DateTime::parse_from_rfc3339(text) {
        return Ok(time.with_timezone(&Utc));
    }
    for format in [
        "%Y-%m-%dT%H:%M:%S%.f",
        "%Y-%m-%dT%H:%M",
        "%Y-%m-%d %H:%M:%S%.f",
        "%Y-%m-%d %H:%M",
    ] {
        if let Ok(naive) = NaiveDateTime::parse_from_str(text, format) {
            return Ok(naive.and_utc());
        }
    }
    if let Ok(date) = NaiveDate::parse_from_str(text, "%Y-%m-%d")
        && let Some(midnight) = date.and_hms_opt(0, 0, 0)
    {
        return Ok(midnight.and_utc());
    }
    Err(ApiError::bad_field(
        field,
        value,
        "expected a time such as `2026-01-31T08:00:00Z` (RFC 3339)",
    ))
}

/// `true` or `false` (also `1`/`0`).
pub(crate) fn flag(field: &str, value: &str) -> Result<bool, ApiError> {
    match value.trim().to_ascii_lowercase().as_str() {
        "true" | "1" => Ok(true),
        "false" | "0" => Ok(false),
        _ => Err(ApiError::bad_field(
            field,
            value,
            "expected `true` or `false`",
        )),
    }
}

/// A whole number from `min` to `max`.
pub(crate) fn number(field: &str, value: &str, min: i64, max: i64) -> Result<i64, ApiError> {
    match value.trim().parse::<i64>() {
        Ok(n) if (min..=max).contains(&n) => Ok(n),
        Ok(_) => Err(ApiError::bad_field(
            field,
            value,
            format!("expected a whole number from {min} to {max}"),
        )),
        Err(_) => Err(ApiError::bad_field(field, value, "expected a whole number")),
    }
}

/// A whole number as a count from 0 to `max`.
pub(crate) fn count(field: &str, value: &str, max: usize) -> Result<usize, ApiError> {
    let max_i64 = i64::try_from(max).unwrap_or(i64::MAX);
    let n = number(field, value, 0, max_i64)?;
    Ok(usize::try_from(n).unwrap_or(max))
}

/// A status: its code (`20`) or its name (`Paused`).
pub(crate) fn status(field: &str, value: &str) -> Result<JobStatus, ApiError> {
    let text = value.trim();
    text.parse::<i32>()
        .ok()
        .and_then(JobStatus::from_code)
        .or_else(|| {
            JobStatus::ALL
                .into_iter()
                .find(|s| s.as_str().eq_ignore_ascii_case(text))
        })
        .ok_or_else(|| {
            ApiError::bad_field(
                field,
                value,
                "expected a status code (-1, 0, 5, 10, 15, 20, 30) or name (Queuing, Paused...)",
            )
        })
}

/// Several statuses, comma-separated.
pub(crate) fn statuses(field: &str, value: &str) -> Result<Vec<JobStatus>, ApiError> {
    value
        .split(',')
        .filter(|part| !part.trim().is_empty())
        .map(|part| status(field, part))
        .collect()
}

/// A kind: its code (`1`) or name (`Period`).
pub(crate) fn kind(field: &str, value: &str) -> Result<JobKind, ApiError> {
    let text = value.trim();
    text.parse::<i32>()
        .ok()
        .and_then(JobKind::from_code)
        .or_else(|| {
            [JobKind::Once, JobKind::Period, JobKind::Persistent]
                .into_iter()
                .find(|k| k.as_str().eq_ignore_ascii_case(text))
        })
        .ok_or_else(|| {
            ApiError::bad_field(
                field,
                value,
                "expected a kind code (0 Once, 1 Period, 2 Persistent)",
            )
        })
}

/// A priority: its code (`25`) or name (`High`).
pub(crate) fn priority(field: &str, value: &str) -> Result<JobPriority, ApiError> {
    let text = value.trim();
    text.parse::<i32>()
        .ok()
        .and_then(JobPriority::from_code)
        .or_else(|| {
            JobPriority::ALL
                .into_iter()
                .find(|p| p.as_str().eq_ignore_ascii_case(text))
        })
        .ok_or_else(|| {
            ApiError::bad_field(
                field,
                value,
                "expected a priority code (5, 10, 15, 20, 25) or name (Low ... High)",
            )
        })
}

/// A source: its code (`0`) or name (`User`).
pub(crate) fn source(field: &str, value: &str) -> Result<JobSource, ApiError> {
    let text = value.trim();
    let by_name = match text.to_ascii_lowercase().as_str() {
        "none" => Some(JobSource::None),
        "user" => Some(JobSource::User),
        "system" => Some(JobSource::System),
        _ => None,
    };
    text.parse::<i32>()
        .ok()
        .and_then(JobSource::from_code)
        .or(by_name)
        .ok_or_else(|| {
            ApiError::bad_field(
                field,
                value,
                "expected a source code (-1 None, 0 User, 10 System)",
            )
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_times_in_several_forms() {
        for text in [
            "2026-01-31T08:00:00Z",
            "2026-01-31T09:00:00+01:00",
            "2026-01-31T08:00",
            "2026-01-31 08:00:00",
        ] {
            assert_eq!(
                time("t", text).unwrap().to_rfc3339(),
                "2026-01-31T08:00:00+00:00"
            );
        }
        assert_eq!(
            time("t", "2026-01-31").unwrap().date_naive().to_string(),
            "2026-01-31"
        );
        let error = time("beginTime", "yesterday").unwrap_err();
        assert!(error.message().contains("`beginTime` `yesterday`"));
    }

    #[test]
    fn reads_codes_and_names() {
        assert_eq!(status("s", "20").unwrap(), JobStatus::Paused);
        assert_eq!(status("s", "failedretry").unwrap(), JobStatus::FailedRetry);
        assert!(status("s", "21").is_err());
        assert_eq!(
            statuses("s", "5, 15").unwrap(),
            vec![JobStatus::Queuing, JobStatus::FailedRetry]
        );
        assert_eq!(kind("k", "Period").unwrap(), JobKind::Period);
        assert_eq!(priority("p", "25").unwrap(), JobPriority::High);
        assert_eq!(source("s", "10").unwrap(), JobSource::System);
        assert!(source("s", "3").is_err());
    }

    #[test]
    fn numbers_are_range_checked() {
        assert_eq!(number("n", "7", 0, 10).unwrap(), 7);
        assert!(number("n", "11", 0, 10).is_err());
        assert!(number("n", "-1", 0, 10).is_err());
        assert!(number("n", "seven", 0, 10).is_err());
        assert!(flag("f", "maybe").is_err());
        assert!(flag("f", "TRUE").unwrap());
    }
}
