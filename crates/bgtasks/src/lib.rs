#![doc = include_str!("../README.md")]
//!
//! ## Crates and features
//!
//! | crate | what | feature here |
//! |---|---|---|
//! | `bgtasks-abstractions` | job model, events, failure types, finder | always ([`abstractions`]) |
//! | `bgtasks-store` | the store contract: capability traits, transitions and their rules | always ([`store`]) |
//! | `bgtasks-core` | runtime, in-memory store, retry policies | always ([`core`]) |
//! | `bgtasks-actions` | job actions: notifications planned with each outcome, delivered from the store's outbox | `actions` |
//! | `bgtasks-exception-handling` | the failed-job e-mail (handlebars, fluent, lettre) | `exception-handling` |
//! | `bgtasks-sqlite` | the SQLite store: one machine, several processes | `sqlite` |
//! | `bgtasks-postgres` | the PostgreSQL store: many nodes | `postgres` |
//!
//! Every seam can be replaced on the builder: store, failure-type finder, retry policy,
//! lock provider, listeners, dispatcher and clock.

pub use bgtasks_abstractions as abstractions;
pub use bgtasks_core as core;
pub use bgtasks_store as store;

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
pub mod stores;

pub use bgtasks_abstractions::{
    BackgroundTasksOptions, BoxError, CronSchedule, DefaultJobExceptionTypeFinder, Interruption,
    JobArgs, JobError, JobEvent, JobEventContext, JobEventData, JobExceptionType,
    JobExceptionTypeFinder, JobInfo, JobKind, JobOptOuts, JobPriority, JobRunnable,
    JobRunnableContext, JobSource, JobStatus, job_fn,
};
pub use bgtasks_core::retry::{
    ExponentialRetryPolicy, FixedIntervalRetryPolicy, NoRetryPolicy, PerFailureTypeRetryPolicy,
    ReferenceRetryPolicy, RetryDecision, RetryPolicy,
};
pub use bgtasks_core::store::InMemoryJobStore;
pub use bgtasks_core::{
    BackgroundService, BuildError, HealthReport, JobDispatcher, JobLockProvider, JobScheduler,
    RunReport, RunState, Runtime, RuntimeBuilder, SchedulerError,
};
pub use bgtasks_store::{
    CompletionOutcome, DefinitionUpdate, JobControl, JobDefinitions, JobLog, JobLogEntry, JobPage,
    JobQuery, JobRecord, JobRuns, JobStore, LogQuery, Maintenance, NodeRegistry, Refusal, RemoveIf,
    RunLogs, StoreError, Transition,
};

/// The runtime, under the name a host reads best.
pub type BackgroundTasks = Runtime;

/// What most hosts need in scope.
pub mod prelude {
    pub use crate::{
        BackgroundTasks, JobControl, JobDefinitions, JobError, JobEvent, JobEventContext,
        JobExceptionType, JobInfo, JobKind, JobPriority, JobRunnable, JobRunnableContext, JobRuns,
        JobScheduler, JobStatus, Maintenance, NodeRegistry, RunLogs, job_fn,
    };
}
