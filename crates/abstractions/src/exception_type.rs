//! What a failure means (R22).

use std::fmt;

use bitflags::bitflags;
use serde::{Deserialize, Serialize};

bitflags! {
    /// The kind of a failed run, as flags so that an action or a retry rule can accept
    /// several. Deviation from the reference: Business has its own bit (1) instead of 0,
    /// so "accept Business only" really means only Business failures.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
    #[serde(transparent)]
    pub struct JobExceptionType: u32 {
        /// A business rule refused the work (also validation errors). Retrying rarely helps.
        const BUSINESS = 1;
        /// The application failed (a 4xx answer, a bug in the caller's data).
        const APPLICATION = 2;
        /// A network failure: a timeout, 408, 429 or a 5xx answer. Retrying usually helps.
        const NETWORK = 4;
        /// Anything else: a panic, an unknown job type, an unexpected error.
        const SYSTEM = 8;
        /// All four.
        const ALL = Self::BUSINESS.bits() | Self::APPLICATION.bits() | Self::NETWORK.bits() | Self::SYSTEM.bits();
    }
}

impl JobExceptionType {
    /// The name of a single type ("Business", "Network"...), or the flags joined by `|`.
    pub fn name(self) -> String {
        const NAMES: [(JobExceptionType, &str); 4] = [
            (JobExceptionType::BUSINESS, "Business"),
            (JobExceptionType::APPLICATION, "Application"),
            (JobExceptionType::NETWORK, "Network"),
            (JobExceptionType::SYSTEM, "System"),
        ];
        if self == JobExceptionType::ALL {
            return "All".to_owned();
        }
        let parts: Vec<&str> = NAMES
            .iter()
            .filter(|(flag, _)| self.contains(*flag))
            .map(|(_, name)| *name)
            .collect();
        if parts.is_empty() {
            "None".to_owned()
        } else {
            parts.join("|")
        }
    }

    /// Parses a name written by [`name`](Self::name) (case-insensitive), such as
    /// `"Network"`, `"Business|Network"` or `"All"`.
    pub fn parse_name(text: &str) -> Option<Self> {
        let mut flags = JobExceptionType::empty();
        for part in text.split(['|', ',']) {
            let flag = match part.trim().to_ascii_lowercase().as_str() {
                "business" => JobExceptionType::BUSINESS,
                "application" => JobExceptionType::APPLICATION,
                "network" => JobExceptionType::NETWORK,
                "system" => JobExceptionType::SYSTEM,
                "all" => JobExceptionType::ALL,
                _ => return None,
            };
            flags |= flag;
        }
        Some(flags)
    }
}

impl fmt::Display for JobExceptionType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_type_has_its_own_bit() {
        // spec: R22
        assert_eq!(JobExceptionType::BUSINESS.bits(), 1);
        assert_eq!(JobExceptionType::APPLICATION.bits(), 2);
        assert_eq!(JobExceptionType::NETWORK.bits(), 4);
        assert_eq!(JobExceptionType::SYSTEM.bits(), 8);
        assert_eq!(JobExceptionType::ALL.bits(), 15);
        // Accepting Business only does not accept a Network failure (the reference's
        // Business = 0 made this always true).
        assert!(!JobExceptionType::BUSINESS.contains(JobExceptionType::NETWORK));
        assert!(!JobExceptionType::NETWORK.contains(JobExceptionType::BUSINESS));
        assert!(JobExceptionType::ALL.contains(JobExceptionType::BUSINESS));
    }

    #[test]
    fn names_round_trip() {
        // spec: R22
        for t in [
            JobExceptionType::BUSINESS,
            JobExceptionType::NETWORK | JobExceptionType::SYSTEM,
            JobExceptionType::ALL,
        ] {
            assert_eq!(JobExceptionType::parse_name(&t.name()), Some(t));
        }
        assert_eq!(JobExceptionType::parse_name("bogus"), None);
    }
}
