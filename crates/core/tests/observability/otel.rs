//! With the `opentelemetry` feature, a run's span is the OpenTelemetry child of the span
//! that queued its job: same trace id, parent = the `bgtasks.enqueue` span.

#![cfg(feature = "opentelemetry")]

use std::sync::Arc;
use std::time::Duration;

use bgtasks_abstractions::{Clock, JobError, JobInfo, job_fn};
use bgtasks_core::clock::TokioClock;
use bgtasks_core::{JobScheduler, Runtime};
use opentelemetry::trace::TracerProvider as _;
use opentelemetry_sdk::trace::{InMemorySpanExporter, SdkTracerProvider};
use tracing::Instrument;
use tracing_subscriber::layer::SubscriberExt;

#[tokio::test(start_paused = true)]
async fn a_run_continues_the_opentelemetry_trace_that_queued_it() {
    let exporter = InMemorySpanExporter::default();
    let provider = SdkTracerProvider::builder()
        .with_simple_exporter(exporter.clone())
        .build();
    let subscriber = tracing_subscriber::registry()
        .with(tracing_opentelemetry::layer().with_tracer(provider.tracer("bgtasks-test")));
    let _guard = tracing::subscriber::set_default(subscriber);

    let clock = Arc::new(TokioClock::new());
    let runtime = Runtime::builder()
        .clock(clock.clone())
        .configure(|o| o.shutdown_grace = Duration::from_secs(1))
        .runnable("report", job_fn(|_ctx| async { Ok::<(), JobError>(()) }))
        .build()
        .unwrap();
    let mut reports = runtime.subscribe();
    runtime.start().await.unwrap();
    let queued = runtime
        .queue(JobInfo::once("report-1", "report").with_begin_time(clock.now()))
        .instrument(tracing::info_span!("POST /reports"))
        .await
        .unwrap();
    assert!(queued);
    tokio::time::timeout(Duration::from_secs(60), reports.recv())
        .await
        .unwrap()
        .unwrap();
    runtime.shutdown().await.unwrap();
    provider.force_flush().unwrap();

    let spans = exporter.get_finished_spans().unwrap();
    let named = |name: &str| {
        spans
            .iter()
            .find(|span| span.name == name)
            .unwrap_or_else(|| {
                panic!(
                    "no {name} span among {:?}",
                    spans.iter().map(|s| &s.name).collect::<Vec<_>>()
                )
            })
    };
    let request = named("POST /reports");
    let enqueue = named("bgtasks.enqueue");
    let run = named("bgtasks.run");
    assert_eq!(enqueue.parent_span_id, request.span_context.span_id());
    assert_eq!(run.span_context.trace_id(), request.span_context.trace_id());
    assert_eq!(run.parent_span_id, enqueue.span_context.span_id());
    assert!(run.parent_span_is_remote);
    assert_eq!(run.span_kind, opentelemetry::trace::SpanKind::Consumer);
}
