//! A node cut off from its store (R45): every call is bounded, and a run whose lease
//! could not be renewed is interrupted before the lease can expire, so no other node can
//! have rescued it while it still runs.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use bgtasks_abstractions::{Interruption, JobError, JobInfo, JobRunnableContext, job_fn};
use bgtasks_core::store::{
    ClaimRequest, ClaimedRun, CompletionOutcome, GiveBack, InMemoryJobStore, JobLog, JobRuns,
    RenewOutcome, Rescued, RunCompletion, StoreError,
};
use bgtasks_core::{JobScheduler, NodeLoop};
use tokio::sync::Mutex;
use tokio::time::Instant;

use crate::common::{builder, next_report, start};

/// A store that, once cut, never answers a run call: packets dropped, connections open.
struct Partitioned {
    inner: Arc<InMemoryJobStore>,
    cut: AtomicBool,
}

impl Partitioned {
    async fn gate(&self) {
        if self.cut.load(Ordering::SeqCst) {
            std::future::pending::<()>().await;
        }
    }
}

bgtasks_core::store::forward_capabilities!(
    impl[] Partitioned => |this| this.inner;
    JobDefinitions, JobControl, RunLogs, Maintenance, NodeRegistry, JobStatistics,
    NotificationOutbox
);

impl JobRuns for Partitioned {
    async fn claim(&self, request: &ClaimRequest<'_>) -> Result<Vec<ClaimedRun>, StoreError> {
        self.gate().await;
        self.inner.claim(request).await
    }
    async fn next_due_time(
        &self,
        node: &str,
        job_types: Option<&[String]>,
    ) -> Result<Option<chrono::DateTime<chrono::Utc>>, StoreError> {
        self.gate().await;
        self.inner.next_due_time(node, job_types).await
    }
    async fn renew(
        &self,
        node: &str,
        leases: &[bgtasks_abstractions::RunLease],
        lease: Duration,
        now: chrono::DateTime<chrono::Utc>,
    ) -> Result<Vec<RenewOutcome>, StoreError> {
        self.gate().await;
        self.inner.renew(node, leases, lease, now).await
    }
    async fn complete(
        &self,
        runs: &[RunCompletion],
        logs: &[JobLog],
    ) -> Result<Vec<CompletionOutcome>, StoreError> {
        self.gate().await;
        self.inner.complete(runs, logs).await
    }
    async fn give_back(
        &self,
        lease: &bgtasks_abstractions::RunLease,
        how: GiveBack,
    ) -> Result<CompletionOutcome, StoreError> {
        self.gate().await;
        self.inner.give_back(lease, how).await
    }
    async fn rescue(&self, now: chrono::DateTime<chrono::Utc>) -> Result<Vec<Rescued>, StoreError> {
        self.gate().await;
        self.inner.rescue(now).await
    }
}

#[tokio::test(start_paused = true)]
async fn a_run_whose_lease_cannot_be_renewed_is_cut_before_the_lease_expires() {
    // spec: R45
    let store = Arc::new(Partitioned {
        inner: Arc::new(InMemoryJobStore::new()),
        cut: AtomicBool::new(false),
    });
    let started = Arc::new(Mutex::new(None::<Instant>));
    let cancelled = Arc::new(Mutex::new(None::<Instant>));
    let (b, _) = builder();
    let (started_at, cancelled_at) = (started.clone(), cancelled.clone());
    let (runtime, mut reports) = start(b.store(store.clone()).runnable(
        "long",
        job_fn(move |ctx: JobRunnableContext| {
            let (started_at, cancelled_at) = (started_at.clone(), cancelled_at.clone());
            async move {
                *started_at.lock().await = Some(Instant::now());
                ctx.cancellation().cancelled().await;
                *cancelled_at.lock().await = Some(Instant::now());
                Err(JobError::new("stopped"))
            }
        }),
    ))
    .await;
    runtime
        .queue(JobInfo::once("j", "long").with_begin_time(runtime.clock().now()))
        .await
        .unwrap();
    while started.lock().await.is_none() {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    store.cut.store(true, Ordering::SeqCst);
    let report = next_report(&mut reports, Duration::from_secs(300))
        .await
        .expect("the run ends although the store never answers");
    assert_eq!(report.interruption, Some(Interruption::LeaseLost));
    let (started, cancelled) = (
        started.lock().await.unwrap(),
        cancelled.lock().await.unwrap(),
    );
    let cut_after = cancelled - started;
    let options = runtime.options();
    // Lease 60 s, renewal every 20 s: the last renewal that succeeded was the claim, so
    // the run is cut 60 − 20 = 40 s after it, well before the lease lapses at 60 s.
    assert!(
        cut_after >= Duration::from_secs(39) && cut_after <= Duration::from_secs(41),
        "cut {cut_after:?} after it started"
    );
    assert!(cut_after + options.interrupt_grace < options.lease_duration);
    let health = runtime.health();
    assert!(
        health
            .loop_named(NodeLoop::Watchdog.name())
            .is_some_and(|l| l.last_iteration.is_some())
    );
    store.cut.store(false, Ordering::SeqCst);
    runtime.shutdown().await.unwrap();
}

#[tokio::test(start_paused = true)]
async fn renewals_that_succeed_keep_a_long_run_going() {
    // spec: R45
    let (b, _) = builder();
    let (runtime, mut reports) =
        start(b.runnable("long", crate::common::sleeping(Duration::from_secs(600)))).await;
    runtime
        .queue(JobInfo::once("j", "long").with_begin_time(runtime.clock().now()))
        .await
        .unwrap();
    let report = next_report(&mut reports, Duration::from_secs(900))
        .await
        .expect("the run ends");
    assert!(
        report.succeeded() && report.interruption.is_none(),
        "a ten-minute run with working renewals is not cut: {report:?}"
    );
    runtime.shutdown().await.unwrap();
}
