//! What the in-memory store holds, and the upkeep every transition shares: places,
//! indexes, leases, records.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::{Arc, Weak};

use bgtasks_abstractions::{Interruption, JobInfo};
use bgtasks_store::{JobLogEntry, JobRecord, LeaseInfo, NodeHeartbeat, StoreError};
use chrono::{DateTime, Utc};
use tokio::sync::Notify;

use super::index::{DueIndex, Entry};
use super::slot::{Interner, Slot};

/// Which index a scheduled run sits in: the node it is pinned to (none for most jobs)
/// and its job type, so that a claim reads only the indexes of the types it takes.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(super) struct IndexKey {
    pub(super) node: Option<Arc<str>>,
    pub(super) job_type: Arc<str>,
}

/// The lease a node holds on a claimed run, with what was asked of the run meanwhile.
pub(super) struct Lease {
    /// The place of the leased job.
    pub(super) slot: u32,
    pub(super) token: i64,
    pub(super) node: Arc<str>,
    pub(super) expires_at: DateTime<Utc>,
    pub(super) due_at: DateTime<Utc>,
    pub(super) interrupt: Option<Interruption>,
    pub(super) triggered: bool,
}

#[derive(Default)]
pub(super) struct State {
    /// Where each job sits in `slots`.
    pub(super) ids: HashMap<Arc<str>, u32>,
    /// The jobs; `None` marks a free place, listed in `free`.
    pub(super) slots: Vec<Option<Slot>>,
    pub(super) free: Vec<u32>,
    /// The due indexes, by pinned node and job type.
    pub(super) indexes: HashMap<IndexKey, DueIndex>,
    /// The leases of the runs in progress, in no order; a leased slot knows the position
    /// of its lease here.
    pub(super) leased: Vec<Lease>,
    pub(super) interner: Interner,
    pub(super) logs: VecDeque<JobLogEntry>,
    pub(super) next_log_id: i64,
    pub(super) nodes: BTreeMap<String, NodeHeartbeat>,
    /// The outbox (R51), oldest first.
    pub(super) outbox: super::outbox::Outbox,
    due_subscribers: Vec<Weak<Notify>>,
    control_subscribers: Vec<Weak<Notify>>,
    pub(super) next_generation: u64,
    /// The last lease token handed out: tokens are unique for the store's life (R38).
    pub(super) last_token: i64,
}

fn wake(subscribers: &mut Vec<Weak<Notify>>) {
    subscribers.retain(|weak| match weak.upgrade() {
        Some(notify) => {
            notify.notify_one();
            true
        }
        None => false,
    });
}

impl State {
    pub(super) fn bump(&mut self) -> u64 {
        self.next_generation += 1;
        self.next_generation
    }

    /// Every job.
    pub(super) fn jobs(&self) -> impl Iterator<Item = &Slot> {
        self.slots.iter().flatten()
    }

    pub(super) fn slot(&self, at: u32) -> Option<&Slot> {
        self.slots.get(at as usize).and_then(Option::as_ref)
    }

    pub(super) fn slot_mut(&mut self, at: u32) -> Option<&mut Slot> {
        self.slots.get_mut(at as usize).and_then(Option::as_mut)
    }

    /// The place of job `id`.
    pub(super) fn place(&self, id: &str) -> Option<u32> {
        self.ids.get(id).copied()
    }

    pub(super) fn subscribe_due(&mut self) -> Arc<Notify> {
        let notify = Arc::new(Notify::new());
        self.due_subscribers.push(Arc::downgrade(&notify));
        notify
    }

    pub(super) fn subscribe_control(&mut self) -> Arc<Notify> {
        let notify = Arc::new(Notify::new());
        self.control_subscribers.push(Arc::downgrade(&notify));
        notify
    }

    pub(super) fn notify_control(&mut self) {
        wake(&mut self.control_subscribers);
    }

    /// Re-indexes a slot after a change, and wakes subscribers if it became claimable.
    pub(super) fn reindex(&mut self, at: u32) {
        let generation = self.bump();
        let State { slots, indexes, .. } = self;
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
        let key = IndexKey {
            node: slot.node_key().cloned(),
            job_type: slot.job_type_key().clone(),
        };
        indexes.entry(key).or_default().push(entry);
        wake(&mut self.due_subscribers);
    }

    /// Adds a job whose id the store does not hold, indexed; returns its place.
    pub(super) fn add(&mut self, job: &JobInfo) -> Result<u32, StoreError> {
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
        self.reindex(at);
        Ok(at)
    }

    /// Removes the job at `at`, with its lease (its logs are the caller's to forget).
    pub(super) fn remove_at(&mut self, at: u32) -> Option<Slot> {
        let slot = self.slots.get_mut(at as usize)?.take()?;
        self.ids.remove(&*slot.id);
        if let Some(position) = slot.lease {
            self.unlist_lease(position);
        }
        self.free.push(at);
        Some(slot)
    }

    /// Drops the logs of these jobs.
    pub(super) fn forget_logs(&mut self, ids: &std::collections::HashSet<&str>) {
        if !ids.is_empty() {
            self.logs
                .retain(|entry| !ids.contains(entry.log.job_id.as_str()));
        }
    }

    /// Adds a lease to the table; returns its position.
    pub(super) fn list_lease(leased: &mut Vec<Lease>, lease: Lease) -> u32 {
        // The table holds at most one lease per slot, and slots are counted in u32.
        let position = leased.len() as u32;
        leased.push(lease);
        position
    }

    /// Takes the lease at `position` out of the table (the leased slot's own mark is the
    /// caller's to clear).
    pub(super) fn unlist_lease(&mut self, position: u32) -> Option<Lease> {
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
    pub(super) fn lease_of(&self, slot: &Slot) -> Option<&Lease> {
        slot.lease
            .and_then(|position| self.leased.get(position as usize))
    }

    /// The record of the job at `at`.
    pub(super) fn record(&self, at: u32) -> Option<JobRecord> {
        let slot = self.slot(at)?;
        let lease = self.lease_of(slot);
        Some(JobRecord {
            job: slot.to_job(),
            revision: i64::from(slot.revision),
            lease: lease.map(|l| LeaseInfo {
                node: l.node.to_string(),
                token: l.token,
                expires_at: l.expires_at,
                due_at: l.due_at,
            }),
            interrupt: lease.and_then(|l| l.interrupt),
            triggered: lease.is_some_and(|l| l.triggered),
            attempts: i64::from(slot.attempts),
            rescues: i32::from(slot.rescues),
        })
    }

    /// Writes a record a rule changed back onto the job at `at`: the job, its revision,
    /// and its lease (ended, or with what was asked of its run); re-indexed. Wakes the
    /// control subscribers when a run is newly asked to stop.
    pub(super) fn apply_record(&mut self, at: u32, record: &JobRecord) {
        let State {
            slots, interner, ..
        } = self;
        let Some(slot) = slots.get_mut(at as usize).and_then(Option::as_mut) else {
            return;
        };
        slot.replace(&record.job, interner);
        slot.revision = u32::try_from(record.revision).unwrap_or(u32::MAX);
        slot.attempts = u32::try_from(record.attempts).unwrap_or(u32::MAX);
        slot.rescues = u16::try_from(record.rescues).unwrap_or(u16::MAX);
        let position = slot.lease;
        let mut newly_interrupted = false;
        match (position, &record.lease) {
            (Some(position), None) => {
                if let Some(slot) = self.slot_mut(at) {
                    slot.lease = None;
                }
                self.unlist_lease(position);
            }
            (Some(position), Some(info)) => {
                if let Some(lease) = self.leased.get_mut(position as usize) {
                    newly_interrupted = lease.interrupt.is_none() && record.interrupt.is_some();
                    lease.expires_at = info.expires_at;
                    lease.interrupt = record.interrupt;
                    lease.triggered = record.triggered;
                }
            }
            (None, _) => {}
        }
        self.reindex(at);
        if newly_interrupted {
            self.notify_control();
        }
    }

    /// Appends a run log if its run still holds its job
    /// ([`rules::keeps_run_log`](bgtasks_store::rules::keeps_run_log), read off the slot),
    /// dropping the oldest past `max_logs`.
    pub(super) fn add_run_log(&mut self, log: &bgtasks_store::JobLog, max_logs: usize) {
        let job = self
            .place(&log.job_id)
            .and_then(|at| self.slot(at))
            .map(|slot| {
                (
                    self.lease_of(slot).map(|lease| lease.token),
                    slot.last_run_time(),
                )
            });
        if bgtasks_store::rules::keeps_run_log_of(job, log) {
            // The token is the append's condition, not part of the stored log.
            let mut kept = log.clone();
            kept.lease_token = None;
            self.add_log(kept, max_logs);
        }
    }

    /// Appends a log, dropping the oldest past `max_logs`.
    pub(super) fn add_log(&mut self, log: bgtasks_store::JobLog, max_logs: usize) {
        if max_logs == 0 {
            return;
        }
        while self.logs.len() >= max_logs {
            self.logs.pop_front();
        }
        self.next_log_id += 1;
        self.logs.push_back(JobLogEntry {
            id: self.next_log_id,
            log,
        });
    }
}
