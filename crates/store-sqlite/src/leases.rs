//! Keeping leases alive, and rescuing the runs of nodes that died.

use bgtasks_abstractions::RunLease;
use bgtasks_core::store::{JobLog, StoreError};
use chrono::{DateTime, Utc};
use serde_json::json;

use crate::errors::store_error;
use crate::rows::{INSERT_LOG, RowReader, bind_log, micros};
use crate::store::Inner;

/// Extends to `?2` the leases of `?1` (a JSON array of `[id, token]`) that node `?3`
/// holds; returns the ids it extended.
const RENEW: &str = "UPDATE bgtasks_jobs SET lease_expires_at = ?2 \
     FROM (SELECT value ->> 0 AS id, value ->> 1 AS token FROM jsonb_each(?1)) AS v \
     WHERE bgtasks_jobs.id = v.id AND bgtasks_jobs.lease_token = v.token \
       AND bgtasks_jobs.lease_node = ?3 \
     RETURNING bgtasks_jobs.id";

const EXPIRED: &str = "SELECT id, name, job_group, job_type, tenant_id, lease_node, \
     lease_expires_at FROM bgtasks_jobs \
     WHERE lease_token IS NOT NULL AND lease_expires_at < ? ORDER BY lease_expires_at, id";

/// Whether any lease expired before `?`: read first, so that a rescue with nothing to do
/// takes no write lock (every node runs one each rescue interval).
const ANY_EXPIRED: &str = "SELECT EXISTS (SELECT 1 FROM bgtasks_jobs \
     WHERE lease_token IS NOT NULL AND lease_expires_at < ?)";

/// Makes a run due again at the time it was due, without counting a try.
const RESCUE: &str = "UPDATE bgtasks_jobs SET next_run_time = lease_due_at, lease_token = NULL, \
     lease_node = NULL, lease_expires_at = NULL, lease_due_at = NULL WHERE id = ?";

pub(crate) async fn renew_leases(
    inner: &Inner,
    node: &str,
    leases: &[RunLease],
    until: DateTime<Utc>,
) -> Result<Vec<String>, StoreError> {
    if leases.is_empty() {
        return Ok(Vec::new());
    }
    let held: Vec<serde_json::Value> = leases
        .iter()
        .map(|lease| json!([lease.job_id, lease.token]))
        .collect();
    let _write = inner.write_gate().await;
    let renewed: Vec<String> = sqlx::query_scalar(RENEW)
        .bind(serde_json::Value::Array(held).to_string())
        .bind(micros(until))
        .bind(node.to_owned())
        .fetch_all(&inner.pool)
        .await
        .map_err(|e| store_error(&inner.db, "renew leases", e))?;
    Ok(leases
        .iter()
        .filter(|lease| !renewed.contains(&lease.job_id))
        .map(|lease| lease.job_id.clone())
        .collect())
}

pub(crate) async fn rescue_expired(
    inner: &Inner,
    now: DateTime<Utc>,
) -> Result<Vec<String>, StoreError> {
    let db = &inner.db;
    let failed = |e| store_error(db, "rescue expired leases", e);
    let any: bool = sqlx::query_scalar(ANY_EXPIRED)
        .bind(micros(now))
        .fetch_one(&inner.pool)
        .await
        .map_err(failed)?;
    if !any {
        return Ok(Vec::new());
    }
    let _write = inner.write_gate().await;
    let mut tx = inner
        .pool
        .begin_with("BEGIN IMMEDIATE")
        .await
        .map_err(failed)?;
    let rows = sqlx::query(EXPIRED)
        .bind(micros(now))
        .fetch_all(&mut *tx)
        .await
        .map_err(failed)?;
    let mut rescued = Vec::with_capacity(rows.len());
    for row in &rows {
        let reader = RowReader::new(row, db, "id");
        let id = reader.job_id().to_owned();
        sqlx::query(RESCUE)
            .bind(id.clone())
            .execute(&mut *tx)
            .await
            .map_err(failed)?;
        bind_log(sqlx::query(INSERT_LOG), &rescue_log(&reader, now))
            .execute(&mut *tx)
            .await
            .map_err(failed)?;
        rescued.push(id);
    }
    tx.commit().await.map_err(failed)?;
    if !rescued.is_empty() {
        inner.signal.notify();
    }
    Ok(rescued)
}

/// The log of an interrupted run, as the in-memory store writes it. A column that does
/// not decode does not stop the rescue: the log then says less.
fn rescue_log(reader: &RowReader<'_>, now: DateTime<Utc>) -> JobLog {
    let node = reader.text("lease_node").unwrap_or_default();
    let expired = reader
        .time("lease_expires_at")
        .map(|t| t.to_rfc3339())
        .unwrap_or_else(|_| "an unreadable time".to_owned());
    JobLog {
        job_id: reader.job_id().to_owned(),
        job_name: reader.text("name").unwrap_or_default(),
        job_group: reader.text("job_group").unwrap_or_default(),
        job_type: reader.text("job_type").unwrap_or_default(),
        message: "run interrupted; rescued to run again".to_owned(),
        run_time: now,
        exception: Some(format!(
            "the lease of node `{node}` expired at {expired} before the run completed"
        )),
        tenant_id: reader
            .opt_text("tenant_id")
            .ok()
            .flatten()
            .and_then(|t| uuid::Uuid::parse_str(&t).ok()),
        node,
        duration_ms: 0,
    }
}
