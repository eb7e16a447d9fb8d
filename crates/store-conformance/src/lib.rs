//! One conformance suite for every job store, written once and run against the in-memory,
//! SQLite and PostgreSQL stores.
//!
//! A backend implements [`StoreFactory`] and expands [`job_store_conformance!`] in one of
//! its test files; every case becomes a `#[tokio::test]`:
//!
//! ```ignore
//! struct Memory;
//! #[async_trait::async_trait]
//! impl bgtasks_store_conformance::StoreFactory for Memory { /* … */ }
//! bgtasks_store_conformance::job_store_conformance!(Memory);
//! ```
//!
//! The cases never read the wall clock: every time they pass is fixed, so a store must
//! take "now" from its arguments, as the contract says.

#![allow(clippy::unwrap_used, clippy::expect_used)]

pub mod actions;
pub mod cases;
mod support;

use std::sync::Arc;

use async_trait::async_trait;
use bgtasks_actions::JobActionStore;
use bgtasks_core::JobLockProvider;
use bgtasks_core::store::JobStore;

pub use self::support::{queued, t};

/// Creates the stores the suite runs against.
#[async_trait]
pub trait StoreFactory: Send + Sync {
    /// A fresh, empty store (called once per case).
    async fn fresh(&self) -> Arc<dyn JobStore>;

    /// Another handle onto the same data as `store` — another connection pool, as a
    /// second process would open. In memory, the same store.
    async fn reopen(&self, store: &Arc<dyn JobStore>) -> Arc<dyn JobStore>;

    /// A lock provider over the same data as `store`, and a second, independent one (as
    /// another process would hold), to check exclusion.
    async fn locks(
        &self,
        store: &Arc<dyn JobStore>,
    ) -> (Arc<dyn JobLockProvider>, Arc<dyn JobLockProvider>);

    /// The action store kept beside `store`.
    async fn action_store(&self, store: &Arc<dyn JobStore>) -> Arc<dyn JobActionStore>;
}

/// Expands to one `#[tokio::test]` per conformance case, each on a fresh store from the
/// factory expression.
#[macro_export]
macro_rules! job_store_conformance {
    ($factory:expr) => {
        $crate::job_store_conformance!(@cases $factory;
            waiting_filter_and_order,
            period_jobs_by_the_same_filter,
            running_jobs_of_a_node,
            insert_find_store_remove,
            round_trips_every_field_and_code,
            cleanup_removes_old_completed_jobs_not_recent_ones,
            logs_are_newest_first_and_limited,
            claims_take_due_runs_by_priority_and_move_the_schedule,
            a_period_tick_is_claimed_once_across_handles,
            pinned_jobs_are_claimed_only_by_their_node,
            completion_is_fenced_by_the_lease_token,
            renewed_leases_are_not_rescued_and_released_runs_come_back,
            a_job_paused_during_its_run_stays_paused,
            a_job_removed_during_its_run_is_gone,
            completion_writes_only_the_run_state,
            batched_completions_and_logs,
            past_end_time_is_never_claimed,
            concurrent_claimers_take_each_run_once,
            two_handles_storing_the_same_job,
            locks_exclude_across_handles,
            action_store_round_trips,
        );
    };
    (@cases $factory:expr; $($case:ident),* $(,)?) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $case() {
                let factory = $factory;
                $crate::cases::$case(&factory).await;
            }
        )*
    };
}
