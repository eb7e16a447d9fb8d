//! The scheduler operations of R26, as store updates plus signals to running runs.

use std::sync::Arc;

use bgtasks_abstractions::{
    CronSchedule, Interruption, JobInfo, JobKind, JobStatus, first_fire_time,
};

use super::{RunState, RuntimeInner, leases, run_loop};
use crate::scheduler::SchedulerError;

impl RuntimeInner {
    fn ensure_open(&self) -> Result<(), SchedulerError> {
        if self.is_shutting_down() {
            Err(SchedulerError::ShutDown)
        } else {
            Ok(())
        }
    }

    /// Sets the status and first fire time of a job about to be queued.
    fn prepare(&self, job: &mut JobInfo, schedule: Option<&CronSchedule>) {
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
            tracing::warn!(job_id = %job.id, job_type = %job.job_type,
                "no runnable is registered on this node for the job's type");
        }
    }

    pub(crate) async fn queue(&self, mut job: JobInfo) -> Result<bool, SchedulerError> {
        self.ensure_open()?;
        let schedule = job.validate()?;
        self.prepare(&mut job, schedule.as_ref());
        let inserted = self.store.insert(&job).await?;
        if inserted {
            self.wake.notify_one();
        }
        Ok(inserted)
    }

    pub(crate) async fn queue_many(&self, jobs: Vec<JobInfo>) -> Result<Vec<bool>, SchedulerError> {
        self.ensure_open()?;
        let mut prepared = Vec::with_capacity(jobs.len());
        for mut job in jobs {
            let schedule = job.validate()?;
            self.prepare(&mut job, schedule.as_ref());
            prepared.push(job);
        }
        let results = self.store.insert_many(&prepared).await?;
        self.wake.notify_one();
        Ok(results)
    }

    pub(crate) async fn exists(&self, id: &str) -> Result<bool, SchedulerError> {
        let Some(job) = self.store.find(id).await? else {
            return Ok(false);
        };
        Ok(self.running.contains(id)
            || job.status == JobStatus::Paused
            || (job.status.is_schedulable() && !job.is_abandoned && job.next_run_time.is_some()))
    }

    pub(crate) async fn trigger(&self, job: JobInfo) -> Result<(), SchedulerError> {
        self.ensure_open()?;
        let now = self.clock.now();
        match self.store.find(&job.id).await? {
            Some(mut existing) => {
                if !existing.status.is_schedulable() {
                    existing.status = if existing.trigger_count > 0 {
                        JobStatus::Running
                    } else {
                        JobStatus::Queuing
                    };
                }
                if existing.is_abandoned {
                    existing.is_abandoned = false;
                    existing.try_count = 0;
                }
                existing.next_run_time = Some(now);
                self.store.store(&existing).await?;
            }
            None => {
                let mut job = job;
                let schedule = job.validate()?;
                self.prepare(&mut job, schedule.as_ref());
                job.next_run_time = Some(now);
                if !self.store.insert(&job).await? {
                    // Queued concurrently: trigger the stored one.
                    return Box::pin(self.trigger(job)).await;
                }
            }
        }
        self.wake.notify_one();
        Ok(())
    }

    pub(crate) async fn pause(&self, id: &str) -> Result<bool, SchedulerError> {
        let Some(mut job) = self.store.find(id).await? else {
            return Ok(false);
        };
        job.status = JobStatus::Paused;
        self.store.store(&job).await?;
        self.running.interrupt(id, Interruption::Paused);
        Ok(true)
    }

    pub(crate) async fn resume(&self, id: &str) -> Result<bool, SchedulerError> {
        self.ensure_open()?;
        let Some(mut job) = self.store.find(id).await? else {
            return Ok(false);
        };
        if job.status != JobStatus::Paused {
            return Ok(false);
        }
        let now = self.clock.now();
        job.status = if job.try_count > 0 {
            JobStatus::FailedRetry
        } else if job.trigger_count > 0 {
            JobStatus::Running
        } else {
            JobStatus::Queuing
        };
        job.next_run_time = match job.kind {
            JobKind::Period => {
                let schedule = job.validate()?;
                first_fire_time(&job, schedule.as_ref(), now)
            }
            _ => Some(job.next_run_time.unwrap_or(now).max(now)),
        };
        self.store.store(&job).await?;
        self.wake.notify_one();
        Ok(true)
    }

    pub(crate) async fn remove(&self, id: &str) -> Result<bool, SchedulerError> {
        let removed = self.store.remove(id).await?;
        self.running.interrupt(id, Interruption::Removed);
        self.drop_cache(id);
        Ok(removed)
    }

    pub(crate) async fn start(self: &Arc<Self>) -> Result<(), SchedulerError> {
        self.ensure_open()?;
        for job in &self.system_jobs {
            let mut job = job.clone();
            let schedule = job.validate()?;
            self.prepare(&mut job, schedule.as_ref());
            self.store.insert(&job).await?;
        }
        self.state.send_replace(RunState::Started);
        let mut background = self
            .background
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if background.is_empty() {
            background.push(tokio::spawn(run_loop::claim(self.clone())));
            background.push(tokio::spawn(leases::renew(self.clone())));
            background.push(tokio::spawn(leases::rescue(self.clone())));
            for _ in 0..self.options.workers {
                self.workers.spawn(run_loop::work(self.clone()));
            }
        }
        drop(background);
        self.wake.notify_one();
        tracing::info!(
            node = self.node(),
            workers = self.options.workers,
            "bgtasks runtime started"
        );
        Ok(())
    }

    pub(crate) async fn stop(&self) -> Result<(), SchedulerError> {
        let stopped = self.state.send_if_modified(|state| {
            if *state == RunState::Started {
                *state = RunState::Stopped;
                true
            } else {
                false
            }
        });
        if stopped {
            run_loop::give_back_queued(self).await;
        }
        Ok(())
    }

    pub(crate) async fn shutdown(&self) -> Result<(), SchedulerError> {
        self.state.send_replace(RunState::ShuttingDown);
        self.wake.notify_one();
        run_loop::give_back_queued(self).await;
        self.workers.close();
        if tokio::time::timeout(self.options.shutdown_grace, self.workers.wait())
            .await
            .is_err()
        {
            tracing::warn!(
                node = self.node(),
                running = self.running.len(),
                "shutdown grace period is over; interrupting the runs still going"
            );
            self.running.interrupt_all(Interruption::Shutdown);
            let bound = self.options.interrupt_grace + std::time::Duration::from_secs(1);
            let _ = tokio::time::timeout(bound, self.workers.wait()).await;
        }
        let background: Vec<_> = self
            .background
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .drain(..)
            .collect();
        for task in background {
            task.abort();
        }
        self.writer.flush().await;
        tracing::info!(node = self.node(), "bgtasks runtime shut down");
        Ok(())
    }
}
