//! What a listener receives (R8).

use std::sync::{Arc, Mutex, OnceLock, PoisonError};

use crate::event_data::{Interruption, JobEventData};
use crate::exception_type::JobExceptionType;
use crate::finder::{DefaultJobExceptionTypeFinder, JobExceptionTypeFinder};
use crate::job::JobInfo;
use crate::services::Services;

/// The context of a before- or after-executed event: the run's data, the failure-type
/// finder, and the runtime's services. Every listener of one event shares one context.
pub struct JobEventContext {
    data: JobEventData,
    services: Services,
    finder: Arc<dyn JobExceptionTypeFinder>,
    exception_type: OnceLock<Option<JobExceptionType>>,
    saved_job: Mutex<Option<JobInfo>>,
    recorded_interruption: OnceLock<Interruption>,
}

impl JobEventContext {
    /// A context for `data`.
    pub fn new(
        data: JobEventData,
        services: Services,
        finder: Arc<dyn JobExceptionTypeFinder>,
    ) -> Self {
        Self {
            data,
            services,
            finder,
            exception_type: OnceLock::new(),
            saved_job: Mutex::new(None),
            recorded_interruption: OnceLock::new(),
        }
    }

    /// A context with no services and the default finder, for tests of listeners.
    pub fn for_test(job: JobInfo, finder: Arc<dyn JobExceptionTypeFinder>) -> Self {
        let data = JobEventData::new(job, chrono::Utc::now(), "test");
        Self::new(data, Services::new(), finder)
    }

    /// A context for `data` with no services and the default finder.
    pub fn standalone(data: JobEventData) -> Self {
        Self::new(
            data,
            Services::new(),
            Arc::new(DefaultJobExceptionTypeFinder::default()),
        )
    }

    /// The run's data.
    pub fn data(&self) -> &JobEventData {
        &self.data
    }

    /// The runtime's services.
    pub fn services(&self) -> &Services {
        &self.services
    }

    /// The service of type `T`, e.g. `Arc<dyn JobStore>`.
    pub fn service<T: Send + Sync + 'static>(&self) -> Option<&T> {
        self.services.get::<T>()
    }

    /// The configured failure-type finder.
    pub fn finder(&self) -> &Arc<dyn JobExceptionTypeFinder> {
        &self.finder
    }

    /// The failure type of the run's error, found once by the configured finder;
    /// `None` when the run did not fail.
    pub fn exception_type(&self) -> Option<JobExceptionType> {
        *self.exception_type.get_or_init(|| {
            self.data
                .error
                .as_ref()
                .map(|error| self.finder.find(self, error))
        })
    }

    /// Records the job as the executed event saved it, so that the runtime and later
    /// observers see the state this run produced.
    pub fn record_saved_job(&self, job: JobInfo) {
        *self
            .saved_job
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = Some(job);
    }

    /// The job as the executed event saved it, if it did.
    pub fn saved_job(&self) -> Option<JobInfo> {
        self.saved_job
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// Takes the saved job out of the context.
    pub fn take_saved_job(&self) -> Option<JobInfo> {
        self.saved_job
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take()
    }

    /// Records that the store did not take the run's outcome: it took the run as
    /// interrupted (its job was paused or stopped while it ran, R39), or the run's lease
    /// was lost, or its job removed.
    pub fn record_interruption(&self, why: Interruption) {
        let _ = self.recorded_interruption.set(why);
    }

    /// The interruption the store recorded for the run, if it did.
    pub fn recorded_interruption(&self) -> Option<Interruption> {
        self.recorded_interruption.get().copied()
    }

    /// Gives back the run's data, consuming the context.
    pub fn into_data(self) -> JobEventData {
        self.data
    }
}

impl std::fmt::Debug for JobEventContext {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JobEventContext")
            .field("job", &self.data.key())
            .field("failed", &self.data.failed())
            .finish()
    }
}
