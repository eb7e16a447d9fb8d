//! [`Maintenance`] on SQLite: the system jobs' transitions, each one transaction (or one
//! statement) with its conditions inside, so none writes back a job it read earlier; and
//! the retention of run logs (R46).

use bgtasks_abstractions::JobInfo;
use bgtasks_store::{LogRetention, Maintenance, StoreError};
use chrono::{DateTime, Utc};
use serde_json::json;
use sqlx::Row;

use crate::definitions::{waiting_filter, waiting_order};
use crate::rows::{RowReader, job_columns, limit, micros};
use crate::store::SqliteJobStore;

/// Completed jobs with no run in flight, older than `?2` by their last run (else end,
/// else creation) time, pinned to `?1` when given; oldest first, at most `?3`.
const EXPIRED_COMPLETED: &str = concat!(
    "SELECT ",
    job_columns!(),
    " FROM bgtasks_jobs INDEXED BY bgtasks_jobs_completed \
      WHERE status = 0 AND lease_token IS NULL AND (?1 IS NULL OR node_name = ?1) \
      AND COALESCE(last_run_time, end_time, creation_time) < ?2 \
      ORDER BY COALESCE(last_run_time, end_time, creation_time), id LIMIT ?3"
);

/// Polling (R30): waiting non-Period jobs without a next run time, with no run in
/// flight, that may run on `?1` and have not ended by `?3`, get their begin time as next
/// run time; at most `?2`, in the waiting order. Returns them.
const PUBLISH_WAITING: &str = concat!(
    "UPDATE bgtasks_jobs SET next_run_time = begin_time WHERE id IN (SELECT id FROM bgtasks_jobs",
    waiting_filter!(),
    " AND kind <> 1 AND next_run_time IS NULL AND lease_token IS NULL \
      AND (node_name IS NULL OR node_name = ?1) \
      AND (end_time IS NULL OR (begin_time <= end_time AND end_time >= ?3))",
    waiting_order!(),
    " LIMIT ?2) AND next_run_time IS NULL AND lease_token IS NULL \
     RETURNING id, priority, try_count"
);

/// Checking (R29): Running jobs that may run on `?1` with no next run time and no run in
/// flight — scheduled nowhere — become Stopped; at most `?2`. Returns them.
const STOP_LOST: &str = "UPDATE bgtasks_jobs SET status = 30 WHERE id IN (\
       SELECT id FROM bgtasks_jobs WHERE status = 10 AND next_run_time IS NULL \
       AND lease_token IS NULL AND (node_name IS NULL OR node_name = ?1) ORDER BY id LIMIT ?2) \
     AND status = 10 AND next_run_time IS NULL AND lease_token IS NULL \
     RETURNING id";

/// Retention by age (R46): removes up to `?2` logs that ran before `?1`, oldest first.
const PRUNE_BY_AGE: &str = "DELETE FROM bgtasks_job_logs WHERE id IN (\
       SELECT id FROM bgtasks_job_logs INDEXED BY bgtasks_job_logs_run_time \
       WHERE run_time < ?1 ORDER BY run_time LIMIT ?2)";

/// Retention by count (R46): removes up to `?2` logs beyond the newest `?1` of their job
/// (by id), oldest first. The window walks the index `bgtasks_job_logs_job`.
const PRUNE_BY_COUNT: &str = "DELETE FROM bgtasks_job_logs WHERE id IN (\
       SELECT id FROM (SELECT id, ROW_NUMBER() OVER (PARTITION BY job_id ORDER BY id DESC) \
                         AS newer FROM bgtasks_job_logs) \
       WHERE newer > ?1 ORDER BY id LIMIT ?2)";

impl Maintenance for SqliteJobStore {
    /// One transaction: the expired jobs are read, then removed with their logs (and
    /// their actions, which are in their rows). A row that does not decode is removed
    /// too (it is Completed and expired by the columns the query reads) and named in a
    /// warning, but not returned.
    async fn cleanup(
        &self,
        node: Option<&str>,
        expired_before: DateTime<Utc>,
        max: usize,
    ) -> Result<Vec<JobInfo>, StoreError> {
        let inner = &self.inner;
        let failed = inner.failed("clean up Completed jobs");
        let (_turn, mut tx) = inner.begin_write("clean up Completed jobs").await?;
        let rows = sqlx::query(EXPIRED_COMPLETED)
            .bind(node.map(str::to_owned))
            .bind(micros(expired_before))
            .bind(limit(max))
            .fetch_all(&mut *tx)
            .await
            .map_err(&failed)?;
        let mut ids = Vec::with_capacity(rows.len());
        let mut removed = Vec::with_capacity(rows.len());
        for row in &rows {
            let reader = RowReader::new(row, &inner.db, "id");
            ids.push(reader.job_id().to_owned());
            match reader.job() {
                Ok(job) => removed.push(job),
                Err(error) => tracing::warn!(db = %inner.db, %error,
                    "an expired Completed job does not decode; removed without being reported"),
            }
        }
        if !ids.is_empty() {
            let ids = json!(ids).to_string();
            for delete in [
                "DELETE FROM bgtasks_jobs WHERE id IN (SELECT value FROM json_each(?))",
                "DELETE FROM bgtasks_job_logs WHERE job_id IN (SELECT value FROM json_each(?))",
            ] {
                sqlx::query(delete)
                    .bind(ids.clone())
                    .execute(&mut *tx)
                    .await
                    .map_err(&failed)?;
            }
        }
        tx.commit().await.map_err(&failed)?;
        Ok(removed)
    }

    /// One statement. A job is published at its begin time; one that has ended by `now`
    /// is left alone (its claim would only take its run time away again).
    async fn publish_waiting(
        &self,
        node: &str,
        now: DateTime<Utc>,
        max: usize,
    ) -> Result<Vec<String>, StoreError> {
        let inner = &self.inner;
        let failed = inner.failed("publish waiting jobs");
        let turn = inner.write_gate("publish waiting jobs").await?;
        let rows = sqlx::query(PUBLISH_WAITING)
            .bind(node.to_owned())
            .bind(limit(max))
            .bind(micros(now))
            .fetch_all(&inner.pool)
            .await
            .map_err(&failed)?;
        drop(turn);
        let mut published = Vec::with_capacity(rows.len());
        for row in &rows {
            let id: String = row.try_get(0).map_err(&failed)?;
            let priority: i64 = row.try_get(1).map_err(&failed)?;
            let tries: i64 = row.try_get(2).map_err(&failed)?;
            published.push((std::cmp::Reverse(priority), tries, id));
        }
        // The waiting order (every one had no next run time).
        published.sort();
        if !published.is_empty() {
            inner.signals.due.notify();
        }
        Ok(published.into_iter().map(|(_, _, id)| id).collect())
    }

    /// One statement.
    async fn stop_lost(&self, node: &str, max: usize) -> Result<Vec<String>, StoreError> {
        let inner = &self.inner;
        let turn = inner.write_gate("stop lost jobs").await?;
        let mut stopped: Vec<String> = sqlx::query_scalar(STOP_LOST)
            .bind(node.to_owned())
            .bind(limit(max))
            .fetch_all(&inner.pool)
            .await
            .map_err(inner.failed("stop lost jobs"))?;
        drop(turn);
        stopped.sort();
        Ok(stopped)
    }

    /// Two statements in one write transaction: by age, then by count per job with what
    /// is left of `max`.
    async fn prune_logs(
        &self,
        retention: &LogRetention,
        now: DateTime<Utc>,
        max: usize,
    ) -> Result<u64, StoreError> {
        // Logs that ran before this go; none when the age is beyond the range of times.
        let cutoff = retention.max_age.and_then(|age| {
            chrono::Duration::from_std(age)
                .ok()
                .and_then(|age| now.checked_sub_signed(age))
        });
        let per_job = retention.max_per_job.map(limit);
        if max == 0 || (cutoff.is_none() && per_job.is_none()) {
            return Ok(0);
        }
        let inner = &self.inner;
        let operation = "prune run logs";
        let failed = inner.failed(operation);
        let (_turn, mut tx) = inner.begin_write(operation).await?;
        let mut removed: u64 = 0;
        let mut left = limit(max);
        if let Some(cutoff) = cutoff {
            removed += sqlx::query(PRUNE_BY_AGE)
                .bind(micros(cutoff))
                .bind(left)
                .execute(&mut *tx)
                .await
                .map_err(&failed)?
                .rows_affected();
            left = left.saturating_sub(i64::try_from(removed).unwrap_or(i64::MAX));
        }
        if let Some(per_job) = per_job.filter(|_| left > 0) {
            removed += sqlx::query(PRUNE_BY_COUNT)
                .bind(per_job)
                .bind(left)
                .execute(&mut *tx)
                .await
                .map_err(&failed)?
                .rows_affected();
        }
        tx.commit().await.map_err(&failed)?;
        Ok(removed)
    }
}
