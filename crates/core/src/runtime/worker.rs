//! One run in two halves: [`execute`] (the lock, the before-listeners, the runnable,
//! guarded against panics and bounded on interruption) on a worker, then [`complete`]
//! (the after-listeners, saving the outcome, giving the lease back) off it.

use bgtasks_abstractions::DynJobRunnable;
use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::time::Duration;

use bgtasks_abstractions::{
    Interruption, JobError, JobEventContext, JobEventData, JobKind, JobRunnableContext, RunLease,
    codes,
};
use futures_util::FutureExt;
use futures_util::future::BoxFuture;
use tokio_util::sync::CancellationToken;

use super::local_queue::QueuedRun;
use super::middleware::{Endpoint, ErasedMiddleware, Next};
use super::{RunReport, RuntimeInner};
use crate::store::{ClaimedRun, GiveBack};

/// How a runnable's execution ended.
enum Execution {
    /// It returned (or panicked, turned into an error).
    Returned(Result<(), JobError>),
    /// It was interrupted and did not return within the interrupt grace.
    Dropped,
}

/// A run whose runnable has returned (or was dropped), waiting for its after-listeners,
/// its saved state and its lease to be given back. The worker that ran it hands it to
/// [`complete`] in a task of its own and goes on to the next run.
pub(super) struct Executed {
    data: JobEventData,
    lease: RunLease,
    locked: bool,
    has_listeners: bool,
}

impl Executed {
    /// The job id.
    pub(super) fn job_id(&self) -> &str {
        &self.lease.job_id
    }
}

/// Starts a claimed run: takes its lock, tells the before-listeners, and runs the
/// runnable. `None` when the run did not happen (interrupted while queued, or its lock
/// is held elsewhere); its lease has then been given back.
pub(super) async fn execute(inner: &Arc<RuntimeInner>, queued: QueuedRun) -> Option<Executed> {
    let QueuedRun { run, handle } = queued;
    if let Some(why) = handle.interruption() {
        give_back(inner, &run.lease, Some(why), false).await;
        inner.running.remove(&run.job.id, run.lease.token);
        return None;
    }
    let ClaimedRun {
        job,
        lease,
        rescues,
        ..
    } = run;
    let run_time = inner.clock.now();
    let runnable = inner.registry.get(&job.job_type).cloned();
    let cancel = handle.cancel().clone();
    let time_limit = job
        .time_limit
        .and_then(|secs| u64::try_from(secs).ok())
        .map(Duration::from_secs)
        .or_else(|| runnable.as_ref().and_then(|r| r.time_limit()));
    let crashed = inner.options.max_rescues > 0
        && u32::try_from(rescues).unwrap_or(u32::MAX) >= inner.options.max_rescues;

    let locked = job.lock_timeout > 0;
    if locked && !take_lock(inner, &job.id, job.lock_timeout, job.kind, &lease).await {
        inner.running.remove(&job.id, lease.token);
        return None;
    }

    let mut data = JobEventData::new(job, run_time, inner.node());
    data.cancellation = cancel.clone();
    data.opt_outs = runnable.as_ref().map(|r| r.opt_outs()).unwrap_or_default();
    data.lease = Some(lease.clone());

    let has_listeners = inner.trigger.has_listeners();
    if has_listeners {
        let context = JobEventContext::new(data, inner.services.clone(), inner.finder.clone());
        inner.trigger.on_before_executed(&context).await;
        data = context.into_data();
    }

    let args = crate::trace::runnable_args(data.args());
    let run_context = JobRunnableContext::new(data.key(), data.job_type(), args)
        .with_tenant(data.job().tenant_id)
        .with_run(run_time, data.triggered_count())
        .with_cancellation(cancel.clone())
        .with_caches(inner.caches.clone())
        .with_services(inner.services.clone());
    let started = tokio::time::Instant::now();
    let execution = match &runnable {
        // Its node died running it, time after time: it does not run again, it fails
        // (R43), and the retry policy decides what comes next.
        Some(_) if crashed => Execution::Returned(Err(JobError::new(format!(
            "job `{}` was not run: its run was rescued {rescues} times in a row, its node \
             dying each time (the limit is {})",
            data.key(),
            inner.options.max_rescues
        ))
        .with_code(codes::CRASHED))),
        Some(runnable) => {
            let bounds = Bounds {
                cancel: &cancel,
                interrupt_grace: inner.options.interrupt_grace,
                time_limit,
                time_limit_grace: inner.options.time_limit_grace,
            };
            if inner.middleware.is_empty() {
                guarded(runnable.as_ref(), &run_context, bounds).await
            } else {
                through_middleware(&inner.middleware, runnable.as_ref(), &run_context, bounds).await
            }
        }
        None => Execution::Returned(Err(JobError::new(format!(
            "no runnable is registered for job type `{}` (job `{}`) on node `{}`",
            data.job_type(),
            data.key(),
            inner.node()
        ))
        .with_code(codes::UNKNOWN_JOB_TYPE))),
    };
    data.execution_duration = started.elapsed();
    data.result = run_context.result();
    // A run interrupted (paused, stopped, removed, shut down, lease lost) is recorded
    // as interrupted whatever its runnable returned (R39).
    match (execution, handle.interruption()) {
        (_, Some(why)) => data.interruption = Some(why),
        (Execution::Returned(Ok(())), None) => {}
        (Execution::Returned(Err(error)), None) => data.error = Some(error),
        (Execution::Dropped, None) => data.interruption = Some(Interruption::Shutdown),
    }
    Some(Executed {
        data,
        lease,
        locked,
        has_listeners,
    })
}

/// Finishes an executed run: the after-listeners (the executed event saves its state),
/// giving the lease back when nothing was saved, releasing the job lock, and the
/// [`RunReport`]. The run stays in flight (its lease renewed) until this returns.
pub(super) async fn complete(inner: &RuntimeInner, executed: Executed) {
    let Executed {
        data,
        lease,
        locked,
        has_listeners,
    } = executed;
    let context = JobEventContext::new(data, inner.services.clone(), inner.finder.clone());
    if has_listeners {
        inner.trigger.on_after_executed(&context).await;
    }
    let saved = context.take_saved_job();
    let recorded = context.recorded_interruption();
    if saved.is_none() && recorded.is_none() {
        let expected_save =
            !context.data().opt_outs.skip_status_handling && inner.trigger.has_state_listener();
        give_back(inner, &lease, context.data().interruption, expected_save).await;
    }
    if locked && let Err(error) = inner.locks.release(&lease.job_id).await {
        tracing::warn!(job_id = %lease.job_id, %error, "could not release the job lock; it expires by itself");
    }
    inner.running.remove(&lease.job_id, lease.token);
    if saved
        .as_ref()
        .is_some_and(|job| job.next_run_time.is_none())
    {
        // The job is finished (completed, stopped, abandoned): its cache goes (R46).
        inner.drop_cache(&lease.job_id);
    }
    crate::trace::run_completed(&context, saved.as_ref(), recorded, lease.due_at);
    if inner.reports.receiver_count() > 0 {
        let exception_type = context.exception_type();
        let data = context.into_data();
        let _ = inner.reports.send(RunReport {
            job_id: data.key().to_owned(),
            job_type: data.job_type().to_owned(),
            node: data.node.clone(),
            run_time: data.run_time,
            duration: data.execution_duration,
            error: data.error,
            exception_type,
            interruption: data.interruption.or(recorded),
            job: saved,
        });
    }
}

/// The run at the end of the middleware chain: the guarded runnable, remembering
/// whether it had to be dropped.
struct GuardedRun<'a> {
    runnable: &'a dyn DynJobRunnable,
    context: &'a JobRunnableContext,
    bounds: Bounds<'a>,
    dropped: std::sync::atomic::AtomicBool,
}

impl Endpoint for GuardedRun<'_> {
    fn run(&self) -> BoxFuture<'_, Result<(), JobError>> {
        Box::pin(async move {
            match guarded(self.runnable, self.context, self.bounds).await {
                Execution::Returned(result) => result,
                Execution::Dropped => {
                    self.dropped
                        .store(true, std::sync::atomic::Ordering::SeqCst);
                    Err(JobError::new(
                        "the run did not stop within its grace and was dropped",
                    ))
                }
            }
        })
    }
}

/// Runs the runnable through the node's middleware; a panic in a middleware fails the
/// run like a panic in the runnable.
async fn through_middleware(
    chain: &[Arc<dyn ErasedMiddleware>],
    runnable: &dyn DynJobRunnable,
    context: &JobRunnableContext,
    bounds: Bounds<'_>,
) -> Execution {
    let endpoint = GuardedRun {
        runnable,
        context,
        bounds,
        dropped: std::sync::atomic::AtomicBool::new(false),
    };
    let result = AssertUnwindSafe(Next::new(chain, context, &endpoint).run())
        .catch_unwind()
        .await;
    if endpoint.dropped.load(std::sync::atomic::Ordering::SeqCst) {
        return Execution::Dropped;
    }
    Execution::Returned(result.unwrap_or_else(|panic| {
        Err(JobError::new(format!(
            "a middleware panicked in the run of job `{}`: {}",
            context.job_id(),
            crate::panic_message(panic.as_ref())
        ))
        .with_code(codes::PANIC))
    }))
}

/// What bounds a run: its cancellation (and how long it may go on after it), and its
/// time limit (and how long it may go on after that).
#[derive(Clone, Copy)]
struct Bounds<'a> {
    cancel: &'a CancellationToken,
    interrupt_grace: Duration,
    time_limit: Option<Duration>,
    time_limit_grace: Duration,
}

/// Runs the runnable, turning a panic into a System failure, and bounding how long it may
/// go on once its cancellation signal fired. Past its time limit the run is cancelled
/// and, whatever it returns — or if it does not return within the grace and is dropped
/// — fails with code `Timeout` (R44).
async fn guarded(
    runnable: &dyn DynJobRunnable,
    context: &JobRunnableContext,
    bounds: Bounds<'_>,
) -> Execution {
    let execution = AssertUnwindSafe(runnable.execute(context)).catch_unwind();
    tokio::pin!(execution);
    let limit = async {
        match bounds.time_limit {
            Some(limit) => tokio::time::sleep(limit).await,
            None => std::future::pending().await,
        }
    };
    let finished = tokio::select! {
        biased;
        finished = &mut execution => finished,
        _ = bounds.cancel.cancelled() => {
            match tokio::time::timeout(bounds.interrupt_grace, &mut execution).await {
                Ok(finished) => finished,
                Err(_) => return Execution::Dropped,
            }
        }
        _ = limit => {
            let limit = bounds.time_limit.unwrap_or_default();
            bounds.cancel.cancel();
            let returned = tokio::time::timeout(bounds.time_limit_grace, &mut execution).await;
            return Execution::Returned(Err(JobError::new(format!(
                "job `{}` (type `{}`) ran past its time limit of {:.0} s and was {}",
                context.job_id(),
                context.job_type(),
                limit.as_secs_f64(),
                if returned.is_ok() { "cancelled" } else { "cancelled, then dropped: it did not stop" }
            ))
            .with_code(codes::TIME_LIMIT)));
        }
    };
    Execution::Returned(finished.unwrap_or_else(|panic| {
        Err(JobError::new(format!(
            "job `{}` (type `{}`) panicked: {}",
            context.job_id(),
            context.job_type(),
            crate::panic_message(panic.as_ref())
        ))
        .with_code(codes::PANIC))
    }))
}

/// Takes the job's exclusive lock (R28). When another holder has it, this run does not
/// happen: a Period job waits for its next tick, other jobs try again in a second.
async fn take_lock(
    inner: &RuntimeInner,
    id: &str,
    seconds: i64,
    kind: JobKind,
    lease: &RunLease,
) -> bool {
    match inner.locks.try_lock(id, seconds).await {
        Ok(true) => true,
        outcome => {
            if let Err(error) = outcome {
                tracing::warn!(job_id = id, %error, "could not take the job lock; the run is postponed");
            } else {
                tracing::debug!(
                    job_id = id,
                    "job lock is held elsewhere; the run is postponed"
                );
            }
            let how = if kind == JobKind::Period {
                GiveBack::KeepSchedule
            } else {
                GiveBack::RunAt(crate::clock::saturating_add(
                    inner.clock.now(),
                    Duration::from_secs(1),
                ))
            };
            if let Err(error) = inner.store.give_back(lease, how).await {
                tracing::warn!(job_id = id, %error, "could not give the run back; its lease will expire");
            }
            false
        }
    }
}

/// Ends a lease whose run saved no result: a run whose lease was lost is left to its new
/// owner and a removed job's to nobody; a run interrupted by shutdown, pause or stop did
/// not happen (due again at its time; the store keeps a paused job paused and a stopped
/// one without a next run, R39); a run whose result could not be saved (the store failed)
/// runs again rather than be lost; any other keeps the schedule the claim gave it.
async fn give_back(
    inner: &RuntimeInner,
    lease: &RunLease,
    interruption: Option<Interruption>,
    expected_save: bool,
) {
    let how = match interruption {
        Some(Interruption::LeaseLost | Interruption::Removed) => return,
        Some(Interruption::Shutdown | Interruption::Paused | Interruption::Stopped) => {
            GiveBack::RunAgain
        }
        None if expected_save => {
            tracing::warn!(job_id = %lease.job_id, "the run's state was not saved; it will run again");
            GiveBack::RunAgain
        }
        None => GiveBack::KeepSchedule,
    };
    // Through the run writer: on a store that prefers batched writes, the give-backs of
    // concurrent runs (every run, when no listener saves state) share one transaction.
    if let Err(error) = inner.writer.give_back(lease, how).await {
        tracing::warn!(job_id = %lease.job_id, %error, "could not give the run back; its lease will expire and it will be rescued");
    }
}
