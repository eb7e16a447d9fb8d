//! The PostgreSQL-specific tests, by subject.

mod bounds;
mod clock;
mod connecting;
mod faults;
mod rules;
mod schema;
mod signals;
mod upgrades;

use std::time::Duration;

use bgtasks_store::{ClaimRequest, ClaimedRun, JobStore};
use bgtasks_store_conformance::t;

/// The lease the tests claim with.
pub(crate) const LEASE: Duration = Duration::from_secs(30);

/// Claims up to `limit` runs of any type for `node` at `t(now)`.
pub(crate) async fn claim(
    store: &dyn JobStore,
    node: &str,
    now: i64,
    limit: usize,
) -> Vec<ClaimedRun> {
    store
        .claim(&ClaimRequest {
            node,
            now: t(now),
            limit,
            lease: LEASE,
            job_types: None,
        })
        .await
        .expect("claim")
}
