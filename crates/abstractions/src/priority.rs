//! The priority of a job (R5).

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::status::UnknownCode;

/// How urgent a job is. When several jobs are due, higher priority starts first. The
/// numeric codes are the reference's.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default, Serialize, Deserialize,
)]
#[serde(into = "i32", try_from = "i32")]
pub enum JobPriority {
    /// Code 5.
    Low,
    /// Code 10.
    BelowNormal,
    /// Code 15, the default.
    #[default]
    Normal,
    /// Code 20.
    AboveNormal,
    /// Code 25.
    High,
}

impl JobPriority {
    /// Every priority, lowest first.
    pub const ALL: [JobPriority; 5] = [
        JobPriority::Low,
        JobPriority::BelowNormal,
        JobPriority::Normal,
        JobPriority::AboveNormal,
        JobPriority::High,
    ];

    /// The reference's numeric code.
    pub const fn code(self) -> i32 {
        match self {
            JobPriority::Low => 5,
            JobPriority::BelowNormal => 10,
            JobPriority::Normal => 15,
            JobPriority::AboveNormal => 20,
            JobPriority::High => 25,
        }
    }

    /// The priority with this numeric code, if any.
    pub fn from_code(code: i32) -> Option<Self> {
        Self::ALL.into_iter().find(|p| p.code() == code)
    }

    /// The priority's name, as written in logs.
    pub const fn as_str(self) -> &'static str {
        match self {
            JobPriority::Low => "Low",
            JobPriority::BelowNormal => "BelowNormal",
            JobPriority::Normal => "Normal",
            JobPriority::AboveNormal => "AboveNormal",
            JobPriority::High => "High",
        }
    }
}

impl fmt::Display for JobPriority {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl From<JobPriority> for i32 {
    fn from(value: JobPriority) -> Self {
        value.code()
    }
}

impl TryFrom<i32> for JobPriority {
    type Error = UnknownCode;

    fn try_from(code: i32) -> Result<Self, Self::Error> {
        Self::from_code(code).ok_or(UnknownCode {
            what: "job priority",
            code,
        })
    }
}

/// A priority name that is none of the five, with the value given.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "unknown job priority `{0}`: expected Low, BelowNormal, Normal, AboveNormal or High (or their codes 5, 10, 15, 20, 25)"
)]
pub struct UnknownPriority(pub String);

impl std::str::FromStr for JobPriority {
    type Err = UnknownPriority;

    /// Reads a priority by name (any case, `-`/`_` ignored: `above-normal`) or by code.
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let wanted: String = text
            .trim()
            .chars()
            .filter(|c| *c != '-' && *c != '_')
            .collect::<String>()
            .to_ascii_lowercase();
        Self::ALL
            .into_iter()
            .find(|p| p.as_str().eq_ignore_ascii_case(&wanted))
            .or_else(|| wanted.parse().ok().and_then(Self::from_code))
            .ok_or_else(|| UnknownPriority(text.to_owned()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn priorities_parse_by_name_or_code() {
        // spec: R5
        assert_eq!("high".parse(), Ok(JobPriority::High));
        assert_eq!("Above-Normal".parse(), Ok(JobPriority::AboveNormal));
        assert_eq!("below_normal".parse(), Ok(JobPriority::BelowNormal));
        assert_eq!("15".parse(), Ok(JobPriority::Normal));
        let err = "urgent".parse::<JobPriority>().unwrap_err();
        assert_eq!(err, UnknownPriority("urgent".into()));
        assert!(err.to_string().contains("`urgent`"), "{err}");
        assert!("7".parse::<JobPriority>().is_err());
    }

    #[test]
    fn codes_order_and_serde() {
        // spec: R5
        let codes: Vec<i32> = JobPriority::ALL.iter().map(|p| p.code()).collect();
        assert_eq!(codes, vec![5, 10, 15, 20, 25]);
        assert!(JobPriority::High > JobPriority::AboveNormal);
        assert!(JobPriority::Normal > JobPriority::BelowNormal);
        assert!(JobPriority::BelowNormal > JobPriority::Low);
        assert_eq!(serde_json::to_string(&JobPriority::High).unwrap(), "25");
        assert_eq!(
            serde_json::from_str::<JobPriority>("10").unwrap(),
            JobPriority::BelowNormal
        );
        assert!(serde_json::from_str::<JobPriority>("11").is_err());
    }
}
