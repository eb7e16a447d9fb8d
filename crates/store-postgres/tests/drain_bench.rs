//! Throughput checks, not run by default (`cargo test --release -p bgtasks-postgres
//! --test drain_bench -- --ignored --nocapture`; `BENCH_CLAIMERS` sets the number of
//! concurrent claimers, 4 by default, `BENCH_WORKERS` the runtime's workers, 32):
//! - `drain_20k_store_vs_raw` drains 20,000 due Once jobs through the store (claim 100,
//!   complete the batch) and through two raw `FOR UPDATE SKIP LOCKED` loops at batch 100
//!   on the same schema (claim and complete in one transaction; claim, then complete),
//!   each on a fresh database, and prints the rates;
//! - `drain_20k_through_a_runtime` drains them through one runtime on the store.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::time::{Duration, Instant};

use bgtasks_abstractions::JobStatus;
use bgtasks_core::store::{JobStore, RunCompletion};
use bgtasks_postgres::PostgresJobStore;
use chrono::Utc;

const JOBS: usize = 20_000;
const BATCH: usize = 100;

fn claimers() -> usize {
    std::env::var("BENCH_CLAIMERS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(4)
}

async fn seed(store: &PostgresJobStore) {
    sqlx::query(
        "INSERT INTO bgtasks_jobs (id, name, job_group, job_type, args, status, description, \
           creation_time, begin_time, next_run_time, kind, trigger_count, try_count, \
           max_try_count, max_count, is_abandoned, interval_secs, priority, \
           lock_timeout_secs, source) \
         SELECT 'job-' || i, 'job-' || i, 'Default', 't', '{}', 5, '', now(), now(), \
           now() - interval '1 second', 0, 0, 0, 50, 0, false, 300, 15, 0, -1 \
         FROM generate_series(1, $1) AS i",
    )
    .bind(JOBS as i32)
    .execute(store.pool())
    .await
    .unwrap();
    sqlx::query("VACUUM ANALYZE bgtasks_jobs")
        .execute(store.pool())
        .await
        .unwrap();
}

async fn drain_store(store: PostgresJobStore) -> usize {
    let mut done = 0;
    loop {
        let runs = store
            .claim_due("bench", Utc::now(), BATCH, Duration::from_secs(60))
            .await
            .unwrap();
        if runs.is_empty() {
            return done;
        }
        let completions: Vec<RunCompletion> = runs
            .into_iter()
            .map(|run| {
                let mut job = run.job;
                job.status = JobStatus::Completed;
                job.trigger_count += 1;
                job.last_run_time = Some(Utc::now());
                RunCompletion {
                    lease: run.lease,
                    job,
                }
            })
            .collect();
        done += store.complete_runs(&completions).await.unwrap().len();
    }
}

async fn drain_raw(pool: sqlx::PgPool) -> usize {
    let mut done = 0;
    loop {
        let mut tx = pool.begin().await.unwrap();
        let ids: Vec<String> = sqlx::query_scalar(
            "SELECT id FROM bgtasks_jobs WHERE lease_node IS NULL AND NOT is_abandoned \
               AND status IN (5, 10, 15) AND next_run_time IS NOT NULL AND next_run_time <= now() \
             ORDER BY priority DESC, try_count, next_run_time LIMIT $1 FOR UPDATE SKIP LOCKED",
        )
        .bind(BATCH as i64)
        .fetch_all(&mut *tx)
        .await
        .unwrap();
        if ids.is_empty() {
            return done;
        }
        sqlx::query(
            "UPDATE bgtasks_jobs SET status = 0, next_run_time = NULL, \
               trigger_count = trigger_count + 1, last_run_time = now() WHERE id = ANY($1)",
        )
        .bind(&ids)
        .execute(&mut *tx)
        .await
        .unwrap();
        tx.commit().await.unwrap();
        done += ids.len();
    }
}

/// The raw loop as a job queue runs it: claim a batch (one statement, leasing the rows),
/// then complete it (a second statement), each its own transaction.
async fn drain_raw_two_step(pool: sqlx::PgPool) -> usize {
    let mut done = 0;
    loop {
        let ids: Vec<String> = sqlx::query_scalar(
            "UPDATE bgtasks_jobs SET lease_node = 'raw', lease_token = lease_token + 1, \
               lease_expires_at = now() + interval '60 seconds', lease_due_at = next_run_time \
             WHERE id IN (SELECT id FROM bgtasks_jobs WHERE lease_node IS NULL \
               AND NOT is_abandoned AND status IN (5, 10, 15) AND next_run_time IS NOT NULL \
               AND next_run_time <= now() \
               ORDER BY priority DESC, try_count, next_run_time LIMIT $1 FOR UPDATE SKIP LOCKED) \
             RETURNING id",
        )
        .bind(BATCH as i64)
        .fetch_all(&pool)
        .await
        .unwrap();
        if ids.is_empty() {
            return done;
        }
        sqlx::query(
            "UPDATE bgtasks_jobs SET status = 0, next_run_time = NULL, lease_node = NULL, \
               lease_expires_at = NULL, lease_due_at = NULL, \
               trigger_count = trigger_count + 1, last_run_time = now() WHERE id = ANY($1)",
        )
        .bind(&ids)
        .execute(&pool)
        .await
        .unwrap();
        done += ids.len();
    }
}

async fn timed<F: Future<Output = usize> + Send + 'static>(
    tasks: impl IntoIterator<Item = F>,
) -> f64 {
    let started = Instant::now();
    let handles: Vec<_> = tasks.into_iter().map(tokio::spawn).collect();
    let mut total = 0;
    for handle in handles {
        total += handle.await.unwrap();
    }
    assert_eq!(total, JOBS);
    JOBS as f64 / started.elapsed().as_secs_f64()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "a benchmark: run it by hand, in release mode"]
async fn drain_20k_store_vs_raw() {
    let raw_url = support::fresh_database().await;
    let raw_store = support::connect(&raw_url).await;
    seed(&raw_store).await;
    let raw = timed((0..claimers()).map(|_| drain_raw(raw_store.pool().clone()))).await;

    let two_url = support::fresh_database().await;
    let two_store = support::connect(&two_url).await;
    seed(&two_store).await;
    let two = timed((0..claimers()).map(|_| drain_raw_two_step(two_store.pool().clone()))).await;

    let url = support::fresh_database().await;
    let store = support::connect(&url).await;
    seed(&store).await;
    let ours = timed((0..claimers()).map(|_| drain_store(store.clone()))).await;
    println!(
        "{} claimers, batch {BATCH}: raw claim+complete in one transaction {raw:.0} jobs/s; \
         raw claim then complete (two statements) {two:.0} jobs/s; \
         PostgresJobStore claim_due + complete_runs {ours:.0} jobs/s \
         ({:.0} % / {:.0} %)",
        claimers(),
        100.0 * ours / raw,
        100.0 * ours / two
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "a benchmark: run it by hand, in release mode"]
async fn drain_20k_through_a_runtime() {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};

    use bgtasks_abstractions::{JobError, JobRunnableContext, job_fn};
    use bgtasks_core::{JobScheduler, Runtime};

    let url = support::fresh_database().await;
    let store = PostgresJobStore::connect(&url, support::options().with_max_connections(8))
        .await
        .unwrap();
    seed(&store).await;
    let ran = Arc::new(AtomicUsize::new(0));
    let counted = ran.clone();
    let workers = std::env::var("BENCH_WORKERS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(32);
    let runtime = Runtime::builder()
        .store(Arc::new(store.clone()))
        .workers(workers)
        .runnable(
            "t",
            job_fn(move |_ctx: JobRunnableContext| {
                counted.fetch_add(1, Ordering::Relaxed);
                async { Ok::<(), JobError>(()) }
            }),
        )
        .build()
        .unwrap();
    let started = Instant::now();
    runtime.start().await.unwrap();
    loop {
        let completed: i64 =
            sqlx::query_scalar("SELECT count(*) FROM bgtasks_jobs WHERE status = 0")
                .fetch_one(store.pool())
                .await
                .unwrap();
        if completed as usize == JOBS {
            break;
        }
        assert!(started.elapsed() < Duration::from_secs(300));
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let elapsed = started.elapsed();
    runtime.shutdown().await.unwrap();
    assert_eq!(ran.load(Ordering::Relaxed), JOBS);
    println!(
        "one runtime, {workers} workers: {JOBS} jobs in {elapsed:?} = {:.0} jobs/s",
        JOBS as f64 / elapsed.as_secs_f64()
    );
}
