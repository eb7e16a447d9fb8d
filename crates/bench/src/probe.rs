//! What every workload's job does: count itself, and wake the harness on the last one.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

use tokio::sync::{Notify, mpsc};

/// Counts finished no-op jobs and wakes a waiter when the expected number is reached.
#[derive(Debug)]
pub(crate) struct Counter {
    done: AtomicUsize,
    expected: usize,
    all_done: Notify,
}

impl Counter {
    /// A counter that wakes [`wait`](Self::wait) after `expected` hits.
    pub(crate) fn new(expected: usize) -> Self {
        Self {
            done: AtomicUsize::new(0),
            expected,
            all_done: Notify::new(),
        }
    }

    /// Counts one job.
    pub(crate) fn hit(&self) {
        if self.done.fetch_add(1, Ordering::AcqRel) + 1 == self.expected {
            self.all_done.notify_one();
        }
    }

    /// How many jobs were counted.
    pub(crate) fn count(&self) -> usize {
        self.done.load(Ordering::Acquire)
    }

    /// Waits until every expected job was counted.
    pub(crate) async fn wait(&self) {
        while self.count() < self.expected {
            let notified = self.all_done.notified();
            if self.count() >= self.expected {
                return;
            }
            notified.await;
        }
    }
}

/// Tells the latency harness when a job started and when it returned.
#[derive(Debug, Clone)]
pub(crate) struct StartSignal {
    started: mpsc::UnboundedSender<Instant>,
    finished: mpsc::UnboundedSender<()>,
}

/// The receiving end of a [`StartSignal`].
#[derive(Debug)]
pub(crate) struct StartWatch {
    started: mpsc::UnboundedReceiver<Instant>,
    finished: mpsc::UnboundedReceiver<()>,
}

/// A connected signal and watch.
pub(crate) fn start_signal() -> (StartSignal, StartWatch) {
    let (started_tx, started) = mpsc::unbounded_channel();
    let (finished_tx, finished) = mpsc::unbounded_channel();
    (
        StartSignal {
            started: started_tx,
            finished: finished_tx,
        },
        StartWatch { started, finished },
    )
}

impl StartSignal {
    /// Called first thing in the job.
    pub(crate) fn started(&self) {
        let _ = self.started.send(Instant::now());
    }

    /// Called last thing in the job.
    pub(crate) fn finished(&self) {
        let _ = self.finished.send(());
    }
}

impl StartWatch {
    /// The start instant of the next job, if one starts within `limit`.
    pub(crate) async fn next_start(&mut self, limit: std::time::Duration) -> Option<Instant> {
        tokio::time::timeout(limit, self.started.recv())
            .await
            .ok()
            .flatten()
    }

    /// Waits (up to `limit`) until the job that started last returned.
    pub(crate) async fn next_finish(&mut self, limit: std::time::Duration) {
        let _ = tokio::time::timeout(limit, self.finished.recv()).await;
    }
}
