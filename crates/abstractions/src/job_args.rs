//! The arguments of a job: a JSON object with typed read helpers (R7).

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use uuid::Uuid;

use crate::error::JobError;

/// The argument key the reference reads a job's tenant from.
pub const TENANT_ID_ARG: &str = "TenantId";

/// A job's arguments. Always a JSON object; building one from any other JSON value is an
/// error.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct JobArgs(Map<String, Value>);

impl JobArgs {
    /// No arguments.
    pub fn new() -> Self {
        Self::default()
    }

    /// Arguments from a JSON value, which must be an object. The error says what was
    /// given instead.
    pub fn from_value(value: Value) -> Result<Self, NotAnObject> {
        match value {
            Value::Object(map) => Ok(Self(map)),
            Value::Null => Ok(Self::default()),
            other => Err(NotAnObject {
                found: json_kind(&other),
                value: truncate(&other.to_string(), 80),
            }),
        }
    }

    /// Adds or replaces one argument.
    pub fn with(mut self, key: impl Into<String>, value: impl Into<Value>) -> Self {
        self.0.insert(key.into(), value.into());
        self
    }

    /// Adds or replaces one argument.
    pub fn insert(&mut self, key: impl Into<String>, value: impl Into<Value>) {
        self.0.insert(key.into(), value.into());
    }

    /// The raw value of an argument.
    pub fn get(&self, key: &str) -> Option<&Value> {
        self.0.get(key)
    }

    /// Whether an argument is present (and not null).
    pub fn contains(&self, key: &str) -> bool {
        self.0.get(key).is_some_and(|v| !v.is_null())
    }

    /// A required string argument; numbers and booleans are given as text.
    pub fn get_str(&self, key: &str) -> Result<String, JobError> {
        match self.0.get(key) {
            None | Some(Value::Null) => Err(JobError::missing_argument(key)),
            Some(Value::String(s)) => Ok(s.clone()),
            Some(Value::Number(n)) => Ok(n.to_string()),
            Some(Value::Bool(b)) => Ok(b.to_string()),
            Some(other) => Err(JobError::invalid_argument(
                key,
                format!("expected text, found {}", json_kind(other)),
            )),
        }
    }

    /// A required argument of type `T`. A missing key and a value of the wrong shape are
    /// both clear errors naming the key.
    pub fn get_as<T: DeserializeOwned>(&self, key: &str) -> Result<T, JobError> {
        match self.0.get(key) {
            None | Some(Value::Null) => Err(JobError::missing_argument(key)),
            Some(value) => {
                lenient_from_value(value).map_err(|e| JobError::invalid_argument(key, e))
            }
        }
    }

    /// An optional argument of type `T`, or `default` when it is absent. A present value
    /// of the wrong shape is still an error.
    pub fn get_or<T: DeserializeOwned>(&self, key: &str, default: T) -> Result<T, JobError> {
        if self.contains(key) {
            self.get_as(key)
        } else {
            Ok(default)
        }
    }

    /// The tenant from the `TenantId` argument, if present and a UUID.
    pub fn tenant_id(&self) -> Option<Uuid> {
        match self.0.get(TENANT_ID_ARG)? {
            Value::String(s) => Uuid::parse_str(s.trim()).ok(),
            _ => None,
        }
    }

    /// The underlying JSON object.
    pub fn as_map(&self) -> &Map<String, Value> {
        &self.0
    }

    /// The number of arguments.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether there are no arguments.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl From<Map<String, Value>> for JobArgs {
    fn from(map: Map<String, Value>) -> Self {
        Self(map)
    }
}

impl TryFrom<Value> for JobArgs {
    type Error = NotAnObject;

    fn try_from(value: Value) -> Result<Self, Self::Error> {
        Self::from_value(value)
    }
}

/// Job arguments must be a JSON object.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("job arguments must be a JSON object, found {found} `{value}`")]
pub struct NotAnObject {
    /// What kind of JSON value was given.
    pub found: &'static str,
    /// The value given, shortened.
    pub value: String,
}

/// Numbers stored as text ("42") are read as numbers when a number is asked for, as the
/// reference's converters do.
fn lenient_from_value<T: DeserializeOwned>(value: &Value) -> Result<T, serde_json::Error> {
    match serde_json::from_value::<T>(value.clone()) {
        Ok(v) => Ok(v),
        Err(first) => match value {
            Value::String(s) => serde_json::from_str::<T>(s).map_err(|_| first),
            _ => Err(first),
        },
    }
}

pub(crate) fn json_kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

pub(crate) fn truncate(text: &str, max_chars: usize) -> String {
    match text.char_indices().nth(max_chars) {
        Some((cut, _)) => format!("{}…", &text[..cut]),
        None => text.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn read_helpers() {
        // spec: R7
        let tenant = Uuid::new_v4();
        let args = JobArgs::from_value(json!({
            "url": "http://x", "count": 3, "text_count": "7", "flag": true,
            "TenantId": tenant.to_string()
        }))
        .unwrap();
        assert_eq!(args.get_str("url").unwrap(), "http://x");
        assert_eq!(args.get_str("count").unwrap(), "3");
        assert_eq!(args.get_as::<u32>("count").unwrap(), 3);
        assert_eq!(args.get_as::<u32>("text_count").unwrap(), 7);
        assert_eq!(args.get_or::<u32>("absent", 9).unwrap(), 9);
        assert!(args.get_as::<bool>("flag").unwrap());
        assert_eq!(args.tenant_id(), Some(tenant));
    }

    #[test]
    fn missing_and_malformed_arguments_name_the_key() {
        // spec: R7
        let args = JobArgs::new().with("count", "many");
        let missing = args.get_str("url").unwrap_err();
        assert_eq!(missing.to_string(), "missing required argument `url`");
        let malformed = args.get_as::<u32>("count").unwrap_err();
        assert!(
            malformed
                .to_string()
                .starts_with("invalid argument `count`"),
            "{malformed}"
        );
        assert!(args.get_or::<u32>("count", 1).is_err());
    }

    #[test]
    fn args_must_be_an_object() {
        // spec: R1
        let err = JobArgs::from_value(json!([1, 2])).unwrap_err();
        assert_eq!(
            err.to_string(),
            "job arguments must be a JSON object, found an array `[1,2]`"
        );
        assert!(JobArgs::from_value(json!(null)).unwrap().is_empty());
    }
}
