//! What the failure template shows (R34).

use bgtasks_abstractions::{JobArgs, TENANT_ID_ARG};
use bgtasks_actions::RunSummary;
use serde::Serialize;
use serde_json::Value;

/// How the trigger time is written (the reference's `yyyy-MM-dd HH:mm:ss`), in UTC.
pub const TRIGGER_TIME_FORMAT: &str = "%Y-%m-%d %H:%M:%S";

/// The argument that overrides the group shown in the mail.
pub const GROUP_ARG: &str = "Group";
/// The argument that overrides the name shown in the mail.
pub const NAME_ARG: &str = "Name";
/// The argument that overrides the type shown in the mail.
pub const TYPE_ARG: &str = "Type";

/// The values of one failure mail, as templates see them under `model`. Serializes with
/// these field names, except `job_type`, which is `type`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FailureMailModel {
    /// The mail's subject.
    pub title: String,
    /// The job's id.
    pub id: String,
    /// The `Group` argument when present, else the job's group.
    pub group: String,
    /// The `Name` argument when present, else the job's name.
    pub name: String,
    /// The `Type` argument when present, else the job's type.
    #[serde(rename = "type")]
    pub job_type: String,
    /// When the run started, `yyyy-MM-dd HH:mm:ss` in UTC.
    pub trigger_time: String,
    /// The message of the error's innermost cause.
    pub message: String,
    /// The `TenantId` argument when present, else the job's own tenant; `None` hides the
    /// tenant line.
    pub tenant_name: Option<String>,
    /// The action's `body` parameter, shown under the error when set.
    pub body: Option<String>,
    /// The footer line.
    pub footer: String,
}

impl FailureMailModel {
    /// The model of the run `run` (as its notification carries it).
    pub fn from_run(
        run: &RunSummary,
        title: impl Into<String>,
        footer: impl Into<String>,
        body: Option<String>,
    ) -> Self {
        let args = &run.args;
        Self {
            title: title.into(),
            id: run.job_id.clone(),
            group: arg_text(args, GROUP_ARG).unwrap_or_else(|| run.group.clone()),
            name: arg_text(args, NAME_ARG).unwrap_or_else(|| run.name.clone()),
            job_type: arg_text(args, TYPE_ARG).unwrap_or_else(|| run.job_type.clone()),
            trigger_time: run.run_time.format(TRIGGER_TIME_FORMAT).to_string(),
            message: run
                .failure
                .as_ref()
                .map(|f| f.innermost_message.clone())
                .unwrap_or_default(),
            tenant_name: arg_text(args, TENANT_ID_ARG).or_else(|| run.tenant_id.clone()),
            body,
            footer: footer.into(),
        }
    }
}

/// An argument as text; `None` when absent, null, blank, an object or an array.
fn arg_text(args: &JobArgs, key: &str) -> Option<String> {
    let text = match args.get(key)? {
        Value::String(s) => s.trim().to_owned(),
        Value::Number(n) => n.to_string(),
        Value::Bool(b) => b.to_string(),
        Value::Null | Value::Array(_) | Value::Object(_) => return None,
    };
    (!text.is_empty()).then_some(text)
}

#[cfg(test)]
mod tests {
    use bgtasks_abstractions::{JobError, JobEventContext, JobEventData, JobInfo};
    use chrono::{TimeZone, Utc};

    use super::*;

    #[derive(Debug, thiserror::Error)]
    #[error("connection refused by db-1")]
    struct Cause;

    fn data(job: JobInfo) -> RunSummary {
        let run_time = Utc.with_ymd_and_hms(2024, 3, 9, 7, 5, 1).single().unwrap();
        let mut data = JobEventData::new(job.clone(), run_time, "n");
        data.error = Some(JobError::wrap("sync failed", Cause));
        RunSummary::of(&JobEventContext::standalone(data), &job)
    }

    #[test]
    fn takes_values_from_the_run() {
        // spec: R34
        let job = JobInfo::new("job-1", "sync")
            .with_group("etl")
            .with_name("orders");
        let model = FailureMailModel::from_run(&data(job), "Subject", "footer", None);
        assert_eq!(model.title, "Subject");
        assert_eq!(model.id, "job-1");
        assert_eq!(
            (model.group.as_str(), model.name.as_str()),
            ("etl", "orders")
        );
        assert_eq!(model.job_type, "sync");
        assert_eq!(model.trigger_time, "2024-03-09 07:05:01");
        assert_eq!(model.message, "connection refused by db-1");
        assert_eq!(model.tenant_name, None);
        let json = serde_json::to_value(&model).unwrap();
        assert_eq!(json["type"], "sync");
    }

    #[test]
    fn args_of_the_same_name_win_and_the_tenant_comes_from_tenant_id() {
        // spec: R34
        let job = JobInfo::new("job-1", "sync")
            .with_arg("Group", "Finance")
            .with_arg("Name", "Month end")
            .with_arg("Type", "MonthEndJob")
            .with_arg("TenantId", "acme");
        let model = FailureMailModel::from_run(&data(job), "s", "f", Some("b".into()));
        assert_eq!(model.group, "Finance");
        assert_eq!(model.name, "Month end");
        assert_eq!(model.job_type, "MonthEndJob");
        assert_eq!(model.tenant_name.as_deref(), Some("acme"));
        assert_eq!(model.body.as_deref(), Some("b"));

        let tenant = uuid::Uuid::new_v4();
        let own = JobInfo::new("job-2", "sync").with_tenant(tenant);
        let model = FailureMailModel::from_run(&data(own), "s", "f", None);
        assert_eq!(model.tenant_name, Some(tenant.to_string()));
    }
}
