//! The per-job action store (R31) in the same database: one row per job, its actions as
//! a JSON array.

use std::fmt;
use std::sync::Arc;

use async_trait::async_trait;
use bgtasks_actions::{JobAction, JobActionStore, JobActionStoreError};
use sqlx::SqlitePool;

use crate::gate::WriteGate;

/// The actions of each job, kept in `bgtasks_job_actions` beside the jobs. Get one from
/// [`SqliteJobStore::action_store`](crate::SqliteJobStore::action_store).
#[derive(Clone)]
pub struct SqliteJobActionStore {
    pool: SqlitePool,
    db: Arc<str>,
    writes: WriteGate,
}

impl fmt::Debug for SqliteJobActionStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SqliteJobActionStore")
            .field("db", &self.db)
            .finish_non_exhaustive()
    }
}

impl SqliteJobActionStore {
    pub(crate) fn new(pool: SqlitePool, db: Arc<str>, writes: WriteGate) -> Self {
        Self { pool, db, writes }
    }

    fn error(
        &self,
        job_id: &str,
        operation: &'static str,
        error: impl fmt::Display,
    ) -> JobActionStoreError {
        JobActionStoreError::backend(job_id, operation, format!("`{}`: {error}", self.db))
    }
}

#[async_trait]
impl JobActionStore for SqliteJobActionStore {
    async fn get_actions(&self, job_id: &str) -> Result<Vec<JobAction>, JobActionStoreError> {
        let text: Option<String> =
            sqlx::query_scalar("SELECT actions FROM bgtasks_job_actions WHERE job_id = ?")
                .bind(job_id.to_owned())
                .fetch_optional(&self.pool)
                .await
                .map_err(|e| self.error(job_id, "read", e))?;
        match text {
            None => Ok(Vec::new()),
            Some(text) => serde_json::from_str(&text).map_err(|e| {
                self.error(
                    job_id,
                    "read",
                    format!("the stored actions are not a JSON array of actions: {e}"),
                )
            }),
        }
    }

    async fn set_actions(
        &self,
        job_id: &str,
        actions: Vec<JobAction>,
    ) -> Result<(), JobActionStoreError> {
        let text = serde_json::to_string(&actions).map_err(|e| self.error(job_id, "write", e))?;
        let _write = self.writes.enter().await;
        sqlx::query(
            "INSERT INTO bgtasks_job_actions (job_id, actions) VALUES (?1, ?2) \
             ON CONFLICT (job_id) DO UPDATE SET actions = ?2",
        )
        .bind(job_id.to_owned())
        .bind(text)
        .execute(&self.pool)
        .await
        .map_err(|e| self.error(job_id, "write", e))?;
        Ok(())
    }

    async fn remove_actions(&self, job_id: &str) -> Result<(), JobActionStoreError> {
        let _write = self.writes.enter().await;
        sqlx::query("DELETE FROM bgtasks_job_actions WHERE job_id = ?")
            .bind(job_id.to_owned())
            .execute(&self.pool)
            .await
            .map_err(|e| self.error(job_id, "remove", e))?;
        Ok(())
    }
}
