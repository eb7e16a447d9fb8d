//! A bound on every store call (R45): a store that stops answering — a database cut off
//! by a fault that does not close connections — fails each call after a timeout instead
//! of holding a loop, a worker or a shutdown for as long as TCP takes to give up.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use bgtasks_store::{JobStore, StoreError};

/// Wraps a store so that every call fails with [`StoreError::Unavailable`] when it has
/// not answered within the timeout. The runtime builder wraps its store with
/// [`store_timeout`](bgtasks_abstractions::BackgroundTasksOptions::store_timeout) (30 s by
/// default); the runtime then backs off and tries again as for any unavailable store.
/// A call that timed out may still take effect in the store: every transition is fenced,
/// so a late effect is refused or harmless, never applied over a newer state.
///
/// Being the one place every store call of the runtime goes through, it also times them:
/// `bgtasks_store_operation_duration_seconds{store, operation}`.
pub struct TimedStore {
    inner: Arc<dyn JobStore>,
    timeout: Duration,
    backend: &'static str,
}

impl TimedStore {
    /// `inner`, each call bounded by `timeout`.
    pub fn new(inner: Arc<dyn JobStore>, timeout: Duration) -> Self {
        let backend = inner.backend_name();
        Self {
            inner,
            timeout,
            backend,
        }
    }

    /// The bound.
    pub fn timeout(&self) -> Duration {
        self.timeout
    }

    /// The store it wraps.
    pub fn inner(&self) -> &Arc<dyn JobStore> {
        &self.inner
    }

    async fn bound<T>(
        this: &Self,
        what: &'static str,
        call: impl Future<Output = Result<T, StoreError>>,
    ) -> Result<T, StoreError> {
        let sent = tokio::time::Instant::now();
        let answer = tokio::time::timeout(this.timeout, call).await;
        crate::metrics::store_operation(this.backend, what, sent.elapsed());
        match answer {
            Ok(answer) => answer,
            Err(_elapsed) => Err(StoreError::unavailable(format!(
                "the store did not answer `{what}` within {:?}",
                this.timeout
            ))),
        }
    }
}

impl std::fmt::Debug for TimedStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TimedStore")
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

bgtasks_store::forward_capabilities!(
    impl[] TimedStore => |this| this.inner, bounded by TimedStore::bound;
    JobDefinitions, JobRuns, JobControl, RunLogs, Maintenance, NodeRegistry, JobStatistics,
    NotificationOutbox
);

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::InMemoryJobStore;
    use bgtasks_store::{JobDefinitions, NodeRegistry};

    /// A store whose node listing never answers.
    struct Silent(Arc<InMemoryJobStore>);

    bgtasks_store::forward_capabilities!(
        impl[] Silent => |this| this.0;
        JobDefinitions, JobRuns, JobControl, RunLogs, Maintenance, JobStatistics,
        NotificationOutbox
    );

    impl NodeRegistry for Silent {
        async fn heartbeat(&self, beat: &bgtasks_store::NodeHeartbeat) -> Result<(), StoreError> {
            self.0.heartbeat(beat).await
        }
        async fn nodes(&self) -> Result<Vec<bgtasks_store::NodeRecord>, StoreError> {
            std::future::pending().await
        }
        async fn forget_node(&self, node: &str) -> Result<bool, StoreError> {
            self.0.forget_node(node).await
        }
        async fn orphaned(
            &self,
            now: chrono::DateTime<chrono::Utc>,
            live_since: chrono::DateTime<chrono::Utc>,
            max: usize,
        ) -> Result<Vec<bgtasks_abstractions::JobInfo>, StoreError> {
            self.0.orphaned(now, live_since, max).await
        }
    }

    #[tokio::test(start_paused = true)]
    async fn a_call_that_never_answers_fails_after_the_timeout() {
        // spec: R45
        let timed = TimedStore::new(
            Arc::new(Silent(Arc::new(InMemoryJobStore::new()))),
            Duration::from_secs(30),
        );
        let started = tokio::time::Instant::now();
        let error = timed.nodes().await.unwrap_err();
        assert_eq!(started.elapsed(), Duration::from_secs(30));
        assert!(error.is_transient());
        assert_eq!(
            error.to_string(),
            "job store unavailable: the store did not answer `nodes` within 30s"
        );
        let inserted = timed
            .insert(&[bgtasks_abstractions::JobInfo::once("j", "t")])
            .await
            .unwrap();
        assert_eq!(inserted, [true], "calls that answer pass through");
    }
}
