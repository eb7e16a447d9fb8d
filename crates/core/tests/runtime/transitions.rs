//! The control plane between nodes (R37–R41, R47): two runtimes on one store, one
//! running a job, the other changing it.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use bgtasks_abstractions::{
    Interruption, JobError, JobInfo, JobRunnableContext, JobStatus, job_fn,
};
use bgtasks_core::store::{
    ClaimRequest, ClaimedRun, InMemoryJobStore, JobDefinitions, JobRecord, JobRuns, RunLogs,
    StoreError,
};
use bgtasks_core::{JobScheduler, RunReport, Runtime, RuntimeBuilder};
use tokio::sync::{Notify, broadcast};

use crate::common::{builder, counting, next_report, reports_within, sleeping, start};

/// A runnable that counts its runs, works `duration` or until cancelled, and returns
/// `Ok` either way (a runnable that stops cleanly on cancellation).
fn clean_stopper(
    runs: Arc<AtomicUsize>,
    duration: Duration,
) -> impl bgtasks_abstractions::JobRunnable {
    job_fn(move |ctx: JobRunnableContext| {
        let runs = runs.clone();
        async move {
            runs.fetch_add(1, Ordering::SeqCst);
            tokio::select! {
                _ = tokio::time::sleep(duration) => {}
                _ = ctx.cancellation().cancelled() => {}
            }
            Ok::<(), JobError>(())
        }
    })
}

/// A runner node `a` (lease 60 s renewed every 20 s) and an admin node `b` on one store;
/// only `a` registers the job types.
async fn two_nodes(
    runner: impl FnOnce(RuntimeBuilder) -> RuntimeBuilder,
) -> (
    Runtime,
    broadcast::Receiver<RunReport>,
    Runtime,
    Arc<InMemoryJobStore>,
) {
    let (b, store) = builder();
    let (a, reports) = start(runner(b.node_name("a"))).await;
    let (b2, _) = builder();
    let (admin, _) = start(b2.node_name("b").store(store.clone())).await;
    (a, reports, admin, store)
}

async fn record(store: &InMemoryJobStore, id: &str) -> JobRecord {
    store.find(id).await.unwrap().unwrap()
}

#[tokio::test(start_paused = true)]
async fn a_pause_from_another_node_interrupts_the_run_and_charges_nothing() {
    // spec: R39
    let runs = Arc::new(AtomicUsize::new(0));
    let (a, mut reports, admin, store) = two_nodes(|b| {
        b.runnable(
            "slow",
            clean_stopper(runs.clone(), Duration::from_secs(600)),
        )
    })
    .await;
    a.queue(JobInfo::once("job", "slow")).await.unwrap();
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert_eq!(runs.load(Ordering::SeqCst), 1, "running on a");
    let paused = admin.pause("job").await.unwrap().unwrap();
    assert_eq!(paused.job.status, JobStatus::Paused);
    let report = next_report(&mut reports, Duration::from_secs(25))
        .await
        .expect("interrupted within one renewal interval");
    assert_eq!(
        report.interruption,
        Some(Interruption::Paused),
        "recorded as interrupted although the runnable returned Ok"
    );
    let after = record(&store, "job").await;
    assert_eq!(
        (
            after.job.status,
            after.job.trigger_count,
            after.job.try_count,
            after.lease
        ),
        (JobStatus::Paused, 0, 0, None)
    );
    assert!(
        reports_within(&mut reports, Duration::from_secs(120))
            .await
            .is_empty(),
        "a paused job does not run"
    );
    admin.resume("job").await.unwrap().unwrap();
    let again = next_report(&mut reports, Duration::from_secs(700)).await;
    assert!(
        again.is_some_and(|r| r.succeeded()),
        "resumed, it runs once more"
    );
    assert_eq!(runs.load(Ordering::SeqCst), 2);
    assert_eq!(record(&store, "job").await.job.status, JobStatus::Completed);
    a.shutdown().await.unwrap();
    admin.shutdown().await.unwrap();
}

#[tokio::test(start_paused = true)]
async fn a_pause_on_the_runs_own_node_is_not_a_success() {
    // spec: R39
    let runs = Arc::new(AtomicUsize::new(0));
    let (b, store) = builder();
    let (runtime, mut reports) = start(b.runnable(
        "slow",
        clean_stopper(runs.clone(), Duration::from_secs(600)),
    ))
    .await;
    runtime.queue(JobInfo::once("job", "slow")).await.unwrap();
    tokio::time::sleep(Duration::from_secs(1)).await;
    runtime.pause("job").await.unwrap().unwrap();
    let report = next_report(&mut reports, Duration::from_secs(5))
        .await
        .unwrap();
    assert_eq!(report.interruption, Some(Interruption::Paused));
    assert!(report.job.is_none(), "no outcome saved");
    assert_eq!(record(&store, "job").await.job.status, JobStatus::Paused);
    assert!(
        runtime.resume("job").await.unwrap().is_ok(),
        "it can be resumed"
    );
    runtime.shutdown().await.unwrap();
}

#[tokio::test(start_paused = true)]
async fn stop_and_remove_from_another_node_reach_the_run() {
    // spec: R39
    let runs = Arc::new(AtomicUsize::new(0));
    let (a, mut reports, admin, store) = two_nodes(|b| {
        b.runnable(
            "slow",
            clean_stopper(runs.clone(), Duration::from_secs(600)),
        )
    })
    .await;
    a.queue(JobInfo::persistent("stopped", "slow", 60, 0))
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_secs(1)).await;
    admin.stop_job("stopped").await.unwrap().unwrap();
    let report = next_report(&mut reports, Duration::from_secs(25))
        .await
        .unwrap();
    assert_eq!(report.interruption, Some(Interruption::Stopped));
    let stopped = record(&store, "stopped").await.job;
    assert_eq!(
        (stopped.status, stopped.next_run_time, stopped.try_count),
        (JobStatus::Stopped, None, 0)
    );
    a.queue(JobInfo::persistent("removed", "slow", 60, 0))
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_secs(1)).await;
    admin.remove("removed").await.unwrap().unwrap();
    let report = next_report(&mut reports, Duration::from_secs(25))
        .await
        .unwrap();
    assert_eq!(report.interruption, Some(Interruption::Removed));
    assert!(store.find("removed").await.unwrap().is_none());
    assert!(
        reports_within(&mut reports, Duration::from_secs(300))
            .await
            .is_empty(),
        "neither runs again"
    );
    a.shutdown().await.unwrap();
    admin.shutdown().await.unwrap();
}

#[tokio::test(start_paused = true)]
async fn triggers_during_a_run_make_it_run_once_more() {
    // spec: R40
    let runs = Arc::new(AtomicUsize::new(0));
    let (a, mut reports, admin, _store) =
        two_nodes(|b| b.runnable("slow", clean_stopper(runs.clone(), Duration::from_secs(30))))
            .await;
    a.queue(JobInfo::once("job", "slow")).await.unwrap();
    tokio::time::sleep(Duration::from_secs(1)).await;
    for _ in 0..3 {
        let triggered = admin
            .trigger(JobInfo::once("job", "slow"))
            .await
            .unwrap()
            .unwrap();
        assert!(triggered.triggered);
    }
    let all = reports_within(&mut reports, Duration::from_secs(300)).await;
    assert_eq!(all.len(), 2, "the run, then once more: {all:?}");
    assert!(all.iter().all(RunReport::succeeded));
    assert_eq!(runs.load(Ordering::SeqCst), 2);
    a.shutdown().await.unwrap();
    admin.shutdown().await.unwrap();
}

#[tokio::test(start_paused = true)]
async fn a_job_queued_again_under_a_removed_ids_name_is_its_own() {
    // spec: R38
    let runs = Arc::new(AtomicUsize::new(0));
    let (b, store) = builder();
    // Node a ignores cancellation, so its old run goes on after the removal.
    let stubborn = job_fn(|_ctx: JobRunnableContext| async move {
        tokio::time::sleep(Duration::from_secs(30)).await;
        Ok::<(), JobError>(())
    });
    let (a, mut a_reports) = start(
        b.node_name("a")
            .configure(|o| o.interrupt_grace = Duration::from_secs(60))
            .runnable("work", stubborn),
    )
    .await;
    a.queue(JobInfo::once("job", "work")).await.unwrap();
    tokio::time::sleep(Duration::from_secs(1)).await;
    a.stop().await.unwrap();
    let (b2, _) = builder();
    let (other, mut other_reports) = start(
        b2.node_name("b")
            .store(store.clone())
            .runnable("work", counting(runs.clone())),
    )
    .await;
    other.remove("job").await.unwrap().unwrap();
    other
        .queue(JobInfo::once("job", "work").with_description("the new job"))
        .await
        .unwrap();
    let new_run = next_report(&mut other_reports, Duration::from_secs(5))
        .await
        .unwrap();
    assert!(new_run.succeeded() && new_run.node == "b");
    let old_run = next_report(&mut a_reports, Duration::from_secs(60))
        .await
        .unwrap();
    assert!(
        old_run.job.is_none(),
        "the old run's outcome is refused: {old_run:?}"
    );
    let job = record(&store, "job").await.job;
    assert_eq!(
        (job.status, job.trigger_count, job.description.as_str()),
        (JobStatus::Completed, 1, "the new job")
    );
    assert_eq!(runs.load(Ordering::SeqCst), 1);
    let logs = store.list_logs("job", 10).await.unwrap();
    assert_eq!(
        logs.iter().map(|l| l.node.as_str()).collect::<Vec<_>>(),
        ["b"],
        "the new job has its own run's log, none of the old run's (R46)"
    );
    a.shutdown().await.unwrap();
    other.shutdown().await.unwrap();
}

#[tokio::test(start_paused = true)]
async fn a_prefetched_run_paused_elsewhere_is_dropped_before_it_starts() {
    // spec: R39
    let runs = Arc::new(AtomicUsize::new(0));
    let (a, mut reports, admin, store) = two_nodes(|b| {
        b.workers(1)
            .runnable("slow", sleeping(Duration::from_secs(45)))
            .runnable("next", counting(runs.clone()))
    })
    .await;
    let now = a.clock().now();
    a.queue_many(vec![
        JobInfo::once("busy", "slow").with_begin_time(now),
        JobInfo::once("waiting", "next").with_begin_time(now),
    ])
    .await
    .unwrap();
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert!(
        record(&store, "waiting").await.lease.is_some(),
        "prefetched"
    );
    admin.pause("waiting").await.unwrap().unwrap();
    let all = reports_within(&mut reports, Duration::from_secs(120)).await;
    let ran: Vec<&str> = all.iter().map(|r| r.job_id.as_str()).collect();
    assert_eq!(ran, ["busy"], "the paused run never started");
    assert_eq!(runs.load(Ordering::SeqCst), 0);
    let waiting = record(&store, "waiting").await;
    assert_eq!(
        (waiting.job.status, waiting.lease),
        (JobStatus::Paused, None)
    );
    a.shutdown().await.unwrap();
    admin.shutdown().await.unwrap();
}

/// A store whose claims wait at a gate, so that a test can shut down mid-claim.
struct GatedClaims {
    inner: Arc<InMemoryJobStore>,
    entered: Notify,
    gate: Notify,
}

bgtasks_core::store::forward_capabilities!(
    impl[] GatedClaims => |this| this.inner;
    JobDefinitions, JobControl, RunLogs, Maintenance, NodeRegistry, JobStatistics,
    NotificationOutbox
);

impl JobRuns for GatedClaims {
    async fn claim(&self, request: &ClaimRequest<'_>) -> Result<Vec<ClaimedRun>, StoreError> {
        self.entered.notify_one();
        self.gate.notified().await;
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
    ) -> Result<Vec<bgtasks_core::store::RenewOutcome>, StoreError> {
        self.inner.renew(node, leases, lease, now).await
    }
    async fn complete(
        &self,
        runs: &[bgtasks_core::store::RunCompletion],
        logs: &[bgtasks_core::store::JobLog],
    ) -> Result<Vec<bgtasks_core::store::CompletionOutcome>, StoreError> {
        self.inner.complete(runs, logs).await
    }
    async fn give_back(
        &self,
        lease: &bgtasks_abstractions::RunLease,
        how: bgtasks_core::store::GiveBack,
    ) -> Result<bgtasks_core::store::CompletionOutcome, StoreError> {
        self.inner.give_back(lease, how).await
    }
    async fn rescue(
        &self,
        now: chrono::DateTime<chrono::Utc>,
    ) -> Result<Vec<bgtasks_core::store::Rescued>, StoreError> {
        self.inner.rescue(now).await
    }
}

#[tokio::test(start_paused = true)]
async fn shutdown_gives_back_the_runs_of_a_claim_in_flight() {
    // spec: R47
    let inner = Arc::new(InMemoryJobStore::new());
    let gated = Arc::new(GatedClaims {
        inner: inner.clone(),
        entered: Notify::new(),
        gate: Notify::new(),
    });
    let runs = Arc::new(AtomicUsize::new(0));
    let (b, _) = builder();
    let runtime = b
        .store(gated.clone())
        .runnable("t", counting(runs.clone()))
        .build()
        .unwrap();
    runtime.start().await.unwrap();
    // The first claim (nothing is due yet) passes the gate.
    gated.entered.notified().await;
    gated.gate.notify_one();
    tokio::time::sleep(Duration::from_millis(1)).await;
    let now = runtime.clock().now();
    runtime
        .queue_many(
            (0..3)
                .map(|i| JobInfo::once(format!("j{i}"), "t").with_begin_time(now))
                .collect(),
        )
        .await
        .unwrap();
    // The next claim is in flight (at the gate) when the shutdown begins.
    gated.entered.notified().await;
    let shutting_down = tokio::spawn({
        let runtime = runtime.clone();
        async move { runtime.shutdown().await }
    });
    tokio::time::sleep(Duration::from_millis(10)).await;
    assert!(
        !shutting_down.is_finished(),
        "the shutdown waits for the claim"
    );
    gated.gate.notify_one();
    shutting_down.await.unwrap().unwrap();
    assert_eq!(
        runs.load(Ordering::SeqCst),
        0,
        "nothing claimed during shutdown ran"
    );
    for i in 0..3 {
        let job = record(&inner, &format!("j{i}")).await;
        assert!(job.lease.is_none(), "j{i} was given back");
        assert_eq!(job.job.next_run_time, Some(now), "due again at once");
    }
}
