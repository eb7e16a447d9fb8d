//! Several real runtimes, each with its own pool, sharing one PostgreSQL database in real
//! time with short leases (2 s, renewed every 500 ms, rescued every 500 ms): every run
//! happens once, a Period tick runs once across nodes, a dead node's run is rescued, and
//! pinned jobs stay on their node.
// spec: R3, R26, R27, R28, R30

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::collections::HashSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use bgtasks_abstractions::{JobError, JobInfo, JobRunnableContext, JobStatus, job_fn};
use bgtasks_core::store::{
    ClaimRequest, CompletionOutcome, JobDefinitions, JobRuns, RunCompletion, RunLogs,
};
use bgtasks_core::{JobScheduler, RunReport, Runtime};
use bgtasks_postgres::PostgresJobStore;
use chrono::{Timelike, Utc};
use tokio::sync::broadcast;

/// A node: a runtime on a pool of its own, with short leases, running job type "count"
/// (which bumps `counters[i]` for arg `i`) and "tick" (which does nothing).
async fn node(url: &str, name: &str, workers: usize, counters: Arc<Vec<AtomicU32>>) -> Runtime {
    let store = support::connect(url).await;
    Runtime::builder()
        .lock_provider(Arc::new(store.lock_provider()))
        .store(Arc::new(store))
        .node_name(name)
        .workers(workers)
        .configure(|o| {
            o.lease_duration = Duration::from_secs(2);
            o.lease_renewal_interval = Duration::from_millis(500);
            o.rescue_interval = Duration::from_millis(500);
            o.shutdown_grace = Duration::from_secs(2);
            o.interrupt_grace = Duration::from_secs(1);
        })
        .runnable(
            "count",
            job_fn(move |ctx: JobRunnableContext| {
                let counters = counters.clone();
                async move {
                    let i: usize = ctx.get("i")?;
                    counters[i].fetch_add(1, Ordering::SeqCst);
                    Ok::<(), JobError>(())
                }
            }),
        )
        .runnable(
            "tick",
            job_fn(|_ctx: JobRunnableContext| async { Ok::<(), JobError>(()) }),
        )
        .build()
        .unwrap()
}

fn counters(n: usize) -> Arc<Vec<AtomicU32>> {
    Arc::new((0..n).map(|_| AtomicU32::new(0)).collect())
}

fn counting_job(i: usize) -> JobInfo {
    JobInfo::once(format!("job-{i:05}"), "count").with_arg("i", i)
}

/// Every report received so far.
fn drain(receiver: &mut broadcast::Receiver<RunReport>) -> Vec<RunReport> {
    let mut reports = Vec::new();
    while let Ok(report) = receiver.try_recv() {
        reports.push(report);
    }
    reports
}

async fn count_rows(store: &PostgresJobStore, sql: &'static str) -> i64 {
    sqlx::query_scalar(sql)
        .fetch_one(store.pool())
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_nodes_run_two_thousand_jobs_each_exactly_once() {
    const JOBS: usize = 2_000;
    let url = support::fresh_database().await;
    let counters = counters(JOBS);
    let mut nodes = Vec::new();
    for name in ["n1", "n2", "n3"] {
        let runtime = node(&url, name, 4, counters.clone()).await;
        runtime.start().await.unwrap();
        nodes.push(runtime);
    }
    // Queue while the nodes are already claiming, through a pool of its own.
    let writer = support::connect(&url).await;
    let started = Instant::now();
    let inserts = (0..4).map(|part| {
        let writer = writer.clone();
        tokio::spawn(async move {
            for i in (part..JOBS).step_by(4) {
                let mut job = counting_job(i);
                job.status = JobStatus::Queuing;
                job.next_run_time = Some(job.begin_time);
                assert_eq!(writer.insert(&[job]).await.unwrap(), vec![true]);
            }
        })
    });
    for insert in inserts {
        insert.await.unwrap();
    }
    let deadline = Instant::now() + Duration::from_secs(40);
    loop {
        let total: u32 = counters.iter().map(|c| c.load(Ordering::SeqCst)).sum();
        let completed = count_rows(
            &writer,
            "SELECT count(*) FROM bgtasks_jobs WHERE status = 0",
        )
        .await;
        if total as usize >= JOBS && completed as usize == JOBS {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "only {total} runs and {completed} completed jobs after 40 s"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    println!(
        "3 nodes × 4 workers ran {JOBS} jobs in {:?}",
        started.elapsed()
    );
    // Shutdown waits for every run in flight: no run can happen after it, so the counts
    // below are final and a duplicate would be in them.
    for runtime in &nodes {
        runtime.shutdown().await.unwrap();
    }
    let runs: Vec<u32> = counters.iter().map(|c| c.load(Ordering::SeqCst)).collect();
    let twice: Vec<usize> = (0..JOBS).filter(|&i| runs[i] != 1).collect();
    assert!(twice.is_empty(), "jobs not run exactly once: {twice:?}");
    assert_eq!(runs.iter().sum::<u32>() as usize, JOBS);
    assert_eq!(
        count_rows(
            &writer,
            "SELECT count(*) FROM bgtasks_jobs WHERE lease_node IS NOT NULL"
        )
        .await,
        0,
        "no lease left behind"
    );
    assert_eq!(
        count_rows(&writer, "SELECT count(*) FROM bgtasks_jobs WHERE trigger_count = 1 AND try_count = 0 AND status = 0").await,
        JOBS as i64
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_period_tick_runs_once_across_three_nodes() {
    let url = support::fresh_database().await;
    let mut nodes = Vec::new();
    let mut reports = Vec::new();
    for name in ["n1", "n2", "n3"] {
        let runtime = node(&url, name, 2, counters(0)).await;
        reports.push(runtime.subscribe());
        runtime.start().await.unwrap();
        nodes.push(runtime);
    }
    let queued_at = Utc::now();
    nodes[0]
        .queue(JobInfo::period("every-second", "tick", "0/1 * * * * ?"))
        .await
        .unwrap();
    // Wait for five saved runs (not for a fixed time: a loaded machine is slower, and
    // no number of runs within a wall-clock window is promised).
    let store = support::connect(&url).await;
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let job = store.find("every-second").await.unwrap().unwrap().job;
        if job.trigger_count >= 5 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "only {} runs saved within 60 s",
            job.trigger_count
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    for runtime in &nodes {
        runtime.shutdown().await.unwrap();
    }
    let stopped_at = Utc::now();
    let runs: Vec<RunReport> = reports.iter_mut().flat_map(drain).collect();
    let seconds: Vec<i64> = runs.iter().map(|r| r.run_time.timestamp()).collect();
    let nodes_used: HashSet<&str> = runs.iter().map(|r| r.node.as_str()).collect();
    println!("{} runs on {nodes_used:?} at {seconds:?}", runs.len());
    assert!(runs.iter().all(RunReport::succeeded));
    // Each claim moved the job on to a following tick, saved with the run: one run per
    // tick means no two runs saved the same following tick.
    let following: HashSet<_> = runs
        .iter()
        .map(|r| r.job.as_ref().expect("saved").next_run_time)
        .collect();
    assert_eq!(following.len(), runs.len(), "two runs of one tick");
    // The ticks in (queued_at, stopped_at]: at most that many runs, and most of them ran.
    let ticks =
        stopped_at.timestamp() - queued_at.timestamp() - i64::from(stopped_at.nanosecond() == 0);
    assert!(
        runs.len() as i64 <= ticks,
        "{} runs for {ticks} ticks",
        runs.len()
    );
    let job = store.find("every-second").await.unwrap().unwrap().job;
    assert_eq!(
        job.trigger_count as usize,
        runs.len(),
        "each run saved once"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_run_whose_node_died_is_rescued_and_finished_by_another_node() {
    let url = support::fresh_database().await;
    let counters = counters(1);
    // The node that dies: claims the run on its own pool, then never renews or completes.
    let dead = support::connect(&url).await;
    let mut job = counting_job(0);
    job.status = JobStatus::Queuing;
    job.next_run_time = Some(job.begin_time);
    dead.insert(&[job]).await.unwrap();
    let orphan = dead
        .claim(&ClaimRequest {
            node: "dead-node",
            now: Utc::now(),
            limit: 1,
            lease: Duration::from_secs(1),
            job_types: None,
        })
        .await
        .unwrap()
        .remove(0);
    let started = Instant::now();
    let mut nodes = Vec::new();
    let mut reports = Vec::new();
    for name in ["n1", "n2"] {
        let runtime = node(&url, name, 2, counters.clone()).await;
        reports.push(runtime.subscribe());
        runtime.start().await.unwrap();
        nodes.push(runtime);
    }
    let deadline = Instant::now() + Duration::from_secs(15);
    let finished = loop {
        let job = dead.find(&orphan.job.id).await.unwrap().unwrap().job;
        if job.status == JobStatus::Completed {
            break job;
        }
        assert!(
            Instant::now() < deadline,
            "not rescued within 15 s: {job:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    println!(
        "rescued and finished {:?} after the claim",
        started.elapsed()
    );
    for runtime in &nodes {
        runtime.shutdown().await.unwrap();
    }
    assert_eq!(
        counters[0].load(Ordering::SeqCst),
        1,
        "run once, by a live node"
    );
    assert_eq!(
        (finished.try_count, finished.trigger_count),
        (0, 1),
        "a rescue is no failed try"
    );
    let runs: Vec<RunReport> = reports.iter_mut().flat_map(drain).collect();
    assert_eq!(runs.len(), 1);
    assert!(runs[0].succeeded() && runs[0].node != "dead-node");
    let logs = dead.list_logs(&orphan.job.id, 10).await.unwrap();
    assert!(
        logs.iter().any(|l| l
            .exception
            .as_deref()
            .is_some_and(|e| e.contains("node `dead-node`"))),
        "the run log shows the interruption: {logs:?}"
    );
    assert!(
        logs.iter()
            .any(|l| l.exception.is_none() && l.node == runs[0].node)
    );
    // The dead node comes back and tries to complete: its lease is long gone.
    assert_eq!(
        dead.complete(
            &[RunCompletion::new(orphan.lease.clone(), orphan.job.clone())],
            &[]
        )
        .await
        .unwrap(),
        vec![CompletionOutcome::LeaseLost]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn jobs_pinned_to_a_node_run_only_there() {
    const JOBS: usize = 60;
    let url = support::fresh_database().await;
    let counters = counters(JOBS);
    let mut nodes = Vec::new();
    let mut reports = Vec::new();
    for name in ["n1", "n2", "n3"] {
        let runtime = node(&url, name, 3, counters.clone()).await;
        reports.push(runtime.subscribe());
        runtime.start().await.unwrap();
        nodes.push(runtime);
    }
    let jobs: Vec<JobInfo> = (0..JOBS)
        .map(|i| {
            let job = counting_job(i);
            if i.is_multiple_of(2) {
                job.with_node("n2")
            } else {
                job
            }
        })
        .collect();
    nodes[0].queue_many(jobs).await.unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    while counters
        .iter()
        .map(|c| c.load(Ordering::SeqCst))
        .sum::<u32>()
        < JOBS as u32
    {
        assert!(Instant::now() < deadline, "not all jobs ran within 20 s");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    for runtime in &nodes {
        runtime.shutdown().await.unwrap();
    }
    let runs: Vec<RunReport> = reports.iter_mut().flat_map(drain).collect();
    assert_eq!(runs.len(), JOBS);
    let pinned = |run: &RunReport| {
        let i: usize = run.job_id.trim_start_matches("job-").parse().unwrap();
        i.is_multiple_of(2)
    };
    for run in runs.iter().filter(|r| pinned(r)) {
        assert_eq!(run.node, "n2", "{} is pinned to n2", run.job_id);
    }
    let unpinned_nodes: HashSet<&str> = runs
        .iter()
        .filter(|r| !pinned(r))
        .map(|r| r.node.as_str())
        .collect();
    println!("unpinned jobs ran on {unpinned_nodes:?}");
    assert!(counters.iter().all(|c| c.load(Ordering::SeqCst) == 1));
}
