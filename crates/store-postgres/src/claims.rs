//! Claims: taking due runs in batches with `FOR UPDATE SKIP LOCKED`, the following fire
//! times computed in Rust in the same transaction, lease tokens from the store-wide
//! sequence (R38), and the next due time.

use std::collections::HashMap;
use std::time::Duration;

use bgtasks_abstractions::{RunLease, next_fire_time_after_run};
use bgtasks_store::{ClaimRequest, ClaimedRun, StoreError};
use chrono::{DateTime, Utc};
use sqlx::Row;
use sqlx::postgres::PgRow;

use crate::keyed::begin_keyed;
use crate::rows::{job_columns, job_from_row, limit};
use crate::store::PostgresJobStore;

/// The longest lease a claim or renewal gives: ten years (a longer one is cut to this).
const MAX_LEASE: Duration = Duration::from_secs(10 * 365 * 24 * 3600);

/// The due, claimable runs a node may take (pinned to it or to no node, of a type it runs),
/// best first, locked; rows other claimers hold are skipped rather than waited for. The
/// time is the caller's (`$1`) or the database's (`$1` NULL), and is returned with every
/// row for the fire times computed in Rust.
pub(crate) const SELECT_DUE: &str = concat!(
    "SELECT ",
    job_columns!(),
    ", ctid::text AS row_tid, COALESCE($1::timestamptz, now()) AS claim_now FROM bgtasks_jobs \
     WHERE lease_node IS NULL AND NOT is_abandoned AND status IN (5, 10, 15) \
       AND next_run_time IS NOT NULL AND next_run_time <= COALESCE($1::timestamptz, now()) \
       AND (node_name IS NULL OR node_name = $2) \
       AND ($4::text[] IS NULL OR job_type = ANY($4::text[])) \
     ORDER BY priority DESC, try_count, next_run_time \
     LIMIT $3 \
     FOR UPDATE SKIP LOCKED"
);

/// One statement for the whole batch: leases the claimed rows (a fresh token from the
/// sequence each, the old due time kept for a give-back or rescue, one more attempt
/// counted, R43) and moves every row's next run time on. Rows past their end time only
/// lose their next run time; rows that do not decode or cannot be scheduled are set aside
/// (Stopped, the reason as their result, R42). Returns the tokens, attempts and rescues of
/// the claimed rows.
///
/// Rows are found by the physical address (`ctid`) [`SELECT_DUE`] read them at: they are
/// locked by this transaction since, so the address still holds, and a TID scan finds
/// each row at once. (Joined on `id`, the planner hashes the whole table when it believes
/// the table small or its statistics are stale, one full scan per batch.)
const APPLY_CLAIMS: &str = "UPDATE bgtasks_jobs AS j SET \
       next_run_time = u.next_run_time, \
       lease_token = CASE WHEN u.claimed THEN nextval('bgtasks_lease_tokens') \
         ELSE j.lease_token END, \
       lease_node = CASE WHEN u.claimed THEN $4 END, \
       lease_expires_at = CASE WHEN u.claimed THEN $5::timestamptz END, \
       lease_due_at = CASE WHEN u.claimed THEN j.next_run_time END, \
       attempts = CASE WHEN u.claimed THEN LEAST(j.attempts, 9223372036854775806) + 1 \
         ELSE j.attempts END, \
       interrupt = NULL, triggered = FALSE, \
       status = CASE WHEN u.reason IS NULL THEN j.status ELSE 30 END, \
       result = COALESCE(u.reason, j.result) \
     FROM unnest($1::text[]::tid[], $2::timestamptz[], $3::bool[], $6::text[]) \
       AS u(tid, next_run_time, claimed, reason) \
     WHERE j.ctid = u.tid \
     RETURNING j.id, j.lease_token, j.attempts, j.rescues, u.claimed";

/// Clamped to years 1–9999: the driver panics decoding `±infinity` and other times out of
/// chrono's range (R42); such a row is due at once and set aside by the claim.
/// (`LEAST` and `GREATEST` skip NULLs, so "nothing due" is kept apart.) The earliest row
/// is read in the order of `bgtasks_jobs_due`, in a keyed transaction (see
/// [`crate::keyed`]), so stale statistics cannot turn it into a sort of every due row.
pub(crate) const NEXT_DUE: &str = "SELECT CASE WHEN m IS NULL THEN NULL \
       ELSE LEAST(GREATEST(m, '0001-01-01Z'), '9999-12-31Z') END FROM ( \
     SELECT (SELECT next_run_time FROM bgtasks_jobs \
       WHERE lease_node IS NULL AND NOT is_abandoned AND status IN (5, 10, 15) \
         AND next_run_time IS NOT NULL AND (node_name IS NULL OR node_name = $1) \
         AND ($2::text[] IS NULL OR job_type = ANY($2::text[])) \
       ORDER BY next_run_time LIMIT 1) AS m) AS due";

/// A lease length in whole microseconds, at most [`MAX_LEASE`], for SQL
/// (`$n * interval '1 microsecond'`).
pub(crate) fn lease_micros(lease: Duration) -> i64 {
    i64::try_from(lease.min(MAX_LEASE).as_micros()).unwrap_or(i64::MAX)
}

/// When a lease taken at `now` for `lease` expires.
fn lease_end(now: DateTime<Utc>, lease: Duration) -> DateTime<Utc> {
    let length = chrono::Duration::microseconds(lease_micros(lease));
    now.checked_add_signed(length)
        .unwrap_or(DateTime::<Utc>::MAX_UTC)
}

/// What a claim does to the selected rows.
#[derive(Default)]
struct Planned {
    /// The rows' addresses (`ctid` as text), as [`SELECT_DUE`] read them.
    tids: Vec<String>,
    next_run_times: Vec<Option<DateTime<Utc>>>,
    claimed: Vec<bool>,
    /// Why a row is set aside (it does not decode); `None` for the others.
    reasons: Vec<Option<String>>,
    /// The claimed runs, best first, their tokens not yet known.
    runs: Vec<ClaimedRun>,
}

impl Planned {
    /// Plans a row: its next run time, whether it is claimed, why it is set aside.
    fn push(
        &mut self,
        tid: String,
        next: Option<DateTime<Utc>>,
        claimed: bool,
        set_aside: Option<String>,
    ) {
        self.tids.push(tid);
        self.next_run_times.push(next);
        self.claimed.push(claimed);
        self.reasons.push(set_aside);
    }
}

impl PostgresJobStore {
    pub(crate) async fn claim_runs(
        &self,
        request: &ClaimRequest<'_>,
    ) -> Result<Vec<ClaimedRun>, StoreError> {
        if request.limit == 0 || request.job_types.is_some_and(<[String]>::is_empty) {
            return Ok(Vec::new());
        }
        let fail = self.fail("claim due runs");
        let mut tx = begin_keyed(&self.inner.pool).await.map_err(&fail)?;
        let rows = sqlx::query(SELECT_DUE)
            .bind(self.caller_now(request.now))
            .bind(request.node)
            .bind(limit(request.limit))
            .bind(request.job_types)
            .fetch_all(&mut *tx)
            .await
            .map_err(&fail)?;
        let Some(first) = rows.first() else {
            tx.commit().await.map_err(&fail)?;
            return Ok(Vec::new());
        };
        let now: DateTime<Utc> = first.try_get("claim_now").map_err(&fail)?;
        let expires_at = lease_end(now, request.lease);
        let mut planned = self.plan(&rows, request.node, now, expires_at);
        let applied = sqlx::query(APPLY_CLAIMS)
            .bind(&planned.tids)
            .bind(&planned.next_run_times)
            .bind(&planned.claimed)
            .bind(request.node)
            .bind(expires_at)
            .bind(&planned.reasons)
            .fetch_all(&mut *tx)
            .await
            .map_err(&fail)?;
        tx.commit().await.map_err(&fail)?;
        let mut leased = HashMap::with_capacity(applied.len());
        for row in &applied {
            if row.try_get::<bool, _>("claimed").map_err(&fail)? {
                let id: String = row.try_get("id").map_err(&fail)?;
                let token: i64 = row.try_get("lease_token").map_err(&fail)?;
                let attempt: i64 = row.try_get("attempts").map_err(&fail)?;
                let rescues: i32 = row.try_get("rescues").map_err(&fail)?;
                leased.insert(id, (token, attempt, rescues));
            }
        }
        planned
            .runs
            .retain_mut(|run| match leased.get(&run.job.id) {
                Some(&(token, attempt, rescues)) => {
                    run.lease.token = token;
                    run.attempt = attempt;
                    run.rescues = rescues;
                    true
                }
                // Every claimed row is updated in the transaction that locked it; a run
                // without a token would be a bug, and is not handed out.
                None => false,
            });
        Ok(planned.runs)
    }

    /// Computes, in Rust, what the claim does to each selected row: the following fire
    /// time of a claimed run (saturating: a time past the end of time is no next run); no
    /// next run for a row past its end time (R3); a row that does not decode, or a Period
    /// job whose cron does not parse, is set aside (R42).
    fn plan(
        &self,
        rows: &[PgRow],
        node: &str,
        now: DateTime<Utc>,
        expires_at: DateTime<Utc>,
    ) -> Planned {
        let mut planned = Planned::default();
        for row in rows {
            // The address is the database's own text, always readable; a row without one
            // cannot be written back, and is left as it is.
            let Ok(tid) = row.try_get::<String, _>("row_tid") else {
                continue;
            };
            let mut job = match job_from_row(row) {
                Ok(job) => job,
                Err(error) => {
                    tracing::error!(event = "bgtasks.set_aside", %error, "a due job does not decode; it is set aside (Stopped, the error as its result)");
                    planned.push(tid, None, false, Some(format!("set aside: {error}")));
                    continue;
                }
            };
            let Some(due) = job.next_run_time else {
                continue;
            };
            let schedule = match self.inner.schedules.checked(&job) {
                Ok(schedule) => schedule,
                Err(reason) => {
                    tracing::error!(event = "bgtasks.set_aside", job_id = %job.id, %reason, "a due job cannot be scheduled; it is set aside (Stopped, the reason as its result)");
                    let reason =
                        format!("set aside: job `{}` cannot be scheduled: {reason}", job.id);
                    planned.push(tid, None, false, Some(reason));
                    continue;
                }
            };
            if job.end_time.is_some_and(|end| now > end) {
                // Past its end time: it never runs again (R3).
                planned.push(tid, None, false, None);
                continue;
            }
            job.next_run_time = next_fire_time_after_run(&job, schedule.as_deref(), now);
            planned.push(tid, job.next_run_time, true, None);
            let lease = RunLease {
                job_id: job.id.clone(),
                token: 0,
                node: node.to_owned(),
                expires_at,
                due_at: due,
            };
            planned.runs.push(ClaimedRun {
                job,
                lease,
                attempt: 0,
                rescues: 0,
            });
        }
        planned
    }

    pub(crate) async fn next_due(
        &self,
        node: &str,
        job_types: Option<&[String]>,
    ) -> Result<Option<DateTime<Utc>>, StoreError> {
        if job_types.is_some_and(<[String]>::is_empty) {
            return Ok(None);
        }
        let fail = self.fail("read the next due time");
        let mut tx = begin_keyed(&self.inner.pool).await.map_err(&fail)?;
        let due = sqlx::query_scalar(NEXT_DUE)
            .bind(node)
            .bind(job_types)
            .fetch_one(&mut *tx)
            .await
            .map_err(&fail)?;
        tx.commit().await.map_err(&fail)?;
        Ok(due)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn leases_are_whole_microseconds_and_capped() {
        assert_eq!(lease_micros(Duration::from_secs(30)), 30_000_000);
        assert_eq!(lease_micros(Duration::from_nanos(1_500)), 1);
        assert_eq!(lease_micros(Duration::MAX), lease_micros(MAX_LEASE));
        let now = DateTime::<Utc>::MAX_UTC;
        assert_eq!(lease_end(now, Duration::from_secs(1)), now, "saturates");
    }
}
