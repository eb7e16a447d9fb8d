//! Claims: taking due runs in batches with `FOR UPDATE SKIP LOCKED`, the following fire
//! times computed in Rust in the same transaction, and the next due time.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use bgtasks_abstractions::{CronSchedule, JobInfo, JobKind, RunLease, next_fire_time_after_run};
use bgtasks_core::store::{ClaimedRun, StoreError};
use chrono::{DateTime, Utc};
use sqlx::Row;
use sqlx::postgres::PgRow;

use crate::errors::store_error;
use crate::rows::{job_columns, job_from_row, limit};
use crate::store::PostgresJobStore;

/// How many parsed cron expressions a store keeps before it starts over.
const MAX_CACHED_SCHEDULES: usize = 1024;

/// Parsed cron expressions by text, so that a claim of a Period job does not parse its
/// expression again.
#[derive(Default)]
pub(crate) struct ScheduleCache(Mutex<HashMap<String, Option<Arc<CronSchedule>>>>);

impl ScheduleCache {
    /// The schedule of a Period job (`None` for other kinds, or a cron that does not parse,
    /// as in the in-memory store).
    fn for_job(&self, job: &JobInfo) -> Option<Arc<CronSchedule>> {
        if job.kind != JobKind::Period {
            return None;
        }
        let cron = job.cron.as_deref()?;
        let mut cache = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(schedule) = cache.get(cron) {
            return schedule.clone();
        }
        let schedule = CronSchedule::parse(cron).ok().map(Arc::new);
        if cache.len() >= MAX_CACHED_SCHEDULES {
            cache.clear();
        }
        cache.insert(cron.to_owned(), schedule.clone());
        schedule
    }
}

/// The due, claimable runs a node may take, best first, locked; rows other claimers hold
/// are skipped rather than waited for.
const SELECT_DUE: &str = concat!(
    "SELECT ",
    job_columns!(),
    ", lease_token FROM bgtasks_jobs \
     WHERE lease_node IS NULL AND NOT is_abandoned AND status IN (5, 10, 15) \
       AND next_run_time IS NOT NULL AND next_run_time <= $1 \
       AND (node_name IS NULL OR node_name = $2) \
     ORDER BY priority DESC, try_count, next_run_time \
     LIMIT $3 \
     FOR UPDATE SKIP LOCKED"
);

/// One statement for the whole batch: leases the claimed rows (token + 1, the old due time
/// kept for a rescue) and moves every row's next run time on. Rows past their end time
/// only lose their next run time.
const APPLY_CLAIMS: &str = "UPDATE bgtasks_jobs AS j SET \
       next_run_time = u.next_run_time, \
       lease_token = CASE WHEN u.claimed THEN j.lease_token + 1 ELSE j.lease_token END, \
       lease_node = CASE WHEN u.claimed THEN $4 END, \
       lease_expires_at = CASE WHEN u.claimed THEN $5::timestamptz END, \
       lease_due_at = CASE WHEN u.claimed THEN j.next_run_time END \
     FROM unnest($1::text[], $2::timestamptz[], $3::bool[]) AS u(id, next_run_time, claimed) \
     WHERE j.id = u.id";

const NEXT_DUE: &str = "SELECT min(next_run_time) FROM bgtasks_jobs \
     WHERE lease_node IS NULL AND NOT is_abandoned AND status IN (5, 10, 15) \
       AND next_run_time IS NOT NULL AND (node_name IS NULL OR node_name = $1)";

fn to_chrono(duration: Duration) -> chrono::Duration {
    chrono::Duration::from_std(duration).unwrap_or(chrono::Duration::MAX)
}

/// What a claim does to one selected row.
struct Planned {
    ids: Vec<String>,
    next_run_times: Vec<Option<DateTime<Utc>>>,
    claimed: Vec<bool>,
    runs: Vec<ClaimedRun>,
}

impl PostgresJobStore {
    pub(crate) async fn claim_due_runs(
        &self,
        node: &str,
        now: DateTime<Utc>,
        max: usize,
        lease: Duration,
    ) -> Result<Vec<ClaimedRun>, StoreError> {
        if max == 0 {
            return Ok(Vec::new());
        }
        let server = &self.inner.server;
        let fail = |e| store_error(server, "claim due runs", e);
        let mut tx = self.inner.pool.begin().await.map_err(fail)?;
        let rows = sqlx::query(SELECT_DUE)
            .bind(now)
            .bind(node)
            .bind(limit(max))
            .fetch_all(&mut *tx)
            .await
            .map_err(fail)?;
        if rows.is_empty() {
            tx.commit().await.map_err(fail)?;
            return Ok(Vec::new());
        }
        let expires_at = now + to_chrono(lease);
        let planned = self.plan(&rows, node, now, expires_at);
        sqlx::query(APPLY_CLAIMS)
            .bind(&planned.ids)
            .bind(&planned.next_run_times)
            .bind(&planned.claimed)
            .bind(node)
            .bind(expires_at)
            .execute(&mut *tx)
            .await
            .map_err(fail)?;
        tx.commit().await.map_err(fail)?;
        Ok(planned.runs)
    }

    /// Computes, in Rust, what the claim does to each selected row: the following fire
    /// time of a claimed run, or no next run for a row past its end time (R3) or one that
    /// does not decode (quarantined: it stays for inspection but is no longer due).
    fn plan(
        &self,
        rows: &[PgRow],
        node: &str,
        now: DateTime<Utc>,
        expires_at: DateTime<Utc>,
    ) -> Planned {
        let mut planned = Planned {
            ids: Vec::with_capacity(rows.len()),
            next_run_times: Vec::with_capacity(rows.len()),
            claimed: Vec::with_capacity(rows.len()),
            runs: Vec::with_capacity(rows.len()),
        };
        for row in rows {
            let decoded = job_from_row(row).and_then(|job| {
                let token: i64 = row
                    .try_get("lease_token")
                    .map_err(|e| crate::errors::corrupt(&job.id, "lease_token", e))?;
                Ok((job, token))
            });
            let (mut job, token) = match decoded {
                Ok(decoded) => decoded,
                Err(error) => {
                    let id: Option<String> = row.try_get("id").ok();
                    tracing::error!(%error, "a due job does not decode; it is taken off the schedule (next run time cleared)");
                    if let Some(id) = id {
                        planned.ids.push(id);
                        planned.next_run_times.push(None);
                        planned.claimed.push(false);
                    }
                    continue;
                }
            };
            let Some(due) = job.next_run_time else {
                continue;
            };
            planned.ids.push(job.id.clone());
            if job.end_time.is_some_and(|end| now > end) {
                // Past its end time: it never runs again (R3).
                planned.next_run_times.push(None);
                planned.claimed.push(false);
                continue;
            }
            let schedule = self.inner.schedules.for_job(&job);
            job.next_run_time = next_fire_time_after_run(&job, schedule.as_deref(), now);
            planned.next_run_times.push(job.next_run_time);
            planned.claimed.push(true);
            let lease = RunLease {
                job_id: job.id.clone(),
                token: token + 1,
                node: node.to_owned(),
                expires_at,
                due_at: due,
            };
            planned.runs.push(ClaimedRun { job, lease });
        }
        planned
    }

    pub(crate) async fn next_due(&self, node: &str) -> Result<Option<DateTime<Utc>>, StoreError> {
        sqlx::query_scalar(NEXT_DUE)
            .bind(node)
            .fetch_one(&self.inner.pool)
            .await
            .map_err(|e| store_error(&self.inner.server, "read the next due time", e))
    }
}
