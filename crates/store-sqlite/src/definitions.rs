//! [`JobDefinitions`] on SQLite: insert (a batch in one statement), update under the
//! revision, remove with the job's logs (its actions are in its row), find, the listing,
//! and the reference's store queries (R27).

use std::collections::HashSet;

use bgtasks_abstractions::JobInfo;
use bgtasks_store::{
    DefinitionUpdate, JobDefinitions, JobPage, JobQuery, JobRecord, Refusal, RemoveIf, StoreError,
    Transition, rules,
};
use chrono::{DateTime, Utc};
use sqlx::SqliteConnection;
use sqlx::sqlite::SqliteRow;

use crate::control::{Columns, bump_control};
use crate::listing;
use crate::rows::{decode_job, decode_record, job_columns, job_values, limit, record_columns};
use crate::store::{Inner, SqliteJobStore, schedulable};

/// Inserts the jobs of `?1` (a JSON array of `job_values` arrays) whose ids are new, at
/// revision 1 with no lease, no attempt and no rescue; returns the ids inserted.
const INSERT_JOBS: &str = concat!(
    "INSERT INTO bgtasks_jobs (",
    job_columns!(),
    ") SELECT value ->> 0, value ->> 1, value ->> 2, value ->> 3, value ->> 4, value ->> 5, \
       value ->> 6, value ->> 7, value ->> 8, value ->> 9, value ->> 10, value ->> 11, \
       value ->> 12, value ->> 13, value ->> 14, value ->> 15, value ->> 16, value ->> 17, \
       value ->> 18, value ->> 19, value ->> 20, value ->> 21, value ->> 22, value ->> 23, \
       value ->> 24, value ->> 25, value ->> 26, value ->> 27, value ->> 28 \
     FROM jsonb_each(?1) WHERE true ORDER BY key ON CONFLICT (id) DO NOTHING RETURNING id"
);

/// The reference's order (R27): priority, then fewest tries, then earliest next run time
/// (none last); the id breaks ties so that the order is stable.
macro_rules! waiting_order {
    () => {
        " ORDER BY priority DESC, try_count ASC, next_run_time IS NULL, next_run_time ASC, id"
    };
}
pub(crate) use waiting_order;

/// The reference's waiting filter (R27) but the kind.
macro_rules! waiting_filter {
    () => {
        " WHERE is_abandoned = 0 AND status IN (5, 15) \
          AND ((max_count = 0 OR trigger_count < max_count) \
               OR (max_try_count = 0 OR try_count < max_try_count))"
    };
}
pub(crate) use waiting_filter;

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

/// The record of one job.
pub(crate) const FIND_RECORD: &str = concat!(
    "SELECT ",
    record_columns!(),
    " FROM bgtasks_jobs WHERE id = ?"
);

/// Jobs per statement of [`insert_on`].
pub(crate) const INSERT_CHUNK: usize = 1000;

/// Inserts `jobs` on `conn`, in the transaction it is in, each unless its id is stored (a
/// repeated id once, from its first occurrence), at revision 1 with no lease; says for each
/// job whether it was inserted. A batch of the store and one of a caller's own transaction
/// ([`enqueue_in`](crate::enqueue_in)) both go through here; `failed` names the operation
/// in errors.
pub(crate) async fn insert_on(
    conn: &mut SqliteConnection,
    jobs: &[JobInfo],
    failed: &(dyn Fn(sqlx::Error) -> StoreError + Sync),
) -> Result<Vec<bool>, StoreError> {
    let mut inserted = Vec::with_capacity(jobs.len());
    for chunk in jobs.chunks(INSERT_CHUNK) {
        let values = chunk.iter().map(job_values).collect::<Result<_, _>>()?;
        let ids: Vec<String> = sqlx::query_scalar(INSERT_JOBS)
            .bind(serde_json::Value::Array(values).to_string())
            .fetch_all(&mut *conn)
            .await
            .map_err(failed)?;
        let mut ids: HashSet<String> = ids.into_iter().collect();
        inserted.extend(chunk.iter().map(|job| ids.remove(&job.id)));
    }
    Ok(inserted)
}

impl Inner {
    fn decode_all(&self, rows: &[SqliteRow]) -> Result<Vec<JobInfo>, StoreError> {
        rows.iter().map(|row| decode_job(row, &self.db)).collect()
    }

    async fn list_by(
        &self,
        sql: &'static str,
        node: Option<&str>,
        max: usize,
        what: &str,
    ) -> Result<Vec<JobInfo>, StoreError> {
        let mut query = sqlx::query(sql);
        if let Some(node) = node {
            query = query.bind(node.to_owned());
        }
        let rows = query
            .bind(limit(max))
            .fetch_all(&self.pool)
            .await
            .map_err(self.failed(what))?;
        self.decode_all(&rows)
    }

    /// Inserts many jobs in one transaction (one disk sync instead of one per job). Up to
    /// [`INSERT_CHUNK`] jobs are one statement, atomic by itself: it runs without
    /// `BEGIN` and `COMMIT`, two round trips to the database's thread fewer (a statement
    /// that writes takes the write lock as it starts, as `BEGIN IMMEDIATE` does).
    async fn insert(&self, jobs: &[JobInfo]) -> Result<Vec<bool>, StoreError> {
        if jobs.is_empty() {
            return Ok(Vec::new());
        }
        let failed = self.failed("insert jobs");
        let inserted = if jobs.len() <= INSERT_CHUNK {
            let _turn = self.write_gate("insert jobs").await?;
            let mut conn = self.pool.acquire().await.map_err(&failed)?;
            insert_on(&mut conn, jobs, &failed).await?
        } else {
            let (_turn, mut tx) = self.begin_write("insert jobs").await?;
            let inserted = insert_on(&mut tx, jobs, &failed).await?;
            tx.commit().await.map_err(&failed)?;
            inserted
        };
        if jobs
            .iter()
            .zip(&inserted)
            .any(|(job, inserted)| *inserted && schedulable(job))
        {
            self.signals.due.notify();
        }
        Ok(inserted)
    }

    /// Removes a job with its logs (and its actions, which are in its row), in one
    /// transaction, if `only` allows it. Its notifications stay: an alert about a removed
    /// job still goes out.
    async fn remove(&self, id: &str, only: RemoveIf) -> Result<Transition, StoreError> {
        let operation = format!("remove job `{id}`");
        let failed = self.failed(&operation);
        let (_turn, mut tx) = self.begin_write(&operation).await?;
        let row = sqlx::query(FIND_RECORD)
            .bind(id.to_owned())
            .fetch_optional(&mut *tx)
            .await
            .map_err(&failed)?;
        let Some(row) = row else {
            tx.rollback().await.map_err(&failed)?;
            return Ok(Err(Refusal::NotFound));
        };
        let record = decode_record(&row, &self.db)?;
        if !only.allows(record.job.status) {
            tx.rollback().await.map_err(&failed)?;
            return Ok(Err(Refusal::StateChanged(Box::new(record))));
        }
        for delete in [
            "DELETE FROM bgtasks_jobs WHERE id = ?",
            "DELETE FROM bgtasks_job_logs WHERE job_id = ?",
        ] {
            sqlx::query(delete)
                .bind(id.to_owned())
                .execute(&mut *tx)
                .await
                .map_err(&failed)?;
        }
        let running = record.is_running();
        if running {
            bump_control(&mut tx).await.map_err(&failed)?;
        }
        tx.commit().await.map_err(&failed)?;
        if running {
            self.signals.control.notify();
        }
        Ok(Ok(record))
    }
}

impl JobDefinitions for SqliteJobStore {
    async fn insert(&self, jobs: &[JobInfo]) -> Result<Vec<bool>, StoreError> {
        self.inner.insert(jobs).await
    }

    async fn update(
        &self,
        id: &str,
        update: &DefinitionUpdate,
        expected_revision: Option<i64>,
        now: DateTime<Utc>,
    ) -> Result<Transition, StoreError> {
        let inner = &self.inner;
        inner
            .transition(
                id,
                "update",
                Columns::Definition,
                |record: &mut JobRecord| {
                    if expected_revision.is_some_and(|expected| expected != record.revision) {
                        return false;
                    }
                    let cron = update.cron.as_deref().or(record.job.cron.as_deref());
                    let schedule = inner.schedule_for(record.job.kind, cron);
                    rules::apply_update(record, update, now, schedule.as_deref());
                    true
                },
            )
            .await
    }

    async fn remove(&self, id: &str, only: RemoveIf) -> Result<Transition, StoreError> {
        self.inner.remove(id, only).await
    }

    async fn find(&self, id: &str) -> Result<Option<JobRecord>, StoreError> {
        let inner = &self.inner;
        let row = sqlx::query(FIND_RECORD)
            .bind(id.to_owned())
            .fetch_optional(&inner.pool)
            .await
            .map_err(inner.failed(&format!("find job `{id}`")))?;
        row.map(|row| decode_record(&row, &inner.db)).transpose()
    }

    async fn list(&self, query: &JobQuery) -> Result<JobPage, StoreError> {
        listing::list(&self.inner, query).await
    }

    async fn list_waiting(&self, max: usize) -> Result<Vec<JobInfo>, StoreError> {
        self.inner
            .list_by(LIST_WAITING, None, max, "list waiting jobs")
            .await
    }

    async fn list_period(&self, max: usize) -> Result<Vec<JobInfo>, StoreError> {
        self.inner
            .list_by(LIST_PERIOD, None, max, "list Period jobs")
            .await
    }

    async fn list_running(&self, node: &str, max: usize) -> Result<Vec<JobInfo>, StoreError> {
        self.inner
            .list_by(LIST_RUNNING, Some(node), max, "list Running jobs")
            .await
    }
}
