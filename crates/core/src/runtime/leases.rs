//! Keeping this node's leases alive (and learning at each renewal what was asked of its
//! runs), rescuing runs of nodes that died, and telling the store this node is alive.

use std::sync::Arc;
use std::time::Duration;

use bgtasks_abstractions::Interruption;

use super::RuntimeInner;
use super::health::NodeLoop;
use super::run_loop::PANIC_BACKOFF;
use crate::store::{NodeHeartbeat, RenewOutcome};

/// The longest between two heartbeats of a node.
const HEARTBEAT_MAX: Duration = Duration::from_secs(10);

/// Renews the leases of the runs in flight every renewal interval — and at once when
/// the store signals that a running job was paused, stopped or removed. A run whose
/// lease was lost, or whose job was paused, stopped or removed, is interrupted (R39).
pub(super) async fn renew(inner: Arc<RuntimeInner>) {
    let mut ticks = tokio::time::interval(inner.options.lease_renewal_interval);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    ticks.tick().await;
    loop {
        let control = async {
            match &inner.control_signal {
                Some(signal) => signal.notified().await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            _ = ticks.tick() => {}
            _ = control => {}
        }
        inner
            .health
            .supervise(
                NodeLoop::Renewals,
                inner.node(),
                PANIC_BACKOFF,
                renew_once(&inner),
            )
            .await;
    }
}

async fn renew_once(inner: &RuntimeInner) {
    inner.health.iterated(NodeLoop::Renewals, inner.clock.now());
    let leases = inner.running.leases();
    if leases.is_empty() {
        return;
    }
    let sent = tokio::time::Instant::now();
    let renewed = inner
        .store
        .renew(
            inner.node(),
            &leases,
            inner.options.lease_duration,
            inner.clock.now(),
        )
        .await;
    inner.health.store_answered(&renewed, inner.clock.now());
    let outcomes = match renewed {
        Ok(outcomes) => outcomes,
        Err(error) => {
            tracing::warn!(node = inner.node(), %error, "could not renew leases; will retry");
            return;
        }
    };
    for (lease, outcome) in leases.iter().zip(outcomes) {
        let why = match outcome {
            RenewOutcome::Renewed => {
                inner.running.renewed(&lease.job_id, lease.token, sent);
                continue;
            }
            RenewOutcome::LeaseLost => Interruption::LeaseLost,
            RenewOutcome::Interrupt(why) => why,
        };
        // Only the run of this lease: the job may have been claimed again (a newer
        // token) since this renewal was sent.
        if inner.running.interrupt_run(&lease.job_id, lease.token, why) {
            match why {
                Interruption::LeaseLost => {
                    tracing::warn!(event = "bgtasks.lease_lost", node = inner.node(), job_id = %lease.job_id,
                    "lost the lease of a running job; interrupting it")
                }
                _ => tracing::info!(node = inner.node(), job_id = %lease.job_id, reason = ?why,
                    "the job was changed while it ran; interrupting its run"),
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
        inner
            .health
            .supervise(
                NodeLoop::Rescuer,
                inner.node(),
                PANIC_BACKOFF,
                rescue_once(&inner),
            )
            .await;
    }
}

async fn rescue_once(inner: &RuntimeInner) {
    let rescued = inner.store.rescue(inner.clock.now()).await;
    inner.health.store_answered(&rescued, inner.clock.now());
    inner.health.iterated(NodeLoop::Rescuer, inner.clock.now());
    match rescued {
        Ok(rescued) if !rescued.is_empty() => {
            let jobs: Vec<&str> = rescued.iter().map(|r| r.job_id.as_str()).collect();
            crate::metrics::rescued(jobs.len());
            tracing::warn!(event = "bgtasks.rescue", node = inner.node(), jobs = ?jobs,
                "rescued runs whose lease expired");
            inner.wake.notify_one();
        }
        Ok(_) => {}
        Err(error) => {
            tracing::warn!(node = inner.node(), %error, "could not rescue expired leases; will retry")
        }
    }
}

/// Tells the store, every renewal interval (at most every 10 s), that this node is alive
/// and which job types it runs (R41).
pub(super) async fn heartbeat(inner: Arc<RuntimeInner>) {
    let mut ticks = tokio::time::interval(inner.options.lease_renewal_interval.min(HEARTBEAT_MAX));
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticks.tick().await;
        inner
            .health
            .supervise(
                NodeLoop::Heartbeat,
                inner.node(),
                PANIC_BACKOFF,
                beat_once(&inner),
            )
            .await;
    }
}

async fn beat_once(inner: &RuntimeInner) {
    {
        let beat = NodeHeartbeat {
            node: inner.node().to_owned(),
            job_types: inner.job_types.clone(),
            started_at: inner.started_at,
            at: inner.clock.now(),
            running: u32::try_from(inner.running.len()).unwrap_or(u32::MAX),
            info: serde_json::json!({
                "workers": inner.options.workers,
                "state": format!("{:?}", *inner.state.borrow()),
                "health": inner.health_report(),
            }),
        };
        let sent = inner.store.heartbeat(&beat).await;
        inner.health.store_answered(&sent, inner.clock.now());
        inner
            .health
            .iterated(NodeLoop::Heartbeat, inner.clock.now());
        if let Err(error) = sent {
            tracing::warn!(node = inner.node(), %error, "could not send the node's heartbeat; will retry");
        }
    }
}
