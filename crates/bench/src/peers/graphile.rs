//! graphile_worker 0.14 on PostgreSQL at `concurrency(WORKERS)`, LISTEN/NOTIFY on. Two
//! modes: its defaults (one job per free worker per claim, 1 s poll), and tuned (a
//! local queue fetching in batches, a short poll, batched completions). Handlers are
//! spawned per job by the library. Drain is timed until the jobs table is empty
//! (graphile_worker deletes a job when it completes). Enqueue uses `WorkerUtils::add_job`
//! and, in bulk, `add_jobs`, on an initialised worker that is not running.

use std::ops::Range;
use std::sync::Arc;
use std::time::{Duration, Instant};

use graphile_worker::{
    IntoTaskHandlerResult, JobSpec, LocalQueueConfig, TaskHandler, Worker, WorkerContext,
    WorkerOptions, WorkerUtils,
};
use serde::{Deserialize, Serialize};
use sqlx::PgPool;

use crate::BenchResult;
use crate::enqueue::{self, Producer};
use crate::latency::{LatencySamples, measure};
use crate::pg::FreshDatabase;
use crate::probe::{Counter, StartSignal, start_signal};
use crate::scale::{Scale, WORKERS};

/// Which configuration of graphile_worker.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Mode {
    /// `WorkerOptions::default()` plus the concurrency.
    Default,
    /// Local queue of [`TUNED_LOCAL_QUEUE`] jobs, [`TUNED_POLL`] poll, completions
    /// batched every [`TUNED_COMPLETION_DELAY`].
    Tuned,
}

/// The tuned mode's local queue size.
pub(crate) const TUNED_LOCAL_QUEUE: usize = 1_000;
/// The tuned mode's poll interval.
pub(crate) const TUNED_POLL: Duration = Duration::from_millis(100);
/// The tuned mode's completion batching delay.
pub(crate) const TUNED_COMPLETION_DELAY: Duration = Duration::from_millis(2);

/// What the handler reports to.
#[derive(Debug, Clone)]
enum Probe {
    Count(Arc<Counter>),
    Signal(Arc<StartSignal>),
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct Noop {}

impl TaskHandler for Noop {
    const IDENTIFIER: &'static str = "noop";

    async fn run(self, ctx: WorkerContext) -> impl IntoTaskHandlerResult {
        match ctx.extensions().get::<Probe>() {
            Some(Probe::Count(counter)) => counter.hit(),
            Some(Probe::Signal(signal)) => {
                signal.started();
                signal.finished();
            }
            None => {}
        }
        Ok::<(), String>(())
    }
}

async fn worker(database: &FreshDatabase, mode: Mode, probe: Probe) -> BenchResult<Worker> {
    let mut options = WorkerOptions::default()
        .database_url(&database.url)
        .concurrency(WORKERS)
        .schema("graphile_worker")
        .listen_os_shutdown_signals(false)
        .add_extension(probe)
        .define_job::<Noop>();
    if mode == Mode::Tuned {
        options = options
            .poll_interval(TUNED_POLL)
            .local_queue(LocalQueueConfig::default().with_size(TUNED_LOCAL_QUEUE))
            .complete_job_batch_delay(TUNED_COMPLETION_DELAY);
    }
    Ok(options.init().await?)
}

async fn remaining(pool: &PgPool) -> BenchResult<i64> {
    Ok(
        sqlx::query_scalar("SELECT COUNT(*) FROM graphile_worker._private_jobs")
            .fetch_one(pool)
            .await?,
    )
}

/// One drain of `n` jobs; jobs per second until the jobs table is empty.
pub(crate) async fn drain(n: usize, mode: Mode) -> BenchResult<f64> {
    let database = FreshDatabase::create("graphile").await?;
    let counter = Arc::new(Counter::new(n));
    let worker = Arc::new(worker(&database, mode, Probe::Count(counter.clone())).await?);
    let utils = worker.create_utils();
    let spec = JobSpec::default();
    for start in (0..n).step_by(1_000) {
        let batch: Vec<(Noop, &JobSpec)> = (start..(start + 1_000).min(n))
            .map(|_| (Noop {}, &spec))
            .collect();
        utils.add_jobs(&batch).await?;
    }
    let started = Instant::now();
    let running = worker.clone();
    let handle = tokio::spawn(async move { running.run().await });
    counter.wait().await;
    let pool = worker.pg_pool().clone();
    let deadline = Instant::now() + Duration::from_secs(60);
    while remaining(&pool).await? > 0 {
        if Instant::now() > deadline {
            return Err("graphile_worker: jobs were left in the table".into());
        }
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    let elapsed = started.elapsed();
    worker.request_shutdown();
    let _ = tokio::time::timeout(Duration::from_secs(15), handle).await;
    drop(worker);
    database.drop_now().await?;
    Ok(n as f64 / elapsed.as_secs_f64())
}

/// One latency run (jobs added with `add_job`, which notifies the worker).
pub(crate) async fn latency(scale: &Scale, mode: Mode) -> BenchResult<LatencySamples> {
    let database = FreshDatabase::create("graphile").await?;
    let (signal, mut watch) = start_signal();
    let worker = Arc::new(worker(&database, mode, Probe::Signal(Arc::new(signal))).await?);
    let utils = worker.create_utils();
    let running = worker.clone();
    let handle = tokio::spawn(async move { running.run().await });
    let samples = measure(scale.latency_jobs, scale.latency_budget, &mut watch, |_| {
        let utils = utils.clone();
        async move {
            utils.add_job(Noop {}, JobSpec::default()).await?;
            Ok(())
        }
    })
    .await?;
    worker.request_shutdown();
    let _ = tokio::time::timeout(Duration::from_secs(15), handle).await;
    drop(worker);
    database.drop_now().await?;
    Ok(samples)
}

/// Clones share the worker's pool.
#[derive(Clone)]
struct Utils(WorkerUtils);

impl Producer for Utils {
    async fn one(&self, _i: usize) -> BenchResult<()> {
        self.0.add_job(Noop {}, JobSpec::default()).await?;
        Ok(())
    }

    async fn many(&self, range: Range<usize>) -> BenchResult<()> {
        let spec = JobSpec::default();
        let batch: Vec<(Noop, &JobSpec)> = range.map(|_| (Noop {}, &spec)).collect();
        let added = self.0.add_jobs(&batch).await?;
        if added.len() != batch.len() {
            return Err(format!("add_jobs added {} of {} jobs", added.len(), batch.len()).into());
        }
        Ok(())
    }
}

/// One enqueue run of `n` jobs into a fresh database (default options, nothing
/// running); jobs per second.
pub(crate) async fn enqueue(n: usize, mode: enqueue::Mode) -> BenchResult<f64> {
    let database = FreshDatabase::create("graphile").await?;
    let probe = Probe::Count(Arc::new(Counter::new(n)));
    let worker = worker(&database, Mode::Default, probe).await?;
    let rate = enqueue::run(&Utils(worker.create_utils()), n, mode).await;
    drop(worker);
    database.drop_now().await?;
    rate
}
