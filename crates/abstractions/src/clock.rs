//! Where the runtime reads the time from, so that tests can drive it.

use std::fmt;

use chrono::{DateTime, Utc};

/// The source of "now" for scheduling. The runtime never calls `Utc::now()` directly, so a
/// test can substitute a clock that follows tokio's paused time.
pub trait Clock: Send + Sync + fmt::Debug {
    /// The current time.
    fn now(&self) -> DateTime<Utc>;
}

/// The system's wall clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }
}
