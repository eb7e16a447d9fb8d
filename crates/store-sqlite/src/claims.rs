//! Claims: how nodes (in this process or others) share the due runs of one file.
//!
//! A claim is one `BEGIN IMMEDIATE` transaction: SQLite lets one writer in at a time, so
//! the candidates a claim reads cannot be claimed by anyone else before it commits. The
//! next run time of each claimed job is computed in Rust (cron, interval, end time) and
//! written in the same transaction, with one statement for all the runs of a batch.
//!
//! The order is the reference's: priority, then fewest tries, then earliest due. A claim
//! walks the (priority, tries) groups of the index `bgtasks_jobs_claim` from the best down
//! and, in each, seeks the runs due by now — so it reads the runs it takes and a few index
//! entries per group, however many other runs are due or scheduled.

use std::time::Duration;

use bgtasks_abstractions::{RunLease, next_fire_time_after_run};
use bgtasks_core::store::{ClaimedRun, StoreError};
use chrono::{DateTime, Utc};
use serde_json::json;
use sqlx::SqliteConnection;
use sqlx::sqlite::SqliteRow;

use crate::errors::store_error;
use crate::rows::{self, RowReader, job_columns, micros};
use crate::store::Inner;

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

/// The runs of one group due by `?3` that node `?4` may run, earliest first.
const DUE_IN_GROUP: &str = concat!(
    "SELECT rowid AS row_id, fencing_token, ",
    job_columns!(),
    " FROM bgtasks_jobs INDEXED BY bgtasks_jobs_claim WHERE ",
    claimable!(),
    " AND priority = ?1 AND try_count = ?2 AND next_run_time <= ?3 \
      AND (node_name IS NULL OR node_name = ?4) ORDER BY next_run_time, rowid LIMIT ?5"
);

/// Leases the runs of `?1`, a JSON array of `[rowid, token, next run time]`, to node
/// `?2` until `?3`. The lease remembers when the run was due (the old next run time).
const TAKE_LEASES: &str = "UPDATE bgtasks_jobs SET fencing_token = v.token, \
     lease_token = v.token, lease_node = ?2, lease_expires_at = ?3, \
     lease_due_at = next_run_time, next_run_time = v.next \
     FROM (SELECT value ->> 0 AS row_id, value ->> 1 AS token, value ->> 2 AS next \
           FROM jsonb_each(?1)) AS v \
     WHERE bgtasks_jobs.rowid = v.row_id";

/// Takes a job out of the schedule (past its end time, or a row that does not decode).
const UNSCHEDULE: &str = "UPDATE bgtasks_jobs SET next_run_time = NULL WHERE rowid = ?";

const NEXT_DUE: &str = concat!(
    "SELECT id, next_run_time FROM bgtasks_jobs INDEXED BY bgtasks_jobs_due WHERE ",
    claimable!(),
    " AND (node_name IS NULL OR node_name = ?) ORDER BY next_run_time LIMIT 1"
);

/// A time as the store keeps it (to the microsecond).
pub(crate) fn stored(time: DateTime<Utc>) -> DateTime<Utc> {
    DateTime::from_timestamp_micros(micros(time)).unwrap_or(time)
}

fn after(now: DateTime<Utc>, duration: Duration) -> DateTime<Utc> {
    chrono::Duration::from_std(duration)
        .ok()
        .and_then(|d| now.checked_add_signed(d))
        .unwrap_or(DateTime::<Utc>::MAX_UTC)
}

/// A (priority code, try count) group of the claim order.
type Group = (i64, i64);

/// Claims up to `limit` due runs that `node` may run, leasing each until `now + lease`.
pub(crate) async fn claim_due(
    inner: &Inner,
    node: &str,
    now: DateTime<Utc>,
    limit: usize,
    lease: Duration,
) -> Result<Vec<ClaimedRun>, StoreError> {
    if limit == 0 {
        return Ok(Vec::new());
    }
    let failed = |e| store_error(&inner.db, "claim due runs", e);
    let _write = inner.write_gate().await;
    let mut tx = inner
        .pool
        .begin_with("BEGIN IMMEDIATE")
        .await
        .map_err(failed)?;
    let mut claim = Claim {
        inner,
        node,
        now,
        expires_at: stored(after(now, lease)),
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
    tx.commit().await.map_err(failed)?;
    Ok(claim.runs)
}

/// The group after `after` (the first group when `None`) that has a claimable run.
async fn next_group(
    conn: &mut SqliteConnection,
    inner: &Inner,
    after: Option<Group>,
) -> Result<Option<Group>, StoreError> {
    let failed = |e| store_error(&inner.db, "claim due runs", e);
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
    now: DateTime<Utc>,
    expires_at: DateTime<Utc>,
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
        let db = &self.inner.db;
        let failed = |e| store_error(db, "claim due runs", e);
        while self.runs.len() < limit {
            let want = limit - self.runs.len();
            let rows = sqlx::query(DUE_IN_GROUP)
                .bind(priority)
                .bind(tries)
                .bind(micros(self.now))
                .bind(self.node.to_owned())
                .bind(rows::limit(want))
                .fetch_all(&mut *conn)
                .await
                .map_err(failed)?;
            let mut leases = Vec::with_capacity(rows.len());
            let mut passed_over = false;
            for row in &rows {
                match self.take(row)? {
                    Take::Lease(lease) => leases.push(lease),
                    Take::Unschedule(row_id) => {
                        sqlx::query(UNSCHEDULE)
                            .bind(row_id)
                            .execute(&mut *conn)
                            .await
                            .map_err(failed)?;
                        passed_over = true;
                    }
                }
            }
            if !leases.is_empty() {
                sqlx::query(TAKE_LEASES)
                    .bind(serde_json::Value::Array(leases).to_string())
                    .bind(self.node.to_owned())
                    .bind(micros(self.expires_at))
                    .execute(&mut *conn)
                    .await
                    .map_err(failed)?;
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
    /// recorded, and the row's lease returned for writing), or the row is taken out of
    /// the schedule (past its end time, or not decodable).
    fn take(&mut self, row: &SqliteRow) -> Result<Take, StoreError> {
        let db = &self.inner.db;
        let reader = RowReader::new(row, db, "id");
        let row_id = reader.int("row_id")?;
        let decoded = reader
            .job()
            .and_then(|job| Ok((job, reader.int("fencing_token")?)));
        let (mut job, fencing) = match decoded {
            Ok(decoded) => decoded,
            Err(error) => {
                tracing::error!(db = %db, %error,
                    "a due job does not decode; it is set aside (no next run time) until it is stored again");
                return Ok(Take::Unschedule(row_id));
            }
        };
        let Some(due) = job.next_run_time else {
            return Ok(Take::Unschedule(row_id));
        };
        if job.end_time.is_some_and(|end| self.now > end) {
            // Past its end time: it never runs again (R3).
            return Ok(Take::Unschedule(row_id));
        }
        let token = fencing.saturating_add(1);
        let schedule = self.inner.schedule_of(&job);
        job.next_run_time =
            next_fire_time_after_run(&job, schedule.as_deref(), self.now).map(stored);
        let lease = json!([row_id, token, job.next_run_time.map(micros)]);
        self.runs.push(ClaimedRun {
            lease: RunLease {
                job_id: job.id.clone(),
                token,
                node: self.node.to_owned(),
                expires_at: self.expires_at,
                due_at: due,
            },
            job,
        });
        Ok(Take::Lease(lease))
    }
}

/// What a claim does with one candidate row.
enum Take {
    /// Lease it: `[rowid, token, next run time]` for [`TAKE_LEASES`].
    Lease(serde_json::Value),
    /// Take it out of the schedule.
    Unschedule(i64),
}

pub(crate) async fn next_due_time(
    inner: &Inner,
    node: &str,
) -> Result<Option<DateTime<Utc>>, StoreError> {
    let row = sqlx::query(NEXT_DUE)
        .bind(node.to_owned())
        .fetch_optional(&inner.pool)
        .await
        .map_err(|e| store_error(&inner.db, "read the next due time", e))?;
    row.map(|row| RowReader::new(&row, &inner.db, "id").time("next_run_time"))
        .transpose()
}
