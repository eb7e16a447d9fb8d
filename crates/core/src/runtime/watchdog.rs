//! The lease watchdog (R45): a node that cannot renew a run's lease — the store is down,
//! or cut off by a fault that does not close connections — interrupts the run before the
//! lease can expire, so that the run never goes on while another node may rescue it.

use std::sync::Arc;
use std::time::Duration;

use bgtasks_abstractions::Interruption;

use super::RuntimeInner;
use super::health::NodeLoop;
use super::run_loop::PANIC_BACKOFF;

/// The safety margin: the one set, or the renewal interval — at most half of what the
/// lease leaves after one renewal interval, so that a run is never cut between two
/// renewals that succeed.
pub(super) fn margin(options: &bgtasks_abstractions::BackgroundTasksOptions) -> Duration {
    options.lease_safety_margin.unwrap_or_else(|| {
        let spare = options
            .lease_duration
            .saturating_sub(options.lease_renewal_interval);
        options.lease_renewal_interval.min(spare / 2)
    })
}

/// How long after the last successful renewal a run is interrupted: the lease duration
/// less the safety margin.
pub(super) fn window(options: &bgtasks_abstractions::BackgroundTasksOptions) -> Duration {
    options.lease_duration.saturating_sub(margin(options))
}

/// Wakes at the earliest deadline of the runs in flight (at least every renewal
/// interval) and interrupts every run past it. It makes no store call, so a store that
/// hangs cannot hold it.
pub(super) async fn watch(inner: Arc<RuntimeInner>) {
    let window = window(&inner.options);
    let idle = inner.options.lease_renewal_interval;
    loop {
        let next = inner
            .health
            .supervise(NodeLoop::Watchdog, inner.node(), PANIC_BACKOFF, async {
                watch_once(&inner, window)
            })
            .await
            .flatten();
        let now = tokio::time::Instant::now();
        let wake = next.map_or(now + idle, |at| at.min(now + idle));
        tokio::time::sleep_until(wake).await;
    }
}

/// Interrupts the overdue runs; returns the next deadline.
fn watch_once(inner: &RuntimeInner, window: Duration) -> Option<tokio::time::Instant> {
    let now = tokio::time::Instant::now();
    let (overdue, next) = inner.running.overdue(now, window);
    for run in overdue {
        run.interrupt(Interruption::LeaseLost);
        let since = now.saturating_duration_since(run.renewed_at());
        tracing::warn!(
            event = "bgtasks.lease_lost",
            node = inner.node(),
            job_id = %run.lease().job_id,
            token = run.lease().token,
            since_ms = u64::try_from(since.as_millis()).unwrap_or(u64::MAX),
            "could not renew the lease of job `{}` for {since:?}; interrupting its run before \
             the lease can expire and another node rescue it",
            run.lease().job_id
        );
    }
    inner.health.iterated(NodeLoop::Watchdog, inner.clock.now());
    next
}
