//! The runs this node has claimed and not yet started, between the claim loop and the
//! workers.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, MutexGuard, PoisonError};

use tokio::sync::Notify;

use super::running::RunHandle;
use crate::store::ClaimedRun;

/// A claimed run and its handle (registered in the runs in flight when it was claimed).
#[derive(Debug)]
pub(crate) struct QueuedRun {
    pub(crate) run: ClaimedRun,
    pub(crate) handle: RunHandle,
}

/// Claimed runs waiting for a worker. The claim loop keeps the runs in flight up to
/// `workers + prefetch` (so workers go from one run to the next without waiting for a
/// claim), and refills it when fewer than `workers` runs are in flight.
#[derive(Debug)]
pub(crate) struct LocalQueue {
    runs: Mutex<VecDeque<QueuedRun>>,
    running: AtomicUsize,
    workers: usize,
    capacity: usize,
    /// Fired for each run pushed: wakes one idle worker.
    pub(crate) available: Notify,
    /// Fired when the runs in flight drop below the worker count: wakes the claim loop.
    pub(crate) space: Notify,
}

impl LocalQueue {
    /// A queue for `workers` workers holding up to `prefetch` runs beyond the running ones.
    pub(crate) fn new(workers: usize, prefetch: usize) -> Self {
        Self {
            runs: Mutex::new(VecDeque::with_capacity(workers + prefetch)),
            running: AtomicUsize::new(0),
            workers,
            capacity: workers + prefetch.max(1),
            available: Notify::new(),
            space: Notify::new(),
        }
    }

    fn lock(&self) -> MutexGuard<'_, VecDeque<QueuedRun>> {
        self.runs.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// How many more runs the claim loop should fetch now (0 while at least `workers`
    /// runs are in flight).
    pub(crate) fn wanted(&self) -> usize {
        let in_flight = self.lock().len() + self.running.load(Ordering::Acquire);
        if in_flight >= self.workers {
            0
        } else {
            self.capacity - in_flight
        }
    }

    pub(crate) fn push_all(&self, runs: Vec<QueuedRun>) {
        let count = runs.len();
        self.lock().extend(runs);
        for _ in 0..count {
            self.available.notify_one();
        }
    }

    /// Takes the next run and counts it as running.
    pub(crate) fn start_next(&self) -> Option<QueuedRun> {
        let run = self.lock().pop_front()?;
        self.running.fetch_add(1, Ordering::AcqRel);
        Some(run)
    }

    /// Counts a run as finished; wakes the claim loop when there is room.
    pub(crate) fn finish(&self) {
        let before = self.running.fetch_sub(1, Ordering::AcqRel);
        let queued = self.lock().len();
        if queued + before.saturating_sub(1) < self.workers {
            self.space.notify_one();
        }
    }

    /// Takes every run not yet started.
    pub(crate) fn drain(&self) -> Vec<QueuedRun> {
        self.lock().drain(..).collect()
    }
}
