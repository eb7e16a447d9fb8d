//! The scheduler's API (R26).

use bgtasks_abstractions::{BoxFuture, JobDefinitionError, JobInfo};

use crate::store::{DefinitionUpdate, StoreError, Transition};

/// Why a scheduler operation failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SchedulerError {
    /// The job definition is invalid; nothing was queued.
    #[error(transparent)]
    InvalidJob(#[from] JobDefinitionError),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The runtime has shut down.
    #[error("the runtime has shut down")]
    ShutDown,
}

/// Queues and controls jobs (the reference's `IJobScheduler`). The runtime implements
/// it; listeners and runnables find it in their services as `Arc<dyn JobScheduler>`.
///
/// Every operation on a job is one atomic transition of the store (R37): it applies if
/// its condition holds and answers the job as it left it, or it is refused and says why
/// (`Err(Refusal)` inside the `Ok`: not found, or the job's current state). A store
/// failure is the outer `Err`.
///
/// It is called, not implemented, outside the runtime: its methods return boxed futures
/// (`scheduler.queue(job).await`) so that it is held as a trait object.
pub trait JobScheduler: Send + Sync {
    /// Validates and queues a job; `false` if a job with its id exists.
    fn queue(&self, job: JobInfo) -> BoxFuture<'_, Result<bool, SchedulerError>>;

    /// Validates every job first (nothing is queued if one is invalid), then queues them
    /// together; one `bool` per job as for [`queue`](Self::queue).
    fn queue_many(&self, jobs: Vec<JobInfo>) -> BoxFuture<'_, Result<Vec<bool>, SchedulerError>>;

    /// Whether the scheduler has the job: stored, and scheduled, running or paused.
    fn exists<'a>(&'a self, id: &'a str) -> BoxFuture<'a, Result<bool, SchedulerError>>;

    /// Runs the job now, queueing it first if it is absent. A paused, stopped or
    /// completed job becomes active again; a job that is running runs once more when its
    /// run ends (R40).
    fn trigger(&self, job: JobInfo) -> BoxFuture<'_, Result<Transition, SchedulerError>>;

    /// Pauses a job; a run in flight, on any node, is interrupted and charged nothing
    /// (R39).
    fn pause<'a>(&'a self, id: &'a str) -> BoxFuture<'a, Result<Transition, SchedulerError>>;

    /// Resumes a paused job.
    fn resume<'a>(&'a self, id: &'a str) -> BoxFuture<'a, Result<Transition, SchedulerError>>;

    /// Removes a job with its logs; a run in flight, on any node, is interrupted.
    fn remove<'a>(&'a self, id: &'a str) -> BoxFuture<'a, Result<Transition, SchedulerError>>;

    /// Stops a job (it will not run again until started); a run in flight, on any node,
    /// is interrupted.
    fn stop_job<'a>(&'a self, id: &'a str) -> BoxFuture<'a, Result<Transition, SchedulerError>>;

    /// Starts a stopped job again, with its tries back.
    fn start_job<'a>(&'a self, id: &'a str) -> BoxFuture<'a, Result<Transition, SchedulerError>>;

    /// Changes a job's definition: the update is validated against the job as it is,
    /// and applied only if the job's revision is still `expected_revision` (when given).
    fn update<'a>(
        &'a self,
        id: &'a str,
        update: DefinitionUpdate,
        expected_revision: Option<i64>,
    ) -> BoxFuture<'a, Result<Transition, SchedulerError>>;

    /// Starts (or restarts) taking runs.
    fn start(&self) -> BoxFuture<'_, Result<(), SchedulerError>>;

    /// Stands by: takes no new runs, gives back the runs claimed but not started, and
    /// lets running ones finish.
    fn stop(&self) -> BoxFuture<'_, Result<(), SchedulerError>>;

    /// Stops, lets running jobs finish within the grace period, interrupts the rest
    /// (leaving them ready to run again), and releases everything.
    fn shutdown(&self) -> BoxFuture<'_, Result<(), SchedulerError>>;
}
