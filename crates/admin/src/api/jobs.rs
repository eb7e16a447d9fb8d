//! `/api/background-jobs`: list, read, create, change and remove jobs; the job types.

use std::collections::BTreeMap;

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use bgtasks_core::JobScheduler;
use bgtasks_store::RemoveIf;

use crate::api::{check_actions, find_job};
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::extract::{JsonBody, QueryPairs, Segment};
use crate::filter::{self, JobListParams};
use crate::model::JobDto;
use crate::model::create::JobCreateInput;
use crate::model::insight::{JobDefinitionDto, JobDefinitionList};
use crate::model::job::JobPageDto;
use crate::model::update::JobUpdateInput;
use crate::state::AdminState;

/// Lists jobs: filtered, sorted and paged.
#[utoipa::path(
    get, path = "/api/background-jobs", tag = "jobs",
    params(JobListParams),
    responses(
        (status = 200, description = "One page of jobs", body = JobPageDto),
        (status = 400, description = "A filter, the sorting or the page is invalid", body = ErrorBody),
        (status = 401, description = "No valid token", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
pub(crate) async fn list_jobs(
    State(state): State<AdminState>,
    QueryPairs(pairs): QueryPairs,
) -> ApiResult<Json<JobPageDto>> {
    let query = filter::job_query(&pairs, state.config.default_page_size)?;
    let page = state.store().list(&query).await?;
    Ok(Json(JobPageDto {
        items: page.items.into_iter().map(JobDto::from_record).collect(),
        total_count: page.total,
        skip_count: query.offset,
        max_result_count: query.page_size(),
    }))
}

/// Reads one job.
#[utoipa::path(
    get, path = "/api/background-jobs/{id}", tag = "jobs",
    params(("id" = String, Path, description = "The job's id (percent-encoded)")),
    responses(
        (status = 200, description = "The job", body = JobDto),
        (status = 404, description = "No such job", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
pub(crate) async fn get_job(
    State(state): State<AdminState>,
    Segment(id): Segment,
) -> ApiResult<Json<JobDto>> {
    Ok(Json(JobDto::from_record(find_job(&state, &id).await?)))
}

/// Creates and queues a job (validated like any queued job).
#[utoipa::path(
    post, path = "/api/background-jobs", tag = "jobs",
    request_body = JobCreateInput,
    responses(
        (status = 201, description = "The job, queued", body = JobDto),
        (status = 400, description = "A field is invalid", body = ErrorBody),
        (status = 403, description = "A read-only token", body = ErrorBody),
        (status = 409, description = "A job with this id exists", body = ErrorBody),
        (status = 413, description = "The body is too large", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
pub(crate) async fn create_job(
    State(state): State<AdminState>,
    JsonBody(input): JsonBody<JobCreateInput>,
) -> ApiResult<(StatusCode, Json<JobDto>)> {
    let job = input.into_job()?;
    check_actions(&state, &job.actions)?;
    let id = job.id.clone();
    let inserted = state.runtime.queue(job).await?;
    let stored = state.store().find(&id).await?;
    match (inserted, stored) {
        (true, Some(record)) => Ok((StatusCode::CREATED, Json(JobDto::from_record(record)))),
        (false, Some(record)) => Err(ApiError::conflict(
            format!("a job with id `{id}` exists already"),
            Some(JobDto::from_record(record)),
        )),
        (_, None) => Err(ApiError::job_not_found(&id)),
    }
}

/// Changes a job's definition; with `revision`, only if nobody changed it meanwhile.
#[utoipa::path(
    put, path = "/api/background-jobs/{id}", tag = "jobs",
    params(("id" = String, Path, description = "The job's id")),
    request_body = JobUpdateInput,
    responses(
        (status = 200, description = "The job as changed", body = JobDto),
        (status = 400, description = "A field is invalid", body = ErrorBody),
        (status = 404, description = "No such job", body = ErrorBody),
        (status = 409, description = "The revision moved on; `current` is the job now", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
pub(crate) async fn update_job(
    State(state): State<AdminState>,
    Segment(id): Segment,
    JsonBody(input): JsonBody<JobUpdateInput>,
) -> ApiResult<Json<JobDto>> {
    let current = find_job(&state, &id).await?;
    let (update, expected) = input.into_update(&current)?;
    if let Some(actions) = &update.actions {
        check_actions(&state, actions)?;
    }
    match state.runtime.update(&id, update, expected).await? {
        Ok(record) => Ok(Json(JobDto::from_record(record))),
        Err(refusal) => Err(ApiError::refused(&id, refusal)),
    }
}

/// Removes a Stopped job with its logs (any other status: 409 with the job as it is).
#[utoipa::path(
    delete, path = "/api/background-jobs/{id}", tag = "jobs",
    params(("id" = String, Path, description = "The job's id")),
    responses(
        (status = 200, description = "The job as it was", body = JobDto),
        (status = 404, description = "No such job", body = ErrorBody),
        (status = 409, description = "The job is not Stopped", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
pub(crate) async fn delete_job(
    State(state): State<AdminState>,
    Segment(id): Segment,
) -> ApiResult<Json<JobDto>> {
    let removed = remove_stopped(&state, &id).await?;
    Ok(Json(JobDto::from_record(removed)))
}

/// Removes job `id` if it is Stopped.
pub(crate) async fn remove_stopped(
    state: &AdminState,
    id: &str,
) -> ApiResult<bgtasks_store::JobRecord> {
    match state.runtime.remove_if(id, RemoveIf::Stopped).await? {
        Ok(record) => Ok(record),
        Err(refusal) => Err(ApiError::refused(id, refusal)),
    }
}

/// The job types: registered on this node, or on a live node.
#[utoipa::path(
    get, path = "/api/background-jobs/definitions", tag = "jobs",
    responses((status = 200, description = "The job types", body = JobDefinitionList)),
    security(("bearer" = []))
)]
pub(crate) async fn job_definitions(
    State(state): State<AdminState>,
) -> ApiResult<Json<JobDefinitionList>> {
    let mut types: BTreeMap<String, Vec<String>> = state
        .runtime
        .job_types()
        .iter()
        .map(|t| (t.clone(), Vec::new()))
        .collect();
    let live_since = state.live_since();
    for node in state.store().nodes().await? {
        if !node.is_live(live_since) {
            continue;
        }
        for job_type in &node.heartbeat.job_types {
            types
                .entry(job_type.clone())
                .or_default()
                .push(node.heartbeat.node.clone());
        }
    }
    let here = state.runtime.job_types();
    let items = types
        .into_iter()
        .map(|(name, nodes)| JobDefinitionDto {
            registered_here: here.contains(&name),
            display_name: name.clone(),
            description: String::new(),
            parameters: Vec::new(),
            nodes,
            name,
        })
        .collect();
    Ok(Json(JobDefinitionList { items }))
}
