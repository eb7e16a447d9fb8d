//! Rows ↔ [`JobInfo`] and [`JobLog`]: codes for enums, JSON text for args, integer
//! microseconds since the epoch for times.

use bgtasks_abstractions::{JobArgs, JobInfo, JobKind, JobPriority, JobSource, JobStatus};
use bgtasks_core::store::{JobLog, StoreError};
use chrono::{DateTime, Utc};
use sqlx::Row;
use sqlx::sqlite::{SqliteArguments, SqliteRow};
use uuid::Uuid;

use crate::errors::{corrupt, other};

/// A query with positional arguments.
pub(crate) type SqliteQuery<'q> = sqlx::query::Query<'q, sqlx::Sqlite, SqliteArguments>;

/// The job columns, in the order [`bind_job`] binds them and [`decode_job`] reads them.
macro_rules! job_columns {
    () => {
        "id, tenant_id, name, job_group, job_type, args, status, description, \
         creation_time, begin_time, end_time, last_run_time, next_run_time, kind, cron, \
         trigger_count, try_count, max_try_count, max_count, is_abandoned, interval_secs, \
         priority, lock_timeout, node_name, result, source, base_interval"
    };
}
pub(crate) use job_columns;

/// The placeholders of the job columns.
macro_rules! job_placeholders {
    () => {
        "?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, \
         ?19, ?20, ?21, ?22, ?23, ?24, ?25, ?26, ?27"
    };
}
pub(crate) use job_placeholders;

/// The job columns but the id and the status, set from the placeholders (for upserts).
macro_rules! job_assignments {
    () => {
        "tenant_id = ?2, name = ?3, job_group = ?4, job_type = ?5, args = ?6, \
         description = ?8, creation_time = ?9, begin_time = ?10, end_time = ?11, \
         last_run_time = ?12, next_run_time = ?13, kind = ?14, cron = ?15, \
         trigger_count = ?16, try_count = ?17, max_try_count = ?18, max_count = ?19, \
         is_abandoned = ?20, interval_secs = ?21, priority = ?22, lock_timeout = ?23, \
         node_name = ?24, result = ?25, source = ?26, base_interval = ?27"
    };
}
pub(crate) use job_assignments;

/// The stored form of a time: microseconds since the Unix epoch (finer parts dropped).
pub(crate) fn micros(time: DateTime<Utc>) -> i64 {
    time.timestamp_micros()
}

/// Binds a job's columns as `?1`..`?27`, in the order of [`job_columns`].
pub(crate) fn bind_job<'q>(
    query: SqliteQuery<'q>,
    job: &JobInfo,
) -> Result<SqliteQuery<'q>, StoreError> {
    let args = serde_json::to_string(&job.args).map_err(|error| {
        other(format!(
            "the args of job `{}` do not serialize: {error}",
            job.id
        ))
    })?;
    Ok(query
        .bind(job.id.clone())
        .bind(job.tenant_id.map(|t| t.hyphenated().to_string()))
        .bind(job.name.clone())
        .bind(job.group.clone())
        .bind(job.job_type.clone())
        .bind(args)
        .bind(i64::from(job.status.code()))
        .bind(job.description.clone())
        .bind(micros(job.creation_time))
        .bind(micros(job.begin_time))
        .bind(job.end_time.map(micros))
        .bind(job.last_run_time.map(micros))
        .bind(job.next_run_time.map(micros))
        .bind(i64::from(job.kind.code()))
        .bind(job.cron.clone())
        .bind(i64::from(job.trigger_count))
        .bind(i64::from(job.try_count))
        .bind(i64::from(job.max_try_count))
        .bind(i64::from(job.max_count))
        .bind(i64::from(job.is_abandoned))
        .bind(job.interval)
        .bind(i64::from(job.priority.code()))
        .bind(job.lock_timeout)
        .bind(job.node_name.clone())
        .bind(job.result.clone())
        .bind(i64::from(job.source.code()))
        .bind(job.base_interval))
}

/// A job's columns as one JSON array, in the order of [`job_columns`] (for statements
/// that take many jobs at once through `jsonb_each`).
pub(crate) fn job_values(job: &JobInfo) -> Result<serde_json::Value, StoreError> {
    let args = serde_json::to_string(&job.args).map_err(|error| {
        other(format!(
            "the args of job `{}` do not serialize: {error}",
            job.id
        ))
    })?;
    Ok(serde_json::json!([
        job.id,
        job.tenant_id.map(|t| t.hyphenated().to_string()),
        job.name,
        job.group,
        job.job_type,
        args,
        job.status.code(),
        job.description,
        micros(job.creation_time),
        micros(job.begin_time),
        job.end_time.map(micros),
        job.last_run_time.map(micros),
        job.next_run_time.map(micros),
        job.kind.code(),
        job.cron,
        job.trigger_count,
        job.try_count,
        job.max_try_count,
        job.max_count,
        i64::from(job.is_abandoned),
        job.interval,
        job.priority.code(),
        job.lock_timeout,
        job.node_name,
        job.result,
        job.source.code(),
        job.base_interval,
    ]))
}

/// Reads the columns of one row, naming the job and the column in every error.
pub(crate) struct RowReader<'r> {
    row: &'r SqliteRow,
    db: &'r str,
    job: String,
}

impl<'r> RowReader<'r> {
    /// A reader of `row`, whose job id is in `id_column`.
    pub(crate) fn new(row: &'r SqliteRow, db: &'r str, id_column: &str) -> Self {
        let job = row
            .try_get::<String, _>(id_column)
            .unwrap_or_else(|_| "<unreadable id>".to_owned());
        Self { row, db, job }
    }

    /// The job id the row belongs to.
    pub(crate) fn job_id(&self) -> &str {
        &self.job
    }

    fn error(&self, column: &str, reason: impl std::fmt::Display) -> StoreError {
        corrupt(self.db, &self.job, column, reason)
    }

    pub(crate) fn text(&self, column: &str) -> Result<String, StoreError> {
        self.row
            .try_get::<String, _>(column)
            .map_err(|e| self.error(column, e))
    }

    pub(crate) fn opt_text(&self, column: &str) -> Result<Option<String>, StoreError> {
        self.row
            .try_get::<Option<String>, _>(column)
            .map_err(|e| self.error(column, e))
    }

    pub(crate) fn int(&self, column: &str) -> Result<i64, StoreError> {
        self.row
            .try_get::<i64, _>(column)
            .map_err(|e| self.error(column, e))
    }

    pub(crate) fn opt_int(&self, column: &str) -> Result<Option<i64>, StoreError> {
        self.row
            .try_get::<Option<i64>, _>(column)
            .map_err(|e| self.error(column, e))
    }

    fn i32(&self, column: &str) -> Result<i32, StoreError> {
        let value = self.int(column)?;
        i32::try_from(value).map_err(|_| self.error(column, format!("{value} is out of range")))
    }

    fn code<T>(&self, column: &str, decode: impl Fn(i32) -> Option<T>) -> Result<T, StoreError> {
        let value = self.i32(column)?;
        decode(value).ok_or_else(|| self.error(column, format!("unknown code {value}")))
    }

    fn to_time(&self, column: &str, value: i64) -> Result<DateTime<Utc>, StoreError> {
        DateTime::from_timestamp_micros(value)
            .ok_or_else(|| self.error(column, format!("{value} µs is not a valid time")))
    }

    pub(crate) fn time(&self, column: &str) -> Result<DateTime<Utc>, StoreError> {
        let value = self.int(column)?;
        self.to_time(column, value)
    }

    pub(crate) fn opt_time(&self, column: &str) -> Result<Option<DateTime<Utc>>, StoreError> {
        self.opt_int(column)?
            .map(|value| self.to_time(column, value))
            .transpose()
    }

    fn tenant(&self, column: &str) -> Result<Option<Uuid>, StoreError> {
        self.opt_text(column)?
            .map(|text| Uuid::parse_str(&text).map_err(|e| self.error(column, e)))
            .transpose()
    }

    /// The job of a row read with [`job_columns`].
    pub(crate) fn job(&self) -> Result<JobInfo, StoreError> {
        let args_text = self.text("args")?;
        let args: JobArgs = serde_json::from_str(&args_text).map_err(|e| self.error("args", e))?;
        let abandoned = self.int("is_abandoned")?;
        Ok(JobInfo {
            id: self.text("id")?,
            tenant_id: self.tenant("tenant_id")?,
            name: self.text("name")?,
            group: self.text("job_group")?,
            job_type: self.text("job_type")?,
            args,
            status: self.code("status", JobStatus::from_code)?,
            description: self.text("description")?,
            creation_time: self.time("creation_time")?,
            begin_time: self.time("begin_time")?,
            end_time: self.opt_time("end_time")?,
            last_run_time: self.opt_time("last_run_time")?,
            next_run_time: self.opt_time("next_run_time")?,
            kind: self.code("kind", JobKind::from_code)?,
            cron: self.opt_text("cron")?,
            trigger_count: self.i32("trigger_count")?,
            try_count: self.i32("try_count")?,
            max_try_count: self.i32("max_try_count")?,
            max_count: self.i32("max_count")?,
            is_abandoned: match abandoned {
                0 => false,
                1 => true,
                other => return Err(self.error("is_abandoned", format!("{other} is not 0 or 1"))),
            },
            interval: self.int("interval_secs")?,
            priority: self.code("priority", JobPriority::from_code)?,
            lock_timeout: self.int("lock_timeout")?,
            node_name: self.opt_text("node_name")?,
            result: self.opt_text("result")?,
            source: self.code("source", JobSource::from_code)?,
            base_interval: self.opt_int("base_interval")?,
        })
    }

    /// The log of a row of `bgtasks_job_logs`.
    pub(crate) fn log(&self) -> Result<JobLog, StoreError> {
        let duration = self.int("duration_ms")?;
        Ok(JobLog {
            job_id: self.text("job_id")?,
            job_name: self.text("job_name")?,
            job_group: self.text("job_group")?,
            job_type: self.text("job_type")?,
            message: self.text("message")?,
            run_time: self.time("run_time")?,
            exception: self.opt_text("exception")?,
            tenant_id: self.tenant("tenant_id")?,
            node: self.text("node")?,
            duration_ms: u64::try_from(duration)
                .map_err(|_| self.error("duration_ms", format!("{duration} is negative")))?,
        })
    }
}

/// Decodes a job row read with [`job_columns`].
pub(crate) fn decode_job(row: &SqliteRow, db: &str) -> Result<JobInfo, StoreError> {
    RowReader::new(row, db, "id").job()
}

/// Binds a log's columns in the order of `bgtasks_job_logs` (without its id).
pub(crate) fn bind_log<'q>(query: SqliteQuery<'q>, log: &JobLog) -> SqliteQuery<'q> {
    query
        .bind(log.job_id.clone())
        .bind(log.job_name.clone())
        .bind(log.job_group.clone())
        .bind(log.job_type.clone())
        .bind(log.message.clone())
        .bind(micros(log.run_time))
        .bind(log.exception.clone())
        .bind(log.tenant_id.map(|t| t.hyphenated().to_string()))
        .bind(log.node.clone())
        .bind(i64::try_from(log.duration_ms).unwrap_or(i64::MAX))
}

/// The statement [`bind_log`] fills.
pub(crate) const INSERT_LOG: &str = "INSERT INTO bgtasks_job_logs \
     (job_id, job_name, job_group, job_type, message, run_time, exception, tenant_id, node, duration_ms) \
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)";

/// A row count or limit as SQLite's integer (saturating).
pub(crate) fn limit(value: usize) -> i64 {
    i64::try_from(value).unwrap_or(i64::MAX)
}
