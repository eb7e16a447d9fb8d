//! How a job repeats (R3) and where it came from.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::status::UnknownCode;

/// How a job repeats: the reference's `JobType`. (The registered name of the code that
/// runs a job is its *type*, [`JobInfo::job_type`](crate::JobInfo::job_type).)
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(into = "i32", try_from = "i32")]
pub enum JobKind {
    /// Runs one time, at its begin time (at once if that has passed). Code 0.
    #[default]
    Once,
    /// Runs on its cron expression. Code 1.
    Period,
    /// Runs first at its begin time, then every `interval` seconds until it has run
    /// `max count` times (0 = forever). Code 2.
    Persistent,
}

impl JobKind {
    /// The reference's numeric code.
    pub const fn code(self) -> i32 {
        match self {
            JobKind::Once => 0,
            JobKind::Period => 1,
            JobKind::Persistent => 2,
        }
    }

    /// The kind with this numeric code, if any.
    pub fn from_code(code: i32) -> Option<Self> {
        [JobKind::Once, JobKind::Period, JobKind::Persistent]
            .into_iter()
            .find(|k| k.code() == code)
    }

    /// The kind's name.
    pub const fn as_str(self) -> &'static str {
        match self {
            JobKind::Once => "Once",
            JobKind::Period => "Period",
            JobKind::Persistent => "Persistent",
        }
    }
}

impl fmt::Display for JobKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl From<JobKind> for i32 {
    fn from(value: JobKind) -> Self {
        value.code()
    }
}

impl TryFrom<i32> for JobKind {
    type Error = UnknownCode;

    fn try_from(code: i32) -> Result<Self, Self::Error> {
        Self::from_code(code).ok_or(UnknownCode {
            what: "job kind",
            code,
        })
    }
}

/// Who created a job.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(into = "i32", try_from = "i32")]
pub enum JobSource {
    /// Unknown. Code -1.
    #[default]
    None,
    /// Created by a user or an application. Code 0.
    User,
    /// Created by the runtime itself (the polling, checking and cleaning jobs). Code 10.
    System,
}

impl JobSource {
    /// The reference's numeric code.
    pub const fn code(self) -> i32 {
        match self {
            JobSource::None => -1,
            JobSource::User => 0,
            JobSource::System => 10,
        }
    }

    /// The source with this numeric code, if any.
    pub fn from_code(code: i32) -> Option<Self> {
        [JobSource::None, JobSource::User, JobSource::System]
            .into_iter()
            .find(|s| s.code() == code)
    }
}

impl From<JobSource> for i32 {
    fn from(value: JobSource) -> Self {
        value.code()
    }
}

impl TryFrom<i32> for JobSource {
    type Error = UnknownCode;

    fn try_from(code: i32) -> Result<Self, Self::Error> {
        Self::from_code(code).ok_or(UnknownCode {
            what: "job source",
            code,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kind_and_source_codes_round_trip() {
        // spec: R3
        for kind in [JobKind::Once, JobKind::Period, JobKind::Persistent] {
            assert_eq!(JobKind::try_from(kind.code()), Ok(kind));
        }
        for source in [JobSource::None, JobSource::User, JobSource::System] {
            assert_eq!(JobSource::try_from(source.code()), Ok(source));
        }
        assert!(JobKind::try_from(3).is_err());
        assert_eq!(serde_json::to_string(&JobKind::Persistent).unwrap(), "2");
    }
}
