//! Changes to a job's definition, as a caller sends them (the reference's
//! `BackgroundJobInfoUpdateDto` names), and the [`DefinitionUpdate`] they become.

use bgtasks_store::{DefinitionUpdate, JobRecord};
use serde::Deserialize;
use serde_json::Value;
use utoipa::ToSchema;

use crate::error::ApiError;
use crate::model::actions::JobActionInput;
use crate::model::input::{action_of, args_of, present};
use crate::params;

/// Changes to a job's definition: each field given replaces the stored one.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct JobUpdateInput {
    /// A new display name.
    #[serde(default)]
    name: Option<String>,
    /// A new group.
    #[serde(default)]
    group: Option<String>,
    /// A new description.
    #[serde(default)]
    description: Option<String>,
    /// New arguments (a JSON object).
    #[serde(default)]
    #[schema(value_type = Option<Object>)]
    args: Option<Value>,
    /// A new begin time.
    #[serde(default)]
    begin_time: Option<String>,
    /// A new end time; `null` removes it.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>)]
    end_time: Option<Option<String>>,
    /// The kind: must be the job's (a kind cannot change).
    #[serde(default, rename = "jobType")]
    kind: Option<i32>,
    /// A new cron expression.
    #[serde(default)]
    cron: Option<String>,
    /// A new interval in seconds.
    #[serde(default)]
    interval: Option<i64>,
    /// A new max try count.
    #[serde(default)]
    max_try_count: Option<i32>,
    /// A new max count.
    #[serde(default)]
    max_count: Option<i32>,
    /// A new priority code.
    #[serde(default)]
    priority: Option<i32>,
    /// A new lock timeout in seconds.
    #[serde(default, rename = "lockTimeOut")]
    lock_timeout: Option<i64>,
    /// A new node; `null` lets any node run it.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>)]
    node_name: Option<Option<String>>,
    /// A new time limit in seconds; `null` removes it.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<i64>)]
    time_limit: Option<Option<i64>>,
    /// New actions, replacing all of them (`<redacted>` values keep the stored ones).
    #[serde(default)]
    actions: Option<Vec<JobActionInput>>,
    /// Only if the job's revision is still this one (else 409 with the job as it is).
    #[serde(default)]
    revision: Option<i64>,
    /// The revision as text (the reference's name); same meaning as `revision`.
    #[serde(default)]
    concurrency_stamp: Option<String>,
}

impl JobUpdateInput {
    /// The update to apply to `current`, and the revision it is conditioned on.
    pub(crate) fn into_update(
        self,
        current: &JobRecord,
    ) -> Result<(DefinitionUpdate, Option<i64>), ApiError> {
        let expected = expected_revision(self.revision, self.concurrency_stamp.as_deref())?;
        if let Some(kind) = self.kind {
            let kind = params::kind("jobType", &kind.to_string())?;
            if kind != current.job.kind {
                return Err(ApiError::bad_field(
                    "jobType",
                    &kind.code().to_string(),
                    format!(
                        "a job's kind cannot change (job `{}` is {}); remove it and create another",
                        current.job.id, current.job.kind
                    ),
                ));
            }
        }
        let update = DefinitionUpdate {
            name: self.name,
            group: self.group,
            description: self.description,
            args: self.args.map(args_of).transpose()?,
            begin_time: self
                .begin_time
                .map(|t| params::time("beginTime", &t))
                .transpose()?,
            end_time: match self.end_time {
                None => None,
                Some(None) => Some(None),
                Some(Some(t)) if t.trim().is_empty() => Some(None),
                Some(Some(t)) => Some(Some(params::time("endTime", &t)?)),
            },
            cron: self.cron,
            interval: self.interval,
            max_try_count: self.max_try_count,
            max_count: self.max_count,
            priority: self
                .priority
                .map(|p| params::priority("priority", &p.to_string()))
                .transpose()?,
            lock_timeout: self.lock_timeout,
            node_name: self
                .node_name
                .map(|n| n.filter(|name| !name.trim().is_empty())),
            time_limit: self.time_limit,
            actions: self
                .actions
                .map(|actions| {
                    actions
                        .into_iter()
                        .enumerate()
                        .map(|(i, input)| action_of(input, current.job.actions.get(i)))
                        .collect::<Result<Vec<_>, _>>()
                })
                .transpose()?,
        };
        if update.is_empty() {
            return Err(ApiError::bad_request(
                "the update changes nothing: give at least one field to change",
            ));
        }
        Ok((update, expected))
    }
}

/// The revision a change is conditioned on, from `revision` or `concurrencyStamp`.
pub(crate) fn expected_revision(
    revision: Option<i64>,
    stamp: Option<&str>,
) -> Result<Option<i64>, ApiError> {
    let stamp = stamp
        .filter(|s| !s.trim().is_empty())
        .map(|s| {
            s.trim().parse::<i64>().map_err(|_| {
                ApiError::bad_field("concurrencyStamp", s, "expected the job's revision number")
            })
        })
        .transpose()?;
    match (revision, stamp) {
        (Some(r), Some(s)) if r != s => Err(ApiError::bad_field(
            "concurrencyStamp",
            &s.to_string(),
            format!("differs from `revision` {r}"),
        )),
        (r, s) => Ok(r.or(s)),
    }
}

#[cfg(test)]
mod tests {
    use bgtasks_abstractions::JobInfo;

    use super::*;
    use crate::extract::parse_json;

    #[test]
    fn null_and_absent_differ_in_an_update() {
        let current = JobRecord::new(JobInfo::once("j", "t").with_node("n1"));
        let input: JobUpdateInput = parse_json(br#"{"nodeName":null,"revision":1}"#).unwrap();
        let (update, revision) = input.into_update(&current).unwrap();
        assert_eq!(update.node_name, Some(None));
        assert_eq!(update.end_time, None);
        assert_eq!(revision, Some(1));
        let empty: JobUpdateInput = parse_json(b"{}").unwrap();
        assert!(empty.into_update(&current).is_err());
        let kind: JobUpdateInput = parse_json(br#"{"jobType":2}"#).unwrap();
        assert!(
            kind.into_update(&current)
                .unwrap_err()
                .message()
                .contains("kind cannot change")
        );
    }
}
