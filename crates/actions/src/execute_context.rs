//! What a notifier receives (R32).

use bgtasks_abstractions::JobAction;
use bgtasks_core::store::NotificationKind;
use serde_json::Value;

use crate::definition::JobActionDefinition;
use crate::notification::Notification;
use crate::summary::RunSummary;

/// The context of one notifier call: the notification being delivered (the run it is
/// about and the job's action with its parameters) and the action's definition.
#[derive(Debug, Clone, Copy)]
pub struct JobActionExecuteContext<'a> {
    notification: &'a Notification,
    definition: &'a JobActionDefinition,
}

impl<'a> JobActionExecuteContext<'a> {
    /// A context for delivering `notification`, an action of `definition`.
    pub fn new(notification: &'a Notification, definition: &'a JobActionDefinition) -> Self {
        Self {
            notification,
            definition,
        }
    }

    /// The notification.
    pub fn notification(&self) -> &'a Notification {
        self.notification
    }

    /// The notification's stable identity: the same on every attempt to deliver it.
    pub fn notification_id(&self) -> &'a str {
        &self.notification.id
    }

    /// Which attempt to deliver it this is (1 on the first).
    pub fn attempt(&self) -> u32 {
        self.notification.attempt
    }

    /// Which hook it calls.
    pub fn kind(&self) -> NotificationKind {
        self.notification.kind
    }

    /// The run it is about.
    pub fn run(&self) -> &'a RunSummary {
        &self.notification.run
    }

    /// The job's id.
    pub fn job_id(&self) -> &'a str {
        &self.notification.run.job_id
    }

    /// The job's action.
    pub fn action(&self) -> &'a JobAction {
        &self.notification.action
    }

    /// The action's definition.
    pub fn definition(&self) -> &'a JobActionDefinition {
        self.definition
    }

    /// The raw value of one of the action's parameters.
    pub fn parameter(&self, name: &str) -> Option<&'a Value> {
        self.notification.action.parameter(name)
    }

    /// One of the action's parameters as text; `None` when missing, null or blank.
    pub fn parameter_text(&self, name: &str) -> Option<String> {
        self.notification.action.parameter_text(name)
    }
}
