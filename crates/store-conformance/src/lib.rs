//! One conformance suite for every job store, written once and run against the in-memory,
//! SQLite and PostgreSQL stores.
//!
//! A backend implements [`StoreFactory`] (plain `async fn`s) and expands
//! [`job_store_conformance!`] in one of its test files; every case becomes a
//! `#[tokio::test]`:
//!
//! ```ignore
//! struct Memory;
//! impl bgtasks_store_conformance::StoreFactory for Memory { /* … */ }
//! bgtasks_store_conformance::job_store_conformance!(Memory);
//! ```
//!
//! The cases never read the wall clock: every time they pass is fixed, so a store must
//! take "now" from its arguments, as the contract says.

#![allow(clippy::unwrap_used, clippy::expect_used)]

pub mod cases;
pub mod support;
pub mod typed_args;

use std::sync::Arc;

use bgtasks_abstractions::BoxFuture;
use bgtasks_store::{DynJobLockProvider, JobStore};

pub use self::support::{LEASE, queued, t};

/// Two lock providers over one store's data: one beside the store, and an independent
/// one (as another process would hold).
pub type LockPair = (Arc<dyn DynJobLockProvider>, Arc<dyn DynJobLockProvider>);

/// Creates the stores the suite runs against. Implement it with plain `async fn`s; the
/// cases take it as [`DynStoreFactory`].
pub trait StoreFactory: Send + Sync {
    /// A fresh, empty store (called once per case).
    fn fresh(&self) -> impl Future<Output = Arc<dyn JobStore>> + Send;

    /// Another handle onto the same data as `store` — another connection pool, as a
    /// second process would open. In memory, the same store.
    fn reopen(&self, store: &Arc<dyn JobStore>) -> impl Future<Output = Arc<dyn JobStore>> + Send;

    /// A lock provider over the same data as `store`, and a second, independent one (as
    /// another process would hold), to check exclusion.
    fn locks(&self, store: &Arc<dyn JobStore>) -> impl Future<Output = LockPair> + Send;
}

/// The object-safe form of [`StoreFactory`], which the cases take. Every `StoreFactory`
/// is one: implement `StoreFactory`, not this.
pub trait DynStoreFactory: Send + Sync {
    /// See [`StoreFactory::fresh`].
    fn fresh(&self) -> BoxFuture<'_, Arc<dyn JobStore>>;
    /// See [`StoreFactory::reopen`].
    fn reopen<'a>(&'a self, store: &'a Arc<dyn JobStore>) -> BoxFuture<'a, Arc<dyn JobStore>>;
    /// See [`StoreFactory::locks`].
    fn locks<'a>(&'a self, store: &'a Arc<dyn JobStore>) -> BoxFuture<'a, LockPair>;
}

impl<T: StoreFactory> DynStoreFactory for T {
    fn fresh(&self) -> BoxFuture<'_, Arc<dyn JobStore>> {
        Box::pin(StoreFactory::fresh(self))
    }

    fn reopen<'a>(&'a self, store: &'a Arc<dyn JobStore>) -> BoxFuture<'a, Arc<dyn JobStore>> {
        Box::pin(StoreFactory::reopen(self, store))
    }

    fn locks<'a>(&'a self, store: &'a Arc<dyn JobStore>) -> BoxFuture<'a, LockPair> {
        Box::pin(StoreFactory::locks(self, store))
    }
}

/// Expands to one `#[tokio::test]` per conformance case, each on a fresh store from the
/// factory expression.
#[macro_export]
macro_rules! job_store_conformance {
    ($factory:expr) => {
        $crate::job_store_conformance!(@cases $factory;
            // The reference's queries (R27).
            waiting_filter_and_order,
            period_jobs_by_the_same_filter,
            running_jobs_of_a_node,
            round_trips_every_field_and_code,
            cleanup_removes_old_completed_jobs_not_recent_ones,
            logs_are_newest_first_and_limited,
            // Definitions.
            insert_find_remove,
            removal_of_stopped_jobs_only_refuses_the_others,
            removing_a_job_removes_its_logs,
            updates_are_conditioned_on_the_revision,
            a_changed_schedule_reschedules_a_waiting_job,
            concurrent_writers_of_one_job_never_mix,
            listing_filters_sorts_and_pages,
            // Claims.
            claims_take_due_runs_by_priority_and_move_the_schedule,
            a_period_tick_is_claimed_once_across_handles,
            pinned_jobs_are_claimed_only_by_their_node,
            claims_take_only_the_job_types_the_node_runs,
            past_end_time_is_never_claimed,
            concurrent_claimers_take_each_run_once,
            lease_tokens_are_unique_for_the_life_of_the_store,
            // Leases.
            completion_is_fenced_by_the_lease_token,
            renewed_leases_are_not_rescued_and_given_back_runs_come_back,
            a_job_removed_during_its_run_is_gone,
            completion_writes_only_the_run_state,
            batched_completions_and_logs,
            batched_give_backs_end_each_lease_once,
            // Control.
            pause_and_resume,
            stop_and_start,
            trigger_runs_a_job_now,
            // Races between control and runs.
            an_old_run_cannot_touch_a_job_queued_again_under_its_id,
            a_pause_from_elsewhere_interrupts_the_run_and_charges_nothing,
            a_paused_run_given_back_runs_once_resumed,
            a_stop_during_a_run_is_not_overwritten,
            a_trigger_during_a_run_makes_it_run_once_more,
            pause_and_resume_during_a_run_never_revive_a_finished_job,
            polling_never_touches_a_job_in_flight_or_finished,
            checking_stops_only_jobs_scheduled_nowhere,
            // Logs, nodes, locks.
            logs_are_queried_found_and_removed,
            a_run_whose_job_was_removed_leaves_no_log,
            a_job_queued_again_gets_no_log_of_the_old_run,
            a_run_that_holds_its_job_is_logged,
            nodes_heartbeat_and_jobs_no_live_node_can_run,
            locks_exclude_across_handles,
            // Robustness (R42, R43) and retention (R46).
            attempts_and_rescues_are_counted,
            rows_that_cannot_be_scheduled_are_set_aside_and_claims_go_on,
            logs_are_kept_by_age_and_by_count_per_job,
            random_wild_definitions_never_panic_a_claim,
            // Statistics.
            counts_by_status_type_group_and_node_and_the_queue_lag,
            run_history_by_minute_and_failure_type,
            // The outbox (R51).
            notifications_are_stored_with_the_outcome_or_not_at_all,
            notifications_are_throttled_and_deduplicated_in_the_store,
            one_completions_notifications_never_throttle_each_other,
            deliveries_are_fenced_retried_and_finished,
            notifications_are_listed_and_pruned,
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
