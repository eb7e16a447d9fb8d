//! Handing jobs pinned to other nodes over (R30).

use async_trait::async_trait;
use bgtasks_abstractions::{BoxError, JobInfo};

/// Hands waiting jobs pinned to another node to that node. The polling job calls it with
/// the jobs it found for each other node.
#[async_trait]
pub trait JobDispatcher: Send + Sync {
    /// Hands `jobs` to `node`.
    async fn dispatch(&self, node: &str, jobs: Vec<JobInfo>) -> Result<(), BoxError>;
}

/// The default dispatcher: the jobs stay in the shared store, where their node claims
/// them itself; this only records that they were seen.
#[derive(Debug, Clone, Copy, Default)]
pub struct StoreJobDispatcher;

#[async_trait]
impl JobDispatcher for StoreJobDispatcher {
    async fn dispatch(&self, node: &str, jobs: Vec<JobInfo>) -> Result<(), BoxError> {
        tracing::debug!(
            node,
            jobs = jobs.len(),
            "jobs pinned to another node are left in the store for it"
        );
        Ok(())
    }
}
