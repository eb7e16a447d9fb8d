//! The trace context a job carries from its enqueue to its runs (W3C `traceparent`,
//! under [`TRACE_PARENT_ARG`]): captured when the job is queued, taken out of the
//! arguments runnables see, and continued by the run's span.

use bgtasks_abstractions::{JobArgs, JobInfo, JobKind, TRACE_PARENT_ARG, TraceParent};

/// Gives a job being queued the trace context of the current span, with the
/// `opentelemetry` feature (without it, only a trace parent set by
/// [`JobInfo::with_trace_parent`] travels). Only one-off jobs take it by themselves: a
/// recurring job outlives the request that declared it.
pub(crate) fn capture(job: &mut JobInfo) {
    if job.kind != JobKind::Once || job.args.get(TRACE_PARENT_ARG).is_some() {
        return;
    }
    if let Some(parent) = current() {
        job.args.insert(TRACE_PARENT_ARG, parent.to_string());
    }
}

/// The trace parent of the current span, if OpenTelemetry traces it.
#[cfg(feature = "opentelemetry")]
pub fn current() -> Option<TraceParent> {
    use opentelemetry::trace::TraceContextExt;
    use tracing_opentelemetry::OpenTelemetrySpanExt;

    let context = tracing::Span::current().context();
    let span = context.span();
    let span_context = span.span_context();
    if !span_context.is_valid() {
        return None;
    }
    TraceParent::from_parts(
        &format!("{:032x}", span_context.trace_id()),
        &format!("{:016x}", span_context.span_id()),
        span_context.trace_flags().to_u8(),
    )
    .ok()
}

/// The trace parent of the current span: none without the `opentelemetry` feature.
#[cfg(not(feature = "opentelemetry"))]
pub fn current() -> Option<TraceParent> {
    None
}

/// The arguments a runnable sees: the job's, without the trace parent.
pub(crate) fn runnable_args(args: &JobArgs) -> JobArgs {
    if args.get(TRACE_PARENT_ARG).is_none() {
        return args.clone();
    }
    let mut map = args.as_map().clone();
    map.remove(TRACE_PARENT_ARG);
    JobArgs::from_value(serde_json::Value::Object(map)).unwrap_or_default()
}

/// Makes `span` (just created, not yet entered) a child of `parent` in OpenTelemetry.
#[cfg(feature = "opentelemetry")]
pub(crate) fn continue_in(span: &tracing::Span, parent: &TraceParent) {
    use opentelemetry::trace::{
        SpanContext, SpanId, TraceContextExt, TraceFlags, TraceId, TraceState,
    };
    use tracing_opentelemetry::OpenTelemetrySpanExt;

    let (Ok(trace_id), Ok(span_id)) = (
        TraceId::from_hex(parent.trace_id()),
        SpanId::from_hex(parent.span_id()),
    ) else {
        return;
    };
    let remote = SpanContext::new(
        trace_id,
        span_id,
        TraceFlags::new(parent.flags()),
        true,
        TraceState::default(),
    );
    // Without an OpenTelemetry layer there is nothing to continue; the span still
    // records the trace parent as a field.
    let _ = span.set_parent(opentelemetry::Context::new().with_remote_span_context(remote));
}

/// Without the `opentelemetry` feature the run span records the trace parent as a field
/// only.
#[cfg(not(feature = "opentelemetry"))]
pub(crate) fn continue_in(_span: &tracing::Span, _parent: &TraceParent) {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn runnables_do_not_see_the_trace_parent() {
        let parent =
            TraceParent::parse("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01").unwrap();
        let job = JobInfo::once("j", "t")
            .with_arg("day", 12)
            .with_trace_parent(&parent);
        let args = runnable_args(&job.args);
        assert_eq!(args.len(), 1);
        assert_eq!(args.get("day"), Some(&serde_json::Value::from(12)));
        assert_eq!(runnable_args(&args), args);
    }

    #[test]
    fn a_recurring_job_does_not_take_the_trace_parent_by_itself() {
        let mut job = JobInfo::period("p", "t", "0 * * * * ?");
        capture(&mut job);
        assert!(job.args.is_empty());
    }
}
