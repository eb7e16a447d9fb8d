//! Ending a run's lease: with its outcome (a batch of runs and their logs in one
//! transaction), or without one (give back). Every write is fenced by the lease's token:
//! a run whose lease was rescued and claimed again, or whose job was removed (and maybe
//! queued again), writes nothing. Each statement is set-based, and states in SQL what
//! `rules::complete` and `rules::give_back` do, end of the lease included
//! (`end_lease!`): a pause or stop asked during the run makes it interrupted, a trigger
//! during the run makes the job due again at the run's due time. A completion (saved or
//! interrupted) ends the job's rescues in a row (R43); a saved one stores the
//! notifications it calls for in the same transaction (R51).

use std::collections::{HashMap, HashSet};

use bgtasks_abstractions::{Interruption, JobInfo, RunLease};
use bgtasks_store::{CompletionOutcome, GiveBack, JobLog, RunCompletion, StoreError};
use serde_json::json;
use sqlx::Row;

use crate::logs::{INSERT_LOGS, log_values};
use crate::notifications;
use crate::rows::{interruption_of, micros, tenant_text};
use crate::store::{Inner, schedulable};

/// The status a job returns to when it becomes active again (`active_status`), from the
/// try count `$tries` and the trigger count `$triggers` (SQL expressions).
macro_rules! active_status {
    ($tries:literal, $triggers:literal) => {
        concat!(
            "CASE WHEN ",
            $tries,
            " > 0 THEN 15 WHEN ",
            $triggers,
            " > 0 THEN 10 ELSE 5 END"
        )
    };
}
pub(crate) use active_status;

/// The end of a lease (`end_lease` of the rules), given the job's state as the run left
/// it — `e_status`, `e_abandoned`, `e_tries`, `e_triggers` — and `o_triggered`, whether
/// it was triggered during the run: a triggered job is active again (an abandoned one
/// with its tries back). The lease, interruption and trigger are cleared. (The next run
/// time, which a trigger makes the run's due time, is each statement's.)
macro_rules! end_lease {
    () => {
        concat!(
            "status = CASE WHEN o_triggered <> 0 \
               AND (e_status NOT IN (5, 10, 15) OR e_abandoned <> 0) THEN ",
            $crate::completion::active_status!(
                "(CASE WHEN e_abandoned <> 0 THEN 0 ELSE e_tries END)",
                "e_triggers"
            ),
            " ELSE e_status END, \
             is_abandoned = CASE WHEN o_triggered <> 0 THEN 0 ELSE e_abandoned END, \
             try_count = CASE WHEN o_triggered <> 0 AND e_abandoned <> 0 THEN 0 \
               ELSE e_tries END, \
             trigger_count = e_triggers, \
             lease_token = NULL, lease_node = NULL, lease_expires_at = NULL, \
             lease_due_at = NULL, interrupt = NULL, triggered = 0"
        )
    };
}
pub(crate) use end_lease;

/// Completes the runs of `?1` (a JSON array of [`run_state`] arrays, one per lease):
/// where a pause or stop was asked during the run, the job keeps its state (due again
/// at the run's due time, unless Stopped) but for its last run time, the run's start;
/// elsewhere the run's state is written (only
/// the run-state fields, R20). The lease then ends, and the rescues in a row with it.
const COMPLETE: &str = concat!(
    "UPDATE bgtasks_jobs SET ",
    end_lease!(),
    ", rescues = 0, interval_secs = e.interval_secs, priority = e.priority, \
       last_run_time = e.last_run_time, result = e.result, tenant_id = e.tenant_id, \
       base_interval = e.base_interval, \
       next_run_time = CASE WHEN o_triggered <> 0 THEN e.due_at ELSE e.next_run_time END \
     FROM (SELECT j.id AS id, j.triggered AS o_triggered, j.lease_due_at AS due_at, \
       CASE WHEN j.interrupt IS NULL THEN v.value ->> 2 ELSE j.status END AS e_status, \
       CASE WHEN j.interrupt IS NULL THEN v.value ->> 3 ELSE j.trigger_count END AS e_triggers, \
       CASE WHEN j.interrupt IS NULL THEN v.value ->> 4 ELSE j.try_count END AS e_tries, \
       CASE WHEN j.interrupt IS NULL THEN v.value ->> 5 ELSE j.is_abandoned END AS e_abandoned, \
       CASE WHEN j.interrupt IS NULL THEN v.value ->> 6 ELSE j.interval_secs END AS interval_secs, \
       CASE WHEN j.interrupt IS NULL THEN v.value ->> 7 ELSE j.priority END AS priority, \
       CASE WHEN j.interrupt IS NULL THEN v.value ->> 8 \
            ELSE COALESCE(v.value ->> 8, j.last_run_time) END AS last_run_time, \
       CASE WHEN j.interrupt IS NULL THEN v.value ->> 9 \
            WHEN j.status = 30 THEN NULL ELSE j.lease_due_at END AS next_run_time, \
       CASE WHEN j.interrupt IS NULL THEN v.value ->> 10 ELSE j.result END AS result, \
       CASE WHEN j.interrupt IS NULL THEN v.value ->> 11 ELSE j.tenant_id END AS tenant_id, \
       CASE WHEN j.interrupt IS NULL THEN v.value ->> 12 ELSE j.base_interval END AS base_interval \
       FROM jsonb_each(?1) AS v JOIN bgtasks_jobs AS j \
         ON j.id = v.value ->> 0 AND j.lease_token = v.value ->> 1) AS e \
     WHERE bgtasks_jobs.id = e.id"
);

/// The lease, interruption and trigger of the jobs of `?1` (a JSON array of ids).
const LEASES_OF: &str = "SELECT id, lease_token, interrupt, triggered FROM bgtasks_jobs \
     WHERE id IN (SELECT value FROM json_each(?1))";

/// Gives back the run of job `?1` under lease `?2` (`rules::give_back`): due again at
/// the run's due time (`?3` = 1), at `?4` (`?3` = 2) or as the claim left it (`?3` = 0);
/// a job paused during the run is due at the run's due time once resumed, a Stopped one
/// not at all; a trigger during the run makes it due at the run's due time.
const GIVE_BACK: &str = concat!(
    "UPDATE bgtasks_jobs SET ",
    end_lease!(),
    ", next_run_time = CASE WHEN o_triggered <> 0 THEN lease_due_at \
         WHEN e_status = 30 THEN NULL \
         WHEN interrupt = 20 OR ?3 = 1 THEN lease_due_at \
         WHEN ?3 = 2 THEN ?4 ELSE next_run_time END \
     FROM (SELECT triggered AS o_triggered, status AS e_status, is_abandoned AS e_abandoned, \
             try_count AS e_tries, trigger_count AS e_triggers \
           FROM bgtasks_jobs WHERE id = ?1) \
     WHERE id = ?1 AND lease_token = ?2 \
     RETURNING (is_abandoned = 0 AND status IN (5, 10, 15) AND next_run_time IS NOT NULL) AS due"
);

/// [`GIVE_BACK`] for the runs of `?1`, a JSON array of `[job id, lease token, mode, time]`
/// arrays (mode and time as `?3` and `?4` of [`GIVE_BACK`]), one per lease still held.
const GIVE_BACK_MANY: &str = concat!(
    "UPDATE bgtasks_jobs SET ",
    end_lease!(),
    ", next_run_time = CASE WHEN o_triggered <> 0 THEN lease_due_at \
         WHEN e_status = 30 THEN NULL \
         WHEN interrupt = 20 OR g_mode = 1 THEN lease_due_at \
         WHEN g_mode = 2 THEN g_at ELSE next_run_time END \
     FROM (SELECT j.id AS g_id, j.triggered AS o_triggered, j.status AS e_status, \
             j.is_abandoned AS e_abandoned, j.try_count AS e_tries, \
             j.trigger_count AS e_triggers, v.value ->> 2 AS g_mode, v.value ->> 3 AS g_at \
           FROM jsonb_each(?1) AS v JOIN bgtasks_jobs AS j \
             ON j.id = v.value ->> 0 AND j.lease_token = v.value ->> 1) \
     WHERE bgtasks_jobs.id = g_id \
     RETURNING (is_abandoned = 0 AND status IN (5, 10, 15) AND next_run_time IS NOT NULL) AS due"
);

const EXISTS: &str = "SELECT 1 FROM bgtasks_jobs WHERE id = ?";

/// What a completion finds of its job's lease.
struct Held {
    token: Option<i64>,
    interrupt: Option<i64>,
    triggered: bool,
}

/// Appends `logs` and completes `runs`, in one transaction: one disk sync for all.
/// Outcomes are those of completing the runs one after the other, in order (a second
/// completion of one lease finds it over); the logs are judged before them.
pub(crate) async fn complete(
    inner: &Inner,
    runs: &[RunCompletion],
    logs: &[JobLog],
) -> Result<Vec<CompletionOutcome>, StoreError> {
    if runs.is_empty() && logs.is_empty() {
        return Ok(Vec::new());
    }
    let failed = inner.failed("complete runs");
    let (_turn, mut tx) = inner.begin_write("complete runs").await?;
    // The logs first: each is judged against the jobs as they were before these
    // completions (a run's log may ride with its own completion).
    if !logs.is_empty() {
        let batch: Vec<serde_json::Value> = logs.iter().map(log_values).collect();
        sqlx::query(INSERT_LOGS)
            .bind(serde_json::Value::Array(batch).to_string())
            .execute(&mut *tx)
            .await
            .map_err(inner.failed("store run logs"))?;
    }
    let mut outcomes = vec![CompletionOutcome::LeaseLost; runs.len()];
    let mut due = false;
    if !runs.is_empty() {
        let ids: Vec<&str> = runs.iter().map(|run| run.lease.job_id.as_str()).collect();
        let rows = sqlx::query(LEASES_OF)
            .bind(json!(ids).to_string())
            .fetch_all(&mut *tx)
            .await
            .map_err(&failed)?;
        let mut held: HashMap<String, Held> = HashMap::with_capacity(rows.len());
        for row in &rows {
            let id: String = row.try_get("id").map_err(&failed)?;
            let held_now = Held {
                token: row.try_get("lease_token").map_err(&failed)?,
                interrupt: row.try_get("interrupt").map_err(&failed)?,
                triggered: row.try_get::<i64, _>("triggered").map_err(&failed)? != 0,
            };
            held.insert(id, held_now);
        }
        let mut batch = Vec::with_capacity(runs.len());
        let mut seen = HashSet::with_capacity(runs.len());
        for (run, outcome) in runs.iter().zip(outcomes.iter_mut()) {
            let lease = &run.lease;
            *outcome = match held.get(&lease.job_id) {
                None => CompletionOutcome::JobGone,
                Some(now) if now.token != Some(lease.token) => CompletionOutcome::LeaseLost,
                // A lease is completed once: a second completion of it finds it over.
                Some(_) if !seen.insert((lease.job_id.as_str(), lease.token)) => {
                    CompletionOutcome::LeaseLost
                }
                Some(now) => {
                    // A trigger during the run makes the job due at once (R40).
                    due |= now.triggered;
                    match now.interrupt {
                        // A code that is no interruption still stops the run.
                        Some(code) => CompletionOutcome::Interrupted(
                            interruption_of(code).unwrap_or(Interruption::Stopped),
                        ),
                        None => {
                            due |= schedulable(&run.job);
                            CompletionOutcome::Saved
                        }
                    }
                }
            };
            if matches!(
                outcome,
                CompletionOutcome::Saved | CompletionOutcome::Interrupted(_)
            ) {
                batch.push(run_state(lease, &run.job));
            }
        }
        if !batch.is_empty() {
            sqlx::query(COMPLETE)
                .bind(serde_json::Value::Array(batch).to_string())
                .execute(&mut *tx)
                .await
                .map_err(&failed)?;
        }
        let saved = runs
            .iter()
            .zip(&outcomes)
            .filter(|(_, outcome)| outcome.is_saved());
        for (run, _) in saved {
            for notification in &run.notifications {
                notifications::store(&mut tx, inner, notification).await?;
            }
        }
    }
    tx.commit().await.map_err(&failed)?;
    if due {
        inner.signals.due.notify();
    }
    Ok(outcomes)
}

/// The run state of a completion, as one JSON array of [`COMPLETE`].
fn run_state(lease: &RunLease, job: &JobInfo) -> serde_json::Value {
    json!([
        lease.job_id,
        lease.token,
        job.status.code(),
        job.trigger_count,
        job.try_count,
        i64::from(job.is_abandoned),
        job.interval,
        job.priority.code(),
        job.last_run_time.map(micros),
        job.next_run_time.map(micros),
        job.result,
        tenant_text(job.tenant_id),
        job.base_interval,
    ])
}

/// Ends the leases of a batch of runs without a result (`rules::give_back` each), in one
/// transaction and one set-based statement: one disk sync for all. Outcomes are those of
/// giving the runs back one after the other, in order (a second give-back of one lease
/// finds it over).
pub(crate) async fn give_back_many(
    inner: &Inner,
    runs: &[(RunLease, GiveBack)],
) -> Result<Vec<CompletionOutcome>, StoreError> {
    if runs.is_empty() {
        return Ok(Vec::new());
    }
    let failed = inner.failed("give runs back");
    let (_turn, mut tx) = inner.begin_write("give runs back").await?;
    let ids: Vec<&str> = runs
        .iter()
        .map(|(lease, _)| lease.job_id.as_str())
        .collect();
    let rows = sqlx::query(LEASES_OF)
        .bind(json!(ids).to_string())
        .fetch_all(&mut *tx)
        .await
        .map_err(&failed)?;
    let mut held: HashMap<String, Option<i64>> = HashMap::with_capacity(rows.len());
    for row in &rows {
        held.insert(
            row.try_get("id").map_err(&failed)?,
            row.try_get("lease_token").map_err(&failed)?,
        );
    }
    let mut outcomes = Vec::with_capacity(runs.len());
    let mut batch = Vec::with_capacity(runs.len());
    let mut seen = HashSet::with_capacity(runs.len());
    for (lease, how) in runs {
        outcomes.push(match held.get(&lease.job_id) {
            None => CompletionOutcome::JobGone,
            Some(token) if *token != Some(lease.token) => CompletionOutcome::LeaseLost,
            Some(_) if !seen.insert((lease.job_id.as_str(), lease.token)) => {
                CompletionOutcome::LeaseLost
            }
            Some(_) => {
                let (mode, at) = give_back_mode(*how);
                batch.push(json!([lease.job_id, lease.token, mode, at]));
                CompletionOutcome::Saved
            }
        });
    }
    let mut due = false;
    if !batch.is_empty() {
        let given_back = sqlx::query(GIVE_BACK_MANY)
            .bind(serde_json::Value::Array(batch).to_string())
            .fetch_all(&mut *tx)
            .await
            .map_err(&failed)?;
        for row in &given_back {
            due |= row.try_get::<bool, _>("due").unwrap_or(true);
        }
    }
    tx.commit().await.map_err(&failed)?;
    if due {
        inner.signals.due.notify();
    }
    Ok(outcomes)
}

/// How a give-back is bound: the mode of [`GIVE_BACK`] (`?3`) and its time (`?4`).
fn give_back_mode(how: GiveBack) -> (i64, Option<i64>) {
    match how {
        GiveBack::KeepSchedule => (0, None),
        GiveBack::RunAgain => (1, None),
        GiveBack::RunAt(at) => (2, Some(micros(at))),
    }
}

/// Ends a run's lease without a result (`rules::give_back`).
pub(crate) async fn give_back(
    inner: &Inner,
    lease: &RunLease,
    how: GiveBack,
) -> Result<CompletionOutcome, StoreError> {
    let operation = format!("give back the run of job `{}`", lease.job_id);
    let failed = inner.failed(&operation);
    let (mode, at) = give_back_mode(how);
    let turn = inner.write_gate(&operation).await?;
    let row = sqlx::query(GIVE_BACK)
        .bind(lease.job_id.clone())
        .bind(lease.token)
        .bind(mode)
        .bind(at)
        .fetch_optional(&inner.pool)
        .await
        .map_err(&failed)?;
    drop(turn);
    let Some(row) = row else {
        let exists = sqlx::query(EXISTS)
            .bind(lease.job_id.clone())
            .fetch_optional(&inner.pool)
            .await
            .map_err(&failed)?;
        return Ok(if exists.is_some() {
            CompletionOutcome::LeaseLost
        } else {
            CompletionOutcome::JobGone
        });
    };
    if row.try_get::<bool, _>("due").unwrap_or(true) {
        inner.signals.due.notify();
    }
    Ok(CompletionOutcome::Saved)
}
