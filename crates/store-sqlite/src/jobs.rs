//! The [`JobStore`] contract on SQLite: the reference's store (R27) here; claims, the
//! end of runs, and leases in the modules `claims`, `completion` and `leases`.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use bgtasks_abstractions::{JobInfo, RunLease};
use bgtasks_core::store::{
    ClaimedRun, CompletionOutcome, JobLog, JobStore, ReleaseMode, RunCompletion, StoreError,
};
use chrono::{DateTime, Utc};
use sqlx::sqlite::SqliteRow;
use tokio::sync::Notify;

use crate::errors::store_error;
use crate::rows::{
    INSERT_LOG, RowReader, bind_job, bind_log, decode_job, job_assignments, job_columns,
    job_placeholders, limit, micros,
};
use crate::store::{INSERT_JOB, Inner, SqliteJobStore};
use crate::{claims, completion, leases};

/// The reference's order (R27): priority, then fewest tries, then earliest next run time
/// (none last); the id breaks ties so that the order is stable.
macro_rules! waiting_order {
    () => {
        " ORDER BY priority DESC, try_count ASC, next_run_time IS NULL, next_run_time ASC, id"
    };
}

/// The reference's waiting filter (R27) but the kind.
macro_rules! waiting_filter {
    () => {
        " WHERE is_abandoned = 0 AND status IN (5, 15) \
          AND ((max_count = 0 OR trigger_count < max_count) \
               OR (max_try_count = 0 OR try_count < max_try_count))"
    };
}

const LIST_WAITING: &str = concat!(
    "SELECT ",
    job_columns!(),
    " FROM bgtasks_jobs",
    waiting_filter!(),
    " AND kind <> 1",
    waiting_order!(),
    " LIMIT ?"
);

const LIST_PERIOD: &str = concat!(
    "SELECT ",
    job_columns!(),
    " FROM bgtasks_jobs",
    waiting_filter!(),
    " AND kind = 1",
    waiting_order!(),
    " LIMIT ?"
);

const LIST_RUNNING: &str = concat!(
    "SELECT ",
    job_columns!(),
    " FROM bgtasks_jobs WHERE status = 10 AND (node_name IS NULL OR node_name = ?)",
    waiting_order!(),
    " LIMIT ?"
);

const FIND: &str = concat!("SELECT ", job_columns!(), " FROM bgtasks_jobs WHERE id = ?");

/// Inserts or replaces a job's fields; a lease on it (and its fencing token) is kept.
const UPSERT_JOB: &str = concat!(
    "INSERT INTO bgtasks_jobs (",
    job_columns!(),
    ") VALUES (",
    job_placeholders!(),
    ") ON CONFLICT (id) DO UPDATE SET status = ?7, ",
    job_assignments!()
);

const LIST_LOGS: &str = "SELECT job_id, job_name, job_group, job_type, message, run_time, \
     exception, tenant_id, node, duration_ms FROM bgtasks_job_logs \
     WHERE job_id = ? ORDER BY id DESC LIMIT ?";

/// Appends the logs of `?1`, a JSON array of [`log_values`] arrays, in order.
const INSERT_LOGS: &str = "INSERT INTO bgtasks_job_logs \
     (job_id, job_name, job_group, job_type, message, run_time, exception, tenant_id, node, duration_ms) \
     SELECT value ->> 0, value ->> 1, value ->> 2, value ->> 3, value ->> 4, value ->> 5, \
            value ->> 6, value ->> 7, value ->> 8, value ->> 9 \
     FROM jsonb_each(?1) ORDER BY key";

/// A log's columns, in the order of [`INSERT_LOGS`].
fn log_values(log: &JobLog) -> serde_json::Value {
    serde_json::json!([
        log.job_id,
        log.job_name,
        log.job_group,
        log.job_type,
        log.message,
        micros(log.run_time),
        log.exception,
        log.tenant_id.map(|t| t.hyphenated().to_string()),
        log.node,
        i64::try_from(log.duration_ms).unwrap_or(i64::MAX),
    ])
}

const EXPIRED_COMPLETED: &str = concat!(
    "SELECT ",
    job_columns!(),
    " FROM bgtasks_jobs INDEXED BY bgtasks_jobs_completed \
      WHERE status = 0 AND (?1 IS NULL OR node_name = ?1) \
      AND COALESCE(last_run_time, end_time, creation_time) < ?2 \
      ORDER BY COALESCE(last_run_time, end_time, creation_time), id LIMIT ?3"
);

impl Inner {
    /// Wakes subscribers if `job`, as written, may become due.
    pub(crate) fn notify_if_schedulable(&self, job: &JobInfo) {
        if completion::schedulable(job) {
            self.signal.notify();
        }
    }

    fn decode_all(&self, rows: Vec<SqliteRow>) -> Result<Vec<JobInfo>, StoreError> {
        rows.iter().map(|row| decode_job(row, &self.db)).collect()
    }

    async fn list(
        &self,
        sql: &'static str,
        max: usize,
        what: &str,
    ) -> Result<Vec<JobInfo>, StoreError> {
        let rows = sqlx::query(sql)
            .bind(limit(max))
            .fetch_all(&self.pool)
            .await
            .map_err(|e| store_error(&self.db, what, e))?;
        self.decode_all(rows)
    }
}

#[async_trait]
impl JobStore for SqliteJobStore {
    async fn list_waiting(&self, max: usize) -> Result<Vec<JobInfo>, StoreError> {
        self.inner
            .list(LIST_WAITING, max, "list waiting jobs")
            .await
    }

    async fn list_period(&self, max: usize) -> Result<Vec<JobInfo>, StoreError> {
        self.inner.list(LIST_PERIOD, max, "list Period jobs").await
    }

    async fn list_running(&self, node: &str, max: usize) -> Result<Vec<JobInfo>, StoreError> {
        let inner = &self.inner;
        let rows = sqlx::query(LIST_RUNNING)
            .bind(node.to_owned())
            .bind(limit(max))
            .fetch_all(&inner.pool)
            .await
            .map_err(|e| store_error(&inner.db, "list Running jobs", e))?;
        inner.decode_all(rows)
    }

    async fn find(&self, id: &str) -> Result<Option<JobInfo>, StoreError> {
        let inner = &self.inner;
        let row = sqlx::query(FIND)
            .bind(id.to_owned())
            .fetch_optional(&inner.pool)
            .await
            .map_err(|e| store_error(&inner.db, &format!("find job `{id}`"), e))?;
        row.map(|row| decode_job(&row, &inner.db)).transpose()
    }

    async fn store(&self, job: &JobInfo) -> Result<(), StoreError> {
        let inner = &self.inner;
        let _write = inner.write_gate().await;
        bind_job(sqlx::query(UPSERT_JOB), job)?
            .execute(&inner.pool)
            .await
            .map_err(|e| store_error(&inner.db, &format!("store job `{}`", job.id), e))?;
        inner.notify_if_schedulable(job);
        Ok(())
    }

    async fn insert_many(&self, jobs: &[JobInfo]) -> Result<Vec<bool>, StoreError> {
        SqliteJobStore::insert_many(self, jobs).await
    }

    async fn insert(&self, job: &JobInfo) -> Result<bool, StoreError> {
        let inner = &self.inner;
        let _write = inner.write_gate().await;
        let done = bind_job(sqlx::query(INSERT_JOB), job)?
            .execute(&inner.pool)
            .await
            .map_err(|e| store_error(&inner.db, &format!("insert job `{}`", job.id), e))?;
        let inserted = done.rows_affected() == 1;
        if inserted {
            inner.notify_if_schedulable(job);
        }
        Ok(inserted)
    }

    async fn remove(&self, id: &str) -> Result<bool, StoreError> {
        let inner = &self.inner;
        let _write = inner.write_gate().await;
        let done = sqlx::query("DELETE FROM bgtasks_jobs WHERE id = ?")
            .bind(id.to_owned())
            .execute(&inner.pool)
            .await
            .map_err(|e| store_error(&inner.db, &format!("remove job `{id}`"), e))?;
        Ok(done.rows_affected() > 0)
    }

    async fn store_log(&self, log: &JobLog) -> Result<(), StoreError> {
        let inner = &self.inner;
        let _write = inner.write_gate().await;
        bind_log(sqlx::query(INSERT_LOG), log)
            .execute(&inner.pool)
            .await
            .map_err(|e| {
                store_error(
                    &inner.db,
                    &format!("store a run log of job `{}`", log.job_id),
                    e,
                )
            })?;
        Ok(())
    }

    async fn list_logs(&self, job_id: &str, max: usize) -> Result<Vec<JobLog>, StoreError> {
        let inner = &self.inner;
        let rows = sqlx::query(LIST_LOGS)
            .bind(job_id.to_owned())
            .bind(limit(max))
            .fetch_all(&inner.pool)
            .await
            .map_err(|e| store_error(&inner.db, &format!("list the logs of job `{job_id}`"), e))?;
        rows.iter()
            .map(|row| RowReader::new(row, &inner.db, "job_id").log())
            .collect()
    }

    async fn cleanup(
        &self,
        node: Option<&str>,
        expired_before: DateTime<Utc>,
        max: usize,
    ) -> Result<Vec<JobInfo>, StoreError> {
        let inner = &self.inner;
        let failed = |e| store_error(&inner.db, "clean up Completed jobs", e);
        let _write = inner.write_gate().await;
        let mut tx = inner
            .pool
            .begin_with("BEGIN IMMEDIATE")
            .await
            .map_err(failed)?;
        let rows = sqlx::query(EXPIRED_COMPLETED)
            .bind(node.map(str::to_owned))
            .bind(micros(expired_before))
            .bind(limit(max))
            .fetch_all(&mut *tx)
            .await
            .map_err(failed)?;
        let removed = inner.decode_all(rows)?;
        for job in &removed {
            for delete in [
                "DELETE FROM bgtasks_jobs WHERE id = ?",
                "DELETE FROM bgtasks_job_logs WHERE job_id = ?",
                "DELETE FROM bgtasks_job_actions WHERE job_id = ?",
            ] {
                sqlx::query(delete)
                    .bind(job.id.clone())
                    .execute(&mut *tx)
                    .await
                    .map_err(failed)?;
            }
        }
        tx.commit().await.map_err(failed)?;
        Ok(removed)
    }

    async fn claim_due(
        &self,
        node: &str,
        now: DateTime<Utc>,
        limit: usize,
        lease: Duration,
    ) -> Result<Vec<ClaimedRun>, StoreError> {
        claims::claim_due(&self.inner, node, now, limit, lease).await
    }

    async fn next_due_time(&self, node: &str) -> Result<Option<DateTime<Utc>>, StoreError> {
        claims::next_due_time(&self.inner, node).await
    }

    async fn renew_leases(
        &self,
        node: &str,
        leases: &[RunLease],
        until: DateTime<Utc>,
    ) -> Result<Vec<String>, StoreError> {
        leases::renew_leases(&self.inner, node, leases, until).await
    }

    async fn complete_run(
        &self,
        lease: &RunLease,
        job: &JobInfo,
    ) -> Result<CompletionOutcome, StoreError> {
        completion::complete_run(&self.inner, lease, job).await
    }

    async fn complete_runs(
        &self,
        runs: &[RunCompletion],
    ) -> Result<Vec<CompletionOutcome>, StoreError> {
        completion::complete_runs(&self.inner, runs).await
    }

    async fn write_runs(
        &self,
        runs: &[RunCompletion],
        logs: &[JobLog],
    ) -> Result<Vec<CompletionOutcome>, StoreError> {
        if logs.is_empty() {
            return completion::complete_runs(&self.inner, runs).await;
        }
        if runs.is_empty() {
            self.store_logs(logs).await?;
            return Ok(Vec::new());
        }
        let batch: Vec<serde_json::Value> = logs.iter().map(log_values).collect();
        let batch = serde_json::Value::Array(batch).to_string();
        completion::write_runs(&self.inner, runs, Some((INSERT_LOGS, batch))).await
    }

    async fn store_logs(&self, logs: &[JobLog]) -> Result<(), StoreError> {
        if logs.is_empty() {
            return Ok(());
        }
        let inner = &self.inner;
        let batch: Vec<serde_json::Value> = logs.iter().map(log_values).collect();
        let _write = inner.write_gate().await;
        sqlx::query(INSERT_LOGS)
            .bind(serde_json::Value::Array(batch).to_string())
            .execute(&inner.pool)
            .await
            .map_err(|e| store_error(&inner.db, "store run logs", e))?;
        Ok(())
    }

    /// Yes: a batch of completions or logs is one transaction, so one disk sync.
    fn prefers_batched_writes(&self) -> bool {
        true
    }

    async fn release_run(
        &self,
        lease: &RunLease,
        mode: ReleaseMode,
    ) -> Result<CompletionOutcome, StoreError> {
        completion::release_run(&self.inner, lease, mode).await
    }

    async fn rescue_expired(&self, now: DateTime<Utc>) -> Result<Vec<String>, StoreError> {
        leases::rescue_expired(&self.inner, now).await
    }

    /// Fires after this handle's own writes that may make a job due (insert, store,
    /// complete, release, rescue) and, when the store watches the file
    /// ([`watch_interval`](crate::SqliteStoreOptions::watch_interval)), within that
    /// interval of a commit by another process. Without the watcher, jobs queued by other
    /// processes are seen when the runtime next re-reads the next due time.
    fn subscribe_due(&self) -> Option<Arc<Notify>> {
        Some(self.inner.signal.subscribe())
    }
}
