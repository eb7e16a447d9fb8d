//! A job's actions (R31) as the API shows and takes them, and the action definitions.
//!
//! Deviation from the reference: an action has no id of its own here — it is part of its
//! job's definition — so it is addressed by job id and position
//! (`/api/background-jobs/actions/{jobId}/{index}`).

use std::collections::HashMap;

use bgtasks_abstractions::JobAction;
use bgtasks_actions::JobActionDefinition;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;

/// What the API shows instead of a parameter that looks like a secret.
pub(crate) const REDACTED: &str = "<redacted>";

/// Whether a parameter's name says it holds a secret (password, token, key...). A URL
/// counts: a webhook's URL carries its access token (Slack's path, WeCom's `key`,
/// DingTalk's `access_token`), and so do request headers (`Authorization`).
pub(crate) fn is_secret_name(name: &str) -> bool {
    let name = name.to_ascii_lowercase();
    [
        "password",
        "secret",
        "token",
        "apikey",
        "api_key",
        "credential",
        "authorization",
        "webhook",
        "headers",
    ]
    .iter()
    .any(|word| name.contains(word))
        || name.ends_with("url")
}

/// Parameters with secret-looking values replaced by [`REDACTED`].
pub(crate) fn redact(parameters: &HashMap<String, Value>) -> serde_json::Map<String, Value> {
    let mut shown: Vec<(&String, &Value)> = parameters.iter().collect();
    shown.sort_by(|a, b| a.0.cmp(b.0));
    shown
        .into_iter()
        .map(|(name, value)| {
            let value = if is_secret_name(name) && !value.is_null() {
                Value::String(REDACTED.to_owned())
            } else {
                value.clone()
            };
            (name.clone(), value)
        })
        .collect()
}

/// One action of a job.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct JobActionView {
    /// The job it belongs to.
    pub(crate) job_id: String,
    /// Its position among the job's actions: with the job id, its address.
    pub(crate) index: usize,
    /// The name of its action definition.
    pub(crate) name: String,
    /// Always true: an action that should not fire is removed (the reference's flag).
    pub(crate) is_enabled: bool,
    /// Its parameters (secret-looking ones shown as `<redacted>`).
    #[schema(value_type = Object)]
    pub(crate) parameters: serde_json::Map<String, Value>,
}

impl JobActionView {
    /// The view of action `index` of job `job_id`.
    pub(crate) fn of(job_id: &str, index: usize, action: &JobAction) -> Self {
        Self {
            job_id: job_id.to_owned(),
            index,
            name: action.name.clone(),
            is_enabled: true,
            parameters: redact(&action.parameters),
        }
    }
}

/// The actions of one job.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct JobActionList {
    /// The actions, in order.
    pub(crate) items: Vec<JobActionView>,
    /// The job's revision after the change (for a change) or as read.
    pub(crate) revision: i64,
}

/// An action to add, or the new content of one.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct JobActionInput {
    /// The name of an action definition (e.g. `JobExecutedFailedProvider`, the failure
    /// e-mail).
    pub(crate) name: String,
    /// Its parameters. A value of `<redacted>` keeps the stored one.
    #[serde(default, alias = "paramters")]
    #[schema(value_type = Object)]
    pub(crate) parameters: HashMap<String, Value>,
    /// Accepted for the reference's clients; must be true (remove an action to disable it).
    #[serde(default)]
    pub(crate) is_enabled: Option<bool>,
    /// Only if the job's revision is still this one.
    #[serde(default)]
    pub(crate) revision: Option<i64>,
}

/// A parameter an action definition takes.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ActionParameterDto {
    /// Its key.
    pub(crate) name: String,
    /// A name for people.
    pub(crate) display_name: String,
    /// What it does.
    pub(crate) description: String,
    /// Whether an action without it is skipped.
    pub(crate) required: bool,
}

/// A registered action definition.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ActionDefinitionDto {
    /// The name jobs refer to it by.
    pub(crate) name: String,
    /// When it fires: `Failed`, `Successed` or `Completed`.
    #[serde(rename = "type")]
    pub(crate) action_type: String,
    /// A name for people.
    pub(crate) display_name: String,
    /// What it does.
    pub(crate) description: String,
    /// Its parameters.
    pub(crate) parameters: Vec<ActionParameterDto>,
    /// For a `Failed` action, the failure types it fires for (`null`: every one).
    pub(crate) accepted_failure_types: Option<String>,
}

impl From<&JobActionDefinition> for ActionDefinitionDto {
    fn from(definition: &JobActionDefinition) -> Self {
        Self {
            name: definition.name.clone(),
            action_type: definition.action_type.to_string(),
            display_name: definition.display_name.clone(),
            description: definition.description.clone(),
            parameters: definition
                .parameters
                .iter()
                .map(|p| ActionParameterDto {
                    name: p.name.clone(),
                    display_name: p.display_name.clone(),
                    description: p.description.clone(),
                    required: p.required,
                })
                .collect(),
            accepted_failure_types: definition.accepted_failure_types.map(|t| t.name()),
        }
    }
}

/// The registered action definitions.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ActionDefinitionList {
    /// The definitions, by name.
    pub(crate) items: Vec<ActionDefinitionDto>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secret_looking_parameters_are_hidden() {
        let action = JobAction::new("mail")
            .with_parameter("to", "ops@example.com")
            .with_parameter("smtpPassword", "hunter2")
            .with_parameter("apiToken", "abc");
        let view = JobActionView::of("j", 0, &action);
        assert_eq!(view.parameters["to"], "ops@example.com");
        assert_eq!(view.parameters["smtpPassword"], REDACTED);
        assert_eq!(view.parameters["apiToken"], REDACTED);
        assert!(!serde_json::to_string(&view).unwrap().contains("hunter2"));
    }

    #[test]
    fn a_webhooks_url_secret_and_headers_are_hidden() {
        let action = JobAction::new("JobExecutedWebhook")
            .with_parameter(
                "url",
                "https://oapi.dingtalk.com/robot/send?access_token=s3cret",
            )
            .with_parameter("secret", "SEC123")
            .with_parameter("headers", serde_json::json!({"Authorization": "Bearer x"}))
            .with_parameter("preset", "dingtalk");
        let view = JobActionView::of("j", 0, &action);
        for hidden in ["url", "secret", "headers"] {
            assert_eq!(view.parameters[hidden], REDACTED, "{hidden}");
        }
        assert_eq!(view.parameters["preset"], "dingtalk");
        let text = serde_json::to_string(&view).unwrap();
        assert!(
            !text.contains("s3cret") && !text.contains("Bearer"),
            "{text}"
        );
    }
}
