//! The runtime: claims due runs from the store and runs them on a bounded pool of workers.

mod builder;
mod control;
mod health;
mod leases;
mod lifecycle;
mod local_queue;
mod middleware;
mod probes;
mod report;
mod retention;
mod run_loop;
mod running;
mod services;
mod validation;
mod watchdog;
mod worker;

use std::fmt;
use std::sync::{Arc, Mutex, Weak};

use bgtasks_abstractions::{
    BackgroundTasksOptions, BoxFuture, Clock, JobCaches, JobExceptionTypeFinder, JobInfo, Services,
};
use tokio::sync::{Notify, Semaphore, broadcast, watch};
use tokio::task::JoinHandle;
use tokio_util::task::TaskTracker;

use crate::dispatcher::DynJobDispatcher;
use crate::events::JobEventTrigger;
use crate::registry::JobRunnableRegistry;
use crate::scheduler::{JobScheduler, SchedulerError};
use crate::store::{DefinitionUpdate, DynJobLockProvider, JobStore, Transition};

pub use self::builder::{BuildError, RuntimeBuilder};
pub use self::health::{HealthReport, LoopHealth, NodeLoop};
use self::local_queue::LocalQueue;
pub use self::middleware::{ConcurrencyLimit, Next, RunMiddleware};
pub use self::probes::{Probe, ProbeCheck};
pub use self::report::RunReport;
use self::running::RunningRuns;
pub use self::services::{BackgroundService, DynBackgroundService, ServiceContext};

/// Where the runtime is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RunState {
    /// Built or stopped: takes no new runs.
    Stopped,
    /// Taking runs.
    Started,
    /// Shutting down: takes no new runs and will not start again.
    ShuttingDown,
}

/// A running bgtasks node. Cheap to clone; every clone drives the same node. Queue jobs
/// and control them through the [`JobScheduler`] methods.
#[derive(Clone)]
pub struct Runtime {
    inner: Arc<RuntimeInner>,
}

pub(crate) struct RuntimeInner {
    pub(crate) options: BackgroundTasksOptions,
    pub(crate) store: Arc<dyn JobStore>,
    pub(crate) registry: JobRunnableRegistry,
    /// The job types this node claims (R41): the registered ones.
    pub(crate) job_types: Vec<String>,
    pub(crate) trigger: JobEventTrigger,
    pub(crate) finder: Arc<dyn JobExceptionTypeFinder>,
    pub(crate) locks: Arc<dyn DynJobLockProvider>,
    pub(crate) dispatcher: Arc<dyn DynJobDispatcher>,
    pub(crate) clock: Arc<dyn Clock>,
    pub(crate) services: Services,
    pub(crate) queue: LocalQueue,
    pub(crate) writer: crate::store::RunWriter,
    pub(crate) wake: Notify,
    pub(crate) store_signal: Option<Arc<Notify>>,
    /// Fired by the store when a running job is paused, stopped or removed.
    pub(crate) control_signal: Option<Arc<Notify>>,
    /// Held by the claim loop while a claim is in flight, so that stop and shutdown give
    /// back what it claimed (R47).
    pub(crate) claiming: tokio::sync::Mutex<()>,
    /// When this runtime was built (reported in its heartbeats).
    pub(crate) started_at: chrono::DateTime<chrono::Utc>,
    /// When each background loop last iterated, and whether the store answered.
    pub(crate) health: health::Health,
    pub(crate) running: RunningRuns,
    pub(crate) caches: Arc<JobCaches>,
    pub(crate) state: watch::Sender<RunState>,
    pub(crate) background: Mutex<Vec<JoinHandle<()>>>,
    /// The loops of the background services: at shutdown, an iteration in flight (a
    /// notification being delivered) may finish within the grace.
    pub(crate) service_loops: Mutex<Vec<JoinHandle<()>>>,
    /// The workers and the completions of their runs; shutdown waits for both.
    pub(crate) workers: TaskTracker,
    /// Bounds the runs whose outcome is being saved after their runnable returned.
    pub(crate) completing: Arc<Semaphore>,
    pub(crate) reports: broadcast::Sender<RunReport>,
    pub(crate) system_jobs: Vec<JobInfo>,
    /// Loops that run beside the node's own while it is started.
    pub(crate) background_services: Vec<Arc<dyn DynBackgroundService>>,
    /// What wraps every run, outermost first.
    pub(crate) middleware: Vec<Arc<dyn middleware::ErasedMiddleware>>,
}

impl Runtime {
    /// A builder with the defaults: in-memory store, the reference retry ladder, the
    /// default finder, the executed and log events.
    pub fn builder() -> RuntimeBuilder {
        RuntimeBuilder::new()
    }

    /// Receives a [`RunReport`] after every run on this node. Reports are dropped for a
    /// receiver that falls more than 1024 behind.
    pub fn subscribe(&self) -> broadcast::Receiver<RunReport> {
        self.inner.reports.subscribe()
    }

    /// The store.
    pub fn store(&self) -> &Arc<dyn JobStore> {
        &self.inner.store
    }

    /// The options.
    pub fn options(&self) -> &BackgroundTasksOptions {
        &self.inner.options
    }

    /// This node's name.
    pub fn node_name(&self) -> &str {
        &self.inner.options.node_name
    }

    /// The clock.
    pub fn clock(&self) -> &Arc<dyn Clock> {
        &self.inner.clock
    }

    /// The failure-type finder.
    pub fn finder(&self) -> &Arc<dyn JobExceptionTypeFinder> {
        &self.inner.finder
    }

    /// The services listeners and runnables see.
    pub fn services(&self) -> &Services {
        &self.inner.services
    }

    /// Where the runtime is in its life.
    pub fn state(&self) -> RunState {
        *self.inner.state.borrow()
    }

    /// The job types this node runs (the registered ones, system jobs included), sorted.
    pub fn job_types(&self) -> &[String] {
        &self.inner.job_types
    }

    /// How many runs are in flight on this node.
    pub fn running_count(&self) -> usize {
        self.inner.running.len()
    }

    /// Waits until the run logs queued so far are written (durable stores write them in
    /// batches after the runs they describe).
    pub async fn flush_logs(&self) {
        self.inner.writer.flush().await;
    }

    /// The node's health: when each background loop last completed an iteration, how
    /// often one panicked (and was survived), and whether the store answers (R42).
    pub fn health(&self) -> HealthReport {
        self.inner.health_report()
    }

    /// Queues a typed job (R48): set its options on the builder this returns, then
    /// `.await` it for a [`JobHandle`](crate::typed::JobHandle).
    pub fn enqueue<J: bgtasks_abstractions::JobType>(
        &self,
        value: J,
    ) -> crate::typed::Enqueue<'_, J> {
        crate::typed::Enqueue::new(self, value)
    }

    /// Declares a recurring job under `key` (R50): inserted, updated (counters and
    /// history kept) or left unchanged, as the returned future says.
    pub fn schedule<J: bgtasks_abstractions::JobType>(
        &self,
        key: impl Into<String>,
        value: J,
        schedule: crate::typed::Schedule,
    ) -> crate::typed::ScheduleJob<'_, J> {
        crate::typed::ScheduleJob::new(self, key.into(), value, schedule)
    }

    /// Removes job `id` if `only` allows it in its current state (the reference's admin
    /// removes Stopped jobs only); a run of it on this node is interrupted at once, on
    /// other nodes at their next renewal.
    pub async fn remove_if(
        &self,
        id: &str,
        only: crate::store::RemoveIf,
    ) -> Result<Transition, SchedulerError> {
        self.inner.remove_if(id, only).await
    }

    /// Makes stored job `id` due now (once more after a run in flight); unlike
    /// [`JobScheduler::trigger`], a job that is not stored is refused, never queued again.
    pub async fn trigger_stored(&self, id: &str) -> Result<Transition, SchedulerError> {
        self.inner.trigger_stored(id).await
    }

    /// `job` validated and prepared as `queue` stores it (status, first due time).
    pub(crate) fn prepared(&self, mut job: JobInfo) -> Result<JobInfo, SchedulerError> {
        let schedule = job.validate()?;
        self.inner.prepare(&mut job, schedule.as_ref());
        Ok(job)
    }

    /// A scheduler handle that does not keep the runtime alive.
    pub fn scheduler_handle(&self) -> Arc<dyn JobScheduler> {
        Arc::new(WeakScheduler(Arc::downgrade(&self.inner)))
    }
}

impl RuntimeInner {
    pub(crate) fn health_report(&self) -> HealthReport {
        self.health.report(
            self.node(),
            *self.state.borrow() == RunState::Started,
            self.running.len(),
        )
    }

    pub(crate) fn node(&self) -> &str {
        &self.options.node_name
    }

    pub(crate) fn drop_cache(&self, id: &str) {
        self.caches.remove(id);
    }

    pub(crate) fn is_shutting_down(&self) -> bool {
        *self.state.borrow() == RunState::ShuttingDown
    }
}

impl fmt::Debug for Runtime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Runtime")
            .field("node", &self.node_name())
            .field("state", &self.state())
            .field("running", &self.running_count())
            .finish()
    }
}

/// The scheduler as a service: holds the runtime weakly so that services do not keep it
/// alive.
struct WeakScheduler(Weak<RuntimeInner>);

impl WeakScheduler {
    fn inner(&self) -> Result<Arc<RuntimeInner>, SchedulerError> {
        self.0.upgrade().ok_or(SchedulerError::ShutDown)
    }
}

/// Forwards every scheduler operation to the runtime `$inner` gives.
macro_rules! forward_scheduler {
    ($ty:ty, |$this:ident| $inner:expr) => {
        impl JobScheduler for $ty {
            fn queue(&self, job: JobInfo) -> BoxFuture<'_, Result<bool, SchedulerError>> {
                let $this = self;
                Box::pin(async move { $inner.queue(job).await })
            }
            fn queue_many(
                &self,
                jobs: Vec<JobInfo>,
            ) -> BoxFuture<'_, Result<Vec<bool>, SchedulerError>> {
                let $this = self;
                Box::pin(async move { $inner.queue_many(jobs).await })
            }
            fn exists<'a>(&'a self, id: &'a str) -> BoxFuture<'a, Result<bool, SchedulerError>> {
                let $this = self;
                Box::pin(async move { $inner.exists(id).await })
            }
            fn trigger(&self, job: JobInfo) -> BoxFuture<'_, Result<Transition, SchedulerError>> {
                let $this = self;
                Box::pin(async move { $inner.trigger(job).await })
            }
            fn pause<'a>(
                &'a self,
                id: &'a str,
            ) -> BoxFuture<'a, Result<Transition, SchedulerError>> {
                let $this = self;
                Box::pin(async move { $inner.pause(id).await })
            }
            fn resume<'a>(
                &'a self,
                id: &'a str,
            ) -> BoxFuture<'a, Result<Transition, SchedulerError>> {
                let $this = self;
                Box::pin(async move { $inner.resume(id).await })
            }
            fn remove<'a>(
                &'a self,
                id: &'a str,
            ) -> BoxFuture<'a, Result<Transition, SchedulerError>> {
                let $this = self;
                Box::pin(async move { $inner.remove(id).await })
            }
            fn stop_job<'a>(
                &'a self,
                id: &'a str,
            ) -> BoxFuture<'a, Result<Transition, SchedulerError>> {
                let $this = self;
                Box::pin(async move { $inner.stop_job(id).await })
            }
            fn start_job<'a>(
                &'a self,
                id: &'a str,
            ) -> BoxFuture<'a, Result<Transition, SchedulerError>> {
                let $this = self;
                Box::pin(async move { $inner.start_job(id).await })
            }
            fn update<'a>(
                &'a self,
                id: &'a str,
                update: DefinitionUpdate,
                expected_revision: Option<i64>,
            ) -> BoxFuture<'a, Result<Transition, SchedulerError>> {
                let $this = self;
                Box::pin(async move { $inner.update(id, update, expected_revision).await })
            }
            fn start(&self) -> BoxFuture<'_, Result<(), SchedulerError>> {
                let $this = self;
                Box::pin(async move { RuntimeInner::start(&$inner).await })
            }
            fn stop(&self) -> BoxFuture<'_, Result<(), SchedulerError>> {
                let $this = self;
                Box::pin(async move { $inner.stop().await })
            }
            fn shutdown(&self) -> BoxFuture<'_, Result<(), SchedulerError>> {
                let $this = self;
                Box::pin(async move { $inner.shutdown().await })
            }
        }
    };
}

forward_scheduler!(WeakScheduler, |this| this.inner()?);
forward_scheduler!(Runtime, |this| this.inner);
