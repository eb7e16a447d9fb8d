//! Ending a run's lease: with its outcome (one run, or a batch in one transaction), or
//! without one. Every write is fenced by the lease's token: a run whose lease was rescued
//! and claimed again writes nothing.

use std::collections::HashSet;

use bgtasks_abstractions::{JobInfo, RunLease};
use bgtasks_core::store::{CompletionOutcome, ReleaseMode, RunCompletion, StoreError};
use serde_json::json;
use sqlx::{Row, SqliteConnection};

use crate::errors::store_error;
use crate::rows::{SqliteQuery, micros};
use crate::store::Inner;

/// The run-state columns a completion writes (as `merge_run_state` does), from the row
/// `v`: edits to the definition made during the run are kept, and a job paused during
/// the run stays paused unless the run ended it (Completed, Stopped).
macro_rules! run_state_from_v {
    () => {
        "status = CASE WHEN bgtasks_jobs.status = 20 AND v.status NOT IN (0, 30) \
         THEN 20 ELSE v.status END, \
         trigger_count = v.trigger_count, try_count = v.try_count, \
         is_abandoned = v.is_abandoned, interval_secs = v.interval_secs, \
         priority = v.priority, last_run_time = v.last_run_time, \
         next_run_time = v.next_run_time, result = v.result, tenant_id = v.tenant_id, \
         base_interval = v.base_interval, \
         lease_token = NULL, lease_node = NULL, lease_expires_at = NULL, lease_due_at = NULL"
    };
}

/// Completes one run: `?1` id, `?2` token, `?3`..`?13` the run state.
const COMPLETE: &str = concat!(
    "UPDATE bgtasks_jobs SET ",
    run_state_from_v!(),
    " FROM (SELECT ?3 AS status, ?4 AS trigger_count, ?5 AS try_count, ?6 AS is_abandoned, \
      ?7 AS interval_secs, ?8 AS priority, ?9 AS last_run_time, ?10 AS next_run_time, \
      ?11 AS result, ?12 AS tenant_id, ?13 AS base_interval) AS v \
     WHERE bgtasks_jobs.id = ?1 AND bgtasks_jobs.lease_token = ?2"
);

/// Completes the runs of `?1`, a JSON array of [`run_state`] arrays; returns the
/// `(id, token)` of each run saved.
const COMPLETE_MANY: &str = concat!(
    "UPDATE bgtasks_jobs SET ",
    run_state_from_v!(),
    " FROM (SELECT value ->> 0 AS id, value ->> 1 AS token, value ->> 2 AS status, \
      value ->> 3 AS trigger_count, value ->> 4 AS try_count, value ->> 5 AS is_abandoned, \
      value ->> 6 AS interval_secs, value ->> 7 AS priority, value ->> 8 AS last_run_time, \
      value ->> 9 AS next_run_time, value ->> 10 AS result, value ->> 11 AS tenant_id, \
      value ->> 12 AS base_interval FROM jsonb_each(?1)) AS v \
     WHERE bgtasks_jobs.id = v.id AND bgtasks_jobs.lease_token = v.token \
     RETURNING bgtasks_jobs.id, bgtasks_jobs.fencing_token"
);

/// Which of the ids of `?1` (a JSON array) exist.
const EXISTING: &str = "SELECT id FROM bgtasks_jobs WHERE id IN (SELECT value FROM json_each(?1))";

const RELEASE: &str = "UPDATE bgtasks_jobs SET lease_token = NULL, lease_node = NULL, \
     lease_expires_at = NULL, lease_due_at = NULL, \
     next_run_time = CASE WHEN ?3 THEN ?4 ELSE next_run_time END \
     WHERE id = ?1 AND lease_token = ?2 \
     RETURNING (is_abandoned = 0 AND status IN (5, 10, 15) AND next_run_time IS NOT NULL) AS due";

const EXISTS: &str = "SELECT 1 FROM bgtasks_jobs WHERE id = ?";

/// Whether `job`, as written, may become due.
pub(crate) fn schedulable(job: &JobInfo) -> bool {
    !job.is_abandoned && job.status.is_schedulable() && job.next_run_time.is_some()
}

pub(crate) async fn complete_run(
    inner: &Inner,
    lease: &RunLease,
    job: &JobInfo,
) -> Result<CompletionOutcome, StoreError> {
    let failed = |e| {
        store_error(
            &inner.db,
            &format!("complete the run of job `{}`", lease.job_id),
            e,
        )
    };
    let write = inner.write_gate().await;
    let done = bind_run_state(sqlx::query(COMPLETE), lease, job)
        .execute(&inner.pool)
        .await
        .map_err(failed)?;
    drop(write);
    if done.rows_affected() > 0 {
        if schedulable(job) {
            inner.signal.notify();
        }
        return Ok(CompletionOutcome::Saved);
    }
    let mut conn = inner.pool.acquire().await.map_err(failed)?;
    not_held(&mut conn, inner, &lease.job_id).await
}

/// Completes several runs in one statement and one transaction: one disk sync for all.
/// Outcomes are those of completing the runs one after the other, in order.
pub(crate) async fn complete_runs(
    inner: &Inner,
    runs: &[RunCompletion],
) -> Result<Vec<CompletionOutcome>, StoreError> {
    write_runs(inner, runs, None).await
}

/// Completes `runs` and, when given, appends the logs batch (a JSON array for
/// `insert_logs`) in the same transaction: one disk sync for both.
pub(crate) async fn write_runs(
    inner: &Inner,
    runs: &[RunCompletion],
    logs: Option<(&'static str, String)>,
) -> Result<Vec<CompletionOutcome>, StoreError> {
    if runs.is_empty() {
        return Ok(Vec::new());
    }
    let failed = |e| store_error(&inner.db, "complete runs", e);
    let _write = inner.write_gate().await;
    let batch = runs
        .iter()
        .map(|run| run_state(&run.lease, &run.job))
        .collect();
    let mut tx = inner
        .pool
        .begin_with("BEGIN IMMEDIATE")
        .await
        .map_err(failed)?;
    let saved: Vec<(String, i64)> = sqlx::query_as(COMPLETE_MANY)
        .bind(serde_json::Value::Array(batch).to_string())
        .fetch_all(&mut *tx)
        .await
        .map_err(failed)?;
    let mut saved: HashSet<(String, i64)> = saved.into_iter().collect();
    let mut outcomes = vec![None; runs.len()];
    let mut due = false;
    for (run, outcome) in runs.iter().zip(outcomes.iter_mut()) {
        // A lease is saved once: a second completion of it in the batch finds it over.
        if saved.remove(&(run.lease.job_id.clone(), run.lease.token)) {
            due |= schedulable(&run.job);
            *outcome = Some(CompletionOutcome::Saved);
        }
    }
    if outcomes.iter().any(Option::is_none) {
        let missing: Vec<&str> = runs
            .iter()
            .zip(&outcomes)
            .filter(|(_, outcome)| outcome.is_none())
            .map(|(run, _)| run.lease.job_id.as_str())
            .collect();
        let existing: Vec<String> = sqlx::query_scalar(EXISTING)
            .bind(json!(missing).to_string())
            .fetch_all(&mut *tx)
            .await
            .map_err(failed)?;
        let existing: HashSet<String> = existing.into_iter().collect();
        for (run, outcome) in runs.iter().zip(outcomes.iter_mut()) {
            if outcome.is_none() {
                *outcome = Some(if existing.contains(&run.lease.job_id) {
                    CompletionOutcome::LeaseLost
                } else {
                    CompletionOutcome::JobGone
                });
            }
        }
    }
    if let Some((insert_logs, batch)) = logs {
        sqlx::query(insert_logs)
            .bind(batch)
            .execute(&mut *tx)
            .await
            .map_err(|e| store_error(&inner.db, "store run logs", e))?;
    }
    tx.commit().await.map_err(failed)?;
    if due {
        inner.signal.notify();
    }
    Ok(outcomes
        .into_iter()
        .map(|o| o.unwrap_or(CompletionOutcome::LeaseLost))
        .collect())
}

/// The run state of a completion, as one JSON array of [`COMPLETE_MANY`].
fn run_state(lease: &RunLease, job: &JobInfo) -> serde_json::Value {
    json!([
        lease.job_id,
        lease.token,
        job.status.code(),
        job.trigger_count,
        job.try_count,
        i64::from(job.is_abandoned),
        job.interval,
        job.priority.code(),
        job.last_run_time.map(micros),
        job.next_run_time.map(micros),
        job.result,
        job.tenant_id.map(|t| t.hyphenated().to_string()),
        job.base_interval,
    ])
}

/// Binds the lease (`?1`, `?2`) and the run state of `job` (`?3`..`?13`) for [`COMPLETE`].
fn bind_run_state<'q>(query: SqliteQuery<'q>, lease: &RunLease, job: &JobInfo) -> SqliteQuery<'q> {
    query
        .bind(lease.job_id.clone())
        .bind(lease.token)
        .bind(i64::from(job.status.code()))
        .bind(i64::from(job.trigger_count))
        .bind(i64::from(job.try_count))
        .bind(i64::from(job.is_abandoned))
        .bind(job.interval)
        .bind(i64::from(job.priority.code()))
        .bind(job.last_run_time.map(micros))
        .bind(job.next_run_time.map(micros))
        .bind(job.result.clone())
        .bind(job.tenant_id.map(|t| t.hyphenated().to_string()))
        .bind(job.base_interval)
}

pub(crate) async fn release_run(
    inner: &Inner,
    lease: &RunLease,
    mode: ReleaseMode,
) -> Result<CompletionOutcome, StoreError> {
    let failed = |e| {
        store_error(
            &inner.db,
            &format!("release the run of job `{}`", lease.job_id),
            e,
        )
    };
    let again = match mode {
        ReleaseMode::KeepSchedule => None,
        ReleaseMode::RunAgainAt(at) => Some(micros(at)),
    };
    let write = inner.write_gate().await;
    let row = sqlx::query(RELEASE)
        .bind(lease.job_id.clone())
        .bind(lease.token)
        .bind(again.is_some())
        .bind(again)
        .fetch_optional(&inner.pool)
        .await
        .map_err(failed)?;
    drop(write);
    let Some(row) = row else {
        let mut conn = inner.pool.acquire().await.map_err(failed)?;
        return not_held(&mut conn, inner, &lease.job_id).await;
    };
    if row.try_get::<bool, _>("due").unwrap_or(true) {
        inner.signal.notify();
    }
    Ok(CompletionOutcome::Saved)
}

/// Why a fenced write found no row: the job is gone, or its lease is another run's.
async fn not_held(
    conn: &mut SqliteConnection,
    inner: &Inner,
    id: &str,
) -> Result<CompletionOutcome, StoreError> {
    let exists = sqlx::query(EXISTS)
        .bind(id.to_owned())
        .fetch_optional(conn)
        .await
        .map_err(|e| store_error(&inner.db, &format!("find job `{id}`"), e))?;
    Ok(if exists.is_some() {
        CompletionOutcome::LeaseLost
    } else {
        CompletionOutcome::JobGone
    })
}
