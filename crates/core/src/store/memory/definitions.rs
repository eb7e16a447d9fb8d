//! Definitions, control and maintenance in memory: every transition applies its rule
//! to the job's record under the store's lock.

use std::collections::HashSet;
use std::sync::Arc;

use bgtasks_abstractions::{CronSchedule, JobInfo, JobKind, JobStatus};
use bgtasks_store::{
    DefinitionUpdate, JobControl, JobDefinitions, JobPage, JobQuery, JobRecord, LogRetention,
    Maintenance, Refusal, RemoveIf, StoreError, Transition, rules,
};
use chrono::{DateTime, Utc};

use super::InMemoryJobStore;
use super::slot::Slot;

/// How many jobs `insert` inserts under one hold of the lock.
const INSERT_CHUNK: usize = 256;

/// The schedule of a Period job's cron, parsed.
fn schedule_of(job: &JobInfo) -> Option<CronSchedule> {
    (job.kind == JobKind::Period)
        .then_some(job.cron.as_deref())
        .flatten()
        .and_then(|cron| CronSchedule::parse(cron).ok())
}

impl InMemoryJobStore {
    /// Applies `rule` to the record of job `id`: written back if it applies, else refused
    /// with the job as it is.
    fn transition(&self, id: &str, rule: impl FnOnce(&mut JobRecord) -> bool) -> Transition {
        let mut state = self.lock();
        let Some(at) = state.place(id) else {
            return Err(Refusal::NotFound);
        };
        let Some(mut record) = state.record(at) else {
            return Err(Refusal::NotFound);
        };
        let before = record.clone();
        if !rule(&mut record) {
            return Err(Refusal::StateChanged(Box::new(before)));
        }
        state.apply_record(at, &record);
        Ok(record)
    }

    /// The first `max` jobs passing `keep`, in the reference's waiting order.
    fn first_in_waiting_order(&self, max: usize, keep: impl Fn(&Slot) -> bool) -> Vec<JobInfo> {
        let state = self.lock();
        let mut slots: Vec<&Slot> = state.jobs().filter(|s| keep(s)).collect();
        slots.sort_by(|a, b| Slot::waiting_order(a, b));
        slots.truncate(max);
        slots.into_iter().map(Slot::to_job).collect()
    }
}

impl JobDefinitions for InMemoryJobStore {
    async fn insert(&self, jobs: &[JobInfo]) -> Result<Vec<bool>, StoreError> {
        let mut inserted = Vec::with_capacity(jobs.len());
        // A few hundred jobs per lock: far fewer lock round trips than one per job,
        // without holding claims up for the whole of a large batch.
        for chunk in jobs.chunks(INSERT_CHUNK) {
            let mut state = self.lock();
            for job in chunk {
                let new = !state.ids.contains_key(job.id.as_str());
                if new {
                    state.add(job)?;
                }
                inserted.push(new);
            }
        }
        Ok(inserted)
    }

    async fn update(
        &self,
        id: &str,
        update: &DefinitionUpdate,
        expected_revision: Option<i64>,
        now: DateTime<Utc>,
    ) -> Result<Transition, StoreError> {
        Ok(self.transition(id, |record| {
            if expected_revision.is_some_and(|expected| expected != record.revision) {
                return false;
            }
            let mut next = record.job.clone();
            if let Some(cron) = &update.cron {
                next.cron = Some(cron.clone());
            }
            let schedule = schedule_of(&next);
            rules::apply_update(record, update, now, schedule.as_ref());
            true
        }))
    }

    async fn remove(&self, id: &str, only: RemoveIf) -> Result<Transition, StoreError> {
        let mut state = self.lock();
        let Some(at) = state.place(id) else {
            return Ok(Err(Refusal::NotFound));
        };
        let Some(record) = state.record(at) else {
            return Ok(Err(Refusal::NotFound));
        };
        if !only.allows(record.job.status) {
            return Ok(Err(Refusal::StateChanged(Box::new(record))));
        }
        let was_running = record.lease.is_some();
        state.remove_at(at);
        state.forget_logs(&HashSet::from([id]));
        if was_running {
            state.notify_control();
        }
        Ok(Ok(record))
    }

    async fn find(&self, id: &str) -> Result<Option<JobRecord>, StoreError> {
        let state = self.lock();
        Ok(state.place(id).and_then(|at| state.record(at)))
    }

    async fn list(&self, query: &JobQuery) -> Result<JobPage, StoreError> {
        let text = query.text_lowercase();
        let state = self.lock();
        let matching: Vec<JobRecord> = state
            .ids
            .values()
            .filter_map(|&at| state.record(at))
            .filter(|record| rules::matches_query(record, query, text.as_deref()))
            .collect();
        Ok(rules::page_of(matching, query))
    }

    async fn list_waiting(&self, max: usize) -> Result<Vec<JobInfo>, StoreError> {
        Ok(self.first_in_waiting_order(max, |s| s.is_waiting(false)))
    }

    async fn list_period(&self, max: usize) -> Result<Vec<JobInfo>, StoreError> {
        Ok(self.first_in_waiting_order(max, |s| s.is_waiting(true)))
    }

    async fn list_running(&self, node: &str, max: usize) -> Result<Vec<JobInfo>, StoreError> {
        Ok(self.first_in_waiting_order(max, |s| s.status == JobStatus::Running && s.runs_on(node)))
    }
}

impl JobControl for InMemoryJobStore {
    async fn pause(&self, id: &str) -> Result<Transition, StoreError> {
        Ok(self.transition(id, rules::pause))
    }

    async fn resume(&self, id: &str, now: DateTime<Utc>) -> Result<Transition, StoreError> {
        Ok(self.transition(id, |record| {
            let schedule = schedule_of(&record.job);
            rules::resume(record, now, schedule.as_ref())
        }))
    }

    async fn trigger(&self, id: &str, now: DateTime<Utc>) -> Result<Transition, StoreError> {
        Ok(self.transition(id, |record| rules::trigger(record, now)))
    }

    async fn stop(&self, id: &str) -> Result<Transition, StoreError> {
        Ok(self.transition(id, rules::stop))
    }

    async fn start(&self, id: &str, now: DateTime<Utc>) -> Result<Transition, StoreError> {
        Ok(self.transition(id, |record| {
            let schedule = schedule_of(&record.job);
            rules::start(record, now, schedule.as_ref())
        }))
    }
}

impl Maintenance for InMemoryJobStore {
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
                    && slot.lease.is_none()
                    && node.is_none_or(|n| slot.node_name() == Some(n))
                    && age_from < expired_before)
                    .then(|| (age_from, slot.id.clone(), at))
            })
            .collect();
        expired.sort();
        expired.truncate(max);
        let mut removed = Vec::with_capacity(expired.len());
        for (_, _, at) in &expired {
            if let Some(slot) = state.remove_at(*at) {
                removed.push(slot.to_job());
            }
        }
        let gone: HashSet<&str> = expired.iter().map(|(_, id, _)| &**id).collect();
        state.forget_logs(&gone);
        Ok(removed)
    }

    async fn publish_waiting(
        &self,
        node: &str,
        now: DateTime<Utc>,
        max: usize,
    ) -> Result<Vec<String>, StoreError> {
        let not_ended = |begin: DateTime<Utc>, end: Option<DateTime<Utc>>| {
            end.is_none_or(|end| begin <= end && end >= now)
        };
        let waiting: Vec<String> = self
            .first_in_waiting_order(max, |s| {
                s.is_waiting(false)
                    && s.next_run_time.is_none()
                    && s.lease.is_none()
                    && s.runs_on(node)
                    && not_ended(s.begin_time(), s.end_time())
            })
            .into_iter()
            .map(|job| job.id)
            .collect();
        let mut published = Vec::with_capacity(waiting.len());
        for id in waiting {
            let applied = self.transition(&id, |record| {
                let job = &mut record.job;
                let unscheduled = rules::is_waiting(job, false)
                    && job.next_run_time.is_none()
                    && record.lease.is_none()
                    && not_ended(job.begin_time, job.end_time);
                if unscheduled {
                    job.next_run_time = Some(job.begin_time);
                }
                unscheduled
            });
            if applied.is_ok() {
                published.push(id);
            }
        }
        Ok(published)
    }

    async fn stop_lost(&self, node: &str, max: usize) -> Result<Vec<String>, StoreError> {
        let mut state = self.lock();
        let lost: Vec<u32> = state
            .slots
            .iter()
            .zip(0u32..)
            .filter(|(slot, _)| {
                slot.as_ref().is_some_and(|s| {
                    s.status == JobStatus::Running
                        && s.next_run_time.is_none()
                        && s.lease.is_none()
                        && s.runs_on(node)
                })
            })
            .map(|(_, at)| at)
            .take(max)
            .collect();
        let mut stopped = Vec::with_capacity(lost.len());
        for at in lost {
            if let Some(slot) = state.slot_mut(at) {
                slot.status = JobStatus::Stopped;
                stopped.push(slot.id.to_string());
            }
            state.reindex(at);
        }
        Ok(stopped)
    }

    async fn prune_logs(
        &self,
        retention: &LogRetention,
        now: DateTime<Utc>,
        max: usize,
    ) -> Result<u64, StoreError> {
        let cutoff = retention.max_age.and_then(|age| {
            chrono::Duration::from_std(age)
                .ok()
                .and_then(|age| now.checked_sub_signed(age))
        });
        let mut state = self.lock();
        // Newest first: count each job's logs as they come, so the first `max_per_job` of
        // a job are its newest.
        let mut seen: std::collections::HashMap<String, usize> = std::collections::HashMap::new();
        let mut doomed: HashSet<i64> = HashSet::new();
        for entry in state.logs.iter().rev() {
            if doomed.len() >= max {
                break;
            }
            let count = seen.entry(entry.log.job_id.clone()).or_default();
            *count += 1;
            let too_old = cutoff.is_some_and(|cutoff| entry.log.run_time < cutoff);
            let too_many = retention.max_per_job.is_some_and(|keep| *count > keep);
            if too_old || too_many {
                doomed.insert(entry.id);
            }
        }
        state.logs.retain(|entry| !doomed.contains(&entry.id));
        Ok(doomed.len() as u64)
    }
}
