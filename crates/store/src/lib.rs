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
//! A store implements the first eight with plain `async fn`s (no macro, no dependency
//! beyond this crate); [`JobStore`] is their sum, which the runtime holds as
//! `Arc<dyn JobStore>`. Each trait has an object-safe twin ([`DynJobRuns`] for
//! [`JobRuns`], and so on) with the same methods returning boxed futures, which every
//! implementation is through a blanket impl: `JobStore` is made of the twins, so its
//! methods are called on `dyn JobStore` with nothing to import. A refused transition says why ([`Refusal`]): not found, lease
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

pub use self::control::{DynJobControl, JobControl};
pub use self::definitions::{DefinitionUpdate, DynJobDefinitions, JobDefinitions, RemoveIf};
pub use self::error::StoreError;
#[doc(hidden)]
pub use self::forward::__private;
pub use self::locks::{DynJobLockProvider, JobLockProvider};
pub use self::logs::{DynRunLogs, JobLog, JobLogEntry, LogPage, LogQuery, RunLogs};
pub use self::maintenance::{DynMaintenance, LogRetention, Maintenance};
pub use self::nodes::{DynNodeRegistry, NodeHeartbeat, NodeRecord, NodeRegistry};
pub use self::outbox::{
    ClaimedNotification, DeliveryOutcome, DynNotificationOutbox, NewNotification, NotificationKind,
    NotificationOutbox, NotificationPage, NotificationQuery, NotificationRecord, NotificationState,
};
pub use self::outcome::{
    CompletionOutcome, Refusal, RenewOutcome, Transition, active_status, describe_refusal,
};
pub use self::query::{JobPage, JobQuery, JobSort, JobSortField, MAX_PAGE_SIZE, TimeRange};
pub use self::record::{JobRecord, LeaseInfo};
pub use self::runs::{
    ClaimRequest, ClaimedRun, DynJobRuns, GiveBack, JobRuns, Rescued, RunCompletion,
};
pub use self::statistics::{DynJobStatistics, JobCounts, JobStatistics, RunBucket};

/// A whole job store: every capability, in its object-safe form. The runtime holds one
/// as `Arc<dyn JobStore>` and calls its methods there (no import needed: they are the
/// methods of the `Dyn…` twins). A type that implements the eight capability traits is
/// one; implement those, not this.
///
/// A store of your own writes each capability with plain `async fn`s (the futures must
/// be `Send`). Here one changes the operator's transitions and keeps everything else in
/// another store, which [`forward_capabilities!`] forwards to:
///
/// ```
/// use std::sync::Arc;
/// use std::sync::atomic::{AtomicU64, Ordering};
///
/// use bgtasks_store::{JobControl, JobStore, StoreError, Transition};
/// use chrono::{DateTime, Utc};
///
/// /// Counts the operator's transitions; keeps the jobs in `inner`.
/// struct Audited {
///     inner: Arc<dyn JobStore>,
///     transitions: AtomicU64,
/// }
///
/// impl Audited {
///     fn count(&self) {
///         self.transitions.fetch_add(1, Ordering::Relaxed);
///     }
/// }
///
/// impl JobControl for Audited {
///     async fn pause(&self, id: &str) -> Result<Transition, StoreError> {
///         self.count();
///         self.inner.pause(id).await
///     }
///
///     async fn resume(&self, id: &str, now: DateTime<Utc>) -> Result<Transition, StoreError> {
///         self.count();
///         self.inner.resume(id, now).await
///     }
///
///     async fn trigger(&self, id: &str, now: DateTime<Utc>) -> Result<Transition, StoreError> {
///         self.count();
///         self.inner.trigger(id, now).await
///     }
///
///     async fn stop(&self, id: &str) -> Result<Transition, StoreError> {
///         self.count();
///         self.inner.stop(id).await
///     }
///
///     async fn start(&self, id: &str, now: DateTime<Utc>) -> Result<Transition, StoreError> {
///         self.count();
///         self.inner.start(id, now).await
///     }
/// }
///
/// bgtasks_store::forward_capabilities!(
///     impl[] Audited => |this| this.inner;
///     JobDefinitions, JobRuns, RunLogs, Maintenance, NodeRegistry, JobStatistics,
///     NotificationOutbox
/// );
///
/// /// What a runtime is given: the audited store, as a whole store.
/// fn audited(inner: Arc<dyn JobStore>) -> Arc<dyn JobStore> {
///     Arc::new(Audited {
///         inner,
///         transitions: AtomicU64::new(0),
///     })
/// }
/// # let _: fn(Arc<dyn JobStore>) -> Arc<dyn JobStore> = audited;
/// ```
pub trait JobStore:
    DynJobDefinitions
    + DynJobRuns
    + DynJobControl
    + DynRunLogs
    + DynMaintenance
    + DynNodeRegistry
    + DynJobStatistics
    + DynNotificationOutbox
{
}

impl<T> JobStore for T where
    T: DynJobDefinitions
        + DynJobRuns
        + DynJobControl
        + DynRunLogs
        + DynMaintenance
        + DynNodeRegistry
        + DynJobStatistics
        + DynNotificationOutbox
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
        fn _definitions(_: Arc<dyn DynJobDefinitions>) {}
        fn _runs(_: Arc<dyn DynJobRuns>) {}
        fn _control(_: Arc<dyn DynJobControl>) {}
        fn _logs(_: Arc<dyn DynRunLogs>) {}
        fn _maintenance(_: Arc<dyn DynMaintenance>) {}
        fn _nodes(_: Arc<dyn DynNodeRegistry>) {}
        fn _statistics(_: Arc<dyn DynJobStatistics>) {}
        fn _outbox(_: Arc<dyn DynNotificationOutbox>) {}
        fn _locks(_: Arc<dyn DynJobLockProvider>) {}
        fn _upcast(store: Arc<dyn JobStore>) -> Arc<dyn DynJobControl> {
            store
        }
        assert_eq!(
            JobSortField::from_name("nextruntime"),
            Some(JobSortField::NextRunTime)
        );
    }

    /// One lock, written with plain `async fn`s.
    #[derive(Default)]
    struct OneLock(std::sync::Mutex<Option<String>>);

    impl JobLockProvider for OneLock {
        async fn try_lock(&self, key: &str, _seconds: i64) -> Result<bool, StoreError> {
            let mut held = self.0.lock().map_err(|_| StoreError::other("poisoned"))?;
            if held.is_some() {
                return Ok(false);
            }
            *held = Some(key.to_owned());
            Ok(true)
        }

        async fn release(&self, key: &str) -> Result<(), StoreError> {
            let mut held = self.0.lock().map_err(|_| StoreError::other("poisoned"))?;
            if held.as_deref() == Some(key) {
                *held = None;
            }
            Ok(())
        }
    }

    #[tokio::test]
    async fn a_native_implementation_is_called_through_its_twin() {
        // spec: R28
        let locks: Arc<dyn DynJobLockProvider> = Arc::new(OneLock::default());
        assert!(locks.try_lock("a", 10).await.unwrap());
        assert!(!locks.try_lock("b", 10).await.unwrap(), "the lock is held");
        locks.release("a").await.unwrap();
        let shared: Arc<dyn DynJobLockProvider> = Arc::new(Arc::new(OneLock::default()));
        assert!(
            shared.try_lock("b", 10).await.unwrap(),
            "an Arc of one is one"
        );
    }
}
