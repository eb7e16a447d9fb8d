//! Leases: renewing them, completing and releasing runs under their fencing token, and
//! rescuing runs whose node went away. Batches touch their rows in id order, so that two
//! batches of one node (a renewal and a completion) never wait on each other in a cycle;
//! a deadlock or serialization failure PostgreSQL reports anyway is retried.

use std::borrow::Cow;
use std::collections::HashSet;
use std::time::Duration;

use bgtasks_abstractions::RunLease;
use bgtasks_core::store::{CompletionOutcome, JobLog, ReleaseMode, RunCompletion, StoreError};
use chrono::{DateTime, Utc};
use sqlx::Row;
use sqlx::postgres::PgRow;

use crate::errors::store_error;
use crate::rows::{bind_logs, code, insert_logs, run_text};
use crate::store::PostgresJobStore;

/// How often a batch that lost a deadlock (or a serialization failure) is tried in all.
const ATTEMPTS: u32 = 3;

const RENEW: &str = "UPDATE bgtasks_jobs AS j SET lease_expires_at = $4 \
     FROM unnest($1::text[], $2::int8[]) AS u(id, token) \
     WHERE j.id = u.id AND j.lease_token = u.token AND j.lease_node = $3 \
     RETURNING j.id";

/// Saves the outcomes of a batch of runs, each only if its lease is still the run's.
/// Only the run-state fields are written (as `merge_run_state` does): the definition
/// edited during the run is kept, and a job paused during the run stays paused unless the
/// run completed or stopped it. Returns the positions (1-based) of the saved runs; the
/// rows are found by primary key, one probe per run.
macro_rules! complete_update {
    () => {
        "UPDATE bgtasks_jobs AS j SET \
       status = CASE WHEN j.status = 20 AND u.status NOT IN (0, 30) THEN 20 \
         ELSE u.status END, \
       trigger_count = u.trigger_count, try_count = u.try_count, \
       is_abandoned = u.is_abandoned, interval_secs = u.interval_secs, \
       priority = u.priority, last_run_time = u.last_run_time, \
       next_run_time = u.next_run_time, result = u.result, tenant_id = u.tenant_id, \
       base_interval_secs = u.base_interval_secs, \
       lease_node = NULL, lease_expires_at = NULL, lease_due_at = NULL \
     FROM unnest($1::text[], $2::int8[], $3::int2[], $4::int4[], $5::int4[], \
       $6::bool[], $7::int8[], $8::int2[], $9::timestamptz[], $10::timestamptz[], \
       $11::text[], $12::uuid[], $13::int8[]) WITH ORDINALITY \
       AS u(id, token, status, trigger_count, try_count, is_abandoned, interval_secs, \
         priority, last_run_time, next_run_time, result, tenant_id, base_interval_secs, ord) \
     WHERE j.id = u.id AND j.lease_token = u.token AND j.lease_node IS NOT NULL \
     RETURNING u.ord"
    };
}

const COMPLETE: &str = complete_update!();

/// [`COMPLETE`] and the batch's run logs (bound as `$14` … `$23`, in the columns of
/// [`log_columns!`]) in one statement: one commit, one disk sync for both.
const COMPLETE_AND_LOG: &str = concat!(
    "WITH done AS (",
    complete_update!(),
    "), logged AS (",
    insert_logs!(
        "$14", "$15", "$16", "$17", "$18", "$19", "$20", "$21", "$22", "$23"
    ),
    ") \
     SELECT ord FROM done"
);

/// Which of these jobs exist: tells a lost lease from a removed job, for the runs a
/// completion or release did not save (rare).
const EXISTING: &str = "SELECT id FROM bgtasks_jobs WHERE id = ANY($1)";

const RELEASE: &str = "WITH released AS (UPDATE bgtasks_jobs SET \
       next_run_time = CASE WHEN $3 THEN $4::timestamptz ELSE next_run_time END, \
       lease_node = NULL, lease_expires_at = NULL, lease_due_at = NULL \
     WHERE id = $1 AND lease_token = $2 AND lease_node IS NOT NULL RETURNING 1) \
     SELECT EXISTS (SELECT 1 FROM released) AS saved, \
            EXISTS (SELECT 1 FROM bgtasks_jobs WHERE id = $1) AS found";

/// Makes runs whose lease expired before $1 due again at their old time and logs each
/// interruption, naming the node, in one statement.
const RESCUE: &str = "WITH expired AS ( \
       SELECT id AS expired_id, lease_node AS expired_node, lease_expires_at AS expired_at \
       FROM bgtasks_jobs WHERE lease_node IS NOT NULL AND lease_expires_at < $1 \
       FOR UPDATE SKIP LOCKED), \
     rescued AS ( \
       UPDATE bgtasks_jobs AS j SET next_run_time = j.lease_due_at, \
         lease_node = NULL, lease_expires_at = NULL, lease_due_at = NULL \
       FROM expired AS e WHERE j.id = e.expired_id \
       RETURNING j.id, j.name, j.job_group, j.job_type, j.tenant_id, e.expired_node, \
         e.expired_at), \
     logged AS ( \
       INSERT INTO bgtasks_logs (job_id, job_name, job_group, job_type, message, run_time, \
         exception, tenant_id, node, duration_ms) \
       SELECT id, name, job_group, job_type, 'run interrupted; rescued to run again', $1, \
         'the lease of node `' || expired_node || '` expired at ' \
           || to_char(expired_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"+00:00\"') \
           || ' before the run completed', \
         tenant_id, expired_node, 0 \
       FROM rescued) \
     SELECT id FROM rescued ORDER BY id";

/// Runs `attempt` again (after a short pause) while it fails with a deadlock or a
/// serialization failure, at most [`ATTEMPTS`] times in all. The statements retried are
/// single, fenced updates: a failed one changed nothing.
async fn retrying<T, F, Fut>(mut attempt: F) -> Result<T, sqlx::Error>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, sqlx::Error>>,
{
    let mut tries = 1;
    loop {
        match attempt().await {
            Err(sqlx::Error::Database(db))
                if tries < ATTEMPTS && db.code().is_some_and(|c| c == "40P01" || c == "40001") =>
            {
                tries += 1;
                tokio::time::sleep(Duration::from_millis(10 * u64::from(tries))).await;
            }
            other => return other,
        }
    }
}

impl PostgresJobStore {
    pub(crate) async fn renew(
        &self,
        node: &str,
        leases: &[RunLease],
        until: DateTime<Utc>,
    ) -> Result<Vec<String>, StoreError> {
        if leases.is_empty() {
            return Ok(Vec::new());
        }
        let mut sorted: Vec<&RunLease> = leases.iter().collect();
        sorted.sort_by(|a, b| a.job_id.cmp(&b.job_id));
        let ids: Vec<&str> = sorted.iter().map(|l| l.job_id.as_str()).collect();
        let tokens: Vec<i64> = sorted.iter().map(|l| l.token).collect();
        let renewed: Vec<String> = retrying(|| {
            sqlx::query_scalar(RENEW)
                .bind(&ids)
                .bind(&tokens)
                .bind(node)
                .bind(until)
                .fetch_all(&self.inner.pool)
        })
        .await
        .map_err(|e| store_error(&self.inner.server, "renew leases", e))?;
        let renewed: HashSet<String> = renewed.into_iter().collect();
        Ok(leases
            .iter()
            .filter(|l| !renewed.contains(&l.job_id))
            .map(|l| l.job_id.clone())
            .collect())
    }

    /// Saves the outcomes of `runs` and appends `logs`, in one statement.
    pub(crate) async fn complete(
        &self,
        runs: &[RunCompletion],
        logs: &[JobLog],
    ) -> Result<Vec<CompletionOutcome>, StoreError> {
        if runs.is_empty() {
            return Ok(Vec::new());
        }
        // The batch in id order; `order[k]` is the caller's position of the k-th row.
        let mut order: Vec<usize> = (0..runs.len()).collect();
        order.sort_by(|&a, &b| runs[a].lease.job_id.cmp(&runs[b].lease.job_id));
        let sorted: Vec<&RunCompletion> = order.iter().map(|&i| &runs[i]).collect();
        let column = |f: fn(&RunCompletion) -> i64| sorted.iter().map(|r| f(r)).collect::<Vec<_>>();
        let ids: Vec<&str> = sorted.iter().map(|r| r.lease.job_id.as_str()).collect();
        let tokens = column(|r| r.lease.token);
        let statuses: Vec<i16> = sorted.iter().map(|r| code(r.job.status.code())).collect();
        let trigger_counts: Vec<i32> = sorted.iter().map(|r| r.job.trigger_count).collect();
        let try_counts: Vec<i32> = sorted.iter().map(|r| r.job.try_count).collect();
        let abandoned: Vec<bool> = sorted.iter().map(|r| r.job.is_abandoned).collect();
        let intervals = column(|r| r.job.interval);
        let priorities: Vec<i16> = sorted.iter().map(|r| code(r.job.priority.code())).collect();
        let last_runs: Vec<Option<DateTime<Utc>>> =
            sorted.iter().map(|r| r.job.last_run_time).collect();
        let next_runs: Vec<Option<DateTime<Utc>>> =
            sorted.iter().map(|r| r.job.next_run_time).collect();
        let results: Vec<Option<Cow<'_, str>>> = sorted
            .iter()
            .map(|r| r.job.result.as_deref().map(run_text))
            .collect();
        let tenants: Vec<Option<uuid::Uuid>> = sorted.iter().map(|r| r.job.tenant_id).collect();
        let base_intervals: Vec<Option<i64>> = sorted.iter().map(|r| r.job.base_interval).collect();
        let sql = if logs.is_empty() {
            COMPLETE
        } else {
            COMPLETE_AND_LOG
        };
        let saved: Vec<i64> = retrying(|| {
            let query = sqlx::query(sql)
                .bind(&ids)
                .bind(&tokens)
                .bind(&statuses)
                .bind(&trigger_counts)
                .bind(&try_counts)
                .bind(&abandoned)
                .bind(&intervals)
                .bind(&priorities)
                .bind(&last_runs)
                .bind(&next_runs)
                .bind(&results)
                .bind(&tenants)
                .bind(&base_intervals);
            let query = if logs.is_empty() {
                query
            } else {
                bind_logs(query, logs)
            };
            query.fetch_all(&self.inner.pool)
        })
        .await
        .map_err(|e| store_error(&self.inner.server, "complete runs", e))?
        .iter()
        .map(|row| row.try_get::<i64, _>(0))
        .collect::<Result<_, _>>()
        .map_err(|e| store_error(&self.inner.server, "complete runs", e))?;
        let mut outcomes = vec![None; runs.len()];
        for ord in saved {
            let caller = usize::try_from(ord)
                .ok()
                .and_then(|ord| order.get(ord.wrapping_sub(1)));
            if let Some(slot) = caller.and_then(|&i| outcomes.get_mut(i)) {
                *slot = Some(CompletionOutcome::Saved);
            }
        }
        let ids: Vec<&str> = runs.iter().map(|r| r.lease.job_id.as_str()).collect();
        self.fill_unsaved(outcomes, &ids).await
    }

    /// Completes the outcomes of runs that were not saved: a lost lease if the job still
    /// exists, else a job gone.
    async fn fill_unsaved(
        &self,
        outcomes: Vec<Option<CompletionOutcome>>,
        ids: &[&str],
    ) -> Result<Vec<CompletionOutcome>, StoreError> {
        if outcomes.iter().all(Option::is_some) {
            return Ok(outcomes.into_iter().flatten().collect());
        }
        let unsaved: Vec<&str> = outcomes
            .iter()
            .zip(ids)
            .filter(|(outcome, _)| outcome.is_none())
            .map(|(_, id)| *id)
            .collect();
        let existing: Vec<String> = sqlx::query_scalar(EXISTING)
            .bind(&unsaved)
            .fetch_all(&self.inner.pool)
            .await
            .map_err(|e| store_error(&self.inner.server, "check completed jobs", e))?;
        let existing: HashSet<&str> = existing.iter().map(String::as_str).collect();
        Ok(outcomes
            .into_iter()
            .zip(ids)
            .map(|(outcome, id)| {
                outcome.unwrap_or(if existing.contains(id) {
                    CompletionOutcome::LeaseLost
                } else {
                    CompletionOutcome::JobGone
                })
            })
            .collect())
    }

    pub(crate) async fn release(
        &self,
        lease: &RunLease,
        mode: ReleaseMode,
    ) -> Result<CompletionOutcome, StoreError> {
        let (again, at) = match mode {
            ReleaseMode::KeepSchedule => (false, None),
            ReleaseMode::RunAgainAt(at) => (true, Some(at)),
        };
        let row = sqlx::query(RELEASE)
            .bind(&lease.job_id)
            .bind(lease.token)
            .bind(again)
            .bind(at)
            .fetch_one(&self.inner.pool)
            .await
            .map_err(|e| store_error(&self.inner.server, "release a run", e))?;
        self.outcome(&row, &lease.job_id)
    }

    fn outcome(&self, row: &PgRow, job: &str) -> Result<CompletionOutcome, StoreError> {
        let saved: bool = row
            .try_get("saved")
            .map_err(|e| store_error(&self.inner.server, "read a completion", e))?;
        let found: bool = row
            .try_get("found")
            .map_err(|e| store_error(&self.inner.server, "read a completion", e))?;
        Ok(match (saved, found) {
            (true, _) => CompletionOutcome::Saved,
            (false, true) => CompletionOutcome::LeaseLost,
            (false, false) => {
                tracing::debug!(job_id = job, "completion of a job that is gone");
                CompletionOutcome::JobGone
            }
        })
    }

    pub(crate) async fn rescue(&self, now: DateTime<Utc>) -> Result<Vec<String>, StoreError> {
        sqlx::query_scalar(RESCUE)
            .bind(now)
            .fetch_all(&self.inner.pool)
            .await
            .map_err(|e| store_error(&self.inner.server, "rescue expired leases", e))
    }
}
