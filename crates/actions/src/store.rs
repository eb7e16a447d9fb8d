//! Where a job's actions are kept (R31).

use std::sync::Arc;

use async_trait::async_trait;
use bgtasks_abstractions::BoxError;

use crate::action::JobAction;

/// A store could not read or write a job's actions.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum JobActionStoreError {
    /// The backend failed.
    #[error("the action store failed to {operation} the actions of job `{job_id}`: {source}")]
    Backend {
        /// The job whose actions were read or written.
        job_id: String,
        /// What was being done: "read", "write" or "remove".
        operation: &'static str,
        /// The backend's error.
        #[source]
        source: BoxError,
    },
}

impl JobActionStoreError {
    /// A backend error while doing `operation` ("read", "write", "remove") for `job_id`.
    pub fn backend(
        job_id: impl Into<String>,
        operation: &'static str,
        source: impl Into<BoxError>,
    ) -> Self {
        Self::Backend {
            job_id: job_id.into(),
            operation,
            source: source.into(),
        }
    }
}

/// Keeps the actions of each job, by job id. Durable stores implement it next to their
/// job table; [`InMemoryJobActionStore`](crate::InMemoryJobActionStore) is the default.
#[async_trait]
pub trait JobActionStore: Send + Sync {
    /// The actions of `job_id`, in the order they were set; empty when it has none.
    async fn get_actions(&self, job_id: &str) -> Result<Vec<JobAction>, JobActionStoreError>;

    /// Replaces the actions of `job_id`.
    async fn set_actions(
        &self,
        job_id: &str,
        actions: Vec<JobAction>,
    ) -> Result<(), JobActionStoreError>;

    /// Removes the actions of `job_id` (e.g. when the job is removed). Removing none is
    /// not an error.
    async fn remove_actions(&self, job_id: &str) -> Result<(), JobActionStoreError>;
}

#[async_trait]
impl<T: JobActionStore + ?Sized> JobActionStore for Arc<T> {
    async fn get_actions(&self, job_id: &str) -> Result<Vec<JobAction>, JobActionStoreError> {
        (**self).get_actions(job_id).await
    }

    async fn set_actions(
        &self,
        job_id: &str,
        actions: Vec<JobAction>,
    ) -> Result<(), JobActionStoreError> {
        (**self).set_actions(job_id, actions).await
    }

    async fn remove_actions(&self, job_id: &str) -> Result<(), JobActionStoreError> {
        (**self).remove_actions(job_id).await
    }
}
