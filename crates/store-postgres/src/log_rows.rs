//! Run logs to and from rows: the column list, the batch insert from arrays, decoding with
//! errors that name the job and the column.

use std::borrow::Cow;

use bgtasks_abstractions::JobExceptionType;
use bgtasks_store::{JobLog, JobLogEntry, StoreError};
use chrono::{DateTime, Utc};
use sqlx::Row;
use sqlx::postgres::PgRow;

use crate::errors::corrupt;
use crate::rows::{PgQuery, get};

/// The run-log columns, in insert order.
macro_rules! log_columns {
    () => {
        "job_id, job_name, job_group, job_type, message, run_time, exception, tenant_id, node, \
         duration_ms, exception_type"
    };
}
pub(crate) use log_columns;

/// An insert of the run logs bound (by [`bind_logs`]) as the twelve arrays `$p1` …
/// `$p12` (the last, the lease tokens, not stored), in order: a log with a lease token
/// only while its run still holds the job — leased under that token, or its last run time
/// the log's run time (`rules::keeps_run_log`). In a statement that also completes runs,
/// the jobs are read as they were before it (one snapshot for the whole statement).
macro_rules! insert_logs {
    ($p1:literal, $p2:literal, $p3:literal, $p4:literal, $p5:literal, $p6:literal,
     $p7:literal, $p8:literal, $p9:literal, $p10:literal, $p11:literal, $p12:literal) => {
        concat!(
            "INSERT INTO bgtasks_logs (",
            $crate::log_rows::log_columns!(),
            ") SELECT job_id, job_name, job_group, job_type, message, run_time, exception, \
               tenant_id, node, duration_ms, exception_type FROM unnest(",
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
            "::int8[], ",
            $p11,
            "::int4[], ",
            $p12,
            "::int8[]) WITH ORDINALITY \
               AS l(job_id, job_name, job_group, job_type, message, run_time, exception, \
                 tenant_id, node, duration_ms, exception_type, lease_token, ord) \
             WHERE l.lease_token IS NULL OR EXISTS (SELECT 1 FROM bgtasks_jobs AS j \
               WHERE j.id = l.job_id AND ((j.lease_node IS NOT NULL \
                 AND j.lease_token = l.lease_token) OR j.last_run_time = l.run_time)) \
             ORDER BY ord"
        )
    };
}
pub(crate) use insert_logs;

/// Binds run logs as arrays, one per [`log_columns!`] column ($1 … $11) and their lease
/// tokens ($12), for an insert from `unnest`; a failure type as its bits.
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
        .bind(
            logs.iter()
                .map(|l| l.exception_type.map(failure_bits))
                .collect::<Vec<_>>(),
        )
        .bind(logs.iter().map(|l| l.lease_token).collect::<Vec<_>>())
}

/// A failure type as stored (INTEGER): its bits.
pub(crate) fn failure_bits(failure_type: JobExceptionType) -> i32 {
    i32::try_from(failure_type.bits()).unwrap_or(i32::MAX)
}

/// A stored failure type (its bits; bits this build does not know are kept).
pub(crate) fn failure_type(bits: i32) -> JobExceptionType {
    JobExceptionType::from_bits_retain(bits.cast_unsigned())
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
    let failure: Option<i32> = get(row, job, "exception_type")?;
    Ok(JobLog {
        job_name: get(row, job, "job_name")?,
        job_group: get(row, job, "job_group")?,
        job_type: get(row, job, "job_type")?,
        message: get(row, job, "message")?,
        run_time: get::<DateTime<Utc>>(row, job, "run_time")?,
        exception: get(row, job, "exception")?,
        exception_type: failure.map(failure_type),
        tenant_id: get(row, job, "tenant_id")?,
        node: get(row, job, "node")?,
        duration_ms: u64::try_from(duration).unwrap_or(0),
        job_id,
        lease_token: None,
    })
}

/// Decodes a stored run log and its id from a row holding `id` and the [`log_columns!`].
pub(crate) fn entry_from_row(row: &PgRow) -> Result<JobLogEntry, StoreError> {
    let log = log_from_row(row)?;
    let id = get(row, &log.job_id, "id")?;
    Ok(JobLogEntry { id, log })
}
