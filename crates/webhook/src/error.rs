//! What can go wrong while preparing or posting a webhook message. No message carries a
//! secret: addresses are shown as scheme and host, header values and the signing secret
//! never, and quoted answers are scrubbed of every piece of the address.

use std::fmt;
use std::time::Duration;

use reqwest::StatusCode;

use crate::preset::{UnknownWebhookPreset, WebhookPreset};
use crate::target::InvalidWebhookUrl;

/// Why a request did not get an answer.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum RequestFailure {
    /// No answer within the timeout.
    Timeout(Duration),
    /// The server could not be reached (refused, unresolvable, TLS failed).
    Connect,
    /// Too many redirects.
    Redirect,
    /// The request or the answer broke off.
    Other,
}

impl fmt::Display for RequestFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RequestFailure::Timeout(timeout) => write!(f, "did not answer within {timeout:?}"),
            RequestFailure::Connect => f.write_str("could not be reached"),
            RequestFailure::Redirect => f.write_str("redirected too many times"),
            RequestFailure::Other => f.write_str("failed"),
        }
    }
}

/// Why the webhook message of a job was not delivered. Every message names the job.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum WebhookError {
    /// The action has no `url`.
    #[error("job `{job_id}`: the webhook action has no `url` parameter")]
    MissingUrl {
        /// The job.
        job_id: String,
    },
    /// The `url` is not a usable address.
    #[error("job `{job_id}`: invalid webhook `url`: {problem}")]
    InvalidUrl {
        /// The job.
        job_id: String,
        /// What is wrong (scheme and host at most).
        problem: InvalidWebhookUrl,
    },
    /// The `preset` names no preset.
    #[error("job `{job_id}`: {problem}")]
    UnknownPreset {
        /// The job.
        job_id: String,
        /// The preset as written.
        problem: UnknownWebhookPreset,
    },
    /// The `headers` parameter is not a JSON object of valid headers.
    #[error("job `{job_id}`: invalid `headers` parameter: {reason}")]
    InvalidHeaders {
        /// The job.
        job_id: String,
        /// What is wrong, naming the header but never its value.
        reason: String,
    },
    /// The template failed to render.
    #[error("job `{job_id}`: the webhook template `{template}` failed to render: {source}")]
    Render {
        /// The job.
        job_id: String,
        /// The template's name.
        template: String,
        /// What handlebars said.
        #[source]
        source: Box<handlebars::RenderError>,
    },
    /// The `secret` could not sign the request.
    #[error("job `{job_id}`: the webhook `secret` cannot sign the request: {reason}")]
    Signing {
        /// The job.
        job_id: String,
        /// Why.
        reason: String,
    },
    /// No answer.
    #[error("job `{job_id}`: the {preset} webhook at {endpoint} {failure}: {detail}")]
    Request {
        /// The job.
        job_id: String,
        /// Scheme and host.
        endpoint: String,
        /// The preset.
        preset: WebhookPreset,
        /// What kind of failure.
        failure: RequestFailure,
        /// What the HTTP client said, scrubbed.
        detail: String,
    },
    /// An answer that is not a success.
    #[error("job `{job_id}`: the {preset} webhook at {endpoint} answered {}: {excerpt}", status_text(*status))]
    Status {
        /// The job.
        job_id: String,
        /// Scheme and host.
        endpoint: String,
        /// The preset.
        preset: WebhookPreset,
        /// The HTTP status.
        status: u16,
        /// The start of the body, scrubbed.
        excerpt: String,
    },
    /// A WeCom or DingTalk robot answered 200 with a non-zero `errcode`.
    #[error(
        "job `{job_id}`: the {preset} webhook at {endpoint} refused the message: errcode {errcode}: {errmsg}"
    )]
    Refused {
        /// The job.
        job_id: String,
        /// Scheme and host.
        endpoint: String,
        /// The preset.
        preset: WebhookPreset,
        /// The robot's `errcode`.
        errcode: i64,
        /// Its `errmsg`, scrubbed.
        errmsg: String,
    },
}

fn status_text(status: u16) -> String {
    match StatusCode::from_u16(status)
        .ok()
        .and_then(|s| s.canonical_reason())
    {
        Some(reason) => format!("{status} {reason}"),
        None => status.to_string(),
    }
}

impl WebhookError {
    /// Whether posting again cannot help: a missing or invalid parameter, a template that
    /// does not render, too many redirects, an HTTP 4xx other than 408 and 429 (or a
    /// redirect that is not followed), or a robot `errcode` other than a rate limit. A
    /// server that cannot be reached, a timeout, 408, 429, a 5xx or a rate-limit
    /// `errcode` is worth retrying.
    pub fn is_permanent(&self) -> bool {
        match self {
            WebhookError::Request { failure, .. } => *failure == RequestFailure::Redirect,
            WebhookError::Status { status, .. } => {
                !(*status == 408 || *status == 429 || (500..=599).contains(status))
            }
            WebhookError::Refused {
                preset, errcode, ..
            } => !preset.is_retryable_errcode(*errcode),
            WebhookError::MissingUrl { .. }
            | WebhookError::InvalidUrl { .. }
            | WebhookError::UnknownPreset { .. }
            | WebhookError::InvalidHeaders { .. }
            | WebhookError::Render { .. }
            | WebhookError::Signing { .. } => true,
        }
    }

    /// The job the message was about.
    pub fn job_id(&self) -> &str {
        match self {
            WebhookError::MissingUrl { job_id }
            | WebhookError::InvalidUrl { job_id, .. }
            | WebhookError::UnknownPreset { job_id, .. }
            | WebhookError::InvalidHeaders { job_id, .. }
            | WebhookError::Render { job_id, .. }
            | WebhookError::Signing { job_id, .. }
            | WebhookError::Request { job_id, .. }
            | WebhookError::Status { job_id, .. }
            | WebhookError::Refused { job_id, .. } => job_id,
        }
    }
}

/// A webhook notifier could not be set up.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum WebhookSetupError {
    /// An option is out of range.
    #[error("invalid webhook option `{option}` = `{value}`: {reason}")]
    InvalidOption {
        /// The option's name.
        option: &'static str,
        /// Its value.
        value: String,
        /// Why it is refused.
        reason: &'static str,
    },
    /// The HTTP client could not be built.
    #[error("the webhook HTTP client could not be built: {0}")]
    Client(#[source] reqwest::Error),
}

#[cfg(test)]
mod tests {
    use super::*;

    fn status(status: u16) -> WebhookError {
        WebhookError::Status {
            job_id: "j".into(),
            endpoint: "https://hooks.example.com".into(),
            preset: WebhookPreset::Json,
            status,
            excerpt: "nope".into(),
        }
    }

    #[test]
    fn statuses_are_classified() {
        // spec: R51
        for transient in [408, 429, 500, 502, 503, 504] {
            assert!(!status(transient).is_permanent(), "{transient}");
        }
        for permanent in [301, 400, 401, 403, 404, 410, 413] {
            assert!(status(permanent).is_permanent(), "{permanent}");
        }
        assert_eq!(
            status(404).to_string(),
            "job `j`: the json webhook at https://hooks.example.com answered 404 Not Found: nope"
        );
    }
}
