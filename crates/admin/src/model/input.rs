//! What creating and changing a job share: arguments, actions, and telling `null` from a
//! field left out.

use std::collections::HashMap;

use bgtasks_abstractions::{JobAction, JobArgs};
use serde::{Deserialize, Deserializer};
use serde_json::Value;

use crate::error::ApiError;
use crate::model::actions::{JobActionInput, REDACTED};

/// Arguments from JSON: an object.
pub(crate) fn args_of(value: Value) -> Result<JobArgs, ApiError> {
    let shown = value.to_string();
    JobArgs::from_value(value)
        .map_err(|_| ApiError::bad_field("args", &shown, "the arguments must be a JSON object"))
}

/// An action from its input; `<redacted>` values take the value of `previous` (the action
/// it replaces) when it has the same name.
pub(crate) fn action_of(
    input: JobActionInput,
    previous: Option<&JobAction>,
) -> Result<JobAction, ApiError> {
    if input.name.trim().is_empty() {
        return Err(ApiError::bad_field(
            "name",
            &input.name,
            "an action needs a name",
        ));
    }
    if input.is_enabled == Some(false) {
        return Err(ApiError::bad_field(
            "isEnabled",
            "false",
            "actions have no enabled flag here: remove the action instead",
        ));
    }
    let previous = previous.filter(|p| p.name == input.name);
    let parameters: HashMap<String, Value> = input
        .parameters
        .into_iter()
        .filter_map(|(name, value)| {
            if value.as_str() == Some(REDACTED) {
                let kept = previous.and_then(|p| p.parameters.get(&name)).cloned()?;
                Some((name, kept))
            } else {
                Some((name, value))
            }
        })
        .collect();
    Ok(JobAction {
        name: input.name,
        parameters,
    })
}

/// Tells a field given as `null` (`Some(None)`) from one left out (`None`, by `default`).
pub(crate) fn present<'de, D, T>(deserializer: D) -> Result<Option<Option<T>>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    Option::<T>::deserialize(deserializer).map(Some)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::extract::parse_json;

    #[test]
    fn redacted_parameters_keep_their_stored_value() {
        let stored = JobAction::new("mail").with_parameter("smtpPassword", "hunter2");
        let input: JobActionInput = parse_json(
            br#"{"name":"mail","parameters":{"smtpPassword":"<redacted>","to":"a@b.c"}}"#,
        )
        .unwrap();
        let action = action_of(input, Some(&stored)).unwrap();
        assert_eq!(action.parameters["smtpPassword"], "hunter2");
        assert_eq!(action.parameters["to"], "a@b.c");
    }
}
