//! Emitting the metrics, through the `metrics` facade: whichever recorder the host
//! installed receives them (none: they cost a lookup and go nowhere). No label ever
//! carries a job id or an argument: only job types, kinds, outcomes and failure types,
//! whose number is bounded by the code a host deploys.

use std::time::Duration;

use bgtasks_abstractions::{
    Interruption, JobError, JobEventData, JobExceptionType, JobInfo, JobKind, codes,
};

use super::{kind_label, names};

/// How a run ended, as the `outcome` label writes it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RunOutcome {
    /// The runnable returned `Ok`.
    Success,
    /// It failed.
    Failure,
    /// Paused, stopped, removed, shut down or its lease lost: nothing counted (R39).
    Interrupted,
    /// It ran past its time limit (R44); also a failure.
    Timeout,
}

impl RunOutcome {
    /// The label value: `success`, `failure`, `interrupted`, `timeout`.
    pub fn as_str(self) -> &'static str {
        match self {
            RunOutcome::Success => "success",
            RunOutcome::Failure => "failure",
            RunOutcome::Interrupted => "interrupted",
            RunOutcome::Timeout => "timeout",
        }
    }

    fn failed(self) -> bool {
        matches!(self, RunOutcome::Failure | RunOutcome::Timeout)
    }
}

/// The label value of a failure type: `business`, `application`, `network`, `system`
/// (a combination: its types joined by `|`).
pub fn failure_type_label(kind: JobExceptionType) -> String {
    kind.name().to_ascii_lowercase()
}

/// What a run came to, from the data the after-listeners saw and the state saved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct RunFacts {
    pub(crate) outcome: RunOutcome,
    /// The failure type of a failed run.
    pub(crate) failure_type: Option<JobExceptionType>,
    /// A failed run after which the job runs again.
    pub(crate) retry: bool,
    /// A failed run after which the job is abandoned.
    pub(crate) abandoned: bool,
    /// Why the next run is scheduled, when the saved state has one (`cron`, `interval`,
    /// `retry`).
    pub(crate) rescheduled: Option<&'static str>,
}

impl RunFacts {
    pub(crate) fn of(
        data: &JobEventData,
        exception_type: Option<JobExceptionType>,
        saved: Option<&JobInfo>,
        recorded: Option<Interruption>,
    ) -> Self {
        let outcome = match (&data.interruption.or(recorded), &data.error) {
            (Some(_), _) => RunOutcome::Interrupted,
            (None, Some(error)) if is_timeout(error) => RunOutcome::Timeout,
            (None, Some(_)) => RunOutcome::Failure,
            (None, None) => RunOutcome::Success,
        };
        let failed = outcome.failed();
        let again = saved.is_some_and(|job| job.next_run_time.is_some() && !job.is_abandoned);
        let rescheduled = match (failed, again, data.job().kind) {
            (_, false, _) => None,
            (true, true, _) => Some("retry"),
            (false, true, JobKind::Period) => Some("cron"),
            (false, true, JobKind::Persistent) => Some("interval"),
            (false, true, JobKind::Once) => None,
        };
        Self {
            outcome,
            failure_type: failed.then(|| exception_type.unwrap_or(JobExceptionType::SYSTEM)),
            retry: failed && again,
            abandoned: failed && saved.is_some_and(|job| job.is_abandoned),
            rescheduled,
        }
    }
}

fn is_timeout(error: &JobError) -> bool {
    error.code() == Some(codes::TIME_LIMIT)
}

/// Records a run that ended: its outcome, duration, queue wait, failure, retry or
/// abandonment, and the run it scheduled.
pub(crate) fn run_finished(
    job: &JobInfo,
    facts: &RunFacts,
    duration: Duration,
    queue_wait: Duration,
) {
    let job_type = &job.job_type;
    let kind = kind_label(job.kind);
    let outcome = facts.outcome.as_str();
    ::metrics::counter!(names::JOB_RUNS_TOTAL,
        "type" => job_type.clone(), "kind" => kind, "outcome" => outcome)
    .increment(1);
    ::metrics::histogram!(names::JOB_DURATION_SECONDS,
        "type" => job_type.clone(), "outcome" => outcome)
    .record(duration.as_secs_f64());
    ::metrics::histogram!(names::JOB_QUEUE_WAIT_SECONDS, "type" => job_type.clone())
        .record(queue_wait.as_secs_f64());
    if let Some(failure) = facts.failure_type {
        let failure = failure_type_label(failure);
        ::metrics::counter!(names::JOB_FAILURES_TOTAL,
            "type" => job_type.clone(), "failure_type" => failure.clone())
        .increment(1);
        if facts.retry {
            ::metrics::counter!(names::JOB_RETRIES_TOTAL,
                "type" => job_type.clone(), "failure_type" => failure.clone())
            .increment(1);
        }
        if facts.abandoned {
            ::metrics::counter!(names::JOBS_ABANDONED_TOTAL,
                "type" => job_type.clone(), "failure_type" => failure)
            .increment(1);
        }
    }
    if let Some(source) = facts.rescheduled {
        ::metrics::counter!(names::JOBS_ENQUEUED_TOTAL,
            "type" => job_type.clone(), "kind" => kind, "source" => source)
        .increment(1);
    }
}

/// Creates, at zero, the counter series of every job type this node runs — runs by kind
/// and outcome, failures, retries and abandonments by failure type — and of listener
/// errors and rescues. A Prometheus counter series that first appears with a value of 1
/// hides that increment from `rate()` and `increase()` (they count from the first sample
/// scraped), so the first failure of a type after a start would never show on a
/// dashboard; a series scraped at 0 first counts every increment.
pub(crate) fn announce(job_types: &[String]) {
    const KINDS: [JobKind; 3] = [JobKind::Once, JobKind::Period, JobKind::Persistent];
    const OUTCOMES: [RunOutcome; 4] = [
        RunOutcome::Success,
        RunOutcome::Failure,
        RunOutcome::Interrupted,
        RunOutcome::Timeout,
    ];
    const FAILURE_TYPES: [JobExceptionType; 4] = [
        JobExceptionType::BUSINESS,
        JobExceptionType::APPLICATION,
        JobExceptionType::NETWORK,
        JobExceptionType::SYSTEM,
    ];
    for job_type in job_types {
        for kind in KINDS {
            for outcome in OUTCOMES {
                ::metrics::counter!(names::JOB_RUNS_TOTAL,
                    "type" => job_type.clone(), "kind" => kind_label(kind), "outcome" => outcome.as_str())
                .increment(0);
            }
        }
        for failure in FAILURE_TYPES {
            let failure = failure_type_label(failure);
            for name in [
                names::JOB_FAILURES_TOTAL,
                names::JOB_RETRIES_TOTAL,
                names::JOBS_ABANDONED_TOTAL,
            ] {
                ::metrics::counter!(name,
                    "type" => job_type.clone(), "failure_type" => failure.clone())
                .increment(0);
            }
        }
    }
    for phase in ["before", "after"] {
        ::metrics::counter!(names::LISTENER_ERRORS_TOTAL, "phase" => phase).increment(0);
    }
    ::metrics::counter!(names::LEASE_RESCUES_TOTAL).increment(0);
}

/// Records the size of a claim that brought runs.
pub(crate) fn claim_batch(count: usize) {
    if count > 0 {
        ::metrics::histogram!(names::CLAIM_BATCH_SIZE).record(count as f64);
    }
}

/// Records how long a store call took.
pub(crate) fn store_operation(store: &'static str, operation: &'static str, took: Duration) {
    ::metrics::histogram!(names::STORE_OPERATION_DURATION_SECONDS,
        "store" => store, "operation" => operation)
    .record(took.as_secs_f64());
}

/// Counts runs this node rescued.
pub(crate) fn rescued(count: usize) {
    ::metrics::counter!(names::LEASE_RESCUES_TOTAL).increment(count as u64);
}

/// Counts a listener call that failed, panicked or timed out, `before` or `after` a run.
pub(crate) fn listener_error(phase: &'static str) {
    ::metrics::counter!(names::LISTENER_ERRORS_TOTAL, "phase" => phase).increment(1);
}

/// Counts one delivery attempt of a notification by `notifier` (its name, such as
/// `JobExecutedFailedNotifier`, the failure e-mail, or `JobExecutedWebhookNotifier`):
/// `delivered`, `retry` or `failed`. Called by the notification
/// delivery of `bgtasks-actions`.
pub fn notification(notifier: &str, result: &'static str) {
    ::metrics::counter!(names::NOTIFICATIONS_TOTAL,
        "notifier" => notifier.to_owned(), "result" => result)
    .increment(1);
}

/// Counts one delivery attempt of `record` by how it went: `delivered`, `retry` or
/// `failed`, under the notifier its payload names (`unknown` when it names none).
pub fn notification_delivered(
    record: &bgtasks_store::NotificationRecord,
    outcome: &bgtasks_store::DeliveryOutcome,
) {
    use bgtasks_store::DeliveryOutcome;
    let notifier = record
        .payload
        .get("notifier")
        .and_then(serde_json::Value::as_str)
        .unwrap_or("unknown");
    let result = match outcome {
        DeliveryOutcome::Delivered => "delivered",
        DeliveryOutcome::RetryAt { .. } => "retry",
        DeliveryOutcome::Failed { .. } => "failed",
    };
    notification(notifier, result);
}

/// Counts a run in `bgtasks_jobs_running{node}` while it lives.
pub(crate) struct RunningGauge(::metrics::Gauge);

impl RunningGauge {
    pub(crate) fn enter(node: &str) -> Self {
        let gauge = ::metrics::gauge!(names::JOBS_RUNNING, "node" => node.to_owned());
        gauge.increment(1.0);
        Self(gauge)
    }
}

impl Drop for RunningGauge {
    fn drop(&mut self) {
        self.0.decrement(1.0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn data(job: JobInfo, error: Option<JobError>) -> JobEventData {
        let mut data = JobEventData::new(job, chrono::Utc::now(), "n");
        data.error = error;
        data
    }

    #[test]
    fn facts_name_the_outcome_and_what_it_scheduled() {
        let period = JobInfo::period("p", "t", "0 * * * * ?");
        let mut next = period.clone();
        next.next_run_time = Some(chrono::Utc::now());
        let ok = RunFacts::of(&data(period.clone(), None), None, Some(&next), None);
        assert_eq!(
            (ok.outcome, ok.rescheduled),
            (RunOutcome::Success, Some("cron"))
        );

        let timeout = JobError::new("too long").with_code(codes::TIME_LIMIT);
        let failed = RunFacts::of(
            &data(period.clone(), Some(timeout)),
            None,
            Some(&next),
            None,
        );
        assert_eq!(failed.outcome, RunOutcome::Timeout);
        assert_eq!(failed.failure_type, Some(JobExceptionType::SYSTEM));
        assert!(failed.retry && !failed.abandoned);
        assert_eq!(failed.rescheduled, Some("retry"));

        let mut gone = period.clone();
        gone.is_abandoned = true;
        let abandoned = RunFacts::of(
            &data(period.clone(), Some(JobError::business("no"))),
            Some(JobExceptionType::BUSINESS),
            Some(&gone),
            None,
        );
        assert!(abandoned.abandoned && !abandoned.retry);
        assert_eq!(abandoned.rescheduled, None);

        let interrupted = RunFacts::of(&data(period, None), None, None, Some(Interruption::Paused));
        assert_eq!(interrupted.outcome, RunOutcome::Interrupted);
        assert_eq!(interrupted.failure_type, None);
    }

    #[test]
    fn labels_are_lower_case() {
        assert_eq!(failure_type_label(JobExceptionType::NETWORK), "network");
        assert_eq!(
            failure_type_label(JobExceptionType::BUSINESS | JobExceptionType::SYSTEM),
            "business|system"
        );
        assert_eq!(kind_label(JobKind::Persistent), "persistent");
    }
}
