//! The system jobs' transitions (R27, R29, R30): clean-up, polling and checking, each one
//! statement whose conditions are checked per row inside it. Rows another session holds
//! are skipped and left for the next round.

use bgtasks_abstractions::JobInfo;
use bgtasks_store::{StoreError, rules::cleanup_reference_time};
use chrono::{DateTime, Utc};

use crate::definitions::waiting_filter;
use crate::rows::{job_columns, jobs_from_rows, limit};
use crate::store::PostgresJobStore;

/// Removes the oldest expired Completed jobs (R27), with their run logs (their actions
/// are part of their rows).
const CLEANUP: &str = concat!(
    "WITH removed AS (DELETE FROM bgtasks_jobs USING ( \
       SELECT id AS doomed_id FROM bgtasks_jobs \
       WHERE status = 0 AND ($1::text IS NULL OR node_name = $1) \
         AND COALESCE(last_run_time, end_time, creation_time) < $2 \
       ORDER BY COALESCE(last_run_time, end_time, creation_time), id \
       LIMIT $3 FOR UPDATE SKIP LOCKED) AS doomed \
     WHERE id = doomed.doomed_id RETURNING ",
    job_columns!(),
    "), gone_logs AS (DELETE FROM bgtasks_logs WHERE job_id IN (SELECT id FROM removed)) \
     SELECT * FROM removed"
);

/// Polling (R30): waiting jobs (not Period) that no one scheduled — no next run time, no
/// lease — which may run on `$1` and have not ended (by `$3`, else the database's clock;
/// a job past its end time would only lose its run time again at its claim), get their
/// begin time as their first fire time; at most `$2`, in the waiting order.
const PUBLISH_WAITING: &str = concat!(
    "WITH chosen AS ( \
       SELECT id AS chosen_id FROM bgtasks_jobs \
       WHERE next_run_time IS NULL AND lease_node IS NULL AND kind <> 1 AND ",
    waiting_filter!(),
    "   AND (node_name IS NULL OR node_name = $1) \
         AND (end_time IS NULL OR (begin_time <= end_time \
              AND end_time >= COALESCE($3::timestamptz, now()))) \
       ORDER BY priority DESC, try_count, id \
       LIMIT $2 FOR UPDATE SKIP LOCKED), \
     published AS ( \
       UPDATE bgtasks_jobs AS j SET next_run_time = j.begin_time \
       FROM chosen WHERE j.id = chosen.chosen_id \
       RETURNING j.id, j.priority, j.try_count) \
     SELECT id FROM published ORDER BY priority DESC, try_count, id"
);

/// Checking (R29): Running jobs that may run on `$1` but are scheduled nowhere (no next
/// run time, no lease anywhere) become Stopped; at most `$2`, in the waiting order.
const STOP_LOST: &str = "WITH chosen AS ( \
       SELECT id AS chosen_id FROM bgtasks_jobs \
       WHERE status = 10 AND next_run_time IS NULL AND lease_node IS NULL \
         AND (node_name IS NULL OR node_name = $1) \
       ORDER BY priority DESC, try_count, id \
       LIMIT $2 FOR UPDATE SKIP LOCKED), \
     stopped AS ( \
       UPDATE bgtasks_jobs AS j SET status = 30 \
       FROM chosen WHERE j.id = chosen.chosen_id \
       RETURNING j.id, j.priority, j.try_count) \
     SELECT id FROM stopped ORDER BY priority DESC, try_count, id";

impl PostgresJobStore {
    pub(crate) async fn clean_up(
        &self,
        node: Option<&str>,
        expired_before: DateTime<Utc>,
        max: usize,
    ) -> Result<Vec<JobInfo>, StoreError> {
        let rows = sqlx::query(CLEANUP)
            .bind(node)
            .bind(expired_before)
            .bind(limit(max))
            .fetch_all(&self.inner.pool)
            .await
            .map_err(self.fail("clean up completed jobs"))?;
        let mut removed = jobs_from_rows(&rows)?;
        removed.sort_by(|a, b| {
            cleanup_reference_time(a)
                .cmp(&cleanup_reference_time(b))
                .then_with(|| a.id.cmp(&b.id))
        });
        Ok(removed)
    }

    pub(crate) async fn publish(
        &self,
        node: &str,
        now: DateTime<Utc>,
        max: usize,
    ) -> Result<Vec<String>, StoreError> {
        sqlx::query_scalar(PUBLISH_WAITING)
            .bind(node)
            .bind(limit(max))
            .bind(self.caller_now(now))
            .fetch_all(&self.inner.pool)
            .await
            .map_err(self.fail("publish waiting jobs"))
    }

    pub(crate) async fn stop_lost_jobs(
        &self,
        node: &str,
        max: usize,
    ) -> Result<Vec<String>, StoreError> {
        sqlx::query_scalar(STOP_LOST)
            .bind(node)
            .bind(limit(max))
            .fetch_all(&self.inner.pool)
            .await
            .map_err(self.fail("stop lost jobs"))
    }
}
