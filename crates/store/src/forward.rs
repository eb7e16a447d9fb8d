//! Forwarding capabilities to an inner store, for wrappers that change only some of them
//! (a store that counts, times or fails calls, in tests or as instrumentation).

#[doc(hidden)]
pub mod __private {
    pub use bgtasks_abstractions::{JobInfo, RunLease};
    pub use std::time::Duration;
    pub use tokio::sync::Notify;

    /// A point in time, as the store contract writes it.
    pub type Time = chrono::DateTime<chrono::Utc>;
}

/// Implements the named capabilities for a wrapper type by forwarding every method to
/// the store the expression after `|this|` gives — anything that dereferences to a store
/// (an `Arc<S>` or `Box<S>` field, where `S` implements the capabilities or is
/// `dyn JobStore`) — so that a wrapper writes by hand only the capabilities it changes:
/// a store that counts, times or fails some calls, in tests or as instrumentation. The
/// impls it writes are plain `async fn`s; each calls the inner store through its
/// object-safe twin ([`DynJobRuns`](crate::DynJobRuns) and the others), so the same
/// wrapper fits a concrete store and an `Arc<dyn JobStore>`.
///
/// ```
/// use std::sync::Arc;
///
/// use bgtasks_store::JobStore;
///
/// /// A store that forwards everything to the store it wraps.
/// struct Wrapped<S: ?Sized> {
///     inner: Arc<S>,
/// }
///
/// bgtasks_store::forward_capabilities!(
///     impl[S: JobStore + ?Sized + 'static] Wrapped<S> => |this| this.inner;
///     JobDefinitions, JobRuns, JobControl, RunLogs, Maintenance, NodeRegistry,
///     JobStatistics, NotificationOutbox
/// );
///
/// /// Any store, wrapped, is a store — a shared one too.
/// fn wrap(inner: Arc<dyn JobStore>) -> Arc<dyn JobStore> {
///     Arc::new(Wrapped { inner })
/// }
/// ```
///
/// With `, bounded by PATH` after the inner expression, every async call goes through
/// `PATH(this, "method name", call)` (an async function returning the call's result), so
/// that a wrapper can time, count or bound every call in one place:
/// `forward_capabilities!(impl[] Timed => |this| this.inner, bounded by Timed::bound; …)`.
#[macro_export]
macro_rules! forward_capabilities {
    (impl $generics:tt $ty:ty => |$s:ident| $inner:expr, bounded by $bound:path; $($cap:ident),* $(,)?) => {
        $( $crate::forward_capabilities!(@$cap $generics $ty, $s, $inner, [$bound]); )*
    };
    (impl $generics:tt $ty:ty => |$s:ident| $inner:expr; $($cap:ident),* $(,)?) => {
        $( $crate::forward_capabilities!(@$cap $generics $ty, $s, $inner, []); )*
    };
    (@call [], $s:ident, $what:literal, $call:expr) => {
        $call.await
    };
    (@call [$bound:path], $s:ident, $what:literal, $call:expr) => {
        $bound($s, $what, $call).await
    };
    (@JobDefinitions [$($g:tt)*] $ty:ty, $s:ident, $inner:expr, $b:tt) => {
        impl<$($g)*> $crate::JobDefinitions for $ty {
            async fn insert(&self, jobs: &[$crate::__private::JobInfo]) -> Result<Vec<bool>, $crate::StoreError> {
                let $s = self; $crate::forward_capabilities!(@call $b, $s, "insert", $crate::DynJobDefinitions::insert(&*$inner, jobs))
            }
            async fn update(&self, id: &str, update: &$crate::DefinitionUpdate, expected_revision: Option<i64>, now: $crate::__private::Time) -> Result<$crate::Transition, $crate::StoreError> {
                let $s = self; $crate::forward_capabilities!(@call $b, $s, "update", $crate::DynJobDefinitions::update(&*$inner, id, update, expected_revision, now))
            }
            async fn remove(&self, id: &str, only: $crate::RemoveIf) -> Result<$crate::Transition, $crate::StoreError> {
                let $s = self; $crate::forward_capabilities!(@call $b, $s, "remove", $crate::DynJobDefinitions::remove(&*$inner, id, only))
            }
            async fn find(&self, id: &str) -> Result<Option<$crate::JobRecord>, $crate::StoreError> {
                let $s = self; $crate::forward_capabilities!(@call $b, $s, "find", $crate::DynJobDefinitions::find(&*$inner, id))
            }
            async fn list(&self, query: &$crate::JobQuery) -> Result<$crate::JobPage, $crate::StoreError> {
                let $s = self; $crate::forward_capabilities!(@call $b, $s, "list", $crate::DynJobDefinitions::list(&*$inner, query))
            }
            async fn list_waiting(&self, max: usize) -> Result<Vec<$crate::__private::JobInfo>, $crate::StoreError> {
                let $s = self; $crate::forward_capabilities!(@call $b, $s, "list_waiting", $crate::DynJobDefinitions::list_waiting(&*$inner, max))
            }
            async fn list_period(&self, max: usize) -> Result<Vec<$crate::__private::JobInfo>, $crate::StoreError> {
                let $s = self; $crate::forward_capabilities!(@call $b, $s, "list_period", $crate::DynJobDefinitions::list_period(&*$inner, max))
            }
            async fn list_running(&self, node: &str, max: usize) -> Result<Vec<$crate::__private::JobInfo>, $crate::StoreError> {
                let $s = self; $crate::forward_capabilities!(@call $b, $s, "list_running", $crate::DynJobDefinitions::list_running(&*$inner, node, max))
            }
        }
    };
    (@JobRuns [$($g:tt)*] $ty:ty, $s:ident, $inner:expr, $b:tt) => {
        impl<$($g)*> $crate::JobRuns for $ty {
            async fn claim(&self, request: &$crate::ClaimRequest<'_>) -> Result<Vec<$crate::ClaimedRun>, $crate::StoreError> {
                let $s = self; $crate::forward_capabilities!(@call $b, $s, "claim", $crate::DynJobRuns::claim(&*$inner, request))
            }
            async fn next_due_time(&self, node: &str, job_types: Option<&[String]>) -> Result<Option<$crate::__private::Time>, $crate::StoreError> {
                let $s = self; $crate::forward_capabilities!(@call $b, $s, "next_due_time", $crate::DynJobRuns::next_due_time(&*$inner, node, job_types))
            }
            async fn renew(&self, node: &str, leases: &[$crate::__private::RunLease], lease: std::time::Duration, now: $crate::__private::Time) -> Result<Vec<$crate::RenewOutcome>, $crate::StoreError> {
                let $s = self; $crate::forward_capabilities!(@call $b, $s, "renew", $crate::DynJobRuns::renew(&*$inner, node, leases, lease, now))
            }
            async fn complete(&self, runs: &[$crate::RunCompletion], logs: &[$crate::JobLog]) -> Result<Vec<$crate::CompletionOutcome>, $crate::StoreError> {
                let $s = self; $crate::forward_capabilities!(@call $b, $s, "complete", $crate::DynJobRuns::complete(&*$inner, runs, logs))
            }
            async fn give_back(&self, lease: &$crate::__private::RunLease, how: $crate::GiveBack) -> Result<$crate::CompletionOutcome, $crate::StoreError> {
                let $s = self; $crate::forward_capabilities!(@call $b, $s, "give_back", $crate::DynJobRuns::give_back(&*$inner, lease, how))
            }
            async fn give_back_many(&self, runs: &[($crate::__private::RunLease, $crate::GiveBack)]) -> Result<Vec<$crate::CompletionOutcome>, $crate::StoreError> {
                let $s = self; $crate::forward_capabilities!(@call $b, $s, "give_back_many", $crate::DynJobRuns::give_back_many(&*$inner, runs))
            }
            async fn rescue(&self, now: $crate::__private::Time) -> Result<Vec<$crate::Rescued>, $crate::StoreError> {
                let $s = self; $crate::forward_capabilities!(@call $b, $s, "rescue", $crate::DynJobRuns::rescue(&*$inner, now))
            }
            fn prefers_batched_writes(&self) -> bool {
                let $s = self; $crate::DynJobRuns::prefers_batched_writes(&*$inner)
            }
            fn backend_name(&self) -> &'static str {
                let $s = self; $crate::DynJobRuns::backend_name(&*$inner)
            }
            fn subscribe_due(&self) -> Option<std::sync::Arc<$crate::__private::Notify>> {
                let $s = self; $crate::DynJobRuns::subscribe_due(&*$inner)
            }
            fn subscribe_control(&self) -> Option<std::sync::Arc<$crate::__private::Notify>> {
                let $s = self; $crate::DynJobRuns::subscribe_control(&*$inner)
            }
        }
    };
    (@JobControl [$($g:tt)*] $ty:ty, $s:ident, $inner:expr, $b:tt) => {
        impl<$($g)*> $crate::JobControl for $ty {
            async fn pause(&self, id: &str) -> Result<$crate::Transition, $crate::StoreError> {
                let $s = self; $crate::forward_capabilities!(@call $b, $s, "pause", $crate::DynJobControl::pause(&*$inner, id))
            }
            async fn resume(&self, id: &str, now: $crate::__private::Time) -> Result<$crate::Transition, $crate::StoreError> {
                let $s = self; $crate::forward_capabilities!(@call $b, $s, "resume", $crate::DynJobControl::resume(&*$inner, id, now))
            }
            async fn trigger(&self, id: &str, now: $crate::__private::Time) -> Result<$crate::Transition, $crate::StoreError> {
                let $s = self; $crate::forward_capabilities!(@call $b, $s, "trigger", $crate::DynJobControl::trigger(&*$inner, id, now))
            }
            async fn stop(&self, id: &str) -> Result<$crate::Transition, $crate::StoreError> {
                let $s = self; $crate::forward_capabilities!(@call $b, $s, "stop", $crate::DynJobControl::stop(&*$inner, id))
            }
            async fn start(&self, id: &str, now: $crate::__private::Time) -> Result<$crate::Transition, $crate::StoreError> {
                let $s = self; $crate::forward_capabilities!(@call $b, $s, "start", $crate::DynJobControl::start(&*$inner, id, now))
            }
        }
    };
    (@RunLogs [$($g:tt)*] $ty:ty, $s:ident, $inner:expr, $b:tt) => {
        impl<$($g)*> $crate::RunLogs for $ty {
            async fn append_logs(&self, logs: &[$crate::JobLog]) -> Result<(), $crate::StoreError> {
                let $s = self; $crate::forward_capabilities!(@call $b, $s, "append_logs", $crate::DynRunLogs::append_logs(&*$inner, logs))
            }
            async fn query_logs(&self, query: &$crate::LogQuery) -> Result<$crate::LogPage, $crate::StoreError> {
                let $s = self; $crate::forward_capabilities!(@call $b, $s, "query_logs", $crate::DynRunLogs::query_logs(&*$inner, query))
            }
            async fn find_log(&self, id: i64) -> Result<Option<$crate::JobLogEntry>, $crate::StoreError> {
                let $s = self; $crate::forward_capabilities!(@call $b, $s, "find_log", $crate::DynRunLogs::find_log(&*$inner, id))
            }
            async fn remove_log(&self, id: i64) -> Result<bool, $crate::StoreError> {
                let $s = self; $crate::forward_capabilities!(@call $b, $s, "remove_log", $crate::DynRunLogs::remove_log(&*$inner, id))
            }
        }
    };
    (@Maintenance [$($g:tt)*] $ty:ty, $s:ident, $inner:expr, $b:tt) => {
        impl<$($g)*> $crate::Maintenance for $ty {
            async fn cleanup(&self, node: Option<&str>, expired_before: $crate::__private::Time, max: usize) -> Result<Vec<$crate::__private::JobInfo>, $crate::StoreError> {
                let $s = self; $crate::forward_capabilities!(@call $b, $s, "cleanup", $crate::DynMaintenance::cleanup(&*$inner, node, expired_before, max))
            }
            async fn publish_waiting(&self, node: &str, now: $crate::__private::Time, max: usize) -> Result<Vec<String>, $crate::StoreError> {
                let $s = self; $crate::forward_capabilities!(@call $b, $s, "publish_waiting", $crate::DynMaintenance::publish_waiting(&*$inner, node, now, max))
            }
            async fn stop_lost(&self, node: &str, max: usize) -> Result<Vec<String>, $crate::StoreError> {
                let $s = self; $crate::forward_capabilities!(@call $b, $s, "stop_lost", $crate::DynMaintenance::stop_lost(&*$inner, node, max))
            }
            async fn prune_logs(&self, retention: &$crate::LogRetention, now: $crate::__private::Time, max: usize) -> Result<u64, $crate::StoreError> {
                let $s = self; $crate::forward_capabilities!(@call $b, $s, "prune_logs", $crate::DynMaintenance::prune_logs(&*$inner, retention, now, max))
            }
        }
    };
    (@JobStatistics [$($g:tt)*] $ty:ty, $s:ident, $inner:expr, $b:tt) => {
        impl<$($g)*> $crate::JobStatistics for $ty {
            async fn counts(&self, now: $crate::__private::Time) -> Result<$crate::JobCounts, $crate::StoreError> {
                let $s = self; $crate::forward_capabilities!(@call $b, $s, "counts", $crate::DynJobStatistics::counts(&*$inner, now))
            }
            async fn run_history(&self, since: $crate::__private::Time, bucket: $crate::__private::Duration) -> Result<Vec<$crate::RunBucket>, $crate::StoreError> {
                let $s = self; $crate::forward_capabilities!(@call $b, $s, "run_history", $crate::DynJobStatistics::run_history(&*$inner, since, bucket))
            }
        }
    };
    (@NotificationOutbox [$($g:tt)*] $ty:ty, $s:ident, $inner:expr, $b:tt) => {
        impl<$($g)*> $crate::NotificationOutbox for $ty {
            async fn claim_notifications(&self, node: &str, now: $crate::__private::Time, limit: usize, lease: $crate::__private::Duration) -> Result<Vec<$crate::ClaimedNotification>, $crate::StoreError> {
                let $s = self; $crate::forward_capabilities!(@call $b, $s, "claim_notifications", $crate::DynNotificationOutbox::claim_notifications(&*$inner, node, now, limit, lease))
            }
            async fn record_delivery(&self, id: &str, token: i64, outcome: &$crate::DeliveryOutcome, now: $crate::__private::Time) -> Result<bool, $crate::StoreError> {
                let $s = self; $crate::forward_capabilities!(@call $b, $s, "record_delivery", $crate::DynNotificationOutbox::record_delivery(&*$inner, id, token, outcome, now))
            }
            async fn list_notifications(&self, query: &$crate::NotificationQuery) -> Result<$crate::NotificationPage, $crate::StoreError> {
                let $s = self; $crate::forward_capabilities!(@call $b, $s, "list_notifications", $crate::DynNotificationOutbox::list_notifications(&*$inner, query))
            }
            async fn prune_notifications(&self, before: $crate::__private::Time, max: usize) -> Result<u64, $crate::StoreError> {
                let $s = self; $crate::forward_capabilities!(@call $b, $s, "prune_notifications", $crate::DynNotificationOutbox::prune_notifications(&*$inner, before, max))
            }
        }
    };
    (@NodeRegistry [$($g:tt)*] $ty:ty, $s:ident, $inner:expr, $b:tt) => {
        impl<$($g)*> $crate::NodeRegistry for $ty {
            async fn heartbeat(&self, beat: &$crate::NodeHeartbeat) -> Result<(), $crate::StoreError> {
                let $s = self; $crate::forward_capabilities!(@call $b, $s, "heartbeat", $crate::DynNodeRegistry::heartbeat(&*$inner, beat))
            }
            async fn nodes(&self) -> Result<Vec<$crate::NodeRecord>, $crate::StoreError> {
                let $s = self; $crate::forward_capabilities!(@call $b, $s, "nodes", $crate::DynNodeRegistry::nodes(&*$inner))
            }
            async fn forget_node(&self, node: &str) -> Result<bool, $crate::StoreError> {
                let $s = self; $crate::forward_capabilities!(@call $b, $s, "forget_node", $crate::DynNodeRegistry::forget_node(&*$inner, node))
            }
            async fn orphaned(&self, now: $crate::__private::Time, live_since: $crate::__private::Time, max: usize) -> Result<Vec<$crate::__private::JobInfo>, $crate::StoreError> {
                let $s = self; $crate::forward_capabilities!(@call $b, $s, "orphaned", $crate::DynNodeRegistry::orphaned(&*$inner, now, live_since, max))
            }
        }
    };
}
