//! What a template is rendered with: the model, the labels, the culture and the
//! action's `context` globals.

use std::collections::BTreeMap;

use serde_json::{Map, Value};
use tracing::warn;

use crate::model::FailureMailModel;

/// The keys the notifier sets; a `context` key of the same name is overridden.
const RESERVED: [&str; 3] = ["model", "labels", "culture"];

/// The `context` parameter as a JSON object: an object value, or a string holding one.
/// Anything else is ignored with a warning naming the job.
pub fn context_globals(job_id: &str, value: Option<&Value>) -> Map<String, Value> {
    let parsed = match value {
        None | Some(Value::Null) => return Map::new(),
        Some(Value::String(text)) if text.trim().is_empty() => return Map::new(),
        Some(Value::String(text)) => serde_json::from_str::<Value>(text),
        Some(other) => Ok(other.clone()),
    };
    match parsed {
        Ok(Value::Object(map)) => map,
        Ok(other) => {
            warn!(
                job_id,
                "ignoring the `context` parameter of job `{job_id}`: expected a JSON object, found `{other}`"
            );
            Map::new()
        }
        Err(error) => {
            warn!(job_id, %error, "ignoring the `context` parameter of job `{job_id}`: invalid JSON: {error}");
            Map::new()
        }
    }
}

/// The template's root object: `globals` (the action's `context` keys, say) with
/// `model`, `labels` and `culture` set over any key of the same name.
pub fn render_data(
    model: &FailureMailModel,
    labels: BTreeMap<String, String>,
    culture: &str,
    globals: Map<String, Value>,
) -> Value {
    let mut root = globals;
    for key in RESERVED {
        root.remove(key);
    }
    root.insert(
        "model".to_owned(),
        serde_json::to_value(model).unwrap_or(Value::Null),
    );
    root.insert(
        "labels".to_owned(),
        Value::Object(
            labels
                .into_iter()
                .map(|(k, v)| (k, Value::String(v)))
                .collect(),
        ),
    );
    root.insert("culture".to_owned(), Value::String(culture.to_owned()));
    Value::Object(root)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn context_accepts_objects_and_ignores_the_rest() {
        // spec: R33
        let from_text = context_globals("j", Some(&json!(r#"{"team": "billing", "n": 2}"#)));
        assert_eq!(from_text["team"], "billing");
        assert_eq!(from_text["n"], 2);
        let from_object = context_globals("j", Some(&json!({"team": "ops"})));
        assert_eq!(from_object["team"], "ops");
        assert!(context_globals("j", Some(&json!("{not json"))).is_empty());
        assert!(context_globals("j", Some(&json!("[1, 2]"))).is_empty());
        assert!(context_globals("j", None).is_empty());
    }
}
