//! Posting a request and judging the answer.

use std::error::Error as StdError;
use std::time::Duration;

use reqwest::redirect::{Attempt, Policy};
use reqwest::{Client, Response};
use serde::Deserialize;

use crate::error::{RequestFailure, WebhookError, WebhookSetupError};
use crate::options::WebhookOptions;
use crate::request::WebhookRequest;
use crate::target::{excerpt, scrub};

/// The most bytes of an answer read (to judge it and quote it).
const MAX_ANSWER_BYTES: usize = 64 * 1024;

/// The HTTP client for `options`: rustls, the timeout, and only `307`/`308` redirects
/// followed, at most `max_redirects` of them.
pub(crate) fn client(options: &WebhookOptions) -> Result<Client, WebhookSetupError> {
    options.validate()?;
    let max_redirects = options.max_redirects;
    let policy = Policy::custom(move |attempt: Attempt<'_>| {
        if !matches!(attempt.status().as_u16(), 307 | 308) {
            attempt.stop()
        } else if attempt.previous().len() > max_redirects {
            attempt.error("too many redirects")
        } else {
            attempt.follow()
        }
    });
    Client::builder()
        .timeout(options.timeout)
        .connect_timeout(options.timeout)
        .redirect(policy)
        .user_agent(options.user_agent.clone())
        .build()
        .map_err(WebhookSetupError::Client)
}

/// A WeCom or DingTalk robot's answer.
#[derive(Deserialize)]
struct RobotAnswer {
    errcode: Option<i64>,
    #[serde(default)]
    errmsg: Option<String>,
}

/// Posts `request` about job `job_id`; returns the HTTP status of a success.
pub(crate) async fn post(
    client: &Client,
    timeout: Duration,
    job_id: &str,
    request: WebhookRequest,
) -> Result<u16, WebhookError> {
    let endpoint = request.url.redacted();
    let preset = request.preset;
    let secrets = request.secrets;
    let failed = |error: reqwest::Error| {
        let failure = if error.is_timeout() {
            RequestFailure::Timeout(timeout)
        } else if error.is_redirect() {
            RequestFailure::Redirect
        } else if error.is_connect() {
            RequestFailure::Connect
        } else {
            RequestFailure::Other
        };
        WebhookError::Request {
            job_id: job_id.to_owned(),
            endpoint: endpoint.clone(),
            preset,
            failure,
            detail: scrub(&chain(&error.without_url()), &secrets),
        }
    };
    let response = client
        .post(request.url.url().clone())
        .headers(request.headers)
        .body(request.body)
        .send()
        .await
        .map_err(failed)?;
    let status = response.status();
    if status.is_success() && !preset.answers_with_errcode() {
        return Ok(status.as_u16());
    }
    let body = read_limited(response).await;
    if !status.is_success() {
        let excerpt = match &body {
            Ok(body) => excerpt(body, &secrets),
            Err(_) => "(the body could not be read)".to_owned(),
        };
        return Err(WebhookError::Status {
            job_id: job_id.to_owned(),
            endpoint,
            preset,
            status: status.as_u16(),
            excerpt,
        });
    }
    let body = body.map_err(failed)?;
    match serde_json::from_slice::<RobotAnswer>(&body) {
        Ok(RobotAnswer {
            errcode: Some(errcode),
            errmsg,
        }) if errcode != 0 => Err(WebhookError::Refused {
            job_id: job_id.to_owned(),
            endpoint,
            preset,
            errcode,
            errmsg: excerpt(errmsg.unwrap_or_default().as_bytes(), &secrets),
        }),
        _ => Ok(status.as_u16()),
    }
}

/// At most [`MAX_ANSWER_BYTES`] of the answer's body.
async fn read_limited(mut response: Response) -> Result<Vec<u8>, reqwest::Error> {
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await? {
        let room = MAX_ANSWER_BYTES.saturating_sub(body.len());
        body.extend_from_slice(&chunk[..chunk.len().min(room)]);
        if body.len() >= MAX_ANSWER_BYTES {
            break;
        }
    }
    Ok(body)
}

/// An error and its causes, outermost first, joined by ": ".
fn chain(error: &(dyn StdError + 'static)) -> String {
    let mut parts = vec![error.to_string()];
    let mut source = error.source();
    while let Some(cause) = source {
        let text = cause.to_string();
        if !parts.iter().any(|p| p == &text) {
            parts.push(text);
        }
        source = cause.source();
    }
    parts.join(": ")
}
