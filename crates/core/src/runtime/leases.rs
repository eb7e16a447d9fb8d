//! Keeping this node's leases alive, and rescuing runs of nodes that died.

use std::sync::Arc;

use bgtasks_abstractions::Interruption;

use super::RuntimeInner;

/// Renews the leases of the runs in flight every renewal interval; a run whose lease was
/// lost is interrupted (another node may be running it now).
pub(super) async fn renew(inner: Arc<RuntimeInner>) {
    let mut ticks = tokio::time::interval(inner.options.lease_renewal_interval);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    ticks.tick().await;
    loop {
        ticks.tick().await;
        let leases = inner.running.leases();
        if leases.is_empty() {
            continue;
        }
        let until = crate::clock::saturating_add(inner.clock.now(), inner.options.lease_duration);
        match inner.store.renew_leases(inner.node(), &leases, until).await {
            Ok(lost) => {
                for id in lost {
                    // Only the run whose lease was lost: the job may have been claimed
                    // again (a newer token) since this renewal was sent.
                    let Some(token) = leases.iter().find(|l| l.job_id == id).map(|l| l.token)
                    else {
                        continue;
                    };
                    if inner
                        .running
                        .interrupt_run(&id, token, Interruption::LeaseLost)
                    {
                        tracing::warn!(node = inner.node(), job_id = %id, "lost the lease of a running job; interrupting it");
                    }
                }
            }
            Err(error) => {
                tracing::warn!(node = inner.node(), %error, "could not renew leases; will retry")
            }
        }
    }
}

/// Makes runs whose lease expired (their node died) due again, every rescue interval.
pub(super) async fn rescue(inner: Arc<RuntimeInner>) {
    let mut ticks = tokio::time::interval(inner.options.rescue_interval);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticks.tick().await;
        match inner.store.rescue_expired(inner.clock.now()).await {
            Ok(rescued) if !rescued.is_empty() => {
                tracing::warn!(node = inner.node(), jobs = ?rescued, "rescued runs whose lease expired");
                inner.wake.notify_one();
            }
            Ok(_) => {}
            Err(error) => {
                tracing::warn!(node = inner.node(), %error, "could not rescue expired leases; will retry")
            }
        }
    }
}
