//! The `bgtasks.run` span of a run, and what is recorded when the run ends: its outcome
//! and failure type on the span, its metrics, and an event for an abandonment or a
//! quarantined job.

use bgtasks_abstractions::{Interruption, JobEventContext, JobInfo, codes};
use tracing::field::Empty;

use crate::metrics::{self, RunFacts, RunningGauge, failure_type_label};
use crate::store::ClaimedRun;

/// A run being traced: its span, and its place in `bgtasks_jobs_running{node}` while it
/// lives.
pub(crate) struct RunTrace {
    span: tracing::Span,
    _running: RunningGauge,
}

impl RunTrace {
    /// Opens the span of `run` on `node`, continuing the trace the job carries.
    pub(crate) fn start(node: &str, run: &ClaimedRun) -> Self {
        let job = &run.job;
        let parent = job.trace_parent();
        let span = tracing::info_span!(
            "bgtasks.run",
            job_id = %job.id,
            job_type = %job.job_type,
            job_kind = metrics::kind_label(job.kind),
            attempt = run.attempt,
            node,
            trace_parent = Empty,
            outcome = Empty,
            failure_type = Empty,
            otel.kind = "consumer",
            otel.status_code = Empty,
            "error.type" = Empty,
            messaging.system = "bgtasks",
            messaging.operation.type = "process",
            messaging.destination.name = %job.job_type,
            messaging.message.id = %job.id,
        );
        if let Some(parent) = &parent {
            span.record("trace_parent", tracing::field::display(parent));
            super::parent::continue_in(&span, parent);
        }
        Self {
            span,
            _running: RunningGauge::enter(node),
        }
    }

    /// The span.
    pub(crate) fn span(&self) -> &tracing::Span {
        &self.span
    }
}

/// Records the end of a run inside its span: the outcome and failure type on the span,
/// the run's metrics, and an event when the job is abandoned or was quarantined (R43).
pub(crate) fn run_completed(
    context: &JobEventContext,
    saved: Option<&JobInfo>,
    recorded: Option<Interruption>,
    due_at: chrono::DateTime<chrono::Utc>,
) {
    let data = context.data();
    let facts = RunFacts::of(data, context.exception_type(), saved, recorded);
    let queue_wait = (data.run_time - due_at).to_std().unwrap_or_default();
    metrics::run_finished(data.job(), &facts, data.execution_duration, queue_wait);
    let span = tracing::Span::current();
    span.record("outcome", facts.outcome.as_str());
    let Some(failure) = facts.failure_type.map(failure_type_label) else {
        return;
    };
    span.record("failure_type", failure.as_str());
    span.record("error.type", failure.as_str());
    span.record("otel.status_code", "ERROR");
    let quarantined = data
        .error
        .as_ref()
        .is_some_and(|error| error.code() == Some(codes::CRASHED));
    if quarantined {
        tracing::error!(
            event = "bgtasks.quarantine",
            job_id = data.key(),
            job_type = data.job_type(),
            "job `{}` was not run: its node died in each of its last runs; it fails instead \
             and follows its retry policy",
            data.key()
        );
    }
    if facts.abandoned {
        tracing::warn!(
            event = "bgtasks.abandoned",
            job_id = data.key(),
            job_type = data.job_type(),
            failure_type = failure.as_str(),
            "job `{}` is abandoned: its last try failed ({failure})",
            data.key()
        );
    }
}
