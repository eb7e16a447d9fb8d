//! The node's health: when each background loop last completed an iteration, how often
//! one panicked, and whether the store answered (R42). The loops survive a panic or an
//! error in any one iteration; this is how an operator sees that they are alive.

use std::fmt;
use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use chrono::{DateTime, Utc};
use futures_util::FutureExt;
use serde::Serialize;

/// The background loops of a node.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum NodeLoop {
    /// Claims due runs.
    ClaimLoop,
    /// Renews the leases of the runs in flight.
    Renewals,
    /// Rescues the runs of nodes that died.
    Rescuer,
    /// Tells the store the node is alive.
    Heartbeat,
    /// Interrupts runs whose lease could not be renewed in time (R45).
    Watchdog,
}

impl NodeLoop {
    /// Every loop.
    pub const ALL: [NodeLoop; 5] = [
        NodeLoop::ClaimLoop,
        NodeLoop::Renewals,
        NodeLoop::Rescuer,
        NodeLoop::Heartbeat,
        NodeLoop::Watchdog,
    ];

    /// The loop's name, as logs and reports write it.
    pub fn name(self) -> &'static str {
        match self {
            NodeLoop::ClaimLoop => "claim loop",
            NodeLoop::Renewals => "lease renewals",
            NodeLoop::Rescuer => "rescuer",
            NodeLoop::Heartbeat => "heartbeat",
            NodeLoop::Watchdog => "lease watchdog",
        }
    }

    fn index(self) -> usize {
        self as usize
    }
}

impl fmt::Display for NodeLoop {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// One loop in a [`HealthReport`]: one of the [`NodeLoop`]s or a
/// [`BackgroundService`](crate::BackgroundService).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct LoopHealth {
    /// The loop's name ([`NodeLoop::name`] or the service's name).
    pub name: String,
    /// When it last completed an iteration (`None`: never yet).
    pub last_iteration: Option<DateTime<Utc>>,
    /// When it means to iterate next, for a loop that sleeps between iterations by its
    /// own schedule (a background service); `None` for the node's loops.
    pub next_iteration: Option<DateTime<Utc>>,
    /// How many of its iterations panicked (each was survived).
    pub panics: u64,
}

/// A node's health, from [`Runtime::health`](crate::Runtime::health).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct HealthReport {
    /// The node.
    pub node: String,
    /// Whether the runtime is taking runs.
    pub started: bool,
    /// Each background loop.
    pub loops: Vec<LoopHealth>,
    /// Whether the store answered the last call a loop made (`None`: no call yet).
    pub store_reachable: Option<bool>,
    /// The store's last error, if its last call failed.
    pub store_error: Option<String>,
    /// When the store last answered.
    pub store_last_ok: Option<DateTime<Utc>>,
    /// Runs in flight on this node.
    pub running: usize,
}

impl HealthReport {
    /// Whether the node is started, the store answered its last call, and every loop
    /// completed an iteration since `since` — or, for a loop that sleeps longer than that
    /// by its own schedule, completed one and is not yet late for the next.
    pub fn is_ready(&self, since: DateTime<Utc>) -> bool {
        self.started
            && self.store_reachable == Some(true)
            && self.loops.iter().all(|l| {
                l.last_iteration.is_some_and(|at| {
                    at >= since || l.next_iteration.is_some_and(|next| next >= since)
                })
            })
    }

    /// The loop called `name`, if the node has one.
    pub fn loop_named(&self, name: &str) -> Option<&LoopHealth> {
        self.loops.iter().find(|l| l.name == name)
    }
}

/// Which loop an iteration belongs to: one of the node's own, or the n-th background
/// service.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum LoopId {
    Node(NodeLoop),
    Service(usize),
}

impl From<NodeLoop> for LoopId {
    fn from(which: NodeLoop) -> Self {
        LoopId::Node(which)
    }
}

#[derive(Debug)]
struct LoopSlot {
    name: String,
    last_iteration: AtomicU64,
    next_iteration: AtomicU64,
    panics: AtomicU64,
}

/// The tracker the loops report to.
#[derive(Debug)]
pub(crate) struct Health {
    loops: Vec<LoopSlot>,
    store: Mutex<StoreHealth>,
}

impl Default for Health {
    fn default() -> Self {
        Self::new(std::iter::empty::<String>())
    }
}

#[derive(Debug, Default)]
struct StoreHealth {
    reachable: Option<bool>,
    error: Option<String>,
    last_ok: Option<DateTime<Utc>>,
}

fn micros(at: DateTime<Utc>) -> u64 {
    u64::try_from(at.timestamp_micros()).unwrap_or(0)
}

fn time_of(micros: u64) -> Option<DateTime<Utc>> {
    match micros {
        0 => None,
        at => i64::try_from(at)
            .ok()
            .and_then(DateTime::<Utc>::from_timestamp_micros),
    }
}

impl Health {
    /// A tracker for the node's loops and for background services of these names.
    pub(crate) fn new(services: impl IntoIterator<Item = String>) -> Self {
        let loops = NodeLoop::ALL
            .iter()
            .map(|which| which.name().to_owned())
            .chain(services)
            .map(|name| LoopSlot {
                name,
                last_iteration: AtomicU64::new(0),
                next_iteration: AtomicU64::new(0),
                panics: AtomicU64::new(0),
            })
            .collect();
        Self {
            loops,
            store: Mutex::default(),
        }
    }

    fn slot(&self, which: LoopId) -> Option<&LoopSlot> {
        match which {
            LoopId::Node(which) => self.loops.get(which.index()),
            LoopId::Service(n) => self.loops.get(NodeLoop::ALL.len() + n),
        }
    }

    /// Records that `which` completed an iteration at `at`.
    pub(crate) fn iterated(&self, which: impl Into<LoopId>, at: DateTime<Utc>) {
        if let Some(slot) = self.slot(which.into()) {
            slot.last_iteration
                .store(micros(at).max(1), Ordering::Relaxed);
        }
    }

    /// Records when `which` means to iterate next.
    pub(crate) fn expect_next(&self, which: impl Into<LoopId>, at: DateTime<Utc>) {
        if let Some(slot) = self.slot(which.into()) {
            slot.next_iteration
                .store(micros(at).max(1), Ordering::Relaxed);
        }
    }

    /// Records how a store call went.
    pub(crate) fn store_answered<T, E: fmt::Display>(
        &self,
        result: &Result<T, E>,
        at: DateTime<Utc>,
    ) {
        let mut store = self
            .store
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        match result {
            Ok(_) => {
                store.reachable = Some(true);
                store.error = None;
                store.last_ok = Some(at);
            }
            Err(error) => {
                store.reachable = Some(false);
                store.error = Some(error.to_string());
            }
        }
    }

    pub(crate) fn report(&self, node: &str, started: bool, running: usize) -> HealthReport {
        let store = self
            .store
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        HealthReport {
            node: node.to_owned(),
            started,
            loops: self
                .loops
                .iter()
                .map(|slot| LoopHealth {
                    name: slot.name.clone(),
                    last_iteration: time_of(slot.last_iteration.load(Ordering::Relaxed)),
                    next_iteration: time_of(slot.next_iteration.load(Ordering::Relaxed)),
                    panics: slot.panics.load(Ordering::Relaxed),
                })
                .collect(),
            store_reachable: store.reachable,
            store_error: store.error.clone(),
            store_last_ok: store.last_ok,
            running,
        }
    }

    /// Runs one iteration of `which`, surviving a panic: it is logged, counted, and the
    /// loop backs off for `backoff` before its next iteration. `None` when it panicked.
    pub(crate) async fn supervise<T>(
        &self,
        which: impl Into<LoopId>,
        node: &str,
        backoff: Duration,
        iteration: impl Future<Output = T>,
    ) -> Option<T> {
        match AssertUnwindSafe(iteration).catch_unwind().await {
            Ok(value) => Some(value),
            Err(panic) => {
                let slot = self.slot(which.into());
                let panics = slot.map_or(0, |s| s.panics.fetch_add(1, Ordering::Relaxed) + 1);
                let which = slot.map_or("?", |s| s.name.as_str());
                tracing::error!(
                    node,
                    loop_name = which,
                    panics,
                    backoff_ms = backoff.as_millis() as u64,
                    panic = crate::panic_message(panic.as_ref()),
                    "an iteration of a background loop panicked; the loop goes on after a pause"
                );
                tokio::time::sleep(backoff).await;
                None
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn a_panicking_iteration_is_survived_and_counted() {
        // spec: R42
        let health = Health::default();
        let survived = health
            .supervise(NodeLoop::Rescuer, "n", Duration::from_secs(1), async {
                panic!("deliberate panic in an iteration")
            })
            .await;
        assert_eq!(survived, None::<()>);
        let now = Utc::now();
        health.iterated(NodeLoop::Rescuer, now);
        health.store_answered(&Err::<(), _>("connection refused"), now);
        let report = health.report("n", true, 0);
        let rescuer = report
            .loop_named("rescuer")
            .expect("the rescuer is reported");
        assert_eq!(rescuer.panics, 1);
        assert!(rescuer.last_iteration.is_some());
        assert_eq!(report.store_reachable, Some(false));
        assert_eq!(report.store_error.as_deref(), Some("connection refused"));
        assert!(
            !report.is_ready(now),
            "the store is down and other loops never ran"
        );
    }
}
