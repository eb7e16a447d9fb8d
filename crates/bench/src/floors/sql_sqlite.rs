//! Raw SQLite claim-and-complete (WAL, synchronous FULL): FLOOR_CONNECTIONS loops, each
//! claiming a batch in one `UPDATE ... RETURNING` (SQLite has one writer at a time, so no
//! SKIP LOCKED is needed) and marking it done in a second statement, until nothing is
//! left.

use std::time::{Duration, Instant};

use sqlx::SqlitePool;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};

use crate::BenchResult;
use crate::scale::FLOOR_CONNECTIONS;

const SCHEMA: [&str; 2] = [
    "CREATE TABLE jobs (
        id INTEGER PRIMARY KEY,
        status INTEGER NOT NULL DEFAULT 0,
        run_at INTEGER NOT NULL,
        locked_by TEXT,
        locked_at INTEGER,
        done_at INTEGER,
        payload TEXT NOT NULL DEFAULT '{}'
    )",
    "CREATE INDEX jobs_due ON jobs (run_at, id) WHERE status = 0",
];

const CLAIM: &str =
    "UPDATE jobs SET status = 1, locked_by = ?1, locked_at = unixepoch('subsec') * 1000
    WHERE id IN (SELECT id FROM jobs WHERE status = 0 AND run_at <= unixepoch('subsec') * 1000
                 ORDER BY run_at, id LIMIT ?2)
    RETURNING id";

async fn worker(pool: SqlitePool, name: String, batch: i64) -> BenchResult<usize> {
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
        let list = serde_json::to_string(&ids)?;
        sqlx::query(
            "UPDATE jobs SET status = 2, done_at = unixepoch('subsec') * 1000
             WHERE id IN (SELECT value FROM json_each(?1))",
        )
        .bind(list)
        .execute(&pool)
        .await?;
        done += ids.len();
    }
}

/// One run of `n` jobs at `batch`; jobs per second.
pub(crate) async fn drain(n: usize, batch: usize) -> BenchResult<f64> {
    let dir = tempfile::tempdir()?;
    let options = SqliteConnectOptions::new()
        .filename(dir.path().join("floor.db"))
        .create_if_missing(true)
        .journal_mode(SqliteJournalMode::Wal)
        .synchronous(SqliteSynchronous::Full)
        .busy_timeout(Duration::from_secs(30));
    let pool = SqlitePoolOptions::new()
        .max_connections(FLOOR_CONNECTIONS as u32)
        .connect_with(options)
        .await?;
    for statement in SCHEMA {
        sqlx::query(statement).execute(&pool).await?;
    }
    sqlx::query(
        "WITH RECURSIVE seq(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM seq WHERE i < ?1)
         INSERT INTO jobs (run_at) SELECT unixepoch('subsec') * 1000 - 1000 FROM seq",
    )
    .bind(n as i64)
    .execute(&pool)
    .await?;
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
    if done != n {
        return Err(format!("sqlite floor completed {done} of {n}").into());
    }
    Ok(n as f64 / elapsed.as_secs_f64())
}
