//! The failed-job e-mail through a real SMTP server (aiosmtpd), planned from a run's
//! outcome and delivered as the delivery loop delivers it (R32–R35, R51).

// Test code: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used)]

mod support;

use std::sync::Arc;
use std::time::Duration;

use bgtasks_abstractions::{
    DefaultJobExceptionTypeFinder, JobError, JobEventContext, JobEventData, JobExceptionType,
    JobInfo, JobStatus, RunLease, Services,
};
use bgtasks_actions::{
    DeliveryError, DeliveryOptions, JobAction, JobActionDefinitionManager, JobActionPlanner,
    Notification, NotificationDelivery,
};
use bgtasks_core::events::NotificationPlanner;
use bgtasks_core::store::{InMemoryJobStore, rules};
use bgtasks_exception_handling::{
    JOB_EXECUTED_FAILED_ACTION, JobExecutedFailedDefinitionProvider, JobExecutedFailedNotifier,
    MailTransport,
};
use chrono::{DateTime, TimeZone, Utc};
use support::{Logs, SmtpServer, TEST_FROM, unique_job_id};

/// The planner and the delivery wired to a notifier: what a node does with a run's
/// outcome and then with the notifications stored with it.
struct Host {
    planner: JobActionPlanner,
    delivery: NotificationDelivery,
}

impl Host {
    /// Plans the notifications of a run and delivers each at once, in order; returns
    /// how each delivery went.
    async fn after_run(
        &self,
        context: &JobEventContext,
        outcome: &JobInfo,
    ) -> Vec<Result<(), DeliveryError>> {
        let mut results = Vec::new();
        for planned in self.planner.plan(context, outcome) {
            let notification = Notification::from_record(&rules::stored(&planned)).unwrap();
            results.push(
                self.delivery
                    .deliver_notification("node-a", &notification)
                    .await,
            );
        }
        results
    }
}

fn host_with(notifier: JobExecutedFailedNotifier, accepted: Option<JobExceptionType>) -> Host {
    let mut provider = JobExecutedFailedDefinitionProvider::new(Arc::new(notifier));
    if let Some(types) = accepted {
        provider = provider.with_accepted_failure_types(types);
    }
    let definitions = Arc::new(JobActionDefinitionManager::new().with_provider(&provider));
    let options = DeliveryOptions {
        notifier_timeout: Duration::from_secs(10),
        ..DeliveryOptions::default()
    };
    Host {
        planner: JobActionPlanner::new(definitions.clone()),
        delivery: NotificationDelivery::new(
            Arc::new(InMemoryJobStore::new()),
            definitions,
            options,
        ),
    }
}

fn host(transport: Arc<dyn bgtasks_exception_handling::DynMailTransport>) -> Host {
    host_with(JobExecutedFailedNotifier::new(transport), None)
}

fn run_time() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2029, 2, 3, 4, 5, 6).single().unwrap()
}

/// The context the runtime builds after a run of `job` that failed with `error` (or
/// succeeded), claimed with lease `token`.
fn after_run(job: &JobInfo, error: Option<JobError>, token: i64) -> JobEventContext {
    let mut data = JobEventData::new(job.clone(), run_time(), "node-a");
    data.error = error;
    data.lease = Some(RunLease {
        job_id: job.id.clone(),
        token,
        node: "node-a".into(),
        expires_at: run_time(),
        due_at: run_time(),
    });
    JobEventContext::new(
        data,
        Services::new(),
        Arc::new(DefaultJobExceptionTypeFinder::default()),
    )
}

/// The job as its first failure left it.
fn failed_once(job: &JobInfo) -> JobInfo {
    let mut outcome = job.clone();
    outcome.try_count = 1;
    outcome.status = JobStatus::FailedRetry;
    outcome
}

/// Runs `job` (with its actions) once, failing with `error`, through `h`.
async fn fail(h: &Host, job: &JobInfo, error: JobError) -> Vec<Result<(), DeliveryError>> {
    h.after_run(&after_run(job, Some(error), 1), &failed_once(job))
        .await
}

#[derive(Debug, thiserror::Error)]
#[error("could not reach the warehouse")]
struct Outer(#[source] Inner);

#[derive(Debug, thiserror::Error)]
#[error("connection refused: <script>alert('pwned')</script>")]
struct Inner;

#[tokio::test]
async fn a_failed_run_mails_every_recipient_an_english_html_report() {
    // spec: R33, R34, R35
    let server = SmtpServer::start();
    let h = host(Arc::new(server.transport()));
    let id = unique_job_id("recipients");
    let job = JobInfo::new(id.clone(), "WarehouseSync")
        .with_group("etl")
        .with_name("Nightly sync")
        .with_action(
            JobAction::new(JOB_EXECUTED_FAILED_ACTION)
                .with_parameter(
                    "to",
                    "ops@example.com, Dev Team <dev@example.com>,oncall@example.com",
                )
                .with_parameter("subject", format!("Job {id} failed")),
        );

    let error = JobError::wrap("sync failed", Outer(Inner));
    let results = fail(&h, &job, error).await;
    assert_eq!(results.len(), 1);
    assert!(results[0].is_ok(), "{results:?}");

    let mails = server.wait_for(&id, 1).await;
    let mail = &mails[0];
    assert_eq!(mail.mail_from, "jobs@bgtasks.test");
    assert_eq!(
        mail.rcpt_to,
        vec!["ops@example.com", "dev@example.com", "oncall@example.com"]
    );
    assert_eq!(mail.to.len(), 3);
    assert_eq!(
        mail.from,
        (
            Some("jobs@bgtasks.test".to_owned()),
            Some("Jobs".to_owned())
        )
    );
    assert_eq!(
        mail.subject.as_deref(),
        Some(format!("Job {id} failed").as_str())
    );
    assert_eq!(mail.content_type.as_deref(), Some("text/html"));
    let html = &mail.html;
    assert!(html.starts_with("<!DOCTYPE html>"), "{html}");
    for expected in [
        "<h1>Background job exception</h1>".to_owned(),
        "<li><b>Job Group</b>: etl</li>".to_owned(),
        "<li><b>Job Name</b>: Nightly sync</li>".to_owned(),
        format!("<li><b>Job Id</b>: {id}</li>"),
        "<li><b>Job Type</b>: WarehouseSync</li>".to_owned(),
        "<li><b>Trigger Time</b>: 2029-02-03 04:05:06</li>".to_owned(),
        "<h2>Error Message</h2>".to_owned(),
        // The innermost cause, escaped.
        "<pre>connection refused: &lt;script&gt;alert(&#x27;pwned&#x27;)&lt;/script&gt;</pre>"
            .to_owned(),
        "<footer>Copyright © 2029 bgtasks</footer>".to_owned(),
    ] {
        assert!(html.contains(&expected), "{expected} missing from:\n{html}");
    }
    assert!(!html.contains("<script>"), "{html}");
    assert!(
        !html.contains("sync failed"),
        "only the innermost message: {html}"
    );
    assert!(
        !html.contains("TenantName"),
        "no tenant line without a tenant: {html}"
    );
}

#[tokio::test]
async fn zh_hans_labels_and_the_tenant_line() {
    // spec: R34, R35
    let server = SmtpServer::start();
    let h = host(Arc::new(server.transport()));
    let id = unique_job_id("zh-hans");
    let job = JobInfo::new(id.clone(), "Billing")
        .with_arg("TenantId", "tenant-acme")
        .with_action(
            JobAction::new(JOB_EXECUTED_FAILED_ACTION)
                .with_parameter("to", "ops@example.com")
                .with_parameter("culture", "zh-Hans")
                .with_parameter("footer", "版权所有 示例公司"),
        );
    fail(&h, &job, JobError::new("余额不足")).await;

    let mails = server.wait_for(&id, 1).await;
    let html = &mails[0].html;
    assert_eq!(
        mails[0].subject.as_deref(),
        Some("From job execute exception")
    );
    for expected in [
        "<h1>后台作业异常</h1>".to_owned(),
        "<li><b>租户名称</b>: tenant-acme</li>".to_owned(),
        "<li><b>作业分组</b>: Default</li>".to_owned(),
        format!("<li><b>作业名称</b>: {id}</li>"),
        format!("<li><b>作业标识</b>: {id}</li>"),
        "<li><b>作业类型</b>: Billing</li>".to_owned(),
        "<li><b>触发时间</b>: 2029-02-03 04:05:06</li>".to_owned(),
        "<h2>错误消息</h2>".to_owned(),
        "<pre>余额不足</pre>".to_owned(),
        "<footer>版权所有 示例公司</footer>".to_owned(),
    ] {
        assert!(html.contains(&expected), "{expected} missing from:\n{html}");
    }
}

#[tokio::test]
async fn context_values_reach_a_custom_template() {
    // spec: R33
    let server = SmtpServer::start();
    let notifier = JobExecutedFailedNotifier::new(Arc::new(server.transport()))
        .with_template(
            "ops-card",
            "<div class=\"card\"><h3>{{model.title}}</h3><p>{{model.id}} — {{team.name}} on call: {{team.oncall}}</p><a href=\"{{runbook}}\">runbook</a></div>",
        )
        .unwrap();
    let h = host_with(notifier, None);
    let id = unique_job_id("custom-template");
    let job = JobInfo::new(id.clone(), "t").with_action(
        JobAction::new(JOB_EXECUTED_FAILED_ACTION)
            .with_parameter("to", "ops@example.com")
            .with_parameter("template", "ops-card")
            .with_parameter(
                "context",
                r#"{"team": {"name": "Billing", "oncall": "Ana"}, "runbook": "https://runbooks.example.com/billing"}"#,
            ),
    );
    fail(&h, &job, JobError::new("x")).await;

    let mails = server.wait_for(&id, 1).await;
    assert_eq!(
        mails[0].html.trim(),
        format!(
            "<div class=\"card\"><h3>From job execute exception</h3><p>{id} — Billing on call: Ana</p>\
             <a href=\"https://runbooks.example.com/billing\">runbook</a></div>"
        )
    );
}

#[tokio::test]
async fn succeeded_runs_excluded_failure_types_and_missing_recipients_send_nothing() {
    // spec: R32
    let logs = Logs::default();
    let _guard = logs.capture();
    let server = SmtpServer::start();
    let transport: Arc<dyn bgtasks_exception_handling::DynMailTransport> =
        Arc::new(server.transport());
    let mail_to_ops =
        || JobAction::new(JOB_EXECUTED_FAILED_ACTION).with_parameter("to", "ops@example.com");

    // A succeeded run: the mail notifier handles failures only, so nothing is planned.
    let h = host(transport.clone());
    let ok_id = unique_job_id("succeeded");
    let ok = JobInfo::new(ok_id.clone(), "t").with_action(mail_to_ops());
    assert!(h.after_run(&after_run(&ok, None, 1), &ok).await.is_empty());

    // A business failure, but the action accepts only network failures.
    let network_only = host_with(
        JobExecutedFailedNotifier::new(transport.clone()),
        Some(JobExceptionType::NETWORK),
    );
    let biz_id = unique_job_id("excluded-type");
    let biz = JobInfo::new(biz_id.clone(), "t").with_action(mail_to_ops());
    assert!(
        fail(
            &network_only,
            &biz,
            JobError::business("invoice already paid")
        )
        .await
        .is_empty()
    );

    // No `to` at all: logged and skipped.
    let no_to_id = unique_job_id("missing-to");
    let no_to = JobInfo::new(no_to_id.clone(), "t")
        .with_action(JobAction::new(JOB_EXECUTED_FAILED_ACTION).with_parameter("subject", "hi"));
    assert!(fail(&h, &no_to, JobError::new("x")).await.is_empty());

    // A network failure of the network-only action does mail: the server works.
    let net_id = unique_job_id("accepted-type");
    let net = JobInfo::new(net_id.clone(), "t").with_action(mail_to_ops());
    let results = fail(&network_only, &net, JobError::http(503, "upstream down")).await;
    assert!(results.len() == 1 && results[0].is_ok(), "{results:?}");
    server.wait_for(&net_id, 1).await;

    for id in [&ok_id, &biz_id, &no_to_id] {
        server.assert_count_settles(id, 0).await;
    }
    let text = logs.text();
    let line = text
        .lines()
        .find(|l| l.contains(no_to_id.as_str()) && l.contains("missing required parameters"))
        .unwrap_or_else(|| panic!("no log names the missing parameter:\n{text}"));
    assert!(line.contains("missing required parameters: to"), "{line}");
}

#[tokio::test]
async fn policies_send_the_expected_number_of_mails() {
    // spec: R33
    let server = SmtpServer::start();
    let h = host(Arc::new(server.transport()));
    const FAILURES: i32 = 5;
    for (policy, expected) in [("every", 5), ("first-and-final", 2), ("final", 1)] {
        let id = unique_job_id(policy);
        let mut job = JobInfo::new(id.clone(), "t")
            .with_max_try_count(FAILURES)
            .with_action(
                JobAction::new(JOB_EXECUTED_FAILED_ACTION)
                    .with_parameter("to", "ops@example.com")
                    .with_parameter("notify", policy),
            );
        for attempt in 1..=FAILURES {
            let mut saved = job.clone();
            saved.try_count = attempt;
            if attempt == FAILURES {
                saved.status = JobStatus::Stopped;
                saved.is_abandoned = true;
            } else {
                saved.status = JobStatus::FailedRetry;
            }
            let ctx = after_run(
                &job,
                Some(JobError::new(format!("try {attempt}"))),
                i64::from(attempt),
            );
            for result in h.after_run(&ctx, &saved).await {
                result.unwrap();
            }
            job = saved;
        }
        let mails = server.wait_for(&id, expected).await;
        server.assert_count_settles(&id, expected).await;
        let messages: Vec<bool> = mails
            .iter()
            .map(|m| m.html.contains("<pre>try 5</pre>"))
            .collect();
        assert!(
            messages.contains(&true),
            "{policy}: the final failure mails"
        );
    }
}

#[tokio::test]
async fn a_down_or_silent_server_is_a_transient_failure_bounded_by_the_timeout() {
    // spec: R33, R36, R51
    // Nothing listens on this port: refused at once.
    let closed = support::free_port();
    // This one accepts connections but never says a word.
    let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let silent_port = silent.local_addr().unwrap().port();

    for port in [closed, silent_port] {
        let transport = bgtasks_exception_handling::SmtpMailTransport::builder("127.0.0.1")
            .port(port)
            .tls(bgtasks_exception_handling::SmtpTls::None)
            .from(TEST_FROM.parse().unwrap())
            .timeout(Duration::from_secs(1))
            .build()
            .unwrap();
        let h = host(Arc::new(transport));
        let id = unique_job_id("down");
        let job = JobInfo::new(id.clone(), "t").with_action(
            JobAction::new(JOB_EXECUTED_FAILED_ACTION).with_parameter("to", "ops@example.com"),
        );
        let started = std::time::Instant::now();
        let results = fail(&h, &job, JobError::new("x")).await;
        let elapsed = started.elapsed();
        assert!(elapsed < Duration::from_secs(3), "took {elapsed:?}");
        let [Err(error)] = results.as_slice() else {
            panic!("one failed delivery: {results:?}");
        };
        assert!(
            !error.is_permanent(),
            "a server that is down is retried: {error}"
        );
        let text = error.to_string();
        assert!(text.contains(&format!("smtp://127.0.0.1:{port}")), "{text}");
        assert!(text.contains(&format!("job `{id}`")), "{text}");
    }
    drop(silent);
}

#[tokio::test]
async fn the_file_transport_writes_eml_files() {
    // spec: R36
    let dir = tempfile::tempdir().unwrap();
    let transport = bgtasks_exception_handling::FileMailTransport::new(dir.path())
        .with_from(TEST_FROM.parse().unwrap());
    assert!(transport.endpoint().starts_with("file://"));
    let h = host(Arc::new(transport));
    let id = unique_job_id("file");
    let job = JobInfo::new(id.clone(), "t").with_action(
        JobAction::new(JOB_EXECUTED_FAILED_ACTION)
            .with_parameter("to", "a@example.com, b@example.com"),
    );
    for result in fail(&h, &job, JobError::new("disk full")).await {
        result.unwrap();
    }
    let files: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(files.len(), 1);
    assert_eq!(files[0].extension().and_then(|e| e.to_str()), Some("eml"));
    let mail = support::read_eml(&files[0]);
    assert_eq!(mail.job_id.as_deref(), Some(id.as_str()));
    assert_eq!(mail.to, vec!["a@example.com", "b@example.com"]);
    assert!(mail.html.contains("<pre>disk full</pre>"), "{}", mail.html);
}
