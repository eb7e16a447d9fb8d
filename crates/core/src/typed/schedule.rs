//! Recurring jobs as declarations (R50): `runtime.schedule(key, value, schedule)` inserts
//! the job, or updates the definition of the one under the key — keeping its counters
//! and run history — or leaves it as it is, and says which.

use std::future::{Future, IntoFuture};
use std::pin::Pin;
use std::time::Duration;

use bgtasks_abstractions::{CronError, CronSchedule, JobInfo, JobKind, JobType, Tz};

use super::EnqueueError;
use super::diff::definition_update;
use super::options::{JobOptions, args_of, option_setters};
use crate::runtime::Runtime;
use crate::scheduler::JobScheduler;
use crate::store::Refusal;

/// When a recurring job runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Schedule {
    /// On a cron expression (Quartz form, with `L`, `W`, `#` and an optional time zone).
    Cron(String),
    /// Every `interval`, `times` times (`None`: for ever).
    Every {
        /// The time between two runs, in whole seconds (at least one).
        interval: Duration,
        /// How many runs in all.
        times: Option<u32>,
    },
}

impl Schedule {
    /// A cron schedule in UTC; the error says what is wrong with the expression.
    pub fn cron(expression: &str) -> Result<Self, CronError> {
        let schedule = CronSchedule::parse(expression)?;
        Ok(Schedule::Cron(schedule.expression().to_owned()))
    }

    /// A cron schedule in the time zone `zone`, following its daylight-saving rules.
    pub fn cron_in(expression: &str, zone: Tz) -> Result<Self, CronError> {
        let schedule = CronSchedule::in_zone(expression, zone)?;
        Ok(Schedule::Cron(schedule.expression().to_owned()))
    }

    /// Every `interval`, for ever.
    pub fn every(interval: Duration) -> Self {
        Schedule::Every {
            interval,
            times: None,
        }
    }

    /// Limits an interval schedule to `times` runs (a cron schedule is left as it is).
    #[must_use]
    pub fn times(self, times: u32) -> Self {
        match self {
            Schedule::Every { interval, .. } => Schedule::Every {
                interval,
                times: Some(times),
            },
            cron => cron,
        }
    }

    fn job(&self, key: &str, job_type: &str) -> JobInfo {
        match self {
            Schedule::Cron(expression) => JobInfo::period(key, job_type, expression.clone()),
            Schedule::Every { interval, times } => JobInfo::persistent(
                key,
                job_type,
                i64::try_from(interval.as_secs()).unwrap_or(i64::MAX),
                times.map_or(0, |n| i32::try_from(n).unwrap_or(i32::MAX)),
            ),
        }
    }
}

/// What a schedule declaration did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scheduled {
    /// No job had the key: it was stored.
    Inserted,
    /// The job under the key had another definition: it was updated, its counters and
    /// history kept.
    Updated,
    /// The job under the key already had this definition.
    Unchanged,
}

/// A recurring job being declared: set its options, then `.await` it.
#[must_use = "a schedule declaration does nothing until it is awaited"]
pub struct ScheduleJob<'r, J> {
    runtime: &'r Runtime,
    key: String,
    value: J,
    schedule: Schedule,
    options: JobOptions,
}

/// How often an update that raced another writer is tried again.
const ATTEMPTS: usize = 5;

impl<'r, J: JobType> ScheduleJob<'r, J> {
    pub(crate) fn new(runtime: &'r Runtime, key: String, value: J, schedule: Schedule) -> Self {
        Self {
            runtime,
            key,
            value,
            schedule,
            options: JobOptions::default(),
        }
    }

    option_setters!();

    /// The job this declaration stores, validated and ready for a store.
    pub fn to_job(&self) -> Result<JobInfo, EnqueueError> {
        let mut job = self.schedule.job(&self.key, J::TYPE);
        job.args = args_of(&self.value)?;
        self.options.apply(&mut job, self.runtime.clock().now());
        Ok(self.runtime.prepared(job)?)
    }

    async fn run(self) -> Result<Scheduled, EnqueueError> {
        let job = self.to_job()?;
        for _ in 0..ATTEMPTS {
            if self.runtime.queue(job.clone()).await? {
                return Ok(Scheduled::Inserted);
            }
            let Some(stored) = self.runtime.store().find(&job.id).await? else {
                continue;
            };
            if stored.job.kind != job.kind || stored.job.job_type != job.job_type {
                return Err(EnqueueError::Conflict {
                    id: job.id,
                    stored: format!(
                        "{} job of type `{}`",
                        kind_name(stored.job.kind),
                        stored.job.job_type
                    ),
                    new: format!("{} job of type `{}`", kind_name(job.kind), job.job_type),
                });
            }
            let update = definition_update(&stored.job, &job, false);
            if update.is_empty() {
                return Ok(Scheduled::Unchanged);
            }
            match self
                .runtime
                .update(&job.id, update, Some(stored.revision))
                .await?
            {
                Ok(_) => return Ok(Scheduled::Updated),
                Err(Refusal::NotFound | Refusal::StateChanged(_) | Refusal::LeaseLost) => {}
            }
        }
        Err(EnqueueError::Contended { id: job.id })
    }
}

fn kind_name(kind: JobKind) -> &'static str {
    match kind {
        JobKind::Once => "a Once",
        JobKind::Period => "a Period",
        JobKind::Persistent => "a Persistent",
    }
}

impl<'r, J: JobType> IntoFuture for ScheduleJob<'r, J> {
    type Output = Result<Scheduled, EnqueueError>;
    type IntoFuture = Pin<Box<dyn Future<Output = Self::Output> + Send + 'r>>;

    fn into_future(self) -> Self::IntoFuture {
        Box::pin(self.run())
    }
}
