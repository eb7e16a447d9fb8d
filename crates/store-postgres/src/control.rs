//! The operator's transitions (pause, resume, trigger, stop, start) and the definition's
//! (update, remove): each in one transaction that locks the job's row, applies the rule of
//! [`rules`] to the record, and writes back only the columns that rule may change (R37).
//! A pause, stop or removal of a running job notifies channel `bgtasks_control` in the
//! same transaction, so that the node running it renews at once (R39).

use bgtasks_abstractions::CronSchedule;
use bgtasks_store::{JobRecord, Refusal, StoreError, Transition, rules};
use chrono::{DateTime, Utc};
use sqlx::{Postgres, Row, Transaction};

use crate::notify::CONTROL_CHANNEL;
use crate::rows::{interrupt_code, record_columns, record_from_row};
use crate::store::PostgresJobStore;

/// The job's row, locked, and the time the transition is judged at: the caller's (`$2`)
/// or the database's.
const LOCK: &str = concat!(
    "SELECT ",
    record_columns!(),
    ", COALESCE($2::timestamptz, now()) AS lock_now FROM bgtasks_jobs WHERE id = $1 \
     FOR UPDATE"
);

/// The columns a control rule may change.
const WRITE_CONTROL: &str = "UPDATE bgtasks_jobs SET status = $2, next_run_time = $3, \
     is_abandoned = $4, try_count = $5, interrupt = $6, triggered = $7 WHERE id = $1";

const NOTIFY_CONTROL: &str = "SELECT pg_notify($1, '')";

/// A job's row locked in a transaction, decoded, and the time the transition is judged at.
pub(crate) struct Locked {
    pub(crate) tx: Transaction<'static, Postgres>,
    pub(crate) record: JobRecord,
    pub(crate) now: DateTime<Utc>,
}

impl Locked {
    /// Refuses the transition: the lock is released, nothing written.
    pub(crate) async fn refuse(
        self,
        store: &PostgresJobStore,
        what: &str,
        refusal: impl FnOnce(JobRecord) -> Refusal,
    ) -> Result<Transition, StoreError> {
        self.tx.rollback().await.map_err(store.fail(what))?;
        Ok(Err(refusal(self.record)))
    }

    /// Tells the node running the job (if one is) to renew now, when the transaction
    /// commits.
    pub(crate) async fn notify_control(
        &mut self,
        store: &PostgresJobStore,
        what: &str,
    ) -> Result<(), StoreError> {
        if self.record.lease.is_some() {
            sqlx::query(NOTIFY_CONTROL)
                .bind(CONTROL_CHANNEL)
                .execute(&mut *self.tx)
                .await
                .map_err(store.fail(what))?;
        }
        Ok(())
    }
}

impl PostgresJobStore {
    /// Locks job `id`'s row for a transition; `None` if there is no such job.
    pub(crate) async fn lock_job(
        &self,
        id: &str,
        now: DateTime<Utc>,
        what: &str,
    ) -> Result<Option<Locked>, StoreError> {
        let fail = self.fail(what);
        let mut tx = self.inner.pool.begin().await.map_err(&fail)?;
        let row = sqlx::query(LOCK)
            .bind(id)
            .bind(self.caller_now(now))
            .fetch_optional(&mut *tx)
            .await
            .map_err(&fail)?;
        let Some(row) = row else {
            tx.rollback().await.map_err(&fail)?;
            return Ok(None);
        };
        let decoded = row
            .try_get("lock_now")
            .map_err(&fail)
            .and_then(|now| Ok((now, record_from_row(&row)?)));
        match decoded {
            Ok((now, record)) => Ok(Some(Locked { tx, record, now })),
            Err(error) => {
                tx.rollback().await.map_err(&fail)?;
                Err(error)
            }
        }
    }

    /// Applies a control rule to job `id` under a lock; writes what it changed. `interrupts`:
    /// whether the transition asks a running job's node to stop it.
    async fn control<F>(
        &self,
        id: &str,
        now: DateTime<Utc>,
        what: &str,
        interrupts: bool,
        rule: F,
    ) -> Result<Transition, StoreError>
    where
        F: FnOnce(&mut JobRecord, DateTime<Utc>, Option<&CronSchedule>) -> bool + Send,
    {
        let Some(mut locked) = self.lock_job(id, now, what).await? else {
            return Ok(Err(Refusal::NotFound));
        };
        let schedule = self.inner.schedules.for_job(&locked.record.job);
        if !rule(&mut locked.record, locked.now, schedule.as_deref()) {
            return locked
                .refuse(self, what, |record| Refusal::StateChanged(Box::new(record)))
                .await;
        }
        let fail = self.fail(what);
        let record = &locked.record;
        sqlx::query(WRITE_CONTROL)
            .bind(id)
            .bind(crate::rows::code(record.job.status.code()))
            .bind(record.job.next_run_time)
            .bind(record.job.is_abandoned)
            .bind(record.job.try_count)
            .bind(interrupt_code(record.interrupt))
            .bind(record.triggered)
            .execute(&mut *locked.tx)
            .await
            .map_err(&fail)?;
        if interrupts {
            locked.notify_control(self, what).await?;
        }
        locked.tx.commit().await.map_err(&fail)?;
        Ok(Ok(locked.record))
    }

    pub(crate) async fn pause_job(&self, id: &str) -> Result<Transition, StoreError> {
        // The time is not used; any will do.
        self.control(
            id,
            DateTime::<Utc>::UNIX_EPOCH,
            "pause a job",
            true,
            |r, _, _| rules::pause(r),
        )
        .await
    }

    pub(crate) async fn resume_job(
        &self,
        id: &str,
        now: DateTime<Utc>,
    ) -> Result<Transition, StoreError> {
        self.control(id, now, "resume a job", false, rules::resume)
            .await
    }

    pub(crate) async fn trigger_job(
        &self,
        id: &str,
        now: DateTime<Utc>,
    ) -> Result<Transition, StoreError> {
        self.control(id, now, "trigger a job", false, |r, now, _| {
            rules::trigger(r, now)
        })
        .await
    }

    pub(crate) async fn stop_job(&self, id: &str) -> Result<Transition, StoreError> {
        self.control(
            id,
            DateTime::<Utc>::UNIX_EPOCH,
            "stop a job",
            true,
            |r, _, _| rules::stop(r),
        )
        .await
    }

    pub(crate) async fn start_job(
        &self,
        id: &str,
        now: DateTime<Utc>,
    ) -> Result<Transition, StoreError> {
        self.control(id, now, "start a job", false, rules::start)
            .await
    }
}
