//! The REST API under `/api`: every route, registered with its OpenAPI description so
//! that the document and the router come from the same code.

pub(crate) mod actions;
pub(crate) mod bulk;
pub(crate) mod control;
pub(crate) mod insight;
pub(crate) mod jobs;
pub(crate) mod logs;

use bgtasks_abstractions::JobAction;
use bgtasks_store::JobRecord;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::error::{ApiError, ApiResult};
use crate::state::AdminState;

/// Every API route with its description.
pub(crate) fn routes() -> OpenApiRouter<AdminState> {
    OpenApiRouter::new()
        .routes(routes!(jobs::list_jobs, jobs::create_job))
        .routes(routes!(jobs::get_job, jobs::update_job, jobs::delete_job))
        .routes(routes!(jobs::job_definitions))
        .routes(routes!(control::pause_job))
        .routes(routes!(control::resume_job))
        .routes(routes!(control::trigger_job))
        .routes(routes!(control::stop_job))
        .routes(routes!(control::start_job))
        .routes(routes!(control::retry_job))
        .routes(routes!(bulk::bulk_pause))
        .routes(routes!(bulk::bulk_resume))
        .routes(routes!(bulk::bulk_trigger))
        .routes(routes!(bulk::bulk_stop))
        .routes(routes!(bulk::bulk_start))
        .routes(routes!(bulk::bulk_retry))
        .routes(routes!(bulk::bulk_delete))
        .routes(routes!(logs::list_logs))
        .routes(routes!(logs::get_log, logs::delete_log))
        .routes(routes!(actions::action_definitions))
        .routes(routes!(actions::list_actions, actions::add_action))
        .routes(routes!(actions::update_action, actions::delete_action))
        .routes(routes!(insight::statistics))
        .routes(routes!(insight::nodes))
        .routes(routes!(insight::orphaned_jobs))
        .routes(routes!(insight::notifications))
        .routes(routes!(insight::session))
}

/// The job `id`, or a 404 naming it.
pub(crate) async fn find_job(state: &AdminState, id: &str) -> ApiResult<JobRecord> {
    state
        .store()
        .find(id)
        .await?
        .ok_or_else(|| ApiError::job_not_found(id))
}

/// With action definitions configured: every action names one, and gives its required
/// parameters.
pub(crate) fn check_actions(state: &AdminState, actions: &[JobAction]) -> ApiResult<()> {
    let Some(definitions) = &state.config.action_definitions else {
        return Ok(());
    };
    for action in actions {
        let Some(definition) = definitions.get(&action.name) else {
            let mut known: Vec<&str> = definitions.definitions().map(|d| d.name.as_str()).collect();
            known.sort_unstable();
            return Err(ApiError::bad_field(
                "name",
                &action.name,
                format!(
                    "no action definition has this name; known ones: {}",
                    known.join(", ")
                ),
            ));
        };
        let missing = definition.missing_parameters(action);
        if !missing.is_empty() {
            return Err(ApiError::bad_field(
                "parameters",
                &missing.join(", "),
                format!("action `{}` needs these parameters", action.name),
            ));
        }
    }
    Ok(())
}
