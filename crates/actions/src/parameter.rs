//! The parameters an action definition declares (R31).

/// One parameter an action accepts. A required parameter missing from a job's action makes
/// the action event skip that action and log the missing names (R32).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobActionParameterDefinition {
    /// The parameter's key in [`JobAction::parameters`](crate::JobAction::parameters).
    pub name: String,
    /// A name to show people.
    pub display_name: String,
    /// What the parameter does, and its default.
    pub description: String,
    /// Whether an action without it is skipped.
    pub required: bool,
}

impl JobActionParameterDefinition {
    /// An optional parameter.
    pub fn optional(
        name: impl Into<String>,
        display_name: impl Into<String>,
        description: impl Into<String>,
    ) -> Self {
        Self {
            name: name.into(),
            display_name: display_name.into(),
            description: description.into(),
            required: false,
        }
    }

    /// A required parameter.
    pub fn required(
        name: impl Into<String>,
        display_name: impl Into<String>,
        description: impl Into<String>,
    ) -> Self {
        Self {
            required: true,
            ..Self::optional(name, display_name, description)
        }
    }
}
