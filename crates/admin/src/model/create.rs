//! A new job, as a caller sends it (the reference's `BackgroundJobInfoCreateDto` names),
//! and the [`JobInfo`] it becomes. Unknown fields are refused, so a typo is a 400, not a
//! no-op.

use bgtasks_abstractions::{JobInfo, JobSource, JobStatus};
use serde::Deserialize;
use serde_json::Value;
use utoipa::ToSchema;

use crate::error::ApiError;
use crate::model::actions::JobActionInput;
use crate::model::input::{action_of, args_of};
use crate::params;

/// A new job.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct JobCreateInput {
    /// Its id (a new UUID when absent).
    #[serde(default)]
    id: Option<String>,
    /// Display name (the id when absent).
    #[serde(default)]
    name: Option<String>,
    /// Group (`Default` when absent).
    #[serde(default)]
    group: Option<String>,
    /// The registered job type that runs it.
    #[serde(rename = "type")]
    job_type: String,
    /// Arguments: a JSON object.
    #[serde(default)]
    #[schema(value_type = Option<Object>)]
    args: Option<Value>,
    /// Free text.
    #[serde(default)]
    description: Option<String>,
    /// No run before this time (RFC 3339; now when absent).
    #[serde(default)]
    begin_time: Option<String>,
    /// No run after this time.
    #[serde(default)]
    end_time: Option<String>,
    /// Kind code: 0 Once (default), 1 Period, 2 Persistent.
    #[serde(default, rename = "jobType")]
    kind: Option<i32>,
    /// Cron expression (Period jobs; Quartz form such as `0 0/5 * * * ?`).
    #[serde(default)]
    cron: Option<String>,
    /// Seconds between runs (Persistent) and before a retry (default 300).
    #[serde(default)]
    interval: Option<i64>,
    /// Failures in a row before it is abandoned (default 50; 0 never).
    #[serde(default)]
    max_try_count: Option<i32>,
    /// Runs of a Persistent job (default 0, unlimited).
    #[serde(default)]
    max_count: Option<i32>,
    /// Priority code (default 15, Normal).
    #[serde(default)]
    priority: Option<i32>,
    /// Seconds of the exclusive lock a run holds (default 0, none).
    #[serde(default, rename = "lockTimeOut")]
    lock_timeout: Option<i64>,
    /// The node it must run on.
    #[serde(default)]
    node_name: Option<String>,
    /// Longest a run may take, in seconds.
    #[serde(default)]
    time_limit: Option<i64>,
    /// Source code (default 0, User).
    #[serde(default)]
    source: Option<i32>,
    /// `false` queues it paused (the reference's flag; default true).
    #[serde(default)]
    is_enabled: Option<bool>,
    /// Its actions.
    #[serde(default)]
    actions: Vec<JobActionInput>,
}

impl JobCreateInput {
    /// The job to queue.
    pub(crate) fn into_job(self) -> Result<JobInfo, ApiError> {
        let id = match self.id {
            Some(id) if !id.trim().is_empty() => id,
            Some(id) => return Err(ApiError::bad_field("id", &id, "must not be blank")),
            None => JobInfo::new_id(),
        };
        let mut job = JobInfo::new(id, self.job_type);
        if let Some(name) = self.name.filter(|n| !n.trim().is_empty()) {
            job.name = name;
        }
        if let Some(group) = self.group.filter(|g| !g.trim().is_empty()) {
            job.group = group;
        }
        if let Some(args) = self.args {
            job.args = args_of(args)?;
        }
        if let Some(description) = self.description {
            job.description = description;
        }
        if let Some(begin) = self.begin_time {
            job.begin_time = params::time("beginTime", &begin)?;
        }
        if let Some(end) = self.end_time.filter(|e| !e.trim().is_empty()) {
            job.end_time = Some(params::time("endTime", &end)?);
        }
        if let Some(kind) = self.kind {
            job.kind = params::kind("jobType", &kind.to_string())?;
        }
        job.cron = self.cron.filter(|c| !c.trim().is_empty());
        if let Some(interval) = self.interval {
            job.interval = interval;
        }
        if let Some(max) = self.max_try_count {
            job.max_try_count = max;
        }
        if let Some(max) = self.max_count {
            job.max_count = max;
        }
        if let Some(priority) = self.priority {
            job.priority = params::priority("priority", &priority.to_string())?;
        }
        if let Some(timeout) = self.lock_timeout {
            job.lock_timeout = timeout;
        }
        job.node_name = self.node_name.filter(|n| !n.trim().is_empty());
        job.time_limit = self.time_limit;
        job.source = match self.source {
            Some(code) => params::source("source", &code.to_string())?,
            None => JobSource::User,
        };
        if self.is_enabled == Some(false) {
            job.status = JobStatus::Paused;
        }
        job.actions = self
            .actions
            .into_iter()
            .map(|input| action_of(input, None))
            .collect::<Result<_, _>>()?;
        Ok(job)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::extract::parse_json;

    #[test]
    fn a_created_job_has_the_given_fields() {
        let input: JobCreateInput = parse_json(
            br#"{"id":"r1","type":"report","jobType":1,"cron":"0 0/5 * * * ?","priority":25,
                 "args":{"k":1},"isEnabled":false,"beginTime":"2026-01-31T08:00:00Z"}"#,
        )
        .unwrap();
        let job = input.into_job().unwrap();
        assert_eq!(job.id, "r1");
        assert_eq!(job.kind.code(), 1);
        assert_eq!(job.priority.code(), 25);
        assert_eq!(job.status, JobStatus::Paused);
        assert_eq!(job.source, JobSource::User);
        assert_eq!(job.args.get("k"), Some(&Value::from(1)));
    }

    #[test]
    fn bad_values_name_their_field() {
        let input: JobCreateInput = parse_json(br#"{"type":"t","priority":7}"#).unwrap();
        let error = input.into_job().unwrap_err();
        assert!(
            error.message().contains("`priority` `7`"),
            "{}",
            error.message()
        );
        let input: JobCreateInput = parse_json(br#"{"type":"t","args":[1]}"#).unwrap();
        assert!(input.into_job().unwrap_err().message().contains("`args`"));
        assert!(parse_json::<JobCreateInput>(br#"{"type":"t","colour":1}"#).is_err());
    }
}
