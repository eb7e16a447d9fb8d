//! The generic JSON document a webhook receives, and the facts every preset's text is
//! made from.

use bgtasks_actions::{JobActionExecuteContext, NotificationKind};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// What the `json` preset posts (camelCase keys); the other presets post only its
/// `title` and `text`, in their own shape.
///
/// ```json
/// {
///   "notificationId": "nightly/42/0/JobExecutedWebhookNotifier/failure",
///   "kind": "failure", "attempt": 1,
///   "jobId": "nightly", "jobGroup": "reports", "jobName": "Nightly report", "jobType": "report",
///   "tenantId": null, "runTime": "2026-01-01T02:00:00Z", "node": "worker-1", "durationMs": 1200,
///   "failureType": "Network", "message": "connection refused", "errorCode": null, "httpStatus": 503,
///   "tryCount": 3, "maxTryCount": 3, "firstFailure": false, "finalFailure": true,
///   "culture": "en", "title": "Background job exception", "text": "### Background job exception\n..."
/// }
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WebhookPayload {
    /// The notification's identity: the same on every attempt (also sent as the
    /// `Idempotency-Key` header), so a receiver can drop a repeat.
    pub notification_id: String,
    /// `failure`, `success` or `completion`.
    pub kind: String,
    /// Which delivery attempt this is (1 on the first).
    pub attempt: u32,
    /// The job's id.
    pub job_id: String,
    /// The job's group.
    pub job_group: String,
    /// The job's name.
    pub job_name: String,
    /// The job's type.
    pub job_type: String,
    /// The job's tenant, if any.
    pub tenant_id: Option<String>,
    /// When the run started.
    pub run_time: DateTime<Utc>,
    /// The node that ran it.
    pub node: String,
    /// How long it took, in milliseconds.
    pub duration_ms: u64,
    /// The failure type the finder found (`Business`, `Application`, `Network`,
    /// `System`), if any.
    pub failure_type: Option<String>,
    /// The message of the error's innermost cause (what the failure mail shows).
    pub message: Option<String>,
    /// The error's code, if any.
    pub error_code: Option<String>,
    /// The HTTP status the error carried, if any.
    pub http_status: Option<u16>,
    /// The job's try count after the run.
    pub try_count: i32,
    /// The job's max try count (0: no limit).
    pub max_try_count: i32,
    /// The first failure since the last success.
    pub first_failure: bool,
    /// The failure abandoned the job: it will not be retried.
    pub final_failure: bool,
    /// The culture of the text.
    pub culture: String,
    /// The title (DingTalk shows it in the chat list).
    pub title: String,
    /// The rendered text.
    pub text: String,
}

/// The name of a notification kind in payloads.
pub(crate) fn kind_name(kind: NotificationKind) -> &'static str {
    match kind {
        NotificationKind::Failure => "failure",
        NotificationKind::Success => "success",
        NotificationKind::Completion => "completion",
    }
}

impl WebhookPayload {
    /// The payload of the notification of `context`, with its rendered `title` and `text`.
    pub fn of(
        context: &JobActionExecuteContext<'_>,
        culture: impl Into<String>,
        title: impl Into<String>,
        text: impl Into<String>,
    ) -> Self {
        let run = context.run();
        let failure = run.failure.as_ref();
        Self {
            notification_id: context.notification_id().to_owned(),
            kind: kind_name(context.kind()).to_owned(),
            attempt: context.attempt(),
            job_id: run.job_id.clone(),
            job_group: run.group.clone(),
            job_name: run.name.clone(),
            job_type: run.job_type.clone(),
            tenant_id: run.tenant_id.clone(),
            run_time: run.run_time,
            node: run.node.clone(),
            duration_ms: run.duration_ms,
            failure_type: failure.and_then(|f| f.failure_type).map(|t| t.name()),
            message: failure.map(|f| f.innermost_message.clone()),
            error_code: failure.and_then(|f| f.code.clone()),
            http_status: failure.and_then(|f| f.http_status),
            try_count: run.try_count,
            max_try_count: run.max_try_count,
            first_failure: run.first_failure,
            final_failure: run.final_failure,
            culture: culture.into(),
            title: title.into(),
            text: text.into(),
        }
    }
}
