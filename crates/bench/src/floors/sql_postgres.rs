//! Raw PostgreSQL claim-and-complete: FLOOR_CONNECTIONS loops, each claiming a batch with
//! `FOR UPDATE SKIP LOCKED` (one statement, autocommit), "running" it, and marking it done
//! (one statement, autocommit), until nothing is left. fsync on.

use std::time::Instant;

use sqlx::postgres::PgPoolOptions;
use sqlx::{Executor, PgPool};

use crate::BenchResult;
use crate::pg::FreshDatabase;
use crate::scale::FLOOR_CONNECTIONS;

const SCHEMA: &str = "CREATE TABLE jobs (
    id BIGSERIAL PRIMARY KEY,
    status SMALLINT NOT NULL DEFAULT 0,
    run_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    locked_by TEXT,
    locked_at TIMESTAMPTZ,
    done_at TIMESTAMPTZ,
    payload JSONB NOT NULL DEFAULT '{}'
);
CREATE INDEX jobs_due ON jobs (run_at, id) WHERE status = 0;";

const CLAIM: &str = "UPDATE jobs SET status = 1, locked_by = $1, locked_at = now()
    WHERE id IN (SELECT id FROM jobs WHERE status = 0 AND run_at <= now()
                 ORDER BY run_at, id LIMIT $2 FOR UPDATE SKIP LOCKED)
    RETURNING id";

const COMPLETE: &str = "UPDATE jobs SET status = 2, done_at = now() WHERE id = ANY($1)";

async fn worker(pool: PgPool, name: String, batch: i64) -> BenchResult<usize> {
    let mut done = 0;
    loop {
        let ids: Vec<i64> = sqlx::query_scalar(CLAIM)
            .bind(&name)
            .bind(batch)
            .fetch_all(&pool)
            .await?;
        if ids.is_empty() {
            return Ok(done);
        }
        for id in &ids {
            std::hint::black_box(id);
        }
        sqlx::query(COMPLETE).bind(&ids).execute(&pool).await?;
        done += ids.len();
    }
}

/// One run of `n` jobs at `batch`; jobs per second.
pub(crate) async fn drain(n: usize, batch: usize) -> BenchResult<f64> {
    let database = FreshDatabase::create("floor").await?;
    let pool = PgPoolOptions::new()
        .max_connections(FLOOR_CONNECTIONS as u32)
        .connect(&database.url)
        .await?;
    pool.execute(SCHEMA).await?;
    sqlx::query("INSERT INTO jobs (payload) SELECT '{}' FROM generate_series(1, $1)")
        .bind(n as i64)
        .execute(&pool)
        .await?;
    sqlx::query("VACUUM ANALYZE jobs").execute(&pool).await?;
    let started = Instant::now();
    let loops: Vec<_> = (0..FLOOR_CONNECTIONS)
        .map(|i| tokio::spawn(worker(pool.clone(), format!("w{i}"), batch as i64)))
        .collect();
    let mut done = 0;
    for handle in loops {
        done += handle.await??;
    }
    let elapsed = started.elapsed();
    pool.close().await;
    database.drop_now().await?;
    if done != n {
        return Err(format!("postgres floor completed {done} of {n}").into());
    }
    Ok(n as f64 / elapsed.as_secs_f64())
}
