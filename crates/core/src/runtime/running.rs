//! The runs in flight on this node.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock, PoisonError};

use bgtasks_abstractions::{Interruption, RunLease};
use tokio_util::sync::CancellationToken;

/// A run in flight: how to interrupt it, and its lease.
#[derive(Debug, Clone)]
pub(crate) struct RunHandle {
    pub(crate) cancel: CancellationToken,
    pub(crate) interruption: Arc<OnceLock<Interruption>>,
    pub(crate) lease: RunLease,
}

impl RunHandle {
    /// A handle for a claimed run, not yet interrupted.
    pub(crate) fn new(lease: RunLease) -> Self {
        Self {
            cancel: CancellationToken::new(),
            interruption: Arc::new(OnceLock::new()),
            lease,
        }
    }

    pub(crate) fn interrupt(&self, why: Interruption) {
        let _ = self.interruption.set(why);
        self.cancel.cancel();
    }
}

/// The runs in flight, by job id.
#[derive(Debug, Default)]
pub(crate) struct RunningRuns {
    runs: Mutex<HashMap<String, RunHandle>>,
}

impl RunningRuns {
    pub(crate) fn insert(&self, id: String, handle: RunHandle) {
        self.lock().insert(id, handle);
    }

    pub(crate) fn remove(&self, id: &str, token: i64) {
        let mut runs = self.lock();
        if runs.get(id).is_some_and(|h| h.lease.token == token) {
            runs.remove(id);
        }
    }

    /// The handle of the run of `id` with this lease token.
    pub(crate) fn get(&self, id: &str, token: i64) -> Option<RunHandle> {
        self.lock()
            .get(id)
            .filter(|h| h.lease.token == token)
            .cloned()
    }

    /// Why the run of `id` with this lease token was interrupted, if it was.
    pub(crate) fn interruption_of(&self, id: &str, token: i64) -> Option<Interruption> {
        self.lock()
            .get(id)
            .filter(|h| h.lease.token == token)
            .and_then(|h| h.interruption.get().copied())
    }

    pub(crate) fn contains(&self, id: &str) -> bool {
        self.lock().contains_key(id)
    }

    /// Interrupts the run of `id`, if any; `true` if there was one.
    pub(crate) fn interrupt(&self, id: &str, why: Interruption) -> bool {
        match self.lock().get(id) {
            Some(handle) => {
                handle.interrupt(why);
                true
            }
            None => false,
        }
    }

    /// Interrupts the run of `id` holding the lease `token`, if it is still in flight;
    /// `true` if it was.
    pub(crate) fn interrupt_run(&self, id: &str, token: i64, why: Interruption) -> bool {
        match self.lock().get(id).filter(|h| h.lease.token == token) {
            Some(handle) => {
                handle.interrupt(why);
                true
            }
            None => false,
        }
    }

    pub(crate) fn interrupt_all(&self, why: Interruption) {
        for handle in self.lock().values() {
            handle.interrupt(why);
        }
    }

    pub(crate) fn leases(&self) -> Vec<RunLease> {
        self.lock().values().map(|h| h.lease.clone()).collect()
    }

    pub(crate) fn len(&self) -> usize {
        self.lock().len()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, RunHandle>> {
        self.runs.lock().unwrap_or_else(PoisonError::into_inner)
    }
}
