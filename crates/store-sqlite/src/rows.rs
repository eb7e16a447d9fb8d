//! Rows ↔ [`JobInfo`] and [`JobRecord`]: codes for enums, JSON text for args and
//! actions, integer microseconds since the epoch for times. (Run logs are read in
//! `logs`, notifications in `outbox`.)

use bgtasks_abstractions::{
    Interruption, JobAction, JobArgs, JobInfo, JobKind, JobPriority, JobSource, JobStatus,
};
use bgtasks_store::{JobRecord, LeaseInfo, StoreError};
use chrono::{DateTime, Utc};
use sqlx::Row;
use sqlx::sqlite::SqliteRow;
use uuid::Uuid;

use crate::errors::{corrupt, other};

/// The job columns, in the order of [`job_values`]; [`RowReader::job`] reads them by name.
macro_rules! job_columns {
    () => {
        "id, tenant_id, name, job_group, job_type, args, status, description, \
         creation_time, begin_time, end_time, last_run_time, next_run_time, kind, cron, \
         trigger_count, try_count, max_try_count, max_count, is_abandoned, interval_secs, \
         priority, lock_timeout, node_name, result, source, base_interval, time_limit, \
         actions"
    };
}
pub(crate) use job_columns;

/// The job columns and the store's bookkeeping beside them: what
/// [`RowReader::record`] reads.
macro_rules! record_columns {
    () => {
        concat!(
            $crate::rows::job_columns!(),
            ", revision, lease_token, lease_node, lease_expires_at, lease_due_at, \
             interrupt, triggered, attempts, rescues"
        )
    };
}
pub(crate) use record_columns;

/// The stored form of a time: microseconds since the Unix epoch (finer parts dropped).
pub(crate) fn micros(time: DateTime<Utc>) -> i64 {
    time.timestamp_micros()
}

/// A time as the store keeps it (to the microsecond).
pub(crate) fn stored(time: DateTime<Utc>) -> DateTime<Utc> {
    DateTime::from_timestamp_micros(micros(time)).unwrap_or(time)
}

/// `now + duration`, saturating at the latest time there is.
pub(crate) fn after(now: DateTime<Utc>, duration: std::time::Duration) -> DateTime<Utc> {
    chrono::Duration::from_std(duration)
        .ok()
        .and_then(|d| now.checked_add_signed(d))
        .unwrap_or(DateTime::<Utc>::MAX_UTC)
}

/// A row count or limit as SQLite's integer (saturating).
pub(crate) fn limit(value: usize) -> i64 {
    i64::try_from(value).unwrap_or(i64::MAX)
}

/// A tenant id as stored: hyphenated text.
pub(crate) fn tenant_text(tenant: Option<Uuid>) -> Option<String> {
    tenant.map(|t| t.hyphenated().to_string())
}

/// The stored code of an interruption asked of a run: the status it leaves the job in
/// (20 Paused; every other interruption stops it, 30).
pub(crate) fn interrupt_code(interrupt: Option<Interruption>) -> Option<i64> {
    interrupt.map(|why| match why {
        Interruption::Paused => i64::from(JobStatus::Paused.code()),
        _ => i64::from(JobStatus::Stopped.code()),
    })
}

/// The interruption of a stored code, if it is one.
pub(crate) fn interruption_of(code: i64) -> Option<Interruption> {
    if code == i64::from(JobStatus::Paused.code()) {
        Some(Interruption::Paused)
    } else if code == i64::from(JobStatus::Stopped.code()) {
        Some(Interruption::Stopped)
    } else {
        None
    }
}

/// The args of a job as stored (JSON text).
pub(crate) fn args_text(job: &JobInfo) -> Result<String, StoreError> {
    serde_json::to_string(&job.args).map_err(|error| {
        other(format!(
            "the args of job `{}` do not serialize: {error}",
            job.id
        ))
    })
}

/// The actions of a job as stored (a JSON array).
pub(crate) fn actions_text(job: &JobInfo) -> Result<String, StoreError> {
    serde_json::to_string(&job.actions).map_err(|error| {
        other(format!(
            "the actions of job `{}` do not serialize: {error}",
            job.id
        ))
    })
}

/// A job's columns as one JSON array, in the order of [`job_columns`] (for statements
/// that take many jobs at once through `jsonb_each`).
pub(crate) fn job_values(job: &JobInfo) -> Result<serde_json::Value, StoreError> {
    Ok(serde_json::json!([
        job.id,
        tenant_text(job.tenant_id),
        job.name,
        job.group,
        job.job_type,
        args_text(job)?,
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
        job.time_limit,
        actions_text(job)?,
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

    pub(crate) fn error(&self, column: &str, reason: impl std::fmt::Display) -> StoreError {
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

    pub(crate) fn i32(&self, column: &str) -> Result<i32, StoreError> {
        let value = self.int(column)?;
        i32::try_from(value).map_err(|_| self.error(column, format!("{value} is out of range")))
    }

    fn flag(&self, column: &str) -> Result<bool, StoreError> {
        match self.int(column)? {
            0 => Ok(false),
            1 => Ok(true),
            other => Err(self.error(column, format!("{other} is not 0 or 1"))),
        }
    }

    pub(crate) fn code<T>(
        &self,
        column: &str,
        decode: impl Fn(i32) -> Option<T>,
    ) -> Result<T, StoreError> {
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

    pub(crate) fn tenant(&self, column: &str) -> Result<Option<Uuid>, StoreError> {
        self.opt_text(column)?
            .map(|text| Uuid::parse_str(&text).map_err(|e| self.error(column, e)))
            .transpose()
    }

    /// The job of a row read with [`job_columns`].
    pub(crate) fn job(&self) -> Result<JobInfo, StoreError> {
        let args_text = self.text("args")?;
        let args: JobArgs = serde_json::from_str(&args_text).map_err(|e| self.error("args", e))?;
        let actions_text = self.text("actions")?;
        let actions: Vec<JobAction> =
            serde_json::from_str(&actions_text).map_err(|e| self.error("actions", e))?;
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
            is_abandoned: self.flag("is_abandoned")?,
            interval: self.int("interval_secs")?,
            priority: self.code("priority", JobPriority::from_code)?,
            lock_timeout: self.int("lock_timeout")?,
            node_name: self.opt_text("node_name")?,
            result: self.opt_text("result")?,
            source: self.code("source", JobSource::from_code)?,
            base_interval: self.opt_int("base_interval")?,
            time_limit: self.opt_int("time_limit")?,
            actions,
        })
    }

    /// The record of a row read with [`record_columns`]: the job, its revision, the
    /// lease of a run in flight, a pending interruption and trigger.
    pub(crate) fn record(&self) -> Result<JobRecord, StoreError> {
        let job = self.job()?;
        let lease = match self.opt_int("lease_token")? {
            None => None,
            Some(token) => Some(LeaseInfo {
                node: self.text("lease_node")?,
                token,
                expires_at: self.time("lease_expires_at")?,
                due_at: self.time("lease_due_at")?,
            }),
        };
        let interrupt = self
            .opt_int("interrupt")?
            .map(|code| {
                interruption_of(code)
                    .ok_or_else(|| self.error("interrupt", format!("unknown code {code}")))
            })
            .transpose()?;
        Ok(JobRecord {
            job,
            revision: self.int("revision")?,
            lease,
            interrupt,
            triggered: self.flag("triggered")?,
            attempts: self.int("attempts")?,
            rescues: self.i32("rescues")?,
        })
    }
}

/// Decodes a job row read with [`job_columns`].
pub(crate) fn decode_job(row: &SqliteRow, db: &str) -> Result<JobInfo, StoreError> {
    RowReader::new(row, db, "id").job()
}

/// Decodes a record row read with [`record_columns`].
pub(crate) fn decode_record(row: &SqliteRow, db: &str) -> Result<JobRecord, StoreError> {
    RowReader::new(row, db, "id").record()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn interruptions_are_stored_as_the_status_they_leave() {
        for why in [Interruption::Paused, Interruption::Stopped] {
            let code = interrupt_code(Some(why));
            assert_eq!(code.and_then(interruption_of), Some(why));
        }
        assert_eq!(interrupt_code(None), None);
        assert_eq!(interruption_of(0), None, "Completed is no interruption");
    }
}
