//! Run logs and the node registry in memory.

use std::collections::HashSet;

use bgtasks_abstractions::JobInfo;
use bgtasks_store::{
    JobLog, JobLogEntry, LogPage, LogQuery, NodeHeartbeat, NodeRecord, NodeRegistry, RunLogs,
    StoreError,
};
use chrono::{DateTime, Utc};

use super::InMemoryJobStore;

impl RunLogs for InMemoryJobStore {
    /// A run's log only while its run still holds the job (`rules::keeps_run_log`).
    async fn append_logs(&self, logs: &[JobLog]) -> Result<(), StoreError> {
        let max_logs = self.max_logs;
        let mut state = self.lock();
        for log in logs {
            state.add_run_log(log, max_logs);
        }
        Ok(())
    }

    async fn query_logs(&self, query: &LogQuery) -> Result<LogPage, StoreError> {
        let state = self.lock();
        let matching = state
            .logs
            .iter()
            .rev()
            .filter(|entry| query.matches(&entry.log));
        let mut total = 0u64;
        let mut items = Vec::new();
        for entry in matching {
            if total >= query.offset as u64 && items.len() < query.page_size() {
                items.push(entry.clone());
            }
            total += 1;
        }
        Ok(LogPage { items, total })
    }

    async fn find_log(&self, id: i64) -> Result<Option<JobLogEntry>, StoreError> {
        let state = self.lock();
        Ok(find(&state.logs, id).map(|at| state.logs[at].clone()))
    }

    async fn remove_log(&self, id: i64) -> Result<bool, StoreError> {
        let mut state = self.lock();
        Ok(find(&state.logs, id)
            .and_then(|at| state.logs.remove(at))
            .is_some())
    }
}

/// Where the log of `id` sits (logs are kept in id order).
fn find(logs: &std::collections::VecDeque<JobLogEntry>, id: i64) -> Option<usize> {
    logs.binary_search_by_key(&id, |entry| entry.id).ok()
}

impl NodeRegistry for InMemoryJobStore {
    async fn heartbeat(&self, beat: &NodeHeartbeat) -> Result<(), StoreError> {
        self.lock().nodes.insert(beat.node.clone(), beat.clone());
        Ok(())
    }

    async fn nodes(&self) -> Result<Vec<NodeRecord>, StoreError> {
        Ok(self
            .lock()
            .nodes
            .values()
            .map(|heartbeat| NodeRecord {
                heartbeat: heartbeat.clone(),
            })
            .collect())
    }

    async fn forget_node(&self, node: &str) -> Result<bool, StoreError> {
        Ok(self.lock().nodes.remove(node).is_some())
    }

    async fn orphaned(
        &self,
        now: DateTime<Utc>,
        live_since: DateTime<Utc>,
        max: usize,
    ) -> Result<Vec<JobInfo>, StoreError> {
        let state = self.lock();
        let known: HashSet<&str> = state
            .nodes
            .values()
            .filter(|beat| beat.at >= live_since)
            .flat_map(|beat| beat.job_types.iter().map(String::as_str))
            .collect();
        let mut orphaned: Vec<JobInfo> = state
            .jobs()
            .filter(|slot| {
                slot.is_claimable()
                    && slot.next_run_time.is_some_and(|due| due <= now)
                    && !known.contains(&**slot.job_type_key())
            })
            .map(super::slot::Slot::to_job)
            .collect();
        orphaned.sort_by(|a, b| a.next_run_time.cmp(&b.next_run_time).then(a.id.cmp(&b.id)));
        orphaned.truncate(max);
        Ok(orphaned)
    }
}
