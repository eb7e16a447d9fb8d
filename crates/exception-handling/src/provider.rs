//! Registering the failed-job e-mail action (R33).

use std::sync::Arc;

use bgtasks_abstractions::JobExceptionType;
use bgtasks_actions::{
    JobActionDefinition, JobActionDefinitionManager, JobActionDefinitionProvider, JobActionType,
};

use crate::notifier::JobExecutedFailedNotifier;
use crate::parameters::parameter_definitions;

/// The action name jobs use for the failed-job e-mail (the reference's).
pub const JOB_EXECUTED_FAILED_ACTION: &str = "JobExecutedFailedProvider";

/// Registers the failed-job e-mail as a [`Failed`](JobActionType::Failed) action named
/// [`JOB_EXECUTED_FAILED_ACTION`], carried out by a [`JobExecutedFailedNotifier`].
#[derive(Debug, Clone)]
pub struct JobExecutedFailedDefinitionProvider {
    notifier: Arc<JobExecutedFailedNotifier>,
    accepted_failure_types: Option<JobExceptionType>,
}

impl JobExecutedFailedDefinitionProvider {
    /// A provider registering `notifier` for every failure type.
    pub fn new(notifier: Arc<JobExecutedFailedNotifier>) -> Self {
        Self {
            notifier,
            accepted_failure_types: None,
        }
    }

    /// Mails only failures of these types.
    pub fn with_accepted_failure_types(mut self, types: JobExceptionType) -> Self {
        self.accepted_failure_types = Some(types);
        self
    }

    /// The definition this provider registers.
    pub fn definition(&self) -> JobActionDefinition {
        let mut definition =
            JobActionDefinition::new(JOB_EXECUTED_FAILED_ACTION, JobActionType::Failed)
                .with_display_name("Job failure e-mail")
                .with_description(
                    "Sends an HTML e-mail describing the failed run to the `to` addresses.",
                )
                .with_notifier(self.notifier.clone());
        definition.parameters = parameter_definitions();
        definition.accepted_failure_types = self.accepted_failure_types;
        definition
    }
}

impl JobActionDefinitionProvider for JobExecutedFailedDefinitionProvider {
    fn define(&self, definitions: &mut JobActionDefinitionManager) {
        definitions.add(self.definition());
    }
}
