//! [`NodeRegistry`] on SQLite: the nodes sharing the file in `bgtasks_nodes`, and the due
//! jobs no live node can run (R41).

use bgtasks_abstractions::JobInfo;
use bgtasks_store::{NodeHeartbeat, NodeRecord, NodeRegistry, StoreError};
use chrono::{DateTime, Utc};
use serde_json::json;
use sqlx::Row;
use sqlx::sqlite::SqliteRow;

use crate::errors::other;
use crate::rows::{decode_job, job_columns, limit, micros};
use crate::store::SqliteJobStore;

/// Records a node's heartbeat, replacing its previous one.
const HEARTBEAT: &str = "INSERT INTO bgtasks_nodes \
     (node, job_types, started_at, heartbeat_at, running, info) VALUES (?1, ?2, ?3, ?4, ?5, ?6) \
     ON CONFLICT (node) DO UPDATE SET job_types = ?2, started_at = ?3, heartbeat_at = ?4, \
       running = ?5, info = ?6";

const NODES: &str = "SELECT node, job_types, started_at, heartbeat_at, running, info \
     FROM bgtasks_nodes ORDER BY node";

/// Claimable jobs due by `?1` whose type no node live since `?2` has registered;
/// earliest due first, at most `?3`.
const ORPHANED: &str = concat!(
    "SELECT ",
    job_columns!(),
    " FROM bgtasks_jobs INDEXED BY bgtasks_jobs_due \
      WHERE lease_token IS NULL AND is_abandoned = 0 AND status IN (5, 10, 15) \
      AND next_run_time IS NOT NULL AND next_run_time <= ?1 \
      AND job_type NOT IN (SELECT t.value FROM bgtasks_nodes AS n, json_each(n.job_types) AS t \
                           WHERE n.heartbeat_at >= ?2) \
      ORDER BY next_run_time, id LIMIT ?3"
);

/// A node of a row of [`NODES`]; errors name the node and the column.
fn node_record(row: &SqliteRow, db: &str) -> Result<NodeRecord, StoreError> {
    let node: String = row
        .try_get("node")
        .map_err(|e| other(format!("a node in `{db}` has an unreadable name: {e}")))?;
    let bad = |column: &str, error: &dyn std::fmt::Display| {
        other(format!(
            "the SQLite job store `{db}` holds an invalid record of node `{node}`: column `{column}`: {error}"
        ))
    };
    let text = |column: &str| {
        row.try_get::<String, _>(column)
            .map_err(|e| bad(column, &e))
    };
    let time = |column: &str| {
        let micros: i64 = row.try_get(column).map_err(|e| bad(column, &e))?;
        DateTime::from_timestamp_micros(micros)
            .ok_or_else(|| bad(column, &format!("{micros} µs is not a valid time")))
    };
    let running: i64 = row.try_get("running").map_err(|e| bad("running", &e))?;
    let heartbeat = NodeHeartbeat {
        job_types: serde_json::from_str(&text("job_types")?).map_err(|e| bad("job_types", &e))?,
        started_at: time("started_at")?,
        at: time("heartbeat_at")?,
        running: u32::try_from(running).unwrap_or(u32::MAX),
        info: serde_json::from_str(&text("info")?).map_err(|e| bad("info", &e))?,
        node: node.clone(),
    };
    Ok(NodeRecord { heartbeat })
}

impl NodeRegistry for SqliteJobStore {
    async fn heartbeat(&self, beat: &NodeHeartbeat) -> Result<(), StoreError> {
        let inner = &self.inner;
        let info = serde_json::to_string(&beat.info).map_err(|e| {
            other(format!(
                "the heartbeat info of node `{}` does not serialize: {e}",
                beat.node
            ))
        })?;
        let operation = format!("record the heartbeat of node `{}`", beat.node);
        let _turn = inner.write_gate(&operation).await?;
        sqlx::query(HEARTBEAT)
            .bind(beat.node.clone())
            .bind(json!(beat.job_types).to_string())
            .bind(micros(beat.started_at))
            .bind(micros(beat.at))
            .bind(i64::from(beat.running))
            .bind(info)
            .execute(&inner.pool)
            .await
            .map_err(inner.failed(&operation))?;
        Ok(())
    }

    async fn nodes(&self) -> Result<Vec<NodeRecord>, StoreError> {
        let inner = &self.inner;
        let rows = sqlx::query(NODES)
            .fetch_all(&inner.pool)
            .await
            .map_err(inner.failed("list nodes"))?;
        rows.iter().map(|row| node_record(row, &inner.db)).collect()
    }

    async fn forget_node(&self, node: &str) -> Result<bool, StoreError> {
        let inner = &self.inner;
        let operation = format!("forget node `{node}`");
        let _turn = inner.write_gate(&operation).await?;
        let done = sqlx::query("DELETE FROM bgtasks_nodes WHERE node = ?")
            .bind(node.to_owned())
            .execute(&inner.pool)
            .await
            .map_err(inner.failed(&operation))?;
        Ok(done.rows_affected() > 0)
    }

    async fn orphaned(
        &self,
        now: DateTime<Utc>,
        live_since: DateTime<Utc>,
        max: usize,
    ) -> Result<Vec<JobInfo>, StoreError> {
        let inner = &self.inner;
        let rows = sqlx::query(ORPHANED)
            .bind(micros(now))
            .bind(micros(live_since))
            .bind(limit(max))
            .fetch_all(&inner.pool)
            .await
            .map_err(inner.failed("list jobs no live node can run"))?;
        rows.iter().map(|row| decode_job(row, &inner.db)).collect()
    }
}
