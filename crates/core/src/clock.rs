//! Clocks: the system's, and one that follows tokio's (possibly paused) time.

use std::fmt;

use chrono::{DateTime, Utc};
use tokio::time::Instant;

pub use bgtasks_abstractions::{Clock, SystemClock};

/// A clock anchored at the wall-clock time of its creation that then advances with
/// tokio's clock. Under `tokio::time::pause()` it advances only when tokio's time does,
/// so retry intervals and cron ticks can be tested without real sleeps.
#[derive(Clone, Copy)]
pub struct TokioClock {
    anchor_utc: DateTime<Utc>,
    anchor: Instant,
}

impl TokioClock {
    /// A clock that reads `Utc::now()` now and follows tokio's time from here.
    pub fn new() -> Self {
        Self::starting_at(Utc::now())
    }

    /// A clock that reads `start` now and follows tokio's time from here.
    pub fn starting_at(start: DateTime<Utc>) -> Self {
        Self {
            anchor_utc: start,
            anchor: Instant::now(),
        }
    }
}

impl Default for TokioClock {
    fn default() -> Self {
        Self::new()
    }
}

impl Clock for TokioClock {
    fn now(&self) -> DateTime<Utc> {
        let elapsed = Instant::now().saturating_duration_since(self.anchor);
        saturating_add(self.anchor_utc, elapsed)
    }
}

impl fmt::Debug for TokioClock {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TokioClock")
            .field("anchor_utc", &self.anchor_utc)
            .finish()
    }
}

/// `at + duration`, saturating at the latest time chrono can hold instead of panicking.
pub fn saturating_add(at: DateTime<Utc>, duration: std::time::Duration) -> DateTime<Utc> {
    chrono::Duration::from_std(duration)
        .ok()
        .and_then(|d| at.checked_add_signed(d))
        .unwrap_or(DateTime::<Utc>::MAX_UTC)
}

/// `at + seconds`, saturating instead of panicking (negative seconds count as zero).
pub fn saturating_add_secs(at: DateTime<Utc>, seconds: i64) -> DateTime<Utc> {
    saturating_add(
        at,
        std::time::Duration::from_secs(u64::try_from(seconds).unwrap_or(0)),
    )
}

/// The time from `now` until `at`, zero if it has passed.
pub(crate) fn until(now: DateTime<Utc>, at: DateTime<Utc>) -> std::time::Duration {
    (at - now).to_std().unwrap_or(std::time::Duration::ZERO)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn follows_paused_time() {
        let clock = TokioClock::new();
        let start = clock.now();
        tokio::time::sleep(std::time::Duration::from_secs(450)).await;
        assert_eq!((clock.now() - start).num_seconds(), 450);
        assert_eq!(until(clock.now(), start), std::time::Duration::ZERO);
        assert_eq!(
            saturating_add(start, std::time::Duration::MAX),
            DateTime::<Utc>::MAX_UTC
        );
        assert_eq!(
            saturating_add_secs(start, i64::MAX),
            DateTime::<Utc>::MAX_UTC
        );
    }
}
