//! Jobs and run logs to and from rows: the column list, the parameter order, decoding
//! with errors that name the job and the column.

use std::borrow::Cow;

use bgtasks_abstractions::{JobArgs, JobInfo, JobKind, JobPriority, JobSource, JobStatus};
use bgtasks_core::store::{JobLog, StoreError};
use chrono::{DateTime, Utc};
use sqlx::postgres::{PgArguments, PgRow};
use sqlx::types::Json;
use sqlx::{Postgres, Row};

use crate::errors::corrupt;

/// The job columns, in parameter order ($1 … $27); a literal so queries stay `'static`.
macro_rules! job_columns {
    () => {
        "id, tenant_id, name, job_group, job_type, args, status, description, creation_time, \
         begin_time, end_time, last_run_time, next_run_time, kind, cron, trigger_count, \
         try_count, max_try_count, max_count, is_abandoned, interval_secs, priority, \
         lock_timeout_secs, node_name, result, source, base_interval_secs"
    };
}
pub(crate) use job_columns;

/// The placeholders of the 27 job columns, in [`job_columns!`] order.
macro_rules! job_values {
    () => {
        "$1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, \
         $19, $20, $21, $22, $23, $24, $25, $26, $27"
    };
}
pub(crate) use job_values;

/// `column = $n` for every job column but the id, in [`job_columns!`] order: the body of
/// an UPDATE that writes a whole job. (The status is `$7`; callers that treat it
/// specially write their own.)
macro_rules! job_assignments_but_status {
    () => {
        "tenant_id = $2, name = $3, job_group = $4, job_type = $5, args = $6, \
         description = $8, creation_time = $9, begin_time = $10, end_time = $11, \
         last_run_time = $12, next_run_time = $13, kind = $14, cron = $15, \
         trigger_count = $16, try_count = $17, max_try_count = $18, max_count = $19, \
         is_abandoned = $20, interval_secs = $21, priority = $22, lock_timeout_secs = $23, \
         node_name = $24, result = $25, source = $26, base_interval_secs = $27"
    };
}
pub(crate) use job_assignments_but_status;

/// A query of the store.
pub(crate) type PgQuery<'q> = sqlx::query::Query<'q, Postgres, PgArguments>;

/// Binds `job` as parameters $1 … $27 ([`job_columns!`] order), with `id` as the id.
pub(crate) fn bind_job<'q>(query: PgQuery<'q>, id: &str, job: &JobInfo) -> PgQuery<'q> {
    query
        .bind(id)
        .bind(job.tenant_id)
        .bind(&job.name)
        .bind(&job.group)
        .bind(&job.job_type)
        .bind(Json(&job.args))
        .bind(code(job.status.code()))
        .bind(&job.description)
        .bind(job.creation_time)
        .bind(job.begin_time)
        .bind(job.end_time)
        .bind(job.last_run_time)
        .bind(job.next_run_time)
        .bind(code(job.kind.code()))
        .bind(&job.cron)
        .bind(job.trigger_count)
        .bind(job.try_count)
        .bind(job.max_try_count)
        .bind(job.max_count)
        .bind(job.is_abandoned)
        .bind(job.interval)
        .bind(code(job.priority.code()))
        .bind(job.lock_timeout)
        .bind(&job.node_name)
        .bind(&job.result)
        .bind(code(job.source.code()))
        .bind(job.base_interval)
}

/// Binds `jobs` as 27 arrays, one per column in [`job_columns!`] order ($1 … $27), for an
/// insert from `unnest`.
pub(crate) fn bind_jobs<'q>(query: PgQuery<'q>, jobs: &[&JobInfo]) -> PgQuery<'q> {
    fn column<'a, T>(jobs: &[&'a JobInfo], f: impl Fn(&'a JobInfo) -> T) -> Vec<T> {
        jobs.iter().map(|job| f(job)).collect()
    }
    query
        .bind(column(jobs, |j| j.id.as_str()))
        .bind(column(jobs, |j| j.tenant_id))
        .bind(column(jobs, |j| j.name.as_str()))
        .bind(column(jobs, |j| j.group.as_str()))
        .bind(column(jobs, |j| j.job_type.as_str()))
        .bind(column(jobs, |j| Json(&j.args)))
        .bind(column(jobs, |j| code(j.status.code())))
        .bind(column(jobs, |j| j.description.as_str()))
        .bind(column(jobs, |j| j.creation_time))
        .bind(column(jobs, |j| j.begin_time))
        .bind(column(jobs, |j| j.end_time))
        .bind(column(jobs, |j| j.last_run_time))
        .bind(column(jobs, |j| j.next_run_time))
        .bind(column(jobs, |j| code(j.kind.code())))
        .bind(column(jobs, |j| j.cron.as_deref()))
        .bind(column(jobs, |j| j.trigger_count))
        .bind(column(jobs, |j| j.try_count))
        .bind(column(jobs, |j| j.max_try_count))
        .bind(column(jobs, |j| j.max_count))
        .bind(column(jobs, |j| j.is_abandoned))
        .bind(column(jobs, |j| j.interval))
        .bind(column(jobs, |j| code(j.priority.code())))
        .bind(column(jobs, |j| j.lock_timeout))
        .bind(column(jobs, |j| j.node_name.as_deref()))
        .bind(column(jobs, |j| j.result.as_deref()))
        .bind(column(jobs, |j| code(j.source.code())))
        .bind(column(jobs, |j| j.base_interval))
}

/// A numeric code as stored (SMALLINT). Every code of the model fits.
pub(crate) fn code(value: i32) -> i16 {
    i16::try_from(value).unwrap_or(i16::MAX)
}

/// Reads one column of a job row, naming the job and column when it does not decode.
fn get<'r, T>(row: &'r PgRow, job: &str, column: &str) -> Result<T, StoreError>
where
    T: sqlx::Decode<'r, Postgres> + sqlx::Type<Postgres>,
{
    row.try_get(column).map_err(|e| corrupt(job, column, e))
}

fn coded<T>(
    row: &PgRow,
    job: &str,
    column: &str,
    from_code: impl Fn(i32) -> Option<T>,
    what: &str,
) -> Result<T, StoreError> {
    let value: i16 = get(row, job, column)?;
    from_code(i32::from(value))
        .ok_or_else(|| corrupt(job, column, format!("unknown {what} code {value}")))
}

/// Decodes a job from a row holding (at least) the [`job_columns!`].
pub(crate) fn job_from_row(row: &PgRow) -> Result<JobInfo, StoreError> {
    let id: String = row
        .try_get("id")
        .map_err(|e| corrupt("<unknown>", "id", e))?;
    let job = id.as_str();
    let Json(args): Json<JobArgs> = get(row, job, "args")?;
    Ok(JobInfo {
        tenant_id: get(row, job, "tenant_id")?,
        name: get(row, job, "name")?,
        group: get(row, job, "job_group")?,
        job_type: get(row, job, "job_type")?,
        args,
        status: coded(row, job, "status", JobStatus::from_code, "job status")?,
        description: get(row, job, "description")?,
        creation_time: get(row, job, "creation_time")?,
        begin_time: get(row, job, "begin_time")?,
        end_time: get(row, job, "end_time")?,
        last_run_time: get(row, job, "last_run_time")?,
        next_run_time: get(row, job, "next_run_time")?,
        kind: coded(row, job, "kind", JobKind::from_code, "job kind")?,
        cron: get(row, job, "cron")?,
        trigger_count: get(row, job, "trigger_count")?,
        try_count: get(row, job, "try_count")?,
        max_try_count: get(row, job, "max_try_count")?,
        max_count: get(row, job, "max_count")?,
        is_abandoned: get(row, job, "is_abandoned")?,
        interval: get(row, job, "interval_secs")?,
        priority: coded(row, job, "priority", JobPriority::from_code, "job priority")?,
        lock_timeout: get(row, job, "lock_timeout_secs")?,
        node_name: get(row, job, "node_name")?,
        result: get(row, job, "result")?,
        source: coded(row, job, "source", JobSource::from_code, "job source")?,
        base_interval: get(row, job, "base_interval_secs")?,
        id,
    })
}

/// Decodes every row as a job.
pub(crate) fn jobs_from_rows(rows: &[PgRow]) -> Result<Vec<JobInfo>, StoreError> {
    rows.iter().map(job_from_row).collect()
}

/// The run-log columns, in insert order.
macro_rules! log_columns {
    () => {
        "job_id, job_name, job_group, job_type, message, run_time, exception, tenant_id, node, \
         duration_ms"
    };
}
pub(crate) use log_columns;

/// An insert of the run logs bound (by [`bind_logs`]) as the ten arrays `$p1` … `$p10`,
/// in order.
macro_rules! insert_logs {
    ($p1:literal, $p2:literal, $p3:literal, $p4:literal, $p5:literal, $p6:literal,
     $p7:literal, $p8:literal, $p9:literal, $p10:literal) => {
        concat!(
            "INSERT INTO bgtasks_logs (",
            $crate::rows::log_columns!(),
            ") SELECT job_id, job_name, job_group, job_type, message, run_time, exception, \
               tenant_id, node, duration_ms FROM unnest(",
            $p1,
            "::text[], ",
            $p2,
            "::text[], ",
            $p3,
            "::text[], ",
            $p4,
            "::text[], ",
            $p5,
            "::text[], ",
            $p6,
            "::timestamptz[], ",
            $p7,
            "::text[], ",
            $p8,
            "::uuid[], ",
            $p9,
            "::text[], ",
            $p10,
            "::int8[]) WITH ORDINALITY \
               AS l(job_id, job_name, job_group, job_type, message, run_time, exception, \
                 tenant_id, node, duration_ms, ord) \
             ORDER BY ord"
        )
    };
}
pub(crate) use insert_logs;

/// Binds run logs as arrays, one per [`log_columns!`] column ($1 … $10), for an insert
/// from `unnest`.
/// Text a run produced (result, error) may hold NUL characters, which PostgreSQL text
/// cannot: they are written as U+FFFD, so that one run's output never fails a batch.
pub(crate) fn bind_logs<'q>(query: PgQuery<'q>, logs: &[JobLog]) -> PgQuery<'q> {
    let column = |f: fn(&JobLog) -> Option<&str>| {
        logs.iter().map(|l| f(l).map(run_text)).collect::<Vec<_>>()
    };
    query
        .bind(column(|l| Some(l.job_id.as_str())))
        .bind(column(|l| Some(l.job_name.as_str())))
        .bind(column(|l| Some(l.job_group.as_str())))
        .bind(column(|l| Some(l.job_type.as_str())))
        .bind(column(|l| Some(l.message.as_str())))
        .bind(logs.iter().map(|l| l.run_time).collect::<Vec<_>>())
        .bind(column(|l| l.exception.as_deref()))
        .bind(logs.iter().map(|l| l.tenant_id).collect::<Vec<_>>())
        .bind(column(|l| Some(l.node.as_str())))
        .bind(
            logs.iter()
                .map(|l| duration_ms(l.duration_ms))
                .collect::<Vec<_>>(),
        )
}

/// Text produced by a run, storable: NUL characters (which PostgreSQL text cannot hold)
/// become U+FFFD.
pub(crate) fn run_text(text: &str) -> Cow<'_, str> {
    if text.contains('\0') {
        Cow::Owned(text.replace('\0', "\u{FFFD}"))
    } else {
        Cow::Borrowed(text)
    }
}

/// A duration in milliseconds as stored (BIGINT).
pub(crate) fn duration_ms(ms: u64) -> i64 {
    i64::try_from(ms).unwrap_or(i64::MAX)
}

/// Decodes a run log from a row holding the [`log_columns!`].
pub(crate) fn log_from_row(row: &PgRow) -> Result<JobLog, StoreError> {
    let job_id: String = row
        .try_get("job_id")
        .map_err(|e| corrupt("<unknown>", "job_id", e))?;
    let job = job_id.as_str();
    let duration: i64 = get(row, job, "duration_ms")?;
    Ok(JobLog {
        job_name: get(row, job, "job_name")?,
        job_group: get(row, job, "job_group")?,
        job_type: get(row, job, "job_type")?,
        message: get(row, job, "message")?,
        run_time: get::<DateTime<Utc>>(row, job, "run_time")?,
        exception: get(row, job, "exception")?,
        tenant_id: get(row, job, "tenant_id")?,
        node: get(row, job, "node")?,
        duration_ms: u64::try_from(duration).unwrap_or(0),
        job_id,
    })
}

/// A `max` count as a SQL LIMIT.
pub(crate) fn limit(max: usize) -> i64 {
    i64::try_from(max).unwrap_or(i64::MAX)
}
