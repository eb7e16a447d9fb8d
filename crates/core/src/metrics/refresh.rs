//! The store gauges — `bgtasks_jobs{status}` and `bgtasks_queue_lag_seconds` — refreshed
//! on an interval by one node at a time, so that a scrape costs no query and twenty nodes
//! do not each count the store.
//!
//! Every node runs [`StoreGauges`] (unless
//! [`MetricsOptions::store_gauges`](bgtasks_abstractions::MetricsOptions) is off); the one
//! that holds the lock [`LOCK_KEY`] of the runtime's lock provider — a store lock on
//! SQLite and PostgreSQL — reads the store's counts and sets the gauges. It keeps the lock
//! from one refresh to the next (taken for three intervals each time), so the gauges come
//! from one node until it stops or dies; then, within three intervals, another takes over.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use bgtasks_abstractions::JobStatus;
use chrono::{DateTime, Utc};

use super::names;
use crate::store::{DynJobLockProvider, JobStore, StoreError};
use crate::{BackgroundService, ServiceContext};

/// The lock the refreshing node holds.
pub const LOCK_KEY: &str = "bgtasks:metrics:store-gauges";

/// The label value of a status in `bgtasks_jobs{status}`.
pub fn status_label(status: JobStatus) -> &'static str {
    match status {
        JobStatus::None => "none",
        JobStatus::Completed => "completed",
        JobStatus::Queuing => "queuing",
        JobStatus::Running => "running",
        JobStatus::FailedRetry => "failed_retry",
        JobStatus::Paused => "paused",
        JobStatus::Stopped => "stopped",
    }
}

/// The background service that refreshes the store gauges (shown as `metrics` in the
/// node's health). The runtime builder adds it when
/// [`MetricsOptions::store_gauges`](bgtasks_abstractions::MetricsOptions) is on.
pub struct StoreGauges {
    store: Arc<dyn JobStore>,
    locks: Arc<dyn DynJobLockProvider>,
    interval: Duration,
    holding: AtomicBool,
}

impl StoreGauges {
    /// Gauges of `store`, refreshed every `interval` by the holder of [`LOCK_KEY`] in
    /// `locks`.
    pub fn new(
        store: Arc<dyn JobStore>,
        locks: Arc<dyn DynJobLockProvider>,
        interval: Duration,
    ) -> Self {
        Self {
            store,
            locks,
            interval: interval.max(Duration::from_secs(1)),
            holding: AtomicBool::new(false),
        }
    }

    /// How long the lock is taken for: three intervals, so that a late refresh does not
    /// lose it, and a node that died hands over within three.
    fn lock_seconds(&self) -> i64 {
        i64::try_from(self.interval.as_secs().saturating_mul(3)).unwrap_or(i64::MAX)
    }

    /// Takes the lock, or takes it again when this node holds it (a lock is taken once:
    /// released first, then taken for three more intervals).
    async fn hold(&self) -> Result<bool, StoreError> {
        if self.holding.load(Ordering::SeqCst) {
            self.locks.release(LOCK_KEY).await?;
        }
        let held = self.locks.try_lock(LOCK_KEY, self.lock_seconds()).await?;
        self.holding.store(held, Ordering::SeqCst);
        Ok(held)
    }

    /// One refresh at `now`: whether this node holds the lock and set the gauges.
    pub async fn refresh(&self, now: DateTime<Utc>) -> Result<bool, StoreError> {
        if !self.hold().await? {
            return Ok(false);
        }
        let counts = self.store.counts(now).await?;
        for status in JobStatus::ALL {
            if status == JobStatus::None {
                continue;
            }
            let count = counts.by_status.get(&status.code()).copied().unwrap_or(0);
            ::metrics::gauge!(names::JOBS, "status" => status_label(status)).set(count as f64);
        }
        ::metrics::gauge!(names::QUEUE_LAG_SECONDS).set(counts.lag(now).as_secs_f64());
        Ok(true)
    }

    /// Whether this node holds the lock (as of its last refresh).
    pub fn is_refreshing(&self) -> bool {
        self.holding.load(Ordering::SeqCst)
    }
}

impl std::fmt::Debug for StoreGauges {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StoreGauges")
            .field("interval", &self.interval)
            .field("holding", &self.is_refreshing())
            .finish_non_exhaustive()
    }
}

impl BackgroundService for StoreGauges {
    fn name(&self) -> &str {
        "metrics"
    }

    async fn run_once(&self, context: &ServiceContext) -> Duration {
        if let Err(error) = self.refresh(context.clock().now()).await {
            tracing::warn!(node = context.node(), %error,
                "could not refresh the store gauges of the metrics; trying again later");
        }
        self.interval
    }

    async fn shutdown(&self) {
        if self.holding.swap(false, Ordering::SeqCst)
            && let Err(error) = self.locks.release(LOCK_KEY).await
        {
            tracing::debug!(%error, "could not release the store gauges' lock; it expires by itself");
        }
    }
}
