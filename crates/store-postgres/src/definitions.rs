//! Job definitions on PostgreSQL: insert in one statement, update and remove as locked
//! transitions, find, and the reference's listings (R27). `list` with filters and paging
//! is in [`listing`](crate::listing).

use std::collections::HashSet;

use bgtasks_abstractions::{CronSchedule, JobInfo, JobKind};
use bgtasks_store::{
    DefinitionUpdate, JobRecord, Refusal, RemoveIf, StoreError, Transition, rules,
};
use chrono::{DateTime, Utc};
use sqlx::types::Json;
use sqlx::{PgConnection, Row, SqlSafeStr, SqlStr};

use crate::enqueue::refuse_nul;
use crate::rows::{
    bind_jobs, code, job_columns, jobs_from_rows, limit, record_columns, record_from_row,
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
pub(crate) use waiting_filter;

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
    record_columns!(),
    " FROM bgtasks_jobs WHERE id = $1"
);

/// The columns and rows of [`INSERT_MANY`] after the table's name.
macro_rules! insert_many_into {
    () => {
        concat!(
            " (",
            job_columns!(),
            ") SELECT * FROM unnest($1::text[], $2::uuid[], $3::text[], $4::text[], \
               $5::text[], $6::jsonb[], $7::int2[], $8::text[], $9::timestamptz[], \
               $10::timestamptz[], $11::timestamptz[], $12::timestamptz[], \
               $13::timestamptz[], $14::int2[], $15::text[], $16::int4[], $17::int4[], \
               $18::int4[], $19::int4[], $20::bool[], $21::int8[], $22::int2[], \
               $23::int8[], $24::text[], $25::text[], $26::int2[], $27::int8[], \
               $28::int8[], $29::jsonb[]) \
             ON CONFLICT (id) DO NOTHING RETURNING id"
        )
    };
}

/// Inserts a batch of jobs (distinct ids) in one statement, skipping ids that exist;
/// returns the ids inserted. Each starts at revision 1, with no lease. The table is found
/// through the connection's `search_path`.
const INSERT_MANY: &str = concat!("INSERT INTO bgtasks_jobs", insert_many_into!());

/// What follows the table's name in [`INSERT_MANY`], for the table named with its schema.
pub(crate) const INSERT_MANY_INTO: &str = insert_many_into!();

/// The columns a definition update may change (`rules::apply_update`).
const WRITE_DEFINITION: &str = "UPDATE bgtasks_jobs SET name = $2, job_group = $3, \
       description = $4, args = $5, begin_time = $6, end_time = $7, cron = $8, \
       interval_secs = $9, base_interval_secs = $10, max_try_count = $11, max_count = $12, \
       priority = $13, lock_timeout_secs = $14, node_name = $15, revision = $16, \
       next_run_time = $17, time_limit_secs = $18, actions = $19 \
     WHERE id = $1";

/// Removes a job (its actions are part of its row) with its run logs. Its notifications
/// stay: an alert about a removed job still goes out.
const REMOVE: &str = "WITH gone_job AS (DELETE FROM bgtasks_jobs WHERE id = $1) \
     DELETE FROM bgtasks_logs WHERE job_id = $1";

/// Inserts `jobs` with `insert` ([`INSERT_MANY`], or it with the table's schema) on
/// `conn`, in the transaction it is in, each unless its id is stored (a repeated id once,
/// from its first occurrence); says for each job whether it was inserted. A job holding a
/// NUL character where PostgreSQL cannot store one refuses the batch before anything is
/// sent. The store's batches and a caller's own transaction
/// ([`enqueue_in`](crate::enqueue_in)) both go through here; `fail` names the operation
/// in errors.
pub(crate) async fn insert_on(
    conn: &mut PgConnection,
    insert: SqlStr,
    jobs: &[JobInfo],
    fail: &(dyn Fn(sqlx::Error) -> StoreError + Sync),
) -> Result<Vec<bool>, StoreError> {
    refuse_nul(jobs)?;
    // A repeated id is inserted once, from its first occurrence.
    let mut seen = HashSet::with_capacity(jobs.len());
    let first: Vec<bool> = jobs.iter().map(|j| seen.insert(j.id.as_str())).collect();
    let unique: Vec<&JobInfo> = jobs
        .iter()
        .zip(&first)
        .filter(|(_, first)| **first)
        .map(|(job, _)| job)
        .collect();
    let rows = bind_jobs(sqlx::query(insert), &unique)
        .fetch_all(&mut *conn)
        .await
        .map_err(fail)?;
    let inserted: HashSet<String> = rows
        .iter()
        .map(|row| row.try_get::<String, _>("id"))
        .collect::<Result<_, _>>()
        .map_err(fail)?;
    Ok(jobs
        .iter()
        .zip(first)
        .map(|(job, first)| first && inserted.contains(&job.id))
        .collect())
}

impl PostgresJobStore {
    async fn list_by(&self, sql: &'static str, max: usize) -> Result<Vec<JobInfo>, StoreError> {
        let rows = sqlx::query(sql)
            .bind(limit(max))
            .fetch_all(&self.inner.pool)
            .await
            .map_err(self.fail("list jobs"))?;
        jobs_from_rows(&rows)
    }

    /// The schedule a definition update is computed with: the new cron of a Period job
    /// (refused when it does not parse), else its stored one.
    fn schedule_for_update(
        &self,
        record: &JobRecord,
        update: &DefinitionUpdate,
    ) -> Result<Option<std::sync::Arc<CronSchedule>>, StoreError> {
        let job = &record.job;
        match &update.cron {
            Some(cron) if job.kind == JobKind::Period => CronSchedule::parse(cron)
                .map(|schedule| Some(std::sync::Arc::new(schedule)))
                .map_err(|error| {
                    StoreError::other(format!(
                        "job `{}`: the definition update is refused: {error}",
                        job.id
                    ))
                }),
            _ => Ok(self.inner.schedules.for_job(job)),
        }
    }

    pub(crate) async fn insert_jobs(&self, jobs: &[JobInfo]) -> Result<Vec<bool>, StoreError> {
        if jobs.is_empty() {
            return Ok(Vec::new());
        }
        let fail = self.fail("insert jobs");
        let mut conn = self.inner.pool.acquire().await.map_err(&fail)?;
        insert_on(&mut conn, INSERT_MANY.into_sql_str(), jobs, &fail).await
    }

    pub(crate) async fn update_definition(
        &self,
        id: &str,
        update: &DefinitionUpdate,
        expected_revision: Option<i64>,
        now: DateTime<Utc>,
    ) -> Result<Transition, StoreError> {
        let what = "update a job's definition";
        let Some(mut locked) = self.lock_job(id, now, what).await? else {
            return Ok(Err(Refusal::NotFound));
        };
        if expected_revision.is_some_and(|expected| expected != locked.record.revision) {
            return locked
                .refuse(self, what, |record| Refusal::StateChanged(Box::new(record)))
                .await;
        }
        let schedule = match self.schedule_for_update(&locked.record, update) {
            Ok(schedule) => schedule,
            Err(error) => {
                locked.tx.rollback().await.map_err(self.fail(what))?;
                return Err(error);
            }
        };
        rules::apply_update(&mut locked.record, update, locked.now, schedule.as_deref());
        let fail = self.fail(what);
        let record = &locked.record;
        let job = &record.job;
        sqlx::query(WRITE_DEFINITION)
            .bind(id)
            .bind(&job.name)
            .bind(&job.group)
            .bind(&job.description)
            .bind(Json(&job.args))
            .bind(job.begin_time)
            .bind(job.end_time)
            .bind(&job.cron)
            .bind(job.interval)
            .bind(job.base_interval)
            .bind(job.max_try_count)
            .bind(job.max_count)
            .bind(code(job.priority.code()))
            .bind(job.lock_timeout)
            .bind(&job.node_name)
            .bind(record.revision)
            .bind(job.next_run_time)
            .bind(job.time_limit)
            .bind(Json(&job.actions))
            .execute(&mut *locked.tx)
            .await
            .map_err(&fail)?;
        locked.tx.commit().await.map_err(&fail)?;
        Ok(Ok(locked.record))
    }

    pub(crate) async fn remove_job(
        &self,
        id: &str,
        only: RemoveIf,
    ) -> Result<Transition, StoreError> {
        let what = "remove a job";
        // The time is not used; any will do.
        let Some(mut locked) = self.lock_job(id, DateTime::<Utc>::UNIX_EPOCH, what).await? else {
            return Ok(Err(Refusal::NotFound));
        };
        if !only.allows(locked.record.job.status) {
            return locked
                .refuse(self, what, |record| Refusal::StateChanged(Box::new(record)))
                .await;
        }
        let fail = self.fail(what);
        sqlx::query(REMOVE)
            .bind(id)
            .execute(&mut *locked.tx)
            .await
            .map_err(&fail)?;
        locked.notify_control(self, what).await?;
        locked.tx.commit().await.map_err(&fail)?;
        Ok(Ok(locked.record))
    }

    pub(crate) async fn find_record(&self, id: &str) -> Result<Option<JobRecord>, StoreError> {
        let row = sqlx::query(FIND)
            .bind(id)
            .fetch_optional(&self.inner.pool)
            .await
            .map_err(self.fail("find a job"))?;
        row.as_ref().map(record_from_row).transpose()
    }

    pub(crate) async fn waiting_jobs(&self, max: usize) -> Result<Vec<JobInfo>, StoreError> {
        self.list_by(LIST_WAITING, max).await
    }

    pub(crate) async fn period_jobs(&self, max: usize) -> Result<Vec<JobInfo>, StoreError> {
        self.list_by(LIST_PERIOD, max).await
    }

    pub(crate) async fn running_jobs(
        &self,
        node: &str,
        max: usize,
    ) -> Result<Vec<JobInfo>, StoreError> {
        let rows = sqlx::query(LIST_RUNNING)
            .bind(limit(max))
            .bind(node)
            .fetch_all(&self.inner.pool)
            .await
            .map_err(self.fail("list running jobs"))?;
        jobs_from_rows(&rows)
    }
}
