//! The service's errors as HTTP answers: a status and `{"error": "…"}`.

use axum::Json;
use axum::extract::rejection::JsonRejection;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use bgtasks::sqlite::sqlx;
use bgtasks::{EnqueueError, StoreError};
use serde_json::json;

/// A request that could not be served, with what to tell the client.
#[derive(Debug)]
pub struct ApiError {
    status: StatusCode,
    message: String,
}

impl ApiError {
    /// An error with this status and message.
    pub fn new(status: StatusCode, message: impl Into<String>) -> Self {
        Self {
            status,
            message: message.into(),
        }
    }

    /// 422: the request is well formed but its content is refused.
    pub fn invalid(message: impl Into<String>) -> Self {
        Self::new(StatusCode::UNPROCESSABLE_ENTITY, message)
    }

    /// 404.
    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, message)
    }

    /// 409: the request conflicts with what is stored.
    pub fn conflict(message: impl Into<String>) -> Self {
        Self::new(StatusCode::CONFLICT, message)
    }

    /// A failure of the service itself: logged in full, answered 503 when trying again
    /// may work and 500 otherwise.
    fn internal(what: &str, error: &dyn std::error::Error, transient: bool) -> Self {
        tracing::error!(error = %error, "{what}");
        let status = if transient {
            StatusCode::SERVICE_UNAVAILABLE
        } else {
            StatusCode::INTERNAL_SERVER_ERROR
        };
        Self::new(status, format!("{what}: {error}"))
    }

    /// The status.
    pub fn status(&self) -> StatusCode {
        self.status
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        (self.status, Json(json!({ "error": self.message }))).into_response()
    }
}

/// A body that is not the JSON expected: the extractor's status (400, 415 or 422) and
/// what was wrong.
impl From<JsonRejection> for ApiError {
    fn from(rejection: JsonRejection) -> Self {
        Self::new(rejection.status(), rejection.body_text())
    }
}

impl From<sqlx::Error> for ApiError {
    fn from(error: sqlx::Error) -> Self {
        let busy = matches!(&error, sqlx::Error::PoolTimedOut)
            || error.to_string().contains("database is locked");
        Self::internal("the database failed", &error, busy)
    }
}

impl From<StoreError> for ApiError {
    fn from(error: StoreError) -> Self {
        let transient = error.is_transient();
        Self::internal("the job store failed", &error, transient)
    }
}

impl From<EnqueueError> for ApiError {
    fn from(error: EnqueueError) -> Self {
        Self::internal("the job could not be queued", &error, false)
    }
}
