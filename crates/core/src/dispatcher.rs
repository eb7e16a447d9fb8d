//! Handing jobs pinned to other nodes over (R30).

use bgtasks_abstractions::{BoxError, BoxFuture, JobInfo};

/// Hands waiting jobs pinned to another node to that node. The polling job calls it with
/// the jobs it found for each other node. Implement it with a plain `async fn`; the
/// runtime holds it as `Arc<dyn DynJobDispatcher>`.
pub trait JobDispatcher: Send + Sync {
    /// Hands `jobs` to `node`.
    fn dispatch(
        &self,
        node: &str,
        jobs: Vec<JobInfo>,
    ) -> impl Future<Output = Result<(), BoxError>> + Send;
}

/// The object-safe form of [`JobDispatcher`], which the runtime holds. Every
/// `JobDispatcher` is one: implement `JobDispatcher`, not this.
pub trait DynJobDispatcher: Send + Sync {
    /// See [`JobDispatcher::dispatch`].
    fn dispatch<'a>(
        &'a self,
        node: &'a str,
        jobs: Vec<JobInfo>,
    ) -> BoxFuture<'a, Result<(), BoxError>>;
}

impl<T: JobDispatcher> DynJobDispatcher for T {
    fn dispatch<'a>(
        &'a self,
        node: &'a str,
        jobs: Vec<JobInfo>,
    ) -> BoxFuture<'a, Result<(), BoxError>> {
        Box::pin(JobDispatcher::dispatch(self, node, jobs))
    }
}

/// The default dispatcher: the jobs stay in the shared store, where their node claims
/// them itself; this only records that they were seen.
#[derive(Debug, Clone, Copy, Default)]
pub struct StoreJobDispatcher;

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
