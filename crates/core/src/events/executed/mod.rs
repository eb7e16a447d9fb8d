//! The executed event: the state machine of a job after each run (R13–R20).

use std::sync::Arc;
use std::time::Duration;

use bgtasks_abstractions::{
    BoxError, Clock, Interruption, JobEvent, JobEventContext, JobEventData, JobExceptionType,
    JobInfo, JobKind, JobStatus,
};

use crate::events::NotificationPlanner;
use crate::retry::{RetryDecision, RetryPolicy, RunFailure};
use crate::store::{CompletionOutcome, JobStore, RunCompletion, RunWriter, StoreError};

/// After every run, takes the job as the run found it, applies R13–R19 (with the
/// configured retry policy deciding what a failure means), and saves it (R20).
/// Registered by default. Skips runs that were interrupted and job types that opted out
/// of status handling.
///
/// A claimed run carries the job as it was claimed under its lease, so the event starts
/// from that instead of reading the store again; the fenced completion then writes only
/// the run-state fields. The store decides the rest (R37–R40): a job paused or stopped
/// during the run gets the run recorded as interrupted, a job removed during the run or
/// whose lease was lost gets nothing written (logged), a trigger during the run makes the
/// job due again. A run without a lease (not claimed from a store) is not saved.
///
/// When the store is unavailable (a transient [`StoreError`]), the completion is tried
/// again with a growing pause for up to the save-retry window (30 s by default; see
/// [`with_save_retry`](Self::with_save_retry)): the run keeps its lease meanwhile, and the
/// fenced write cannot overwrite a newer run's state, so a short outage costs a delay
/// rather than a second run. Past the window the error is returned and the run is given
/// back to run again.
pub struct JobExecutedEvent {
    writer: RunWriter,
    result_max_chars: usize,
    planner: Option<Arc<dyn NotificationPlanner>>,
    policy: Arc<dyn RetryPolicy>,
    clock: Arc<dyn Clock>,
    save_retry: Duration,
}

/// The default save-retry window.
const SAVE_RETRY: Duration = Duration::from_secs(30);
/// The first and the longest pause between two tries of a completion.
const SAVE_PAUSE_FIRST: Duration = Duration::from_millis(50);
const SAVE_PAUSE_MAX: Duration = Duration::from_secs(2);

impl JobExecutedEvent {
    /// An executed event saving to `store` and deciding failures with `policy`.
    pub fn new(
        store: Arc<dyn JobStore>,
        policy: Arc<dyn RetryPolicy>,
        clock: Arc<dyn Clock>,
    ) -> Self {
        Self {
            writer: RunWriter::direct(store),
            result_max_chars: 4000,
            planner: None,
            policy,
            clock,
            save_retry: SAVE_RETRY,
        }
    }

    /// How long a completion keeps trying while the store is unavailable (zero: once).
    /// Keep it below the listener timeout, which bounds the whole event.
    pub fn with_save_retry(mut self, window: Duration) -> Self {
        self.save_retry = window;
        self
    }

    /// Cuts the result a job keeps to `max_chars` characters (R46; 4000 by default).
    pub fn with_result_max_chars(mut self, max_chars: usize) -> Self {
        self.result_max_chars = max_chars;
        self
    }

    /// Decides with `planner` the notifications each outcome calls for; they are saved
    /// with it (R51).
    pub fn with_planner(mut self, planner: Arc<dyn NotificationPlanner>) -> Self {
        self.planner = Some(planner);
        self
    }

    /// Saves the completion, trying again while the store is unavailable and the
    /// save-retry window lasts.
    async fn complete(&self, completion: RunCompletion) -> Result<CompletionOutcome, StoreError> {
        let started = tokio::time::Instant::now();
        let mut pause = SAVE_PAUSE_FIRST;
        let lease = completion.lease.clone();
        loop {
            match self.writer.complete(completion.clone()).await {
                Err(error)
                    if error.is_transient() && started.elapsed() + pause <= self.save_retry =>
                {
                    tracing::warn!(job_id = %lease.job_id, %error, retry_in_ms = pause.as_millis() as u64,
                        "could not save the run's state; trying again");
                    tokio::time::sleep(pause).await;
                    pause = (pause * 2).min(SAVE_PAUSE_MAX);
                }
                other => return other,
            }
        }
    }

    /// Writes completions through `writer` (which may batch them).
    pub fn with_writer(mut self, writer: RunWriter) -> Self {
        self.writer = writer;
        self
    }
}

/// Applies R13–R19 to `job` for the run described by `data`; the failure type is the
/// finder's. Pure: no store, so it can be tested on its own.
pub fn apply_run_outcome(
    job: &mut JobInfo,
    data: &JobEventData,
    exception_type: Option<JobExceptionType>,
    policy: &dyn RetryPolicy,
    now: chrono::DateTime<chrono::Utc>,
) {
    // R13
    job.trigger_count = job.trigger_count.saturating_add(1);
    job.tenant_id = data.tenant_id();
    job.last_run_time = Some(data.run_time);
    job.next_run_time = data.next_run_time;
    job.result = Some(data.result.clone().unwrap_or_else(|| "OK".to_owned()));
    job.status = JobStatus::Running;
    match &data.error {
        Some(error) => {
            // R14
            job.try_count = job.try_count.saturating_add(1);
            job.is_abandoned = false;
            job.result = Some(error.innermost_message());
            let failure = RunFailure {
                error,
                exception_type: exception_type.unwrap_or(JobExceptionType::SYSTEM),
                failed_at: now,
            };
            // R15–R18, through the policy
            match policy.on_failure(job, &failure) {
                RetryDecision::Stop => {
                    job.status = JobStatus::Stopped;
                    job.is_abandoned = true;
                    job.next_run_time = None;
                }
                RetryDecision::RetryAt(at) => {
                    if job.kind != JobKind::Period {
                        job.status = JobStatus::FailedRetry;
                    }
                    job.next_run_time = Some(match job.end_time {
                        Some(end) if at > end => end.max(now),
                        _ => at,
                    });
                }
                RetryDecision::KeepSchedule => {}
            }
        }
        None => {
            // R19
            job.try_count = 0;
            policy.on_success(job);
            if job.kind == JobKind::Once
                || (job.max_count > 0 && job.trigger_count >= job.max_count)
            {
                job.status = JobStatus::Completed;
                job.next_run_time = None;
            }
        }
    }
}

impl JobEvent for JobExecutedEvent {
    fn name(&self) -> &str {
        "JobExecutedEvent"
    }

    /// Nothing to do before a run.
    fn can_before_executed(&self, _context: &JobEventContext) -> bool {
        false
    }

    fn can_after_executed(&self, context: &JobEventContext) -> bool {
        let data = context.data();
        !data.opt_outs.skip_status_handling && data.interruption.is_none()
    }

    async fn on_after_executed(&self, context: &JobEventContext) -> Result<(), BoxError> {
        let data = context.data();
        let Some(lease) = &data.lease else {
            tracing::warn!(
                job_id = data.key(),
                job_group = data.group(),
                job_name = data.name(),
                "a run without a lease (not claimed from the store) has no state to save"
            );
            return Ok(());
        };
        let mut job = data.job().clone();
        apply_run_outcome(
            &mut job,
            data,
            context.exception_type(),
            self.policy.as_ref(),
            self.clock.now(),
        );
        if let Some(result) = job.result.as_mut()
            && let Some((at, _)) = result.char_indices().nth(self.result_max_chars)
        {
            result.truncate(at);
        }
        let notifications = self
            .planner
            .as_ref()
            .map(|planner| planner.plan(context, &job))
            .unwrap_or_default();
        let completion = RunCompletion {
            lease: lease.clone(),
            job: job.clone(),
            notifications,
        };
        match self.complete(completion).await? {
            CompletionOutcome::Saved => context.record_saved_job(job),
            CompletionOutcome::Interrupted(why) => {
                tracing::info!(job_id = data.key(), job_group = data.group(), job_name = data.name(),
                    reason = ?why, "the job was changed while it ran; the run is recorded as interrupted");
                context.record_interruption(why);
            }
            CompletionOutcome::LeaseLost => {
                tracing::warn!(
                    job_id = data.key(), job_group = data.group(), job_name = data.name(), node = %data.node,
                    "the run's lease was taken over by another node; its result is discarded");
                context.record_interruption(Interruption::LeaseLost);
            }
            CompletionOutcome::JobGone => {
                tracing::warn!(
                    job_id = data.key(),
                    job_group = data.group(),
                    job_name = data.name(),
                    "job was removed during its run; its state is not saved"
                );
                context.record_interruption(Interruption::Removed);
            }
        }
        Ok(())
    }
}

impl std::fmt::Debug for JobExecutedEvent {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JobExecutedEvent")
            .field("policy", &self.policy)
            .finish()
    }
}

#[cfg(test)]
mod tests;
