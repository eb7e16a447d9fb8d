//! Scenario 8: everything around a run misbehaves — a listener that fails, one that
//! panics, one that hangs; failure e-mails through an SMTP server that never answers,
//! one that refuses the session and a port nobody listens on; a notifier that panics —
//! while a real SMTP server stands beside them. Runs and the job state they save are
//! exactly as without them, the log event still writes every run, the real server still
//! gets its mail, each hung listener costs at most the listener timeout, and the outbox
//! records each broken alert as it should (R51): the 554 failed for good with its reason,
//! the others kept for a retry with theirs.
//!
//! This one runs in the suite's process (a runtime on the scenario's store), in real time.

use bgtasks::exception_handling::DynMailTransport;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bgtasks::actions::{
    DeliveryError, DeliveryOptions, JobAction, JobActionDefinition, JobActionDefinitionManager,
    JobActionExecuteContext, JobActionNotifier, JobActionType, JobActionsExt,
};
use bgtasks::exception_handling::{
    JOB_EXECUTED_FAILED_ACTION, JobExecutedFailedDefinitionProvider, JobExecutedFailedNotifier,
};
use bgtasks::store::{NotificationQuery, NotificationRecord, NotificationState};
use bgtasks::{
    BackgroundTasks, BoxError, FixedIntervalRetryPolicy, JobError, JobEvent, JobEventContext,
    JobInfo, JobPriority, JobRunnableContext, JobScheduler, JobStatus, RunReport, job_fn,
};
use chrono::Utc;
use tokio::sync::broadcast;

use super::logs_of;
use crate::harness::{Context, Res, StoreKind, Suite, ensure};
use crate::logs;
use crate::mail::{BrokenSmtp, smtp_transport};
use crate::postgres::free_port;

const LISTENER_TIMEOUT: Duration = Duration::from_secs(2);
const RETRY_AFTER: Duration = Duration::from_secs(60);

struct FailingListener;

impl JobEvent for FailingListener {
    fn name(&self) -> &str {
        "FailingListener"
    }
    async fn on_before_executed(&self, _: &JobEventContext) -> Result<(), BoxError> {
        Err("the audit service is down (before)".into())
    }
    async fn on_after_executed(&self, _: &JobEventContext) -> Result<(), BoxError> {
        Err("the audit service is down (after)".into())
    }
}

struct PanickingListener;

impl JobEvent for PanickingListener {
    fn name(&self) -> &str {
        "PanickingListener"
    }
    async fn on_before_executed(&self, _: &JobEventContext) -> Result<(), BoxError> {
        panic!("deliberate panic in a listener (before)")
    }
    async fn on_after_executed(&self, _: &JobEventContext) -> Result<(), BoxError> {
        panic!("deliberate panic in a listener (after)")
    }
}

struct HangingListener;

impl JobEvent for HangingListener {
    fn name(&self) -> &str {
        "HangingListener"
    }
    async fn on_before_executed(&self, _: &JobEventContext) -> Result<(), BoxError> {
        std::future::pending::<()>().await;
        Ok(())
    }
    async fn on_after_executed(&self, _: &JobEventContext) -> Result<(), BoxError> {
        std::future::pending::<()>().await;
        Ok(())
    }
}

struct PanickingNotifier;

impl JobActionNotifier for PanickingNotifier {
    fn name(&self) -> &str {
        "PanickingNotifier"
    }
    async fn notify_error(&self, _: &JobActionExecuteContext<'_>) -> Result<(), DeliveryError> {
        panic!("deliberate panic in a notifier")
    }
}

const PANIC_ACTION: &str = "PanicOnFailure";
/// The failure mail through a server that never answers, one that refuses (554), and a
/// port nobody listens on.
const HANGING_MAIL: &str = "MailHangingServer";
const REFUSING_MAIL: &str = "MailRefusingServer";
const NOBODY_MAIL: &str = "MailClosedPort";
const NOTIFIER_TIMEOUT: Duration = Duration::from_secs(5);

pub(crate) async fn run(suite: &Suite, kind: StoreKind) -> Res<String> {
    let env = suite.env(kind, "listeners").await?;
    let smtp = suite.smtp().await?;
    let hanging_smtp = BrokenSmtp::hang().await?;
    let refusing_smtp = BrokenSmtp::refuse().await?;
    let nobody = free_port()?;

    // The real server's mail, a notifier that panics, and the failure mail through each
    // broken server, as actions of their own.
    let real: Arc<dyn DynMailTransport> = Arc::new(smtp.transport()?);
    let mut definitions = JobActionDefinitionManager::new().with_provider(
        &JobExecutedFailedDefinitionProvider::new(Arc::new(JobExecutedFailedNotifier::new(real))),
    );
    definitions.add(
        JobActionDefinition::new(PANIC_ACTION, JobActionType::Failed)
            .with_notifier(Arc::new(PanickingNotifier)),
    );
    for (name, port, timeout) in [
        (HANGING_MAIL, hanging_smtp.port, Duration::from_secs(60)),
        (REFUSING_MAIL, refusing_smtp.port, Duration::from_secs(10)),
        (NOBODY_MAIL, nobody, Duration::from_secs(10)),
    ] {
        let transport = Arc::new(smtp_transport("127.0.0.1", port, timeout)?);
        definitions.add(
            JobActionDefinition::new(name, JobActionType::Failed)
                .with_notifier(Arc::new(JobExecutedFailedNotifier::new(transport))),
        );
    }
    let delivery = DeliveryOptions {
        notifier_timeout: NOTIFIER_TIMEOUT,
        lease: NOTIFIER_TIMEOUT * 2,
        ..DeliveryOptions::default()
    };

    let runtime = BackgroundTasks::builder()
        .node_name(format!("suite-{}", kind.name()))
        .workers(4)
        .configure(|o| {
            o.listener_timeout = LISTENER_TIMEOUT;
            o.lease_duration = Duration::from_secs(10);
            o.lease_renewal_interval = Duration::from_secs(1);
            o.rescue_interval = Duration::from_secs(1);
            o.shutdown_grace = Duration::from_secs(5);
        })
        .store(env.store.jobs.clone())
        .lock_provider(env.store.locks.clone())
        .retry_policy(Arc::new(FixedIntervalRetryPolicy::new(RETRY_AFTER)))
        .listener(Arc::new(FailingListener))
        .listener(Arc::new(PanickingListener))
        .listener(Arc::new(HangingListener))
        .job_actions_with(Arc::new(definitions), delivery)
        .ctx("the delivery options")?
        .runnable(
            "ok",
            job_fn(|ctx: JobRunnableContext| async move {
                ctx.set_result("done");
                Ok::<(), JobError>(())
            }),
        )
        .runnable(
            "fails",
            job_fn(|_ctx: JobRunnableContext| async move {
                Err::<(), _>(JobError::http(503, "upstream down"))
            }),
        )
        .build()
        .ctx("build the runtime")?;
    let mut reports = runtime.subscribe();
    runtime.start().await.ctx("start the runtime")?;

    let tag = uuid::Uuid::new_v4().simple().to_string()[..8].to_owned();
    let ok: Vec<String> = (0..4).map(|i| format!("lst-ok-{i}-{tag}")).collect();
    let failing: Vec<String> = (0..2).map(|i| format!("lst-fail-{i}-{tag}")).collect();
    let mail = |name: &str| JobAction::new(name).with_parameter("to", "ops@example.com");
    let mut jobs: Vec<JobInfo> = ok
        .iter()
        .map(|id| JobInfo::once(id.clone(), "ok"))
        .collect();
    jobs.extend(failing.iter().map(|id| {
        JobInfo::once(id.clone(), "fails")
            .with_action(mail(JOB_EXECUTED_FAILED_ACTION))
            .with_action(JobAction::new(PANIC_ACTION))
            .with_action(mail(HANGING_MAIL))
            .with_action(mail(REFUSING_MAIL))
            .with_action(mail(NOBODY_MAIL))
    }));
    let started = Instant::now();
    runtime.queue_many(jobs).await.ctx("queue the jobs")?;
    let got = collect(&mut reports, ok.len() + failing.len()).await?;
    let all_in = started.elapsed();

    // Each run waited for hung listeners twice (before and after): at most twice the
    // timeout, plus slack for a loaded machine.
    let bound = 2.0 * LISTENER_TIMEOUT.as_secs_f64() + 4.0;
    let mut slowest = 0.0f64;
    for (report, at) in &got {
        let took = (*at - report.run_time).num_milliseconds() as f64 / 1000.0;
        slowest = slowest.max(took);
        ensure!(
            took <= bound,
            "run of {} took {took:.1} s with hung listeners (bound {bound:.0} s)",
            report.job_id
        );
    }
    for id in &ok {
        let job = env
            .store
            .jobs
            .find(id)
            .await
            .ctx("find")?
            .ok_or("job lost")?
            .job;
        ensure!(
            (
                job.status,
                job.trigger_count,
                job.try_count,
                job.result.as_deref()
            ) == (JobStatus::Completed, 1, 0, Some("done")),
            "job {id}: saved state {:?}",
            (job.status, job.trigger_count, job.try_count, job.result)
        );
        let logs = logs_of(&env, id, 1).await?;
        ensure!(logs.len() == 1, "job {id}: {} run logs", logs.len());
    }
    for id in &failing {
        let job = env
            .store
            .jobs
            .find(id)
            .await
            .ctx("find")?
            .ok_or("job lost")?
            .job;
        let retry_in = job
            .next_run_time
            .zip(job.last_run_time)
            .map(|(next, last)| (next - last).num_seconds());
        ensure!(
            (
                job.status,
                job.trigger_count,
                job.try_count,
                job.priority,
                job.result.as_deref()
            ) == (
                JobStatus::FailedRetry,
                1,
                1,
                JobPriority::Normal,
                Some("upstream down")
            ) && retry_in.is_some_and(|s| (58..=62).contains(&s)),
            "job {id}: saved state {:?}, retry in {retry_in:?} s",
            (
                job.status,
                job.trigger_count,
                job.try_count,
                job.priority,
                job.result
            )
        );
        let logs = logs_of(&env, id, 1).await?;
        ensure!(logs.len() == 1, "job {id}: {} run logs", logs.len());
        let mails = smtp.settled_count(id, 1, Duration::from_secs(10)).await;
        ensure!(
            mails == 1,
            "job {id}: the real SMTP server got {mails} failure mails, expected 1"
        );
        check_alerts(&env, id).await?;
    }
    // The node still works.
    let after = format!("lst-after-{tag}");
    runtime
        .queue(JobInfo::once(after.clone(), "ok"))
        .await
        .ctx("queue one more job")?;
    collect(&mut reports, 1).await?;
    let job = env
        .store
        .jobs
        .find(&after)
        .await
        .ctx("find")?
        .ok_or("job lost")?
        .job;
    ensure!(
        job.status == JobStatus::Completed,
        "the job queued afterwards is {}",
        job.status
    );
    runtime.shutdown().await.ctx("shut down")?;

    let log = logs::text();
    let count = |needle: &str| log.lines().filter(|l| l.contains(needle)).count();
    let (failed, panicked, timed_out) = (
        count("job event listener failed"),
        count("job event listener panicked"),
        count("job event listener timed out"),
    );
    let runs = ok.len() + failing.len() + 1;
    ensure!(
        failed >= 2 * runs && panicked >= 2 * runs && timed_out >= 2 * runs,
        "expected every run's listener failures logged: {failed} failed, {panicked} panicked, {timed_out} timed out"
    );
    let notifier_panics = count("deliberate panic in a notifier");
    ensure!(
        notifier_panics >= failing.len(),
        "the panicking notifier was not called and isolated ({notifier_panics} logged)"
    );
    env.raw.close().await;
    Ok(format!(
        "{runs} runs with 3 broken listeners (fail, panic, hang), 3 broken SMTP servers (silent, 554, closed port) \
         and a panicking notifier: saved states and run logs exact, {} failure mails delivered by the real server, \
         {timed_out} hung hooks cut at {:.0} s, slowest run {slowest:.1} s (bound {bound:.0} s), all in {:.1} s",
        failing.len(),
        LISTENER_TIMEOUT.as_secs_f64(),
        all_in.as_secs_f64()
    ))
}

/// The job's five alerts, once each was tried: the real one delivered, the 554 failed for
/// good with its reason, the panic, the silent server and the closed port kept for a
/// retry with theirs.
async fn check_alerts(env: &crate::harness::Env, id: &str) -> Res<()> {
    let query = NotificationQuery {
        job_id: Some(id.to_owned()),
        limit: 10,
        ..NotificationQuery::default()
    };
    let deadline = Instant::now() + NOTIFIER_TIMEOUT * 3;
    let alerts = loop {
        let alerts = env
            .store
            .jobs
            .list_notifications(&query)
            .await
            .ctx("list the job's notifications")?
            .items;
        let tried = alerts.len() == 5
            && alerts
                .iter()
                .all(|n| n.attempts >= 1 && n.leased_to.is_none());
        if tried || Instant::now() >= deadline {
            break alerts;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let of = |action: &str| -> Res<&NotificationRecord> {
        alerts
            .iter()
            .find(|n| n.action == action)
            .ok_or_else(|| format!("job {id}: no `{action}` alert in {alerts:?}"))
    };
    let error = |n: &NotificationRecord| n.last_error.clone().unwrap_or_default();
    let real = of(JOB_EXECUTED_FAILED_ACTION)?;
    ensure!(
        real.state == NotificationState::Delivered,
        "job {id}: the real mail is {:?}",
        real.state
    );
    let refused = of(REFUSING_MAIL)?;
    ensure!(
        refused.state == NotificationState::Failed && error(refused).contains("554"),
        "job {id}: the refused mail is {:?}: {}",
        refused.state,
        error(refused)
    );
    for (action, says) in [
        (PANIC_ACTION, "deliberate panic in a notifier".to_owned()),
        (HANGING_MAIL, format!("{NOTIFIER_TIMEOUT:?}")),
        (NOBODY_MAIL, "smtp://127.0.0.1".to_owned()),
    ] {
        let alert = of(action)?;
        ensure!(
            alert.state == NotificationState::Pending && error(alert).contains(&says),
            "job {id}: `{action}` is {:?} after {} attempts: {}",
            alert.state,
            alert.attempts,
            error(alert)
        );
    }
    Ok(())
}

/// The next `count` run reports, with when each arrived.
async fn collect(
    reports: &mut broadcast::Receiver<RunReport>,
    count: usize,
) -> Res<Vec<(RunReport, chrono::DateTime<Utc>)>> {
    let mut got = Vec::new();
    while got.len() < count {
        let report = tokio::time::timeout(Duration::from_secs(30), reports.recv())
            .await
            .map_err(|_| format!("only {} of {count} runs reported within 30 s", got.len()))?
            .ctx("run reports")?;
        got.push((report, Utc::now()));
    }
    Ok(got)
}
