//! apalis 1.0 with `apalis-postgres`, `.concurrency(WORKERS)`, handlers inline, default
//! config (batch 10). Drain is timed until the store shows every job `Done`; latency uses
//! its LISTEN/NOTIFY pubsub; enqueue pushes through the storage's `TaskSink` (`push`,
//! `push_bulk`).

use std::ops::Range;
use std::sync::Arc;
use std::time::{Duration, Instant};

use apalis::prelude::*;
use apalis_postgres::PostgresStorage;
use sqlx::PgPool;
use sqlx::postgres::PgPoolOptions;

use crate::BenchResult;
use crate::enqueue::{self, Producer};
use crate::latency::{LatencySamples, measure};
use crate::pg::FreshDatabase;
use crate::probe::{Counter, start_signal};
use crate::scale::{Scale, WORKERS};

async fn connect(database: &FreshDatabase) -> BenchResult<PgPool> {
    let pool = PgPoolOptions::new()
        .max_connections(10)
        .connect(&database.url)
        .await?;
    PostgresStorage::setup(&pool).await?;
    Ok(pool)
}

/// Waits until `n` jobs show `Done` (or `limit` passes).
async fn settled(pool: &PgPool, n: usize, limit: Duration) -> BenchResult<bool> {
    let until = Instant::now() + limit;
    loop {
        let done: i64 =
            sqlx::query_scalar("SELECT COUNT(*) FROM apalis.jobs WHERE status = 'Done'")
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

/// One drain of `n` jobs; jobs per second until the store shows all `Done`.
pub(crate) async fn drain(n: usize) -> BenchResult<f64> {
    let database = FreshDatabase::create("apalis").await?;
    let pool = connect(&database).await?;
    let mut storage = PostgresStorage::<u32>::new(&pool);
    storage.push_bulk((0..n as u32).collect()).await?;
    let counter = Arc::new(Counter::new(n));
    let hits = counter.clone();
    let ctx = WorkerContext::new("apalis-postgres-drain");
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
    database.drop_now().await?;
    if !all_done {
        return Err("apalis-postgres: the store never showed every job Done".into());
    }
    Ok(n as f64 / elapsed.as_secs_f64())
}

/// One latency run with the pubsub (LISTEN/NOTIFY) strategy.
pub(crate) async fn latency(scale: &Scale) -> BenchResult<LatencySamples> {
    let database = FreshDatabase::create("apalis").await?;
    let pool = connect(&database).await?;
    let (signal, mut watch) = start_signal();
    let signal = Arc::new(signal);
    let ctx = WorkerContext::new("apalis-postgres-latency");
    let worker = WorkerBuilder::new(&ctx)
        .backend(PostgresStorage::<u32>::new(&pool).with_pubsub())
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
    let producer = PostgresStorage::<u32>::new(&pool);
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
    database.drop_now().await?;
    Ok(samples)
}

/// Clones share the pool.
#[derive(Clone)]
struct Pusher(PostgresStorage<u32>);

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
    let database = FreshDatabase::create("apalis").await?;
    let pool = connect(&database).await?;
    let rate = enqueue::run(&Pusher(PostgresStorage::new(&pool)), n, mode).await;
    pool.close().await;
    database.drop_now().await?;
    rate
}
