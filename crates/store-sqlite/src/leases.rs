//! Keeping leases alive (and telling a node which of its runs to interrupt), and
//! rescuing the runs of nodes that died.

use std::collections::HashMap;
use std::time::Duration;

use bgtasks_abstractions::{Interruption, RunLease};
use bgtasks_store::{JobLog, RenewOutcome, Rescued, StoreError};
use chrono::{DateTime, Utc};
use serde_json::json;
use sqlx::Row;

use crate::completion::end_lease;
use crate::logs::{INSERT_LOGS, log_values};
use crate::rows::{RowReader, after, interruption_of, micros, stored};
use crate::store::Inner;

/// Extends to `?2` the leases of `?1` (a JSON array of `[id, token]`) that node `?3`
/// holds; returns each one extended, with the interruption asked of its run (a paused or
/// stopped run's lease is extended too, so that its node can give it back).
const RENEW: &str = "UPDATE bgtasks_jobs SET lease_expires_at = ?2 \
     FROM (SELECT value ->> 0 AS id, value ->> 1 AS token FROM jsonb_each(?1)) AS v \
     WHERE bgtasks_jobs.id = v.id AND bgtasks_jobs.lease_token = v.token \
       AND bgtasks_jobs.lease_node = ?3 \
     RETURNING bgtasks_jobs.id, bgtasks_jobs.lease_token, bgtasks_jobs.interrupt";

/// Which of the ids of `?1` (a JSON array) exist.
const EXISTING: &str = "SELECT id FROM bgtasks_jobs WHERE id IN (SELECT value FROM json_each(?1))";

/// Whether any lease expired before `?`: read first, so that a rescue with nothing to do
/// takes no write lock (every node runs one each rescue interval).
const ANY_EXPIRED: &str = "SELECT EXISTS (SELECT 1 FROM bgtasks_jobs \
     WHERE lease_token IS NOT NULL AND lease_expires_at < ?)";

/// The runs whose lease expired before `?`, with what their logs name.
const EXPIRED: &str = "SELECT id, name, job_group, job_type, tenant_id, lease_node, \
     lease_expires_at FROM bgtasks_jobs \
     WHERE lease_token IS NOT NULL AND lease_expires_at < ? ORDER BY id";

/// Rescues the runs of the jobs of `?1` (a JSON array of ids) whose lease expired before
/// `?2` (`rules::rescue`): due again at the time they were due, without counting a try
/// (unless Stopped), one more rescue in a row counted (R43); a trigger during the run
/// makes a job active again.
const RESCUE: &str = concat!(
    "UPDATE bgtasks_jobs SET ",
    end_lease!(),
    ", rescues = MIN(rescues + 1, 2147483647), \
       next_run_time = CASE WHEN o_triggered <> 0 THEN lease_due_at \
         WHEN e_status = 30 THEN NULL ELSE lease_due_at END \
     FROM (SELECT id AS e_id, triggered AS o_triggered, status AS e_status, \
             is_abandoned AS e_abandoned, try_count AS e_tries, trigger_count AS e_triggers \
           FROM bgtasks_jobs WHERE id IN (SELECT value FROM json_each(?1))) \
     WHERE id = e_id AND lease_token IS NOT NULL AND lease_expires_at < ?2"
);

/// Extends the leases `node` holds until `now + lease`; one outcome per lease, in order.
pub(crate) async fn renew(
    inner: &Inner,
    node: &str,
    leases: &[RunLease],
    lease: Duration,
    now: DateTime<Utc>,
) -> Result<Vec<RenewOutcome>, StoreError> {
    if leases.is_empty() {
        return Ok(Vec::new());
    }
    let failed = inner.failed("renew leases");
    let held: Vec<serde_json::Value> = leases
        .iter()
        .map(|lease| json!([lease.job_id, lease.token]))
        .collect();
    let (_turn, mut tx) = inner.begin_write("renew leases").await?;
    let rows = sqlx::query(RENEW)
        .bind(serde_json::Value::Array(held).to_string())
        .bind(micros(stored(after(now, lease))))
        .bind(node.to_owned())
        .fetch_all(&mut *tx)
        .await
        .map_err(&failed)?;
    let mut renewed: HashMap<(String, i64), RenewOutcome> = HashMap::with_capacity(rows.len());
    for row in &rows {
        let id: String = row.try_get(0).map_err(&failed)?;
        let token: i64 = row.try_get(1).map_err(&failed)?;
        let interrupt: Option<i64> = row.try_get(2).map_err(&failed)?;
        let outcome = match interrupt {
            None => RenewOutcome::Renewed,
            // A code that is no interruption still asks the run to stop.
            Some(code) => {
                RenewOutcome::Interrupt(interruption_of(code).unwrap_or(Interruption::Stopped))
            }
        };
        renewed.insert((id, token), outcome);
    }
    let missing: Vec<&str> = leases
        .iter()
        .filter(|l| !renewed.contains_key(&(l.job_id.clone(), l.token)))
        .map(|l| l.job_id.as_str())
        .collect();
    let existing: Vec<String> = if missing.is_empty() {
        Vec::new()
    } else {
        sqlx::query_scalar(EXISTING)
            .bind(json!(missing).to_string())
            .fetch_all(&mut *tx)
            .await
            .map_err(&failed)?
    };
    tx.commit().await.map_err(&failed)?;
    Ok(leases
        .iter()
        .map(|lease| {
            renewed
                .get(&(lease.job_id.clone(), lease.token))
                .copied()
                .unwrap_or_else(|| {
                    if existing.contains(&lease.job_id) {
                        RenewOutcome::LeaseLost
                    } else {
                        RenewOutcome::Interrupt(Interruption::Removed)
                    }
                })
        })
        .collect())
}

/// Makes the runs whose lease expired before `now` due again, logs each interruption
/// naming the node, and returns them — in one transaction.
pub(crate) async fn rescue(inner: &Inner, now: DateTime<Utc>) -> Result<Vec<Rescued>, StoreError> {
    let db = &inner.db;
    let failed = inner.failed("rescue expired leases");
    let any: bool = sqlx::query_scalar(ANY_EXPIRED)
        .bind(micros(now))
        .fetch_one(&inner.pool)
        .await
        .map_err(&failed)?;
    if !any {
        return Ok(Vec::new());
    }
    let (_turn, mut tx) = inner.begin_write("rescue expired leases").await?;
    let rows = sqlx::query(EXPIRED)
        .bind(micros(now))
        .fetch_all(&mut *tx)
        .await
        .map_err(&failed)?;
    if rows.is_empty() {
        tx.rollback().await.map_err(&failed)?;
        return Ok(Vec::new());
    }
    let mut rescued = Vec::with_capacity(rows.len());
    let mut logs = Vec::with_capacity(rows.len());
    for row in &rows {
        let reader = RowReader::new(row, db, "id");
        let (run, log) = rescue_record(&reader, now);
        rescued.push(run);
        logs.push(log_values(&log));
    }
    let ids: Vec<&str> = rescued.iter().map(|r| r.job_id.as_str()).collect();
    sqlx::query(RESCUE)
        .bind(json!(ids).to_string())
        .bind(micros(now))
        .execute(&mut *tx)
        .await
        .map_err(&failed)?;
    sqlx::query(INSERT_LOGS)
        .bind(serde_json::Value::Array(logs).to_string())
        .execute(&mut *tx)
        .await
        .map_err(&failed)?;
    tx.commit().await.map_err(&failed)?;
    inner.signals.due.notify();
    Ok(rescued)
}

/// The rescue of one run, and the log of its interruption, as the in-memory store writes
/// it. A column that does not decode does not stop the rescue: the log then says less.
fn rescue_record(reader: &RowReader<'_>, now: DateTime<Utc>) -> (Rescued, JobLog) {
    let node = reader.text("lease_node").unwrap_or_default();
    let expired_at = reader.time("lease_expires_at").ok();
    let expired = expired_at.map_or_else(|| "an unreadable time".to_owned(), |t| t.to_rfc3339());
    let log = JobLog {
        job_id: reader.job_id().to_owned(),
        job_name: reader.text("name").unwrap_or_default(),
        job_group: reader.text("job_group").unwrap_or_default(),
        job_type: reader.text("job_type").unwrap_or_default(),
        message: "run interrupted; rescued to run again".to_owned(),
        run_time: now,
        exception: Some(format!(
            "the lease of node `{node}` expired at {expired} before the run completed"
        )),
        // Interrupted before its end: an error text, but no failure type.
        exception_type: None,
        tenant_id: reader.tenant("tenant_id").ok().flatten(),
        node: node.clone(),
        duration_ms: 0,
        lease_token: None,
    };
    let run = Rescued {
        job_id: reader.job_id().to_owned(),
        node,
        expired_at: expired_at.unwrap_or(now),
    };
    (run, log)
}
