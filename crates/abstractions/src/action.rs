//! An action attached to a job (R31).

use std::collections::HashMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// One action a job carries (R31): the name of a registered action definition (in
/// `bgtasks-actions`) and the parameters it is configured with. A job's actions are part
/// of its definition ([`JobInfo::actions`](crate::JobInfo::actions)), stored with it.
/// Serializes as `{"name": ..., "parameters": {...}}`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct JobAction {
    /// The name of the action's definition, e.g. `"JobExecutedFailedProvider"`.
    pub name: String,
    /// The action's parameters, by name. Values are JSON; most are strings.
    #[serde(default)]
    pub parameters: HashMap<String, Value>,
}

impl JobAction {
    /// An action of the definition `name`, with no parameters yet.
    pub fn new(name: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            parameters: HashMap::new(),
        }
    }

    /// Sets one parameter and returns the action.
    pub fn with_parameter(mut self, name: impl Into<String>, value: impl Into<Value>) -> Self {
        self.parameters.insert(name.into(), value.into());
        self
    }

    /// The raw value of a parameter.
    pub fn parameter(&self, name: &str) -> Option<&Value> {
        self.parameters.get(name)
    }

    /// A parameter as text: strings as they are, numbers and booleans written out, and
    /// `None` for a missing, null or blank value (objects and arrays are written as JSON).
    pub fn parameter_text(&self, name: &str) -> Option<String> {
        let text = match self.parameters.get(name)? {
            Value::Null => return None,
            Value::String(s) => s.clone(),
            other => other.to_string(),
        };
        if text.trim().is_empty() {
            None
        } else {
            Some(text)
        }
    }

    /// Whether a parameter is present with a value (not null, not a blank string).
    pub fn has_parameter(&self, name: &str) -> bool {
        self.parameter_text(name).is_some()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn parameters_read_as_text() {
        // spec: R31
        let action = JobAction::new("mail")
            .with_parameter("to", "a@example.com")
            .with_parameter("min", 5)
            .with_parameter("blank", "  ")
            .with_parameter("nothing", Value::Null);
        assert_eq!(
            action.parameter_text("to").as_deref(),
            Some("a@example.com")
        );
        assert_eq!(action.parameter_text("min").as_deref(), Some("5"));
        assert!(!action.has_parameter("blank"));
        assert!(!action.has_parameter("nothing"));
        assert!(!action.has_parameter("absent"));
    }

    #[test]
    fn round_trips_as_json() {
        // spec: R31
        let action = JobAction::new("mail").with_parameter("to", "a@example.com");
        let value = serde_json::to_value(&action).unwrap();
        assert_eq!(
            value,
            json!({"name": "mail", "parameters": {"to": "a@example.com"}})
        );
        let back: JobAction = serde_json::from_value(json!({"name": "mail"})).unwrap();
        assert!(back.parameters.is_empty());
    }
}
