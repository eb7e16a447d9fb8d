#![doc = include_str!("../README.md")]
//!
//! ## Crates and features
//!
//! | crate | what | feature here |
//! |---|---|---|
//! | `bgtasks-abstractions` | job model, typed jobs, events, failure types, finder | always ([`abstractions`]) |
//! | `bgtasks-store` | the store contract: capability traits, transitions and their rules | always ([`store`]) |
//! | `bgtasks-core` | runtime, typed enqueue and schedules, middleware, in-memory store, retry policies | always ([`runtime`]) |
//! | `bgtasks-actions` | job actions: notifications planned with each outcome, delivered from the store's outbox | `actions` (default) |
//! | `bgtasks-exception-handling` | the failed-job e-mail (handlebars, fluent, lettre) | `exception-handling` (default) |
//! | `bgtasks-webhook` | the webhook alert: generic JSON, Slack, WeCom and DingTalk robots | `webhook` |
//! | `bgtasks-sqlite` | the SQLite store: one machine, several processes | `sqlite` (default) |
//! | `bgtasks-postgres` | the PostgreSQL store: many nodes | `postgres` |
//!
//! Every name a host needs is at the root of this crate and in its [`prelude`]; the
//! sub-crates are there for the rest. Every seam can be replaced on the builder: store,
//! failure-type finder, retry policy, lock provider, listeners, middleware, dispatcher and
//! clock.

pub use bgtasks_abstractions as abstractions;
pub use bgtasks_core as runtime;
pub use bgtasks_store as store;
/// The time types the API uses.
pub use chrono;

/// Job actions (feature `actions`).
#[cfg(feature = "actions")]
pub use bgtasks_actions as actions;
/// The failed-job e-mail notifier (feature `exception-handling`).
#[cfg(feature = "exception-handling")]
pub use bgtasks_exception_handling as exception_handling;
#[cfg(feature = "exception-handling")]
pub mod notifications;
/// The PostgreSQL store (feature `postgres`).
#[cfg(feature = "postgres")]
pub use bgtasks_postgres as postgres;
/// The SQLite store (feature `sqlite`).
#[cfg(feature = "sqlite")]
pub use bgtasks_sqlite as sqlite;
/// The webhook notifier (feature `webhook`).
#[cfg(feature = "webhook")]
pub use bgtasks_webhook as webhook;
pub mod prelude;
#[cfg(doctest)]
mod readme;
pub mod stores;

pub use bgtasks_abstractions::{
    BackgroundTasksOptions, BoxError, BoxFuture, Clock, CronError, CronSchedule,
    DefaultJobExceptionTypeFinder, DynJobEvent, DynJobRunnable, Interruption, IntoJobError, Job,
    JobAction, JobArgs, JobContext, JobError, JobEvent, JobEventContext, JobEventData,
    JobExceptionType, JobExceptionTypeFinder, JobInfo, JobKind, JobOptOuts, JobPriority,
    JobResultExt, JobRunnable, JobRunnableContext, JobSource, JobStatus, JobType, RetentionOptions,
    SystemClock, Tz, codes, job_fn,
};
pub use bgtasks_core::clock::TokioClock;
pub use bgtasks_core::retry::{
    ExponentialRetryPolicy, FixedIntervalRetryPolicy, NoRetryPolicy, PerFailureTypeRetryPolicy,
    ReferenceRetryPolicy, RetryDecision, RetryPolicy,
};
pub use bgtasks_core::store::{InMemoryJobStore, TimedStore};
pub use bgtasks_core::typed::{
    Enqueue, EnqueueError, Enqueued, JobHandle, OutcomeError, Schedule, ScheduleJob, Scheduled,
    UniquePolicy,
};
pub use bgtasks_core::{
    BackgroundService, BuildError, ConcurrencyLimit, DynBackgroundService, DynJobDispatcher,
    DynJobLockProvider, HealthReport, JobDispatcher, JobLockProvider, JobScheduler, LoopHealth,
    Next, NodeLoop, RunMiddleware, RunReport, RunState, Runtime, RuntimeBuilder, SchedulerError,
    ServiceContext,
};
pub use bgtasks_store::{
    CompletionOutcome, DefinitionUpdate, DynJobControl, DynJobDefinitions, DynJobRuns,
    DynJobStatistics, DynMaintenance, DynNodeRegistry, DynNotificationOutbox, DynRunLogs,
    JobControl, JobDefinitions, JobLog, JobLogEntry, JobPage, JobQuery, JobRecord, JobRuns,
    JobStatistics, JobStore, LogQuery, Maintenance, NodeRegistry, NotificationOutbox, Refusal,
    RemoveIf, RunLogs, StoreError, Transition,
};
/// Receives a [`RunReport`] after every run (`Runtime::subscribe`).
pub use tokio::sync::broadcast::Receiver as RunReports;

#[cfg(feature = "actions")]
pub use bgtasks_actions::{
    DeliveryError, DeliveryOptions, DynJobActionNotifier, JobActionDefinition,
    JobActionDefinitionManager, JobActionExecuteContext, JobActionNotifier, JobActionType,
    JobActionsExt, NotificationKind, NotifyPolicy, Throttle,
};
#[cfg(feature = "exception-handling")]
pub use bgtasks_exception_handling::{
    DynMailTransport, FailureEmail, FileMailTransport, InMemoryMailTransport,
    JOB_EXECUTED_FAILED_ACTION, JobExecutedFailedDefinitionProvider, JobExecutedFailedNotifier,
    MailTransport, SmtpMailTransport,
};

/// The runtime, under the name a host reads best.
pub type BackgroundTasks = Runtime;
