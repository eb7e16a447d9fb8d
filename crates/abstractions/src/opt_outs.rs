//! What a job type can opt out of (R11).

/// Parts of the runtime a job type can opt out of. All off by default.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct JobOptOuts {
    /// The executed event skips the job: its counters and status are not updated.
    pub skip_status_handling: bool,
    /// The log event writes no run log for the job.
    pub skip_logging: bool,
    /// No job action (notifier) fires for the job.
    pub skip_actions: bool,
}

impl JobOptOuts {
    /// What the built-in system jobs use: no actions and no logging.
    pub const SYSTEM: JobOptOuts = JobOptOuts {
        skip_status_handling: false,
        skip_logging: true,
        skip_actions: true,
    };
}
