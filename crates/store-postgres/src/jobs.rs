//! The [`JobStore`] contract on PostgreSQL: the reference's store operations (R27) here,
//! claims in [`claims`](crate::claims), leases in [`leases`](crate::leases).

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use bgtasks_abstractions::{JobInfo, RunLease};
use bgtasks_core::store::{
    ClaimedRun, CompletionOutcome, JobLog, JobStore, ReleaseMode, RunCompletion, StoreError,
    cleanup_reference_time,
};
use chrono::{DateTime, Utc};
use sqlx::Row;
use tokio::sync::Notify;

use crate::errors::store_error;
use crate::rows::{
    bind_job, bind_jobs, bind_logs, insert_logs, job_assignments_but_status, job_columns,
    job_from_row, job_values, jobs_from_rows, limit, log_columns, log_from_row,
};
use crate::store::PostgresJobStore;

/// The reference's waiting filter (R27), without the kind.
macro_rules! waiting_filter {
    () => {
        "NOT is_abandoned AND status IN (5, 15) \
         AND ((max_count = 0 OR trigger_count < max_count) \
              OR (max_try_count = 0 OR try_count < max_try_count))"
    };
}

/// The reference's waiting order (R27): priority, fewest tries, earliest next run (none
/// last); the id makes ties stable.
macro_rules! waiting_order {
    () => {
        " ORDER BY priority DESC, try_count, next_run_time NULLS LAST, id LIMIT $1"
    };
}

const LIST_WAITING: &str = concat!(
    "SELECT ",
    job_columns!(),
    " FROM bgtasks_jobs WHERE kind <> 1 AND ",
    waiting_filter!(),
    waiting_order!()
);

const LIST_PERIOD: &str = concat!(
    "SELECT ",
    job_columns!(),
    " FROM bgtasks_jobs WHERE kind = 1 AND ",
    waiting_filter!(),
    waiting_order!()
);

const LIST_RUNNING: &str = concat!(
    "SELECT ",
    job_columns!(),
    " FROM bgtasks_jobs WHERE status = 10 AND (node_name IS NULL OR node_name = $2)",
    waiting_order!()
);

const FIND: &str = concat!(
    "SELECT ",
    job_columns!(),
    " FROM bgtasks_jobs WHERE id = $1"
);

/// Inserts or replaces the job's fields in one statement (a whole write wins); a lease
/// on the job is kept.
const UPSERT: &str = concat!(
    "INSERT INTO bgtasks_jobs (",
    job_columns!(),
    ") VALUES (",
    job_values!(),
    ") ON CONFLICT (id) DO UPDATE SET status = $7, ",
    job_assignments_but_status!()
);

const INSERT: &str = concat!(
    "INSERT INTO bgtasks_jobs (",
    job_columns!(),
    ") VALUES (",
    job_values!(),
    ") ON CONFLICT (id) DO NOTHING"
);

/// Inserts a batch of jobs (distinct ids) in one statement, skipping ids that exist;
/// returns the ids inserted.
const INSERT_MANY: &str = concat!(
    "INSERT INTO bgtasks_jobs (",
    job_columns!(),
    ") SELECT * FROM unnest($1::text[], $2::uuid[], $3::text[], $4::text[], $5::text[], \
       $6::jsonb[], $7::int2[], $8::text[], $9::timestamptz[], $10::timestamptz[], \
       $11::timestamptz[], $12::timestamptz[], $13::timestamptz[], $14::int2[], $15::text[], \
       $16::int4[], $17::int4[], $18::int4[], $19::int4[], $20::bool[], $21::int8[], \
       $22::int2[], $23::int8[], $24::text[], $25::text[], $26::int2[], $27::int8[]) \
     ON CONFLICT (id) DO NOTHING RETURNING id"
);

const REMOVE: &str = "DELETE FROM bgtasks_jobs WHERE id = $1";

/// Appends a batch of run logs in one statement, in order.
const STORE_LOGS: &str = insert_logs!("$1", "$2", "$3", "$4", "$5", "$6", "$7", "$8", "$9", "$10");

const LIST_LOGS: &str = concat!(
    "SELECT ",
    log_columns!(),
    " FROM bgtasks_logs WHERE job_id = $1 ORDER BY id DESC LIMIT $2"
);

/// Removes the oldest expired Completed jobs (R27), with their run logs and actions;
/// rows another session holds are left for the next clean-up.
const CLEANUP: &str = concat!(
    "WITH removed AS (DELETE FROM bgtasks_jobs USING ( \
       SELECT id AS doomed_id FROM bgtasks_jobs \
       WHERE status = 0 AND ($1::text IS NULL OR node_name = $1) \
         AND COALESCE(last_run_time, end_time, creation_time) < $2 \
       ORDER BY COALESCE(last_run_time, end_time, creation_time), id \
       LIMIT $3 FOR UPDATE SKIP LOCKED) AS doomed \
     WHERE id = doomed.doomed_id RETURNING ",
    job_columns!(),
    "), gone_logs AS (DELETE FROM bgtasks_logs WHERE job_id IN (SELECT id FROM removed)), \
     gone_actions AS (DELETE FROM bgtasks_job_actions WHERE job_id IN (SELECT id FROM removed)) \
     SELECT * FROM removed"
);

impl PostgresJobStore {
    async fn list(&self, sql: &'static str, max: usize) -> Result<Vec<JobInfo>, StoreError> {
        let rows = sqlx::query(sql)
            .bind(limit(max))
            .fetch_all(&self.inner.pool)
            .await
            .map_err(|e| store_error(&self.inner.server, "list jobs", e))?;
        jobs_from_rows(&rows)
    }

    fn fail(&self, what: &'static str) -> impl Fn(sqlx::Error) -> StoreError + '_ {
        move |e| store_error(&self.inner.server, what, e)
    }
}

#[async_trait]
impl JobStore for PostgresJobStore {
    async fn list_waiting(&self, max: usize) -> Result<Vec<JobInfo>, StoreError> {
        self.list(LIST_WAITING, max).await
    }

    async fn list_period(&self, max: usize) -> Result<Vec<JobInfo>, StoreError> {
        self.list(LIST_PERIOD, max).await
    }

    async fn list_running(&self, node: &str, max: usize) -> Result<Vec<JobInfo>, StoreError> {
        let rows = sqlx::query(LIST_RUNNING)
            .bind(limit(max))
            .bind(node)
            .fetch_all(&self.inner.pool)
            .await
            .map_err(self.fail("list running jobs"))?;
        jobs_from_rows(&rows)
    }

    async fn find(&self, id: &str) -> Result<Option<JobInfo>, StoreError> {
        let row = sqlx::query(FIND)
            .bind(id)
            .fetch_optional(&self.inner.pool)
            .await
            .map_err(self.fail("find a job"))?;
        row.as_ref().map(job_from_row).transpose()
    }

    async fn store(&self, job: &JobInfo) -> Result<(), StoreError> {
        bind_job(sqlx::query(UPSERT), &job.id, job)
            .execute(&self.inner.pool)
            .await
            .map_err(self.fail("store a job"))?;
        Ok(())
    }

    async fn insert(&self, job: &JobInfo) -> Result<bool, StoreError> {
        let done = bind_job(sqlx::query(INSERT), &job.id, job)
            .execute(&self.inner.pool)
            .await
            .map_err(self.fail("insert a job"))?;
        Ok(done.rows_affected() == 1)
    }

    async fn insert_many(&self, jobs: &[JobInfo]) -> Result<Vec<bool>, StoreError> {
        if jobs.is_empty() {
            return Ok(Vec::new());
        }
        // A repeated id is inserted once, from its first occurrence.
        let mut seen = HashSet::with_capacity(jobs.len());
        let first: Vec<bool> = jobs.iter().map(|j| seen.insert(j.id.as_str())).collect();
        let unique: Vec<&JobInfo> = jobs
            .iter()
            .zip(&first)
            .filter(|(_, first)| **first)
            .map(|(job, _)| job)
            .collect();
        let rows = bind_jobs(sqlx::query(INSERT_MANY), &unique)
            .fetch_all(&self.inner.pool)
            .await
            .map_err(self.fail("insert jobs"))?;
        let inserted: HashSet<String> = rows
            .iter()
            .map(|row| row.try_get::<String, _>("id"))
            .collect::<Result<_, _>>()
            .map_err(self.fail("insert jobs"))?;
        Ok(jobs
            .iter()
            .zip(first)
            .map(|(job, first)| first && inserted.contains(&job.id))
            .collect())
    }

    async fn remove(&self, id: &str) -> Result<bool, StoreError> {
        let done = sqlx::query(REMOVE)
            .bind(id)
            .execute(&self.inner.pool)
            .await
            .map_err(self.fail("remove a job"))?;
        Ok(done.rows_affected() == 1)
    }

    async fn store_log(&self, log: &JobLog) -> Result<(), StoreError> {
        self.store_logs(std::slice::from_ref(log)).await
    }

    async fn list_logs(&self, job_id: &str, max: usize) -> Result<Vec<JobLog>, StoreError> {
        let rows = sqlx::query(LIST_LOGS)
            .bind(job_id)
            .bind(limit(max))
            .fetch_all(&self.inner.pool)
            .await
            .map_err(self.fail("list run logs"))?;
        rows.iter().map(log_from_row).collect()
    }

    async fn cleanup(
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

    async fn claim_due(
        &self,
        node: &str,
        now: DateTime<Utc>,
        limit: usize,
        lease: Duration,
    ) -> Result<Vec<ClaimedRun>, StoreError> {
        self.claim_due_runs(node, now, limit, lease).await
    }

    async fn next_due_time(&self, node: &str) -> Result<Option<DateTime<Utc>>, StoreError> {
        self.next_due(node).await
    }

    async fn renew_leases(
        &self,
        node: &str,
        leases: &[RunLease],
        until: DateTime<Utc>,
    ) -> Result<Vec<String>, StoreError> {
        self.renew(node, leases, until).await
    }

    async fn complete_run(
        &self,
        lease: &RunLease,
        job: &JobInfo,
    ) -> Result<CompletionOutcome, StoreError> {
        let run = RunCompletion {
            lease: lease.clone(),
            job: job.clone(),
        };
        let mut outcomes = self.complete(std::slice::from_ref(&run), &[]).await?;
        outcomes
            .pop()
            .ok_or_else(|| StoreError::other("no outcome for a completion"))
    }

    async fn complete_runs(
        &self,
        runs: &[RunCompletion],
    ) -> Result<Vec<CompletionOutcome>, StoreError> {
        self.complete(runs, &[]).await
    }

    /// The outcomes and the logs in one statement (one commit).
    async fn write_runs(
        &self,
        runs: &[RunCompletion],
        logs: &[JobLog],
    ) -> Result<Vec<CompletionOutcome>, StoreError> {
        if runs.is_empty() {
            self.store_logs(logs).await?;
            return Ok(Vec::new());
        }
        self.complete(runs, logs).await
    }

    async fn store_logs(&self, logs: &[JobLog]) -> Result<(), StoreError> {
        if logs.is_empty() {
            return Ok(());
        }
        bind_logs(sqlx::query(STORE_LOGS), logs)
            .execute(&self.inner.pool)
            .await
            .map_err(self.fail("store run logs"))?;
        Ok(())
    }

    /// Yes: one statement saves the completions (or logs) of many concurrent runs.
    fn prefers_batched_writes(&self) -> bool {
        true
    }

    async fn release_run(
        &self,
        lease: &RunLease,
        mode: ReleaseMode,
    ) -> Result<CompletionOutcome, StoreError> {
        self.release(lease, mode).await
    }

    async fn rescue_expired(&self, now: DateTime<Utc>) -> Result<Vec<String>, StoreError> {
        self.rescue(now).await
    }

    fn subscribe_due(&self) -> Option<Arc<Notify>> {
        self.subscribe()
    }
}
