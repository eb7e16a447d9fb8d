//! [`JobControl`] on SQLite, and the shape every rare transition shares: in one
//! `BEGIN IMMEDIATE` transaction, read the job's row, apply the rule of
//! [`bgtasks_store::rules`] to its record, and write back only the columns that rule may
//! change (R37). A pause, stop or removal of a running job bumps the control counter in
//! the same transaction, so that other processes on the file learn of it.

use bgtasks_store::{JobControl, JobRecord, Refusal, StoreError, Transition, rules};
use chrono::{DateTime, Utc};

use crate::definitions::FIND_RECORD;
use crate::rows::{actions_text, args_text, decode_record, interrupt_code, micros};
use crate::store::{Inner, SqliteJobStore, WriteTx};

/// Writes what a control transition may change.
const WRITE_CONTROL: &str = "UPDATE bgtasks_jobs SET status = ?2, next_run_time = ?3, \
     is_abandoned = ?4, try_count = ?5, interrupt = ?6, triggered = ?7 WHERE id = ?1";

/// Writes what a definition update may change: the definition columns, the revision and
/// the next run time.
const WRITE_DEFINITION: &str = "UPDATE bgtasks_jobs SET name = ?2, job_group = ?3, \
     description = ?4, args = ?5, begin_time = ?6, end_time = ?7, cron = ?8, \
     interval_secs = ?9, base_interval = ?10, max_try_count = ?11, max_count = ?12, \
     priority = ?13, lock_timeout = ?14, node_name = ?15, revision = ?16, \
     next_run_time = ?17, time_limit = ?18, actions = ?19 WHERE id = ?1";

/// Tells the other processes on the file that a running job was paused, stopped or
/// removed (their watchers read the counter when the file changes).
const BUMP_CONTROL: &str = "UPDATE bgtasks_control SET version = version + 1 WHERE id = 1";

/// Which columns a transition writes back.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Columns {
    /// Pause, resume, trigger, stop, start: status, next run time, abandoned flag, try
    /// count, interruption and trigger of a run in flight.
    Control,
    /// A definition update: the definition columns, the revision and the next run time.
    Definition,
}

/// Bumps the control counter, inside the caller's transaction.
pub(crate) async fn bump_control(tx: &mut WriteTx) -> Result<(), sqlx::Error> {
    sqlx::query(BUMP_CONTROL).execute(&mut **tx).await?;
    Ok(())
}

impl Inner {
    /// Applies `rule` to the record of job `id` in one write transaction: written back
    /// (only `columns`) if it applies, else refused with the job as it is. `what` names
    /// the transition in errors.
    pub(crate) async fn transition(
        &self,
        id: &str,
        what: &str,
        columns: Columns,
        rule: impl FnOnce(&mut JobRecord) -> bool + Send,
    ) -> Result<Transition, StoreError> {
        let operation = format!("{what} job `{id}`");
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
        let mut record = decode_record(&row, &self.db)?;
        let before = record.clone();
        if !rule(&mut record) {
            tx.rollback().await.map_err(&failed)?;
            return Ok(Err(Refusal::StateChanged(Box::new(before))));
        }
        match columns {
            Columns::Control => write_control(&mut tx, &record).await,
            Columns::Definition => write_definition(&mut tx, &record).await?,
        }
        .map_err(&failed)?;
        // A pause or stop that reaches a run in flight.
        let interrupts = record.is_running()
            && record.interrupt.is_some()
            && record.interrupt != before.interrupt;
        if interrupts {
            bump_control(&mut tx).await.map_err(&failed)?;
        }
        tx.commit().await.map_err(&failed)?;
        if interrupts {
            self.signals.control.notify();
        }
        self.notify_if_schedulable(&record.job);
        Ok(Ok(record))
    }
}

async fn write_control(tx: &mut WriteTx, record: &JobRecord) -> Result<(), sqlx::Error> {
    let job = &record.job;
    sqlx::query(WRITE_CONTROL)
        .bind(job.id.clone())
        .bind(i64::from(job.status.code()))
        .bind(job.next_run_time.map(micros))
        .bind(i64::from(job.is_abandoned))
        .bind(i64::from(job.try_count))
        .bind(interrupt_code(record.interrupt))
        .bind(i64::from(record.triggered))
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// Writes a definition update; the args and actions are serialized first, so that an
/// error there names the job.
async fn write_definition(
    tx: &mut WriteTx,
    record: &JobRecord,
) -> Result<Result<(), sqlx::Error>, StoreError> {
    let job = &record.job;
    let args = args_text(job)?;
    let actions = actions_text(job)?;
    Ok(sqlx::query(WRITE_DEFINITION)
        .bind(job.id.clone())
        .bind(job.name.clone())
        .bind(job.group.clone())
        .bind(job.description.clone())
        .bind(args)
        .bind(micros(job.begin_time))
        .bind(job.end_time.map(micros))
        .bind(job.cron.clone())
        .bind(job.interval)
        .bind(job.base_interval)
        .bind(i64::from(job.max_try_count))
        .bind(i64::from(job.max_count))
        .bind(i64::from(job.priority.code()))
        .bind(job.lock_timeout)
        .bind(job.node_name.clone())
        .bind(record.revision)
        .bind(job.next_run_time.map(micros))
        .bind(job.time_limit)
        .bind(actions)
        .execute(&mut **tx)
        .await
        .map(drop))
}

impl JobControl for SqliteJobStore {
    /// A pause of a running job reaches its node at once in this process (the control
    /// signal), and within the watch interval in the others.
    async fn pause(&self, id: &str) -> Result<Transition, StoreError> {
        self.inner
            .transition(id, "pause", Columns::Control, rules::pause)
            .await
    }

    async fn resume(&self, id: &str, now: DateTime<Utc>) -> Result<Transition, StoreError> {
        let inner = &self.inner;
        inner
            .transition(id, "resume", Columns::Control, |record: &mut JobRecord| {
                let schedule = inner.schedule_of(&record.job);
                rules::resume(record, now, schedule.as_deref())
            })
            .await
    }

    async fn trigger(&self, id: &str, now: DateTime<Utc>) -> Result<Transition, StoreError> {
        self.inner
            .transition(id, "trigger", Columns::Control, |record: &mut JobRecord| {
                rules::trigger(record, now)
            })
            .await
    }

    /// A stop of a running job reaches its node as a pause does.
    async fn stop(&self, id: &str) -> Result<Transition, StoreError> {
        self.inner
            .transition(id, "stop", Columns::Control, rules::stop)
            .await
    }

    async fn start(&self, id: &str, now: DateTime<Utc>) -> Result<Transition, StoreError> {
        let inner = &self.inner;
        inner
            .transition(id, "start", Columns::Control, |record: &mut JobRecord| {
                let schedule = inner.schedule_of(&record.job);
                rules::start(record, now, schedule.as_deref())
            })
            .await
    }
}
