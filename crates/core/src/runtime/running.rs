//! The runs in flight on this node.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock, PoisonError};

use bgtasks_abstractions::{Interruption, RunLease};
use tokio::time::Instant;
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
    /// When the last renewal that succeeded was sent (the claim, at first): the lease
    /// lasts at least its duration from then, on the store's clock (R45).
    renewed: Mutex<Instant>,
}

impl RunHandle {
    /// A handle for a run claimed by a call sent at `claimed`, not yet interrupted.
    pub(crate) fn new(lease: RunLease, claimed: Instant) -> Self {
        Self(Arc::new(RunShared {
            cancel: CancellationToken::new(),
            interruption: OnceLock::new(),
            lease,
            renewed: Mutex::new(claimed),
        }))
    }

    /// When the last successful renewal was sent.
    pub(crate) fn renewed_at(&self) -> Instant {
        *self
            .0
            .renewed
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    fn renewed(&self, sent: Instant) {
        let mut renewed = self
            .0
            .renewed
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        *renewed = (*renewed).max(sent);
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

    /// Records that the renewal of `token`'s lease sent at `sent` succeeded.
    pub(crate) fn renewed(&self, id: &str, token: i64, sent: Instant) {
        if let Some(handle) = self.lock().get(id).filter(|h| h.lease().token == token) {
            handle.renewed(sent);
        }
    }

    /// The runs not yet interrupted whose last successful renewal is `window` or more
    /// before `now`, and the earliest deadline (last renewal + `window`) of the others.
    pub(crate) fn overdue(
        &self,
        now: Instant,
        window: std::time::Duration,
    ) -> (Vec<RunHandle>, Option<Instant>) {
        let mut overdue = Vec::new();
        let mut next = None::<Instant>;
        for handle in self.lock().values() {
            if handle.interruption().is_some() {
                continue;
            }
            let deadline = handle.renewed_at() + window;
            if deadline <= now {
                overdue.push(handle.clone());
            } else {
                next = Some(next.map_or(deadline, |n| n.min(deadline)));
            }
        }
        (overdue, next)
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
