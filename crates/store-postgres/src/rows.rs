//! Jobs and job records to and from rows: the column lists, the parameter order, decoding
//! with errors that name the job and the column.

use bgtasks_abstractions::{
    Interruption, JobAction, JobArgs, JobInfo, JobKind, JobPriority, JobSource, JobStatus,
};
use bgtasks_store::{JobRecord, LeaseInfo, StoreError};
use chrono::{DateTime, Utc};
use sqlx::postgres::{PgArguments, PgRow, PgValueFormat};
use sqlx::types::Json;
use sqlx::{Postgres, Row, ValueRef};

use crate::errors::corrupt;

/// The job columns, in parameter order ($1 … $29); a literal so queries stay `'static`.
macro_rules! job_columns {
    () => {
        "id, tenant_id, name, job_group, job_type, args, status, description, creation_time, \
         begin_time, end_time, last_run_time, next_run_time, kind, cron, trigger_count, \
         try_count, max_try_count, max_count, is_abandoned, interval_secs, priority, \
         lock_timeout_secs, node_name, result, source, base_interval_secs, time_limit_secs, \
         actions"
    };
}
pub(crate) use job_columns;

/// The columns of a [`JobRecord`]: the job's, then what the store keeps beside it.
macro_rules! record_columns {
    () => {
        concat!(
            $crate::rows::job_columns!(),
            ", revision, lease_token, lease_node, lease_expires_at, lease_due_at, interrupt, \
             triggered, attempts, rescues"
        )
    };
}
pub(crate) use record_columns;

/// A query of the store.
pub(crate) type PgQuery<'q> = sqlx::query::Query<'q, Postgres, PgArguments>;

/// Binds `jobs` as 29 arrays, one per column in [`job_columns!`] order ($1 … $29), for an
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
        .bind(column(jobs, |j| j.time_limit))
        .bind(column(jobs, |j| Json(&j.actions)))
}

/// A numeric code as stored (SMALLINT). Every code of the model fits.
pub(crate) fn code(value: i32) -> i16 {
    i16::try_from(value).unwrap_or(i16::MAX)
}

/// Reads one column of a job row, naming the job and column when it does not decode.
pub(crate) fn get<'r, T>(row: &'r PgRow, job: &str, column: &str) -> Result<T, StoreError>
where
    T: sqlx::Decode<'r, Postgres> + sqlx::Type<Postgres>,
{
    row.try_get(column).map_err(|e| corrupt(job, column, e))
}

/// PostgreSQL's epoch (2000-01-01T00:00:00Z) in microseconds since the Unix epoch.
const POSTGRES_EPOCH_MICROS: i64 = 946_684_800_000_000;

/// Reads a `timestamptz` column of a job row without trusting its value (R42): the
/// database holds times chrono cannot (`infinity`, `-infinity`, years beyond 262,000),
/// and the driver panics decoding those in the binary format. Such a value is an error
/// naming the job and the column, so that the row is set aside instead.
pub(crate) fn time(
    row: &PgRow,
    job: &str,
    column: &str,
) -> Result<Option<DateTime<Utc>>, StoreError> {
    let value = row
        .try_get_raw(column)
        .map_err(|e| corrupt(job, column, e))?;
    if value.is_null() {
        return Ok(None);
    }
    if value.format() == PgValueFormat::Text {
        // Parsed from text, a bad value is an error, never a panic.
        return get(row, job, column);
    }
    let bytes = value.as_bytes().map_err(|e| corrupt(job, column, e))?;
    let micros = <[u8; 8]>::try_from(bytes)
        .map(i64::from_be_bytes)
        .map_err(|_| corrupt(job, column, format!("a time of {} bytes", bytes.len())))?;
    micros
        .checked_add(POSTGRES_EPOCH_MICROS)
        .and_then(DateTime::from_timestamp_micros)
        .map(Some)
        .ok_or_else(|| {
            let what = match micros {
                i64::MAX => "infinity".to_owned(),
                i64::MIN => "-infinity".to_owned(),
                other => format!("{other} µs after 2000-01-01"),
            };
            corrupt(job, column, format!("the time {what} is out of range"))
        })
}

/// As [`time`], for a column that must hold a time.
fn required_time(row: &PgRow, job: &str, column: &str) -> Result<DateTime<Utc>, StoreError> {
    time(row, job, column)?.ok_or_else(|| corrupt(job, column, "no time in a NOT NULL column"))
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
    let Json(actions): Json<Vec<JobAction>> = get(row, job, "actions")?;
    Ok(JobInfo {
        tenant_id: get(row, job, "tenant_id")?,
        name: get(row, job, "name")?,
        group: get(row, job, "job_group")?,
        job_type: get(row, job, "job_type")?,
        args,
        status: coded(row, job, "status", JobStatus::from_code, "job status")?,
        description: get(row, job, "description")?,
        creation_time: required_time(row, job, "creation_time")?,
        begin_time: required_time(row, job, "begin_time")?,
        end_time: time(row, job, "end_time")?,
        last_run_time: time(row, job, "last_run_time")?,
        next_run_time: time(row, job, "next_run_time")?,
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
        time_limit: get(row, job, "time_limit_secs")?,
        actions,
        id,
    })
}

/// Decodes every row as a job.
pub(crate) fn jobs_from_rows(rows: &[PgRow]) -> Result<Vec<JobInfo>, StoreError> {
    rows.iter().map(job_from_row).collect()
}

/// The stored code of an interruption asked of a running job: the status it asked for.
pub(crate) fn interrupt_code(interrupt: Option<Interruption>) -> Option<i16> {
    interrupt.map(|why| match why {
        Interruption::Stopped => 30,
        // Only pause and stop are stored; anything else would be a pause.
        _ => 20,
    })
}

/// Decodes a job record from a row holding (at least) the [`record_columns!`].
pub(crate) fn record_from_row(row: &PgRow) -> Result<JobRecord, StoreError> {
    let job = job_from_row(row)?;
    let id = job.id.as_str();
    let lease_node: Option<String> = get(row, id, "lease_node")?;
    let lease = match lease_node {
        None => None,
        Some(node) => {
            let expires_at = time(row, id, "lease_expires_at")?;
            let due_at = time(row, id, "lease_due_at")?;
            let missing = |column| corrupt(id, column, "a held lease has no time");
            Some(LeaseInfo {
                node,
                token: get(row, id, "lease_token")?,
                expires_at: expires_at.ok_or_else(|| missing("lease_expires_at"))?,
                due_at: due_at.ok_or_else(|| missing("lease_due_at"))?,
            })
        }
    };
    let interrupt: Option<i16> = get(row, id, "interrupt")?;
    let interrupt = match interrupt {
        None => None,
        Some(20) => Some(Interruption::Paused),
        Some(30) => Some(Interruption::Stopped),
        Some(other) => {
            return Err(corrupt(
                id,
                "interrupt",
                format!("unknown interrupt code {other}"),
            ));
        }
    };
    Ok(JobRecord {
        revision: get(row, id, "revision")?,
        lease,
        interrupt,
        triggered: get(row, id, "triggered")?,
        attempts: get(row, id, "attempts")?,
        rescues: get(row, id, "rescues")?,
        job,
    })
}

/// The earliest time the store writes: PostgreSQL holds nothing much earlier (4714 BC), so
/// a bound computed before it is clamped to it.
pub(crate) fn min_time() -> DateTime<Utc> {
    // About 4700 BC, inside PostgreSQL's range.
    DateTime::<Utc>::from_timestamp(-210_400_000_000, 0).unwrap_or(DateTime::<Utc>::MIN_UTC)
}

/// A `max` count as a SQL LIMIT.
pub(crate) fn limit(max: usize) -> i64 {
    i64::try_from(max).unwrap_or(i64::MAX)
}
