//! [`RunLogs`] on SQLite: run logs in `bgtasks_job_logs`, ids in insertion order, each
//! with the failure type of its error (its bits, NULL for none).

use bgtasks_abstractions::JobExceptionType;
use bgtasks_store::{JobLog, JobLogEntry, LogPage, LogQuery, RunLogs, StoreError};
use sqlx::{QueryBuilder, Sqlite};

use crate::rows::{RowReader, limit, micros, tenant_text};
use crate::store::SqliteJobStore;

/// Appends the logs of `?1`, a JSON array of [`log_values`] arrays, in order: a log with
/// a lease token (element 11) only while its run still holds the job — leased under that
/// token, or its last run time the log's run time (`rules::keeps_run_log`).
pub(crate) const INSERT_LOGS: &str = "INSERT INTO bgtasks_job_logs \
     (job_id, job_name, job_group, job_type, message, run_time, exception, tenant_id, node, \
      duration_ms, exception_type) \
     SELECT l.value ->> 0, l.value ->> 1, l.value ->> 2, l.value ->> 3, l.value ->> 4, \
            l.value ->> 5, l.value ->> 6, l.value ->> 7, l.value ->> 8, l.value ->> 9, \
            l.value ->> 10 \
     FROM jsonb_each(?1) AS l \
     WHERE l.value ->> 11 IS NULL OR EXISTS (SELECT 1 FROM bgtasks_jobs AS j \
       WHERE j.id = l.value ->> 0 \
         AND (j.lease_token = l.value ->> 11 OR j.last_run_time = l.value ->> 5)) \
     ORDER BY l.key";

/// The columns of a log entry.
macro_rules! log_columns {
    () => {
        "id, job_id, job_name, job_group, job_type, message, run_time, exception, \
         tenant_id, node, duration_ms, exception_type"
    };
}

/// A log's columns as one JSON array, in the order of [`INSERT_LOGS`], and its lease
/// token (not stored: the condition of its insert).
pub(crate) fn log_values(log: &JobLog) -> serde_json::Value {
    serde_json::json!([
        log.job_id,
        log.job_name,
        log.job_group,
        log.job_type,
        log.message,
        micros(log.run_time),
        log.exception,
        tenant_text(log.tenant_id),
        log.node,
        i64::try_from(log.duration_ms).unwrap_or(i64::MAX),
        log.exception_type.map(|t| t.bits()),
        log.lease_token,
    ])
}

impl RowReader<'_> {
    /// The log of a row of `bgtasks_job_logs`.
    pub(crate) fn log(&self) -> Result<JobLog, StoreError> {
        let duration = self.int("duration_ms")?;
        let exception_type = self
            .opt_int("exception_type")?
            .map(|bits| {
                u32::try_from(bits)
                    .ok()
                    .and_then(JobExceptionType::from_bits)
                    .ok_or_else(|| {
                        self.error("exception_type", format!("{bits} is no failure type"))
                    })
            })
            .transpose()?;
        Ok(JobLog {
            job_id: self.text("job_id")?,
            job_name: self.text("job_name")?,
            job_group: self.text("job_group")?,
            job_type: self.text("job_type")?,
            message: self.text("message")?,
            run_time: self.time("run_time")?,
            exception: self.opt_text("exception")?,
            exception_type,
            tenant_id: self.tenant("tenant_id")?,
            node: self.text("node")?,
            duration_ms: u64::try_from(duration)
                .map_err(|_| self.error("duration_ms", format!("{duration} is negative")))?,
            lease_token: None,
        })
    }

    /// The log of a row of `bgtasks_job_logs`, with its id.
    pub(crate) fn log_entry(&self) -> Result<JobLogEntry, StoreError> {
        Ok(JobLogEntry {
            id: self.int("id")?,
            log: self.log()?,
        })
    }
}

const FIND_LOG: &str = concat!(
    "SELECT ",
    log_columns!(),
    " FROM bgtasks_job_logs WHERE id = ?"
);

/// Appends ` WHERE …` with the query's filters.
fn push_filters(sql: &mut QueryBuilder<Sqlite>, query: &LogQuery) {
    let mut joiner = " WHERE ";
    let mut next = |sql: &mut QueryBuilder<Sqlite>| {
        sql.push(joiner);
        joiner = " AND ";
    };
    if let Some(job_id) = &query.job_id {
        next(sql);
        sql.push("job_id = ").push_bind(job_id.clone());
    }
    if let Some(has) = query.has_exception {
        next(sql);
        sql.push(if has {
            "exception IS NOT NULL"
        } else {
            "exception IS NULL"
        });
    }
    if let Some(from) = query.run_time.from {
        next(sql);
        sql.push("run_time >= ").push_bind(micros(from));
    }
    if let Some(to) = query.run_time.to {
        next(sql);
        sql.push("run_time <= ").push_bind(micros(to));
    }
}

impl RunLogs for SqliteJobStore {
    /// One statement for the whole batch; a run's log only while its run still holds the
    /// job (`rules::keeps_run_log`).
    async fn append_logs(&self, logs: &[JobLog]) -> Result<(), StoreError> {
        if logs.is_empty() {
            return Ok(());
        }
        let inner = &self.inner;
        let batch: Vec<serde_json::Value> = logs.iter().map(log_values).collect();
        let _turn = inner.write_gate("store run logs").await?;
        sqlx::query(INSERT_LOGS)
            .bind(serde_json::Value::Array(batch).to_string())
            .execute(&inner.pool)
            .await
            .map_err(inner.failed("store run logs"))?;
        Ok(())
    }

    /// Newest first (by id); the page and the total are read in one read transaction.
    async fn query_logs(&self, query: &LogQuery) -> Result<LogPage, StoreError> {
        let inner = &self.inner;
        let failed = inner.failed("query run logs");
        let mut tx = inner.pool.begin().await.map_err(&failed)?;
        let mut count = QueryBuilder::<Sqlite>::new("SELECT COUNT(*) FROM bgtasks_job_logs");
        push_filters(&mut count, query);
        let total: i64 = count
            .build_query_scalar()
            .fetch_one(&mut *tx)
            .await
            .map_err(&failed)?;
        let mut items = Vec::new();
        if query.page_size() > 0 {
            let mut select = QueryBuilder::<Sqlite>::new(concat!(
                "SELECT ",
                log_columns!(),
                " FROM bgtasks_job_logs"
            ));
            push_filters(&mut select, query);
            select
                .push(" ORDER BY id DESC LIMIT ")
                .push_bind(limit(query.page_size()))
                .push(" OFFSET ")
                .push_bind(limit(query.offset));
            let rows = select.build().fetch_all(&mut *tx).await.map_err(&failed)?;
            items = rows
                .iter()
                .map(|row| RowReader::new(row, &inner.db, "job_id").log_entry())
                .collect::<Result<_, _>>()?;
        }
        tx.commit().await.map_err(&failed)?;
        Ok(LogPage {
            items,
            total: total.unsigned_abs(),
        })
    }

    async fn find_log(&self, id: i64) -> Result<Option<JobLogEntry>, StoreError> {
        let inner = &self.inner;
        let row = sqlx::query(FIND_LOG)
            .bind(id)
            .fetch_optional(&inner.pool)
            .await
            .map_err(inner.failed(&format!("find run log {id}")))?;
        row.map(|row| RowReader::new(&row, &inner.db, "job_id").log_entry())
            .transpose()
    }

    async fn remove_log(&self, id: i64) -> Result<bool, StoreError> {
        let inner = &self.inner;
        let operation = format!("remove run log {id}");
        let _turn = inner.write_gate(&operation).await?;
        let done = sqlx::query("DELETE FROM bgtasks_job_logs WHERE id = ?")
            .bind(id)
            .execute(&inner.pool)
            .await
            .map_err(inner.failed(&operation))?;
        Ok(done.rows_affected() > 0)
    }
}
