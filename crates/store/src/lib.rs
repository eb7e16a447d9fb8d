//! The bgtasks store contract: what a job store does, as small traits by capability whose
//! every method is one atomic transition with its condition (R37).
//!
//! | trait | what it holds |
//! |---|---|
//! | [`JobDefinitions`] | insert, update (conditioned on the revision), remove, find, list with filters and paging |
//! | [`JobRuns`] | claim, renew, complete, give back, rescue — fenced by lease tokens unique for the store's lifetime (R38) |
//! | [`JobControl`] | pause, resume, trigger, stop, start |
//! | [`RunLogs`] | append, query, find, remove run logs |
//! | [`Maintenance`] | the system jobs' transitions: clean-up, polling, checking |
//! | [`NodeRegistry`] | heartbeats of the nodes and the job types they run; jobs nobody can run |
//! | [`JobStatistics`] | counts by status, type, group and node, the queue's lag, runs per minute by failure type |
//! | [`NotificationOutbox`] | notifications stored with the outcome that called for them, claimed and delivered with leases (R51) |
//! | [`JobLockProvider`] | exclusive job locks (R28), beside the jobs |
//!
//! A store implements the first eight; [`JobStore`] is their sum, which the runtime holds as
//! `Arc<dyn JobStore>`. A refused transition says why ([`Refusal`]): not found, lease
//! lost, or state changed (with the job as it is now) — it is never applied over a newer
//! state. [`rules`] states each transition as a function over a [`JobRecord`]; the
//! in-memory store applies them as they are, the durable stores in SQL, and the
//! conformance suite (`bgtasks-store-conformance`) checks every store against them.
//!
//! This crate depends on the job model (`bgtasks-abstractions`) and the `metrics` facade
//! only, so that a store of your own needs nothing of the runtime. [`metrics`] holds the
//! metric names the runtime and the stores' transactional enqueue share.
//!
//! ```
//! use bgtasks_abstractions::{JobInfo, JobStatus};
//! use bgtasks_store::{JobRecord, rules};
//!
//! let mut record = JobRecord::new(JobInfo::once("invoice-42", "send-invoice"));
//! record.job.status = JobStatus::Queuing;
//! assert!(rules::pause(&mut record));
//! assert!(!rules::pause(&mut record), "a paused job cannot be paused again");
//! ```

mod control;
mod definitions;
mod error;
mod forward;
mod locks;
mod logs;
mod maintenance;
pub mod metrics;
mod nodes;
mod outbox;
mod outcome;
mod query;
mod record;
pub mod rules;
mod runs;
mod statistics;

pub use self::control::JobControl;
pub use self::definitions::{DefinitionUpdate, JobDefinitions, RemoveIf};
pub use self::error::StoreError;
#[doc(hidden)]
pub use self::forward::__private;
pub use self::locks::JobLockProvider;
pub use self::logs::{JobLog, JobLogEntry, LogPage, LogQuery, RunLogs};
pub use self::maintenance::{LogRetention, Maintenance};
pub use self::nodes::{NodeHeartbeat, NodeRecord, NodeRegistry};
pub use self::outbox::{
    ClaimedNotification, DeliveryOutcome, NewNotification, NotificationKind, NotificationOutbox,
    NotificationPage, NotificationQuery, NotificationRecord, NotificationState,
};
pub use self::outcome::{
    CompletionOutcome, Refusal, RenewOutcome, Transition, active_status, describe_refusal,
};
pub use self::query::{JobPage, JobQuery, JobSort, JobSortField, MAX_PAGE_SIZE, TimeRange};
pub use self::record::{JobRecord, LeaseInfo};
pub use self::runs::{ClaimRequest, ClaimedRun, GiveBack, JobRuns, Rescued, RunCompletion};
pub use self::statistics::{JobCounts, JobStatistics, RunBucket};
/// The attribute the store traits are written with: a store implementation writes
/// `#[bgtasks::store::async_trait]` on its impls, with no dependency of its own.
pub use async_trait::async_trait;

/// A whole job store: every capability. Implemented for any type that has them all; the
/// runtime holds one as `Arc<dyn JobStore>`.
pub trait JobStore:
    JobDefinitions
    + JobRuns
    + JobControl
    + RunLogs
    + Maintenance
    + NodeRegistry
    + JobStatistics
    + NotificationOutbox
{
}

impl<T> JobStore for T where
    T: JobDefinitions
        + JobRuns
        + JobControl
        + RunLogs
        + Maintenance
        + NodeRegistry
        + JobStatistics
        + NotificationOutbox
        + ?Sized
{
}

#[cfg(test)]
mod object_safety {
    use std::sync::Arc;

    use super::*;

    // The runtime and the admin API hold stores as trait objects.
    #[test]
    fn every_capability_is_object_safe() {
        fn _store(_: Arc<dyn JobStore>) {}
        fn _definitions(_: Arc<dyn JobDefinitions>) {}
        fn _runs(_: Arc<dyn JobRuns>) {}
        fn _control(_: Arc<dyn JobControl>) {}
        fn _logs(_: Arc<dyn RunLogs>) {}
        fn _maintenance(_: Arc<dyn Maintenance>) {}
        fn _nodes(_: Arc<dyn NodeRegistry>) {}
        fn _statistics(_: Arc<dyn JobStatistics>) {}
        fn _outbox(_: Arc<dyn NotificationOutbox>) {}
        fn _upcast(store: Arc<dyn JobStore>) -> Arc<dyn JobControl> {
            store
        }
        assert_eq!(
            JobSortField::from_name("nextruntime"),
            Some(JobSortField::NextRunTime)
        );
    }
}
