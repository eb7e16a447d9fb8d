//! `/api/background-jobs/actions`: a job's actions (its notifiers, such as the failure
//! e-mail) and the action definitions.
//!
//! Deviation from the reference: actions are part of their job's definition and have no
//! id of their own, so `PUT` and `DELETE` address one by job id and position
//! (`/actions/{jobId}/{index}`). Each change is a definition update conditioned on the
//! job's revision, so two operators editing at once never lose each other's change.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use bgtasks_abstractions::JobAction;
use bgtasks_core::JobScheduler;
use bgtasks_store::{DefinitionUpdate, JobRecord, Refusal};

use crate::api::{check_actions, find_job};
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::extract::{ActionAddress, JsonBody, Segment};
use crate::model::JobDto;
use crate::model::actions::{
    ActionDefinitionDto, ActionDefinitionList, JobActionInput, JobActionList, JobActionView,
};
use crate::model::input::action_of;
use crate::state::AdminState;

/// The registered action definitions.
#[utoipa::path(
    get, path = "/api/background-jobs/actions/definitions", tag = "actions",
    responses((status = 200, description = "The action definitions, by name", body = ActionDefinitionList)),
    security(("bearer" = []))
)]
pub(crate) async fn action_definitions(
    State(state): State<AdminState>,
) -> Json<ActionDefinitionList> {
    let mut items: Vec<ActionDefinitionDto> = state
        .config
        .action_definitions
        .as_ref()
        .map(|d| d.definitions().map(ActionDefinitionDto::from).collect())
        .unwrap_or_default();
    items.sort_by(|a, b| a.name.cmp(&b.name));
    Json(ActionDefinitionList { items })
}

/// A job's actions.
#[utoipa::path(
    get, path = "/api/background-jobs/actions/{jobId}", tag = "actions",
    params(("jobId" = String, Path, description = "The job's id")),
    responses(
        (status = 200, description = "The job's actions, in order", body = JobActionList),
        (status = 404, description = "No such job", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
pub(crate) async fn list_actions(
    State(state): State<AdminState>,
    Segment(job_id): Segment,
) -> ApiResult<Json<JobActionList>> {
    Ok(Json(list_of(find_job(&state, &job_id).await?)))
}

fn list_of(record: JobRecord) -> JobActionList {
    JobActionList {
        items: record
            .job
            .actions
            .iter()
            .enumerate()
            .map(|(i, a)| JobActionView::of(&record.job.id, i, a))
            .collect(),
        revision: record.revision,
    }
}

/// Adds an action to a job.
#[utoipa::path(
    post, path = "/api/background-jobs/actions/{jobId}", tag = "actions",
    params(("jobId" = String, Path, description = "The job's id")),
    request_body = JobActionInput,
    responses(
        (status = 201, description = "The job's actions after the change", body = JobActionList),
        (status = 400, description = "Unknown definition or missing required parameters", body = ErrorBody),
        (status = 404, description = "No such job", body = ErrorBody),
        (status = 409, description = "The job's revision moved on", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
pub(crate) async fn add_action(
    State(state): State<AdminState>,
    Segment(job_id): Segment,
    JsonBody(input): JsonBody<JobActionInput>,
) -> ApiResult<(StatusCode, Json<JobActionList>)> {
    let expected = input.revision;
    let record = change_actions(&state, &job_id, expected, |actions| {
        let action = action_of(input.clone(), None)?;
        check_actions(&state, std::slice::from_ref(&action))?;
        let mut changed = actions.to_vec();
        changed.push(action);
        Ok(changed)
    })
    .await?;
    Ok((StatusCode::CREATED, Json(list_of(record))))
}

/// Replaces one action of a job.
#[utoipa::path(
    put, path = "/api/background-jobs/actions/{jobId}/{index}", tag = "actions",
    params(
        ("jobId" = String, Path, description = "The job's id"),
        ("index" = usize, Path, description = "The action's position among the job's actions"),
    ),
    request_body = JobActionInput,
    responses(
        (status = 200, description = "The job's actions after the change", body = JobActionList),
        (status = 400, description = "Unknown definition or missing required parameters", body = ErrorBody),
        (status = 404, description = "No such job or action", body = ErrorBody),
        (status = 409, description = "The job's revision moved on", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
pub(crate) async fn update_action(
    State(state): State<AdminState>,
    address: ActionAddress,
    JsonBody(input): JsonBody<JobActionInput>,
) -> ApiResult<Json<JobActionList>> {
    let expected = input.revision;
    let index = address.index;
    let record = change_actions(&state, &address.job_id, expected, |actions| {
        let previous = actions
            .get(index)
            .ok_or_else(|| no_action(&address.job_id, index, actions.len()))?;
        let action = action_of(input.clone(), Some(previous))?;
        check_actions(&state, std::slice::from_ref(&action))?;
        let mut changed = actions.to_vec();
        changed[index] = action;
        Ok(changed)
    })
    .await?;
    Ok(Json(list_of(record)))
}

/// Removes one action of a job.
#[utoipa::path(
    delete, path = "/api/background-jobs/actions/{jobId}/{index}", tag = "actions",
    params(
        ("jobId" = String, Path, description = "The job's id"),
        ("index" = usize, Path, description = "The action's position among the job's actions"),
    ),
    responses(
        (status = 200, description = "The job's actions after the change", body = JobActionList),
        (status = 404, description = "No such job or action", body = ErrorBody),
        (status = 409, description = "The job's revision moved on", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
pub(crate) async fn delete_action(
    State(state): State<AdminState>,
    address: ActionAddress,
) -> ApiResult<Json<JobActionList>> {
    let index = address.index;
    let record = change_actions(&state, &address.job_id, None, |actions| {
        if index >= actions.len() {
            return Err(no_action(&address.job_id, index, actions.len()));
        }
        let mut changed = actions.to_vec();
        changed.remove(index);
        Ok(changed)
    })
    .await?;
    Ok(Json(list_of(record)))
}

fn no_action(job_id: &str, index: usize, len: usize) -> ApiError {
    ApiError::not_found(
        "index",
        &index.to_string(),
        format!("job `{job_id}` has {len} action(s); there is none at position {index}"),
    )
}

/// Replaces job `job_id`'s actions with what `change` makes of them, conditioned on the
/// revision read (or `expected`); a race with another writer is tried again when the
/// caller named no revision.
async fn change_actions<F>(
    state: &AdminState,
    job_id: &str,
    expected: Option<i64>,
    change: F,
) -> ApiResult<JobRecord>
where
    F: Fn(&[JobAction]) -> ApiResult<Vec<JobAction>>,
{
    const ATTEMPTS: usize = 3;
    for attempt in 1..=ATTEMPTS {
        let current = find_job(state, job_id).await?;
        if let Some(expected) = expected
            && expected != current.revision
        {
            return Err(ApiError::conflict(
                format!(
                    "job `{job_id}` is at revision {}, not {expected}: it changed meanwhile",
                    current.revision
                ),
                Some(JobDto::from_record(current)),
            ));
        }
        let actions = change(&current.job.actions)?;
        let update = DefinitionUpdate {
            actions: Some(actions),
            ..DefinitionUpdate::default()
        };
        match state
            .runtime
            .update(job_id, update, Some(current.revision))
            .await?
        {
            Ok(record) => return Ok(record),
            Err(Refusal::StateChanged(_)) if expected.is_none() && attempt < ATTEMPTS => {}
            Err(refusal) => return Err(ApiError::refused(job_id, refusal)),
        }
    }
    Err(ApiError::conflict(
        format!("job `{job_id}` kept changing; try again"),
        None,
    ))
}
