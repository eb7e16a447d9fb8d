//! The status of a job (R4).

use std::fmt;

use serde::{Deserialize, Serialize};

/// Where a job is in its life. The numeric codes are the reference's and are what the
/// durable stores persist, so they never change.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(into = "i32", try_from = "i32")]
pub enum JobStatus {
    /// Not yet queued.
    #[default]
    None,
    /// Finished for good: a Once job that succeeded, or a job that reached its max count.
    Completed,
    /// Queued and waiting for its first run.
    Queuing,
    /// Active on its schedule (the reference's meaning: it has run and will run again).
    Running,
    /// The last run failed; the job waits for its retry.
    FailedRetry,
    /// Paused by a user; resumes on request.
    Paused,
    /// Stopped for good, usually because it failed `max try count` times.
    Stopped,
}

impl JobStatus {
    /// Every status, in code order.
    pub const ALL: [JobStatus; 7] = [
        JobStatus::None,
        JobStatus::Completed,
        JobStatus::Queuing,
        JobStatus::Running,
        JobStatus::FailedRetry,
        JobStatus::Paused,
        JobStatus::Stopped,
    ];

    /// The reference's numeric code.
    pub const fn code(self) -> i32 {
        match self {
            JobStatus::None => -1,
            JobStatus::Completed => 0,
            JobStatus::Queuing => 5,
            JobStatus::Running => 10,
            JobStatus::FailedRetry => 15,
            JobStatus::Paused => 20,
            JobStatus::Stopped => 30,
        }
    }

    /// The status with this numeric code, if any.
    pub fn from_code(code: i32) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.code() == code)
    }

    /// Whether a job in this status takes part in scheduling (it can become due).
    pub const fn is_schedulable(self) -> bool {
        matches!(
            self,
            JobStatus::Queuing | JobStatus::Running | JobStatus::FailedRetry
        )
    }

    /// The status's name, as written in logs.
    pub const fn as_str(self) -> &'static str {
        match self {
            JobStatus::None => "None",
            JobStatus::Completed => "Completed",
            JobStatus::Queuing => "Queuing",
            JobStatus::Running => "Running",
            JobStatus::FailedRetry => "FailedRetry",
            JobStatus::Paused => "Paused",
            JobStatus::Stopped => "Stopped",
        }
    }
}

impl fmt::Display for JobStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl From<JobStatus> for i32 {
    fn from(value: JobStatus) -> Self {
        value.code()
    }
}

impl TryFrom<i32> for JobStatus {
    type Error = UnknownCode;

    fn try_from(code: i32) -> Result<Self, Self::Error> {
        Self::from_code(code).ok_or(UnknownCode {
            what: "job status",
            code,
        })
    }
}

/// A numeric code that names no variant of a coded enum.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown {what} code {code}")]
pub struct UnknownCode {
    /// Which enum was being decoded.
    pub what: &'static str,
    /// The code that matched nothing.
    pub code: i32,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_the_references() {
        // spec: R4
        let codes: Vec<i32> = JobStatus::ALL.iter().map(|s| s.code()).collect();
        assert_eq!(codes, vec![-1, 0, 5, 10, 15, 20, 30]);
        for status in JobStatus::ALL {
            assert_eq!(JobStatus::from_code(status.code()), Some(status));
        }
        assert_eq!(JobStatus::from_code(7), None);
        assert_eq!(
            JobStatus::try_from(99).unwrap_err().to_string(),
            "unknown job status code 99"
        );
    }

    #[test]
    fn serializes_as_its_code() {
        // spec: R4
        assert_eq!(
            serde_json::to_string(&JobStatus::FailedRetry).unwrap(),
            "15"
        );
        let back: JobStatus = serde_json::from_str("30").unwrap();
        assert_eq!(back, JobStatus::Stopped);
        assert!(serde_json::from_str::<JobStatus>("31").is_err());
    }
}
