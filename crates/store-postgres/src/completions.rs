//! Completions: the outcomes of a batch of runs, and their run logs, in one statement.
//!
//! The statement saves every run whose lease is still the run's and whose job was not
//! paused or stopped during the run — the common case, set-based and cheap. When the
//! batch carries notifications (R51), the statement runs in a transaction that then
//! stores the notifications of the saved runs (see [`notifications`]). The runs it
//! does not save are rare: a job that is gone or whose lease is no longer the run's is
//! told apart by one read (tokens never repeat, so neither can change back); a run whose
//! lease is still held (a pause or stop asked during the run, or a race with one) is
//! decided on its own, in a transaction that locks the row and applies
//! [`rules::complete`] to it (storing its notifications if it is saved), so that every
//! outcome is the rule's.
//!
//! [`notifications`]: crate::notifications

use std::borrow::Cow;
use std::collections::HashMap;

use bgtasks_store::{CompletionOutcome, JobLog, NewNotification, RunCompletion, StoreError, rules};
use chrono::{DateTime, Utc};
use sqlx::Row;
use sqlx::postgres::PgRow;

use crate::keyed::begin_keyed;
use crate::leases::{end_lease, retrying};
use crate::log_rows::{bind_logs, insert_logs, run_text};
use crate::notifications::store_new;
use crate::rows::{PgQuery, code, interrupt_code, record_columns, record_from_row};
use crate::store::PostgresJobStore;

/// Saves the outcomes of a batch of runs (bound as 13 arrays), each only if its lease is
/// still the run's and no interruption was asked during it. Only the run-state fields are
/// written (as [`rules::apply_run_state`] does): a definition edited during the run is
/// kept; the rescues in a row go back to zero (R43). A trigger during the run makes the
/// job due again at the run's due time (R40). Returns the positions (1-based) of the
/// saved runs; rows are found by primary key.
macro_rules! complete_update {
    () => {
        concat!(
            "UPDATE bgtasks_jobs AS j SET ",
            end_lease!(
                "u.status",
                "u.is_abandoned",
                "u.try_count",
                "u.trigger_count"
            ),
            ", trigger_count = u.trigger_count, interval_secs = u.interval_secs, \
             priority = u.priority, last_run_time = u.last_run_time, \
             next_run_time = CASE WHEN j.triggered THEN j.lease_due_at \
               ELSE u.next_run_time END, \
             result = u.result, tenant_id = u.tenant_id, \
             base_interval_secs = u.base_interval_secs, rescues = 0 \
             FROM unnest($1::text[], $2::int8[], $3::int2[], $4::int4[], $5::int4[], \
               $6::bool[], $7::int8[], $8::int2[], $9::timestamptz[], $10::timestamptz[], \
               $11::text[], $12::uuid[], $13::int8[]) WITH ORDINALITY \
               AS u(id, token, status, trigger_count, try_count, is_abandoned, interval_secs, \
                 priority, last_run_time, next_run_time, result, tenant_id, \
                 base_interval_secs, ord) \
             WHERE j.id = u.id AND j.lease_token = u.token AND j.lease_node IS NOT NULL \
               AND j.interrupt IS NULL \
             RETURNING u.ord"
        )
    };
}

const COMPLETE: &str = complete_update!();

/// [`COMPLETE`] and the batch's run logs (bound as `$14` … `$25`) in one statement: one
/// commit, one disk sync for both. The logs' condition reads the jobs as they were before
/// the completions (one snapshot), so a run's log may ride with its own completion.
const COMPLETE_AND_LOG: &str = concat!(
    "WITH done AS (",
    complete_update!(),
    "), logged AS (",
    insert_logs!(
        "$14", "$15", "$16", "$17", "$18", "$19", "$20", "$21", "$22", "$23", "$24", "$25"
    ),
    ") SELECT ord FROM done"
);

/// The leases of the jobs of runs the batch did not save.
const LEASES: &str = "SELECT id, lease_token, lease_node IS NOT NULL AS held \
     FROM bgtasks_jobs WHERE id = ANY($1)";

/// The job of a run the batch did not save, locked.
const LOCK_ONE: &str = concat!(
    "SELECT ",
    record_columns!(),
    " FROM bgtasks_jobs WHERE id = $1 FOR UPDATE"
);

/// Writes what [`rules::complete`] left of a run: its run state, the lease ended.
const WRITE_ONE: &str = "UPDATE bgtasks_jobs SET status = $2, trigger_count = $3, \
       try_count = $4, is_abandoned = $5, interval_secs = $6, priority = $7, \
       last_run_time = $8, next_run_time = $9, result = $10, tenant_id = $11, \
       base_interval_secs = $12, lease_node = NULL, lease_expires_at = NULL, \
       lease_due_at = NULL, interrupt = $13, triggered = $14, rescues = $15 \
     WHERE id = $1";

/// The columns of a batch, in id order.
struct Columns<'a> {
    ids: Vec<&'a str>,
    tokens: Vec<i64>,
    statuses: Vec<i16>,
    trigger_counts: Vec<i32>,
    try_counts: Vec<i32>,
    abandoned: Vec<bool>,
    intervals: Vec<i64>,
    priorities: Vec<i16>,
    last_runs: Vec<Option<DateTime<Utc>>>,
    next_runs: Vec<Option<DateTime<Utc>>>,
    results: Vec<Option<Cow<'a, str>>>,
    tenants: Vec<Option<uuid::Uuid>>,
    base_intervals: Vec<Option<i64>>,
}

impl<'a> Columns<'a> {
    fn of(sorted: &[&'a RunCompletion]) -> Self {
        Self {
            ids: sorted.iter().map(|r| r.lease.job_id.as_str()).collect(),
            tokens: sorted.iter().map(|r| r.lease.token).collect(),
            statuses: sorted.iter().map(|r| code(r.job.status.code())).collect(),
            trigger_counts: sorted.iter().map(|r| r.job.trigger_count).collect(),
            try_counts: sorted.iter().map(|r| r.job.try_count).collect(),
            abandoned: sorted.iter().map(|r| r.job.is_abandoned).collect(),
            intervals: sorted.iter().map(|r| r.job.interval).collect(),
            priorities: sorted.iter().map(|r| code(r.job.priority.code())).collect(),
            last_runs: sorted.iter().map(|r| r.job.last_run_time).collect(),
            next_runs: sorted.iter().map(|r| r.job.next_run_time).collect(),
            results: sorted
                .iter()
                .map(|r| r.job.result.as_deref().map(run_text))
                .collect(),
            tenants: sorted.iter().map(|r| r.job.tenant_id).collect(),
            base_intervals: sorted.iter().map(|r| r.job.base_interval).collect(),
        }
    }
}

impl<'a> Columns<'a> {
    /// The statement that saves the batch (with `logs`, if any), bound.
    fn save<'q>(&'q self, logs: &'q [JobLog]) -> PgQuery<'q> {
        let sql = if logs.is_empty() {
            COMPLETE
        } else {
            COMPLETE_AND_LOG
        };
        let query = sqlx::query(sql)
            .bind(&self.ids)
            .bind(&self.tokens)
            .bind(&self.statuses)
            .bind(&self.trigger_counts)
            .bind(&self.try_counts)
            .bind(&self.abandoned)
            .bind(&self.intervals)
            .bind(&self.priorities)
            .bind(&self.last_runs)
            .bind(&self.next_runs)
            .bind(&self.results)
            .bind(&self.tenants)
            .bind(&self.base_intervals);
        if logs.is_empty() {
            query
        } else {
            bind_logs(query, logs)
        }
    }
}

/// The caller's positions of the runs a batch saved, from the rows of [`COMPLETE`];
/// `order[k]` is the caller's position of the batch's k-th row.
fn saved_positions(rows: &[PgRow], order: &[usize]) -> Result<Vec<usize>, sqlx::Error> {
    let mut saved = Vec::with_capacity(rows.len());
    for row in rows {
        let ord: i64 = row.try_get(0)?;
        let caller = usize::try_from(ord)
            .ok()
            .and_then(|ord| order.get(ord.wrapping_sub(1)));
        saved.extend(caller.copied());
    }
    saved.sort_unstable();
    Ok(saved)
}

impl PostgresJobStore {
    /// Saves the outcomes of `runs` and appends `logs`, in one statement (and the
    /// notifications of the saved runs, in the same transaction); then decides the runs
    /// it did not save one by one.
    pub(crate) async fn complete_runs(
        &self,
        runs: &[RunCompletion],
        logs: &[JobLog],
    ) -> Result<Vec<CompletionOutcome>, StoreError> {
        if runs.is_empty() {
            self.append(logs).await?;
            return Ok(Vec::new());
        }
        // The batch in id order; `order[k]` is the caller's position of the k-th row.
        let mut order: Vec<usize> = (0..runs.len()).collect();
        order.sort_by(|&a, &b| runs[a].lease.job_id.cmp(&runs[b].lease.job_id));
        let sorted: Vec<&RunCompletion> = order.iter().map(|&i| &runs[i]).collect();
        let c = Columns::of(&sorted);
        let fail = self.fail("complete runs");
        let saved = if runs.iter().any(|run| !run.notifications.is_empty()) {
            retrying(|| self.save_with_notifications(&c, logs, runs, &order)).await
        } else {
            retrying(|| async {
                let mut tx = begin_keyed(&self.inner.pool).await?;
                let rows = c.save(logs).fetch_all(&mut *tx).await?;
                tx.commit().await?;
                saved_positions(&rows, &order)
            })
            .await
        }
        .map_err(&fail)?;
        let mut outcomes = vec![None; runs.len()];
        for position in saved {
            if let Some(slot) = outcomes.get_mut(position) {
                *slot = Some(CompletionOutcome::Saved);
            }
        }
        self.decide_unsaved(runs, outcomes).await
    }

    /// Saves the batch and stores the notifications of the runs it saved (in the
    /// caller's order), in one transaction. Returns the caller's positions of the saved
    /// runs.
    async fn save_with_notifications(
        &self,
        c: &Columns<'_>,
        logs: &[JobLog],
        runs: &[RunCompletion],
        order: &[usize],
    ) -> Result<Vec<usize>, sqlx::Error> {
        let mut tx = begin_keyed(&self.inner.pool).await?;
        let rows = c.save(logs).fetch_all(&mut *tx).await?;
        let saved = saved_positions(&rows, order)?;
        let notes: Vec<&NewNotification> = saved
            .iter()
            .filter_map(|&position| runs.get(position))
            .flat_map(|run| &run.notifications)
            .collect();
        store_new(&mut tx, &notes).await?;
        tx.commit().await?;
        Ok(saved)
    }

    /// Decides the runs the batch did not save (`None` in `outcomes`).
    async fn decide_unsaved(
        &self,
        runs: &[RunCompletion],
        outcomes: Vec<Option<CompletionOutcome>>,
    ) -> Result<Vec<CompletionOutcome>, StoreError> {
        if outcomes.iter().all(Option::is_some) {
            return Ok(outcomes.into_iter().flatten().collect());
        }
        let unsaved: Vec<&str> = runs
            .iter()
            .zip(&outcomes)
            .filter(|(_, outcome)| outcome.is_none())
            .map(|(run, _)| run.lease.job_id.as_str())
            .collect();
        let fail = self.fail("check completed runs");
        let rows = sqlx::query(LEASES)
            .bind(&unsaved)
            .fetch_all(&self.inner.pool)
            .await
            .map_err(&fail)?;
        let mut held = HashMap::with_capacity(rows.len());
        for row in &rows {
            let id: String = row.try_get("id").map_err(&fail)?;
            let token: i64 = row.try_get("lease_token").map_err(&fail)?;
            held.insert(
                id,
                row.try_get::<bool, _>("held")
                    .map_err(&fail)?
                    .then_some(token),
            );
        }
        let mut decided = Vec::with_capacity(runs.len());
        for (run, outcome) in runs.iter().zip(outcomes) {
            decided.push(match (outcome, held.get(&run.lease.job_id)) {
                (Some(outcome), _) => outcome,
                (None, None) => {
                    tracing::debug!(job_id = %run.lease.job_id, "completion of a job that is gone");
                    CompletionOutcome::JobGone
                }
                (None, Some(Some(token))) if *token == run.lease.token => {
                    self.complete_one(run).await?
                }
                (None, Some(_)) => CompletionOutcome::LeaseLost,
            });
        }
        Ok(decided)
    }

    /// Decides a run the batch did not save, under a lock on its row, by
    /// [`rules::complete`].
    async fn complete_one(&self, run: &RunCompletion) -> Result<CompletionOutcome, StoreError> {
        let fail = self.fail("complete a run");
        let mut tx = self.inner.pool.begin().await.map_err(&fail)?;
        let row = sqlx::query(LOCK_ONE)
            .bind(&run.lease.job_id)
            .fetch_optional(&mut *tx)
            .await
            .map_err(&fail)?;
        let decoded = row.as_ref().map(record_from_row);
        let mut record = match decoded {
            Some(Ok(record)) => record,
            None => {
                tx.rollback().await.map_err(&fail)?;
                return Ok(CompletionOutcome::JobGone);
            }
            Some(Err(error)) => {
                // The run cannot be judged; its lease stays until it expires and the run
                // is rescued.
                tracing::error!(%error, "the job of a completed run does not decode; the run's outcome is dropped");
                tx.rollback().await.map_err(&fail)?;
                return Ok(CompletionOutcome::LeaseLost);
            }
        };
        let outcome = rules::complete(&mut record, run);
        if outcome == CompletionOutcome::LeaseLost {
            tx.rollback().await.map_err(&fail)?;
            return Ok(outcome);
        }
        let job = &record.job;
        sqlx::query(WRITE_ONE)
            .bind(&job.id)
            .bind(code(job.status.code()))
            .bind(job.trigger_count)
            .bind(job.try_count)
            .bind(job.is_abandoned)
            .bind(job.interval)
            .bind(code(job.priority.code()))
            .bind(job.last_run_time)
            .bind(job.next_run_time)
            .bind(job.result.as_deref().map(run_text))
            .bind(job.tenant_id)
            .bind(job.base_interval)
            .bind(interrupt_code(record.interrupt))
            .bind(record.triggered)
            .bind(record.rescues)
            .execute(&mut *tx)
            .await
            .map_err(&fail)?;
        if outcome == CompletionOutcome::Saved {
            let notes: Vec<&NewNotification> = run.notifications.iter().collect();
            store_new(&mut tx, &notes).await.map_err(&fail)?;
        }
        tx.commit().await.map_err(&fail)?;
        Ok(outcome)
    }
}
