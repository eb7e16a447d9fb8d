//! Rendering and composing the failure mail without SMTP (R33–R35).

use crate::DynMailTransport;
use std::sync::Arc;

use std::time::Duration;

use bgtasks_abstractions::{JobError, JobEventContext, JobEventData, JobInfo};
use bgtasks_actions::{
    DeliveryError, FailureStage, JobAction, JobActionExecuteContext, JobActionNotifier,
    Notification, NotificationKind, NotifyPolicy, RunSummary,
};
use chrono::{TimeZone, Utc};

use crate::transport::InMemoryMailTransport;
use crate::{
    JOB_EXECUTED_FAILED_ACTION, JobExecutedFailedDefinitionProvider, JobExecutedFailedNotifier,
    NotifyError,
};

fn transport() -> Arc<InMemoryMailTransport> {
    let from = "Jobs <jobs@example.com>".parse().unwrap();
    Arc::new(InMemoryMailTransport::new().with_from(from))
}

fn failed_run(job: JobInfo, message: &str) -> RunSummary {
    let run_time = Utc
        .with_ymd_and_hms(2031, 12, 24, 18, 30, 5)
        .single()
        .unwrap();
    let mut data = JobEventData::new(job.clone(), run_time, "node-a");
    data.error = Some(JobError::new(message.to_owned()));
    RunSummary::of(&JobEventContext::standalone(data), &job)
}

/// The failure notification of `run` for `action`.
fn notification(run: &RunSummary, action: &JobAction) -> Notification {
    Notification {
        id: Notification::identity(
            &run.job_id,
            7,
            0,
            "JobExecutedFailedNotifier",
            NotificationKind::Failure,
        ),
        kind: NotificationKind::Failure,
        attempt: 1,
        created_at: run.run_time,
        action: action.clone(),
        notifier: "JobExecutedFailedNotifier".into(),
        run: run.clone(),
    }
}

/// Composes the mail for `action` after `run` and returns its decoded HTML body.
fn html(notifier: &Arc<JobExecutedFailedNotifier>, run: &RunSummary, action: &JobAction) -> String {
    let definition = JobExecutedFailedDefinitionProvider::new(notifier.clone()).definition();
    let notification = notification(run, action);
    let ctx = JobActionExecuteContext::new(&notification, &definition);
    let message = notifier.compose(&ctx).unwrap();
    body_text(&message.formatted())
}

/// The body of a single-part message, undoing quoted-printable or base64.
fn body_text(raw: &[u8]) -> String {
    let text = String::from_utf8_lossy(raw).replace("\r\n", "\n");
    let (headers, body) = text.split_once("\n\n").unwrap();
    if headers.contains("Content-Transfer-Encoding: base64") {
        decode_base64(&body.replace('\n', ""))
    } else if headers.contains("Content-Transfer-Encoding: quoted-printable") {
        decode_qp(body)
    } else {
        body.to_owned()
    }
}

fn decode_base64(text: &str) -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut bytes = Vec::new();
    let (mut buffer, mut bits) = (0u32, 0u32);
    for c in text.bytes().filter(|c| *c != b'=') {
        let value = ALPHABET.iter().position(|a| *a == c).unwrap() as u32;
        buffer = (buffer << 6) | value;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            bytes.push((buffer >> bits) as u8);
            buffer &= (1 << bits) - 1;
        }
    }
    String::from_utf8(bytes).unwrap()
}

fn decode_qp(text: &str) -> String {
    let joined = text.replace("=\n", "");
    let mut bytes = Vec::new();
    let raw = joined.as_bytes();
    let mut i = 0;
    while i < raw.len() {
        if raw[i] == b'=' && i + 2 < raw.len() {
            let hex = std::str::from_utf8(&raw[i + 1..i + 3]).unwrap();
            bytes.push(u8::from_str_radix(hex, 16).unwrap());
            i += 3;
        } else {
            bytes.push(raw[i]);
            i += 1;
        }
    }
    String::from_utf8(bytes).unwrap()
}

fn action() -> JobAction {
    JobAction::new(JOB_EXECUTED_FAILED_ACTION).with_parameter("to", "ops@example.com")
}

#[test]
fn the_built_in_template_shows_every_field_in_english_by_default() {
    // spec: R34, R35
    let notifier = Arc::new(JobExecutedFailedNotifier::new(transport()));
    let job = JobInfo::new("job-1", "SyncOrders")
        .with_group("etl")
        .with_name("Orders");
    let html = html(
        &notifier,
        &failed_run(job, "warehouse unreachable"),
        &action(),
    );
    for expected in [
        "<h1>Background job exception</h1>",
        "<li><b>Job Group</b>: etl</li>",
        "<li><b>Job Name</b>: Orders</li>",
        "<li><b>Job Id</b>: job-1</li>",
        "<li><b>Job Type</b>: SyncOrders</li>",
        "<li><b>Trigger Time</b>: 2031-12-24 18:30:05</li>",
        "<h2>Error Message</h2>",
        "<pre>warehouse unreachable</pre>",
        "<footer>Copyright © 2031 bgtasks</footer>",
        "<title>From job execute exception</title>",
    ] {
        assert!(html.contains(expected), "{expected} missing from:\n{html}");
    }
    assert!(
        !html.contains("TenantName"),
        "no tenant, no tenant line:\n{html}"
    );
}

#[test]
fn zh_hans_labels_and_the_tenant_line() {
    // spec: R35
    let notifier = Arc::new(JobExecutedFailedNotifier::new(transport()));
    let job = JobInfo::new("job-2", "t").with_arg("TenantId", "acme-corp");
    let action = action().with_parameter("culture", "zh-Hans");
    let html = html(&notifier, &failed_run(job, "x"), &action);
    for expected in [
        "<html lang=\"zh-Hans\">",
        "<h1>后台作业异常</h1>",
        "<li><b>租户名称</b>: acme-corp</li>",
        "<b>作业分组</b>",
        "<b>作业名称</b>",
        "<b>作业标识</b>",
        "<b>作业类型</b>",
        "<b>触发时间</b>",
        "<h2>错误消息</h2>",
    ] {
        assert!(html.contains(expected), "{expected} missing from:\n{html}");
    }
    // An unknown culture falls back to en.
    let fr = html_for_culture(&notifier, "fr-FR");
    assert!(fr.contains("<h1>Background job exception</h1>"), "{fr}");
}

fn html_for_culture(notifier: &Arc<JobExecutedFailedNotifier>, culture: &str) -> String {
    let action = action().with_parameter("culture", culture);
    html(notifier, &failed_run(JobInfo::new("j", "t"), "x"), &action)
}

#[test]
fn values_are_html_escaped() {
    // spec: R35
    let notifier = Arc::new(JobExecutedFailedNotifier::new(transport()));
    let job = JobInfo::new("job-<b>", "t").with_name("a & b");
    let html = html(
        &notifier,
        &failed_run(job, "<script>alert('x')</script>"),
        &action(),
    );
    assert!(!html.contains("<script>"), "{html}");
    assert!(
        html.contains("&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt;"),
        "{html}"
    );
    assert!(html.contains("job-&lt;b&gt;"), "{html}");
    assert!(html.contains("a &amp; b"), "{html}");
}

#[test]
fn custom_templates_see_context_globals_and_custom_cultures() {
    // spec: R33
    let notifier = JobExecutedFailedNotifier::new(transport())
        .with_template(
            "short",
            "<p>{{labels.JobId}} {{model.id}} for {{team}} (#{{ticket.id}}) [{{culture}}] {{model.body}}</p>",
        )
        .unwrap()
        .with_localization("de", "JobId = Auftrags-ID\n")
        .unwrap();
    let notifier = Arc::new(notifier);
    let action = action()
        .with_parameter("template", "short")
        .with_parameter("culture", "de-AT")
        .with_parameter("body", "see runbook")
        .with_parameter(
            "context",
            r#"{"team": "billing", "ticket": {"id": 42}, "model": "ignored"}"#,
        );
    let html = html(
        &notifier,
        &failed_run(JobInfo::new("job-3", "t"), "x"),
        &action,
    );
    assert_eq!(
        html.trim(),
        "<p>Auftrags-ID job-3 for billing (#42) [de] see runbook</p>"
    );

    // Invalid context JSON is ignored; an unknown template falls back to the built-in one.
    let action = action_with(&[("template", "missing"), ("context", "{oops")]);
    let html = html_default(&notifier, &action);
    assert!(html.contains("<h1>Background job exception</h1>"), "{html}");
}

fn action_with(params: &[(&str, &str)]) -> JobAction {
    params
        .iter()
        .fold(action(), |a, (k, v)| a.with_parameter(*k, *v))
}

fn html_default(notifier: &Arc<JobExecutedFailedNotifier>, action: &JobAction) -> String {
    html(notifier, &failed_run(JobInfo::new("j", "t"), "x"), action)
}

#[test]
fn bad_template_sources_are_refused_with_their_name() {
    // spec: R34
    let err = JobExecutedFailedNotifier::new(transport())
        .with_template("broken", "{{#if}")
        .unwrap_err();
    assert!(
        err.to_string()
            .starts_with("the mail template `broken` is invalid"),
        "{err}"
    );
}

#[tokio::test]
async fn addresses_sender_subject_and_the_message_id() {
    // spec: R33
    // spec: R51
    let transport = transport();
    let notifier = Arc::new(JobExecutedFailedNotifier::new(transport.clone()));
    let definition = JobExecutedFailedDefinitionProvider::new(notifier.clone()).definition();
    let run = failed_run(JobInfo::new("job-9", "t"), "x");

    let action = JobAction::new(JOB_EXECUTED_FAILED_ACTION)
        .with_parameter("to", "a@example.com, b@example.com")
        .with_parameter("subject", "Nightly failed")
        .with_parameter("from", "Robot <robot@example.com>");
    let delivered = notification(&run, &action);
    let ctx = JobActionExecuteContext::new(&delivered, &definition);
    assert_eq!(notifier.send_failure_mail(&ctx).await.unwrap(), 2);
    notifier.notify_error(&ctx).await.unwrap();
    let sent = transport.sent();
    let text = sent[0].text();
    assert!(text.contains("From: Robot <robot@example.com>"), "{text}");
    assert!(text.contains("Subject: Nightly failed"), "{text}");
    assert!(text.contains("X-Bgtasks-Job-Id: job-9"), "{text}");
    let message_id = delivered.message_id("example.com");
    assert!(
        text.contains(&format!("Message-ID: {message_id}")),
        "{text}"
    );
    assert_eq!(
        sent[1].text().lines().find(|l| l.starts_with("Message-ID")),
        text.lines().find(|l| l.starts_with("Message-ID")),
        "a repeat is the same message"
    );

    let bad =
        JobAction::new(JOB_EXECUTED_FAILED_ACTION).with_parameter("to", "a@example.com, nope");
    let delivered = notification(&run, &bad);
    let ctx = JobActionExecuteContext::new(&delivered, &definition);
    let err = notifier.send_failure_mail(&ctx).await.unwrap_err();
    assert!(matches!(&err, NotifyError::InvalidAddress { address, .. } if address == "nope"));
    assert!(err.to_string().contains("job `job-9`"), "{err}");
    assert!(err.is_permanent(), "a bad address is not retried");
    assert!(matches!(
        notifier.notify_error(&ctx).await,
        Err(DeliveryError::Permanent(_))
    ));

    // No sender anywhere.
    let bare = Arc::new(JobExecutedFailedNotifier::new(Arc::new(
        InMemoryMailTransport::new(),
    )));
    let plain = notification(&run, &action_with(&[]));
    let ctx = JobActionExecuteContext::new(&plain, &definition);
    let err = bare.send_failure_mail(&ctx).await.unwrap_err();
    assert!(matches!(err, NotifyError::NoSender { .. }), "{err}");
    assert_eq!(transport.sent().len(), 2);
}

#[test]
fn the_policy_and_the_interval_come_from_the_action_or_the_defaults() {
    // spec: R33
    let notifier = JobExecutedFailedNotifier::new(transport());
    assert!(notifier.handles(NotificationKind::Failure));
    assert!(
        !notifier.handles(NotificationKind::Completion),
        "no row for a no-op hook"
    );
    let throttle = notifier.throttle(&action_with(&[
        ("notify", "first-and-final"),
        ("min_interval_secs", "600"),
    ]));
    assert_eq!(throttle.policy, NotifyPolicy::FirstAndFinal);
    assert_eq!(throttle.min_interval, Duration::from_secs(600));
    let middle = FailureStage::default();
    assert_eq!(throttle.decide(middle), None);
    let last = FailureStage {
        first: false,
        last: true,
    };
    assert_eq!(
        throttle.decide(last),
        Some(None),
        "the final failure always mails"
    );
    // Bad values fall back to the defaults.
    let fallback = notifier.throttle(&action_with(&[
        ("notify", "sometimes"),
        ("min_interval_secs", "ten"),
    ]));
    assert_eq!(fallback, bgtasks_actions::Throttle::NONE);
}

#[test]
fn transport_is_object_safe() {
    // spec: R36
    fn _obj_safe(_: Arc<dyn DynMailTransport>) {}
    let transport: Arc<dyn DynMailTransport> = transport();
    assert_eq!(transport.endpoint(), "memory://");
    assert!(transport.default_from().is_some());
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<JobExecutedFailedNotifier>();
}
