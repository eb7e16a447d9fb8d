//! Control: pause, resume, trigger, stop, start — each one atomic transition with its
//! condition, applied by the rules of [`rules::control`](crate::rules).

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use crate::error::StoreError;
use crate::outcome::Transition;

/// The operator's transitions. Each applies atomically if its condition holds and
/// answers the job as it left it, or refuses with why (R37). None writes a job back
/// whole: each changes only the fields its rule names.
#[async_trait]
pub trait JobControl: Send + Sync {
    /// Pauses a job that is Queuing, Running or FailedRetry. A run in flight is asked to
    /// stop: its node learns at its next renewal and records the run as interrupted
    /// (R39).
    async fn pause(&self, id: &str) -> Result<Transition, StoreError>;

    /// Resumes a Paused job: active again, due at `now` at the latest (a Period job at
    /// its first tick from `now`). A pause its run has not yet acted on is withdrawn.
    async fn resume(&self, id: &str, now: DateTime<Utc>) -> Result<Transition, StoreError>;

    /// Runs a job now: a job that is not active becomes active (an abandoned one gets
    /// its tries back), due at `now`. While the job runs, the trigger is remembered and
    /// the job is due again at once when the run ends (R40).
    async fn trigger(&self, id: &str, now: DateTime<Utc>) -> Result<Transition, StoreError>;

    /// Stops a job that is not Completed or Stopped: no next run. A run in flight is
    /// asked to stop (R39).
    async fn stop(&self, id: &str) -> Result<Transition, StoreError>;

    /// Starts a Stopped job again: active, not abandoned, tries reset, scheduled from
    /// `now`.
    async fn start(&self, id: &str, now: DateTime<Utc>) -> Result<Transition, StoreError>;
}
