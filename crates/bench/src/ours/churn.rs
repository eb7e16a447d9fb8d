//! Churn on PostgreSQL: a started runtime at default options (default retention) runs
//! `total` no-op jobs while a producer keeps `backlog` of them waiting; the size of
//! bgtasks' tables (with their indexes and TOAST) is read before and after.

use std::sync::Arc;
use std::time::{Duration, Instant};

use bgtasks::prelude::*;
use sqlx::Connection;
use sqlx::postgres::PgConnection;

use super::{OpenedStore, StoreKind};
use crate::enqueue::BULK;
use crate::probe::Counter;
use crate::scale::WORKERS;
use crate::{BenchResult, progress};

/// What the churn measured.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Churn {
    /// Bytes of bgtasks' tables once the backlog is queued, before the runtime starts.
    pub(crate) bytes_before: f64,
    /// Bytes after every job ran and the runtime's connections closed.
    pub(crate) bytes_after: f64,
    /// Live rows of bgtasks' tables after (statistics collector's count).
    pub(crate) live_after: f64,
    /// Dead rows after (not yet vacuumed).
    pub(crate) dead_after: f64,
    /// Jobs per second from start to the last run's saved state.
    pub(crate) jobs_per_second: f64,
}

/// The size of bgtasks' tables and their live and dead rows.
#[derive(Debug, Clone, Copy)]
pub(crate) struct TableSize {
    /// `pg_total_relation_size`, summed.
    pub(crate) bytes: f64,
    /// `n_live_tup`, summed.
    pub(crate) live: f64,
    /// `n_dead_tup`, summed.
    pub(crate) dead: f64,
}

const SIZE: &str = "SELECT COALESCE(SUM(pg_total_relation_size(c.oid)), 0)::BIGINT,
        COALESCE(SUM(s.n_live_tup), 0)::BIGINT, COALESCE(SUM(s.n_dead_tup), 0)::BIGINT
    FROM pg_class c
    JOIN pg_namespace n ON n.oid = c.relnamespace
    LEFT JOIN pg_stat_user_tables s ON s.relid = c.oid
    WHERE c.relkind IN ('r', 'p') AND c.relname LIKE 'bgtasks\\_%'
      AND n.nspname NOT IN ('pg_catalog', 'information_schema')";

const OTHER_BACKENDS: &str = "SELECT COUNT(*) FROM pg_stat_activity
    WHERE datname = current_database() AND pid <> pg_backend_pid()";

/// Reads the size of bgtasks' tables in the database at `url`. With `quiet`, first
/// waits (up to 10 s) until no other connection is open, so that the statistics of the
/// closed ones have been flushed.
pub(crate) async fn table_size(url: &str, quiet: bool) -> BenchResult<TableSize> {
    let mut conn = PgConnection::connect(url).await?;
    if quiet {
        let until = Instant::now() + Duration::from_secs(10);
        while sqlx::query_scalar::<_, i64>(OTHER_BACKENDS)
            .fetch_one(&mut conn)
            .await?
            > 0
            && Instant::now() < until
        {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
    let (bytes, live, dead): (i64, i64, i64) = sqlx::query_as(SIZE).fetch_one(&mut conn).await?;
    conn.close().await?;
    Ok(TableSize {
        bytes: bytes as f64,
        live: live as f64,
        dead: dead as f64,
    })
}

async fn queue(runtime: &Runtime, from: usize, count: usize) -> BenchResult<()> {
    let jobs = (from..from + count)
        .map(|i| JobInfo::once(format!("c{i}"), "noop"))
        .collect();
    runtime.queue_many(jobs).await?;
    Ok(())
}

/// One churn of `total` jobs with `backlog` waiting.
pub(crate) async fn run(total: usize, backlog: usize) -> BenchResult<Churn> {
    let opened = OpenedStore::open(StoreKind::Postgres).await?;
    let url = opened.postgres_url()?.to_owned();
    let counter = Arc::new(Counter::new(total));
    let hits = counter.clone();
    let runtime = BackgroundTasks::builder()
        .workers(WORKERS)
        .store(opened.store.clone())
        .runnable(
            "noop",
            job_fn(move |_ctx| {
                let hits = hits.clone();
                async move {
                    hits.hit();
                    Ok::<(), JobError>(())
                }
            }),
        )
        .build()?;
    let mut queued = 0;
    while queued < backlog.min(total) {
        let count = BULK.min(backlog.min(total) - queued);
        queue(&runtime, queued, count).await?;
        queued += count;
    }
    let before = table_size(&url, false).await?;
    let started = Instant::now();
    runtime.start().await?;
    let limit = super::drain::stall_limit(total);
    let mut noted = Instant::now();
    while queued < total {
        if started.elapsed() > limit {
            return Err(format!("churn stalled: {} of {total} runs", counter.count()).into());
        }
        if queued - counter.count().min(queued) < backlog {
            let count = BULK.min(total - queued);
            queue(&runtime, queued, count).await?;
            queued += count;
        } else {
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
        if noted.elapsed() >= Duration::from_secs(15) {
            noted = Instant::now();
            progress::note(&format!(
                "churn of {total}: {queued} queued, {} run ({:.0} s)",
                counter.count(),
                started.elapsed().as_secs_f64()
            ));
        }
    }
    let left = limit.saturating_sub(started.elapsed());
    if tokio::time::timeout(left, counter.wait()).await.is_err() {
        return Err(format!("churn stalled: {} of {total} runs", counter.count()).into());
    }
    while runtime.running_count() > 0 {
        if started.elapsed() > limit {
            return Err("churn stalled: runs stayed in flight".into());
        }
        tokio::time::sleep(Duration::from_micros(200)).await;
    }
    let elapsed = started.elapsed();
    runtime.shutdown().await?;
    drop(runtime);
    opened.close_connections().await;
    let after = table_size(&url, true).await?;
    opened.close().await?;
    Ok(Churn {
        bytes_before: before.bytes,
        bytes_after: after.bytes,
        live_after: after.live,
        dead_after: after.dead,
        jobs_per_second: total as f64 / elapsed.as_secs_f64(),
    })
}
