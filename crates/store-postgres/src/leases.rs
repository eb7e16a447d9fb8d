//! Leases: renewing them (and telling the node of a pause, stop or removal, R39), giving
//! runs back, and rescuing runs whose node went away. Each is one set-based statement that
//! gives the results of [`rules::renew`], [`rules::give_back`] and [`rules::rescue`]. Batches
//! touch their rows in id order, so that two batches of one node (a renewal and a
//! completion) never wait on each other in a cycle; a deadlock or serialization failure
//! PostgreSQL reports anyway is retried.
//!
//! [`rules::renew`]: bgtasks_store::rules::renew
//! [`rules::give_back`]: bgtasks_store::rules::give_back
//! [`rules::rescue`]: bgtasks_store::rules::rescue

use std::time::Duration;

use bgtasks_abstractions::{Interruption, RunLease};
use bgtasks_store::{CompletionOutcome, GiveBack, RenewOutcome, Rescued, StoreError};
use chrono::{DateTime, Utc};
use sqlx::Row;

use crate::claims::lease_micros;
use crate::keyed::begin_keyed;
use crate::store::PostgresJobStore;

/// How often a batch that lost a deadlock (or a serialization failure) is tried in all.
const ATTEMPTS: u32 = 3;

/// The assignments that end a lease (`end_lease` of the rules), given the run state the
/// row is left with (`$status`, `$abandoned`, `$tries`, `$runs`: SQL expressions). A
/// trigger that came during the run (`j.triggered`) makes the job active again: an
/// abandoned one gets its tries back (R40). The caller sets `next_run_time` (to
/// `j.lease_due_at` when `j.triggered`). The lease and both flags are cleared together.
macro_rules! end_lease {
    ($status:literal, $abandoned:literal, $tries:literal, $runs:literal) => {
        concat!(
            "status = CASE WHEN j.triggered AND (",
            $status,
            " NOT IN (5, 10, 15) OR ",
            $abandoned,
            ") THEN CASE WHEN NOT ",
            $abandoned,
            " AND ",
            $tries,
            " > 0 THEN 15 WHEN ",
            $runs,
            " > 0 THEN 10 ELSE 5 END ELSE ",
            $status,
            " END, \
             is_abandoned = ",
            $abandoned,
            " AND NOT j.triggered, \
             try_count = CASE WHEN j.triggered AND ",
            $abandoned,
            " THEN 0 ELSE ",
            $tries,
            " END, \
             lease_node = NULL, lease_expires_at = NULL, lease_due_at = NULL, \
             interrupt = NULL, triggered = FALSE"
        )
    };
}
pub(crate) use end_lease;

/// Extends the leases named (`$1` ids, `$2` tokens) that `$3` holds until the caller's
/// (`$4`) or the database's now plus `$5` microseconds; answers, per lease, whether it was
/// renewed, the interruption asked of its run, and whether the job still exists.
const RENEW: &str = "WITH wanted AS ( \
       SELECT * FROM unnest($1::text[], $2::int8[]) WITH ORDINALITY AS w(id, token, ord)), \
     renewed AS ( \
       UPDATE bgtasks_jobs AS j SET lease_expires_at = \
         COALESCE($4::timestamptz, now()) + $5::int8 * interval '1 microsecond' \
       FROM wanted AS w \
       WHERE j.id = w.id AND j.lease_token = w.token AND j.lease_node = $3 \
       RETURNING w.ord, j.interrupt) \
     SELECT w.ord, r.ord IS NOT NULL AS renewed, r.interrupt, \
       EXISTS (SELECT 1 FROM bgtasks_jobs AS x WHERE x.id = w.id) AS found \
     FROM wanted AS w LEFT JOIN renewed AS r ON r.ord = w.ord";

/// Ends the lease `$2` of job `$1` without a result. `$3`: 0 keeps the schedule, 1 runs
/// again at the run's due time, 2 at `$4`; a run paused meanwhile is due at its due time
/// once resumed, a stopped one has no next run.
const GIVE_BACK: &str = concat!(
    "WITH given AS (UPDATE bgtasks_jobs AS j SET \
       next_run_time = CASE WHEN j.triggered THEN j.lease_due_at \
         WHEN j.status = 30 THEN NULL \
         WHEN j.interrupt = 20 OR $3 = 1 THEN j.lease_due_at \
         WHEN $3 = 2 THEN $4::timestamptz \
         ELSE j.next_run_time END, ",
    end_lease!(
        "j.status",
        "j.is_abandoned",
        "j.try_count",
        "j.trigger_count"
    ),
    " WHERE j.id = $1 AND j.lease_token = $2 AND j.lease_node IS NOT NULL RETURNING 1) \
     SELECT EXISTS (SELECT 1 FROM given) AS saved, \
            EXISTS (SELECT 1 FROM bgtasks_jobs WHERE id = $1) AS found"
);

/// [`GIVE_BACK`] for a batch: ends the leases named (`$1` ids, `$2` tokens, each with its
/// mode in `$3` and time in `$4`, as `$3` and `$4` of [`GIVE_BACK`]); answers, per lease in
/// order, whether it was given back and whether the job still exists. A lease named twice
/// is given back once (the other answers that it is over).
const GIVE_BACK_MANY: &str = concat!(
    "WITH wanted AS ( \
       SELECT * FROM unnest($1::text[], $2::int8[], $3::int2[], $4::timestamptz[]) \
         WITH ORDINALITY AS w(id, token, mode, at, ord)), \
     given AS (UPDATE bgtasks_jobs AS j SET \
       next_run_time = CASE WHEN j.triggered THEN j.lease_due_at \
         WHEN j.status = 30 THEN NULL \
         WHEN j.interrupt = 20 OR w.mode = 1 THEN j.lease_due_at \
         WHEN w.mode = 2 THEN w.at \
         ELSE j.next_run_time END, ",
    end_lease!(
        "j.status",
        "j.is_abandoned",
        "j.try_count",
        "j.trigger_count"
    ),
    " FROM wanted AS w \
       WHERE j.id = w.id AND j.lease_token = w.token AND j.lease_node IS NOT NULL \
       RETURNING w.ord) \
     SELECT w.ord, g.ord IS NOT NULL AS saved, \
       EXISTS (SELECT 1 FROM bgtasks_jobs AS x WHERE x.id = w.id) AS found \
     FROM wanted AS w LEFT JOIN given AS g ON g.ord = w.ord"
);

/// Makes runs whose lease expired before the caller's (`$1`) or the database's now due
/// again at their old time (a Stopped job: not at all), without a try charged but with
/// one more rescue in a row counted (R43), and logs each interruption, naming the node,
/// in one statement.
const RESCUE: &str = concat!(
    "WITH expired AS ( \
       SELECT id AS expired_id, lease_node AS expired_node, lease_expires_at AS expired_at \
       FROM bgtasks_jobs \
       WHERE lease_node IS NOT NULL AND lease_expires_at < COALESCE($1::timestamptz, now()) \
       FOR UPDATE SKIP LOCKED), \
     rescued AS ( \
       UPDATE bgtasks_jobs AS j SET \
         next_run_time = CASE WHEN j.triggered THEN j.lease_due_at \
           WHEN j.status = 30 THEN NULL ELSE j.lease_due_at END, \
         rescues = LEAST(j.rescues, 2147483646) + 1, ",
    end_lease!(
        "j.status",
        "j.is_abandoned",
        "j.try_count",
        "j.trigger_count"
    ),
    " FROM expired AS e WHERE j.id = e.expired_id \
       RETURNING j.id, j.name, j.job_group, j.job_type, j.tenant_id, e.expired_node, \
         e.expired_at), \
     logged AS ( \
       INSERT INTO bgtasks_logs (job_id, job_name, job_group, job_type, message, run_time, \
         exception, tenant_id, node, duration_ms) \
       SELECT id, name, job_group, job_type, 'run interrupted; rescued to run again', \
         COALESCE($1::timestamptz, now()), \
         'the lease of node `' || expired_node || '` expired at ' \
           || to_char(expired_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"+00:00\"') \
           || ' before the run completed', \
         tenant_id, expired_node, 0 \
       FROM rescued) \
     SELECT id, expired_node, expired_at FROM rescued ORDER BY id"
);

/// Runs `attempt` again (after a short pause) while it fails with a deadlock or a
/// serialization failure, at most [`ATTEMPTS`] times in all. The statements retried are
/// single, fenced updates: a failed one changed nothing.
pub(crate) async fn retrying<T, F, Fut>(mut attempt: F) -> Result<T, sqlx::Error>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, sqlx::Error>>,
{
    let mut tries = 1;
    loop {
        match attempt().await {
            Err(sqlx::Error::Database(db))
                if tries < ATTEMPTS && db.code().is_some_and(|c| c == "40P01" || c == "40001") =>
            {
                tries += 1;
                tokio::time::sleep(Duration::from_millis(10 * u64::from(tries))).await;
            }
            other => return other,
        }
    }
}

/// How a give-back is bound: the mode of [`GIVE_BACK`] and its time.
fn give_back_mode(how: GiveBack) -> (i16, Option<DateTime<Utc>>) {
    match how {
        GiveBack::KeepSchedule => (0, None),
        GiveBack::RunAgain => (1, None),
        GiveBack::RunAt(at) => (2, Some(at)),
    }
}

/// What a give-back did: whether the lease was ended, and whether the job exists.
fn give_back_outcome(saved: bool, found: bool) -> CompletionOutcome {
    match (saved, found) {
        (true, _) => CompletionOutcome::Saved,
        (false, true) => CompletionOutcome::LeaseLost,
        (false, false) => CompletionOutcome::JobGone,
    }
}

/// What a renewal learned of one lease, from its row of [`RENEW`].
fn renew_outcome(renewed: bool, interrupt: Option<i16>, found: bool) -> RenewOutcome {
    match (renewed, interrupt) {
        (true, Some(30)) => RenewOutcome::Interrupt(Interruption::Stopped),
        (true, Some(_)) => RenewOutcome::Interrupt(Interruption::Paused),
        (true, None) => RenewOutcome::Renewed,
        (false, _) if found => RenewOutcome::LeaseLost,
        (false, _) => RenewOutcome::Interrupt(Interruption::Removed),
    }
}

impl PostgresJobStore {
    pub(crate) async fn renew_leases(
        &self,
        node: &str,
        leases: &[RunLease],
        lease: Duration,
        now: DateTime<Utc>,
    ) -> Result<Vec<RenewOutcome>, StoreError> {
        if leases.is_empty() {
            return Ok(Vec::new());
        }
        // The batch in id order; `order[k]` is the caller's position of the k-th lease.
        let mut order: Vec<usize> = (0..leases.len()).collect();
        order.sort_by(|&a, &b| leases[a].job_id.cmp(&leases[b].job_id));
        let ids: Vec<&str> = order.iter().map(|&i| leases[i].job_id.as_str()).collect();
        let tokens: Vec<i64> = order.iter().map(|&i| leases[i].token).collect();
        let fail = self.fail("renew leases");
        let rows = retrying(|| async {
            let mut tx = begin_keyed(&self.inner.pool).await?;
            let rows = sqlx::query(RENEW)
                .bind(&ids)
                .bind(&tokens)
                .bind(node)
                .bind(self.caller_now(now))
                .bind(lease_micros(lease))
                .fetch_all(&mut *tx)
                .await?;
            tx.commit().await?;
            Ok(rows)
        })
        .await
        .map_err(&fail)?;
        let mut outcomes = vec![RenewOutcome::LeaseLost; leases.len()];
        for row in &rows {
            let ord: i64 = row.try_get("ord").map_err(&fail)?;
            let outcome = renew_outcome(
                row.try_get("renewed").map_err(&fail)?,
                row.try_get("interrupt").map_err(&fail)?,
                row.try_get("found").map_err(&fail)?,
            );
            let caller = usize::try_from(ord)
                .ok()
                .and_then(|ord| order.get(ord.wrapping_sub(1)));
            if let Some(slot) = caller.and_then(|&i| outcomes.get_mut(i)) {
                *slot = outcome;
            }
        }
        Ok(outcomes)
    }

    pub(crate) async fn give_back_run(
        &self,
        lease: &RunLease,
        how: GiveBack,
    ) -> Result<CompletionOutcome, StoreError> {
        let (mode, at) = give_back_mode(how);
        let fail = self.fail("give a run back");
        let row = retrying(|| {
            sqlx::query(GIVE_BACK)
                .bind(&lease.job_id)
                .bind(lease.token)
                .bind(mode)
                .bind(at)
                .fetch_one(&self.inner.pool)
        })
        .await
        .map_err(&fail)?;
        Ok(give_back_outcome(
            row.try_get("saved").map_err(&fail)?,
            row.try_get("found").map_err(&fail)?,
        ))
    }

    pub(crate) async fn give_back_runs(
        &self,
        runs: &[(RunLease, GiveBack)],
    ) -> Result<Vec<CompletionOutcome>, StoreError> {
        if runs.is_empty() {
            return Ok(Vec::new());
        }
        // The batch in id order; `order[k]` is the caller's position of the k-th run.
        let mut order: Vec<usize> = (0..runs.len()).collect();
        order.sort_by(|&a, &b| runs[a].0.job_id.cmp(&runs[b].0.job_id));
        let ids: Vec<&str> = order.iter().map(|&i| runs[i].0.job_id.as_str()).collect();
        let tokens: Vec<i64> = order.iter().map(|&i| runs[i].0.token).collect();
        let (modes, times): (Vec<i16>, Vec<Option<DateTime<Utc>>>) =
            order.iter().map(|&i| give_back_mode(runs[i].1)).unzip();
        let fail = self.fail("give runs back");
        let rows = retrying(|| async {
            let mut tx = begin_keyed(&self.inner.pool).await?;
            let rows = sqlx::query(GIVE_BACK_MANY)
                .bind(&ids)
                .bind(&tokens)
                .bind(&modes)
                .bind(&times)
                .fetch_all(&mut *tx)
                .await?;
            tx.commit().await?;
            Ok(rows)
        })
        .await
        .map_err(&fail)?;
        let mut outcomes = vec![CompletionOutcome::LeaseLost; runs.len()];
        for row in &rows {
            let ord: i64 = row.try_get("ord").map_err(&fail)?;
            let outcome = give_back_outcome(
                row.try_get("saved").map_err(&fail)?,
                row.try_get("found").map_err(&fail)?,
            );
            let caller = usize::try_from(ord)
                .ok()
                .and_then(|ord| order.get(ord.wrapping_sub(1)));
            if let Some(slot) = caller.and_then(|&i| outcomes.get_mut(i)) {
                *slot = outcome;
            }
        }
        Ok(outcomes)
    }

    pub(crate) async fn rescue_expired(
        &self,
        now: DateTime<Utc>,
    ) -> Result<Vec<Rescued>, StoreError> {
        let fail = self.fail("rescue expired leases");
        let rows = sqlx::query(RESCUE)
            .bind(self.caller_now(now))
            .fetch_all(&self.inner.pool)
            .await
            .map_err(&fail)?;
        rows.iter()
            .map(|row| {
                Ok(Rescued {
                    job_id: row.try_get("id")?,
                    node: row.try_get("expired_node")?,
                    expired_at: row.try_get("expired_at")?,
                })
            })
            .collect::<Result<_, sqlx::Error>>()
            .map_err(fail)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renewal_outcomes() {
        assert_eq!(renew_outcome(true, None, true), RenewOutcome::Renewed);
        assert_eq!(
            renew_outcome(true, Some(20), true),
            RenewOutcome::Interrupt(Interruption::Paused)
        );
        assert_eq!(
            renew_outcome(true, Some(30), true),
            RenewOutcome::Interrupt(Interruption::Stopped)
        );
        assert_eq!(renew_outcome(false, None, true), RenewOutcome::LeaseLost);
        assert_eq!(
            renew_outcome(false, None, false),
            RenewOutcome::Interrupt(Interruption::Removed)
        );
    }
}
