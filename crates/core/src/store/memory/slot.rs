//! The compact form of a job inside the in-memory store.
//!
//! A [`JobInfo`] is 352 bytes plus one heap allocation per string (about 480 bytes for a
//! plain pending job), and a hash map holding a million of them by value more than
//! doubled that. A [`Slot`] keeps the same information in 192 bytes plus its id, in a
//! slot table (a `Vec`, whose capacity not yet used is never touched, so never resident):
//!
//! - the id is one `Arc<str>`, shared with the id map's key;
//! - the name is not stored when it equals the id (the default);
//! - the group, the job type and the node name are interned: jobs share one copy;
//! - the cron expression and its parsed schedule are interned together, so jobs on the
//!   same expression share one parse;
//! - the fields a pending job rarely sets (tenant, description, arguments, end time,
//!   node, result, base interval) live in one box that is absent while all are empty;
//! - the lease of a run in flight lives in the store's lease table, not in every job.
//!
//! [`Slot::to_job`] gives back the job exactly as it was stored.

use std::borrow::Borrow;
use std::cmp::Ordering;
use std::collections::HashSet;
use std::hash::{Hash, Hasher};
use std::sync::Arc;

use bgtasks_abstractions::{
    CronSchedule, JobAction, JobArgs, JobInfo, JobKind, JobPriority, JobSource, JobStatus,
};
use chrono::{DateTime, Utc};
use uuid::Uuid;

/// One job in the store, with the lease of its current run.
pub(super) struct Slot {
    /// The job id, shared with the key of the store's id map.
    pub(super) id: Arc<str>,
    /// The display name; `None` when it equals the id.
    name: Option<Box<str>>,
    group: Arc<str>,
    job_type: Arc<str>,
    cron: Option<Arc<Cron>>,
    extra: Option<Box<Extra>>,
    /// Where the lease of the run in progress sits in the store's lease table, if the
    /// job is leased.
    pub(super) lease: Option<u32>,
    creation_time: DateTime<Utc>,
    begin_time: DateTime<Utc>,
    pub(super) next_run_time: Option<DateTime<Utc>>,
    last_run_time: Option<DateTime<Utc>>,
    interval: i64,
    lock_timeout: i64,
    /// The revision of the job's definition (R37).
    pub(super) revision: u32,
    /// Claims ever (R43).
    pub(super) attempts: u32,
    /// Rescues in a row since the last completion (R43).
    pub(super) rescues: u16,
    /// Changes with every change to the job; index entries of other generations are
    /// stale.
    pub(super) generation: u64,
    trigger_count: i32,
    pub(super) try_count: i32,
    max_try_count: i32,
    max_count: i32,
    pub(super) status: JobStatus,
    kind: JobKind,
    pub(super) priority: JobPriority,
    source: JobSource,
    is_abandoned: bool,
}

/// The fields a job rarely sets; boxed, and absent while all are empty.
#[derive(Default, PartialEq)]
struct Extra {
    tenant_id: Option<Uuid>,
    description: Box<str>,
    args: JobArgs,
    end_time: Option<DateTime<Utc>>,
    node_name: Option<Arc<str>>,
    result: Option<Box<str>>,
    base_interval: Option<i64>,
    time_limit: Option<i64>,
    actions: Vec<JobAction>,
}

/// A cron expression as the job gave it, with its parse (`None` if it does not parse).
pub(super) struct Cron {
    text: Box<str>,
    schedule: Option<CronSchedule>,
}

/// Interned texts and cron expressions, shared between the jobs of one store. Entries no
/// job uses any more are dropped whenever the table has doubled since the last sweep.
#[derive(Default)]
pub(super) struct Interner {
    texts: HashSet<Arc<str>>,
    texts_sweep_at: usize,
    crons: HashSet<CronKey>,
    crons_sweep_at: usize,
}

/// The smallest table size at which a sweep of unused entries happens.
const MIN_SWEEP: usize = 64;

/// A cron entry keyed by its text.
struct CronKey(Arc<Cron>);

impl Hash for CronKey {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.0.text.hash(state);
    }
}

impl PartialEq for CronKey {
    fn eq(&self, other: &Self) -> bool {
        self.0.text == other.0.text
    }
}

impl Eq for CronKey {}

impl Borrow<str> for CronKey {
    fn borrow(&self) -> &str {
        &self.0.text
    }
}

impl Interner {
    /// The shared copy of `text`.
    pub(super) fn text(&mut self, text: &str) -> Arc<str> {
        if let Some(shared) = self.texts.get(text) {
            return shared.clone();
        }
        if self.texts.len() >= self.texts_sweep_at {
            self.texts.retain(|t| Arc::strong_count(t) > 1);
            self.texts_sweep_at = (self.texts.len() * 2).max(MIN_SWEEP);
        }
        let shared: Arc<str> = Arc::from(text);
        self.texts.insert(shared.clone());
        shared
    }

    /// The shared entry of a cron expression, parsed the first time it is seen.
    fn cron(&mut self, text: &str) -> Arc<Cron> {
        if let Some(CronKey(shared)) = self.crons.get(text) {
            return shared.clone();
        }
        if self.crons.len() >= self.crons_sweep_at {
            self.crons.retain(|c| Arc::strong_count(&c.0) > 1);
            self.crons_sweep_at = (self.crons.len() * 2).max(MIN_SWEEP);
        }
        let shared = Arc::new(Cron {
            text: text.into(),
            schedule: CronSchedule::parse(text).ok(),
        });
        self.crons.insert(CronKey(shared.clone()));
        shared
    }

    /// How many texts and cron expressions the tables hold (used or not); for tests.
    #[cfg(test)]
    pub(super) fn len(&self) -> usize {
        self.texts.len() + self.crons.len()
    }
}

fn boxed_text(text: &str) -> Box<str> {
    Box::from(text)
}

impl Slot {
    /// The compact form of `job`, whose id is `id`, with no lease, revision 1 and
    /// generation 0.
    pub(super) fn new(job: &JobInfo, id: Arc<str>, interner: &mut Interner) -> Self {
        let extra = Extra {
            tenant_id: job.tenant_id,
            description: boxed_text(&job.description),
            args: job.args.clone(),
            end_time: job.end_time,
            node_name: job.node_name.as_deref().map(|n| interner.text(n)),
            result: job.result.as_deref().map(boxed_text),
            base_interval: job.base_interval,
            time_limit: job.time_limit,
            actions: job.actions.clone(),
        };
        Self {
            name: (job.name != *id).then(|| boxed_text(&job.name)),
            id,
            group: interner.text(&job.group),
            job_type: interner.text(&job.job_type),
            cron: job.cron.as_deref().map(|c| interner.cron(c)),
            extra: (extra != Extra::default()).then(|| Box::new(extra)),
            lease: None,
            creation_time: job.creation_time,
            begin_time: job.begin_time,
            next_run_time: job.next_run_time,
            last_run_time: job.last_run_time,
            interval: job.interval,
            lock_timeout: job.lock_timeout,
            revision: 1,
            generation: 0,
            attempts: 0,
            rescues: 0,
            trigger_count: job.trigger_count,
            try_count: job.try_count,
            max_try_count: job.max_try_count,
            max_count: job.max_count,
            status: job.status,
            kind: job.kind,
            priority: job.priority,
            source: job.source,
            is_abandoned: job.is_abandoned,
        }
    }

    /// Replaces the job with `job`, keeping the lease, the revision, the counts of
    /// attempts and rescues, and the generation.
    pub(super) fn replace(&mut self, job: &JobInfo, interner: &mut Interner) {
        let mut next = Self::new(job, self.id.clone(), interner);
        next.lease = self.lease.take();
        next.revision = self.revision;
        next.generation = self.generation;
        next.attempts = self.attempts;
        next.rescues = self.rescues;
        *self = next;
    }

    /// The shared copy of the job type.
    pub(super) fn job_type_key(&self) -> &Arc<str> {
        &self.job_type
    }

    /// The job, as it was stored.
    pub(super) fn to_job(&self) -> JobInfo {
        let extra = self.extra.as_deref();
        JobInfo {
            id: self.id.to_string(),
            tenant_id: extra.and_then(|e| e.tenant_id),
            name: self.name.as_deref().unwrap_or(&self.id).to_owned(),
            group: self.group.to_string(),
            job_type: self.job_type.to_string(),
            args: extra.map(|e| e.args.clone()).unwrap_or_default(),
            status: self.status,
            description: extra.map(|e| e.description.to_string()).unwrap_or_default(),
            creation_time: self.creation_time,
            begin_time: self.begin_time,
            end_time: self.end_time(),
            last_run_time: self.last_run_time,
            next_run_time: self.next_run_time,
            kind: self.kind,
            cron: self.cron.as_ref().map(|c| c.text.to_string()),
            trigger_count: self.trigger_count,
            try_count: self.try_count,
            max_try_count: self.max_try_count,
            max_count: self.max_count,
            is_abandoned: self.is_abandoned,
            interval: self.interval,
            priority: self.priority,
            lock_timeout: self.lock_timeout,
            node_name: self.node_name().map(str::to_owned),
            result: extra.and_then(|e| e.result.as_deref()).map(str::to_owned),
            source: self.source,
            base_interval: extra.and_then(|e| e.base_interval),
            time_limit: extra.and_then(|e| e.time_limit),
            actions: extra.map(|e| e.actions.clone()).unwrap_or_default(),
        }
    }

    /// The parsed cron schedule, if the job has a cron expression that parses.
    pub(super) fn schedule(&self) -> Option<&CronSchedule> {
        self.cron.as_deref().and_then(|c| c.schedule.as_ref())
    }

    /// Why a Period job cannot be scheduled (its cron does not parse), if it cannot.
    pub(super) fn unschedulable(&self) -> Option<String> {
        if self.kind != JobKind::Period {
            return None;
        }
        match self.cron.as_deref() {
            Some(cron) if cron.schedule.is_some() => None,
            Some(cron) => Some(match CronSchedule::parse(&cron.text) {
                Err(error) => format!("set aside: {error}"),
                Ok(_) => format!("set aside: cron expression `{}` does not parse", cron.text),
            }),
            None => Some("set aside: a Period job without a cron expression".to_owned()),
        }
    }

    /// Sets the job aside: Stopped, no next run, `reason` as its result (R42).
    pub(super) fn set_aside(&mut self, reason: String) {
        self.status = JobStatus::Stopped;
        self.next_run_time = None;
        self.extra.get_or_insert_with(Box::default).result = Some(reason.into_boxed_str());
    }

    /// The node the job is pinned to, if any.
    pub(super) fn node_name(&self) -> Option<&str> {
        self.extra.as_deref().and_then(|e| e.node_name.as_deref())
    }

    /// The shared copy of [`node_name`](Self::node_name).
    pub(super) fn node_key(&self) -> Option<&Arc<str>> {
        self.extra.as_deref().and_then(|e| e.node_name.as_ref())
    }

    pub(super) fn begin_time(&self) -> DateTime<Utc> {
        self.begin_time
    }

    pub(super) fn end_time(&self) -> Option<DateTime<Utc>> {
        self.extra.as_deref().and_then(|e| e.end_time)
    }

    /// Whether a claim may pick the job now.
    pub(super) fn is_claimable(&self) -> bool {
        self.lease.is_none()
            && !self.is_abandoned
            && self.status.is_schedulable()
            && self.next_run_time.is_some()
    }

    /// [`JobInfo::runs_on`].
    pub(super) fn runs_on(&self, node: &str) -> bool {
        self.node_name().is_none_or(|pinned| pinned == node)
    }

    /// [`bgtasks_store::rules::is_waiting`], on the compact form.
    pub(super) fn is_waiting(&self, period: bool) -> bool {
        !self.is_abandoned
            && (self.kind == JobKind::Period) == period
            && matches!(self.status, JobStatus::Queuing | JobStatus::FailedRetry)
            && ((self.max_count == 0 || self.trigger_count < self.max_count)
                || (self.max_try_count == 0 || self.try_count < self.max_try_count))
    }

    /// [`bgtasks_store::rules::waiting_order`], on the compact form.
    pub(super) fn waiting_order(a: &Self, b: &Self) -> Ordering {
        b.priority
            .cmp(&a.priority)
            .then(a.try_count.cmp(&b.try_count))
            .then_with(|| match (a.next_run_time, b.next_run_time) {
                (Some(x), Some(y)) => x.cmp(&y),
                (Some(_), None) => Ordering::Less,
                (None, Some(_)) => Ordering::Greater,
                (None, None) => Ordering::Equal,
            })
    }

    /// [`bgtasks_store::rules::cleanup_reference_time`], on the compact form.
    pub(super) fn cleanup_reference_time(&self) -> DateTime<Utc> {
        self.last_run_time
            .or(self.end_time())
            .unwrap_or(self.creation_time)
    }

    /// When the job last ran, as its last saved outcome says.
    pub(super) fn last_run_time(&self) -> Option<DateTime<Utc>> {
        self.last_run_time
    }

    /// [`bgtasks_store::rules::apply_run_state`], on the compact form: writes the
    /// run-state fields of `outcome` onto the job.
    pub(super) fn apply_run_state(&mut self, outcome: &JobInfo) {
        self.status = outcome.status;
        self.trigger_count = outcome.trigger_count;
        self.try_count = outcome.try_count;
        self.is_abandoned = outcome.is_abandoned;
        self.interval = outcome.interval;
        self.priority = outcome.priority;
        self.last_run_time = outcome.last_run_time;
        self.next_run_time = outcome.next_run_time;
        let result = outcome.result.as_deref();
        if self.extra.is_none()
            && result.is_none()
            && outcome.tenant_id.is_none()
            && outcome.base_interval.is_none()
        {
            return;
        }
        let extra = self.extra.get_or_insert_with(Box::default);
        if extra.result.as_deref() != result {
            extra.result = result.map(boxed_text);
        }
        extra.tenant_id = outcome.tenant_id;
        extra.base_interval = outcome.base_interval;
        if **extra == Extra::default() {
            self.extra = None;
        }
    }
}
