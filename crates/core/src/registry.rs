//! The job types this node can run.

use bgtasks_abstractions::DynJobRunnable;
use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;

/// Maps job type names to the runnables that run them.
#[derive(Clone, Default)]
pub struct JobRunnableRegistry {
    runnables: HashMap<String, Arc<dyn DynJobRunnable>>,
}

impl JobRunnableRegistry {
    /// An empty registry.
    pub fn new() -> Self {
        Self::default()
    }

    /// Registers `runnable` for `job_type`, replacing any earlier one.
    pub fn register(&mut self, job_type: impl Into<String>, runnable: Arc<dyn DynJobRunnable>) {
        self.runnables.insert(job_type.into(), runnable);
    }

    /// The runnable for `job_type`.
    pub fn get(&self, job_type: &str) -> Option<&Arc<dyn DynJobRunnable>> {
        self.runnables.get(job_type)
    }

    /// Whether `job_type` is registered.
    pub fn contains(&self, job_type: &str) -> bool {
        self.runnables.contains_key(job_type)
    }

    /// The registered type names, sorted.
    pub fn job_types(&self) -> Vec<&str> {
        let mut names: Vec<&str> = self.runnables.keys().map(String::as_str).collect();
        names.sort_unstable();
        names
    }
}

impl fmt::Debug for JobRunnableRegistry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.job_types()).finish()
    }
}
