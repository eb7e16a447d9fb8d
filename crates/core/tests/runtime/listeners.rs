//! Listeners around runs: the event data (R8), isolation (R10), opt-outs (R11) and the
//! default listeners (R12).

use std::sync::{Arc, Mutex};
use std::time::Duration;

use bgtasks_abstractions::{
    BoxError, JobError, JobEvent, JobEventContext, JobInfo, JobOptOuts, JobRunnableContext,
    JobStatus, job_fn,
};
use bgtasks_core::JobScheduler;
use bgtasks_core::store::{JobDefinitions, JobStore, RunLogs};

use crate::common::{builder, counting, failing_then_ok, next_report, start};

#[derive(Default)]
struct Recorder {
    before: Mutex<Vec<String>>,
    after: Mutex<Vec<String>>,
}

impl JobEvent for Recorder {
    async fn on_before_executed(&self, ctx: &JobEventContext) -> Result<(), BoxError> {
        let d = ctx.data();
        assert!(d.error.is_none());
        self.before.lock().unwrap().push(d.key().to_owned());
        Ok(())
    }

    async fn on_after_executed(&self, ctx: &JobEventContext) -> Result<(), BoxError> {
        let d = ctx.data();
        let saved = ctx.saved_job().expect("the executed event ran first");
        let store = ctx
            .service::<Arc<dyn JobStore>>()
            .expect("the store is a service");
        assert!(store.find(d.key()).await?.is_some());
        assert!(
            ctx.service::<Arc<dyn JobScheduler>>().is_some(),
            "the scheduler is a service"
        );
        self.after.lock().unwrap().push(format!(
            "{}|{}|{}|{}|{}|{}|{}|{:?}|{}|{}|{}|{}",
            d.key(),
            d.job_type(),
            d.group(),
            d.name(),
            d.args().get_str("k").unwrap_or_default(),
            d.status(),
            d.triggered_count(),
            d.error.as_ref().map(|e| e.to_string()),
            d.result.clone().unwrap_or_default(),
            d.execution_duration_ms(),
            d.next_run_time.is_some(),
            saved.trigger_count,
        ));
        Ok(())
    }
}

#[tokio::test(start_paused = true)]
async fn listeners_get_the_event_data_of_each_run() {
    // spec: R8, R9
    let recorder = Arc::new(Recorder::default());
    let slow = job_fn(|ctx: JobRunnableContext| async move {
        tokio::time::sleep(Duration::from_millis(250)).await;
        ctx.set_result("done");
        Ok::<(), JobError>(())
    });
    let (b, _) = builder();
    let (runtime, mut reports) = start(b.listener(recorder.clone()).runnable("t", slow)).await;
    let job = JobInfo::persistent("p", "t", 10, 2)
        .with_group("g")
        .with_name("n")
        .with_arg("k", "v");
    runtime.queue(job).await.unwrap();
    next_report(&mut reports, Duration::from_secs(1))
        .await
        .unwrap();
    next_report(&mut reports, Duration::from_secs(11))
        .await
        .unwrap();
    assert_eq!(*recorder.before.lock().unwrap(), vec!["p", "p"]);
    assert_eq!(
        *recorder.after.lock().unwrap(),
        vec![
            "p|t|g|n|v|Queuing|0|None|done|250|true|1",
            "p|t|g|n|v|Running|1|None|done|250|false|2"
        ]
    );
    runtime.shutdown().await.unwrap();
}

struct Panics;
impl JobEvent for Panics {
    async fn on_before_executed(&self, _: &JobEventContext) -> Result<(), BoxError> {
        panic!("before hook bug")
    }
    async fn on_after_executed(&self, _: &JobEventContext) -> Result<(), BoxError> {
        Err("after hook error".into())
    }
}

#[tokio::test(start_paused = true)]
async fn a_failing_listener_affects_nothing_else() {
    // spec: R10
    let recorder = Arc::new(Recorder::default());
    let (b, store) = builder();
    let (runtime, mut reports) = start(
        b.listener(Arc::new(Panics))
            .listener(recorder.clone())
            .runnable("t", counting(Arc::default())),
    )
    .await;
    runtime.queue(JobInfo::once("j", "t")).await.unwrap();
    let report = next_report(&mut reports, Duration::from_secs(1))
        .await
        .unwrap();
    assert!(report.succeeded());
    assert_eq!(
        recorder.after.lock().unwrap().len(),
        1,
        "the other listener ran"
    );
    assert_eq!(
        store.find("j").await.unwrap().unwrap().job.status,
        JobStatus::Completed
    );
    runtime.shutdown().await.unwrap();
}

#[tokio::test(start_paused = true)]
async fn job_types_opt_out_of_status_handling_and_logging() {
    // spec: R11
    let quiet = job_fn(|_ctx: JobRunnableContext| async move { Ok::<(), JobError>(()) })
        .with_opt_outs(JobOptOuts {
            skip_status_handling: true,
            skip_logging: true,
            skip_actions: true,
        });
    let (b, store) = builder();
    let (runtime, mut reports) = start(
        b.runnable("quiet", quiet)
            .runnable("loud", counting(Arc::default())),
    )
    .await;
    runtime
        .queue(JobInfo::persistent("q", "quiet", 5, 0))
        .await
        .unwrap();
    runtime.queue(JobInfo::once("l", "loud")).await.unwrap();
    let mut seen = vec![];
    for _ in 0..3 {
        seen.push(
            next_report(&mut reports, Duration::from_secs(6))
                .await
                .unwrap(),
        );
    }
    assert!(
        seen.iter().filter(|r| r.job_id == "q").count() >= 2,
        "it keeps running on its schedule"
    );
    let quiet = store.find("q").await.unwrap().unwrap().job;
    assert_eq!(
        (quiet.trigger_count, quiet.status),
        (0, JobStatus::Queuing),
        "no status handling"
    );
    assert!(
        store.list_logs("q", 10).await.unwrap().is_empty(),
        "no run logs"
    );
    assert_eq!(
        store.list_logs("l", 10).await.unwrap().len(),
        1,
        "other jobs are logged (R12)"
    );
    runtime.shutdown().await.unwrap();
}

#[tokio::test(start_paused = true)]
async fn the_log_event_records_failures_by_default() {
    // spec: R12
    let (b, store) = builder();
    let (runtime, mut reports) =
        start(b.runnable("t", failing_then_ok(1, JobError::new("first try fails")))).await;
    runtime
        .queue(JobInfo::once("j", "t").with_interval(1))
        .await
        .unwrap();
    next_report(&mut reports, Duration::from_secs(1))
        .await
        .unwrap();
    next_report(&mut reports, Duration::from_secs(3))
        .await
        .unwrap();
    let logs = store.list_logs("j", 10).await.unwrap();
    assert_eq!(logs.len(), 2);
    assert_eq!(logs[1].exception.as_deref(), Some("first try fails"));
    assert_eq!(logs[0].exception, None);
    runtime.shutdown().await.unwrap();
}
