//! One bad iteration cannot stop a node (R42): the claim loop, the renewals, the rescuer
//! and the heartbeat survive a panic in any one iteration, and say so in the health
//! report.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use bgtasks_abstractions::JobInfo;
use bgtasks_core::store::{
    ClaimRequest, ClaimedRun, CompletionOutcome, GiveBack, InMemoryJobStore, JobLog, JobRuns,
    RenewOutcome, Rescued, RunCompletion, StoreError,
};
use bgtasks_core::{JobScheduler, NodeLoop};

use crate::common::{builder, counting, next_report, start};

/// A store whose first claims and rescues panic, as a store with a bug in one code path
/// (or a row it cannot handle) would.
struct PanickyStore {
    inner: Arc<InMemoryJobStore>,
    claim_panics: AtomicUsize,
    rescue_panics: AtomicUsize,
}

bgtasks_core::store::forward_capabilities!(
    impl[] PanickyStore => |this| this.inner;
    JobDefinitions, JobControl, RunLogs, Maintenance, NodeRegistry, JobStatistics,
    NotificationOutbox
);

impl JobRuns for PanickyStore {
    async fn claim(&self, request: &ClaimRequest<'_>) -> Result<Vec<ClaimedRun>, StoreError> {
        if self
            .claim_panics
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
            .is_ok()
        {
            panic!("deliberate panic in a claim");
        }
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
        if self
            .rescue_panics
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
            .is_ok()
        {
            panic!("deliberate panic in a rescue");
        }
        self.inner.rescue(now).await
    }
    fn subscribe_due(&self) -> Option<Arc<tokio::sync::Notify>> {
        self.inner.subscribe_due()
    }
}

#[tokio::test(start_paused = true)]
async fn a_panic_in_a_claim_or_a_rescue_stops_nothing() {
    // spec: R42
    let store = Arc::new(PanickyStore {
        inner: Arc::new(InMemoryJobStore::new()),
        claim_panics: AtomicUsize::new(2),
        rescue_panics: AtomicUsize::new(1),
    });
    let runs = Arc::new(AtomicUsize::new(0));
    let (b, _) = builder();
    let (runtime, mut reports) = start(
        b.store(store.clone())
            .configure(|o| o.rescue_interval = Duration::from_secs(1))
            .runnable("t", counting(runs.clone())),
    )
    .await;
    runtime
        .queue(JobInfo::once("innocent", "t").with_begin_time(runtime.clock().now()))
        .await
        .unwrap();
    let report = next_report(&mut reports, Duration::from_secs(30))
        .await
        .expect("the job queued after the panics runs");
    assert!(report.succeeded());
    assert_eq!(runs.load(Ordering::SeqCst), 1);
    // Long enough for every loop to have iterated (renewals every 20 s by default).
    tokio::time::sleep(Duration::from_secs(25)).await;
    let health = runtime.health();
    let of = |which: NodeLoop| health.loop_named(which.name()).unwrap();
    assert_eq!(of(NodeLoop::ClaimLoop).panics, 2, "{health:?}");
    assert_eq!(of(NodeLoop::Rescuer).panics, 1, "{health:?}");
    for which in NodeLoop::ALL {
        assert!(
            of(which).last_iteration.is_some(),
            "{which} went on iterating: {health:?}"
        );
    }
    assert_eq!(health.store_reachable, Some(true));
    assert!(health.is_ready(runtime.clock().now() - chrono::Duration::seconds(30)));
    runtime.shutdown().await.unwrap();
}

/// A service that panics in its first iterations, then counts the ones that complete.
struct Flaky {
    panics_left: AtomicUsize,
    completed: Arc<AtomicUsize>,
}

impl bgtasks_core::BackgroundService for Flaky {
    fn name(&self) -> &str {
        "flaky service"
    }

    async fn run_once(&self, _: &bgtasks_core::ServiceContext) -> Duration {
        if self
            .panics_left
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
            .is_ok()
        {
            panic!("deliberate panic in a service");
        }
        self.completed.fetch_add(1, Ordering::SeqCst);
        Duration::from_secs(1)
    }
}

#[tokio::test(start_paused = true)]
async fn a_background_service_is_supervised_like_the_node_loops() {
    // spec: R42
    let completed = Arc::new(AtomicUsize::new(0));
    let (b, _) = builder();
    let (runtime, _reports) = start(b.background_service(Arc::new(Flaky {
        panics_left: AtomicUsize::new(2),
        completed: completed.clone(),
    })))
    .await;
    tokio::time::sleep(Duration::from_secs(30)).await;
    let health = runtime.health();
    let service = health
        .loop_named("flaky service")
        .expect("the service is in the health report");
    assert_eq!(service.panics, 2, "{health:?}");
    assert!(service.last_iteration.is_some(), "{health:?}");
    assert!(
        completed.load(Ordering::SeqCst) >= 5,
        "the service went on after its panics: {}",
        completed.load(Ordering::SeqCst)
    );
    runtime.shutdown().await.unwrap();
    let after = completed.load(Ordering::SeqCst);
    tokio::time::sleep(Duration::from_secs(10)).await;
    assert_eq!(
        completed.load(Ordering::SeqCst),
        after,
        "a service stops with the runtime"
    );
}
