//! Checks a job definition before it is queued; each error names the job and the value.

use crate::job::JobInfo;
use crate::job_args::{JobArgs, NotAnObject};
use crate::kind::JobKind;
use crate::schedule::{CronError, CronSchedule};

/// Longest job id, in characters.
pub const MAX_ID_CHARS: usize = 255;
/// Longest group, name and job type, in characters.
pub const MAX_NAME_CHARS: usize = 255;
/// Largest serialized arguments, in bytes.
pub const MAX_ARGS_BYTES: usize = 1024 * 1024;
/// Longest interval (and base interval), in seconds: ten years.
pub const MAX_INTERVAL_SECS: i64 = 10 * 366 * 24 * 3600;
/// Longest lock timeout, in seconds: thirty days.
pub const MAX_LOCK_TIMEOUT_SECS: i64 = 30 * 24 * 3600;
/// Largest count (max try count, max count, trigger count, try count).
pub const MAX_COUNT: i64 = 1_000_000_000;
/// The earliest time a job may name: 1970-01-01T00:00:00Z.
pub const MIN_TIME_SECS: i64 = 0;
/// The latest time a job may name: 9999-12-31T23:59:59Z.
pub const MAX_TIME_SECS: i64 = 253_402_300_799;
/// Longest time limit of a run, in seconds: thirty days.
pub const MAX_TIME_LIMIT_SECS: i64 = 30 * 24 * 3600;
/// The most actions a job may carry.
pub const MAX_ACTIONS: usize = 32;
/// Largest serialized actions of a job, in bytes.
pub const MAX_ACTIONS_BYTES: usize = 64 * 1024;

/// A job definition that cannot be queued.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum JobDefinitionError {
    /// The job has no id.
    #[error("a job needs a non-empty id (job type `{job_type}`)")]
    EmptyId {
        /// The job's type, to help find it.
        job_type: String,
    },
    /// The job has no type.
    #[error("job `{job}` has no job type: name the runnable that runs it")]
    EmptyJobType {
        /// The job id.
        job: String,
    },
    /// A text field is too long.
    #[error("job `{job}`: {field} is {len} characters long, more than the {max} allowed")]
    TooLong {
        /// The job id (shortened when it is the field that is too long).
        job: String,
        /// Which field.
        field: &'static str,
        /// Its length.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// A Period job without a cron expression.
    #[error("job `{job}` is a Period job but has no cron expression")]
    MissingCron {
        /// The job id.
        job: String,
    },
    /// A Period job with a cron expression that does not parse.
    #[error("job `{job}`: {source}")]
    InvalidCron {
        /// The job id.
        job: String,
        /// What the parser said.
        #[source]
        source: CronError,
    },
    /// A count, interval or timeout below zero.
    #[error("job `{job}`: {field} must not be negative, got {value}")]
    Negative {
        /// The job id.
        job: String,
        /// Which field.
        field: &'static str,
        /// The value given.
        value: i64,
    },
    /// A number above its limit.
    #[error("job `{job}`: {field} is {value}, more than the {max} allowed")]
    TooLarge {
        /// The job id.
        job: String,
        /// Which field.
        field: &'static str,
        /// The value given.
        value: i64,
        /// The limit.
        max: i64,
    },
    /// A time outside the years 1970 to 9999.
    #[error("job `{job}`: {field} {value} is outside the years 1970 to 9999")]
    TimeOutOfRange {
        /// The job id.
        job: String,
        /// Which field.
        field: &'static str,
        /// The value given (RFC 3339).
        value: String,
    },
    /// A Persistent job must wait at least a second between runs.
    #[error(
        "job `{job}` is a Persistent job with interval {value}; it needs an interval of at least 1 second"
    )]
    ZeroInterval {
        /// The job id.
        job: String,
        /// The value given.
        value: i64,
    },
    /// The end time is before the begin time.
    #[error("job `{job}`: end time {end} is before begin time {begin}")]
    EndBeforeBegin {
        /// The job id.
        job: String,
        /// The begin time.
        begin: String,
        /// The end time.
        end: String,
    },
    /// The arguments are not a JSON object.
    #[error("job `{job}`: {source}")]
    ArgsNotObject {
        /// The job id.
        job: String,
        /// What was given instead.
        #[source]
        source: NotAnObject,
    },
    /// A time limit that is not a positive number of seconds up to the limit.
    #[error("job `{job}`: time limit {value} s is out of range (1 to {max} s)")]
    TimeLimitOutOfRange {
        /// The job id.
        job: String,
        /// The value given.
        value: i64,
        /// The limit.
        max: i64,
    },
    /// The actions are too many, too large, or one has no name.
    #[error("job `{job}`: actions: {reason}")]
    InvalidActions {
        /// The job id.
        job: String,
        /// What is wrong.
        reason: String,
    },
    /// The arguments are too large.
    #[error("job `{job}`: arguments are {len} bytes as JSON, more than the {max} allowed")]
    ArgsTooLarge {
        /// The job id.
        job: String,
        /// Their size.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// The JSON of a job definition does not decode.
    #[error("job definition{} is not valid: {reason}", job.as_deref().map(|j| format!(" `{j}`")).unwrap_or_default())]
    Malformed {
        /// The job id, when it could be read.
        job: Option<String>,
        /// What the decoder said.
        reason: String,
    },
}

impl JobInfo {
    /// Checks the definition: id, type and name lengths, a parseable cron for Period jobs,
    /// non-negative numbers, a positive interval for Persistent jobs, end after begin,
    /// and the size of the arguments. Returns the parsed cron of a Period job.
    pub fn validate(&self) -> Result<Option<CronSchedule>, JobDefinitionError> {
        if self.id.trim().is_empty() {
            return Err(JobDefinitionError::EmptyId {
                job_type: self.job_type.clone(),
            });
        }
        let job = || crate::job_args::truncate(&self.id, 64);
        check_len(&self.id, "id", MAX_ID_CHARS, job)?;
        if self.job_type.trim().is_empty() {
            return Err(JobDefinitionError::EmptyJobType { job: job() });
        }
        check_len(&self.job_type, "job type", MAX_NAME_CHARS, job)?;
        check_len(&self.name, "name", MAX_NAME_CHARS, job)?;
        check_len(&self.group, "group", MAX_NAME_CHARS, job)?;
        for (field, value, max) in [
            ("interval", self.interval, MAX_INTERVAL_SECS),
            (
                "base interval",
                self.base_interval.unwrap_or(0),
                MAX_INTERVAL_SECS,
            ),
            ("lock timeout", self.lock_timeout, MAX_LOCK_TIMEOUT_SECS),
            ("max try count", i64::from(self.max_try_count), MAX_COUNT),
            ("max count", i64::from(self.max_count), MAX_COUNT),
            ("trigger count", i64::from(self.trigger_count), MAX_COUNT),
            ("try count", i64::from(self.try_count), MAX_COUNT),
        ] {
            if value < 0 {
                return Err(JobDefinitionError::Negative {
                    job: job(),
                    field,
                    value,
                });
            }
            if value > max {
                return Err(JobDefinitionError::TooLarge {
                    job: job(),
                    field,
                    value,
                    max,
                });
            }
        }
        for (field, value) in [
            ("creation time", Some(self.creation_time)),
            ("begin time", Some(self.begin_time)),
            ("end time", self.end_time),
            ("last run time", self.last_run_time),
            ("next run time", self.next_run_time),
        ] {
            if let Some(time) = value.filter(|t| !time_in_range(*t)) {
                return Err(JobDefinitionError::TimeOutOfRange {
                    job: job(),
                    field,
                    value: time.to_rfc3339(),
                });
            }
        }
        if let Some(end) = self.end_time
            && end < self.begin_time
        {
            return Err(JobDefinitionError::EndBeforeBegin {
                job: job(),
                begin: self.begin_time.to_rfc3339(),
                end: end.to_rfc3339(),
            });
        }
        if let Some(limit) = self.time_limit
            && !(1..=MAX_TIME_LIMIT_SECS).contains(&limit)
        {
            return Err(JobDefinitionError::TimeLimitOutOfRange {
                job: job(),
                value: limit,
                max: MAX_TIME_LIMIT_SECS,
            });
        }
        self.validate_actions(&job)?;
        let args_len = serde_json::to_vec(&self.args).map(|v| v.len()).unwrap_or(0);
        if args_len > MAX_ARGS_BYTES {
            return Err(JobDefinitionError::ArgsTooLarge {
                job: job(),
                len: args_len,
                max: MAX_ARGS_BYTES,
            });
        }
        match self.kind {
            JobKind::Period => {
                let expr = self
                    .cron
                    .as_deref()
                    .filter(|c| !c.trim().is_empty())
                    .ok_or_else(|| JobDefinitionError::MissingCron { job: job() })?;
                CronSchedule::parse(expr)
                    .map(Some)
                    .map_err(|source| JobDefinitionError::InvalidCron { job: job(), source })
            }
            JobKind::Persistent if self.interval < 1 => Err(JobDefinitionError::ZeroInterval {
                job: job(),
                value: self.interval,
            }),
            _ => Ok(None),
        }
    }

    fn validate_actions(&self, job: &impl Fn() -> String) -> Result<(), JobDefinitionError> {
        let invalid = |reason: String| JobDefinitionError::InvalidActions { job: job(), reason };
        if self.actions.len() > MAX_ACTIONS {
            return Err(invalid(format!(
                "{} actions, more than the {MAX_ACTIONS} allowed",
                self.actions.len()
            )));
        }
        if let Some(position) = self.actions.iter().position(|a| a.name.trim().is_empty()) {
            return Err(invalid(format!("action {} has no name", position + 1)));
        }
        let len = serde_json::to_vec(&self.actions)
            .map(|v| v.len())
            .unwrap_or(0);
        if len > MAX_ACTIONS_BYTES {
            return Err(invalid(format!(
                "{len} bytes as JSON, more than the {MAX_ACTIONS_BYTES} allowed"
            )));
        }
        Ok(())
    }

    /// Decodes a job definition from JSON (as a store or an API would receive it) and
    /// validates it. Arguments that are not an object, unknown codes and bad cron
    /// expressions are errors that name the job.
    pub fn from_json(json: &str) -> Result<JobInfo, JobDefinitionError> {
        let value: serde_json::Value =
            serde_json::from_str(json).map_err(|e| JobDefinitionError::Malformed {
                job: None,
                reason: e.to_string(),
            })?;
        if !value.is_object() {
            return Err(JobDefinitionError::Malformed {
                job: None,
                reason: format!(
                    "a job definition is a JSON object, not {}",
                    json_kind(&value)
                ),
            });
        }
        let job_id = value.get("id").and_then(|v| v.as_str()).map(str::to_owned);
        if let Some(Err(source)) = value
            .get("args")
            .map(|args| JobArgs::from_value(args.clone()))
        {
            return Err(JobDefinitionError::ArgsNotObject {
                job: job_id.unwrap_or_default(),
                source,
            });
        }
        let job: JobInfo =
            serde_json::from_value(value).map_err(|e| JobDefinitionError::Malformed {
                job: job_id,
                reason: e.to_string(),
            })?;
        job.validate()?;
        Ok(job)
    }
}

/// Whether a time is within the years 1970 to 9999, where every store keeps it exactly
/// and schedule arithmetic has room.
pub fn time_in_range(time: chrono::DateTime<chrono::Utc>) -> bool {
    (MIN_TIME_SECS..=MAX_TIME_SECS).contains(&time.timestamp())
}

/// What kind of JSON value `value` is, for error messages.
fn json_kind(value: &serde_json::Value) -> &'static str {
    match value {
        serde_json::Value::Null => "null",
        serde_json::Value::Bool(_) => "a boolean",
        serde_json::Value::Number(_) => "a number",
        serde_json::Value::String(_) => "a string",
        serde_json::Value::Array(_) => "an array",
        serde_json::Value::Object(_) => "an object",
    }
}

fn check_len(
    value: &str,
    field: &'static str,
    max: usize,
    job: impl Fn() -> String,
) -> Result<(), JobDefinitionError> {
    let len = value.chars().count();
    if len > max {
        Err(JobDefinitionError::TooLong {
            job: job(),
            field,
            len,
            max,
        })
    } else {
        Ok(())
    }
}

#[cfg(test)]
mod tests;
