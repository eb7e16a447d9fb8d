//! The claim loop: sleeps until the next due time or a wake-up, claims due runs in
//! batches into the local queue, and the workers: long-lived tasks that take runs from
//! the queue one after the other.

use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::time::Duration;

use futures_util::FutureExt;
use tracing::Instrument;

use bgtasks_abstractions::{BackgroundTasksOptions, RunLease};

use super::health::NodeLoop;
use super::local_queue::{ADAPTIVE_MAX, QueuedRun};
use super::running::RunHandle;
use super::{RunState, RuntimeInner, worker};
use crate::clock::until;
use crate::store::{ClaimRequest, ClaimedRun, GiveBack, RunWriter};

/// The longest the loop sleeps without re-reading the next due time when the store
/// signals new work itself.
const SIGNALLED_MAX_SLEEP: Duration = Duration::from_secs(60);
/// The longest it sleeps when the store cannot signal.
const UNSIGNALLED_MAX_SLEEP: Duration = Duration::from_secs(1);
/// Back-off bounds when the store fails.
const BACKOFF_MIN: Duration = Duration::from_millis(100);
const BACKOFF_MAX: Duration = Duration::from_secs(10);
/// Back-off bounds while a run is due but cannot be claimed (another transaction holds
/// its row, or it was just given back): the loop looks again soon, but does not spin.
const BUSY_MIN: Duration = Duration::from_millis(1);
const BUSY_MAX: Duration = Duration::from_millis(250);

/// How long a loop pauses after one of its iterations panicked.
pub(super) const PANIC_BACKOFF: Duration = Duration::from_secs(1);

/// The claim loop's state between iterations.
struct ClaimLoop {
    state: tokio::sync::watch::Receiver<RunState>,
    backoff: Duration,
    busy: Duration,
    max_sleep: Duration,
}

/// What the claim loop does after an iteration.
enum Flow {
    Continue,
    Stop,
}

/// The claim loop: one supervised iteration after another (a panic in one is logged and
/// survived, R42), until the runtime shuts down.
pub(super) async fn claim(inner: Arc<RuntimeInner>) {
    let mut claims = ClaimLoop {
        state: inner.state.subscribe(),
        backoff: BACKOFF_MIN,
        busy: BUSY_MIN,
        max_sleep: if inner.store_signal.is_some() {
            SIGNALLED_MAX_SLEEP
        } else {
            UNSIGNALLED_MAX_SLEEP
        },
    };
    loop {
        let iteration = claims.iterate(&inner);
        let flow = inner
            .health
            .supervise(NodeLoop::ClaimLoop, inner.node(), PANIC_BACKOFF, iteration)
            .await;
        if let Some(Flow::Stop) = flow {
            return;
        }
    }
}

impl ClaimLoop {
    async fn iterate(&mut self, inner: &RuntimeInner) -> Flow {
        inner
            .health
            .iterated(NodeLoop::ClaimLoop, inner.clock.now());
        let current = *self.state.borrow_and_update();
        match current {
            RunState::ShuttingDown => return Flow::Stop,
            RunState::Stopped => {
                if self.state.changed().await.is_err() {
                    return Flow::Stop;
                }
                return Flow::Continue;
            }
            RunState::Started => {}
        }
        let wanted = inner.queue.wanted();
        if wanted == 0 {
            tokio::select! {
                _ = inner.queue.space.notified() => {}
                _ = self.state.changed() => {}
            }
            return Flow::Continue;
        }
        let claimed = claim_into_queue(inner, wanted).await;
        inner.health.store_answered(&claimed, inner.clock.now());
        let count = match claimed {
            Ok(count) => count,
            Err(error) => {
                tracing::warn!(node = inner.node(), %error, retry_in_ms = self.backoff.as_millis() as u64,
                    "could not claim due runs; backing off");
                sleep_or_state(&mut self.state, self.backoff).await;
                self.backoff = (self.backoff * 2).min(BACKOFF_MAX);
                return Flow::Continue;
            }
        };
        self.backoff = BACKOFF_MIN;
        if count == wanted {
            // There may be more due.
            return Flow::Continue;
        }
        let next_due = match inner
            .store
            .next_due_time(inner.node(), Some(&inner.job_types))
            .await
        {
            Ok(next) => next,
            Err(error) => {
                tracing::warn!(node = inner.node(), %error, "could not read the next due time; backing off");
                Some(crate::clock::saturating_add(
                    inner.clock.now(),
                    self.backoff,
                ))
            }
        };
        let mut sleep_for = next_due.map_or(self.max_sleep, |at| {
            until(inner.clock.now(), at).min(self.max_sleep)
        });
        if sleep_for.is_zero() {
            if count > 0 {
                self.busy = BUSY_MIN;
                return Flow::Continue;
            }
            // Due but not claimable right now (its row is locked by another transaction,
            // or it was just given back): look again soon, backing off, never spinning.
            sleep_for = self.busy;
            self.busy = (self.busy * 2).min(BUSY_MAX);
        } else {
            self.busy = BUSY_MIN;
        }
        let store_signal = async {
            match &inner.store_signal {
                Some(signal) => signal.notified().await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            _ = tokio::time::sleep(sleep_for) => {}
            _ = inner.wake.notified() => {}
            _ = store_signal => {}
            _ = self.state.changed() => {}
        }
        Flow::Continue
    }
}

/// Claims up to `wanted` runs of the job types this node runs and hands them to the
/// workers, holding the claim lock so that stop and shutdown wait for a claim in flight;
/// runs claimed while the node stopped are given back at once (R47).
async fn claim_into_queue(
    inner: &RuntimeInner,
    wanted: usize,
) -> Result<usize, crate::store::StoreError> {
    let _claim = inner.claiming.lock().await;
    if *inner.state.borrow() != RunState::Started {
        return Ok(0);
    }
    let request = ClaimRequest {
        node: inner.node(),
        now: inner.clock.now(),
        limit: wanted,
        lease: inner.options.lease_duration,
        job_types: Some(&inner.job_types),
    };
    let sent = tokio::time::Instant::now();
    let claimed = inner.store.claim(&request).await?;
    let count = claimed.len();
    crate::metrics::claim_batch(count);
    if *inner.state.borrow() != RunState::Started {
        let unstarted = claimed
            .into_iter()
            .map(|run| (run.lease, GiveBack::RunAgain))
            .collect::<Vec<_>>();
        give_back_unstarted(inner, &unstarted).await;
        return Ok(0);
    }
    if count > 0 {
        enqueue(inner, claimed, sent);
    }
    Ok(count)
}

/// Registers runs claimed by a call sent at `sent` (so that they can be paused, removed
/// and renewed before they start) and hands them to the workers.
fn enqueue(inner: &RuntimeInner, runs: Vec<ClaimedRun>, sent: tokio::time::Instant) {
    let queued = runs
        .into_iter()
        .map(|run| {
            let handle = RunHandle::new(run.lease.clone(), sent);
            inner.running.insert(run.job.id.clone(), handle.clone());
            QueuedRun { run, handle }
        })
        .collect();
    inner.queue.push_all(queued);
}

/// A worker: runs queued runs one after the other; waits when there is none; ends when
/// the runtime shuts down and the queue is empty. Once a runnable returns, the rest of
/// its run (after-listeners, saving the outcome) goes on in a task of its own, so that
/// the worker takes the next run while a store that
/// [prefers batched writes](crate::store::JobRuns::prefers_batched_writes) writes the
/// outcomes of many runs together (at most [`completing_bound`] runs wait for their
/// outcome at once). On other stores the worker completes the run itself.
pub(super) async fn work(inner: Arc<RuntimeInner>) {
    let mut state = inner.state.subscribe();
    loop {
        if let Some(queued) = inner.queue.start_next() {
            let job_id = queued.run.job.id.clone();
            let trace = crate::trace::RunTrace::start(inner.node(), &queued.run);
            let executed = AssertUnwindSafe(worker::execute(&inner, queued))
                .catch_unwind()
                .instrument(trace.span().clone())
                .await;
            match executed {
                Ok(Some(executed)) if !inner.writer.is_batching() => {
                    // Nothing to gather: the store writes each outcome at once.
                    let completed = AssertUnwindSafe(worker::complete(&inner, executed))
                        .catch_unwind()
                        .instrument(trace.span().clone())
                        .await;
                    if let Err(panic) = completed {
                        runtime_panicked(&inner, &job_id, panic.as_ref());
                    }
                }
                Ok(Some(executed)) => complete_aside(&inner, executed, trace).await,
                Ok(None) => {}
                Err(panic) => runtime_panicked(&inner, &job_id, panic.as_ref()),
            }
            inner.queue.finish();
            continue;
        }
        if *state.borrow_and_update() == RunState::ShuttingDown {
            return;
        }
        tokio::select! {
            _ = inner.queue.available.notified() => {}
            _ = state.changed() => {}
        }
    }
}

/// Completes an executed run in a task of its own, once fewer than the bound of runs are
/// completing (the semaphore is never closed).
async fn complete_aside(
    inner: &Arc<RuntimeInner>,
    executed: worker::Executed,
    trace: crate::trace::RunTrace,
) {
    let Ok(permit) = inner.completing.clone().acquire_owned().await else {
        return;
    };
    let runtime = inner.clone();
    inner.workers.spawn(async move {
        let job_id = executed.job_id().to_owned();
        let completed = AssertUnwindSafe(worker::complete(&runtime, executed))
            .catch_unwind()
            .instrument(trace.span().clone())
            .await;
        drop(trace);
        if let Err(panic) = completed {
            runtime_panicked(&runtime, &job_id, panic.as_ref());
        }
        drop(permit);
    });
}

fn runtime_panicked(inner: &RuntimeInner, job_id: &str, panic: &(dyn std::any::Any + Send)) {
    tracing::error!(node = inner.node(), job_id = %job_id,
        panic = crate::panic_message(panic), "a run failed inside the runtime; the worker goes on");
}

/// Gives back every claimed run that has not started, due again at its original time.
pub(super) async fn give_back_queued(inner: &RuntimeInner) {
    let queued = inner.queue.drain();
    let mut unstarted = Vec::with_capacity(queued.len());
    for QueuedRun { run, .. } in queued {
        inner.running.remove(&run.job.id, run.lease.token);
        unstarted.push((run.lease, GiveBack::RunAgain));
    }
    give_back_unstarted(inner, &unstarted).await;
}

/// Gives back runs that did not start, due again at their original time, in one store
/// call (one transaction on a durable store).
async fn give_back_unstarted(inner: &RuntimeInner, runs: &[(RunLease, GiveBack)]) {
    if runs.is_empty() {
        return;
    }
    if let Err(error) = inner.store.give_back_many(runs).await {
        let job_ids: Vec<&str> = runs
            .iter()
            .map(|(lease, _)| lease.job_id.as_str())
            .collect();
        tracing::warn!(?job_ids, %error, "could not give back claimed runs; their leases will expire");
    }
}

/// How many executed runs may wait for their outcome to be saved at once: as many as
/// the local queue holds at most (`workers + prefetch`, the adaptive prefetch's ceiling
/// when it adapts), and at least two of the run writer's batches, so that one batch is
/// written while the next one gathers.
pub(super) fn completing_bound(options: &BackgroundTasksOptions) -> usize {
    let prefetch = options.prefetch.unwrap_or(ADAPTIVE_MAX).max(1);
    (options.workers + prefetch).max(2 * RunWriter::MAX_BATCH)
}

async fn sleep_or_state(state: &mut tokio::sync::watch::Receiver<RunState>, duration: Duration) {
    tokio::select! {
        _ = tokio::time::sleep(duration) => {}
        _ = state.changed() => {}
    }
}
