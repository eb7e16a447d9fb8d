//! The in-memory job store: the default, for one process (or several runtimes in one
//! process sharing it).

mod index;
mod slot;

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError, Weak};
use std::time::Duration;

use async_trait::async_trait;
use bgtasks_abstractions::{JobInfo, JobStatus, RunLease, next_fire_time_after_run};
use chrono::{DateTime, Utc};
use tokio::sync::Notify;

use self::index::{DueIndex, Entry};
use self::slot::{Interner, Slot};
use super::{ClaimedRun, CompletionOutcome, JobLog, JobStore, ReleaseMode, StoreError};

/// How many run logs the in-memory store keeps by default (oldest dropped first).
pub const DEFAULT_MAX_LOGS: usize = 10_000;

/// The most claimed runs `claim_due` makes room for when it finds the first.
const MAX_CLAIM_PRESIZE: usize = 256;

/// How many jobs `insert_many` inserts under one hold of the lock.
const INSERT_CHUNK: usize = 256;

/// A job store in memory. Claims pop from a due-time index under one lock; leases and
/// fencing tokens work as in the durable stores, so several runtimes in one process can
/// share one store. Nothing survives the process.
///
/// Jobs are kept in a compact form (a few hundred bytes for a job that sets no
/// arguments, description or node): texts that jobs share, such as the group, the job
/// type and the cron expression with its parsed schedule, are stored once.
pub struct InMemoryJobStore {
    state: Mutex<State>,
    max_logs: usize,
}

#[derive(Default)]
struct State {
    /// Where each job sits in `slots`.
    ids: HashMap<Arc<str>, u32>,
    /// The jobs; `None` marks a free place, listed in `free`.
    slots: Vec<Option<Slot>>,
    free: Vec<u32>,
    /// The due index of the jobs pinned to no node.
    unpinned: DueIndex,
    /// The due indexes of the jobs pinned to a node, by node.
    pinned: HashMap<Arc<str>, DueIndex>,
    /// The leases of the runs in progress, in no order; a leased slot knows the
    /// position of its lease here.
    leased: Vec<Lease>,
    interner: Interner,
    logs: VecDeque<JobLog>,
    subscribers: Vec<Weak<Notify>>,
    next_generation: u64,
}

/// The lease a node holds on a claimed run.
struct Lease {
    /// The place of the leased job.
    slot: u32,
    token: i64,
    node: Arc<str>,
    expires_at: DateTime<Utc>,
    due_at: DateTime<Utc>,
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
            .field("jobs", &state.ids.len())
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
        self.lock().ids.len()
    }

    /// Whether the store holds no job.
    pub fn is_empty(&self) -> bool {
        self.lock().ids.is_empty()
    }

    /// Every job, in no particular order (for tests and tools).
    pub fn all_jobs(&self) -> Vec<JobInfo> {
        self.lock().jobs().map(Slot::to_job).collect()
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// Whether `entry` is still the current run of its job and the job can be claimed.
fn is_current(slots: &[Option<Slot>], entry: &Entry) -> bool {
    slots
        .get(entry.slot as usize)
        .and_then(Option::as_ref)
        .is_some_and(|slot| slot.generation == entry.generation && slot.is_claimable())
}

/// Pops the best due run of a node: from the unpinned index or the node's own.
fn pop_best(
    slots: &[Option<Slot>],
    unpinned: &mut DueIndex,
    mut own: Option<&mut DueIndex>,
    now: DateTime<Utc>,
) -> Option<Entry> {
    unpinned.promote(now);
    let shared = unpinned.peek_ready(|e| is_current(slots, e)).copied();
    let pinned = own.as_deref_mut().and_then(|index| {
        index.promote(now);
        index.peek_ready(|e| is_current(slots, e)).copied()
    });
    match (shared, pinned) {
        (Some(a), Some(b)) if !DueIndex::goes_before(&b, &a) => unpinned.pop_ready(),
        (_, Some(_)) => own.and_then(DueIndex::pop_ready),
        (Some(_), None) => unpinned.pop_ready(),
        (None, None) => None,
    }
}

impl State {
    fn bump(&mut self) -> u64 {
        self.next_generation += 1;
        self.next_generation
    }

    /// Every job.
    fn jobs(&self) -> impl Iterator<Item = &Slot> {
        self.slots.iter().flatten()
    }

    fn slot(&self, at: u32) -> Option<&Slot> {
        self.slots.get(at as usize).and_then(Option::as_ref)
    }

    fn slot_mut(&mut self, at: u32) -> Option<&mut Slot> {
        self.slots.get_mut(at as usize).and_then(Option::as_mut)
    }

    /// The place and the job of `id`.
    fn find(&self, id: &str) -> Option<(u32, &Slot)> {
        let at = *self.ids.get(id)?;
        Some((at, self.slot(at)?))
    }

    /// Re-indexes a slot after a change and wakes subscribers if it became claimable.
    fn reindex(&mut self, at: u32) {
        let generation = self.bump();
        let State {
            slots,
            unpinned,
            pinned,
            ..
        } = self;
        let Some(slot) = slots.get_mut(at as usize).and_then(Option::as_mut) else {
            return;
        };
        slot.generation = generation;
        if !slot.is_claimable() {
            return;
        }
        let Some(due) = slot.next_run_time else {
            return;
        };
        let entry = Entry {
            generation,
            due,
            try_count: slot.try_count,
            slot: at,
            priority: slot.priority,
        };
        match slot.node_key() {
            None => unpinned.push(entry),
            Some(node) => match pinned.get_mut(&**node) {
                Some(index) => index.push(entry),
                None => {
                    let mut index = DueIndex::default();
                    index.push(entry);
                    pinned.insert(node.clone(), index);
                }
            },
        }
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

    /// Stores `job`, replacing the job of the same id (but not its lease).
    fn put(&mut self, job: &JobInfo) -> Result<(), StoreError> {
        let at = match self.ids.get(job.id.as_str()) {
            Some(&at) => {
                let State {
                    slots, interner, ..
                } = self;
                if let Some(slot) = slots.get_mut(at as usize).and_then(Option::as_mut) {
                    slot.replace(job, interner);
                }
                at
            }
            None => self.add(job)?,
        };
        self.reindex(at);
        Ok(())
    }

    /// Adds a job whose id the store does not hold; returns its place.
    fn add(&mut self, job: &JobInfo) -> Result<u32, StoreError> {
        let at = match self.free.last() {
            Some(&at) => at,
            None => u32::try_from(self.slots.len()).map_err(|_| {
                StoreError::other(format!(
                    "the in-memory store holds the most jobs it can ({})",
                    u32::MAX
                ))
            })?,
        };
        let id: Arc<str> = Arc::from(job.id.as_str());
        let slot = Slot::new(job, id.clone(), &mut self.interner);
        match self.slots.get_mut(at as usize) {
            Some(place) => {
                self.free.pop();
                *place = Some(slot);
            }
            None => self.slots.push(Some(slot)),
        }
        self.ids.insert(id, at);
        Ok(at)
    }

    /// Removes the job at `at`, with its lease.
    fn remove_at(&mut self, at: u32) -> Option<Slot> {
        let slot = self.slots.get_mut(at as usize)?.take()?;
        self.ids.remove(&*slot.id);
        if let Some(position) = slot.lease {
            self.unlist_lease(position);
        }
        self.free.push(at);
        Some(slot)
    }

    /// Adds a lease to the table; returns its position.
    fn list_lease(leased: &mut Vec<Lease>, lease: Lease) -> u32 {
        // The table holds at most one lease per slot, and slots are counted in u32.
        let position = leased.len() as u32;
        leased.push(lease);
        position
    }

    /// Takes the lease at `position` out of the table (the leased slot's own mark is the
    /// caller's to clear).
    fn unlist_lease(&mut self, position: u32) -> Option<Lease> {
        let index = position as usize;
        if index >= self.leased.len() {
            return None;
        }
        let lease = self.leased.swap_remove(index);
        if let Some(moved) = self.leased.get(index).map(|l| l.slot)
            && let Some(slot) = self.slot_mut(moved)
        {
            slot.lease = Some(position);
        }
        Some(lease)
    }

    /// The lease of a leased slot.
    fn lease_of(&self, slot: &Slot) -> Option<&Lease> {
        slot.lease
            .and_then(|position| self.leased.get(position as usize))
    }

    /// Ends the lease of job `id` if it holds the lease of token `token`; returns the
    /// job and its place, or why the lease cannot be ended.
    fn end_lease(&mut self, id: &str, token: i64) -> Result<(u32, &mut Slot), CompletionOutcome> {
        let Some((at, slot)) = self.find(id) else {
            return Err(CompletionOutcome::JobGone);
        };
        let Some(position) = slot
            .lease
            .filter(|_| self.lease_of(slot).is_some_and(|held| held.token == token))
        else {
            return Err(CompletionOutcome::LeaseLost);
        };
        self.unlist_lease(position);
        let slot = self.slot_mut(at).ok_or(CompletionOutcome::JobGone)?;
        slot.lease = None;
        Ok((at, slot))
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
        Ok(first_in_waiting_order(
            state
                .jobs()
                .filter(|s| s.status == JobStatus::Running && s.runs_on(node)),
            max,
        ))
    }

    async fn find(&self, id: &str) -> Result<Option<JobInfo>, StoreError> {
        Ok(self.lock().find(id).map(|(_, slot)| slot.to_job()))
    }

    async fn store(&self, job: &JobInfo) -> Result<(), StoreError> {
        self.lock().put(job)
    }

    async fn insert(&self, job: &JobInfo) -> Result<bool, StoreError> {
        let mut state = self.lock();
        if state.ids.contains_key(job.id.as_str()) {
            return Ok(false);
        }
        state.put(job)?;
        Ok(true)
    }

    async fn insert_many(&self, jobs: &[JobInfo]) -> Result<Vec<bool>, StoreError> {
        let mut inserted = Vec::with_capacity(jobs.len());
        // A few hundred jobs per lock: far fewer lock round trips than one per job,
        // without holding claims up for the whole of a large batch.
        for chunk in jobs.chunks(INSERT_CHUNK) {
            let mut state = self.lock();
            for job in chunk {
                let new = !state.ids.contains_key(job.id.as_str());
                if new {
                    state.put(job)?;
                }
                inserted.push(new);
            }
        }
        Ok(inserted)
    }

    async fn remove(&self, id: &str) -> Result<bool, StoreError> {
        let mut state = self.lock();
        let Some(&at) = state.ids.get(id) else {
            return Ok(false);
        };
        Ok(state.remove_at(at).is_some())
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
        let mut expired: Vec<(DateTime<Utc>, Arc<str>, u32)> = state
            .slots
            .iter()
            .zip(0u32..)
            .filter_map(|(slot, at)| {
                let slot = slot.as_ref()?;
                let age_from = slot.cleanup_reference_time();
                (slot.status == JobStatus::Completed
                    && node.is_none_or(|n| slot.node_name() == Some(n))
                    && age_from < expired_before)
                    .then(|| (age_from, slot.id.clone(), at))
            })
            .collect();
        expired.sort();
        expired.truncate(max);
        let mut removed = Vec::with_capacity(expired.len());
        for (_, _, at) in expired {
            if let Some(slot) = state.remove_at(at) {
                removed.push(slot.to_job());
            }
        }
        if !removed.is_empty() {
            let gone: HashSet<&str> = removed.iter().map(|j| j.id.as_str()).collect();
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
        let mut guard = self.lock();
        if limit == 0 {
            return Ok(Vec::new());
        }
        let State {
            slots,
            unpinned,
            pinned,
            leased,
            interner,
            next_generation,
            ..
        } = &mut *guard;
        let mut node_key: Option<Arc<str>> = None;
        let mut own = pinned.get_mut(node);
        let expires_at = crate::clock::saturating_add(now, lease);
        let mut claimed: Vec<ClaimedRun> = Vec::new();
        while claimed.len() < limit {
            let Some(entry) = pop_best(slots, unpinned, own.as_deref_mut(), now) else {
                break;
            };
            *next_generation += 1;
            let Some(slot) = slots.get_mut(entry.slot as usize).and_then(Option::as_mut) else {
                continue;
            };
            slot.generation = *next_generation;
            let Some(due) = slot.next_run_time else {
                continue;
            };
            if slot.end_time().is_some_and(|end| now > end) {
                // Past its end time: it never runs again (R3).
                slot.next_run_time = None;
                continue;
            }
            slot.token += 1;
            let mut job = slot.to_job();
            job.next_run_time = next_fire_time_after_run(&job, slot.schedule(), now);
            slot.next_run_time = job.next_run_time;
            slot.lease = Some(State::list_lease(
                leased,
                Lease {
                    slot: entry.slot,
                    token: slot.token,
                    node: node_key.get_or_insert_with(|| interner.text(node)).clone(),
                    expires_at,
                    due_at: due,
                },
            ));
            if claimed.capacity() == 0 {
                // One allocation for the whole claim rather than one per doubling.
                claimed.reserve_exact(limit.min(MAX_CLAIM_PRESIZE));
            }
            claimed.push(ClaimedRun {
                lease: RunLease {
                    job_id: job.id.clone(),
                    token: slot.token,
                    node: node.to_owned(),
                    expires_at,
                    due_at: due,
                },
                job,
            });
        }
        Ok(claimed)
    }

    async fn next_due_time(&self, node: &str) -> Result<Option<DateTime<Utc>>, StoreError> {
        let mut state = self.lock();
        let State {
            slots,
            unpinned,
            pinned,
            ..
        } = &mut *state;
        let current = |e: &Entry| is_current(slots, e);
        let shared = unpinned.next_due(current);
        let own = pinned
            .get_mut(node)
            .and_then(|index| index.next_due(current));
        Ok(match (shared, own) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        })
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
            let position = state.find(&lease.job_id).and_then(|(_, slot)| slot.lease);
            match position.and_then(|p| state.leased.get_mut(p as usize)) {
                Some(held) if held.token == lease.token && *held.node == *node => {
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
        let at = match state.end_lease(&lease.job_id, lease.token) {
            Ok((at, slot)) => {
                slot.apply_run_state(job);
                at
            }
            Err(outcome) => return Ok(outcome),
        };
        state.reindex(at);
        Ok(CompletionOutcome::Saved)
    }

    async fn release_run(
        &self,
        lease: &RunLease,
        mode: ReleaseMode,
    ) -> Result<CompletionOutcome, StoreError> {
        let mut state = self.lock();
        let at = match state.end_lease(&lease.job_id, lease.token) {
            Ok((at, slot)) => {
                if let ReleaseMode::RunAgainAt(at) = mode {
                    slot.next_run_time = Some(at);
                }
                at
            }
            Err(outcome) => return Ok(outcome),
        };
        state.reindex(at);
        Ok(CompletionOutcome::Saved)
    }

    async fn rescue_expired(&self, now: DateTime<Utc>) -> Result<Vec<String>, StoreError> {
        let max_logs = self.max_logs;
        let mut state = self.lock();
        let expired: Vec<u32> = state
            .leased
            .iter()
            .filter(|l| l.expires_at < now)
            .map(|l| l.slot)
            .collect();
        let mut rescued = Vec::with_capacity(expired.len());
        for at in expired {
            let Some(position) = state.slot_mut(at).and_then(|s| s.lease.take()) else {
                continue;
            };
            let Some(lease) = state.unlist_lease(position) else {
                continue;
            };
            let Some(slot) = state.slot_mut(at) else {
                continue;
            };
            slot.next_run_time = Some(lease.due_at);
            let job = slot.to_job();
            state.reindex(at);
            state.add_log(rescue_log(&job, &lease, now), max_logs);
            rescued.push(job.id);
        }
        Ok(rescued)
    }

    fn subscribe_due(&self) -> Option<Arc<Notify>> {
        let notify = Arc::new(Notify::new());
        self.lock().subscribers.push(Arc::downgrade(&notify));
        Some(notify)
    }
}

/// The first `max` of `slots` in the reference's waiting order, as jobs.
fn first_in_waiting_order<'a>(slots: impl Iterator<Item = &'a Slot>, max: usize) -> Vec<JobInfo> {
    let mut slots: Vec<&Slot> = slots.collect();
    slots.sort_by(|a, b| Slot::waiting_order(a, b));
    slots.truncate(max);
    slots.into_iter().map(Slot::to_job).collect()
}

impl InMemoryJobStore {
    fn filtered(&self, max: usize, period: bool) -> Vec<JobInfo> {
        let state = self.lock();
        first_in_waiting_order(state.jobs().filter(|s| s.is_waiting(period)), max)
    }

    /// How many index entries (current or stale) the store holds; for tests of its upkeep.
    pub fn index_len(&self) -> usize {
        let state = self.lock();
        state.unpinned.len() + state.pinned.values().map(DueIndex::len).sum::<usize>()
    }
}

fn rescue_log(job: &JobInfo, lease: &Lease, now: DateTime<Utc>) -> JobLog {
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
        node: lease.node.to_string(),
        duration_ms: 0,
    }
}

#[cfg(test)]
mod tests;
