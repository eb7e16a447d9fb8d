//! Wiring a runtime: every part has a default and every part can be replaced.

use std::sync::{Arc, Mutex};

use bgtasks_abstractions::{
    BackgroundTasksOptions, Clock, DefaultJobExceptionTypeFinder, DynJobEvent, DynJobRunnable,
    JobExceptionTypeFinder, JobRunnable, Services, SystemClock,
};
use tokio::sync::{Notify, Semaphore, broadcast, watch};
use tokio_util::task::TaskTracker;

use super::local_queue::LocalQueue;
use super::running::RunningRuns;
pub use super::validation::BuildError;
use super::validation::validate;
use super::{DynBackgroundService, RunState, Runtime, RuntimeInner};
use crate::dispatcher::{DynJobDispatcher, StoreJobDispatcher};
use crate::events::{
    JobEventTrigger, JobExecutedEvent, JobLogEvent, NotificationPlanner, StaticJobEventProvider,
};
use crate::lock::InMemoryJobLockProvider;
use crate::registry::JobRunnableRegistry;
use crate::retry::{ReferenceRetryPolicy, RetryPolicy};
use crate::scheduler::JobScheduler;
use crate::store::{DynJobLockProvider, InMemoryJobStore, JobStore, RunWriter, TimedStore};
use crate::system_jobs::{
    CHECKING_JOB_TYPE, CLEANING_JOB_TYPE, JobCleaner, JobPoller, JobStateChecker, POLLING_JOB_TYPE,
    system_jobs,
};

/// Builds a [`Runtime`]. Defaults: the in-memory store, the default failure-type finder
/// (with the options' error-code map), the reference retry ladder capped at the options'
/// max retry interval, in-memory locks, the store dispatcher, the system clock, and the
/// executed and log events.
#[must_use]
pub struct RuntimeBuilder {
    options: BackgroundTasksOptions,
    store: Option<Arc<dyn JobStore>>,
    finder: Option<Arc<dyn JobExceptionTypeFinder>>,
    retry_policy: Option<Arc<dyn RetryPolicy>>,
    locks: Option<Arc<dyn DynJobLockProvider>>,
    dispatcher: Option<Arc<dyn DynJobDispatcher>>,
    clock: Option<Arc<dyn Clock>>,
    executed_event: ExecutedEventChoice,
    log_event: bool,
    listeners: Vec<Arc<dyn DynJobEvent>>,
    registry: JobRunnableRegistry,
    services: Services,
    background_services: Vec<Arc<dyn DynBackgroundService>>,
    planner: Option<Arc<dyn NotificationPlanner>>,
    middleware: Vec<Arc<dyn super::middleware::ErasedMiddleware>>,
}

enum ExecutedEventChoice {
    Default,
    Custom(Arc<dyn DynJobEvent>),
    None,
}

impl Default for RuntimeBuilder {
    fn default() -> Self {
        Self::new()
    }
}

impl RuntimeBuilder {
    /// A builder with every default.
    pub fn new() -> Self {
        Self {
            options: BackgroundTasksOptions::default(),
            store: None,
            finder: None,
            retry_policy: None,
            locks: None,
            dispatcher: None,
            clock: None,
            executed_event: ExecutedEventChoice::Default,
            log_event: true,
            listeners: Vec::new(),
            registry: JobRunnableRegistry::new(),
            services: Services::new(),
            background_services: Vec::new(),
            planner: None,
            middleware: Vec::new(),
        }
    }

    /// Replaces all options.
    pub fn options(mut self, options: BackgroundTasksOptions) -> Self {
        self.options = options;
        self
    }

    /// Changes some options in place.
    pub fn configure(mut self, f: impl FnOnce(&mut BackgroundTasksOptions)) -> Self {
        f(&mut self.options);
        self
    }

    /// Sets this node's name.
    pub fn node_name(mut self, name: impl Into<String>) -> Self {
        self.options.node_name = name.into();
        self
    }

    /// Sets how many runs execute at once.
    pub fn workers(mut self, workers: usize) -> Self {
        self.options.workers = workers;
        self
    }

    /// Uses this store.
    pub fn store(mut self, store: Arc<dyn JobStore>) -> Self {
        self.store = Some(store);
        self
    }

    /// Uses this failure-type finder.
    pub fn finder(mut self, finder: Arc<dyn JobExceptionTypeFinder>) -> Self {
        self.finder = Some(finder);
        self
    }

    /// Uses this retry policy.
    pub fn retry_policy(mut self, policy: Arc<dyn RetryPolicy>) -> Self {
        self.retry_policy = Some(policy);
        self
    }

    /// Uses this lock provider.
    pub fn lock_provider(mut self, locks: Arc<dyn DynJobLockProvider>) -> Self {
        self.locks = Some(locks);
        self
    }

    /// Uses this dispatcher for jobs pinned to other nodes.
    pub fn dispatcher(mut self, dispatcher: Arc<dyn DynJobDispatcher>) -> Self {
        self.dispatcher = Some(dispatcher);
        self
    }

    /// Uses this clock (tests use [`TokioClock`](crate::clock::TokioClock)).
    pub fn clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = Some(clock);
        self
    }

    /// Replaces the executed event (the listener that saves each run's outcome).
    pub fn executed_event(mut self, listener: Arc<dyn DynJobEvent>) -> Self {
        self.executed_event = ExecutedEventChoice::Custom(listener);
        self
    }

    /// Runs without an executed event: run outcomes change no job state.
    pub fn without_executed_event(mut self) -> Self {
        self.executed_event = ExecutedEventChoice::None;
        self
    }

    /// Runs without the log event: no run logs are written.
    pub fn without_log_event(mut self) -> Self {
        self.log_event = false;
        self
    }

    /// Adds a listener.
    pub fn listener(mut self, listener: Arc<dyn DynJobEvent>) -> Self {
        self.listeners.push(listener);
        self
    }

    /// Registers the runnable of a job type.
    pub fn runnable(
        mut self,
        job_type: impl Into<String>,
        runnable: impl JobRunnable + 'static,
    ) -> Self {
        self.registry.register(job_type, Arc::new(runnable));
        self
    }

    /// Registers the runnable of a job type, shared.
    pub fn runnable_arc(
        mut self,
        job_type: impl Into<String>,
        runnable: Arc<dyn DynJobRunnable>,
    ) -> Self {
        self.registry.register(job_type, runnable);
        self
    }

    /// Registers a typed job type that runs itself (R48): its runs decode their
    /// arguments into `J` and call [`Job::run`](bgtasks_abstractions::Job::run).
    pub fn register<J: bgtasks_abstractions::Job>(mut self) -> Self {
        self.registry
            .register(J::TYPE, Arc::new(crate::typed::TypedRunnable::<J>::new()));
        self
    }

    /// Registers a typed job type handled by `handler`, a function of the job's value and
    /// its context returning `Result<(), JobError>` (or `anyhow::Result<()>` with the
    /// `anyhow` feature).
    pub fn register_fn<J, F, Fut, E>(mut self, handler: F) -> Self
    where
        J: bgtasks_abstractions::JobType,
        F: Fn(J, bgtasks_abstractions::JobContext) -> Fut + Send + Sync + 'static,
        Fut: std::future::Future<Output = Result<(), E>> + Send + 'static,
        E: bgtasks_abstractions::IntoJobError + 'static,
    {
        self.registry.register(
            J::TYPE,
            Arc::new(crate::typed::FnTypedRunnable::<J, F>::new(handler)),
        );
        self
    }

    /// Wraps every run of this node in `middleware` (the first added is the outermost).
    pub fn middleware(mut self, middleware: impl super::RunMiddleware) -> Self {
        self.middleware.push(Arc::new(middleware));
        self
    }

    /// Gives runs the host's shared state (a pool, a client, the app's state), which
    /// they read with `ctx.state::<T>()`.
    pub fn state<T: Send + Sync + 'static>(mut self, state: T) -> Self {
        self.services.insert(state);
        self
    }

    /// Adds a service listeners and runnables can find by type.
    pub fn service<T: Send + Sync + 'static>(mut self, service: T) -> Self {
        self.services.insert(service);
        self
    }

    /// Runs `service` beside the node's own loops while the runtime is started,
    /// supervised like them and reported in its health under the service's name.
    pub fn background_service(mut self, service: Arc<dyn DynBackgroundService>) -> Self {
        self.background_services.push(service);
        self
    }

    /// Asks `planner`, when each run's outcome is known, which notifications it calls
    /// for; they are saved with the outcome, atomically (R51). Applies to the default
    /// executed event.
    pub fn notification_planner(mut self, planner: Arc<dyn NotificationPlanner>) -> Self {
        self.planner = Some(planner);
        self
    }

    /// The store this builder will use, creating the default in-memory store if none
    /// was set, so that other parts (a notification delivery loop) can share it. The
    /// runtime bounds its own calls with the options' `store_timeout`; wrap this handle in
    /// a [`TimedStore`] to bound yours.
    pub fn store_handle(&mut self) -> Arc<dyn JobStore> {
        self.store
            .get_or_insert_with(|| Arc::new(InMemoryJobStore::new()))
            .clone()
    }

    /// The clock this builder will use (the system clock unless one was set).
    pub fn clock_handle(&mut self) -> Arc<dyn Clock> {
        self.clock
            .get_or_insert_with(|| Arc::new(SystemClock))
            .clone()
    }

    /// The finder this builder will use, creating the default if none was set.
    pub fn finder_handle(&mut self) -> Arc<dyn JobExceptionTypeFinder> {
        let map = self.options.error_code_map.clone();
        self.finder
            .get_or_insert_with(|| Arc::new(DefaultJobExceptionTypeFinder::new(map)))
            .clone()
    }

    /// The options so far.
    pub fn current_options(&self) -> &BackgroundTasksOptions {
        &self.options
    }

    /// Checks the options and wires the runtime. Call [`start`](JobScheduler::start) on
    /// it to begin taking runs.
    pub fn build(mut self) -> Result<Runtime, BuildError> {
        validate(&self.options)?;
        let store: Arc<dyn JobStore> = Arc::new(TimedStore::new(
            self.store_handle(),
            self.options.store_timeout,
        ));
        let clock = self.clock_handle();
        let finder = self.finder_handle();
        let options = self.options;
        let policy = self
            .retry_policy
            .unwrap_or_else(|| Arc::new(ReferenceRetryPolicy::new(options.max_retry_interval)));
        let locks = self
            .locks
            .unwrap_or_else(|| Arc::new(InMemoryJobLockProvider::new(clock.clone())));
        let dispatcher = self
            .dispatcher
            .unwrap_or_else(|| Arc::new(StoreJobDispatcher));
        let writer = RunWriter::new(store.clone());
        let state_listener: Option<Arc<dyn DynJobEvent>> = match self.executed_event {
            ExecutedEventChoice::Default => {
                let mut event = JobExecutedEvent::new(store.clone(), policy, clock.clone())
                    .with_writer(writer.clone())
                    .with_save_retry(save_retry_window(&options))
                    .with_result_max_chars(options.result_max_chars);
                if let Some(planner) = self.planner {
                    event = event.with_planner(planner);
                }
                Some(Arc::new(event))
            }
            ExecutedEventChoice::Custom(listener) => Some(listener),
            ExecutedEventChoice::None => None,
        };
        let mut listeners = Vec::new();
        if self.log_event {
            listeners.push(Arc::new(
                JobLogEvent::new(
                    store.clone(),
                    options.log_message_max_chars,
                    options.log_error_max_chars,
                )
                .with_writer(writer.clone()),
            ) as Arc<dyn DynJobEvent>);
        }
        listeners.extend(self.listeners);
        let trigger = JobEventTrigger::new(
            state_listener,
            Arc::new(StaticJobEventProvider::new(listeners)),
            options.listener_timeout,
        );
        let store_signal = store.subscribe_due();
        let control_signal = store.subscribe_control();
        let started_at = clock.now();
        let mut background_services = self.background_services;
        if options.retention.enabled {
            background_services.push(Arc::new(super::retention::Retention::new(
                store.clone(),
                options.retention.clone(),
            )));
        }
        if options.metrics.store_gauges {
            background_services.push(Arc::new(crate::metrics::StoreGauges::new(
                store.clone(),
                locks.clone(),
                options.metrics.store_gauge_interval,
            )));
        }
        let mut registry = self.registry;
        let mut services = self.services;
        let inner = Arc::new_cyclic(|weak| {
            registry.register(
                POLLING_JOB_TYPE,
                Arc::new(JobPoller {
                    runtime: weak.clone(),
                }),
            );
            registry.register(
                CHECKING_JOB_TYPE,
                Arc::new(JobStateChecker {
                    runtime: weak.clone(),
                }),
            );
            registry.register(
                CLEANING_JOB_TYPE,
                Arc::new(JobCleaner {
                    runtime: weak.clone(),
                }),
            );

            let job_types: Vec<String> = registry
                .job_types()
                .into_iter()
                .map(str::to_owned)
                .collect();
            // At zero before the first scrape (again at start, for a recorder installed
            // after the build).
            crate::metrics::announce(&job_types);
            services.insert(store.clone());
            services.insert(clock.clone());
            services.insert(finder.clone());
            services.insert(Arc::new(super::WeakScheduler(weak.clone())) as Arc<dyn JobScheduler>);
            // Runs whose runnable returned and whose outcome is being saved: bounded,
            // so a slow store slows the workers down.
            let completing = super::run_loop::completing_bound(&options);
            RuntimeInner {
                system_jobs: system_jobs(&options),
                writer,
                queue: LocalQueue::new(options.workers, options.prefetch),
                options,
                store,
                registry,
                job_types,
                trigger,
                finder,
                locks,
                dispatcher,
                clock,
                services,
                wake: Notify::new(),
                store_signal,
                control_signal,
                claiming: tokio::sync::Mutex::new(()),
                started_at,
                health: super::health::Health::new(
                    background_services.iter().map(|s| s.name().to_owned()),
                ),
                background_services,
                middleware: self.middleware,
                running: RunningRuns::default(),
                caches: Arc::default(),
                state: watch::channel(RunState::Stopped).0,
                background: Mutex::new(Vec::new()),
                service_loops: Mutex::new(Vec::new()),
                workers: TaskTracker::new(),
                completing: Arc::new(Semaphore::new(completing)),
                reports: broadcast::channel(1024).0,
            }
        });
        Ok(Runtime { inner })
    }
}

/// How long the executed event retries saving a run while the store is unavailable:
/// 30 s, or less than half of the listener timeout, which bounds the whole event.
fn save_retry_window(options: &BackgroundTasksOptions) -> std::time::Duration {
    (options.listener_timeout / 2).min(std::time::Duration::from_secs(30))
}
