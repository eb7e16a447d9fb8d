//! Helpers shared by the runtime tests.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use bgtasks_abstractions::{JobError, JobRunnable, JobRunnableContext, job_fn};
use bgtasks_core::clock::TokioClock;
use bgtasks_core::store::{
    ClaimRequest, ClaimedRun, CompletionOutcome, GiveBack, InMemoryJobStore, JobLog, JobRuns,
    RenewOutcome, Rescued, RunCompletion, StoreError,
};
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

bgtasks_core::store::forward_capabilities!(
    impl[] CountingStore => |this| this.inner;
    JobDefinitions, JobControl, RunLogs, Maintenance, NodeRegistry, JobStatistics,
    NotificationOutbox
);

impl JobRuns for CountingStore {
    async fn claim(&self, request: &ClaimRequest<'_>) -> Result<Vec<ClaimedRun>, StoreError> {
        self.claims.fetch_add(1, Ordering::SeqCst);
        self.inner.claim(request).await
    }
    async fn next_due_time(
        &self,
        node: &str,
        job_types: Option<&[String]>,
    ) -> Result<Option<chrono::DateTime<chrono::Utc>>, StoreError> {
        self.inner.next_due_time(node, job_types).await
    }
    async fn renew(
        &self,
        node: &str,
        leases: &[bgtasks_abstractions::RunLease],
        lease: Duration,
        now: chrono::DateTime<chrono::Utc>,
    ) -> Result<Vec<RenewOutcome>, StoreError> {
        self.inner.renew(node, leases, lease, now).await
    }
    async fn complete(
        &self,
        runs: &[RunCompletion],
        logs: &[JobLog],
    ) -> Result<Vec<CompletionOutcome>, StoreError> {
        self.completions.fetch_add(runs.len(), Ordering::SeqCst);
        let failing =
            self.failing_completions
                .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1));
        if failing.is_ok() {
            return Err(StoreError::unavailable(
                "the database is unreachable (test)",
            ));
        }
        self.inner.complete(runs, logs).await
    }
    async fn give_back(
        &self,
        lease: &bgtasks_abstractions::RunLease,
        how: GiveBack,
    ) -> Result<CompletionOutcome, StoreError> {
        self.inner.give_back(lease, how).await
    }
    async fn rescue(&self, now: chrono::DateTime<chrono::Utc>) -> Result<Vec<Rescued>, StoreError> {
        self.inner.rescue(now).await
    }
    fn subscribe_due(&self) -> Option<Arc<tokio::sync::Notify>> {
        self.inner.subscribe_due()
    }
    fn subscribe_control(&self) -> Option<Arc<tokio::sync::Notify>> {
        self.inner.subscribe_control()
    }
}
