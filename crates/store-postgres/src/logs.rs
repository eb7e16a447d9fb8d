//! Run logs (R12): appended in one statement per batch, queried newest first (id
//! descending) with filters and paging, found and removed by id.

use async_trait::async_trait;
use bgtasks_store::{JobLog, JobLogEntry, LogPage, LogQuery, RunLogs, StoreError};
use sqlx::{Postgres, QueryBuilder, Row};

use crate::log_rows::{bind_logs, entry_from_row, insert_logs, log_columns, log_from_row};
use crate::rows::limit;
use crate::store::PostgresJobStore;

/// Appends a batch of run logs in one statement, in order.
const APPEND: &str = insert_logs!("$1", "$2", "$3", "$4", "$5", "$6", "$7", "$8", "$9", "$10");

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
}

#[async_trait]
impl RunLogs for PostgresJobStore {
    async fn append_logs(&self, logs: &[JobLog]) -> Result<(), StoreError> {
        self.append(logs).await
    }

    async fn query_logs(&self, query: &LogQuery) -> Result<LogPage, StoreError> {
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

    async fn find_log(&self, id: i64) -> Result<Option<JobLogEntry>, StoreError> {
        let row = sqlx::query(FIND)
            .bind(id)
            .fetch_optional(&self.inner.pool)
            .await
            .map_err(self.fail("find a run log"))?;
        row.as_ref().map(entry_from_row).transpose()
    }

    async fn remove_log(&self, id: i64) -> Result<bool, StoreError> {
        let done = sqlx::query(REMOVE)
            .bind(id)
            .execute(&self.inner.pool)
            .await
            .map_err(self.fail("remove a run log"))?;
        Ok(done.rows_affected() == 1)
    }

    /// The newest `max` logs of a job, without counting them all.
    async fn list_logs(&self, job_id: &str, max: usize) -> Result<Vec<JobLog>, StoreError> {
        let rows = sqlx::query(LIST_OF_JOB)
            .bind(job_id)
            .bind(limit(max.min(bgtasks_store::MAX_PAGE_SIZE)))
            .fetch_all(&self.inner.pool)
            .await
            .map_err(self.fail("list run logs"))?;
        rows.iter().map(log_from_row).collect()
    }
}
