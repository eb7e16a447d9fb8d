//! apalis 1.0 with `apalis-sqlite` (WAL, synchronous FULL: its setup, which turns
//! synchronous off on the connection that runs it, runs on a separate connection that is
//! then closed), `.concurrency(WORKERS)`, handlers inline, default config (batch 10).
//! Drain is timed until the store shows every job `Done`; latency uses its update-hook
//! notifications; enqueue pushes through the storage's `TaskSink` (`push`, `push_bulk`).

use std::ops::Range;
use std::str::FromStr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use apalis::prelude::*;
use apalis_sqlite::SqliteStorage;
use sqlx::SqlitePool;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};

use crate::BenchResult;
use crate::enqueue::{self, Producer};
use crate::latency::{LatencySamples, measure};
use crate::probe::{Counter, start_signal};
use crate::scale::{Scale, WORKERS};

/// Creates the schema on a throwaway connection, so its `synchronous = OFF` dies with it.
async fn setup(url: &str) -> BenchResult<()> {
    let options = SqliteConnectOptions::from_str(url)?.create_if_missing(true);
    let pool = SqlitePoolOptions::new()
        .max_connections(1)
        .connect_with(options)
        .await?;
    SqliteStorage::setup(&pool).await?;
    pool.close().await;
    Ok(())
}

fn full_sync(url: &str) -> BenchResult<SqliteConnectOptions> {
    Ok(SqliteConnectOptions::from_str(url)?
        .journal_mode(SqliteJournalMode::Wal)
        .synchronous(SqliteSynchronous::Full)
        .busy_timeout(Duration::from_secs(5)))
}

/// Waits until `n` jobs show `Done` (or `limit` passes).
async fn settled(pool: &SqlitePool, n: usize, limit: Duration) -> BenchResult<bool> {
    let until = Instant::now() + limit;
    loop {
        let done: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM Jobs WHERE status = 'Done'")
            .fetch_one(pool)
            .await?;
        if done as usize >= n {
            return Ok(true);
        }
        if Instant::now() > until {
            return Ok(false);
        }
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
}

/// A fresh database file with apalis's schema, and a pool on it (WAL, synchronous FULL).
async fn open(dir: &tempfile::TempDir) -> BenchResult<SqlitePool> {
    let url = format!("sqlite://{}", dir.path().join("apalis.db").display());
    setup(&url).await?;
    Ok(SqlitePoolOptions::new()
        .connect_with(full_sync(&url)?)
        .await?)
}

/// One drain of `n` jobs; jobs per second until the store shows all `Done`.
pub(crate) async fn drain(n: usize) -> BenchResult<f64> {
    let dir = tempfile::tempdir()?;
    let pool = open(&dir).await?;
    let mut storage = SqliteStorage::<u32>::new(&pool);
    storage.push_bulk((0..n as u32).collect()).await?;
    let counter = Arc::new(Counter::new(n));
    let hits = counter.clone();
    let ctx = WorkerContext::new("apalis-sqlite-drain");
    let worker = WorkerBuilder::new(&ctx)
        .backend(storage)
        .concurrency(WORKERS)
        .build(move |_: u32| {
            let hits = hits.clone();
            async move {
                hits.hit();
                Ok::<(), BoxDynError>(())
            }
        });
    let started = Instant::now();
    let handle = tokio::spawn(worker.run());
    counter.wait().await;
    let all_done = settled(&pool, n, Duration::from_secs(60)).await?;
    let elapsed = started.elapsed();
    let _ = ctx.stop();
    let _ = tokio::time::timeout(Duration::from_secs(10), handle).await;
    pool.close().await;
    if !all_done {
        return Err("apalis-sqlite: the store never showed every job Done".into());
    }
    Ok(n as f64 / elapsed.as_secs_f64())
}

/// One latency run with the update-hook notifications.
pub(crate) async fn latency(scale: &Scale) -> BenchResult<LatencySamples> {
    let dir = tempfile::tempdir()?;
    let url = format!("sqlite://{}", dir.path().join("apalis.db").display());
    setup(&url).await?;
    let (pool, listener) = SqliteStorage::connect_with_callback(&url)?;
    let (signal, mut watch) = start_signal();
    let signal = Arc::new(signal);
    let ctx = WorkerContext::new("apalis-sqlite-latency");
    let worker = WorkerBuilder::new(&ctx)
        .backend(SqliteStorage::<u32>::new(&pool).with_callback(listener))
        .concurrency(WORKERS)
        .build(move |_: u32| {
            let signal = signal.clone();
            async move {
                signal.started();
                signal.finished();
                Ok::<(), BoxDynError>(())
            }
        });
    let handle = tokio::spawn(worker.run());
    let producer = SqliteStorage::<u32>::new(&pool);
    let samples = measure(scale.latency_jobs, scale.latency_budget, &mut watch, |i| {
        let mut producer = producer.clone();
        async move {
            producer.push(i as u32).await?;
            Ok(())
        }
    })
    .await?;
    let _ = ctx.stop();
    let _ = tokio::time::timeout(Duration::from_secs(10), handle).await;
    pool.close().await;
    Ok(samples)
}

/// Clones share the pool.
#[derive(Clone)]
struct Pusher(SqliteStorage<u32>);

impl Producer for Pusher {
    async fn one(&self, i: usize) -> BenchResult<()> {
        self.0.clone().push(i as u32).await?;
        Ok(())
    }

    async fn many(&self, range: Range<usize>) -> BenchResult<()> {
        let tasks = range.map(|i| i as u32).collect();
        self.0.clone().push_bulk(tasks).await?;
        Ok(())
    }
}

/// One enqueue run of `n` jobs into a fresh database; jobs per second.
pub(crate) async fn enqueue(n: usize, mode: enqueue::Mode) -> BenchResult<f64> {
    let dir = tempfile::tempdir()?;
    let pool = open(&dir).await?;
    let rate = enqueue::run(&Pusher(SqliteStorage::new(&pool)), n, mode).await;
    pool.close().await;
    rate
}
