//! The in-memory action store.

use std::collections::HashMap;

use async_trait::async_trait;
use tokio::sync::RwLock;

use crate::action::JobAction;
use crate::store::{JobActionStore, JobActionStoreError};

/// Keeps actions in memory; they are lost when the process ends.
#[derive(Debug, Default)]
pub struct InMemoryJobActionStore {
    actions: RwLock<HashMap<String, Vec<JobAction>>>,
}

impl InMemoryJobActionStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }
}

#[async_trait]
impl JobActionStore for InMemoryJobActionStore {
    async fn get_actions(&self, job_id: &str) -> Result<Vec<JobAction>, JobActionStoreError> {
        Ok(self
            .actions
            .read()
            .await
            .get(job_id)
            .cloned()
            .unwrap_or_default())
    }

    async fn set_actions(
        &self,
        job_id: &str,
        actions: Vec<JobAction>,
    ) -> Result<(), JobActionStoreError> {
        let mut map = self.actions.write().await;
        if actions.is_empty() {
            map.remove(job_id);
        } else {
            map.insert(job_id.to_owned(), actions);
        }
        Ok(())
    }

    async fn remove_actions(&self, job_id: &str) -> Result<(), JobActionStoreError> {
        self.actions.write().await.remove(job_id);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;

    #[tokio::test]
    async fn keeps_actions_per_job() {
        // spec: R31
        let store: Arc<dyn JobActionStore> = Arc::new(InMemoryJobActionStore::new());
        assert!(store.get_actions("a").await.unwrap().is_empty());
        let actions = vec![
            JobAction::new("mail").with_parameter("to", "x@example.com"),
            JobAction::new("hook"),
        ];
        store.set_actions("a", actions.clone()).await.unwrap();
        assert_eq!(store.get_actions("a").await.unwrap(), actions);
        assert!(store.get_actions("b").await.unwrap().is_empty());
        store.remove_actions("a").await.unwrap();
        assert!(store.get_actions("a").await.unwrap().is_empty());
        store.remove_actions("never").await.unwrap();
    }
}
