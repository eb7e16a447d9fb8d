//! The scheduler's API (R26).

use async_trait::async_trait;
use bgtasks_abstractions::{JobDefinitionError, JobInfo};

use crate::store::StoreError;

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
#[async_trait]
pub trait JobScheduler: Send + Sync {
    /// Validates and queues a job; `false` if a job with its id exists.
    async fn queue(&self, job: JobInfo) -> Result<bool, SchedulerError>;

    /// Validates every job first (nothing is queued if one is invalid), then queues each;
    /// one `bool` per job as for [`queue`](Self::queue).
    async fn queue_many(&self, jobs: Vec<JobInfo>) -> Result<Vec<bool>, SchedulerError>;

    /// Whether the scheduler has the job: stored, and scheduled, running or paused.
    async fn exists(&self, id: &str) -> Result<bool, SchedulerError>;

    /// Runs the job now, queueing it first if it is absent. A paused, stopped or
    /// completed job becomes active again.
    async fn trigger(&self, job: JobInfo) -> Result<(), SchedulerError>;

    /// Pauses a job, interrupting its run if it is running; `false` if absent.
    async fn pause(&self, id: &str) -> Result<bool, SchedulerError>;

    /// Resumes a paused job; `false` if absent or not paused.
    async fn resume(&self, id: &str) -> Result<bool, SchedulerError>;

    /// Removes a job, interrupting its run if it is running; `false` if absent.
    async fn remove(&self, id: &str) -> Result<bool, SchedulerError>;

    /// Starts (or restarts) taking runs.
    async fn start(&self) -> Result<(), SchedulerError>;

    /// Stands by: takes no new runs and lets running ones finish.
    async fn stop(&self) -> Result<(), SchedulerError>;

    /// Stops, lets running jobs finish within the grace period, interrupts the rest
    /// (leaving them ready to run again), and releases everything.
    async fn shutdown(&self) -> Result<(), SchedulerError>;
}
