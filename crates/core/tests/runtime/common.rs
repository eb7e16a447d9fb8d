//! Helpers shared by the runtime tests.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use bgtasks_abstractions::{JobError, JobRunnable, JobRunnableContext, job_fn};
use bgtasks_core::clock::TokioClock;
use bgtasks_core::store::InMemoryJobStore;
use bgtasks_core::{JobScheduler, RunReport, Runtime, RuntimeBuilder};
use tokio::sync::broadcast;

/// A builder on a paused-time clock and a fresh in-memory store.
pub(crate) fn builder() -> (RuntimeBuilder, Arc<InMemoryJobStore>) {
    let store = Arc::new(InMemoryJobStore::new());
    let builder = Runtime::builder()
        .clock(Arc::new(TokioClock::new()))
        .store(store.clone())
        .configure(|o| {
            o.shutdown_grace = Duration::from_secs(1);
            o.interrupt_grace = Duration::from_secs(1);
        });
    (builder, store)
}

/// Builds and starts, returning the runtime and its run reports.
pub(crate) async fn start(builder: RuntimeBuilder) -> (Runtime, broadcast::Receiver<RunReport>) {
    let runtime = builder.build().expect("valid runtime");
    let reports = runtime.subscribe();
    runtime.start().await.expect("starts");
    (runtime, reports)
}

/// The next run report, waiting at most `within` of (paused) time.
pub(crate) async fn next_report(
    reports: &mut broadcast::Receiver<RunReport>,
    within: Duration,
) -> Option<RunReport> {
    tokio::time::timeout(within, reports.recv())
        .await
        .ok()?
        .ok()
}

/// Every report that arrives within `within`.
pub(crate) async fn reports_within(
    reports: &mut broadcast::Receiver<RunReport>,
    within: Duration,
) -> Vec<RunReport> {
    let deadline = tokio::time::Instant::now() + within;
    let mut all = Vec::new();
    while let Ok(Ok(report)) = tokio::time::timeout_at(deadline, reports.recv()).await {
        all.push(report);
    }
    all
}

/// A runnable that counts its runs and succeeds.
pub(crate) fn counting(counter: Arc<AtomicUsize>) -> impl JobRunnable {
    job_fn(move |_ctx: JobRunnableContext| {
        let counter = counter.clone();
        async move {
            counter.fetch_add(1, Ordering::SeqCst);
            Ok::<(), JobError>(())
        }
    })
}

/// A runnable that fails with `error` on its first `failures` runs, then succeeds.
pub(crate) fn failing_then_ok(failures: usize, error: JobError) -> impl JobRunnable {
    let runs = Arc::new(AtomicUsize::new(0));
    job_fn(move |_ctx: JobRunnableContext| {
        let runs = runs.clone();
        let error = error.clone();
        async move {
            if runs.fetch_add(1, Ordering::SeqCst) < failures {
                Err(error)
            } else {
                Ok(())
            }
        }
    })
}

/// A runnable that waits `duration` (or until cancelled) and succeeds.
pub(crate) fn sleeping(duration: Duration) -> impl JobRunnable {
    job_fn(move |ctx: JobRunnableContext| async move {
        tokio::select! {
            _ = tokio::time::sleep(duration) => Ok(()),
            _ = ctx.cancellation().cancelled() => Err(JobError::new("cancelled")),
        }
    })
}

/// A store that counts how often the runtime asks it for claims and completions, and
/// can fail the next completions as an unreachable database would.
pub(crate) struct CountingStore {
    pub(crate) inner: Arc<InMemoryJobStore>,
    pub(crate) claims: AtomicUsize,
    pub(crate) completions: AtomicUsize,
    /// How many of the next completions fail with a transient error.
    pub(crate) failing_completions: AtomicUsize,
}

impl CountingStore {
    pub(crate) fn new() -> Self {
        Self {
            inner: Arc::new(InMemoryJobStore::new()),
            claims: AtomicUsize::new(0),
            completions: AtomicUsize::new(0),
            failing_completions: AtomicUsize::new(0),
        }
    }
}

#[async_trait::async_trait]
impl bgtasks_core::store::JobStore for CountingStore {
    async fn list_waiting(
        &self,
        max: usize,
    ) -> Result<Vec<bgtasks_abstractions::JobInfo>, bgtasks_core::store::StoreError> {
        self.inner.list_waiting(max).await
    }
    async fn list_period(
        &self,
        max: usize,
    ) -> Result<Vec<bgtasks_abstractions::JobInfo>, bgtasks_core::store::StoreError> {
        self.inner.list_period(max).await
    }
    async fn list_running(
        &self,
        node: &str,
        max: usize,
    ) -> Result<Vec<bgtasks_abstractions::JobInfo>, bgtasks_core::store::StoreError> {
        self.inner.list_running(node, max).await
    }
    async fn find(
        &self,
        id: &str,
    ) -> Result<Option<bgtasks_abstractions::JobInfo>, bgtasks_core::store::StoreError> {
        self.inner.find(id).await
    }
    async fn store(
        &self,
        job: &bgtasks_abstractions::JobInfo,
    ) -> Result<(), bgtasks_core::store::StoreError> {
        self.inner.store(job).await
    }
    async fn insert(
        &self,
        job: &bgtasks_abstractions::JobInfo,
    ) -> Result<bool, bgtasks_core::store::StoreError> {
        self.inner.insert(job).await
    }
    async fn remove(&self, id: &str) -> Result<bool, bgtasks_core::store::StoreError> {
        self.inner.remove(id).await
    }
    async fn store_log(
        &self,
        log: &bgtasks_core::store::JobLog,
    ) -> Result<(), bgtasks_core::store::StoreError> {
        self.inner.store_log(log).await
    }
    async fn list_logs(
        &self,
        job_id: &str,
        max: usize,
    ) -> Result<Vec<bgtasks_core::store::JobLog>, bgtasks_core::store::StoreError> {
        self.inner.list_logs(job_id, max).await
    }
    async fn cleanup(
        &self,
        node: Option<&str>,
        expired_before: chrono::DateTime<chrono::Utc>,
        max: usize,
    ) -> Result<Vec<bgtasks_abstractions::JobInfo>, bgtasks_core::store::StoreError> {
        self.inner.cleanup(node, expired_before, max).await
    }
    async fn claim_due(
        &self,
        node: &str,
        now: chrono::DateTime<chrono::Utc>,
        limit: usize,
        lease: Duration,
    ) -> Result<Vec<bgtasks_core::store::ClaimedRun>, bgtasks_core::store::StoreError> {
        self.claims.fetch_add(1, Ordering::SeqCst);
        self.inner.claim_due(node, now, limit, lease).await
    }
    async fn next_due_time(
        &self,
        node: &str,
    ) -> Result<Option<chrono::DateTime<chrono::Utc>>, bgtasks_core::store::StoreError> {
        self.inner.next_due_time(node).await
    }
    async fn renew_leases(
        &self,
        node: &str,
        leases: &[bgtasks_abstractions::RunLease],
        until: chrono::DateTime<chrono::Utc>,
    ) -> Result<Vec<String>, bgtasks_core::store::StoreError> {
        self.inner.renew_leases(node, leases, until).await
    }
    async fn complete_run(
        &self,
        lease: &bgtasks_abstractions::RunLease,
        job: &bgtasks_abstractions::JobInfo,
    ) -> Result<bgtasks_core::store::CompletionOutcome, bgtasks_core::store::StoreError> {
        self.completions.fetch_add(1, Ordering::SeqCst);
        let failing =
            self.failing_completions
                .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1));
        if failing.is_ok() {
            return Err(bgtasks_core::store::StoreError::unavailable(
                "the database is unreachable (test)",
            ));
        }
        self.inner.complete_run(lease, job).await
    }
    async fn release_run(
        &self,
        lease: &bgtasks_abstractions::RunLease,
        mode: bgtasks_core::store::ReleaseMode,
    ) -> Result<bgtasks_core::store::CompletionOutcome, bgtasks_core::store::StoreError> {
        self.inner.release_run(lease, mode).await
    }
    async fn rescue_expired(
        &self,
        now: chrono::DateTime<chrono::Utc>,
    ) -> Result<Vec<String>, bgtasks_core::store::StoreError> {
        self.inner.rescue_expired(now).await
    }
    fn subscribe_due(&self) -> Option<Arc<tokio::sync::Notify>> {
        self.inner.subscribe_due()
    }
}
