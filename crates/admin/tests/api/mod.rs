//! The admin API's suite, written once and run on every store (`api_suite!`): each case
//! gets a started runtime on a fresh store with its admin served on 127.0.0.1:0.

pub mod auth;
pub mod bulk;
pub mod control;
pub mod insight;
pub mod jobs;
pub mod logs_actions;
pub mod routes;

/// One `#[tokio::test]` per case, on the store `$backend` makes.
#[macro_export]
macro_rules! api_suite {
    ($backend:expr) => {
        $crate::api_suite!(@cases $backend;
            routes::every_route_is_in_the_openapi_document,
            auth::tokens_and_roles,
            auth::open_mode_and_loopback_only,
            jobs::lists_with_filters_sorting_and_paging,
            jobs::reads_creates_updates_and_removes,
            jobs::refuses_bad_bodies,
            control::single_job_transitions,
            control::pause_reaches_a_running_job,
            control::retry_of_an_abandoned_job,
            bulk::bulk_by_ids_and_by_filter,
            bulk::bulk_is_bounded_and_validated,
            logs_actions::run_logs,
            logs_actions::actions_by_job_and_position,
            insight::statistics_nodes_and_orphans,
            insight::dashboard_and_fallbacks,
        );
    };
    (@cases $backend:expr; $($module:ident :: $case:ident),* $(,)?) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $case() {
                let server = support::TestServer::start($backend).await;
                api::$module::$case(&server).await;
                server.stop().await;
            }
        )*
    };
}
