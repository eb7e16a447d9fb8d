//! The runtime on SQLite, with real time (short leases): two runtimes sharing one file
//! run each job once; a run whose node died is rescued and completed by a live one; a
//! runtime restarted on the file carries on where the last one stopped.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::{HashMap, HashSet};
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bgtasks_abstractions::{JobError, JobInfo, JobStatus, SystemClock, job_fn};
use bgtasks_core::store::{
    ClaimRequest, CompletionOutcome, JobDefinitions, JobRuns, RunCompletion, RunLogs,
};
use bgtasks_core::{JobScheduler, RunReport, Runtime};
use bgtasks_sqlite::{SqliteJobStore, SqliteStoreOptions};
use chrono::Utc;
use tokio::sync::broadcast;

/// Which node ran each job, every time it ran.
type Runs = Arc<Mutex<HashMap<String, Vec<String>>>>;

/// Where the nodes of a test meet: a run waits (at most 20 s) until every node has
/// started a run, so that each node takes part for sure instead of by chance.
#[derive(Default)]
struct Meeting {
    arrived: Mutex<HashSet<String>>,
    changed: tokio::sync::Notify,
    expected: usize,
}

impl Meeting {
    fn of(expected: usize) -> Arc<Self> {
        Arc::new(Self {
            expected,
            ..Self::default()
        })
    }

    async fn arrive(&self, node: &str) {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
        loop {
            let waiting = self.changed.notified();
            {
                let mut arrived = self.arrived.lock().unwrap();
                if arrived.insert(node.to_owned()) {
                    self.changed.notify_waiters();
                }
                if arrived.len() >= self.expected {
                    return;
                }
            }
            if tokio::time::timeout_at(deadline, waiting).await.is_err() {
                return;
            }
        }
    }
}

/// Shows the runtime's logs when `RUST_LOG` asks for them.
fn logs() {
    let _ = tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .with_test_writer()
        .try_init();
}

async fn open(path: &Path) -> SqliteJobStore {
    let options = SqliteStoreOptions::default().watch_interval(Some(Duration::from_millis(50)));
    SqliteJobStore::open(path, options).await.unwrap()
}

/// A runtime of node `node` on `store`, with short leases, whose "count" jobs record
/// their runs in `runs` (after `work`).
fn runtime(store: &SqliteJobStore, node: &str, runs: &Runs, work: Duration) -> Runtime {
    meeting_runtime(store, node, runs, work, Meeting::of(1))
}

/// As [`runtime`], each run first going to `meeting`.
fn meeting_runtime(
    store: &SqliteJobStore,
    node: &str,
    runs: &Runs,
    work: Duration,
    meeting: Arc<Meeting>,
) -> Runtime {
    let runs = runs.clone();
    let name = node.to_owned();
    Runtime::builder()
        .node_name(node)
        .store(Arc::new(store.clone()))
        .lock_provider(Arc::new(store.lock_provider(Arc::new(SystemClock))))
        .configure(|o| {
            o.lease_duration = Duration::from_secs(2);
            o.lease_renewal_interval = Duration::from_millis(500);
            o.rescue_interval = Duration::from_millis(500);
            o.shutdown_grace = Duration::from_secs(5);
        })
        .runnable(
            "count",
            job_fn(move |ctx| {
                let runs = runs.clone();
                let name = name.clone();
                let meeting = meeting.clone();
                async move {
                    meeting.arrive(&name).await;
                    tokio::time::sleep(work).await;
                    runs.lock()
                        .unwrap()
                        .entry(ctx.job_id().to_owned())
                        .or_default()
                        .push(name);
                    Ok::<(), JobError>(())
                }
            }),
        )
        .build()
        .unwrap()
}

fn queued(id: &str) -> JobInfo {
    let mut job = JobInfo::once(id, "count");
    job.status = JobStatus::Queuing;
    job.next_run_time = Some(Utc::now());
    job
}

async fn next_report(reports: &mut broadcast::Receiver<RunReport>) -> RunReport {
    tokio::time::timeout(Duration::from_secs(10), reports.recv())
        .await
        .expect("a run within 10 s")
        .unwrap()
}

async fn wait_until(what: &str, mut done: impl FnMut() -> bool) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    while !done() {
        assert!(tokio::time::Instant::now() < deadline, "timed out: {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_runtimes_sharing_the_file_run_each_job_exactly_once() {
    // spec: R26, R27, R28
    logs();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("jobs.db");
    let runs = Runs::default();
    let (store_a, store_b) = (open(&path).await, open(&path).await);
    // Each node's runs wait until the other has started one: both take part for sure.
    let meeting = Meeting::of(2);
    let a = meeting_runtime(
        &store_a,
        "a",
        &runs,
        Duration::from_millis(10),
        meeting.clone(),
    );
    let b = meeting_runtime(&store_b, "b", &runs, Duration::from_millis(10), meeting);
    a.start().await.unwrap();
    b.start().await.unwrap();
    // A third process queues the jobs: both nodes learn of them from the file.
    let producer = open(&path).await;
    let jobs: Vec<JobInfo> = (0..500).map(|i| queued(&format!("job-{i:03}"))).collect();
    assert!(producer.insert(&jobs).await.unwrap().iter().all(|i| *i));

    wait_until("every job ran", || runs.lock().unwrap().len() == 500).await;
    // Shutdown waits for every run in flight: no run can happen after it, so the counts
    // below are final and a duplicate would be in them.
    a.shutdown().await.unwrap();
    b.shutdown().await.unwrap();

    let runs = runs.lock().unwrap().clone();
    let twice: Vec<_> = runs.iter().filter(|(_, nodes)| nodes.len() != 1).collect();
    assert!(twice.is_empty(), "jobs run more than once: {twice:?}");
    for node in ["a", "b"] {
        assert!(
            runs.values().any(|nodes| nodes[0] == node),
            "node {node} ran nothing, although the other node's runs waited for it"
        );
    }
    for job in &jobs {
        let saved = producer.find(&job.id).await.unwrap().unwrap().job;
        assert_eq!(
            (saved.status, saved.trigger_count, saved.next_run_time),
            (JobStatus::Completed, 1, None),
            "{}",
            job.id
        );
        assert_eq!(producer.list_logs(&job.id, 10).await.unwrap().len(), 1);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_run_claimed_by_a_dead_node_is_rescued_and_completed_by_a_live_one() {
    // spec: R27, R13, R19
    logs();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("jobs.db");
    let dead = open(&path).await;
    dead.insert(&[queued("orphan")]).await.unwrap();
    // The dead node claims the run with a one-second lease and is never heard of again.
    let claimed = dead
        .claim(&ClaimRequest {
            node: "dead",
            now: Utc::now(),
            limit: 1,
            lease: Duration::from_secs(1),
            job_types: None,
        })
        .await
        .unwrap()
        .remove(0);

    let runs = Runs::default();
    let store = open(&path).await;
    let live = runtime(&store, "live", &runs, Duration::ZERO);
    let mut reports = live.subscribe();
    live.start().await.unwrap();
    let report = next_report(&mut reports).await;
    assert_eq!(
        (report.job_id.as_str(), report.succeeded()),
        ("orphan", true)
    );
    live.shutdown().await.unwrap();

    assert_eq!(runs.lock().unwrap()["orphan"], vec!["live".to_owned()]);
    let saved = store.find("orphan").await.unwrap().unwrap().job;
    assert_eq!(
        (saved.status, saved.trigger_count, saved.try_count),
        (JobStatus::Completed, 1, 0),
        "the interrupted run was not counted as a failed try"
    );
    let logs = store.list_logs("orphan", 10).await.unwrap();
    assert_eq!(logs.len(), 2, "{logs:?}");
    assert_eq!(logs[0].node, "live");
    assert!(
        logs[1]
            .exception
            .as_deref()
            .is_some_and(|e| e.contains("node `dead`")),
        "the interruption is logged: {logs:?}"
    );
    let mut late = claimed.job.clone();
    late.result = Some("from the dead".into());
    assert_eq!(
        dead.complete(&[RunCompletion::new(claimed.lease.clone(), late)], &[])
            .await
            .unwrap(),
        vec![CompletionOutcome::LeaseLost],
        "the dead node's late result is refused"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restarted_runtime_carries_on_where_the_last_one_stopped() {
    // spec: R3, R13, R19, R27
    logs();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("jobs.db");
    let runs = Runs::default();
    let store = open(&path).await;
    let first = runtime(&store, "a", &runs, Duration::ZERO);
    let mut reports = first.subscribe();
    first.start().await.unwrap();
    first
        .queue(JobInfo::persistent("every-second", "count", 1, 3))
        .await
        .unwrap();
    next_report(&mut reports).await;
    first.shutdown().await.unwrap();
    store.close().await;
    drop(first);

    let store = open(&path).await;
    let stopped = store.find("every-second").await.unwrap().unwrap().job;
    assert_eq!(
        (stopped.status, stopped.trigger_count),
        (JobStatus::Running, 1)
    );
    assert!(stopped.next_run_time.is_some());
    let second = runtime(&store, "a", &runs, Duration::ZERO);
    let mut reports = second.subscribe();
    second.start().await.unwrap();
    let mut counts = Vec::new();
    for _ in 0..2 {
        let report = next_report(&mut reports).await;
        counts.push(report.job.map(|j| j.trigger_count));
    }
    second.shutdown().await.unwrap();

    assert_eq!(
        counts,
        vec![Some(2), Some(3)],
        "the trigger count carries on"
    );
    let done = store.find("every-second").await.unwrap().unwrap().job;
    assert_eq!(
        (done.status, done.trigger_count, done.next_run_time),
        (JobStatus::Completed, 3, None)
    );
    assert_eq!(runs.lock().unwrap()["every-second"].len(), 3);
    assert_eq!(store.list_logs("every-second", 10).await.unwrap().len(), 3);
}
