//! What an action is and who carries it out (R31).

use crate::DynJobActionNotifier;
use std::fmt;
use std::sync::Arc;

use bgtasks_abstractions::JobExceptionType;

use crate::action_type::JobActionType;
use crate::parameter::JobActionParameterDefinition;
use bgtasks_abstractions::JobAction;

/// A registered action: its name, when it fires, the parameters it takes and the
/// notifiers that carry it out. Cheap to clone: notifiers are shared.
#[derive(Clone)]
pub struct JobActionDefinition {
    /// The name jobs refer to it by ([`JobAction::name`]).
    pub name: String,
    /// When it fires.
    pub action_type: JobActionType,
    /// A name to show people.
    pub display_name: String,
    /// What it does.
    pub description: String,
    /// The parameters it takes.
    pub parameters: Vec<JobActionParameterDefinition>,
    /// Who carries it out, called in this order.
    pub notifiers: Vec<Arc<dyn DynJobActionNotifier>>,
    /// For a [`Failed`](JobActionType::Failed) action, the failure types it fires for;
    /// `None` fires for every failure.
    pub accepted_failure_types: Option<JobExceptionType>,
}

impl JobActionDefinition {
    /// A definition with no parameters and no notifiers yet; the display name is the name.
    pub fn new(name: impl Into<String>, action_type: JobActionType) -> Self {
        let name = name.into();
        Self {
            display_name: name.clone(),
            name,
            action_type,
            description: String::new(),
            parameters: Vec::new(),
            notifiers: Vec::new(),
            accepted_failure_types: None,
        }
    }

    /// Sets the display name.
    pub fn with_display_name(mut self, display_name: impl Into<String>) -> Self {
        self.display_name = display_name.into();
        self
    }

    /// Sets the description.
    pub fn with_description(mut self, description: impl Into<String>) -> Self {
        self.description = description.into();
        self
    }

    /// Declares a parameter.
    pub fn with_parameter(mut self, parameter: JobActionParameterDefinition) -> Self {
        self.parameters.push(parameter);
        self
    }

    /// Adds a notifier.
    pub fn with_notifier(mut self, notifier: Arc<dyn DynJobActionNotifier>) -> Self {
        self.notifiers.push(notifier);
        self
    }

    /// Fires only for these failure types.
    pub fn with_accepted_failure_types(mut self, types: JobExceptionType) -> Self {
        self.accepted_failure_types = Some(types);
        self
    }

    /// The names of the required parameters `action` lacks (absent, null or blank).
    pub fn missing_parameters(&self, action: &JobAction) -> Vec<String> {
        self.parameters
            .iter()
            .filter(|p| p.required && !action.has_parameter(&p.name))
            .map(|p| p.name.clone())
            .collect()
    }

    /// Whether a failure of type `found` (`None` when the finder found none) fires this
    /// action: always when the definition accepts every type, else when they overlap.
    pub fn accepts_failure(&self, found: Option<JobExceptionType>) -> bool {
        match (self.accepted_failure_types, found) {
            (None, _) => true,
            (Some(accepted), Some(found)) => accepted.intersects(found),
            (Some(_), None) => false,
        }
    }
}

impl fmt::Debug for JobActionDefinition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let notifiers: Vec<&str> = self.notifiers.iter().map(|n| n.name()).collect();
        f.debug_struct("JobActionDefinition")
            .field("name", &self.name)
            .field("action_type", &self.action_type)
            .field("display_name", &self.display_name)
            .field("parameters", &self.parameters)
            .field("notifiers", &notifiers)
            .field("accepted_failure_types", &self.accepted_failure_types)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_the_missing_required_parameters() {
        // spec: R32
        let definition = JobActionDefinition::new("mail", JobActionType::Failed)
            .with_parameter(JobActionParameterDefinition::required("to", "To", ""))
            .with_parameter(JobActionParameterDefinition::required("cc", "Cc", ""))
            .with_parameter(JobActionParameterDefinition::optional(
                "subject", "Subject", "",
            ));
        let action = JobAction::new("mail").with_parameter("cc", "x@example.com");
        assert_eq!(
            definition.missing_parameters(&action),
            vec!["to".to_owned()]
        );
        let complete = action.with_parameter("to", "y@example.com");
        assert!(definition.missing_parameters(&complete).is_empty());
    }

    #[test]
    fn accepted_failure_types_filter() {
        // spec: R32
        let any = JobActionDefinition::new("a", JobActionType::Failed);
        assert!(any.accepts_failure(Some(JobExceptionType::BUSINESS)));
        let network = any
            .clone()
            .with_accepted_failure_types(JobExceptionType::NETWORK);
        assert!(network.accepts_failure(Some(JobExceptionType::NETWORK)));
        assert!(!network.accepts_failure(Some(JobExceptionType::BUSINESS)));
        assert!(!network.accepts_failure(None));
    }
}
