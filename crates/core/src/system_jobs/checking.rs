//! The checking job (R29): Running jobs of this node that the scheduler lost become
//! Stopped.

use std::sync::Weak;

use async_trait::async_trait;
use bgtasks_abstractions::{JobError, JobOptOuts, JobRunnable, JobRunnableContext, JobStatus};

use crate::runtime::RuntimeInner;

/// Finds Running jobs of this node that the scheduler no longer has (no next run time
/// and not running here) and marks them Stopped, so that they do not look alive.
pub struct JobStateChecker {
    pub(crate) runtime: Weak<RuntimeInner>,
}

#[async_trait]
impl JobRunnable for JobStateChecker {
    async fn execute(&self, context: &JobRunnableContext) -> Result<(), JobError> {
        let Some(inner) = self.runtime.upgrade() else {
            return Ok(());
        };
        let running = inner
            .store
            .list_running(inner.node(), inner.options.checking.max_jobs)
            .await
            .map_err(|e| JobError::wrap("checking could not list running jobs", e))?;
        let mut stopped = 0;
        for mut job in running {
            let exists = inner.exists(&job.id).await.map_err(|e| {
                JobError::wrap(format!("checking could not look up job `{}`", job.id), e)
            })?;
            if !exists {
                job.status = JobStatus::Stopped;
                job.next_run_time = None;
                inner.store.store(&job).await.map_err(|e| {
                    JobError::wrap(format!("checking could not stop job `{}`", job.id), e)
                })?;
                tracing::warn!(job_id = %job.id, "job was Running but no longer scheduled; marked Stopped");
                stopped += 1;
            }
        }
        context.set_result(format!("stopped {stopped} lost jobs"));
        Ok(())
    }

    fn opt_outs(&self) -> JobOptOuts {
        JobOptOuts::SYSTEM
    }
}
