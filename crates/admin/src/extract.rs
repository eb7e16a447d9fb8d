//! Extractors whose refusals are the API's errors: a JSON body (400 naming the field that
//! does not fit, 413 when too large, 415 when not JSON), query pairs and path segments.

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{FromRequest, FromRequestParts, Path, Query, Request};
use axum::http::request::Parts;
use axum::http::{StatusCode, header};
use serde::de::DeserializeOwned;

use crate::error::ApiError;

/// A JSON request body of type `T`.
#[derive(Debug)]
pub(crate) struct JsonBody<T>(pub(crate) T);

impl<T, S> FromRequest<S> for JsonBody<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        let is_json = request
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|value| value.to_str().ok())
            .and_then(|value| value.split(';').next())
            .map(|mime| {
                let mime = mime.trim().to_ascii_lowercase();
                mime == "application/json" || mime.ends_with("+json")
            })
            .unwrap_or(false);
        if !is_json {
            return Err(ApiError::unsupported_media_type(
                "the request body must be JSON: send `Content-Type: application/json`",
            ));
        }
        let bytes = Bytes::from_request(request, state)
            .await
            .map_err(body_error)?;
        parse_json(&bytes).map(JsonBody)
    }
}

fn body_error(rejection: BytesRejection) -> ApiError {
    if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
        ApiError::too_large("the request body is larger than this server accepts")
    } else {
        ApiError::bad_request(format!("the request body could not be read: {rejection}"))
    }
}

/// Decodes `bytes` as a `T`; a value that does not fit is a 400 naming its field.
pub(crate) fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    let mut deserializer = serde_json::Deserializer::from_slice(bytes);
    let value = serde_path_to_error::deserialize(&mut deserializer).map_err(|error| {
        let path = error.path().to_string();
        let inner = error.into_inner();
        if inner.is_syntax() || inner.is_eof() || path == "." || path.is_empty() {
            ApiError::bad_request(format!("the request body is not valid JSON: {inner}"))
        } else {
            ApiError::bad_field_reason(&path, inner.to_string())
        }
    })?;
    deserializer.end().map_err(|error| {
        ApiError::bad_request(format!("the request body is not valid JSON: {error}"))
    })?;
    Ok(value)
}

/// The query string as name–value pairs, in order (repeated names kept).
#[derive(Debug, Default)]
pub(crate) struct QueryPairs(pub(crate) Vec<(String, String)>);

impl<S: Send + Sync> FromRequestParts<S> for QueryPairs {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let Query(pairs) = Query::<Vec<(String, String)>>::from_request_parts(parts, state)
            .await
            .map_err(|rejection| {
                ApiError::bad_request(format!("the query string is not valid: {rejection}"))
            })?;
        Ok(Self(pairs))
    }
}

/// One path segment (percent-decoded): a job id.
#[derive(Debug)]
pub(crate) struct Segment(pub(crate) String);

impl<S: Send + Sync> FromRequestParts<S> for Segment {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let Path(value) = Path::<String>::from_request_parts(parts, state)
            .await
            .map_err(|rejection| {
                ApiError::bad_request(format!("the path is not valid: {rejection}"))
            })?;
        Ok(Self(value))
    }
}

/// Two path segments (percent-decoded): a job id and an action's position.
#[derive(Debug)]
pub(crate) struct ActionAddress {
    /// The job id.
    pub(crate) job_id: String,
    /// The action's position.
    pub(crate) index: usize,
}

impl<S: Send + Sync> FromRequestParts<S> for ActionAddress {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let Path((job_id, index)) = Path::<(String, String)>::from_request_parts(parts, state)
            .await
            .map_err(|rejection| {
                ApiError::bad_request(format!("the path is not valid: {rejection}"))
            })?;
        let index = index.trim().parse::<usize>().map_err(|_| {
            ApiError::bad_field(
                "index",
                &index,
                "expected the action's position: 0, 1, 2...",
            )
        })?;
        Ok(Self { job_id, index })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, serde::Deserialize)]
    #[serde(rename_all = "camelCase", deny_unknown_fields)]
    #[allow(dead_code)]
    struct Sample {
        max_try_count: i32,
        name: Option<String>,
    }

    #[test]
    fn a_value_that_does_not_fit_names_its_field() {
        let error = parse_json::<Sample>(br#"{"maxTryCount": "many"}"#).unwrap_err();
        assert_eq!(error.status(), StatusCode::BAD_REQUEST);
        assert!(
            error.message().contains("`maxTryCount`"),
            "{}",
            error.message()
        );
        let error = parse_json::<Sample>(br#"{"maxTryCount": 1, "colour": 2}"#).unwrap_err();
        assert!(error.message().contains("colour"), "{}", error.message());
    }

    #[test]
    fn malformed_json_says_why() {
        let error = parse_json::<Sample>(br#"{"maxTryCount": 1"#).unwrap_err();
        assert!(
            error
                .message()
                .starts_with("the request body is not valid JSON")
        );
        let error = parse_json::<Sample>(br#"{"maxTryCount": 1} trailing"#).unwrap_err();
        assert!(
            error
                .message()
                .starts_with("the request body is not valid JSON")
        );
    }
}
