//! A runtime on the in-memory store and a mix of jobs that feeds every panel of the
//! dashboard: successes, a failure of each failure type retried once and then abandoned,
//! a time-out, a cron job and an interval job, a run rescued from a node that died, a
//! listener that fails, and a failure notification delivered.

use std::sync::Arc;
use std::time::Duration;

use bgtasks_abstractions::{BoxError, JobAction, JobError, JobEvent, JobEventContext, JobInfo};
use bgtasks_abstractions::{JobRunnable, job_fn};
use bgtasks_actions::{
    DeliveryError, DeliveryOptions, JobActionDefinition, JobActionDefinitionManager,
    JobActionExecuteContext, JobActionNotifier, JobActionType, JobActionsExt, NotificationKind,
};
use bgtasks_core::retry::FixedIntervalRetryPolicy;
use bgtasks_core::store::{ClaimRequest, InMemoryJobStore, JobRuns};
use bgtasks_core::{JobScheduler, Runtime};

/// The node's name (the `node` label of `bgtasks_jobs_running`).
pub const NODE: &str = "dashboard-node";

/// How many runs are abandoned: one per failure type, and the time-out.
pub const ABANDONED: u32 = 5;

/// Fails before every run of type `audited`: counted in `bgtasks_listener_errors_total`.
struct AuditLogIsFull;

impl JobEvent for AuditLogIsFull {
    async fn on_before_executed(&self, context: &JobEventContext) -> Result<(), BoxError> {
        if context.data().job_type() == "audited" {
            return Err("the audit log is full".into());
        }
        Ok(())
    }
}

/// Takes every failure notification and succeeds.
struct Pager;

impl JobActionNotifier for Pager {
    fn name(&self) -> &str {
        "pager"
    }

    fn handles(&self, kind: NotificationKind) -> bool {
        kind == NotificationKind::Failure
    }

    async fn notify_error(&self, _ctx: &JobActionExecuteContext<'_>) -> Result<(), DeliveryError> {
        Ok(())
    }
}

fn failing(error: JobError) -> impl JobRunnable {
    job_fn(move |_ctx| {
        let error = error.clone();
        async move { Err::<(), JobError>(error) }
    })
}

fn ok() -> impl JobRunnable {
    job_fn(|ctx| async move {
        // Long enough for the duration histogram to have something above its first bucket.
        tokio::time::sleep(Duration::from_millis(20)).await;
        ctx.set_result("done");
        Ok::<(), JobError>(())
    })
}

/// The runtime (not started) on `store`.
pub fn runtime(store: Arc<InMemoryJobStore>) -> Runtime {
    let mut definitions = JobActionDefinitionManager::new();
    definitions.add(
        JobActionDefinition::new("page", JobActionType::Failed).with_notifier(Arc::new(Pager)),
    );
    let delivery = DeliveryOptions {
        poll_interval: Duration::from_millis(100),
        ..DeliveryOptions::default()
    };
    Runtime::builder()
        .store(store)
        .node_name(NODE)
        .workers(4)
        .retry_policy(Arc::new(FixedIntervalRetryPolicy::new(
            Duration::from_millis(200),
        )))
        .listener(Arc::new(AuditLogIsFull))
        .configure(|o| {
            o.rescue_interval = Duration::from_millis(250);
            o.metrics.store_gauge_interval = Duration::from_secs(1);
            o.shutdown_grace = Duration::from_secs(1);
            o.interrupt_grace = Duration::from_secs(1);
        })
        .runnable("ok", ok())
        .runnable("audited", ok())
        .runnable("victim", ok())
        .runnable("tick", ok())
        .runnable("beat", ok())
        .runnable("biz", failing(JobError::business("invoice 7 is void")))
        .runnable("app", failing(JobError::http(404, "no customer 12")))
        .runnable(
            "net",
            failing(JobError::http(503, "partner.example is down")),
        )
        .runnable("sys", failing(JobError::new("disk full")))
        .runnable(
            "slow",
            job_fn(|ctx| async move {
                tokio::select! {
                    _ = tokio::time::sleep(Duration::from_secs(30)) => {}
                    _ = ctx.cancellation().cancelled() => {}
                }
                Ok::<(), JobError>(())
            }),
        )
        .job_actions_with(Arc::new(definitions), delivery)
        .expect("valid delivery options")
        .build()
        .expect("the test runtime builds")
}

/// Queues the mix into the (not yet started) runtime, and lets a node that then dies
/// claim the victim's run with a one-second lease, so that this node rescues it.
pub async fn queue(runtime: &Runtime, store: &InMemoryJobStore) {
    let mut jobs: Vec<JobInfo> = (1..=6)
        .map(|n| JobInfo::once(format!("ok-{n}"), "ok"))
        .collect();
    jobs.push(JobInfo::once("audited-1", "audited"));
    for kind in ["biz", "app", "net", "sys"] {
        let mut job = JobInfo::once(format!("{kind}-1"), kind).with_max_try_count(2);
        if kind == "biz" {
            job = job.with_action(JobAction::new("page"));
        }
        jobs.push(job);
    }
    jobs.push(
        JobInfo::once("slow-1", "slow")
            .with_max_try_count(1)
            .with_time_limit(Duration::from_millis(300)),
    );
    jobs.push(JobInfo::period("tick", "tick", "* * * * * ?"));
    jobs.push(JobInfo::persistent("beat", "beat", 1, 3));
    jobs.push(JobInfo::once("victim-1", "victim"));
    for job in jobs {
        let id = job.id.clone();
        assert!(runtime.queue(job).await.unwrap(), "job {id} was queued");
    }
    let victim_types = vec!["victim".to_owned()];
    let claimed = store
        .claim(&ClaimRequest {
            node: "dead-node",
            now: chrono::Utc::now(),
            limit: 1,
            lease: Duration::from_secs(1),
            job_types: Some(&victim_types),
        })
        .await
        .unwrap();
    assert_eq!(claimed.len(), 1, "the dead node claimed the victim's run");
}

/// PromQL conditions that hold once Prometheus has scraped the whole mix: every
/// abandonment, the retries, a cron and an interval run scheduled, the rescue, the
/// listener error and the delivered notification.
pub fn finished() -> Vec<String> {
    vec![
        format!("sum(bgtasks_jobs_abandoned_total) >= {ABANDONED}"),
        "sum(bgtasks_job_retries_total) >= 4".to_owned(),
        r#"sum(bgtasks_jobs_enqueued_total{source="cron"}) >= 1"#.to_owned(),
        r#"sum(bgtasks_jobs_enqueued_total{source="interval"}) >= 1"#.to_owned(),
        r#"sum(bgtasks_job_runs_total{outcome="timeout"}) >= 1"#.to_owned(),
        r#"sum(bgtasks_job_runs_total{type="victim"}) >= 1"#.to_owned(),
        "sum(bgtasks_lease_rescues_total) >= 1".to_owned(),
        "sum(bgtasks_listener_errors_total) >= 1".to_owned(),
        r#"sum(bgtasks_notifications_total{result="delivered"}) >= 1"#.to_owned(),
    ]
}
