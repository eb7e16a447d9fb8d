//! The runs in flight on this node.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock, PoisonError};

use bgtasks_abstractions::{Interruption, RunLease};
use tokio_util::sync::CancellationToken;

/// A run in flight: how to interrupt it, and its lease. Cheap to clone (one shared
/// allocation per run).
#[derive(Debug, Clone)]
pub(crate) struct RunHandle(Arc<RunShared>);

#[derive(Debug)]
struct RunShared {
    cancel: CancellationToken,
    interruption: OnceLock<Interruption>,
    lease: RunLease,
}

impl RunHandle {
    /// A handle for a claimed run, not yet interrupted.
    pub(crate) fn new(lease: RunLease) -> Self {
        Self(Arc::new(RunShared {
            cancel: CancellationToken::new(),
            interruption: OnceLock::new(),
            lease,
        }))
    }

    /// Fires when the run is interrupted.
    pub(crate) fn cancel(&self) -> &CancellationToken {
        &self.0.cancel
    }

    /// Why the run was interrupted, if it was.
    pub(crate) fn interruption(&self) -> Option<Interruption> {
        self.0.interruption.get().copied()
    }

    /// The run's lease.
    pub(crate) fn lease(&self) -> &RunLease {
        &self.0.lease
    }

    pub(crate) fn interrupt(&self, why: Interruption) {
        let _ = self.0.interruption.set(why);
        self.0.cancel.cancel();
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
        if runs.get(id).is_some_and(|h| h.lease().token == token) {
            runs.remove(id);
        }
    }

    /// Interrupts the run of `id` holding the lease `token`, if it is still in flight;
    /// `true` if it was.
    pub(crate) fn interrupt_run(&self, id: &str, token: i64, why: Interruption) -> bool {
        match self.lock().get(id).filter(|h| h.lease().token == token) {
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
        self.lock().values().map(|h| h.lease().clone()).collect()
    }

    pub(crate) fn len(&self) -> usize {
        self.lock().len()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, RunHandle>> {
        self.runs.lock().unwrap_or_else(PoisonError::into_inner)
    }
}
