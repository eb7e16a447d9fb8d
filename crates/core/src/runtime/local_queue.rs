//! The runs this node has claimed and not yet started, between the claim loop and the
//! workers, and how many of them it keeps: a fixed prefetch, or one sized from the rate at
//! which the workers take runs.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use tokio::sync::Notify;

use super::running::RunHandle;
use crate::store::ClaimedRun;

/// A claimed run and its handle (registered in the runs in flight when it was claimed).
#[derive(Debug)]
pub(crate) struct QueuedRun {
    pub(crate) run: ClaimedRun,
    pub(crate) handle: RunHandle,
}

/// The most runs an adaptive prefetch holds beyond the running ones. On PostgreSQL,
/// claims of several hundred rows at once drained no faster than claims of up to 256 and
/// often slower (docs/benchmarks.md, "Before and after"); 256 is also the best fixed
/// setting measured on SQLite.
pub(crate) const ADAPTIVE_MAX: usize = 256;
/// How much work an adaptive prefetch holds: the runs the workers start in this long, at
/// the rate they started them lately.
const ADAPTIVE_HORIZON: Duration = Duration::from_millis(100);
/// The shortest window a start rate is measured over (shorter ones are too noisy).
const RATE_WINDOW_MIN: Duration = Duration::from_millis(5);
/// The longest window a start rate is measured over: an older one reflects an idle spell,
/// not the pace of the work now.
const RATE_WINDOW_MAX: Duration = Duration::from_secs(1);

/// Claimed runs waiting for a worker. The claim loop keeps the runs in flight up to
/// `workers + prefetch`, and tops the queue up as soon as fewer than half the prefetch
/// wait, so that the workers go from one run to the next while the next claim is made.
///
/// The prefetch is fixed (`BackgroundTasksOptions::prefetch`), or adaptive (the default):
/// as many runs as the workers start in 100 ms at their recent rate, at least `workers`
/// and at most 256. Short runs then come in large claims (one store round trip for
/// hundreds of runs), while a node whose runs take seconds holds no more than its
/// workers' worth, leaving the rest to other nodes.
#[derive(Debug)]
pub(crate) struct LocalQueue {
    runs: Mutex<VecDeque<QueuedRun>>,
    running: AtomicUsize,
    workers: usize,
    /// Runs held beyond the running ones, now.
    prefetch: AtomicUsize,
    /// How the prefetch is sized.
    sizing: Sizing,
    /// Runs started since the queue was made.
    started: AtomicU64,
    /// Fired for each run pushed: wakes one idle worker.
    pub(crate) available: Notify,
    /// Fired when the queue runs low: wakes the claim loop.
    pub(crate) space: Notify,
}

/// How the prefetch is sized.
#[derive(Debug)]
enum Sizing {
    Fixed,
    /// From the start rate; the mark is the last (instant, runs started) it was measured at.
    Adaptive(Mutex<Option<(Instant, u64)>>),
}

impl LocalQueue {
    /// A queue for `workers` workers holding `prefetch` runs beyond the running ones, or,
    /// for `None`, a prefetch sized from the observed rate.
    pub(crate) fn new(workers: usize, prefetch: Option<usize>) -> Self {
        let (initial, sizing) = match prefetch {
            Some(fixed) => (fixed.max(1), Sizing::Fixed),
            None => (workers.max(1), Sizing::Adaptive(Mutex::new(None))),
        };
        Self {
            runs: Mutex::new(VecDeque::with_capacity(workers + initial)),
            running: AtomicUsize::new(0),
            workers,
            prefetch: AtomicUsize::new(initial),
            sizing,
            started: AtomicU64::new(0),
            available: Notify::new(),
            space: Notify::new(),
        }
    }

    fn lock(&self) -> MutexGuard<'_, VecDeque<QueuedRun>> {
        self.runs.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The runs held beyond the running ones, now.
    pub(crate) fn prefetch(&self) -> usize {
        self.prefetch.load(Ordering::Relaxed)
    }

    /// Whether the queue has run low: fewer runs in flight than `workers` plus half the
    /// prefetch (for a prefetch of 1: than `workers`).
    fn low(&self, in_flight: usize) -> bool {
        in_flight < self.workers + self.prefetch() / 2
    }

    /// How many more runs the claim loop should fetch now: 0 while the queue is not low,
    /// else enough to fill it. An adaptive prefetch is sized again first.
    pub(crate) fn wanted(&self) -> usize {
        self.resize(Instant::now());
        let in_flight = self.lock().len() + self.running.load(Ordering::Acquire);
        if self.low(in_flight) {
            (self.workers + self.prefetch()).saturating_sub(in_flight)
        } else {
            0
        }
    }

    /// Sizes an adaptive prefetch from the runs started since the last measurement: grows
    /// at once, shrinks by at most half per measurement.
    fn resize(&self, now: Instant) {
        let Sizing::Adaptive(mark) = &self.sizing else {
            return;
        };
        let started = self.started.load(Ordering::Relaxed);
        let mut mark = mark.lock().unwrap_or_else(PoisonError::into_inner);
        let Some((at, before)) = *mark else {
            *mark = Some((now, started));
            return;
        };
        let window = now.saturating_duration_since(at);
        if window < RATE_WINDOW_MIN {
            return;
        }
        *mark = Some((now, started));
        if window > RATE_WINDOW_MAX {
            return;
        }
        let rate = started.saturating_sub(before) as f64 / window.as_secs_f64();
        let wanted = (rate * ADAPTIVE_HORIZON.as_secs_f64()) as usize;
        let current = self.prefetch();
        let sized = wanted
            .max(current / 2)
            .clamp(self.workers.max(1), ADAPTIVE_MAX.max(self.workers));
        self.prefetch.store(sized, Ordering::Relaxed);
    }

    pub(crate) fn push_all(&self, runs: Vec<QueuedRun>) {
        let count = runs.len();
        self.lock().extend(runs);
        for _ in 0..count {
            self.available.notify_one();
        }
    }

    /// Takes the next run and counts it as running; wakes the claim loop when the queue
    /// runs low.
    pub(crate) fn start_next(&self) -> Option<QueuedRun> {
        let (run, queued) = {
            let mut runs = self.lock();
            let run = runs.pop_front()?;
            (run, runs.len())
        };
        let running = self.running.fetch_add(1, Ordering::AcqRel) + 1;
        self.started.fetch_add(1, Ordering::Relaxed);
        if self.low(queued + running) {
            self.space.notify_one();
        }
        Some(run)
    }

    /// Counts a run as finished; wakes the claim loop when the queue runs low.
    pub(crate) fn finish(&self) {
        let before = self.running.fetch_sub(1, Ordering::AcqRel);
        let queued = self.lock().len();
        if self.low(queued + before.saturating_sub(1)) {
            self.space.notify_one();
        }
    }

    /// Takes every run not yet started.
    pub(crate) fn drain(&self) -> Vec<QueuedRun> {
        self.lock().drain(..).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_fixed_prefetch_tops_up_at_half() {
        let queue = LocalQueue::new(4, Some(8));
        assert_eq!(queue.wanted(), 12, "empty: fill workers + prefetch");
        queue.running.store(4, Ordering::Relaxed);
        assert_eq!(queue.wanted(), 8, "only the running ones: low");
        queue.running.store(8, Ordering::Relaxed);
        assert_eq!(queue.wanted(), 0, "workers + half the prefetch: not low");
        queue.running.store(7, Ordering::Relaxed);
        assert_eq!(queue.wanted(), 5);
        assert_eq!(queue.prefetch(), 8);
    }

    #[test]
    fn a_prefetch_of_one_waits_for_a_free_worker() {
        let queue = LocalQueue::new(4, Some(0));
        queue.running.store(4, Ordering::Relaxed);
        assert_eq!(queue.wanted(), 0);
        queue.running.store(3, Ordering::Relaxed);
        assert_eq!(queue.wanted(), 2);
    }

    #[test]
    fn an_adaptive_prefetch_follows_the_start_rate() {
        let queue = LocalQueue::new(16, None);
        assert_eq!(queue.prefetch(), 16, "starts at the worker count");
        let t0 = Instant::now();
        queue.resize(t0);
        // 5,000 runs started in 50 ms: 100,000 a second, 10,000 in 100 ms; capped.
        queue.started.store(5_000, Ordering::Relaxed);
        queue.resize(t0 + Duration::from_millis(50));
        assert_eq!(queue.prefetch(), ADAPTIVE_MAX);
        // Then 3 runs in 100 ms: it shrinks by half per measurement, down to the workers.
        let mut at = t0 + Duration::from_millis(50);
        let mut sizes = Vec::new();
        for i in 1..=8 {
            at += Duration::from_millis(100);
            queue.started.store(5_000 + 3 * i, Ordering::Relaxed);
            queue.resize(at);
            sizes.push(queue.prefetch());
        }
        assert_eq!(sizes, [128, 64, 32, 16, 16, 16, 16, 16]);
        // 1,000 a second: 100 runs in 100 ms.
        at += Duration::from_millis(100);
        queue.started.store(5_024 + 100, Ordering::Relaxed);
        queue.resize(at);
        assert_eq!(queue.prefetch(), 100);
    }

    #[test]
    fn an_idle_spell_is_not_a_rate() {
        let queue = LocalQueue::new(16, None);
        let t0 = Instant::now();
        queue.resize(t0);
        queue.started.store(10, Ordering::Relaxed);
        queue.resize(t0 + Duration::from_secs(30));
        assert_eq!(queue.prefetch(), 16, "a window past a second is skipped");
        queue.started.store(10 + 2_000, Ordering::Relaxed);
        queue.resize(t0 + Duration::from_secs(30) + Duration::from_millis(100));
        assert_eq!(queue.prefetch(), ADAPTIVE_MAX, "2,000 in 100 ms: capped");
        queue.started.store(10 + 2_000 + 1, Ordering::Relaxed);
        queue.resize(t0 + Duration::from_secs(30) + Duration::from_millis(101));
        assert_eq!(queue.prefetch(), 256, "a window under 5 ms is not measured");
    }
}
