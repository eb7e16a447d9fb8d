//! The job model, events, failure types and traits of bgtasks.
//!
//! This crate holds what every part of the runtime agrees on and nothing that runs:
//! [`JobInfo`] and its status, priority and kind; the run's [`JobEventData`] and the
//! [`JobEventContext`] listeners receive; the [`JobEvent`] listener and [`JobRunnable`]
//! traits; [`JobExceptionType`] and the [`JobExceptionTypeFinder`] that classifies a
//! [`JobError`]; and the [`BackgroundTasksOptions`].
//!
//! ```
//! use bgtasks_abstractions::{DefaultJobExceptionTypeFinder, JobError, JobExceptionType, JobInfo};
//!
//! let job = JobInfo::period("nightly-report", "report", "0 0 2 * * ?").with_group("reports");
//! assert!(job.validate().is_ok());
//!
//! let finder = DefaultJobExceptionTypeFinder::default();
//! assert_eq!(finder.classify(&JobError::http(503, "upstream down")), JobExceptionType::NETWORK);
//! ```

mod action;
mod clock;
mod error;
mod event;
mod event_context;
mod event_data;
mod exception_type;
mod finder;
mod job;
mod job_args;
mod kind;
mod lease;
mod opt_outs;
mod options;
mod priority;
mod runnable;
mod schedule;
mod services;
mod status;
mod trace_parent;
mod typed;
mod validation;

pub use self::action::JobAction;
pub use self::clock::{Clock, SystemClock};
pub use self::error::{JobError, JobResultExt, codes};
pub use self::event::{BoxError, BoxFuture, DynJobEvent, JobEvent};
pub use self::event_context::JobEventContext;
pub use self::event_data::{Interruption, JobEventData};
pub use self::exception_type::JobExceptionType;
pub use self::finder::{DefaultJobExceptionTypeFinder, JobExceptionTypeFinder};
pub use self::job::{
    DEFAULT_GROUP, DEFAULT_INTERVAL_SECS, DEFAULT_MAX_TRY_COUNT, JobInfo, RemainingRuns,
};
pub use self::job_args::{JobArgs, NotAnObject, TENANT_ID_ARG};
pub use self::kind::{JobKind, JobSource};
pub use self::lease::RunLease;
pub use self::opt_outs::JobOptOuts;
pub use self::options::{
    BackgroundTasksOptions, CleaningOptions, MetricsOptions, RetentionOptions, SystemJobOptions,
};
pub use self::priority::{JobPriority, UnknownPriority};
pub use self::runnable::{
    DynJobRunnable, FnRunnable, JobCache, JobCaches, JobRunnable, JobRunnableContext,
    MAX_JOB_CACHES, job_fn,
};
pub use self::schedule::{CronError, CronSchedule, Tz, first_fire_time, next_fire_time_after_run};
pub use self::services::Services;
pub use self::status::{JobStatus, UnknownCode};
pub use self::trace_parent::{TRACE_PARENT_ARG, TraceParent, TraceParentError};
pub use self::typed::{EncodeError, IntoJobError, Job, JobContext, JobType, VALUE_ARG};
pub use self::validation::{
    JobDefinitionError, MAX_ACTIONS, MAX_ACTIONS_BYTES, MAX_ARGS_BYTES, MAX_COUNT, MAX_ID_CHARS,
    MAX_INTERVAL_SECS, MAX_LOCK_TIMEOUT_SECS, MAX_NAME_CHARS, MAX_TIME_LIMIT_SECS, MAX_TIME_SECS,
    MIN_TIME_SECS, time_in_range,
};

#[cfg(test)]
mod object_safety {
    use super::*;

    // spec: R23
    #[test]
    fn traits_held_as_arc_dyn_are_object_safe() {
        fn _finder(_: std::sync::Arc<dyn JobExceptionTypeFinder>) {}
        fn _event(_: std::sync::Arc<dyn DynJobEvent>) {}
        fn _runnable(_: std::sync::Arc<dyn DynJobRunnable>) {}
        fn _clock(_: std::sync::Arc<dyn Clock>) {}
        let clock: std::sync::Arc<dyn Clock> = std::sync::Arc::new(SystemClock);
        assert!(clock.now() > chrono::DateTime::<chrono::Utc>::UNIX_EPOCH);
    }
}
