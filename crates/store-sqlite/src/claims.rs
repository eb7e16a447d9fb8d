//! Claims: how nodes (in this process or others) share the due runs of one file.
//!
//! A claim is one `BEGIN IMMEDIATE` transaction: SQLite lets one writer in at a time, so
//! the candidates a claim reads cannot be claimed by anyone else before it commits. The
//! next run time of each claimed job is computed in Rust (cron, interval, end time) and
//! written in the same transaction, with one statement for all the runs of a batch. Lease
//! tokens come from the store-wide counter (`tokens`), read and bumped in the same
//! transaction, so a token is never handed out twice in the life of the file (R38). Every
//! claim counts an attempt (R43). Jobs of types the node does not run are left for nodes
//! that run them (R41). A cheap read first tells whether anything is due: a claim with
//! nothing to take takes no write lock (every node claims every poll interval).
//!
//! A due row that cannot be run — it does not decode, or it is a Period job whose cron
//! does not parse — is set aside (R42: Stopped, no next run, the reason as its result)
//! rather than claimed or left to stall every claim.
//!
//! The order is the reference's: priority, then fewest tries, then earliest due. A claim
//! walks the (priority, tries) groups of the index `bgtasks_jobs_claim` from the best down
//! and, in each, seeks the runs due by now — so it reads the runs it takes and a few index
//! entries per group, however many other runs are due or scheduled.

use bgtasks_abstractions::{RunLease, next_fire_time_after_run};
use bgtasks_store::{ClaimRequest, ClaimedRun, StoreError};
use chrono::{DateTime, Utc};
use serde_json::json;
use sqlx::SqliteConnection;
use sqlx::sqlite::SqliteRow;

use crate::errors::store_error;
use crate::rows::{self, RowReader, after, job_columns, micros, stored};
use crate::store::Inner;
use crate::tokens::Tokens;

/// A run that can be claimed: schedulable, not abandoned, scheduled, and unleased. The
/// same terms as the partial indexes `bgtasks_jobs_claim` and `bgtasks_jobs_due`.
macro_rules! claimable {
    () => {
        "lease_token IS NULL AND is_abandoned = 0 AND status IN (5, 10, 15) \
         AND next_run_time IS NOT NULL"
    };
}

/// The best (priority, tries) group with a claimable run.
const FIRST_GROUP: &str = concat!(
    "SELECT priority, try_count FROM bgtasks_jobs INDEXED BY bgtasks_jobs_claim WHERE ",
    claimable!(),
    " ORDER BY priority DESC, try_count LIMIT 1"
);

/// The next group of the same priority (more tries).
const NEXT_GROUP_SAME_PRIORITY: &str = concat!(
    "SELECT priority, try_count FROM bgtasks_jobs INDEXED BY bgtasks_jobs_claim WHERE ",
    claimable!(),
    " AND priority = ?1 AND try_count > ?2 ORDER BY try_count LIMIT 1"
);

/// The best group of a lower priority.
const NEXT_GROUP_LOWER_PRIORITY: &str = concat!(
    "SELECT priority, try_count FROM bgtasks_jobs INDEXED BY bgtasks_jobs_claim WHERE ",
    claimable!(),
    " AND priority < ?1 ORDER BY priority DESC, try_count LIMIT 1"
);

/// Whether a run is due by `?1` that node `?2` may run, of the job types of `?3` (a JSON
/// array; NULL: any type): read before the write lock is taken.
const ANY_DUE: &str = concat!(
    "SELECT EXISTS (SELECT 1 FROM bgtasks_jobs INDEXED BY bgtasks_jobs_due WHERE ",
    claimable!(),
    " AND next_run_time <= ?1 AND (node_name IS NULL OR node_name = ?2) \
      AND (?3 IS NULL OR job_type IN (SELECT value FROM json_each(?3))))"
);

/// The runs of one group due by `?3` that node `?4` may run, of the job types of `?5` (a
/// JSON array; NULL: any type), earliest first.
const DUE_IN_GROUP: &str = concat!(
    "SELECT rowid AS row_id, attempts, rescues, ",
    job_columns!(),
    " FROM bgtasks_jobs INDEXED BY bgtasks_jobs_claim WHERE ",
    claimable!(),
    " AND priority = ?1 AND try_count = ?2 AND next_run_time <= ?3 \
      AND (node_name IS NULL OR node_name = ?4) \
      AND (?5 IS NULL OR job_type IN (SELECT value FROM json_each(?5))) \
      ORDER BY next_run_time, rowid LIMIT ?6"
);

/// Leases the runs of `?1`, a JSON array of `[rowid, token, next run time, attempts]`,
/// to node `?2` until `?3`. The lease remembers when the run was due (the old next run
/// time); a new lease has no interruption or trigger pending; the claim is counted.
const TAKE_LEASES: &str = "UPDATE bgtasks_jobs SET lease_token = v.token, lease_node = ?2, \
     lease_expires_at = ?3, lease_due_at = next_run_time, next_run_time = v.next, \
     interrupt = NULL, triggered = 0, attempts = v.attempts \
     FROM (SELECT value ->> 0 AS row_id, value ->> 1 AS token, value ->> 2 AS next, \
             value ->> 3 AS attempts FROM jsonb_each(?1)) AS v \
     WHERE bgtasks_jobs.rowid = v.row_id";

/// Takes a job past its end time out of the schedule (R3).
const UNSCHEDULE: &str = "UPDATE bgtasks_jobs SET next_run_time = NULL WHERE rowid = ?";

/// Sets aside a row that cannot be run (R42): Stopped, no next run, the reason as its
/// result.
const SET_ASIDE: &str =
    "UPDATE bgtasks_jobs SET status = 30, next_run_time = NULL, result = ?2 WHERE rowid = ?1";

/// The earliest claimable run that node `?1` may run, of the job types of `?2` (a JSON
/// array; NULL: any type).
const NEXT_DUE: &str = concat!(
    "SELECT id, next_run_time FROM bgtasks_jobs INDEXED BY bgtasks_jobs_due WHERE ",
    claimable!(),
    " AND (node_name IS NULL OR node_name = ?1) \
      AND (?2 IS NULL OR job_type IN (SELECT value FROM json_each(?2))) \
      ORDER BY next_run_time LIMIT 1"
);

/// The operation, as errors name it.
const CLAIM: &str = "claim due runs";

/// The job types of a request as a JSON array, `None` for any type.
fn types_json(job_types: Option<&[String]>) -> Option<String> {
    job_types.map(|types| json!(types).to_string())
}

/// A (priority code, try count) group of the claim order.
type Group = (i64, i64);

/// Claims up to `request.limit` due runs that the node may run, leasing each until
/// `now + lease`.
pub(crate) async fn claim(
    inner: &Inner,
    request: &ClaimRequest<'_>,
) -> Result<Vec<ClaimedRun>, StoreError> {
    let limit = request.limit;
    if limit == 0 || request.job_types.is_some_and(<[String]>::is_empty) {
        return Ok(Vec::new());
    }
    let failed = inner.failed(CLAIM);
    let job_types = types_json(request.job_types);
    let any_due: bool = sqlx::query_scalar(ANY_DUE)
        .bind(micros(request.now))
        .bind(request.node.to_owned())
        .bind(job_types.clone())
        .fetch_one(&inner.pool)
        .await
        .map_err(&failed)?;
    if !any_due {
        return Ok(Vec::new());
    }
    let (_turn, mut tx) = inner.begin_write(CLAIM).await?;
    let mut claim = Claim {
        inner,
        node: request.node,
        job_types,
        now: request.now,
        expires_at: stored(after(request.now, request.lease)),
        tokens: Tokens::default(),
        runs: Vec::with_capacity(limit.min(1024)),
    };
    let mut group = next_group(&mut tx, inner, None).await?;
    while let Some(current) = group {
        claim.take_group(&mut tx, current, limit).await?;
        if claim.runs.len() >= limit {
            break;
        }
        group = next_group(&mut tx, inner, Some(current)).await?;
    }
    claim.tokens.save(&mut tx, inner, CLAIM).await?;
    tx.commit().await.map_err(&failed)?;
    Ok(claim.runs)
}

/// The group after `after` (the first group when `None`) that has a claimable run.
async fn next_group(
    conn: &mut SqliteConnection,
    inner: &Inner,
    after: Option<Group>,
) -> Result<Option<Group>, StoreError> {
    let failed = |e| store_error(&inner.db, CLAIM, e);
    let Some((priority, tries)) = after else {
        return sqlx::query_as(FIRST_GROUP)
            .fetch_optional(&mut *conn)
            .await
            .map_err(failed);
    };
    let same: Option<Group> = sqlx::query_as(NEXT_GROUP_SAME_PRIORITY)
        .bind(priority)
        .bind(tries)
        .fetch_optional(&mut *conn)
        .await
        .map_err(failed)?;
    if same.is_some() {
        return Ok(same);
    }
    sqlx::query_as(NEXT_GROUP_LOWER_PRIORITY)
        .bind(priority)
        .fetch_optional(&mut *conn)
        .await
        .map_err(failed)
}

/// One claim in progress.
struct Claim<'a> {
    inner: &'a Inner,
    node: &'a str,
    /// The job types the node runs, as a JSON array; `None`: any.
    job_types: Option<String>,
    now: DateTime<Utc>,
    expires_at: DateTime<Utc>,
    /// The lease tokens this claim hands out.
    tokens: Tokens,
    runs: Vec<ClaimedRun>,
}

impl Claim<'_> {
    /// Takes the due runs of one group until `limit` runs are claimed in all.
    async fn take_group(
        &mut self,
        conn: &mut SqliteConnection,
        (priority, tries): Group,
        limit: usize,
    ) -> Result<(), StoreError> {
        let inner = self.inner;
        let failed = inner.failed(CLAIM);
        while self.runs.len() < limit {
            let want = limit - self.runs.len();
            let rows = sqlx::query(DUE_IN_GROUP)
                .bind(priority)
                .bind(tries)
                .bind(micros(self.now))
                .bind(self.node.to_owned())
                .bind(self.job_types.clone())
                .bind(rows::limit(want))
                .fetch_all(&mut *conn)
                .await
                .map_err(&failed)?;
            if !rows.is_empty() {
                self.tokens.load(conn, inner, CLAIM).await?;
            }
            let mut leases = Vec::with_capacity(rows.len());
            let mut passed_over = false;
            for row in &rows {
                let (statement, row_id, reason) = match self.take(row)? {
                    Take::Lease(lease) => {
                        leases.push(lease);
                        continue;
                    }
                    Take::Unschedule(row_id) => (UNSCHEDULE, row_id, None),
                    Take::SetAside(row_id, reason) => (SET_ASIDE, row_id, Some(reason)),
                };
                let mut query = sqlx::query(statement).bind(row_id);
                if let Some(reason) = reason {
                    query = query.bind(reason);
                }
                query.execute(&mut *conn).await.map_err(&failed)?;
                passed_over = true;
            }
            if !leases.is_empty() {
                sqlx::query(TAKE_LEASES)
                    .bind(serde_json::Value::Array(leases).to_string())
                    .bind(self.node.to_owned())
                    .bind(micros(self.expires_at))
                    .execute(&mut *conn)
                    .await
                    .map_err(&failed)?;
            }
            // Rows passed over left room under the limit: look again, unless the group
            // had no more.
            if !passed_over || rows.len() < want {
                break;
            }
        }
        Ok(())
    }

    /// Decides what happens to one candidate row: its run is claimed (the claimed run is
    /// recorded, and the row's lease returned for writing), the row is taken out of the
    /// schedule (past its end time), or set aside (it does not decode, or its cron does
    /// not parse: R42).
    fn take(&mut self, row: &SqliteRow) -> Result<Take, StoreError> {
        let db = &self.inner.db;
        let reader = RowReader::new(row, db, "id");
        let row_id = reader.int("row_id")?;
        let decoded = reader.job().and_then(|job| {
            let attempts = reader.int("attempts")?;
            let rescues = reader.i32("rescues")?;
            Ok((job, attempts, rescues))
        });
        let (mut job, attempts, rescues) = match decoded {
            Ok(decoded) => decoded,
            Err(error) => {
                tracing::error!(event = "bgtasks.set_aside", db = %db, %error,
                    "a due job does not decode; it is set aside (Stopped, the reason as its result)");
                return Ok(Take::SetAside(row_id, format!("set aside: {error}")));
            }
        };
        let schedule = match self.inner.schedule_or_reason(job.kind, job.cron.as_deref()) {
            Ok(schedule) => schedule,
            Err(reason) => {
                tracing::error!(event = "bgtasks.set_aside", db = %db, job_id = %job.id, %reason,
                    "a due Period job cannot be scheduled; it is set aside (Stopped, the reason as its result)");
                return Ok(Take::SetAside(row_id, format!("set aside: {reason}")));
            }
        };
        let Some(due) = job.next_run_time else {
            return Ok(Take::Unschedule(row_id));
        };
        if job.end_time.is_some_and(|end| self.now > end) {
            // Past its end time: it never runs again (R3).
            return Ok(Take::Unschedule(row_id));
        }
        let token = self.tokens.next(self.inner, &format!("job `{}`", job.id))?;
        let attempt = attempts.saturating_add(1);
        job.next_run_time =
            next_fire_time_after_run(&job, schedule.as_deref(), self.now).map(stored);
        let lease = json!([row_id, token, job.next_run_time.map(micros), attempt]);
        self.runs.push(ClaimedRun {
            lease: RunLease {
                job_id: job.id.clone(),
                token,
                node: self.node.to_owned(),
                expires_at: self.expires_at,
                due_at: due,
            },
            job,
            attempt,
            rescues,
        });
        Ok(Take::Lease(lease))
    }
}

/// What a claim does with one candidate row.
enum Take {
    /// Lease it: `[rowid, token, next run time, attempts]` for [`TAKE_LEASES`].
    Lease(serde_json::Value),
    /// Take it out of the schedule (past its end time).
    Unschedule(i64),
    /// Set it aside, with the reason (it does not decode, or cannot be scheduled).
    SetAside(i64, String),
}

/// The earliest time a job `node` may claim becomes due.
pub(crate) async fn next_due_time(
    inner: &Inner,
    node: &str,
    job_types: Option<&[String]>,
) -> Result<Option<DateTime<Utc>>, StoreError> {
    if job_types.is_some_and(<[String]>::is_empty) {
        return Ok(None);
    }
    let row = sqlx::query(NEXT_DUE)
        .bind(node.to_owned())
        .bind(types_json(job_types))
        .fetch_optional(&inner.pool)
        .await
        .map_err(|e| store_error(&inner.db, "read the next due time", e))?;
    row.map(|row| RowReader::new(&row, &inner.db, "id").time("next_run_time"))
        .transpose()
}
