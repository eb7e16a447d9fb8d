//! Queueing a typed job (R48): `runtime.enqueue(value)` with its options in the same
//! call, answered by a handle that can await the job's next outcome on this node.

use std::future::{Future, IntoFuture};
use std::pin::Pin;
use std::time::Duration;

use bgtasks_abstractions::{JobInfo, JobType};
use tokio::sync::broadcast;

use super::EnqueueError;
use super::options::{JobOptions, args_of, option_setters, unique_id};
use super::unique::{UniquePolicy, enqueue_unique};
use crate::runtime::{RunReport, Runtime};
use crate::scheduler::JobScheduler;

/// What became of an enqueue.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Enqueued {
    /// The job was stored.
    Inserted,
    /// A job with the id exists; nothing changed (an enqueue with an explicit id that
    /// is taken, without a unique policy).
    Exists,
    /// A unique job: one with the key is waiting or running; nothing changed.
    Skipped,
    /// A unique job with [`UniquePolicy::Replace`]: the waiting job with the key now
    /// has this value and these options.
    Replaced,
}

/// A job being queued: set its options, then `.await` it.
///
/// ```
/// # use bgtasks_core::Runtime;
/// # use bgtasks_abstractions::{JobPriority, JobType};
/// # #[derive(serde::Serialize, serde::Deserialize)]
/// # struct Report { day: u32 }
/// # impl JobType for Report { const TYPE: &'static str = "report"; }
/// # async fn demo(runtime: Runtime) -> Result<(), Box<dyn std::error::Error>> {
/// let job = runtime
///     .enqueue(Report { day: 12 })
///     .priority(JobPriority::High)
///     .delay(std::time::Duration::from_secs(30))
///     .max_tries(5)
///     .await?;
/// println!("queued {}", job.id());
/// # Ok(()) }
/// ```
#[must_use = "an enqueue does nothing until it is awaited"]
pub struct Enqueue<'r, J> {
    runtime: &'r Runtime,
    value: J,
    options: JobOptions,
    unique: Option<UniquePolicy>,
    retry_interval: Option<Duration>,
}

impl<'r, J: JobType> Enqueue<'r, J> {
    pub(crate) fn new(runtime: &'r Runtime, value: J) -> Self {
        Self {
            runtime,
            value,
            options: JobOptions::default(),
            unique: None,
            retry_interval: None,
        }
    }

    option_setters!();

    /// Makes the job unique by its id — the one given, or one made from its type and its
    /// arguments, so that equal values are one job — with `policy` deciding what a second
    /// enqueue does while the first is waiting or running. Once the first has finished
    /// (completed or stopped) it is replaced by the new one, history included.
    pub fn unique(mut self, policy: UniquePolicy) -> Self {
        self.unique = Some(policy);
        self
    }

    /// Sets how long the first retry waits after a failed try, in whole seconds (at least
    /// one; default 300 s): later retries wait longer, as the retry policy's ladder says
    /// (R15–R16). A value past the range of the job model is refused when queued, naming
    /// the job, the field and the value (R42).
    pub fn retry_interval(mut self, interval: Duration) -> Self {
        self.retry_interval = Some(interval);
        self
    }

    /// The job this enqueue stores: validated and ready for a store (its first due time
    /// computed), for queueing it another way — in the caller's own database transaction
    /// (`bgtasks::sqlite::enqueue_in`, `bgtasks::postgres::enqueue_in`).
    pub fn to_job(&self) -> Result<JobInfo, EnqueueError> {
        let args = args_of(&self.value)?;
        let id = match (&self.options.id, self.unique) {
            (Some(id), _) => id.clone(),
            (None, Some(_)) => unique_id::<J>(&args),
            (None, None) => JobInfo::new_id(),
        };
        let mut job = JobInfo::once(id, J::TYPE);
        job.args = args;
        if let Some(interval) = self.retry_interval {
            job.interval = i64::try_from(interval.as_secs()).unwrap_or(i64::MAX);
        }
        self.options.apply(&mut job, self.runtime.clock().now());
        Ok(self.runtime.prepared(job)?)
    }

    async fn run(self) -> Result<JobHandle, EnqueueError> {
        let reports = self.runtime.subscribe();
        let job = self.to_job()?;
        let id = job.id.clone();
        let status = match self.unique {
            Some(policy) => enqueue_unique(self.runtime, job, policy).await?,
            None if self.runtime.queue(job).await? => Enqueued::Inserted,
            None => Enqueued::Exists,
        };
        Ok(JobHandle {
            id,
            status,
            reports,
        })
    }
}

impl<'r, J: JobType> IntoFuture for Enqueue<'r, J> {
    type Output = Result<JobHandle, EnqueueError>;
    type IntoFuture = Pin<Box<dyn Future<Output = Self::Output> + Send + 'r>>;

    fn into_future(self) -> Self::IntoFuture {
        Box::pin(self.run())
    }
}

/// A queued job: its id, what the enqueue did, and its outcomes on this node.
pub struct JobHandle {
    id: String,
    status: Enqueued,
    reports: broadcast::Receiver<RunReport>,
}

/// Waiting for an outcome ended without one.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum OutcomeError {
    /// No run of the job ended on this node within the time given (it may run on
    /// another node, or later).
    #[error("no run of job `{id}` ended on this node within {within:?}")]
    TimedOut {
        /// The job.
        id: String,
        /// How long was waited.
        within: Duration,
    },
    /// The runtime shut down.
    #[error("the runtime shut down before a run of job `{id}` ended")]
    ShutDown {
        /// The job.
        id: String,
    },
}

impl JobHandle {
    /// The job's id.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// What the enqueue did.
    pub fn status(&self) -> Enqueued {
        self.status
    }

    /// Waits, at most `within`, for the next run of the job to end on this node, and
    /// says how it went. Runs on other nodes are not seen: read the job from the store
    /// for those.
    pub async fn outcome(&mut self, within: Duration) -> Result<RunReport, OutcomeError> {
        let id = self.id.clone();
        let wait = async {
            loop {
                match self.reports.recv().await {
                    Ok(report) if report.job_id == id => return Ok(report),
                    Ok(_) | Err(broadcast::error::RecvError::Lagged(_)) => {}
                    Err(broadcast::error::RecvError::Closed) => {
                        return Err(OutcomeError::ShutDown { id: id.clone() });
                    }
                }
            }
        };
        match tokio::time::timeout(within, wait).await {
            Ok(outcome) => outcome,
            Err(_) => Err(OutcomeError::TimedOut { id, within }),
        }
    }
}

impl std::fmt::Debug for JobHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JobHandle")
            .field("id", &self.id)
            .field("status", &self.status)
            .finish_non_exhaustive()
    }
}
