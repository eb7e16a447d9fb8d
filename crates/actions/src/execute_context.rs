//! What a notifier receives (R32).

use bgtasks_abstractions::{JobEventContext, JobEventData};
use serde_json::Value;

use crate::action::JobAction;
use crate::definition::JobActionDefinition;

/// The context of one notifier call: the run's event context, the job's action with its
/// parameters, and the action's definition.
#[derive(Debug, Clone, Copy)]
pub struct JobActionExecuteContext<'a> {
    event: &'a JobEventContext,
    action: &'a JobAction,
    definition: &'a JobActionDefinition,
}

impl<'a> JobActionExecuteContext<'a> {
    /// A context for `action` after the run described by `event`.
    pub fn new(
        event: &'a JobEventContext,
        action: &'a JobAction,
        definition: &'a JobActionDefinition,
    ) -> Self {
        Self {
            event,
            action,
            definition,
        }
    }

    /// The run's event context (its data, failure type and saved job).
    pub fn event(&self) -> &'a JobEventContext {
        self.event
    }

    /// The run's data.
    pub fn data(&self) -> &'a JobEventData {
        self.event.data()
    }

    /// The job's id.
    pub fn job_id(&self) -> &'a str {
        self.event.data().key()
    }

    /// The job's action.
    pub fn action(&self) -> &'a JobAction {
        self.action
    }

    /// The action's definition.
    pub fn definition(&self) -> &'a JobActionDefinition {
        self.definition
    }

    /// The raw value of one of the action's parameters.
    pub fn parameter(&self, name: &str) -> Option<&'a Value> {
        self.action.parameter(name)
    }

    /// One of the action's parameters as text; `None` when missing, null or blank.
    pub fn parameter_text(&self, name: &str) -> Option<String> {
        self.action.parameter_text(name)
    }
}
