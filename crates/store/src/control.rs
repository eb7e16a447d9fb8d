//! Control: pause, resume, trigger, stop, start — each one atomic transition with its
//! condition, applied by the rules of [`rules::control`](crate::rules).

use bgtasks_abstractions::BoxFuture;
use chrono::{DateTime, Utc};

use crate::error::StoreError;
use crate::outcome::Transition;

/// The operator's transitions. Each applies atomically if its condition holds and
/// answers the job as it left it, or refuses with why (R37). None writes a job back
/// whole: each changes only the fields its rule names. Implement it with plain
/// `async fn`s; the runtime calls it through [`DynJobControl`].
pub trait JobControl: Send + Sync {
    /// Pauses a job that is Queuing, Running or FailedRetry. A run in flight is asked to
    /// stop: its node learns at its next renewal and records the run as interrupted
    /// (R39).
    fn pause(&self, id: &str) -> impl Future<Output = Result<Transition, StoreError>> + Send;

    /// Resumes a Paused job: active again, due at `now` at the latest (a Period job at
    /// its first tick from `now`). A pause its run has not yet acted on is withdrawn.
    fn resume(
        &self,
        id: &str,
        now: DateTime<Utc>,
    ) -> impl Future<Output = Result<Transition, StoreError>> + Send;

    /// Runs a job now: a job that is not active becomes active (an abandoned one gets
    /// its tries back), due at `now`. While the job runs, the trigger is remembered and
    /// the job is due again at once when the run ends (R40).
    fn trigger(
        &self,
        id: &str,
        now: DateTime<Utc>,
    ) -> impl Future<Output = Result<Transition, StoreError>> + Send;

    /// Stops a job that is not Completed or Stopped: no next run. A run in flight is
    /// asked to stop (R39).
    fn stop(&self, id: &str) -> impl Future<Output = Result<Transition, StoreError>> + Send;

    /// Starts a Stopped job again: active, not abandoned, tries reset, scheduled from
    /// `now`.
    fn start(
        &self,
        id: &str,
        now: DateTime<Utc>,
    ) -> impl Future<Output = Result<Transition, StoreError>> + Send;
}

/// The object-safe form of [`JobControl`], with the same methods returning boxed futures;
/// a [`JobStore`](crate::JobStore) is one. Every `JobControl` is one: implement
/// `JobControl`, not this.
pub trait DynJobControl: Send + Sync {
    /// See [`JobControl::pause`].
    fn pause<'a>(&'a self, id: &'a str) -> BoxFuture<'a, Result<Transition, StoreError>>;
    /// See [`JobControl::resume`].
    fn resume<'a>(
        &'a self,
        id: &'a str,
        now: DateTime<Utc>,
    ) -> BoxFuture<'a, Result<Transition, StoreError>>;
    /// See [`JobControl::trigger`].
    fn trigger<'a>(
        &'a self,
        id: &'a str,
        now: DateTime<Utc>,
    ) -> BoxFuture<'a, Result<Transition, StoreError>>;
    /// See [`JobControl::stop`].
    fn stop<'a>(&'a self, id: &'a str) -> BoxFuture<'a, Result<Transition, StoreError>>;
    /// See [`JobControl::start`].
    fn start<'a>(
        &'a self,
        id: &'a str,
        now: DateTime<Utc>,
    ) -> BoxFuture<'a, Result<Transition, StoreError>>;
}

impl<T: JobControl> DynJobControl for T {
    fn pause<'a>(&'a self, id: &'a str) -> BoxFuture<'a, Result<Transition, StoreError>> {
        Box::pin(JobControl::pause(self, id))
    }

    fn resume<'a>(
        &'a self,
        id: &'a str,
        now: DateTime<Utc>,
    ) -> BoxFuture<'a, Result<Transition, StoreError>> {
        Box::pin(JobControl::resume(self, id, now))
    }

    fn trigger<'a>(
        &'a self,
        id: &'a str,
        now: DateTime<Utc>,
    ) -> BoxFuture<'a, Result<Transition, StoreError>> {
        Box::pin(JobControl::trigger(self, id, now))
    }

    fn stop<'a>(&'a self, id: &'a str) -> BoxFuture<'a, Result<Transition, StoreError>> {
        Box::pin(JobControl::stop(self, id))
    }

    fn start<'a>(
        &'a self,
        id: &'a str,
        now: DateTime<Utc>,
    ) -> BoxFuture<'a, Result<Transition, StoreError>> {
        Box::pin(JobControl::start(self, id, now))
    }
}
