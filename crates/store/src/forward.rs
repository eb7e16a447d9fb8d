//! Forwarding capabilities to an inner store, for wrappers that change only some of them
//! (a store that counts, times or fails calls, in tests or as instrumentation).

#[doc(hidden)]
pub mod __private {
    pub use async_trait::async_trait;
    pub use bgtasks_abstractions::{JobInfo, RunLease};
    pub use std::time::Duration;
    pub use tokio::sync::Notify;

    /// A point in time, as the store contract writes it.
    pub type Time = chrono::DateTime<chrono::Utc>;
}

/// Implements the named capabilities for a wrapper type by forwarding every method to
/// the store the expression after `|this|` gives (anything that dereferences to a store,
/// e.g. an `Arc<S>` field), so that a wrapper writes by hand only the capabilities it
/// changes — a store that counts, times or fails some calls, in tests or as
/// instrumentation.
///
/// ```
/// use std::sync::Arc;
///
/// use bgtasks_store::JobStore;
///
/// /// A store that forwards everything to the store it wraps.
/// struct Wrapped<S> {
///     inner: Arc<S>,
/// }
///
/// bgtasks_store::forward_capabilities!(
///     impl[S: JobStore + 'static] Wrapped<S> => |this| this.inner;
///     JobDefinitions, JobRuns, JobControl, RunLogs, Maintenance, NodeRegistry,
///     JobStatistics, NotificationOutbox
/// );
///
/// /// Any store, wrapped, is a store.
/// fn wrap<S: JobStore + 'static>(inner: Arc<S>) -> Arc<dyn JobStore> {
///     Arc::new(Wrapped { inner })
/// }
/// ```
#[macro_export]
macro_rules! forward_capabilities {
    (impl $generics:tt $ty:ty => |$s:ident| $inner:expr; $($cap:ident),* $(,)?) => {
        $( $crate::forward_capabilities!(@$cap $generics $ty, $s, $inner); )*
    };
    (@JobDefinitions [$($g:tt)*] $ty:ty, $s:ident, $inner:expr) => {
        #[$crate::__private::async_trait]
        impl<$($g)*> $crate::JobDefinitions for $ty {
            async fn insert(&self, jobs: &[$crate::__private::JobInfo]) -> Result<Vec<bool>, $crate::StoreError> {
                let $s = self; $inner.insert(jobs).await
            }
            async fn update(&self, id: &str, update: &$crate::DefinitionUpdate, expected_revision: Option<i64>, now: $crate::__private::Time) -> Result<$crate::Transition, $crate::StoreError> {
                let $s = self; $inner.update(id, update, expected_revision, now).await
            }
            async fn remove(&self, id: &str, only: $crate::RemoveIf) -> Result<$crate::Transition, $crate::StoreError> {
                let $s = self; $inner.remove(id, only).await
            }
            async fn find(&self, id: &str) -> Result<Option<$crate::JobRecord>, $crate::StoreError> {
                let $s = self; $inner.find(id).await
            }
            async fn list(&self, query: &$crate::JobQuery) -> Result<$crate::JobPage, $crate::StoreError> {
                let $s = self; $inner.list(query).await
            }
            async fn list_waiting(&self, max: usize) -> Result<Vec<$crate::__private::JobInfo>, $crate::StoreError> {
                let $s = self; $inner.list_waiting(max).await
            }
            async fn list_period(&self, max: usize) -> Result<Vec<$crate::__private::JobInfo>, $crate::StoreError> {
                let $s = self; $inner.list_period(max).await
            }
            async fn list_running(&self, node: &str, max: usize) -> Result<Vec<$crate::__private::JobInfo>, $crate::StoreError> {
                let $s = self; $inner.list_running(node, max).await
            }
        }
    };
    (@JobRuns [$($g:tt)*] $ty:ty, $s:ident, $inner:expr) => {
        #[$crate::__private::async_trait]
        impl<$($g)*> $crate::JobRuns for $ty {
            async fn claim(&self, request: &$crate::ClaimRequest<'_>) -> Result<Vec<$crate::ClaimedRun>, $crate::StoreError> {
                let $s = self; $inner.claim(request).await
            }
            async fn next_due_time(&self, node: &str, job_types: Option<&[String]>) -> Result<Option<$crate::__private::Time>, $crate::StoreError> {
                let $s = self; $inner.next_due_time(node, job_types).await
            }
            async fn renew(&self, node: &str, leases: &[$crate::__private::RunLease], lease: std::time::Duration, now: $crate::__private::Time) -> Result<Vec<$crate::RenewOutcome>, $crate::StoreError> {
                let $s = self; $inner.renew(node, leases, lease, now).await
            }
            async fn complete(&self, runs: &[$crate::RunCompletion], logs: &[$crate::JobLog]) -> Result<Vec<$crate::CompletionOutcome>, $crate::StoreError> {
                let $s = self; $inner.complete(runs, logs).await
            }
            async fn give_back(&self, lease: &$crate::__private::RunLease, how: $crate::GiveBack) -> Result<$crate::CompletionOutcome, $crate::StoreError> {
                let $s = self; $inner.give_back(lease, how).await
            }
            async fn rescue(&self, now: $crate::__private::Time) -> Result<Vec<$crate::Rescued>, $crate::StoreError> {
                let $s = self; $inner.rescue(now).await
            }
            fn prefers_batched_writes(&self) -> bool {
                let $s = self; $inner.prefers_batched_writes()
            }
            fn subscribe_due(&self) -> Option<std::sync::Arc<$crate::__private::Notify>> {
                let $s = self; $inner.subscribe_due()
            }
            fn subscribe_control(&self) -> Option<std::sync::Arc<$crate::__private::Notify>> {
                let $s = self; $inner.subscribe_control()
            }
        }
    };
    (@JobControl [$($g:tt)*] $ty:ty, $s:ident, $inner:expr) => {
        #[$crate::__private::async_trait]
        impl<$($g)*> $crate::JobControl for $ty {
            async fn pause(&self, id: &str) -> Result<$crate::Transition, $crate::StoreError> {
                let $s = self; $inner.pause(id).await
            }
            async fn resume(&self, id: &str, now: $crate::__private::Time) -> Result<$crate::Transition, $crate::StoreError> {
                let $s = self; $inner.resume(id, now).await
            }
            async fn trigger(&self, id: &str, now: $crate::__private::Time) -> Result<$crate::Transition, $crate::StoreError> {
                let $s = self; $inner.trigger(id, now).await
            }
            async fn stop(&self, id: &str) -> Result<$crate::Transition, $crate::StoreError> {
                let $s = self; $inner.stop(id).await
            }
            async fn start(&self, id: &str, now: $crate::__private::Time) -> Result<$crate::Transition, $crate::StoreError> {
                let $s = self; $inner.start(id, now).await
            }
        }
    };
    (@RunLogs [$($g:tt)*] $ty:ty, $s:ident, $inner:expr) => {
        #[$crate::__private::async_trait]
        impl<$($g)*> $crate::RunLogs for $ty {
            async fn append_logs(&self, logs: &[$crate::JobLog]) -> Result<(), $crate::StoreError> {
                let $s = self; $inner.append_logs(logs).await
            }
            async fn query_logs(&self, query: &$crate::LogQuery) -> Result<$crate::LogPage, $crate::StoreError> {
                let $s = self; $inner.query_logs(query).await
            }
            async fn find_log(&self, id: i64) -> Result<Option<$crate::JobLogEntry>, $crate::StoreError> {
                let $s = self; $inner.find_log(id).await
            }
            async fn remove_log(&self, id: i64) -> Result<bool, $crate::StoreError> {
                let $s = self; $inner.remove_log(id).await
            }
        }
    };
    (@Maintenance [$($g:tt)*] $ty:ty, $s:ident, $inner:expr) => {
        #[$crate::__private::async_trait]
        impl<$($g)*> $crate::Maintenance for $ty {
            async fn cleanup(&self, node: Option<&str>, expired_before: $crate::__private::Time, max: usize) -> Result<Vec<$crate::__private::JobInfo>, $crate::StoreError> {
                let $s = self; $inner.cleanup(node, expired_before, max).await
            }
            async fn publish_waiting(&self, node: &str, now: $crate::__private::Time, max: usize) -> Result<Vec<String>, $crate::StoreError> {
                let $s = self; $inner.publish_waiting(node, now, max).await
            }
            async fn stop_lost(&self, node: &str, max: usize) -> Result<Vec<String>, $crate::StoreError> {
                let $s = self; $inner.stop_lost(node, max).await
            }
            async fn prune_logs(&self, retention: &$crate::LogRetention, now: $crate::__private::Time, max: usize) -> Result<u64, $crate::StoreError> {
                let $s = self; $inner.prune_logs(retention, now, max).await
            }
        }
    };
    (@JobStatistics [$($g:tt)*] $ty:ty, $s:ident, $inner:expr) => {
        #[$crate::__private::async_trait]
        impl<$($g)*> $crate::JobStatistics for $ty {
            async fn counts(&self, now: $crate::__private::Time) -> Result<$crate::JobCounts, $crate::StoreError> {
                let $s = self; $inner.counts(now).await
            }
            async fn run_history(&self, since: $crate::__private::Time, bucket: $crate::__private::Duration) -> Result<Vec<$crate::RunBucket>, $crate::StoreError> {
                let $s = self; $inner.run_history(since, bucket).await
            }
        }
    };
    (@NotificationOutbox [$($g:tt)*] $ty:ty, $s:ident, $inner:expr) => {
        #[$crate::__private::async_trait]
        impl<$($g)*> $crate::NotificationOutbox for $ty {
            async fn claim_notifications(&self, node: &str, now: $crate::__private::Time, limit: usize, lease: $crate::__private::Duration) -> Result<Vec<$crate::ClaimedNotification>, $crate::StoreError> {
                let $s = self; $inner.claim_notifications(node, now, limit, lease).await
            }
            async fn record_delivery(&self, id: &str, token: i64, outcome: &$crate::DeliveryOutcome, now: $crate::__private::Time) -> Result<bool, $crate::StoreError> {
                let $s = self; $inner.record_delivery(id, token, outcome, now).await
            }
            async fn list_notifications(&self, query: &$crate::NotificationQuery) -> Result<$crate::NotificationPage, $crate::StoreError> {
                let $s = self; $inner.list_notifications(query).await
            }
            async fn prune_notifications(&self, before: $crate::__private::Time, max: usize) -> Result<u64, $crate::StoreError> {
                let $s = self; $inner.prune_notifications(before, max).await
            }
        }
    };
    (@NodeRegistry [$($g:tt)*] $ty:ty, $s:ident, $inner:expr) => {
        #[$crate::__private::async_trait]
        impl<$($g)*> $crate::NodeRegistry for $ty {
            async fn heartbeat(&self, beat: &$crate::NodeHeartbeat) -> Result<(), $crate::StoreError> {
                let $s = self; $inner.heartbeat(beat).await
            }
            async fn nodes(&self) -> Result<Vec<$crate::NodeRecord>, $crate::StoreError> {
                let $s = self; $inner.nodes().await
            }
            async fn forget_node(&self, node: &str) -> Result<bool, $crate::StoreError> {
                let $s = self; $inner.forget_node(node).await
            }
            async fn orphaned(&self, now: $crate::__private::Time, live_since: $crate::__private::Time, max: usize) -> Result<Vec<$crate::__private::JobInfo>, $crate::StoreError> {
                let $s = self; $inner.orphaned(now, live_since, max).await
            }
        }
    };
}
