//! The polling job (R30): picks up waiting jobs another node or an outside writer put in
//! the store.

use std::collections::HashMap;
use std::sync::Weak;

use async_trait::async_trait;
use bgtasks_abstractions::{
    JobError, JobInfo, JobOptOuts, JobRunnable, JobRunnableContext, first_fire_time,
};

use crate::runtime::RuntimeInner;

/// Publishes waiting jobs of this node (or of no node) to this node's schedule — giving a
/// next run time to those that have none — and hands jobs pinned to other nodes to the
/// dispatcher.
pub struct JobPoller {
    pub(crate) runtime: Weak<RuntimeInner>,
}

#[async_trait]
impl JobRunnable for JobPoller {
    async fn execute(&self, context: &JobRunnableContext) -> Result<(), JobError> {
        let Some(inner) = self.runtime.upgrade() else {
            return Ok(());
        };
        let waiting = inner
            .store
            .list_waiting(inner.options.polling.max_jobs)
            .await
            .map_err(|e| JobError::wrap("polling could not list waiting jobs", e))?;
        let now = inner.clock.now();
        let mut published = 0;
        let mut elsewhere: HashMap<String, Vec<JobInfo>> = HashMap::new();
        for mut job in waiting {
            if !job.runs_on(inner.node()) {
                let node = job.node_name.clone().unwrap_or_default();
                elsewhere.entry(node).or_default().push(job);
                continue;
            }
            if job.next_run_time.is_none() {
                job.next_run_time = first_fire_time(&job, None, now);
                inner.store.store(&job).await.map_err(|e| {
                    JobError::wrap(format!("polling could not schedule job `{}`", job.id), e)
                })?;
                published += 1;
            }
        }
        if published > 0 {
            inner.wake.notify_one();
        }
        for (node, jobs) in elsewhere {
            inner.dispatcher.dispatch(&node, jobs).await.map_err(|e| {
                JobError::new(format!("dispatching jobs to node `{node}` failed: {e}"))
            })?;
        }
        context.set_result(format!("published {published} waiting jobs"));
        Ok(())
    }

    fn opt_outs(&self) -> JobOptOuts {
        JobOptOuts::SYSTEM
    }
}
