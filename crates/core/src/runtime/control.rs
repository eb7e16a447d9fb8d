//! The scheduler operations of R26, each one store transition (R37), plus a signal to the
//! run it concerns when this node runs it (other nodes learn at their next renewal).

use bgtasks_abstractions::{CronSchedule, Interruption, JobInfo, JobStatus, first_fire_time};

use super::RuntimeInner;
use crate::scheduler::SchedulerError;
use crate::store::{DefinitionUpdate, Refusal, RemoveIf, Transition};

/// How often a transition that raced another writer is tried again before the caller is
/// told the job's state changed.
const ATTEMPTS: usize = 3;

impl RuntimeInner {
    pub(super) fn ensure_open(&self) -> Result<(), SchedulerError> {
        if self.is_shutting_down() {
            Err(SchedulerError::ShutDown)
        } else {
            Ok(())
        }
    }

    /// Sets the status and first fire time of a job about to be queued.
    pub(super) fn prepare(&self, job: &mut JobInfo, schedule: Option<&CronSchedule>) {
        if job.status == JobStatus::None {
            job.status = JobStatus::Queuing;
        }
        if job.next_run_time.is_none() && job.status.is_schedulable() {
            job.next_run_time = first_fire_time(job, schedule, self.clock.now());
            if job.next_run_time.is_none() {
                tracing::warn!(job_id = %job.id, "job is queued after its end time; it will not run");
            }
        }
        if !self.registry.contains(&job.job_type) {
            tracing::warn!(job_id = %job.id, job_type = %job.job_type, node = self.node(),
                "no runnable is registered on this node for the job's type; a node that has it will run the job");
        }
    }

    pub(crate) async fn queue(&self, job: JobInfo) -> Result<bool, SchedulerError> {
        Ok(self
            .queue_many(vec![job])
            .await?
            .first()
            .copied()
            .unwrap_or(false))
    }

    pub(crate) async fn queue_many(&self, jobs: Vec<JobInfo>) -> Result<Vec<bool>, SchedulerError> {
        let span = crate::trace::enqueue_span(&jobs);
        tracing::Instrument::instrument(self.queue_traced(jobs), span).await
    }

    /// `queue_many` inside its `bgtasks.enqueue` span.
    async fn queue_traced(&self, jobs: Vec<JobInfo>) -> Result<Vec<bool>, SchedulerError> {
        self.ensure_open()?;
        let mut prepared = Vec::with_capacity(jobs.len());
        for mut job in jobs {
            let schedule = job.validate()?;
            self.prepare(&mut job, schedule.as_ref());
            prepared.push(job);
        }
        crate::trace::capture_all(&mut prepared);
        let results = self.store.insert(&prepared).await?;
        crate::trace::record_inserted(&results);
        crate::metrics::enqueued(&prepared, &results);
        if results.iter().any(|inserted| *inserted) {
            self.wake.notify_one();
        }
        Ok(results)
    }

    pub(crate) async fn exists(&self, id: &str) -> Result<bool, SchedulerError> {
        let Some(record) = self.store.find(id).await? else {
            return Ok(false);
        };
        let job = &record.job;
        Ok(record.is_running()
            || job.status == JobStatus::Paused
            || (job.status.is_schedulable() && !job.is_abandoned && job.next_run_time.is_some()))
    }

    pub(crate) async fn trigger(&self, job: JobInfo) -> Result<Transition, SchedulerError> {
        self.ensure_open()?;
        for _ in 0..ATTEMPTS {
            match self.store.trigger(&job.id, self.clock.now()).await? {
                Err(Refusal::NotFound) => {}
                outcome => {
                    self.wake.notify_one();
                    return Ok(outcome);
                }
            }
            let mut new = job.clone();
            let schedule = new.validate()?;
            self.prepare(&mut new, schedule.as_ref());
            new.next_run_time = Some(self.clock.now());
            let inserted = self.store.insert(std::slice::from_ref(&new)).await?;
            if inserted.first().copied().unwrap_or(false) {
                self.wake.notify_one();
                return Ok(self.store.find(&new.id).await?.ok_or(Refusal::NotFound));
            }
            // Queued concurrently: trigger the stored one.
        }
        Ok(Err(Refusal::NotFound))
    }

    /// Interrupts this node's run of the job a transition left asked to stop (other
    /// nodes learn at their next renewal).
    fn reach_run(&self, outcome: &Transition, why: Interruption) {
        if let Ok(record) = outcome
            && let Some(lease) = &record.lease
            && lease.node == self.node()
        {
            self.running.interrupt_run(&record.job.id, lease.token, why);
        }
    }

    pub(crate) async fn pause(&self, id: &str) -> Result<Transition, SchedulerError> {
        let outcome = self.store.pause(id).await?;
        self.reach_run(&outcome, Interruption::Paused);
        Ok(outcome)
    }

    pub(crate) async fn resume(&self, id: &str) -> Result<Transition, SchedulerError> {
        self.ensure_open()?;
        let outcome = self.store.resume(id, self.clock.now()).await?;
        if outcome.is_ok() {
            self.wake.notify_one();
        }
        Ok(outcome)
    }

    pub(crate) async fn remove(&self, id: &str) -> Result<Transition, SchedulerError> {
        self.remove_if(id, RemoveIf::Always).await
    }

    pub(crate) async fn remove_if(
        &self,
        id: &str,
        only: RemoveIf,
    ) -> Result<Transition, SchedulerError> {
        let outcome = self.store.remove(id, only).await?;
        self.reach_run(&outcome, Interruption::Removed);
        if outcome.is_ok() {
            self.drop_cache(id);
        }
        Ok(outcome)
    }

    /// Triggers a stored job; a job that is not stored is refused as not found.
    pub(crate) async fn trigger_stored(&self, id: &str) -> Result<Transition, SchedulerError> {
        self.ensure_open()?;
        let outcome = self.store.trigger(id, self.clock.now()).await?;
        if outcome.is_ok() {
            self.wake.notify_one();
        }
        Ok(outcome)
    }

    pub(crate) async fn stop_job(&self, id: &str) -> Result<Transition, SchedulerError> {
        let outcome = self.store.stop(id).await?;
        self.reach_run(&outcome, Interruption::Stopped);
        Ok(outcome)
    }

    pub(crate) async fn start_job(&self, id: &str) -> Result<Transition, SchedulerError> {
        self.ensure_open()?;
        let outcome = self.store.start(id, self.clock.now()).await?;
        if outcome.is_ok() {
            self.wake.notify_one();
        }
        Ok(outcome)
    }

    /// Validates the update against the job as it is, then applies it conditioned on the
    /// revision validated (or the caller's); a write that raced another is tried again
    /// when the caller gave no revision.
    pub(crate) async fn update(
        &self,
        id: &str,
        update: DefinitionUpdate,
        expected_revision: Option<i64>,
    ) -> Result<Transition, SchedulerError> {
        for _ in 0..ATTEMPTS {
            let Some(current) = self.store.find(id).await? else {
                return Ok(Err(Refusal::NotFound));
            };
            if expected_revision.is_some_and(|expected| expected != current.revision) {
                return Ok(Err(Refusal::StateChanged(Box::new(current))));
            }
            let mut merged = current.clone();
            crate::store::rules::apply_update(&mut merged, &update, self.clock.now(), None);
            merged.job.validate()?;
            let outcome = self
                .store
                .update(id, &update, Some(current.revision), self.clock.now())
                .await?;
            match outcome {
                Err(Refusal::StateChanged(_)) if expected_revision.is_none() => continue,
                outcome => {
                    if outcome.is_ok() && update.changes_schedule() {
                        self.wake.notify_one();
                    }
                    return Ok(outcome);
                }
            }
        }
        Ok(match self.store.find(id).await? {
            Some(current) => Err(Refusal::StateChanged(Box::new(current))),
            None => Err(Refusal::NotFound),
        })
    }
}
