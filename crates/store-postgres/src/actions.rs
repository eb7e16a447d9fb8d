//! The action store (R31) in the same database: one JSONB array of actions per job id.

use async_trait::async_trait;
use bgtasks_actions::{JobAction, JobActionStore, JobActionStoreError};
use sqlx::PgPool;
use sqlx::types::Json;

use crate::errors::store_error;

/// Keeps each job's actions as a JSONB array in table `bgtasks_job_actions`, in the
/// order they were set. Get one from [`PostgresJobStore::action_store`].
///
/// [`PostgresJobStore::action_store`]: crate::PostgresJobStore::action_store
#[derive(Debug, Clone)]
pub struct PostgresJobActionStore {
    pool: PgPool,
    server: String,
}

impl PostgresJobActionStore {
    pub(crate) fn new(pool: PgPool, server: String) -> Self {
        Self { pool, server }
    }

    fn fail(
        &self,
        job_id: &str,
        operation: &'static str,
    ) -> impl Fn(sqlx::Error) -> JobActionStoreError + '_ {
        let job_id = job_id.to_owned();
        move |e| {
            let what = format!("{operation} the actions of job `{job_id}`");
            JobActionStoreError::backend(
                job_id.clone(),
                operation,
                store_error(&self.server, &what, e),
            )
        }
    }
}

#[async_trait]
impl JobActionStore for PostgresJobActionStore {
    async fn get_actions(&self, job_id: &str) -> Result<Vec<JobAction>, JobActionStoreError> {
        let actions: Option<Json<Vec<JobAction>>> =
            sqlx::query_scalar("SELECT actions FROM bgtasks_job_actions WHERE job_id = $1")
                .bind(job_id)
                .fetch_optional(&self.pool)
                .await
                .map_err(self.fail(job_id, "read"))?;
        Ok(actions.map(|Json(actions)| actions).unwrap_or_default())
    }

    async fn set_actions(
        &self,
        job_id: &str,
        actions: Vec<JobAction>,
    ) -> Result<(), JobActionStoreError> {
        sqlx::query(
            "INSERT INTO bgtasks_job_actions (job_id, actions) VALUES ($1, $2) \
             ON CONFLICT (job_id) DO UPDATE SET actions = EXCLUDED.actions",
        )
        .bind(job_id)
        .bind(Json(&actions))
        .execute(&self.pool)
        .await
        .map_err(self.fail(job_id, "write"))?;
        Ok(())
    }

    async fn remove_actions(&self, job_id: &str) -> Result<(), JobActionStoreError> {
        sqlx::query("DELETE FROM bgtasks_job_actions WHERE job_id = $1")
            .bind(job_id)
            .execute(&self.pool)
            .await
            .map_err(self.fail(job_id, "remove"))?;
        Ok(())
    }
}
