//! The job model (R1–R3, R6).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::action::JobAction;
use crate::job_args::JobArgs;
use crate::kind::{JobKind, JobSource};
use crate::priority::JobPriority;
use crate::status::JobStatus;

/// The default group of a job.
pub const DEFAULT_GROUP: &str = "Default";
/// The default max try count (R2).
pub const DEFAULT_MAX_TRY_COUNT: i32 = 50;
/// The default interval in seconds (R2).
pub const DEFAULT_INTERVAL_SECS: i64 = 300;

/// A job: what to run, when, and where it stands (R1). The field names are the
/// reference's, in Rust form.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct JobInfo {
    /// Unique key of the job.
    pub id: String,
    /// The tenant the job belongs to, if any.
    pub tenant_id: Option<Uuid>,
    /// Display name.
    pub name: String,
    /// Group, for display and filtering.
    pub group: String,
    /// The registered name of the runnable that runs the job.
    pub job_type: String,
    /// Arguments given to the runnable.
    pub args: JobArgs,
    /// Where the job is in its life.
    pub status: JobStatus,
    /// Free text.
    pub description: String,
    /// When the job was created.
    pub creation_time: DateTime<Utc>,
    /// No run happens before this time.
    pub begin_time: DateTime<Utc>,
    /// No run happens after this time.
    pub end_time: Option<DateTime<Utc>>,
    /// When the job last ran.
    pub last_run_time: Option<DateTime<Utc>>,
    /// When the job runs next; `None` when it will not run again.
    pub next_run_time: Option<DateTime<Utc>>,
    /// How the job repeats (the reference's `JobType`).
    pub kind: JobKind,
    /// The cron expression of a Period job (Quartz 6- or 7-field form).
    pub cron: Option<String>,
    /// How many times the job has run.
    pub trigger_count: i32,
    /// How many times in a row the job has failed.
    pub try_count: i32,
    /// After this many failures in a row the job stops (0 = never).
    pub max_try_count: i32,
    /// How many times a Persistent job runs (0 = no limit).
    pub max_count: i32,
    /// Set when the job was stopped for failing too often.
    pub is_abandoned: bool,
    /// Seconds between runs of a Persistent job, and before the retry of a failed run.
    pub interval: i64,
    /// Higher runs first when several jobs are due.
    pub priority: JobPriority,
    /// Seconds of the exclusive lock a run holds (0 = no lock).
    pub lock_timeout: i64,
    /// The node that must run the job; `None` lets any node run it.
    pub node_name: Option<String>,
    /// What the last run returned.
    pub result: Option<String>,
    /// Who created the job.
    pub source: JobSource,
    /// The interval before the first failure grew it; kept so that a retry policy can
    /// restore it after a success (R21). `None` while the interval never grew.
    pub base_interval: Option<i64>,
    /// The longest one run may take, in seconds: past it the run is cancelled and fails
    /// with code `Timeout` (R44). `None`: the job type's limit, if it has one.
    pub time_limit: Option<i64>,
    /// What to do after its runs — the notifiers to fire (R31) — stored with the job.
    pub actions: Vec<JobAction>,
}

impl Default for JobInfo {
    /// The defaults of R2, with creation and begin time set to now.
    fn default() -> Self {
        let now = Utc::now();
        Self {
            id: String::new(),
            tenant_id: None,
            name: String::new(),
            group: DEFAULT_GROUP.to_owned(),
            job_type: String::new(),
            args: JobArgs::new(),
            status: JobStatus::None,
            description: String::new(),
            creation_time: now,
            begin_time: now,
            end_time: None,
            last_run_time: None,
            next_run_time: None,
            kind: JobKind::Once,
            cron: None,
            trigger_count: 0,
            try_count: 0,
            max_try_count: DEFAULT_MAX_TRY_COUNT,
            max_count: 0,
            is_abandoned: false,
            interval: DEFAULT_INTERVAL_SECS,
            priority: JobPriority::Normal,
            lock_timeout: 0,
            node_name: None,
            result: None,
            source: JobSource::None,
            base_interval: None,
            time_limit: None,
            actions: Vec::new(),
        }
    }
}

/// How many more times a job will run (R6).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RemainingRuns {
    /// This many more runs.
    Count(i32),
    /// No limit.
    Unlimited,
}

impl JobInfo {
    /// A job with the defaults of R2 (a Once job), named after its id.
    pub fn new(id: impl Into<String>, job_type: impl Into<String>) -> Self {
        let id = id.into();
        Self {
            name: id.clone(),
            id,
            job_type: job_type.into(),
            ..Self::default()
        }
    }

    /// A new id for a job its caller did not name: a time-ordered UUID (version 7), so
    /// that a durable store's id index grows at its right edge instead of taking each new
    /// job at a random place. Ids made by one process sort in the order they were made.
    ///
    /// ```
    /// use bgtasks_abstractions::JobInfo;
    ///
    /// let (first, second) = (JobInfo::new_id(), JobInfo::new_id());
    /// assert!(first < second);
    /// ```
    pub fn new_id() -> String {
        uuid::Uuid::now_v7().to_string()
    }

    /// A Once job: runs one time, at its begin time.
    pub fn once(id: impl Into<String>, job_type: impl Into<String>) -> Self {
        Self::new(id, job_type)
    }

    /// A Period job on a cron expression (Quartz form, e.g. `0/30 * * * * ?`).
    pub fn period(
        id: impl Into<String>,
        job_type: impl Into<String>,
        cron: impl Into<String>,
    ) -> Self {
        Self {
            kind: JobKind::Period,
            cron: Some(cron.into()),
            ..Self::new(id, job_type)
        }
    }

    /// A Persistent job: runs every `interval_secs` seconds, `max_count` times (0 = forever).
    pub fn persistent(
        id: impl Into<String>,
        job_type: impl Into<String>,
        interval_secs: i64,
        max_count: i32,
    ) -> Self {
        Self {
            kind: JobKind::Persistent,
            interval: interval_secs,
            max_count,
            ..Self::new(id, job_type)
        }
    }

    /// Sets the group.
    pub fn with_group(mut self, group: impl Into<String>) -> Self {
        self.group = group.into();
        self
    }

    /// Sets the display name.
    pub fn with_name(mut self, name: impl Into<String>) -> Self {
        self.name = name.into();
        self
    }

    /// Sets the description.
    pub fn with_description(mut self, description: impl Into<String>) -> Self {
        self.description = description.into();
        self
    }

    /// Replaces the arguments.
    pub fn with_args(mut self, args: JobArgs) -> Self {
        self.args = args;
        self
    }

    /// Adds one argument.
    pub fn with_arg(mut self, key: impl Into<String>, value: impl Into<serde_json::Value>) -> Self {
        self.args.insert(key, value);
        self
    }

    /// Sets the tenant.
    pub fn with_tenant(mut self, tenant_id: Uuid) -> Self {
        self.tenant_id = Some(tenant_id);
        self
    }

    /// Sets the begin time (a future begin time delays the job).
    pub fn with_begin_time(mut self, begin: DateTime<Utc>) -> Self {
        self.begin_time = begin;
        self
    }

    /// Sets the end time.
    pub fn with_end_time(mut self, end: DateTime<Utc>) -> Self {
        self.end_time = Some(end);
        self
    }

    /// Sets the priority.
    pub fn with_priority(mut self, priority: JobPriority) -> Self {
        self.priority = priority;
        self
    }

    /// Sets the interval in seconds.
    pub fn with_interval(mut self, seconds: i64) -> Self {
        self.interval = seconds;
        self
    }

    /// Sets the max try count (0 = never stop for failures).
    pub fn with_max_try_count(mut self, max_try_count: i32) -> Self {
        self.max_try_count = max_try_count;
        self
    }

    /// Sets the max count (0 = no limit).
    pub fn with_max_count(mut self, max_count: i32) -> Self {
        self.max_count = max_count;
        self
    }

    /// Sets the lock timeout in seconds (0 = no lock).
    pub fn with_lock_timeout(mut self, seconds: i64) -> Self {
        self.lock_timeout = seconds;
        self
    }

    /// Pins the job to a node.
    pub fn with_node(mut self, node_name: impl Into<String>) -> Self {
        self.node_name = Some(node_name.into());
        self
    }

    /// Sets the longest one run may take (R44), in whole seconds (rounded up).
    pub fn with_time_limit(mut self, limit: std::time::Duration) -> Self {
        let secs = limit.as_secs() + u64::from(limit.subsec_nanos() > 0);
        self.time_limit = Some(i64::try_from(secs).unwrap_or(i64::MAX));
        self
    }

    /// Adds an action (R31), e.g. the failure e-mail.
    pub fn with_action(mut self, action: JobAction) -> Self {
        self.actions.push(action);
        self
    }

    /// Sets who created the job.
    pub fn with_source(mut self, source: JobSource) -> Self {
        self.source = source;
        self
    }

    /// How many more times the job will run (R6).
    pub fn remaining_runs(&self) -> RemainingRuns {
        if self.kind == JobKind::Once {
            RemainingRuns::Count(1)
        } else if self.max_count > 0 {
            RemainingRuns::Count((self.max_count - self.trigger_count).max(0))
        } else {
            RemainingRuns::Unlimited
        }
    }

    /// Whether the job may run on `node`: it is pinned to no node or to this one.
    pub fn runs_on(&self, node: &str) -> bool {
        self.node_name
            .as_deref()
            .is_none_or(|pinned| pinned == node)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_the_references() {
        // spec: R2
        let job = JobInfo::new("j", "t");
        assert_eq!(job.status, JobStatus::None);
        assert_eq!(job.kind, JobKind::Once);
        assert_eq!(job.max_try_count, 50);
        assert_eq!(job.max_count, 0);
        assert_eq!(job.interval, 300);
        assert_eq!(job.priority, JobPriority::Normal);
        assert_eq!(job.lock_timeout, 0);
        assert_eq!(job.source, JobSource::None);
        assert!(!job.is_abandoned);
    }

    #[test]
    fn has_every_field_of_the_model_and_round_trips() {
        // spec: R1
        let now = Utc::now();
        let job = JobInfo::period("id-1", "report", "0/30 * * * * ?")
            .with_group("g")
            .with_name("n")
            .with_description("d")
            .with_arg("k", 1)
            .with_tenant(Uuid::new_v4())
            .with_end_time(now)
            .with_priority(JobPriority::High)
            .with_lock_timeout(5)
            .with_node("node-a")
            .with_source(JobSource::User);
        let json = serde_json::to_string(&job).unwrap();
        let back: JobInfo = serde_json::from_str(&json).unwrap();
        assert_eq!(back, job);
        let value: serde_json::Value = serde_json::from_str(&json).unwrap();
        assert_eq!(value["status"], -1);
        assert_eq!(value["priority"], 25);
        assert_eq!(value["kind"], 1);
    }

    #[test]
    fn remaining_runs() {
        // spec: R6
        let once = JobInfo::once("a", "t");
        assert_eq!(once.remaining_runs(), RemainingRuns::Count(1));
        let mut persistent = JobInfo::persistent("b", "t", 10, 5);
        persistent.trigger_count = 3;
        assert_eq!(persistent.remaining_runs(), RemainingRuns::Count(2));
        persistent.trigger_count = 9;
        assert_eq!(persistent.remaining_runs(), RemainingRuns::Count(0));
        let forever = JobInfo::persistent("c", "t", 10, 0);
        assert_eq!(forever.remaining_runs(), RemainingRuns::Unlimited);
        let period = JobInfo::period("d", "t", "0 * * * * ?");
        assert_eq!(period.remaining_runs(), RemainingRuns::Unlimited);
    }
}
