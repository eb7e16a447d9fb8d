//! The node registry (R41): one row per node in `bgtasks_nodes`, its job types as a JSON
//! array, and the due jobs whose type no live node has registered.

use bgtasks_abstractions::JobInfo;
use bgtasks_store::{NodeHeartbeat, NodeRecord, StoreError};
use chrono::{DateTime, Utc};
use sqlx::Row;
use sqlx::postgres::PgRow;
use sqlx::types::Json;

use crate::rows::{job_columns, jobs_from_rows, limit};
use crate::store::PostgresJobStore;

const HEARTBEAT: &str = "INSERT INTO bgtasks_nodes \
       (node, job_types, started_at, heartbeat_at, running, info) \
     VALUES ($1, $2, $3, $4, $5, $6) \
     ON CONFLICT (node) DO UPDATE SET job_types = EXCLUDED.job_types, \
       started_at = EXCLUDED.started_at, heartbeat_at = EXCLUDED.heartbeat_at, \
       running = EXCLUDED.running, info = EXCLUDED.info";

const NODES: &str = "SELECT node, job_types, started_at, heartbeat_at, running, info \
     FROM bgtasks_nodes ORDER BY node COLLATE \"C\"";

const FORGET: &str = "DELETE FROM bgtasks_nodes WHERE node = $1";

/// Claimable jobs due by the caller's (`$1`) or the database's now whose type is in the
/// job types of no node with a heartbeat at or after `$2`; earliest due first, at most
/// `$3`.
const ORPHANED: &str = concat!(
    "SELECT ",
    job_columns!(),
    " FROM bgtasks_jobs AS j \
     WHERE lease_node IS NULL AND NOT is_abandoned AND status IN (5, 10, 15) \
       AND next_run_time IS NOT NULL AND next_run_time <= COALESCE($1::timestamptz, now()) \
       AND NOT EXISTS (SELECT 1 FROM bgtasks_nodes AS n \
         WHERE n.heartbeat_at >= $2 AND n.job_types ? j.job_type) \
     ORDER BY next_run_time, id COLLATE \"C\" \
     LIMIT $3"
);

/// Decodes a node from a row of [`NODES`], naming the node and column when it does not.
fn node_from_row(row: &PgRow) -> Result<NodeRecord, StoreError> {
    let node: String = row
        .try_get("node")
        .map_err(|e| corrupt("<unknown>", "node", e))?;
    let get = |column: &'static str| corrupt_column(&node, column);
    let Json(job_types): Json<Vec<String>> = row.try_get("job_types").map_err(get("job_types"))?;
    let running: i64 = row.try_get("running").map_err(get("running"))?;
    let Json(info): Json<serde_json::Value> = row.try_get("info").map_err(get("info"))?;
    Ok(NodeRecord {
        heartbeat: NodeHeartbeat {
            job_types,
            started_at: row.try_get("started_at").map_err(get("started_at"))?,
            at: row.try_get("heartbeat_at").map_err(get("heartbeat_at"))?,
            running: u32::try_from(running).unwrap_or(u32::MAX),
            info,
            node,
        },
    })
}

/// A node row that does not decode.
fn corrupt(node: &str, column: &str, reason: impl std::fmt::Display) -> StoreError {
    StoreError::Corrupt {
        job: format!("<node {node}>"),
        message: format!("table `bgtasks_nodes`, column `{column}`: {reason}"),
    }
}

fn corrupt_column<'a>(
    node: &'a str,
    column: &'static str,
) -> impl Fn(sqlx::Error) -> StoreError + 'a {
    move |e| corrupt(node, column, e)
}

impl PostgresJobStore {
    pub(crate) async fn record_heartbeat(&self, beat: &NodeHeartbeat) -> Result<(), StoreError> {
        sqlx::query(HEARTBEAT)
            .bind(&beat.node)
            .bind(Json(&beat.job_types))
            .bind(beat.started_at)
            .bind(beat.at)
            .bind(i64::from(beat.running))
            .bind(Json(&beat.info))
            .execute(&self.inner.pool)
            .await
            .map_err(self.fail("record a node's heartbeat"))?;
        Ok(())
    }

    pub(crate) async fn node_records(&self) -> Result<Vec<NodeRecord>, StoreError> {
        let rows = sqlx::query(NODES)
            .fetch_all(&self.inner.pool)
            .await
            .map_err(self.fail("list the nodes"))?;
        rows.iter().map(node_from_row).collect()
    }

    pub(crate) async fn forget(&self, node: &str) -> Result<bool, StoreError> {
        let done = sqlx::query(FORGET)
            .bind(node)
            .execute(&self.inner.pool)
            .await
            .map_err(self.fail("forget a node"))?;
        Ok(done.rows_affected() == 1)
    }

    pub(crate) async fn orphaned_jobs(
        &self,
        now: DateTime<Utc>,
        live_since: DateTime<Utc>,
        max: usize,
    ) -> Result<Vec<JobInfo>, StoreError> {
        let rows = sqlx::query(ORPHANED)
            .bind(self.caller_now(now))
            .bind(live_since)
            .bind(limit(max))
            .fetch_all(&self.inner.pool)
            .await
            .map_err(self.fail("list jobs no live node can run"))?;
        jobs_from_rows(&rows)
    }
}
