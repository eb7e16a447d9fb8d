//! Registering the webhook action.

use std::sync::Arc;

use bgtasks_abstractions::JobExceptionType;
use bgtasks_actions::{
    JobActionDefinition, JobActionDefinitionManager, JobActionDefinitionProvider, JobActionType,
};

use crate::notifier::WebhookNotifier;
use crate::parameters::parameter_definitions;

/// The action name jobs use for the webhook alert.
pub const WEBHOOK_ACTION: &str = "JobExecutedWebhook";

/// Registers the webhook alert as a [`Failed`](JobActionType::Failed) action named
/// [`WEBHOOK_ACTION`], carried out by a [`WebhookNotifier`]: a job opts in by carrying a
/// [`JobAction`](bgtasks_actions::JobAction) of that name with at least a `url`. A job
/// action without `url` is logged and skipped when its run ends.
#[derive(Debug, Clone)]
pub struct WebhookDefinitionProvider {
    notifier: Arc<WebhookNotifier>,
    accepted_failure_types: Option<JobExceptionType>,
}

impl WebhookDefinitionProvider {
    /// A provider registering `notifier` for every failure type.
    pub fn new(notifier: Arc<WebhookNotifier>) -> Self {
        Self {
            notifier,
            accepted_failure_types: None,
        }
    }

    /// Posts only failures of these types.
    pub fn with_accepted_failure_types(mut self, types: JobExceptionType) -> Self {
        self.accepted_failure_types = Some(types);
        self
    }

    /// The definition this provider registers.
    pub fn definition(&self) -> JobActionDefinition {
        let mut definition = JobActionDefinition::new(WEBHOOK_ACTION, JobActionType::Failed)
            .with_display_name("Job failure webhook")
            .with_description(
                "Posts the failed run to a webhook: generic JSON, Slack, WeCom or DingTalk.",
            )
            .with_notifier(self.notifier.clone());
        definition.parameters = parameter_definitions();
        definition.accepted_failure_types = self.accepted_failure_types;
        definition
    }
}

impl JobActionDefinitionProvider for WebhookDefinitionProvider {
    fn define(&self, definitions: &mut JobActionDefinitionManager) {
        definitions.add(self.definition());
    }
}
