//! The checking job (R29): Running jobs of this node that are scheduled nowhere become
//! Stopped.

use std::sync::Weak;

use bgtasks_abstractions::{JobError, JobOptOuts, JobRunnable, JobRunnableContext};

use crate::runtime::RuntimeInner;

/// Marks Stopped the Running jobs that may run on this node but have no next run time
/// and no run in flight on any node — so that they do not look alive. One store
/// transition: the conditions are checked per job inside it, not on a list read earlier
/// (R37).
pub struct JobStateChecker {
    pub(crate) runtime: Weak<RuntimeInner>,
}

impl JobRunnable for JobStateChecker {
    async fn execute(&self, context: &JobRunnableContext) -> Result<(), JobError> {
        let Some(inner) = self.runtime.upgrade() else {
            return Ok(());
        };
        let stopped = inner
            .store
            .stop_lost(inner.node(), inner.options.checking.max_jobs)
            .await
            .map_err(|e| JobError::wrap("checking could not stop lost jobs", e))?;
        for id in &stopped {
            tracing::warn!(job_id = %id, "job was Running but scheduled nowhere; marked Stopped");
        }
        context.set_result(format!("stopped {} lost jobs", stopped.len()));
        Ok(())
    }

    fn opt_outs(&self) -> JobOptOuts {
        JobOptOuts::SYSTEM
    }
}
