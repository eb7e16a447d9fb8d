//! The typed API (R48–R50): job types as Rust types, queued with their options in one
//! call, recurring jobs declared by key, unique jobs, and handles that await an outcome.

mod diff;
mod enqueue;
mod options;
mod runnable;
mod schedule;
mod unique;

pub use self::enqueue::{Enqueue, Enqueued, JobHandle, OutcomeError};
pub(crate) use self::runnable::{FnTypedRunnable, TypedRunnable};
pub use self::schedule::{Schedule, ScheduleJob, Scheduled};
pub use self::unique::UniquePolicy;

use bgtasks_abstractions::EncodeError;

use crate::scheduler::SchedulerError;

/// A typed job could not be queued or declared. Every message names the job.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum EnqueueError {
    /// The value does not serialize as job arguments.
    #[error(transparent)]
    Encode(EncodeError),
    /// The definition is invalid, the store failed, or the runtime has shut down.
    #[error(transparent)]
    Scheduler(#[from] SchedulerError),
    /// The key names a job of another kind or type; it is left as it is.
    #[error(
        "job `{id}` exists as {stored}, not as {new}: remove it first to change its kind or type"
    )]
    Conflict {
        /// The job.
        id: String,
        /// What is stored.
        stored: String,
        /// What was declared.
        new: String,
    },
    /// Other writers kept changing the job while this one tried; nothing was changed.
    #[error("job `{id}` kept changing while it was being queued; try again")]
    Contended {
        /// The job.
        id: String,
    },
}

impl From<crate::store::StoreError> for EnqueueError {
    fn from(error: crate::store::StoreError) -> Self {
        EnqueueError::Scheduler(SchedulerError::Store(error))
    }
}
