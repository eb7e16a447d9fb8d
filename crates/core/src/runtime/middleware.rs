//! Middleware: one way to wrap every run — tracing, limits, policies — without touching
//! the runtime. A middleware gets the run's context and the rest of the chain, and
//! decides whether, when and how the run goes on.

use std::collections::HashMap;
use std::future::Future;
use std::sync::Arc;

use bgtasks_abstractions::{JobError, JobRunnableContext, JobType};
use futures_util::future::BoxFuture;
use tokio::sync::Semaphore;

/// Wraps every run of this node: call `next.run().await` to go on with the run (and the
/// middleware after this one), or return without calling it to skip the run. Write
/// `async fn call(&self, ctx: &JobRunnableContext, next: Next<'_>) -> Result<(), JobError>`.
///
/// A middleware runs inside the run's lease and before its time limit starts; a panic in
/// it fails the run like a panic in the runnable.
///
/// ```
/// use bgtasks_abstractions::{JobError, JobRunnableContext};
/// use bgtasks_core::{Next, RunMiddleware};
///
/// /// Logs how long each run took.
/// struct Timing;
///
/// impl RunMiddleware for Timing {
///     async fn call(&self, ctx: &JobRunnableContext, next: Next<'_>) -> Result<(), JobError> {
///         let started = std::time::Instant::now();
///         let result = next.run().await;
///         tracing::info!(job_id = ctx.job_id(), took = ?started.elapsed(), "run ended");
///         result
///     }
/// }
/// ```
pub trait RunMiddleware: Send + Sync + 'static {
    /// Wraps one run.
    fn call(
        &self,
        ctx: &JobRunnableContext,
        next: Next<'_>,
    ) -> impl Future<Output = Result<(), JobError>> + Send;
}

/// A middleware behind `dyn`: what the runtime holds.
pub(crate) trait ErasedMiddleware: Send + Sync {
    fn call_boxed<'a>(
        &'a self,
        ctx: &'a JobRunnableContext,
        next: Next<'a>,
    ) -> BoxFuture<'a, Result<(), JobError>>;
}

impl<M: RunMiddleware> ErasedMiddleware for M {
    fn call_boxed<'a>(
        &'a self,
        ctx: &'a JobRunnableContext,
        next: Next<'a>,
    ) -> BoxFuture<'a, Result<(), JobError>> {
        Box::pin(self.call(ctx, next))
    }
}

/// The end of the chain: the run itself.
pub(crate) trait Endpoint: Send + Sync {
    fn run(&self) -> BoxFuture<'_, Result<(), JobError>>;
}

/// The rest of the chain after a middleware.
pub struct Next<'a> {
    chain: &'a [Arc<dyn ErasedMiddleware>],
    ctx: &'a JobRunnableContext,
    endpoint: &'a dyn Endpoint,
}

impl<'a> Next<'a> {
    pub(crate) fn new(
        chain: &'a [Arc<dyn ErasedMiddleware>],
        ctx: &'a JobRunnableContext,
        endpoint: &'a dyn Endpoint,
    ) -> Self {
        Self {
            chain,
            ctx,
            endpoint,
        }
    }

    /// Goes on with the run: the next middleware, or the runnable.
    pub fn run(self) -> BoxFuture<'a, Result<(), JobError>> {
        match self.chain.split_first() {
            Some((first, rest)) => first.call_boxed(
                self.ctx,
                Next {
                    chain: rest,
                    ctx: self.ctx,
                    endpoint: self.endpoint,
                },
            ),
            None => self.endpoint.run(),
        }
    }
}

impl std::fmt::Debug for Next<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Next")
            .field("middleware_left", &self.chain.len())
            .finish_non_exhaustive()
    }
}

/// At most so many runs of a job type at once on this node: a run over the limit waits
/// for a slot (holding its worker, its lease renewed) until one is free or the run is
/// cancelled.
///
/// ```
/// use bgtasks_core::{ConcurrencyLimit, Runtime};
///
/// let runtime = Runtime::builder()
///     .middleware(ConcurrencyLimit::new().limit("export", 2))
///     .build();
/// # let _ = runtime;
/// ```
#[derive(Debug, Default, Clone)]
pub struct ConcurrencyLimit {
    limits: HashMap<String, Arc<Semaphore>>,
}

impl ConcurrencyLimit {
    /// No limits yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// At most `max` runs of `job_type` at once (at least one).
    #[must_use]
    pub fn limit(mut self, job_type: impl Into<String>, max: usize) -> Self {
        self.limits
            .insert(job_type.into(), Arc::new(Semaphore::new(max.max(1))));
        self
    }

    /// At most `max` runs of the typed job type `J` at once.
    #[must_use]
    pub fn limit_type<J: JobType>(self, max: usize) -> Self {
        self.limit(J::TYPE, max)
    }
}

impl RunMiddleware for ConcurrencyLimit {
    async fn call(&self, ctx: &JobRunnableContext, next: Next<'_>) -> Result<(), JobError> {
        let Some(slots) = self.limits.get(ctx.job_type()) else {
            return next.run().await;
        };
        let _slot = tokio::select! {
            slot = slots.acquire() => slot.map_err(|_| JobError::new("the concurrency limit was closed"))?,
            _ = ctx.cancellation().cancelled() => {
                return Err(JobError::new(format!(
                    "job `{}` was cancelled while it waited for a slot of job type `{}`",
                    ctx.job_id(),
                    ctx.job_type()
                )));
            }
        };
        next.run().await
    }
}
