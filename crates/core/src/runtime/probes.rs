//! Liveness and readiness, as Kubernetes probes ask them (served by `bgtasks-admin` at
//! `/health/live` and `/health/ready`).
//!
//! - **Live**: the process answers and none of the node's loops has died (a loop's task
//!   that ended while the runtime is started). Restarting the process is the cure.
//! - **Ready**: the runtime is started; the claim loop, the rescuer and the lease
//!   renewals are alive and not late; and the store answers a cheap call within a
//!   timeout. Taking the node out of service (not restarting it) is the cure.

use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::health::NodeLoop;
use super::{RunState, Runtime};

/// The id the readiness probe looks up: one key read, whatever the store.
const PROBE_JOB_ID: &str = "bgtasks-readiness-probe";

/// One check of a [`Probe`].
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ProbeCheck {
    /// What was checked: a loop's name (`claim loop`, `rescuer`...), `state` or `store`.
    pub name: String,
    /// Whether it passed.
    pub ok: bool,
    /// Why it failed, or what it found.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    /// For a loop: when it last completed an iteration.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_iteration: Option<DateTime<Utc>>,
    /// For a loop: how many of its iterations panicked (each survived).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub panics: Option<u64>,
    /// For the store: how long it took to answer, in milliseconds.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub latency_ms: Option<f64>,
}

impl ProbeCheck {
    fn new(name: impl Into<String>, ok: bool, detail: Option<String>) -> Self {
        Self {
            name: name.into(),
            ok,
            detail,
            last_iteration: None,
            panics: None,
            latency_ms: None,
        }
    }
}

/// The answer of a liveness or readiness probe.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Probe {
    /// Whether every check passed.
    pub ok: bool,
    /// The node.
    pub node: String,
    /// `started`, `stopped` or `shuttingDown`.
    pub state: &'static str,
    /// Each check.
    pub checks: Vec<ProbeCheck>,
}

impl Probe {
    fn new(runtime: &Runtime, checks: Vec<ProbeCheck>) -> Self {
        Self {
            ok: checks.iter().all(|check| check.ok),
            node: runtime.node_name().to_owned(),
            state: match runtime.state() {
                RunState::Started => "started",
                RunState::Stopped => "stopped",
                RunState::ShuttingDown => "shuttingDown",
            },
            checks,
        }
    }
}

impl Runtime {
    /// Whether the node is alive: none of its loops' tasks has ended while it is started
    /// (a loop survives a panic in an iteration; an ended task is one that could not).
    pub fn liveness(&self) -> Probe {
        let dead = self.dead_loops();
        let checks = NodeLoop::ALL
            .iter()
            .map(|which| {
                let died = dead.contains(which);
                ProbeCheck::new(
                    which.name(),
                    !died,
                    died.then(|| format!("the {which} of node `{}` has ended", self.node_name())),
                )
            })
            .collect();
        Probe::new(self, checks)
    }

    /// Whether the node is ready to take work: started; its claim loop, rescuer and lease
    /// renewals alive and not late; the store answering a key lookup within
    /// `store_timeout`.
    pub async fn readiness(&self, store_timeout: Duration) -> Probe {
        let inner = &self.inner;
        let started = self.state() == RunState::Started;
        let mut checks = vec![ProbeCheck::new(
            "state",
            started,
            (!started).then(|| format!("node `{}` is not started", self.node_name())),
        )];
        let report = inner.health_report();
        let dead = self.dead_loops();
        let now = inner.clock.now();
        let options = &inner.options;
        for (which, every) in [
            (NodeLoop::ClaimLoop, None),
            (NodeLoop::Rescuer, Some(options.rescue_interval)),
            (NodeLoop::Renewals, Some(options.lease_renewal_interval)),
        ] {
            let health = report.loop_named(which.name());
            let last = health.and_then(|h| h.last_iteration);
            // A loop is late when it has not iterated for two of its intervals and a
            // store call's bound; the claim loop may wait as long as its workers are busy.
            let bound = every.map(|every| every * 2 + options.store_timeout);
            let since = last.unwrap_or(inner.started_at).max(inner.started_at);
            let late = bound.filter(|bound| {
                started && (now - since).to_std().is_ok_and(|waited| waited > *bound)
            });
            let detail = if dead.contains(&which) {
                Some(format!("the {which} has ended"))
            } else {
                late.map(|bound| format!("the {which} has not iterated for longer than {bound:?}"))
            };
            let mut check = ProbeCheck::new(which.name(), detail.is_none(), detail);
            check.last_iteration = last;
            check.panics = health.map(|h| h.panics);
            checks.push(check);
        }
        checks.push(self.store_check(store_timeout).await);
        Probe::new(self, checks)
    }

    /// A key lookup in the store, bounded by `within`.
    async fn store_check(&self, within: Duration) -> ProbeCheck {
        let sent = tokio::time::Instant::now();
        let answer = tokio::time::timeout(within, self.store().find(PROBE_JOB_ID)).await;
        let took = sent.elapsed();
        let detail = match answer {
            Ok(Ok(_)) => None,
            Ok(Err(error)) => Some(format!("the store failed: {error}")),
            Err(_) => Some(format!("the store did not answer within {within:?}")),
        };
        let mut check = ProbeCheck::new("store", detail.is_none(), detail);
        check.latency_ms = Some(took.as_secs_f64() * 1000.0);
        check
    }

    /// The node loops whose task has ended while the runtime is started. The runtime
    /// spawns them in the order of [`NodeLoop::ALL`] (see `lifecycle.rs`).
    fn dead_loops(&self) -> Vec<NodeLoop> {
        if self.state() != RunState::Started {
            return Vec::new();
        }
        let tasks = self
            .inner
            .background
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        NodeLoop::ALL
            .iter()
            .zip(tasks.iter())
            .filter(|(_, task)| task.is_finished())
            .map(|(which, _)| *which)
            .collect()
    }
}
