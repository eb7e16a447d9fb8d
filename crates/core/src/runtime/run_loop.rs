//! The claim loop: sleeps until the next due time or a wake-up, claims as many due runs
//! as there are free workers, and hands each to a worker.

use std::sync::Arc;
use std::time::Duration;

use super::{RunState, RuntimeInner, worker};
use crate::clock::until;

/// The longest the loop sleeps without re-reading the next due time when the store
/// signals new work itself.
const SIGNALLED_MAX_SLEEP: Duration = Duration::from_secs(60);
/// The longest it sleeps when the store cannot signal.
const UNSIGNALLED_MAX_SLEEP: Duration = Duration::from_secs(1);
/// Back-off bounds when the store fails.
const BACKOFF_MIN: Duration = Duration::from_millis(100);
const BACKOFF_MAX: Duration = Duration::from_secs(10);

pub(super) async fn run(inner: Arc<RuntimeInner>) {
    let mut state = inner.state.subscribe();
    let mut backoff = BACKOFF_MIN;
    let max_sleep = if inner.store_signal.is_some() {
        SIGNALLED_MAX_SLEEP
    } else {
        UNSIGNALLED_MAX_SLEEP
    };
    loop {
        let current = *state.borrow_and_update();
        match current {
            RunState::ShuttingDown => return,
            RunState::Stopped => {
                if state.changed().await.is_err() {
                    return;
                }
                continue;
            }
            RunState::Started => {}
        }
        // Wait for a free worker, then take every free one.
        let first = tokio::select! {
            permit = inner.permits.clone().acquire_owned() => match permit {
                Ok(permit) => permit,
                Err(_) => return,
            },
            _ = state.changed() => continue,
        };
        let mut permits = vec![first];
        while let Ok(permit) = inner.permits.clone().try_acquire_owned() {
            permits.push(permit);
        }
        let limit = permits.len();
        let now = inner.clock.now();
        let claimed = match inner
            .store
            .claim_due(inner.node(), now, limit, inner.options.lease_duration)
            .await
        {
            Ok(runs) => runs,
            Err(error) => {
                tracing::warn!(node = inner.node(), %error, retry_in_ms = backoff.as_millis() as u64,
                    "could not claim due runs; backing off");
                drop(permits);
                sleep_or_state(&mut state, backoff).await;
                backoff = (backoff * 2).min(BACKOFF_MAX);
                continue;
            }
        };
        backoff = BACKOFF_MIN;
        let count = claimed.len();
        for (run, permit) in claimed.into_iter().zip(permits.drain(..)) {
            inner
                .workers
                .spawn(worker::execute(inner.clone(), run, permit));
        }
        drop(permits);
        if count == limit {
            // Every worker got a run; there may be more due.
            continue;
        }
        let next_due = match inner.store.next_due_time(inner.node()).await {
            Ok(next) => next,
            Err(error) => {
                tracing::warn!(node = inner.node(), %error, "could not read the next due time; backing off");
                Some(inner.clock.now() + chrono::Duration::from_std(backoff).unwrap_or_default())
            }
        };
        let mut sleep_for =
            next_due.map_or(max_sleep, |at| until(inner.clock.now(), at).min(max_sleep));
        if sleep_for.is_zero() && count == 0 {
            // Due but not claimable right now (e.g. just released): do not spin.
            sleep_for = Duration::from_millis(1);
        }
        if sleep_for.is_zero() {
            continue;
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
            _ = state.changed() => {}
        }
    }
}

async fn sleep_or_state(state: &mut tokio::sync::watch::Receiver<RunState>, duration: Duration) {
    tokio::select! {
        _ = tokio::time::sleep(duration) => {}
        _ = state.changed() => {}
    }
}
