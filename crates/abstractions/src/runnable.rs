//! The code that runs a job (R7).

use std::collections::HashMap;
use std::fmt;
use std::future::Future;
use std::marker::PhantomData;
use std::sync::{Arc, Mutex, OnceLock, PoisonError};

use chrono::{DateTime, Utc};
use serde::de::DeserializeOwned;
use serde_json::Value;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use crate::error::JobError;
use crate::event::BoxFuture;
use crate::job_args::JobArgs;
use crate::opt_outs::JobOptOuts;
use crate::services::Services;

/// Code that runs jobs of one type (the reference's `IJobRunnable`), under a job type's
/// name. Implement [`execute`](Self::execute) as a plain `async fn`:
///
/// ```
/// use bgtasks_abstractions::{JobError, JobRunnable, JobRunnableContext};
///
/// struct Cleanup;
///
/// impl JobRunnable for Cleanup {
///     async fn execute(&self, context: &JobRunnableContext) -> Result<(), JobError> {
///         let days: u32 = context.get("days")?;
///         println!("removing files older than {days} days");
///         Ok(())
///     }
/// }
/// ```
///
/// Typed jobs (`Job`) need none of this: they are registered by type. The runtime holds
/// runnables as [`DynJobRunnable`], which every `JobRunnable` is.
pub trait JobRunnable: Send + Sync {
    /// Runs the job once. Return an error to fail the run; the failure-type finder decides
    /// what it means. Long work should watch [`JobRunnableContext::cancellation`].
    fn execute(
        &self,
        context: &JobRunnableContext,
    ) -> impl Future<Output = Result<(), JobError>> + Send;

    /// What this job type opts out of (R11). Nothing, by default.
    fn opt_outs(&self) -> JobOptOuts {
        JobOptOuts::default()
    }

    /// The longest one run of this job type may take (R44); a job's own
    /// [`time_limit`](crate::JobInfo::time_limit) overrides it. None, by default.
    fn time_limit(&self) -> Option<std::time::Duration> {
        None
    }
}

/// The object-safe form of [`JobRunnable`], which the runtime keeps in
/// `Arc<dyn DynJobRunnable>`. Every `JobRunnable` is one; implement `JobRunnable`, not this.
pub trait DynJobRunnable: Send + Sync {
    /// See [`JobRunnable::execute`].
    fn execute<'a>(
        &'a self,
        context: &'a JobRunnableContext,
    ) -> BoxFuture<'a, Result<(), JobError>>;
    /// See [`JobRunnable::opt_outs`].
    fn opt_outs(&self) -> JobOptOuts;
    /// See [`JobRunnable::time_limit`].
    fn time_limit(&self) -> Option<std::time::Duration>;
}

impl<T: JobRunnable> DynJobRunnable for T {
    fn execute<'a>(
        &'a self,
        context: &'a JobRunnableContext,
    ) -> BoxFuture<'a, Result<(), JobError>> {
        Box::pin(JobRunnable::execute(self, context))
    }

    fn opt_outs(&self) -> JobOptOuts {
        JobRunnable::opt_outs(self)
    }

    fn time_limit(&self) -> Option<std::time::Duration> {
        JobRunnable::time_limit(self)
    }
}

/// A cache shared by the runs of one job on this node. It lives while the job does, at
/// most: it goes when the job finishes or is removed, and a node that holds the caches of
/// [`MAX_JOB_CACHES`] jobs drops one to make room (R46), so treat it as a cache — a value
/// may be gone on the next run.
#[derive(Clone, Default)]
pub struct JobCache {
    entries: Arc<Mutex<HashMap<String, Value>>>,
}

impl JobCache {
    /// The cached value under `key`.
    pub fn get(&self, key: &str) -> Option<Value> {
        self.entries
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(key)
            .cloned()
    }

    /// Stores `value` under `key`, returning the previous value.
    pub fn set(&self, key: impl Into<String>, value: impl Into<Value>) -> Option<Value> {
        self.entries
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(key.into(), value.into())
    }

    /// Removes the value under `key`.
    pub fn remove(&self, key: &str) -> Option<Value> {
        self.entries
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(key)
    }
}

/// The most jobs whose caches one node keeps (R46: no in-memory structure grows with the
/// number of jobs ever seen).
pub const MAX_JOB_CACHES: usize = 4096;

/// The per-job caches of one node, by job id. A job's cache is made the first time one of
/// its runs asks for it, so jobs that never use theirs cost nothing here. At most
/// [`MAX_JOB_CACHES`] are kept.
#[derive(Default)]
pub struct JobCaches {
    caches: Mutex<HashMap<String, JobCache>>,
}

impl JobCaches {
    /// The cache of job `id`, made if it has none yet.
    pub fn cache(&self, id: &str) -> JobCache {
        let mut caches = self.caches.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(cache) = caches.get(id) {
            return cache.clone();
        }
        if caches.len() >= MAX_JOB_CACHES
            && let Some(evicted) = caches.keys().next().cloned()
        {
            caches.remove(&evicted);
        }
        caches.entry(id.to_owned()).or_default().clone()
    }

    /// Forgets the cache of job `id` (the job is gone).
    pub fn remove(&self, id: &str) {
        self.caches
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(id);
    }

    /// How many jobs have a cache.
    pub fn len(&self) -> usize {
        self.caches
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .len()
    }

    /// Whether no job has a cache.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl fmt::Debug for JobCaches {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JobCaches")
            .field("jobs", &self.len())
            .finish()
    }
}

/// Where a run's cache comes from: given, or looked up in the node's caches on first use.
#[derive(Clone, Debug)]
enum CacheSlot {
    Given(JobCache),
    Lazy {
        caches: Arc<JobCaches>,
        cache: OnceLock<JobCache>,
    },
}

impl fmt::Debug for JobCache {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JobCache").finish_non_exhaustive()
    }
}

/// What a runnable receives: the job's arguments with read helpers, a cancellation
/// signal, a way to set the run's result, a per-job cache and the runtime's services.
/// Cheap to clone.
#[derive(Clone, Debug)]
pub struct JobRunnableContext {
    job_id: Arc<str>,
    job_type: Arc<str>,
    args: Arc<JobArgs>,
    tenant_id: Option<Uuid>,
    run_time: DateTime<Utc>,
    trigger_count: i32,
    cancellation: CancellationToken,
    result: Arc<Mutex<Option<String>>>,
    cache: CacheSlot,
    services: Services,
}

impl JobRunnableContext {
    /// A context for one run. The runtime builds these; tests of runnables can too.
    pub fn new(job_id: &str, job_type: &str, args: JobArgs) -> Self {
        Self {
            job_id: job_id.into(),
            job_type: job_type.into(),
            tenant_id: args.tenant_id(),
            args: Arc::new(args),
            run_time: Utc::now(),
            trigger_count: 0,
            cancellation: CancellationToken::new(),
            result: Arc::new(Mutex::new(None)),
            cache: CacheSlot::Given(JobCache::default()),
            services: Services::new(),
        }
    }

    /// Sets the tenant (the job's own tenant wins over the `TenantId` argument).
    pub fn with_tenant(mut self, tenant_id: Option<Uuid>) -> Self {
        if tenant_id.is_some() {
            self.tenant_id = tenant_id;
        }
        self
    }

    /// Sets the run time and how many times the job ran before.
    pub fn with_run(mut self, run_time: DateTime<Utc>, trigger_count: i32) -> Self {
        self.run_time = run_time;
        self.trigger_count = trigger_count;
        self
    }

    /// Sets the cancellation signal.
    pub fn with_cancellation(mut self, cancellation: CancellationToken) -> Self {
        self.cancellation = cancellation;
        self
    }

    /// Sets the per-job cache.
    pub fn with_cache(mut self, cache: JobCache) -> Self {
        self.cache = CacheSlot::Given(cache);
        self
    }

    /// Takes the per-job cache from `caches` (the node's), the first time the runnable
    /// asks for it.
    pub fn with_caches(mut self, caches: Arc<JobCaches>) -> Self {
        self.cache = CacheSlot::Lazy {
            caches,
            cache: OnceLock::new(),
        };
        self
    }

    /// Sets the services.
    pub fn with_services(mut self, services: Services) -> Self {
        self.services = services;
        self
    }

    /// The job id.
    pub fn job_id(&self) -> &str {
        &self.job_id
    }

    /// The job type.
    pub fn job_type(&self) -> &str {
        &self.job_type
    }

    /// All arguments.
    pub fn args(&self) -> &JobArgs {
        &self.args
    }

    /// A required argument as text; missing is an error naming the key.
    pub fn get_str(&self, key: &str) -> Result<String, JobError> {
        self.args.get_str(key)
    }

    /// A required argument of type `T`; missing or malformed is an error naming the key.
    pub fn get<T: DeserializeOwned>(&self, key: &str) -> Result<T, JobError> {
        self.args.get_as(key)
    }

    /// An optional argument of type `T`, or `default`.
    pub fn get_or<T: DeserializeOwned>(&self, key: &str, default: T) -> Result<T, JobError> {
        self.args.get_or(key, default)
    }

    /// The tenant: the job's, else the `TenantId` argument.
    pub fn tenant_id(&self) -> Option<Uuid> {
        self.tenant_id
    }

    /// When this run started.
    pub fn run_time(&self) -> DateTime<Utc> {
        self.run_time
    }

    /// How many times the job ran before this run.
    pub fn trigger_count(&self) -> i32 {
        self.trigger_count
    }

    /// Fires when the run should stop: the job was paused or removed, or the runtime is
    /// shutting down.
    pub fn cancellation(&self) -> &CancellationToken {
        &self.cancellation
    }

    /// Whether the run was asked to stop.
    pub fn is_cancelled(&self) -> bool {
        self.cancellation.is_cancelled()
    }

    /// Sets the run's result (stored on the job and in its run log).
    pub fn set_result(&self, result: impl Into<String>) {
        *self.result.lock().unwrap_or_else(PoisonError::into_inner) = Some(result.into());
    }

    /// The result set so far.
    pub fn result(&self) -> Option<String> {
        self.result
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// The per-job cache.
    pub fn cache(&self) -> &JobCache {
        match &self.cache {
            CacheSlot::Given(cache) => cache,
            CacheSlot::Lazy { caches, cache } => cache.get_or_init(|| caches.cache(&self.job_id)),
        }
    }

    /// The runtime's services.
    pub fn services(&self) -> &Services {
        &self.services
    }

    /// The host's shared state of type `T` (a pool, a client, the app's state), given to
    /// the builder with `RuntimeBuilder::state` as a `T` or an `Arc<T>`; an error naming
    /// the type when none was.
    pub fn state<T: Send + Sync + 'static>(&self) -> Result<&T, JobError> {
        let shared = || self.services.get::<Arc<T>>().map(AsRef::as_ref);
        self.services.get::<T>().or_else(shared).ok_or_else(|| {
            JobError::new(format!(
                "job `{}` asks for state of type `{}`, which the runtime was not given \
                 (RuntimeBuilder::state)",
                self.job_id,
                std::any::type_name::<T>()
            ))
        })
    }
}

/// A runnable made from an async function of the context, so that simple job types need
/// no struct: `job_fn(|ctx| async move { ... Ok(()) })`.
pub fn job_fn<F, Fut>(f: F) -> FnRunnable<F, Fut>
where
    F: Fn(JobRunnableContext) -> Fut + Send + Sync,
    Fut: Future<Output = Result<(), JobError>> + Send,
{
    FnRunnable {
        f,
        opt_outs: JobOptOuts::default(),
        _future: PhantomData,
    }
}

/// A runnable made from a function; see [`job_fn`].
pub struct FnRunnable<F, Fut> {
    f: F,
    opt_outs: JobOptOuts,
    _future: PhantomData<fn() -> Fut>,
}

impl<F, Fut> FnRunnable<F, Fut> {
    /// Sets what this job type opts out of.
    pub fn with_opt_outs(mut self, opt_outs: JobOptOuts) -> Self {
        self.opt_outs = opt_outs;
        self
    }
}

impl<F, Fut> JobRunnable for FnRunnable<F, Fut>
where
    F: Fn(JobRunnableContext) -> Fut + Send + Sync,
    Fut: Future<Output = Result<(), JobError>> + Send,
{
    fn execute(
        &self,
        context: &JobRunnableContext,
    ) -> impl Future<Output = Result<(), JobError>> + Send {
        (self.f)(context.clone())
    }

    fn opt_outs(&self) -> JobOptOuts {
        self.opt_outs
    }
}

impl<T: JobRunnable> JobRunnable for Arc<T> {
    fn execute(
        &self,
        context: &JobRunnableContext,
    ) -> impl Future<Output = Result<(), JobError>> + Send {
        (**self).execute(context)
    }

    fn opt_outs(&self) -> JobOptOuts {
        (**self).opt_outs()
    }

    fn time_limit(&self) -> Option<std::time::Duration> {
        (**self).time_limit()
    }
}

#[cfg(test)]
mod tests {

    #[test]
    fn the_caches_of_a_node_are_bounded() {
        // spec: R46
        let caches = JobCaches::default();
        for n in 0..MAX_JOB_CACHES + 100 {
            caches.cache(&format!("job-{n}")).set("k", n);
        }
        assert_eq!(caches.len(), MAX_JOB_CACHES);
        let last = format!("job-{}", MAX_JOB_CACHES + 99);
        assert_eq!(
            caches.cache(&last).get("k"),
            Some((MAX_JOB_CACHES + 99).into())
        );
        caches.remove(&last);
        assert_eq!(caches.len(), MAX_JOB_CACHES - 1);
    }
    use super::*;

    #[tokio::test]
    async fn context_helpers_and_fn_runnables() {
        // spec: R7
        let tenant = Uuid::new_v4();
        let args = JobArgs::new()
            .with("n", 2)
            .with("TenantId", tenant.to_string());
        let ctx = JobRunnableContext::new("j", "t", args);
        assert_eq!(ctx.tenant_id(), Some(tenant));
        let runnable = job_fn(|ctx: JobRunnableContext| async move {
            let n: i64 = ctx.get("n")?;
            ctx.cache().set("seen", n);
            ctx.set_result(format!("doubled {}", n * 2));
            let _missing: String = ctx.get_str("url")?;
            Ok(())
        });
        let dynamic: Arc<dyn DynJobRunnable> = Arc::new(runnable);
        let err = dynamic.execute(&ctx).await.unwrap_err();
        assert_eq!(err.to_string(), "missing required argument `url`");
        assert_eq!(ctx.result().as_deref(), Some("doubled 4"));
        assert_eq!(ctx.cache().get("seen"), Some(Value::from(2)));
        assert!(!ctx.is_cancelled());
        ctx.cancellation().cancel();
        assert!(ctx.is_cancelled());
    }

    #[test]
    fn a_lazy_cache_is_made_on_first_use_and_shared_by_the_job() {
        let caches = Arc::new(JobCaches::default());
        let first = JobRunnableContext::new("j", "t", JobArgs::new()).with_caches(caches.clone());
        assert!(caches.is_empty(), "no cache before a run asks for one");
        first.cache().set("k", 1);
        let second = JobRunnableContext::new("j", "t", JobArgs::new()).with_caches(caches.clone());
        assert_eq!(second.cache().get("k"), Some(Value::from(1)));
        let other = JobRunnableContext::new("o", "t", JobArgs::new()).with_caches(caches.clone());
        assert_eq!(other.cache().get("k"), None);
        assert_eq!(caches.len(), 2);
        caches.remove("j");
        let third = JobRunnableContext::new("j", "t", JobArgs::new()).with_caches(caches);
        assert_eq!(third.cache().get("k"), None);
    }
}
