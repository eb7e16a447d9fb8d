//! Every error the API answers, as one JSON shape: what went wrong, and with which field
//! and value, or the job as it is now when its state changed.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use bgtasks_abstractions::JobDefinitionError;
use bgtasks_core::SchedulerError;
use bgtasks_store::{Refusal, StoreError};
use serde::Serialize;
use utoipa::ToSchema;

use crate::model::JobDto;

/// The body of every error answer: `{"error": {...}}`.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct ErrorBody {
    error: ErrorDetail,
}

/// What went wrong.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ErrorDetail {
    /// A stable code: `badRequest`, `unauthorized`, `forbidden`, `notFound`, `conflict`,
    /// `payloadTooLarge`, `unsupportedMediaType`, `methodNotAllowed`, `routeNotFound`,
    /// `storeUnavailable`, `internal`.
    code: &'static str,
    /// A sentence for people.
    message: String,
    /// The field that was wrong, for a bad request.
    #[serde(skip_serializing_if = "Option::is_none")]
    field: Option<String>,
    /// The value that was wrong, for a bad request.
    #[serde(skip_serializing_if = "Option::is_none")]
    value: Option<String>,
    /// The job as it is now, when a change was refused because its state changed.
    #[serde(skip_serializing_if = "Option::is_none")]
    current: Option<Box<JobDto>>,
}

/// An error answer: a status and its body.
#[derive(Debug)]
pub(crate) struct ApiError {
    status: StatusCode,
    detail: ErrorDetail,
}

/// The result of a handler.
pub(crate) type ApiResult<T> = Result<T, ApiError>;

impl ApiError {
    fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            detail: ErrorDetail {
                code,
                message: message.into(),
                field: None,
                value: None,
                current: None,
            },
        }
    }

    /// 400: `field` was `value`, which is wrong because of `reason`.
    pub(crate) fn bad_field(field: &str, value: &str, reason: impl AsRef<str>) -> Self {
        let shown = shorten(value);
        let mut error = Self::new(
            StatusCode::BAD_REQUEST,
            "badRequest",
            format!("invalid `{field}` `{shown}`: {}", reason.as_ref()),
        );
        error.detail.field = Some(field.to_owned());
        error.detail.value = Some(shown);
        error
    }

    /// 400: `field` is wrong because of `reason` (its value is in the reason).
    pub(crate) fn bad_field_reason(field: &str, reason: impl AsRef<str>) -> Self {
        let mut error = Self::new(
            StatusCode::BAD_REQUEST,
            "badRequest",
            format!("invalid `{field}`: {}", reason.as_ref()),
        );
        error.detail.field = Some(field.to_owned());
        error
    }

    /// 400 with a message that names no single field.
    pub(crate) fn bad_request(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "badRequest", message)
    }

    /// 401.
    pub(crate) fn unauthorized(message: impl Into<String>) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, "unauthorized", message)
    }

    /// 403.
    pub(crate) fn forbidden(message: impl Into<String>) -> Self {
        Self::new(StatusCode::FORBIDDEN, "forbidden", message)
    }

    /// 404 for a job id.
    pub(crate) fn job_not_found(id: &str) -> Self {
        Self::not_found("jobId", id, format!("there is no job `{}`", shorten(id)))
    }

    /// 404 naming what was looked for.
    pub(crate) fn not_found(field: &str, value: &str, message: impl Into<String>) -> Self {
        let mut error = Self::new(StatusCode::NOT_FOUND, "notFound", message);
        error.detail.field = Some(field.to_owned());
        error.detail.value = Some(shorten(value));
        error
    }

    /// 409 with a message and, when known, the job as it is now.
    pub(crate) fn conflict(message: impl Into<String>, current: Option<JobDto>) -> Self {
        let mut error = Self::new(StatusCode::CONFLICT, "conflict", message);
        error.detail.current = current.map(Box::new);
        error
    }

    /// 413.
    pub(crate) fn too_large(message: impl Into<String>) -> Self {
        Self::new(StatusCode::PAYLOAD_TOO_LARGE, "payloadTooLarge", message)
    }

    /// 415.
    pub(crate) fn unsupported_media_type(message: impl Into<String>) -> Self {
        Self::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupportedMediaType",
            message,
        )
    }

    /// 404 for a path the API does not have.
    pub(crate) fn route_not_found(path: &str) -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            "routeNotFound",
            format!("the API has no route `{}`", shorten(path)),
        )
    }

    /// 405.
    pub(crate) fn method_not_allowed(method: &str, path: &str) -> Self {
        Self::new(
            StatusCode::METHOD_NOT_ALLOWED,
            "methodNotAllowed",
            format!("{method} is not allowed on `{}`", shorten(path)),
        )
    }

    /// The answer to a transition the store refused for job `id`.
    pub(crate) fn refused(id: &str, refusal: Refusal) -> Self {
        match refusal {
            Refusal::NotFound => Self::job_not_found(id),
            Refusal::LeaseLost => Self::conflict(
                format!("job `{}`: {}", shorten(id), Refusal::LeaseLost),
                None,
            ),
            Refusal::StateChanged(record) => {
                let message = format!(
                    "job `{}`: {}",
                    shorten(id),
                    Refusal::StateChanged(record.clone())
                );
                Self::conflict(message, Some(JobDto::from_record(*record)))
            }
        }
    }

    /// The HTTP status.
    pub(crate) fn status(&self) -> StatusCode {
        self.status
    }

    /// The message and the job as it is now, if the error carries it.
    pub(crate) fn into_parts(self) -> (String, Option<Box<JobDto>>) {
        (self.detail.message, self.detail.current)
    }

    /// The message.
    #[cfg(test)]
    pub(crate) fn message(&self) -> &str {
        &self.detail.message
    }
}

impl From<StoreError> for ApiError {
    fn from(error: StoreError) -> Self {
        tracing::warn!(%error, "admin API: the job store failed");
        if error.is_transient() {
            Self::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "storeUnavailable",
                error.to_string(),
            )
        } else {
            Self::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "internal",
                error.to_string(),
            )
        }
    }
}

impl From<SchedulerError> for ApiError {
    fn from(error: SchedulerError) -> Self {
        match error {
            SchedulerError::InvalidJob(invalid) => definition_error(&invalid),
            SchedulerError::Store(store) => store.into(),
            SchedulerError::ShutDown => Self::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "shutDown",
                "the runtime has shut down: this node takes no changes",
            ),
            other => Self::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "internal",
                other.to_string(),
            ),
        }
    }
}

/// A definition the runtime refused: 400 naming the API's field and the value.
fn definition_error(error: &JobDefinitionError) -> ApiError {
    use JobDefinitionError as E;
    let (field, value) = match error {
        E::EmptyId { .. } => ("id", String::new()),
        E::EmptyJobType { .. } => ("type", String::new()),
        E::TooLong { field, len, .. } => (api_field(field), format!("{len} characters")),
        E::MissingCron { .. } => ("cron", String::new()),
        E::InvalidCron { source, .. } => ("cron", source.to_string()),
        E::Negative { field, value, .. } | E::TooLarge { field, value, .. } => {
            (api_field(field), value.to_string())
        }
        E::TimeOutOfRange { field, value, .. } => (api_field(field), value.clone()),
        E::ZeroInterval { value, .. } => ("interval", value.to_string()),
        E::EndBeforeBegin { end, .. } => ("endTime", end.clone()),
        E::TimeLimitOutOfRange { value, .. } => ("timeLimit", value.to_string()),
        E::InvalidActions { .. } => ("actions", String::new()),
        E::ArgsNotObject { .. } | E::ArgsTooLarge { .. } => ("args", String::new()),
        _ => ("job", String::new()),
    };
    let mut api = ApiError::bad_request(error.to_string());
    api.detail.field = Some(field.to_owned());
    if !value.is_empty() {
        api.detail.value = Some(shorten(&value));
    }
    api
}

/// The API's name of a field the validation names in words.
fn api_field(words: &str) -> &'static str {
    match words {
        "id" => "id",
        "job type" => "type",
        "name" => "name",
        "group" => "group",
        "description" => "description",
        "interval" | "base interval" => "interval",
        "lock timeout" => "lockTimeOut",
        "max try count" => "maxTryCount",
        "max count" => "maxCount",
        "begin time" => "beginTime",
        "end time" => "endTime",
        "node name" => "nodeName",
        "cron" => "cron",
        _ => "job",
    }
}

/// At most 200 characters of a value, for messages.
pub(crate) fn shorten(value: &str) -> String {
    const MAX: usize = 200;
    if value.chars().count() <= MAX {
        value.to_owned()
    } else {
        let cut: String = value.chars().take(MAX).collect();
        format!("{cut}…")
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = self.status;
        let mut response = (status, axum::Json(ErrorBody { error: self.detail })).into_response();
        if status == StatusCode::UNAUTHORIZED {
            response.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Bearer realm=\"bgtasks\""),
            );
        }
        response
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bad_field_names_the_field_and_the_value() {
        let error = ApiError::bad_field("sorting", "colour desc", "no such field");
        assert_eq!(error.status(), StatusCode::BAD_REQUEST);
        assert_eq!(
            error.message(),
            "invalid `sorting` `colour desc`: no such field"
        );
    }

    #[test]
    fn long_values_are_shortened() {
        let long = "x".repeat(500);
        let shown = shorten(&long);
        assert_eq!(shown.chars().count(), 201);
        assert!(shown.ends_with('…'));
    }
}
