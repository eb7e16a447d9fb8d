//! The polling job (R30): picks up waiting jobs another node or an outside writer put in
//! the store.

use std::collections::HashMap;
use std::sync::Weak;

use bgtasks_abstractions::{JobError, JobInfo, JobOptOuts, JobRunnable, JobRunnableContext};

use crate::runtime::RuntimeInner;

/// Gives waiting jobs of this node (or of no node) that have no next run time their
/// first fire time — one store transition, conditioned per job (R37) — and hands waiting
/// jobs pinned to other nodes to the dispatcher.
pub struct JobPoller {
    pub(crate) runtime: Weak<RuntimeInner>,
}

impl JobRunnable for JobPoller {
    async fn execute(&self, context: &JobRunnableContext) -> Result<(), JobError> {
        let Some(inner) = self.runtime.upgrade() else {
            return Ok(());
        };
        let max = inner.options.polling.max_jobs;
        let published = inner
            .store
            .publish_waiting(inner.node(), inner.clock.now(), max)
            .await
            .map_err(|e| JobError::wrap("polling could not publish waiting jobs", e))?;
        if !published.is_empty() {
            inner.wake.notify_one();
        }
        let waiting = inner
            .store
            .list_waiting(max)
            .await
            .map_err(|e| JobError::wrap("polling could not list waiting jobs", e))?;
        let mut elsewhere: HashMap<String, Vec<JobInfo>> = HashMap::new();
        for job in waiting {
            if let Some(node) = job.node_name.clone().filter(|n| n != inner.node()) {
                elsewhere.entry(node).or_default().push(job);
            }
        }
        for (node, jobs) in elsewhere {
            inner.dispatcher.dispatch(&node, jobs).await.map_err(|e| {
                JobError::new(format!("dispatching jobs to node `{node}` failed: {e}"))
            })?;
        }
        context.set_result(format!("published {} waiting jobs", published.len()));
        Ok(())
    }

    fn opt_outs(&self) -> JobOptOuts {
        JobOptOuts::SYSTEM
    }
}
