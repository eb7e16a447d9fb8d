//! Alerts in the outbox (R51): pending, delivered and failed, so that an operator sees
//! the ones still waiting and the ones that failed for good.

use std::collections::HashMap;

use bgtasks_store::{NotificationKind, NotificationPage, NotificationRecord, NotificationState};
use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::Value;
use utoipa::ToSchema;

use crate::model::actions::redact;

/// One notification.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct NotificationDto {
    /// Its stable identity (the e-mail's Message-ID).
    pub(crate) id: String,
    /// The job it is about.
    pub(crate) job_id: String,
    /// The action it carries out.
    pub(crate) action: String,
    /// `failure`, `success` or `completion`.
    pub(crate) kind: String,
    /// `pending`, `delivered` or `failed`.
    pub(crate) state: String,
    /// What the notifier needs (secret-looking fields hidden).
    #[schema(value_type = Object)]
    pub(crate) payload: Value,
    /// When it was decided.
    pub(crate) created_at: DateTime<Utc>,
    /// Deliveries tried.
    pub(crate) attempts: i32,
    /// When the next delivery may be tried.
    pub(crate) next_attempt_at: DateTime<Utc>,
    /// When it was delivered or failed for good.
    pub(crate) finished_at: Option<DateTime<Utc>>,
    /// The last delivery's error, or why it failed for good.
    pub(crate) last_error: Option<String>,
    /// The node delivering it now.
    pub(crate) leased_to: Option<String>,
}

/// The API's name of a notification kind.
pub(crate) fn kind_name(kind: NotificationKind) -> &'static str {
    match kind {
        NotificationKind::Failure => "failure",
        NotificationKind::Success => "success",
        NotificationKind::Completion => "completion",
    }
}

/// The API's name of a notification state.
pub(crate) fn state_name(state: NotificationState) -> &'static str {
    match state {
        NotificationState::Pending => "pending",
        NotificationState::Delivered => "delivered",
        NotificationState::Failed => "failed",
    }
}

/// A payload with secret-looking fields hidden, at any depth.
fn redact_value(value: Value) -> Value {
    match value {
        Value::Object(map) => {
            let entries: HashMap<String, Value> = map.into_iter().collect();
            let redacted = redact(&entries);
            Value::Object(
                redacted
                    .into_iter()
                    .map(|(k, v)| (k, redact_value(v)))
                    .collect(),
            )
        }
        Value::Array(items) => Value::Array(items.into_iter().map(redact_value).collect()),
        other => other,
    }
}

impl From<NotificationRecord> for NotificationDto {
    fn from(record: NotificationRecord) -> Self {
        Self {
            id: record.id,
            job_id: record.job_id,
            action: record.action,
            kind: kind_name(record.kind).to_owned(),
            state: state_name(record.state).to_owned(),
            payload: redact_value(record.payload),
            created_at: record.created_at,
            attempts: record.attempts,
            next_attempt_at: record.next_attempt_at,
            finished_at: record.finished_at,
            last_error: record.last_error,
            leased_to: record.leased_to.map(|(node, _)| node),
        }
    }
}

/// One page of notifications, newest first.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct NotificationPageDto {
    /// The notifications of the page.
    pub(crate) items: Vec<NotificationDto>,
    /// How many match.
    pub(crate) total_count: u64,
}

impl From<NotificationPage> for NotificationPageDto {
    fn from(page: NotificationPage) -> Self {
        Self {
            items: page.items.into_iter().map(NotificationDto::from).collect(),
            total_count: page.total,
        }
    }
}
