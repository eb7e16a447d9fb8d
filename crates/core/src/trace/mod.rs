//! Tracing: a `bgtasks.run` span per run and a `bgtasks.enqueue` span per `queue` call,
//! events for rescues, lost leases, quarantined and abandoned jobs (each with an `event`
//! field naming it), and the W3C trace context carried from an enqueue to the runs it
//! queued, on any node.
//!
//! The run span's fields: `job_id`, `job_type`, `job_kind`, `attempt`, `node`,
//! `trace_parent` (the `traceparent` given at enqueue), and, once the run ended,
//! `outcome` and `failure_type`; beside them the OpenTelemetry semantic-convention names
//! (`otel.kind`, `messaging.system`, `messaging.operation.type`,
//! `messaging.destination.name`, `messaging.message.id`, `error.type`,
//! `otel.status_code`). With the `opentelemetry` feature the run span's OpenTelemetry
//! parent is the span that queued the job, so the trace goes on across processes.

mod enqueue;
mod parent;
mod run;

pub(crate) use self::enqueue::{capture_all, enqueue_span, record_inserted};
pub use self::parent::current;
pub(crate) use self::parent::runnable_args;
pub(crate) use self::run::{RunTrace, run_completed};
