//! The in-memory job store: the default, for one process (or several runtimes in one
//! process sharing it).

mod index;

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError, Weak};
use std::time::Duration;

use async_trait::async_trait;
use bgtasks_abstractions::{
    CronSchedule, JobInfo, JobKind, JobStatus, RunLease, next_fire_time_after_run,
};
use chrono::{DateTime, Utc};
use tokio::sync::Notify;

use self::index::{DueIndex, Entry};
use super::{
    ClaimedRun, CompletionOutcome, JobLog, JobStore, ReleaseMode, StoreError, apply_run_state,
    cleanup_reference_time, is_waiting, waiting_order,
};

/// How many run logs the in-memory store keeps by default (oldest dropped first).
pub const DEFAULT_MAX_LOGS: usize = 10_000;

/// A job store in memory. Claims pop from a due-time index under one lock; leases and
/// fencing tokens work as in the durable stores, so several runtimes in one process can
/// share one store. Nothing survives the process.
pub struct InMemoryJobStore {
    state: Mutex<State>,
    max_logs: usize,
}

#[derive(Default)]
struct State {
    jobs: HashMap<Arc<str>, Slot>,
    buckets: HashMap<Option<Arc<str>>, DueIndex>,
    leased: HashSet<Arc<str>>,
    logs: VecDeque<JobLog>,
    subscribers: Vec<Weak<Notify>>,
    next_generation: u64,
}

struct Slot {
    job: JobInfo,
    schedule: Option<Arc<CronSchedule>>,
    lease: Option<LeaseState>,
    token: i64,
    generation: u64,
}

struct LeaseState {
    token: i64,
    node: String,
    expires_at: DateTime<Utc>,
    due_at: DateTime<Utc>,
}

impl Slot {
    fn is_claimable(&self) -> bool {
        self.lease.is_none()
            && !self.job.is_abandoned
            && self.job.status.is_schedulable()
            && self.job.next_run_time.is_some()
    }
}

impl Default for InMemoryJobStore {
    fn default() -> Self {
        Self::new()
    }
}

impl std::fmt::Debug for InMemoryJobStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let state = self.lock();
        f.debug_struct("InMemoryJobStore")
            .field("jobs", &state.jobs.len())
            .field("leased", &state.leased.len())
            .field("logs", &state.logs.len())
            .finish()
    }
}

impl InMemoryJobStore {
    /// An empty store keeping at most [`DEFAULT_MAX_LOGS`] run logs.
    pub fn new() -> Self {
        Self::with_max_logs(DEFAULT_MAX_LOGS)
    }

    /// An empty store keeping at most `max_logs` run logs.
    pub fn with_max_logs(max_logs: usize) -> Self {
        Self {
            state: Mutex::new(State::default()),
            max_logs,
        }
    }

    /// How many jobs the store holds.
    pub fn len(&self) -> usize {
        self.lock().jobs.len()
    }

    /// Whether the store holds no job.
    pub fn is_empty(&self) -> bool {
        self.lock().jobs.is_empty()
    }

    /// Every job, in no particular order (for tests and tools).
    pub fn all_jobs(&self) -> Vec<JobInfo> {
        self.lock().jobs.values().map(|s| s.job.clone()).collect()
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl State {
    fn bump(&mut self) -> u64 {
        self.next_generation += 1;
        self.next_generation
    }

    /// Re-indexes a slot after a change and wakes subscribers if it became claimable.
    fn reindex(&mut self, id: &Arc<str>) {
        let generation = self.bump();
        let Some(slot) = self.jobs.get_mut(id) else {
            return;
        };
        slot.generation = generation;
        if !slot.is_claimable() {
            return;
        }
        let Some(due) = slot.job.next_run_time else {
            return;
        };
        let entry = Entry {
            due,
            priority: slot.job.priority,
            try_count: slot.job.try_count,
            generation,
            id: id.clone(),
        };
        let bucket = slot.job.node_name.as_deref().map(Arc::from);
        self.buckets.entry(bucket).or_default().push(entry);
        self.notify();
    }

    fn notify(&mut self) {
        self.subscribers.retain(|weak| match weak.upgrade() {
            Some(notify) => {
                notify.notify_one();
                true
            }
            None => false,
        });
    }

    fn put(&mut self, job: &JobInfo) {
        let id: Arc<str> = match self.jobs.get_key_value(job.id.as_str()) {
            Some((key, _)) => key.clone(),
            None => Arc::from(job.id.as_str()),
        };
        let schedule = match self.jobs.get(&id) {
            Some(slot) if slot.job.cron == job.cron => slot.schedule.clone(),
            _ => parse_schedule(job),
        };
        match self.jobs.get_mut(&id) {
            Some(slot) => {
                slot.job = job.clone();
                slot.schedule = schedule;
            }
            None => {
                self.jobs.insert(
                    id.clone(),
                    Slot {
                        job: job.clone(),
                        schedule,
                        lease: None,
                        token: 0,
                        generation: 0,
                    },
                );
            }
        }
        self.reindex(&id);
    }

    fn is_current(jobs: &HashMap<Arc<str>, Slot>, entry: &Entry) -> bool {
        jobs.get(&entry.id)
            .is_some_and(|slot| slot.generation == entry.generation && slot.is_claimable())
    }

    /// Pops the best due run of `node`'s buckets (its own and the unpinned one).
    fn pop_best(&mut self, node: &str, now: DateTime<Utc>) -> Option<Entry> {
        let State { jobs, buckets, .. } = self;
        let mut best: Option<(Option<Arc<str>>, Entry)> = None;
        for key in [None, Some(Arc::<str>::from(node))] {
            let Some(index) = buckets.get_mut(&key) else {
                continue;
            };
            index.promote(now);
            if let Some(top) = index.peek_ready(|e| Self::is_current(jobs, e)) {
                let better = match &best {
                    None => true,
                    Some((_, current)) => DueIndex::goes_before(top, current),
                };
                if better {
                    best = Some((key, top.clone()));
                }
            }
        }
        let (key, _) = best?;
        buckets.get_mut(&key).and_then(DueIndex::pop_ready)
    }

    fn add_log(&mut self, log: JobLog, max_logs: usize) {
        if max_logs == 0 {
            return;
        }
        while self.logs.len() >= max_logs {
            self.logs.pop_front();
        }
        self.logs.push_back(log);
    }
}

fn parse_schedule(job: &JobInfo) -> Option<Arc<CronSchedule>> {
    if job.kind != JobKind::Period {
        return None;
    }
    job.cron
        .as_deref()
        .and_then(|c| CronSchedule::parse(c).ok())
        .map(Arc::new)
}

#[async_trait]
impl JobStore for InMemoryJobStore {
    async fn list_waiting(&self, max: usize) -> Result<Vec<JobInfo>, StoreError> {
        Ok(self.filtered(max, false))
    }

    async fn list_period(&self, max: usize) -> Result<Vec<JobInfo>, StoreError> {
        Ok(self.filtered(max, true))
    }

    async fn list_running(&self, node: &str, max: usize) -> Result<Vec<JobInfo>, StoreError> {
        let state = self.lock();
        let mut jobs: Vec<JobInfo> = state
            .jobs
            .values()
            .filter(|s| s.job.status == JobStatus::Running && s.job.runs_on(node))
            .map(|s| s.job.clone())
            .collect();
        jobs.sort_by(waiting_order);
        jobs.truncate(max);
        Ok(jobs)
    }

    async fn find(&self, id: &str) -> Result<Option<JobInfo>, StoreError> {
        Ok(self.lock().jobs.get(id).map(|s| s.job.clone()))
    }

    async fn store(&self, job: &JobInfo) -> Result<(), StoreError> {
        self.lock().put(job);
        Ok(())
    }

    async fn insert(&self, job: &JobInfo) -> Result<bool, StoreError> {
        let mut state = self.lock();
        if state.jobs.contains_key(job.id.as_str()) {
            return Ok(false);
        }
        state.put(job);
        Ok(true)
    }

    async fn remove(&self, id: &str) -> Result<bool, StoreError> {
        let mut state = self.lock();
        state.leased.remove(id);
        Ok(state.jobs.remove(id).is_some())
    }

    async fn store_log(&self, log: &JobLog) -> Result<(), StoreError> {
        let max_logs = self.max_logs;
        self.lock().add_log(log.clone(), max_logs);
        Ok(())
    }

    async fn list_logs(&self, job_id: &str, max: usize) -> Result<Vec<JobLog>, StoreError> {
        let state = self.lock();
        Ok(state
            .logs
            .iter()
            .rev()
            .filter(|l| l.job_id == job_id)
            .take(max)
            .cloned()
            .collect())
    }

    async fn cleanup(
        &self,
        node: Option<&str>,
        expired_before: DateTime<Utc>,
        max: usize,
    ) -> Result<Vec<JobInfo>, StoreError> {
        let mut state = self.lock();
        let mut expired: Vec<(DateTime<Utc>, Arc<str>)> = state
            .jobs
            .iter()
            .filter(|(_, s)| {
                s.job.status == JobStatus::Completed
                    && node.is_none_or(|n| s.job.node_name.as_deref() == Some(n))
                    && cleanup_reference_time(&s.job) < expired_before
            })
            .map(|(id, s)| (cleanup_reference_time(&s.job), id.clone()))
            .collect();
        expired.sort();
        expired.truncate(max);
        let mut removed = Vec::with_capacity(expired.len());
        for (_, id) in expired {
            state.leased.remove(&id);
            if let Some(slot) = state.jobs.remove(&id) {
                removed.push(slot.job);
            }
        }
        if !removed.is_empty() {
            let gone: std::collections::HashSet<&str> =
                removed.iter().map(|j| j.id.as_str()).collect();
            state.logs.retain(|log| !gone.contains(log.job_id.as_str()));
        }
        Ok(removed)
    }

    async fn claim_due(
        &self,
        node: &str,
        now: DateTime<Utc>,
        limit: usize,
        lease: Duration,
    ) -> Result<Vec<ClaimedRun>, StoreError> {
        let mut state = self.lock();
        let mut claimed = Vec::new();
        while claimed.len() < limit {
            let Some(entry) = state.pop_best(node, now) else {
                break;
            };
            let generation = state.bump();
            let Some(slot) = state.jobs.get_mut(&entry.id) else {
                continue;
            };
            slot.generation = generation;
            let Some(due) = slot.job.next_run_time else {
                continue;
            };
            if slot.job.end_time.is_some_and(|end| now > end) {
                // Past its end time: it never runs again (R3).
                slot.job.next_run_time = None;
                continue;
            }
            slot.token += 1;
            slot.job.next_run_time =
                next_fire_time_after_run(&slot.job, slot.schedule.as_deref(), now);
            let expires_at = crate::clock::saturating_add(now, lease);
            slot.lease = Some(LeaseState {
                token: slot.token,
                node: node.to_owned(),
                expires_at,
                due_at: due,
            });
            claimed.push(ClaimedRun {
                job: slot.job.clone(),
                lease: RunLease {
                    job_id: slot.job.id.clone(),
                    token: slot.token,
                    node: node.to_owned(),
                    expires_at,
                    due_at: due,
                },
            });
            state.leased.insert(entry.id);
        }
        Ok(claimed)
    }

    async fn next_due_time(&self, node: &str) -> Result<Option<DateTime<Utc>>, StoreError> {
        let mut state = self.lock();
        let State { jobs, buckets, .. } = &mut *state;
        let mut earliest: Option<DateTime<Utc>> = None;
        for key in [None, Some(Arc::<str>::from(node))] {
            if let Some(index) = buckets.get_mut(&key)
                && let Some(due) = index.next_due(|e| State::is_current(jobs, e))
            {
                earliest = Some(earliest.map_or(due, |e| e.min(due)));
            }
        }
        Ok(earliest)
    }

    async fn renew_leases(
        &self,
        node: &str,
        leases: &[RunLease],
        until: DateTime<Utc>,
    ) -> Result<Vec<String>, StoreError> {
        let mut state = self.lock();
        let mut lost = Vec::new();
        for lease in leases {
            match state
                .jobs
                .get_mut(lease.job_id.as_str())
                .and_then(|s| s.lease.as_mut())
            {
                Some(held) if held.token == lease.token && held.node == node => {
                    held.expires_at = until
                }
                _ => lost.push(lease.job_id.clone()),
            }
        }
        Ok(lost)
    }

    async fn complete_run(
        &self,
        lease: &RunLease,
        job: &JobInfo,
    ) -> Result<CompletionOutcome, StoreError> {
        let mut state = self.lock();
        let Some((id, slot)) = state.jobs.get_key_value(lease.job_id.as_str()) else {
            return Ok(CompletionOutcome::JobGone);
        };
        let id = id.clone();
        if slot
            .lease
            .as_ref()
            .is_none_or(|held| held.token != lease.token)
        {
            return Ok(CompletionOutcome::LeaseLost);
        }
        state.leased.remove(&id);
        if let Some(slot) = state.jobs.get_mut(&id) {
            slot.lease = None;
            apply_run_state(&mut slot.job, job);
        }
        state.reindex(&id);
        Ok(CompletionOutcome::Saved)
    }

    async fn release_run(
        &self,
        lease: &RunLease,
        mode: ReleaseMode,
    ) -> Result<CompletionOutcome, StoreError> {
        let mut state = self.lock();
        let Some((id, slot)) = state.jobs.get_key_value(lease.job_id.as_str()) else {
            return Ok(CompletionOutcome::JobGone);
        };
        let id = id.clone();
        if slot
            .lease
            .as_ref()
            .is_none_or(|held| held.token != lease.token)
        {
            return Ok(CompletionOutcome::LeaseLost);
        }
        state.leased.remove(&id);
        if let Some(slot) = state.jobs.get_mut(&id) {
            slot.lease = None;
            if let ReleaseMode::RunAgainAt(at) = mode {
                slot.job.next_run_time = Some(at);
            }
        }
        state.reindex(&id);
        Ok(CompletionOutcome::Saved)
    }

    async fn rescue_expired(&self, now: DateTime<Utc>) -> Result<Vec<String>, StoreError> {
        let max_logs = self.max_logs;
        let mut state = self.lock();
        let expired: Vec<Arc<str>> = state
            .leased
            .iter()
            .filter(|id| {
                state
                    .jobs
                    .get(*id)
                    .and_then(|s| s.lease.as_ref())
                    .is_none_or(|l| l.expires_at < now)
            })
            .cloned()
            .collect();
        let mut rescued = Vec::with_capacity(expired.len());
        for id in expired {
            state.leased.remove(&id);
            let Some(slot) = state.jobs.get_mut(&id) else {
                continue;
            };
            let Some(lease) = slot.lease.take() else {
                continue;
            };
            slot.job.next_run_time = Some(lease.due_at);
            let log = rescue_log(&slot.job, &lease, now);
            state.reindex(&id);
            state.add_log(log, max_logs);
            rescued.push(id.to_string());
        }
        Ok(rescued)
    }

    fn subscribe_due(&self) -> Option<Arc<Notify>> {
        let notify = Arc::new(Notify::new());
        self.lock().subscribers.push(Arc::downgrade(&notify));
        Some(notify)
    }
}

impl InMemoryJobStore {
    fn filtered(&self, max: usize, period: bool) -> Vec<JobInfo> {
        let state = self.lock();
        let mut jobs: Vec<JobInfo> = state
            .jobs
            .values()
            .filter(|s| is_waiting(&s.job, period))
            .map(|s| s.job.clone())
            .collect();
        jobs.sort_by(waiting_order);
        jobs.truncate(max);
        jobs
    }

    /// How many index entries (current or stale) the store holds; for tests of its upkeep.
    pub fn index_len(&self) -> usize {
        self.lock().buckets.values().map(DueIndex::len).sum()
    }
}

fn rescue_log(job: &JobInfo, lease: &LeaseState, now: DateTime<Utc>) -> JobLog {
    JobLog {
        job_id: job.id.clone(),
        job_name: job.name.clone(),
        job_group: job.group.clone(),
        job_type: job.job_type.clone(),
        message: "run interrupted; rescued to run again".to_owned(),
        run_time: now,
        exception: Some(format!(
            "the lease of node `{}` expired at {} before the run completed",
            lease.node,
            lease.expires_at.to_rfc3339()
        )),
        tenant_id: job.tenant_id,
        node: lease.node.clone(),
        duration_ms: 0,
    }
}

#[cfg(test)]
mod tests;
