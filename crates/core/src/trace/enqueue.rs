//! The `bgtasks.enqueue` span of a `queue` call, and the trace context it gives the jobs.

use bgtasks_abstractions::JobInfo;
use tracing::field::Empty;

/// The span of a `queue` of `jobs`: the id and type when there is one job (the type when
/// they all share it), and the count.
pub(crate) fn enqueue_span(jobs: &[JobInfo]) -> tracing::Span {
    let span = tracing::info_span!(
        "bgtasks.enqueue",
        job_count = jobs.len(),
        job_id = Empty,
        job_type = Empty,
        trace_parent = Empty,
        inserted = Empty,
        otel.kind = "producer",
        messaging.system = "bgtasks",
        messaging.operation.type = "create",
        messaging.destination.name = Empty,
        messaging.message.id = Empty,
    );
    if span.is_disabled() {
        return span;
    }
    if let [job] = jobs {
        span.record("job_id", job.id.as_str());
        span.record("messaging.message.id", job.id.as_str());
    }
    if let Some(first) = jobs.first()
        && jobs.iter().all(|job| job.job_type == first.job_type)
    {
        span.record("job_type", first.job_type.as_str());
        span.record("messaging.destination.name", first.job_type.as_str());
    }
    span
}

/// Gives each job the trace context of the current span (inside the enqueue span: a run
/// becomes its child), and records on that span the trace parent of a single job.
pub(crate) fn capture_all(jobs: &mut [JobInfo]) {
    for job in jobs.iter_mut() {
        super::parent::capture(job);
    }
    if let [job] = jobs
        && let Some(parent) = job.trace_parent()
    {
        tracing::Span::current().record("trace_parent", tracing::field::display(parent));
    }
}

/// Records on the current (enqueue) span how many jobs were stored.
pub(crate) fn record_inserted(inserted: &[bool]) {
    let count = inserted.iter().filter(|inserted| **inserted).count();
    tracing::Span::current().record("inserted", count);
}
