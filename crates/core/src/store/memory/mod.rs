//! The in-memory job store: the default, for one process (or several runtimes in one
//! process sharing it). Its contract is the one every store keeps (`bgtasks-store`),
//! checked by the conformance suite.

mod definitions;
mod index;
mod logs;
mod outbox;
mod runs;
mod slot;
mod state;
mod statistics;

use std::sync::{Mutex, MutexGuard, PoisonError};

use bgtasks_abstractions::JobInfo;

use self::index::DueIndex;
use self::slot::Slot;
use self::state::State;

/// How many run logs the in-memory store keeps by default (oldest dropped first).
pub const DEFAULT_MAX_LOGS: usize = 10_000;

/// A job store in memory. Claims pop from due-time indexes (one per pinned node and job
/// type) under one lock; leases, fencing tokens (unique for the store's lifetime) and
/// every transition work as in the durable stores, so several runtimes in one process
/// can share one store. Nothing survives the process.
///
/// Jobs are kept in a compact form (a few hundred bytes for a job that sets no
/// arguments, description or node): texts that jobs share, such as the group, the job
/// type and the cron expression with its parsed schedule, are stored once.
pub struct InMemoryJobStore {
    state: Mutex<State>,
    max_logs: usize,
}

impl Default for InMemoryJobStore {
    fn default() -> Self {
        Self::new()
    }
}

impl std::fmt::Debug for InMemoryJobStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let state = self.lock();
        f.debug_struct("InMemoryJobStore")
            .field("jobs", &state.ids.len())
            .field("leased", &state.leased.len())
            .field("logs", &state.logs.len())
            .finish()
    }
}

impl InMemoryJobStore {
    /// An empty store keeping at most [`DEFAULT_MAX_LOGS`] run logs.
    pub fn new() -> Self {
        Self::with_max_logs(DEFAULT_MAX_LOGS)
    }

    /// An empty store keeping at most `max_logs` run logs.
    pub fn with_max_logs(max_logs: usize) -> Self {
        Self {
            state: Mutex::new(State::default()),
            max_logs,
        }
    }

    /// How many jobs the store holds.
    pub fn len(&self) -> usize {
        self.lock().ids.len()
    }

    /// Whether the store holds no job.
    pub fn is_empty(&self) -> bool {
        self.lock().ids.is_empty()
    }

    /// Every job, in no particular order (for tests and tools).
    pub fn all_jobs(&self) -> Vec<JobInfo> {
        self.lock().jobs().map(Slot::to_job).collect()
    }

    /// How many index entries (current or stale) the store holds; for tests of its upkeep.
    pub fn index_len(&self) -> usize {
        self.lock().indexes.values().map(DueIndex::len).sum()
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

#[cfg(test)]
mod tests;
