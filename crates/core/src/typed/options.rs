//! The options of a typed job, set on the enqueue or schedule builder in the same call.

use std::time::Duration;

use bgtasks_abstractions::{JobAction, JobArgs, JobInfo, JobPriority, JobType};
use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::EnqueueError;

/// When a job is first due.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Begin {
    At(DateTime<Utc>),
    After(Duration),
}

/// What a typed job carries beside its value. Every field is optional: the job model's
/// defaults apply (the reference's: priority Normal, 50 tries, …).
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct JobOptions {
    pub(crate) id: Option<String>,
    pub(crate) begin: Option<Begin>,
    pub(crate) priority: Option<JobPriority>,
    pub(crate) max_tries: Option<i32>,
    pub(crate) node: Option<String>,
    pub(crate) time_limit: Option<Duration>,
    pub(crate) actions: Vec<JobAction>,
    pub(crate) group: Option<String>,
    pub(crate) name: Option<String>,
    pub(crate) description: Option<String>,
    pub(crate) tenant: Option<Uuid>,
    pub(crate) lock_timeout: Option<Duration>,
    pub(crate) trace_parent: Option<bgtasks_abstractions::TraceParent>,
}

impl JobOptions {
    /// Applies the options to `job`, whose begin time is computed from `now`.
    pub(crate) fn apply(&self, job: &mut JobInfo, now: DateTime<Utc>) {
        match self.begin {
            Some(Begin::At(at)) => job.begin_time = at,
            Some(Begin::After(delay)) => job.begin_time = crate::clock::saturating_add(now, delay),
            None => job.begin_time = now,
        }
        if let Some(priority) = self.priority {
            job.priority = priority;
        }
        if let Some(tries) = self.max_tries {
            job.max_try_count = tries;
        }
        if let Some(node) = &self.node {
            job.node_name = Some(node.clone());
        }
        if let Some(limit) = self.time_limit {
            job.time_limit = Some(i64::try_from(limit.as_secs()).unwrap_or(i64::MAX).max(1));
        }
        if !self.actions.is_empty() {
            job.actions.clone_from(&self.actions);
        }
        if let Some(group) = &self.group {
            job.group.clone_from(group);
        }
        if let Some(name) = &self.name {
            job.name.clone_from(name);
        }
        if let Some(description) = &self.description {
            job.description.clone_from(description);
        }
        if self.tenant.is_some() {
            job.tenant_id = self.tenant;
        }
        if let Some(lock) = self.lock_timeout {
            job.lock_timeout = i64::try_from(lock.as_secs()).unwrap_or(i64::MAX);
        }
        if let Some(parent) = &self.trace_parent {
            job.args
                .insert(bgtasks_abstractions::TRACE_PARENT_ARG, parent.to_string());
        }
    }
}

/// The arguments of `value`, or an error naming its job type.
pub(crate) fn args_of<J: JobType>(value: &J) -> Result<JobArgs, EnqueueError> {
    JobArgs::from_typed(value).map_err(EnqueueError::Encode)
}

/// The id a unique job gets when none was given: its type and a hash of its arguments,
/// so that the same value always lands on the same job.
pub(crate) fn unique_id<J: JobType>(args: &JobArgs) -> String {
    let text = serde_json::to_string(args.as_map()).unwrap_or_default();
    let hash = text.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |hash, byte| {
        (hash ^ u64::from(byte)).wrapping_mul(0x0100_0000_01b3)
    });
    format!("{}:{hash:016x}", J::TYPE)
}

/// Options setters shared by the enqueue and schedule builders.
macro_rules! option_setters {
    () => {
        /// Sets the job's id (default: a new time-ordered UUID, version 7, or for a unique
        /// job one made from its type and arguments).
        pub fn id(mut self, id: impl Into<String>) -> Self {
            self.options.id = Some(id.into());
            self
        }

        /// The job is first due at `at`.
        pub fn at(mut self, at: chrono::DateTime<chrono::Utc>) -> Self {
            self.options.begin = Some(crate::typed::options::Begin::At(at));
            self
        }

        /// The job is first due `delay` from now.
        pub fn delay(mut self, delay: std::time::Duration) -> Self {
            self.options.begin = Some(crate::typed::options::Begin::After(delay));
            self
        }

        /// Carries the W3C trace context `parent` (a request's `traceparent`) with the
        /// job, so that its runs' spans continue that trace (docs/observability.md).
        pub fn trace_parent(mut self, parent: &bgtasks_abstractions::TraceParent) -> Self {
            self.options.trace_parent = Some(parent.clone());
            self
        }

        /// Sets the priority.
        pub fn priority(mut self, priority: bgtasks_abstractions::JobPriority) -> Self {
            self.options.priority = Some(priority);
            self
        }

        /// Sets how many tries a failing job gets before it is abandoned (R17).
        pub fn max_tries(mut self, tries: i32) -> Self {
            self.options.max_tries = Some(tries);
            self
        }

        /// Pins the job to a node.
        pub fn node(mut self, node: impl Into<String>) -> Self {
            self.options.node = Some(node.into());
            self
        }

        /// Sets the job's time limit (R44), in whole seconds, at least one.
        pub fn time_limit(mut self, limit: std::time::Duration) -> Self {
            self.options.time_limit = Some(limit);
            self
        }

        /// Adds an action (a failure e-mail, a webhook…), stored with the job.
        pub fn action(mut self, action: impl Into<bgtasks_abstractions::JobAction>) -> Self {
            self.options.actions.push(action.into());
            self
        }

        /// Sets the group.
        pub fn group(mut self, group: impl Into<String>) -> Self {
            self.options.group = Some(group.into());
            self
        }

        /// Sets the display name.
        pub fn name(mut self, name: impl Into<String>) -> Self {
            self.options.name = Some(name.into());
            self
        }

        /// Sets the description.
        pub fn description(mut self, description: impl Into<String>) -> Self {
            self.options.description = Some(description.into());
            self
        }

        /// Sets the tenant.
        pub fn tenant(mut self, tenant: uuid::Uuid) -> Self {
            self.options.tenant = Some(tenant);
            self
        }

        /// Makes the job exclusive: one run at a time across nodes, under a lock lasting
        /// `timeout` (whole seconds).
        pub fn exclusive(mut self, timeout: std::time::Duration) -> Self {
            self.options.lock_timeout = Some(timeout);
            self
        }
    };
}

pub(crate) use option_setters;
