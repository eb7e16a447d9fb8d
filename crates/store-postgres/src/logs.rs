//! Run logs (R12): appended in one statement per batch, queried newest first (id
//! descending) with filters and paging, found and removed by id, and kept by age and by
//! count per job (R46).

use bgtasks_store::{JobLog, JobLogEntry, LogPage, LogQuery, LogRetention, StoreError};
use chrono::{DateTime, Utc};
use sqlx::{Postgres, QueryBuilder, Row};

use crate::log_rows::{bind_logs, entry_from_row, insert_logs, log_columns, log_from_row};
use crate::rows::{limit, min_time};
use crate::store::PostgresJobStore;

/// Appends a batch of run logs in one statement, in order (a run's log only while its
/// run still holds the job).
const APPEND: &str = insert_logs!(
    "$1", "$2", "$3", "$4", "$5", "$6", "$7", "$8", "$9", "$10", "$11", "$12"
);

/// Removes the oldest run logs from before `$1`, at most `$2` (by the run-time index).
const PRUNE_BY_AGE: &str = "DELETE FROM bgtasks_logs WHERE id IN ( \
       SELECT id FROM bgtasks_logs WHERE run_time < $1 ORDER BY run_time, id LIMIT $2)";

/// Removes, of each job, the run logs beyond its newest `$1` (by id), oldest first, at
/// most `$2` (one pass over the `(job_id, id DESC)` index).
const PRUNE_BY_COUNT: &str = "DELETE FROM bgtasks_logs WHERE id IN ( \
       SELECT id FROM ( \
         SELECT id, row_number() OVER (PARTITION BY job_id ORDER BY id DESC) AS newer \
         FROM bgtasks_logs) AS ranked \
       WHERE newer > $1 ORDER BY id LIMIT $2)";

const LIST_OF_JOB: &str = concat!(
    "SELECT ",
    log_columns!(),
    " FROM bgtasks_logs WHERE job_id = $1 ORDER BY id DESC LIMIT $2"
);

const FIND: &str = concat!(
    "SELECT id, ",
    log_columns!(),
    " FROM bgtasks_logs WHERE id = $1"
);

const REMOVE: &str = "DELETE FROM bgtasks_logs WHERE id = $1";

/// Appends the query's filters, as ` AND …` conditions after a `WHERE TRUE`.
fn push_filters(sql: &mut QueryBuilder<Postgres>, query: &LogQuery) {
    if let Some(job_id) = &query.job_id {
        sql.push(" AND job_id = ");
        sql.push_bind(job_id.clone());
    }
    match query.has_exception {
        Some(true) => {
            sql.push(" AND exception IS NOT NULL");
        }
        Some(false) => {
            sql.push(" AND exception IS NULL");
        }
        None => {}
    }
    if let Some(from) = query.run_time.from {
        sql.push(" AND run_time >= ");
        sql.push_bind(from);
    }
    if let Some(to) = query.run_time.to {
        sql.push(" AND run_time <= ");
        sql.push_bind(to);
    }
}

impl PostgresJobStore {
    /// Appends run logs in one statement.
    pub(crate) async fn append(&self, logs: &[JobLog]) -> Result<(), StoreError> {
        if logs.is_empty() {
            return Ok(());
        }
        bind_logs(sqlx::query(APPEND), logs)
            .execute(&self.inner.pool)
            .await
            .map_err(self.fail("append run logs"))?;
        Ok(())
    }

    /// One page of the run logs `query` selects, newest first, and how many match.
    pub(crate) async fn log_page(&self, query: &LogQuery) -> Result<LogPage, StoreError> {
        let fail = self.fail("query run logs");
        let page_size = query.page_size();
        let mut items = Vec::new();
        let mut total = None;
        if page_size > 0 {
            let mut sql = QueryBuilder::<Postgres>::new(concat!(
                "SELECT id, ",
                log_columns!(),
                ", count(*) OVER () AS total FROM bgtasks_logs WHERE TRUE"
            ));
            push_filters(&mut sql, query);
            sql.push(" ORDER BY id DESC LIMIT ");
            sql.push_bind(limit(page_size));
            sql.push(" OFFSET ");
            sql.push_bind(limit(query.offset));
            let rows = sql
                .build()
                .fetch_all(&self.inner.pool)
                .await
                .map_err(&fail)?;
            if let Some(first) = rows.first() {
                total = Some(first.try_get::<i64, _>("total").map_err(&fail)?);
            } else if query.offset == 0 {
                total = Some(0);
            }
            items = rows.iter().map(entry_from_row).collect::<Result<_, _>>()?;
        }
        let total = match total {
            Some(total) => total,
            // No row to read the total from (a count only, or a page past the end).
            None => {
                let mut sql =
                    QueryBuilder::<Postgres>::new("SELECT count(*) FROM bgtasks_logs WHERE TRUE");
                push_filters(&mut sql, query);
                sql.build_query_scalar::<i64>()
                    .fetch_one(&self.inner.pool)
                    .await
                    .map_err(&fail)?
            }
        };
        Ok(LogPage {
            items,
            total: u64::try_from(total).unwrap_or(0),
        })
    }

    pub(crate) async fn log_entry(&self, id: i64) -> Result<Option<JobLogEntry>, StoreError> {
        let row = sqlx::query(FIND)
            .bind(id)
            .fetch_optional(&self.inner.pool)
            .await
            .map_err(self.fail("find a run log"))?;
        row.as_ref().map(entry_from_row).transpose()
    }

    pub(crate) async fn remove_log_entry(&self, id: i64) -> Result<bool, StoreError> {
        let done = sqlx::query(REMOVE)
            .bind(id)
            .execute(&self.inner.pool)
            .await
            .map_err(self.fail("remove a run log"))?;
        Ok(done.rows_affected() == 1)
    }

    /// The newest `max` logs of a job, without counting them all.
    pub(crate) async fn job_logs(
        &self,
        job_id: &str,
        max: usize,
    ) -> Result<Vec<JobLog>, StoreError> {
        let rows = sqlx::query(LIST_OF_JOB)
            .bind(job_id)
            .bind(limit(max.min(bgtasks_store::MAX_PAGE_SIZE)))
            .fetch_all(&self.inner.pool)
            .await
            .map_err(self.fail("list run logs"))?;
        rows.iter().map(log_from_row).collect()
    }

    /// Retention (R46): removes the logs older than `max_age` before `now`, then those
    /// of each job beyond its newest `max_per_job`; at most `max` in all, in two
    /// statements.
    pub(crate) async fn prune(
        &self,
        retention: &LogRetention,
        now: DateTime<Utc>,
        max: usize,
    ) -> Result<u64, StoreError> {
        let fail = self.fail("prune run logs");
        let mut left = limit(max);
        let mut removed = 0;
        let cutoff = retention
            .max_age
            .and_then(|age| chrono::Duration::from_std(age).ok())
            .and_then(|age| now.checked_sub_signed(age))
            // Nothing is stored before the earliest time PostgreSQL holds.
            .filter(|cutoff| *cutoff > min_time());
        if let Some(cutoff) = cutoff
            && left > 0
        {
            let done = sqlx::query(PRUNE_BY_AGE)
                .bind(cutoff)
                .bind(left)
                .execute(&self.inner.pool)
                .await
                .map_err(&fail)?;
            removed += done.rows_affected();
            left = left.saturating_sub(i64::try_from(done.rows_affected()).unwrap_or(i64::MAX));
        }
        if let Some(keep) = retention.max_per_job
            && left > 0
        {
            let done = sqlx::query(PRUNE_BY_COUNT)
                .bind(limit(keep))
                .bind(left)
                .execute(&self.inner.pool)
                .await
                .map_err(&fail)?;
            removed += done.rows_affected();
        }
        Ok(removed)
    }
}
