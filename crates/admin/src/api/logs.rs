//! `/api/background-jobs/logs`: the run logs, newest first.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use bgtasks_store::{LogQuery, MAX_PAGE_SIZE};
use serde::Deserialize;
use utoipa::IntoParams;

use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::extract::{QueryPairs, Segment};
use crate::model::logs::{JobLogDto, JobLogPageDto};
use crate::params;
use crate::state::AdminState;

/// The run logs' query parameters (the reference's `BackgroundJobLogGetListInput`, less
/// the text filters our store does not index).
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(rename_all = "camelCase")]
#[allow(dead_code)] // Describes the parameters; the handler reads them with `log_query`.
pub(crate) struct LogListParams {
    /// The logs of this job only.
    job_id: Option<String>,
    /// With (`true`) or without (`false`) an error.
    has_exceptions: Option<bool>,
    /// Runs at or after this time (RFC 3339).
    begin_run_time: Option<String>,
    /// Runs at or before this time.
    end_run_time: Option<String>,
    /// How many matching logs to skip.
    skip_count: Option<usize>,
    /// The page size (default 20, capped at 1,000).
    max_result_count: Option<usize>,
}

const LOG_PARAMS: [&str; 6] = [
    "jobId",
    "hasExceptions",
    "beginRunTime",
    "endRunTime",
    "skipCount",
    "maxResultCount",
];

/// Reads the run logs' query.
fn log_query(pairs: &[(String, String)], default_page: usize) -> ApiResult<LogQuery> {
    let mut query = LogQuery {
        limit: default_page,
        ..LogQuery::default()
    };
    let mut seen: Vec<&str> = Vec::new();
    for (key, value) in pairs {
        let key = if key == "hasException" {
            "hasExceptions"
        } else {
            key.as_str()
        };
        if !LOG_PARAMS.contains(&key) {
            return Err(ApiError::bad_field(
                key,
                value,
                format!("unknown parameter; known ones: {}", LOG_PARAMS.join(", ")),
            ));
        }
        if seen.contains(&key) {
            return Err(ApiError::bad_field(key, value, "given more than once"));
        }
        seen.push(key);
        let value = value.trim();
        if value.is_empty() {
            continue;
        }
        match key {
            "jobId" => query.job_id = Some(value.to_owned()),
            "hasExceptions" => query.has_exception = Some(params::flag(key, value)?),
            "beginRunTime" => query.run_time.from = Some(params::time(key, value)?),
            "endRunTime" => query.run_time.to = Some(params::time(key, value)?),
            "skipCount" => query.offset = params::count(key, value, 1_000_000_000)?,
            _ => query.limit = params::count(key, value, usize::MAX)?.min(MAX_PAGE_SIZE),
        }
    }
    Ok(query)
}

/// Lists run logs, newest first.
#[utoipa::path(
    get, path = "/api/background-jobs/logs", tag = "logs",
    params(LogListParams),
    responses(
        (status = 200, description = "One page of run logs", body = JobLogPageDto),
        (status = 400, description = "A parameter is invalid", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
pub(crate) async fn list_logs(
    State(state): State<AdminState>,
    QueryPairs(pairs): QueryPairs,
) -> ApiResult<Json<JobLogPageDto>> {
    let query = log_query(&pairs, state.config.default_page_size)?;
    Ok(Json(state.store().query_logs(&query).await?.into()))
}

/// The number of a log id segment.
fn log_id(text: &str) -> ApiResult<i64> {
    text.trim()
        .parse::<i64>()
        .map_err(|_| ApiError::bad_field("id", text, "a run log's id is a whole number"))
}

/// Reads one run log.
#[utoipa::path(
    get, path = "/api/background-jobs/logs/{id}", tag = "logs",
    params(("id" = i64, Path, description = "The log's id")),
    responses(
        (status = 200, description = "The run log", body = JobLogDto),
        (status = 400, description = "The id is not a number", body = ErrorBody),
        (status = 404, description = "No such log", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
pub(crate) async fn get_log(
    State(state): State<AdminState>,
    Segment(id): Segment,
) -> ApiResult<Json<JobLogDto>> {
    let number = log_id(&id)?;
    match state.store().find_log(number).await? {
        Some(entry) => Ok(Json(entry.into())),
        None => Err(ApiError::not_found(
            "id",
            &id,
            format!("there is no run log {number}"),
        )),
    }
}

/// Removes one run log.
#[utoipa::path(
    delete, path = "/api/background-jobs/logs/{id}", tag = "logs",
    params(("id" = i64, Path, description = "The log's id")),
    responses(
        (status = 204, description = "Removed"),
        (status = 403, description = "A read-only token", body = ErrorBody),
        (status = 404, description = "No such log", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
pub(crate) async fn delete_log(
    State(state): State<AdminState>,
    Segment(id): Segment,
) -> ApiResult<StatusCode> {
    let number = log_id(&id)?;
    if state.store().remove_log(number).await? {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(ApiError::not_found(
            "id",
            &id,
            format!("there is no run log {number}"),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_log_filters() {
        let pairs = vec![
            ("jobId".to_owned(), "j".to_owned()),
            ("hasException".to_owned(), "true".to_owned()),
            ("maxResultCount".to_owned(), "99999".to_owned()),
        ];
        let query = log_query(&pairs, 20).unwrap();
        assert_eq!(query.job_id.as_deref(), Some("j"));
        assert_eq!(query.has_exception, Some(true));
        assert_eq!(query.limit, MAX_PAGE_SIZE);
        let bad = vec![("endRunTime".to_owned(), "soon".to_owned())];
        assert!(
            log_query(&bad, 20)
                .unwrap_err()
                .message()
                .contains("`endRunTime` `soon`")
        );
    }
}
