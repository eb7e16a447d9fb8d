//! The cleaning job (R29): removes old Completed jobs.

use std::sync::Weak;

use bgtasks_abstractions::{JobError, JobOptOuts, JobRunnable, JobRunnableContext};

use crate::runtime::RuntimeInner;

/// Removes Completed jobs whose last activity is older than the configured expiry.
pub struct JobCleaner {
    pub(crate) runtime: Weak<RuntimeInner>,
}

impl JobRunnable for JobCleaner {
    async fn execute(&self, context: &JobRunnableContext) -> Result<(), JobError> {
        let Some(inner) = self.runtime.upgrade() else {
            return Ok(());
        };
        let expiry = chrono::Duration::from_std(inner.options.cleaning.expiry)
            .unwrap_or(chrono::Duration::MAX);
        let expired_before = inner.clock.now() - expiry;
        let removed = inner
            .store
            .cleanup(None, expired_before, inner.options.cleaning.job.max_jobs)
            .await
            .map_err(|e| JobError::wrap("cleaning could not remove expired jobs", e))?;
        for job in &removed {
            inner.drop_cache(&job.id);
        }
        context.set_result(format!("removed {} expired jobs", removed.len()));
        Ok(())
    }

    fn opt_outs(&self) -> JobOptOuts {
        JobOptOuts::SYSTEM
    }
}
