//! Runs in memory: claims from the due indexes, leases, completions, rescues.

use std::sync::Arc;
use std::time::Duration;

use bgtasks_abstractions::{JobInfo, RunLease, next_fire_time_after_run};
use bgtasks_store::{
    ClaimRequest, ClaimedRun, CompletionOutcome, GiveBack, JobLog, JobRuns, RenewOutcome, Rescued,
    RunCompletion, StoreError, rules,
};
use chrono::{DateTime, Utc};
use tokio::sync::Notify;

use super::InMemoryJobStore;
use super::index::{DueIndex, Entry};
use super::slot::Slot;
use super::state::{IndexKey, Lease, State};

/// The most claimed runs `claim` makes room for when it finds the first.
const MAX_CLAIM_PRESIZE: usize = 256;

/// Whether `entry` is still the current run of its job and the job can be claimed.
fn is_current(slots: &[Option<Slot>], entry: &Entry) -> bool {
    slots
        .get(entry.slot as usize)
        .and_then(Option::as_ref)
        .is_some_and(|slot| slot.generation == entry.generation && slot.is_claimable())
}

/// The indexes a claimer reads: jobs pinned to no node or to `node`, of the types it
/// takes.
fn candidate_keys(state: &State, node: &str, job_types: Option<&[String]>) -> Vec<IndexKey> {
    state
        .indexes
        .keys()
        .filter(|key| key.node.as_deref().is_none_or(|pinned| pinned == node))
        .filter(|key| job_types.is_none_or(|types| types.iter().any(|t| *t == *key.job_type)))
        .cloned()
        .collect()
}

/// Pops the best due run among the candidate indexes.
fn pop_best(
    slots: &[Option<Slot>],
    indexes: &mut std::collections::HashMap<IndexKey, DueIndex>,
    keys: &[IndexKey],
    now: DateTime<Utc>,
) -> Option<Entry> {
    let mut best: Option<(usize, Entry)> = None;
    for (i, key) in keys.iter().enumerate() {
        let Some(index) = indexes.get_mut(key) else {
            continue;
        };
        index.promote(now);
        if let Some(top) = index.peek_ready(|e| is_current(slots, e)).copied()
            && best
                .as_ref()
                .is_none_or(|(_, b)| DueIndex::goes_before(&top, b))
        {
            best = Some((i, top));
        }
    }
    let (i, _) = best?;
    indexes.get_mut(&keys[i])?.pop_ready()
}

fn expiry(now: DateTime<Utc>, lease: Duration) -> DateTime<Utc> {
    crate::clock::saturating_add(now, lease)
}

impl JobRuns for InMemoryJobStore {
    async fn claim(&self, request: &ClaimRequest<'_>) -> Result<Vec<ClaimedRun>, StoreError> {
        if request.limit == 0 {
            return Ok(Vec::new());
        }
        let mut guard = self.lock();
        let keys = candidate_keys(&guard, request.node, request.job_types);
        let State {
            slots,
            indexes,
            leased,
            interner,
            next_generation,
            last_token,
            ..
        } = &mut *guard;
        let now = request.now;
        let expires_at = expiry(now, request.lease);
        let mut node_key: Option<Arc<str>> = None;
        let mut claimed: Vec<ClaimedRun> = Vec::new();
        while claimed.len() < request.limit {
            let Some(entry) = pop_best(slots, indexes, &keys, now) else {
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
            if let Some(reason) = slot.unschedulable() {
                // Its cron does not parse: set aside, never blocking the others (R42).
                tracing::error!(event = "bgtasks.set_aside", job_id = %slot.id, %reason,
                    "a due job cannot be scheduled; it is set aside");
                slot.set_aside(reason);
                continue;
            }
            slot.attempts = slot.attempts.saturating_add(1);
            *last_token += 1;
            let token = *last_token;
            let mut job = slot.to_job();
            job.next_run_time = next_fire_time_after_run(&job, slot.schedule(), now);
            slot.next_run_time = job.next_run_time;
            slot.lease = Some(State::list_lease(
                leased,
                Lease {
                    slot: entry.slot,
                    token,
                    node: node_key
                        .get_or_insert_with(|| interner.text(request.node))
                        .clone(),
                    expires_at,
                    due_at: due,
                    interrupt: None,
                    triggered: false,
                },
            ));
            if claimed.capacity() == 0 {
                // One allocation for the whole claim rather than one per doubling.
                claimed.reserve_exact(request.limit.min(MAX_CLAIM_PRESIZE));
            }
            claimed.push(ClaimedRun {
                lease: RunLease {
                    job_id: job.id.clone(),
                    token,
                    node: request.node.to_owned(),
                    expires_at,
                    due_at: due,
                },
                job,
                attempt: i64::from(slot.attempts),
                rescues: i32::from(slot.rescues),
            });
        }
        Ok(claimed)
    }

    async fn next_due_time(
        &self,
        node: &str,
        job_types: Option<&[String]>,
    ) -> Result<Option<DateTime<Utc>>, StoreError> {
        let mut guard = self.lock();
        let keys = candidate_keys(&guard, node, job_types);
        let State { slots, indexes, .. } = &mut *guard;
        let current = |e: &Entry| is_current(slots, e);
        Ok(keys
            .iter()
            .filter_map(|key| indexes.get_mut(key)?.next_due(current))
            .min())
    }

    async fn renew(
        &self,
        node: &str,
        leases: &[RunLease],
        lease: Duration,
        now: DateTime<Utc>,
    ) -> Result<Vec<RenewOutcome>, StoreError> {
        let until = expiry(now, lease);
        let mut state = self.lock();
        let mut outcomes = Vec::with_capacity(leases.len());
        for held in leases {
            let Some(at) = state.place(&held.job_id) else {
                outcomes.push(RenewOutcome::Interrupt(
                    bgtasks_abstractions::Interruption::Removed,
                ));
                continue;
            };
            let position = state.slot(at).and_then(|slot| slot.lease);
            let outcome = match position.and_then(|p| state.leased.get_mut(p as usize)) {
                Some(lease) if lease.token == held.token && *lease.node == *node => {
                    lease.expires_at = until;
                    match lease.interrupt {
                        Some(why) => RenewOutcome::Interrupt(why),
                        None => RenewOutcome::Renewed,
                    }
                }
                _ => RenewOutcome::LeaseLost,
            };
            outcomes.push(outcome);
        }
        Ok(outcomes)
    }

    async fn complete(
        &self,
        runs: &[RunCompletion],
        logs: &[JobLog],
    ) -> Result<Vec<CompletionOutcome>, StoreError> {
        let max_logs = self.max_logs;
        let mut state = self.lock();
        // The logs first: each is judged against the jobs as they were before these
        // completions (a run's log rides with its own completion).
        for log in logs {
            state.add_run_log(log, max_logs);
        }
        let outcomes: Vec<CompletionOutcome> = runs
            .iter()
            .map(|run| complete_one(&mut state, run))
            .collect();
        for (run, outcome) in runs.iter().zip(&outcomes) {
            if outcome.is_saved() && !run.notifications.is_empty() {
                state.outbox.store_all(&run.notifications);
            }
        }
        Ok(outcomes)
    }

    async fn give_back(
        &self,
        lease: &RunLease,
        how: GiveBack,
    ) -> Result<CompletionOutcome, StoreError> {
        let mut state = self.lock();
        let Some(at) = state.place(&lease.job_id) else {
            return Ok(CompletionOutcome::JobGone);
        };
        let Some(mut record) = state.record(at) else {
            return Ok(CompletionOutcome::JobGone);
        };
        let outcome = rules::give_back(&mut record, lease.token, how);
        if outcome.is_saved() {
            state.apply_record(at, &record);
        }
        Ok(outcome)
    }

    async fn rescue(&self, now: DateTime<Utc>) -> Result<Vec<Rescued>, StoreError> {
        let max_logs = self.max_logs;
        let mut state = self.lock();
        let expired: Vec<(u32, Arc<str>, DateTime<Utc>)> = state
            .leased
            .iter()
            .filter(|l| l.expires_at < now)
            .map(|l| (l.slot, l.node.clone(), l.expires_at))
            .collect();
        let mut rescued = Vec::with_capacity(expired.len());
        for (at, node, expired_at) in expired {
            let Some(mut record) = state.record(at) else {
                continue;
            };
            if !rules::rescue(&mut record) {
                continue;
            }
            state.apply_record(at, &record);
            state.add_log(rescue_log(&record.job, &node, expired_at, now), max_logs);
            rescued.push(Rescued {
                job_id: record.job.id,
                node: node.to_string(),
                expired_at,
            });
        }
        rescued.sort_by(|a, b| a.job_id.cmp(&b.job_id));
        Ok(rescued)
    }

    fn subscribe_due(&self) -> Option<Arc<Notify>> {
        Some(self.lock().subscribe_due())
    }

    fn backend_name(&self) -> &'static str {
        "memory"
    }

    fn subscribe_control(&self) -> Option<Arc<Notify>> {
        Some(self.lock().subscribe_control())
    }
}

/// Completes one run: on the compact form when nothing was asked of the run meanwhile
/// (the common case), else through the rules.
fn complete_one(state: &mut State, run: &RunCompletion) -> CompletionOutcome {
    let Some(at) = state.place(&run.lease.job_id) else {
        return CompletionOutcome::JobGone;
    };
    let Some(position) = state.slot(at).and_then(|slot| slot.lease) else {
        return CompletionOutcome::LeaseLost;
    };
    let Some(lease) = state.leased.get(position as usize) else {
        return CompletionOutcome::LeaseLost;
    };
    if lease.token != run.lease.token {
        return CompletionOutcome::LeaseLost;
    }
    if lease.interrupt.is_some() || lease.triggered {
        let Some(mut record) = state.record(at) else {
            return CompletionOutcome::JobGone;
        };
        let outcome = rules::complete(&mut record, run);
        state.apply_record(at, &record);
        return outcome;
    }
    state.unlist_lease(position);
    if let Some(slot) = state.slot_mut(at) {
        slot.lease = None;
        slot.rescues = 0;
        slot.apply_run_state(&run.job);
    }
    state.reindex(at);
    CompletionOutcome::Saved
}

fn rescue_log(job: &JobInfo, node: &str, expired_at: DateTime<Utc>, now: DateTime<Utc>) -> JobLog {
    JobLog {
        job_id: job.id.clone(),
        job_name: job.name.clone(),
        job_group: job.group.clone(),
        job_type: job.job_type.clone(),
        message: "run interrupted; rescued to run again".to_owned(),
        run_time: now,
        exception: Some(format!(
            "the lease of node `{node}` expired at {} before the run completed",
            expired_at.to_rfc3339()
        )),
        exception_type: None,
        tenant_id: job.tenant_id,
        node: node.to_owned(),
        duration_ms: 0,
        lease_token: None,
    }
}
