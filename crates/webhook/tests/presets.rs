//! What each preset posts — body and headers — as a real HTTP server receives it.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::sync::Arc;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use bgtasks_abstractions::{JobAction, JobError, JobInfo};
use bgtasks_webhook::{
    WEBHOOK_ACTION, WebhookDefinitionProvider, WebhookNotifier, WebhookOptions, WebhookPayload,
};
use hmac::{Hmac, KeyInit, Mac};
use serde_json::{Value, json};
use sha2::Sha256;
use support::{Hook, Reply, TestClock, context, failure, run_time};

fn notifier() -> Arc<WebhookNotifier> {
    Arc::new(WebhookNotifier::new(WebhookOptions::default()).unwrap())
}

fn nightly() -> JobInfo {
    JobInfo::new("nightly-report", "report")
        .with_group("reports")
        .with_name("Nightly report")
        .with_max_try_count(3)
}

fn action(url: String) -> JobAction {
    JobAction::new(WEBHOOK_ACTION).with_parameter("url", url)
}

/// Posts the failure of `job` (503 "the warehouse is down", `tries` tries) with `action`
/// through `notifier`; returns what the server received.
async fn post(
    hook: &Hook,
    notifier: &Arc<WebhookNotifier>,
    job: JobInfo,
    action: JobAction,
    tries: i32,
) -> support::Received {
    let notification = failure(
        job,
        action,
        JobError::http(503, "the warehouse is down"),
        tries,
    );
    let definition = WebhookDefinitionProvider::new(notifier.clone()).definition();
    let status = notifier
        .post(&context(&notification, &definition))
        .await
        .unwrap();
    assert_eq!(status, 200);
    let received = hook.received();
    assert_eq!(received.len(), 1, "one request");
    received.into_iter().next().unwrap()
}

const ID: &str = "nightly-report/42/0/JobExecutedWebhookNotifier/failure";

#[tokio::test]
async fn json_posts_the_failure_and_the_rendered_text() {
    // spec: R51
    let hook = Hook::start().await;
    let got = post(
        &hook,
        &notifier(),
        nightly(),
        action(hook.url("/alerts?channel=ops")),
        3,
    )
    .await;
    assert_eq!(got.method, "POST");
    assert_eq!(got.uri.to_string(), "/alerts?channel=ops");
    assert_eq!(
        got.header("content-type"),
        Some("application/json; charset=utf-8")
    );
    assert_eq!(got.header("idempotency-key"), Some(ID));
    assert_eq!(got.header("x-bgtasks-notification-id"), Some(ID));
    assert_eq!(got.header("x-bgtasks-job-id"), Some("nightly-report"));
    assert!(
        got.header("user-agent")
            .unwrap()
            .starts_with("bgtasks-webhook/")
    );
    assert_eq!(
        got.header("x-bgtasks-signature"),
        None,
        "no secret, no signature"
    );

    let payload: WebhookPayload = serde_json::from_value(got.json()).unwrap();
    let text = payload.text.clone();
    assert_eq!(
        payload,
        WebhookPayload {
            notification_id: ID.into(),
            kind: "failure".into(),
            attempt: 1,
            job_id: "nightly-report".into(),
            job_group: "reports".into(),
            job_name: "Nightly report".into(),
            job_type: "report".into(),
            tenant_id: None,
            run_time: run_time(),
            node: "worker-1".into(),
            duration_ms: 0,
            failure_type: Some("Network".into()),
            message: Some("the warehouse is down".into()),
            error_code: None,
            http_status: Some(503),
            try_count: 3,
            max_try_count: 3,
            first_failure: false,
            final_failure: true,
            culture: "en".into(),
            title: "Background job exception".into(),
            text,
        }
    );
    assert_eq!(
        payload.text,
        "### Background job exception\n\
         - **Job Group**: reports\n\
         - **Job Name**: Nightly report\n\
         - **Job Id**: nightly-report\n\
         - **Job Type**: report\n\
         - **Trigger Time**: 2026-03-09 07:05:01 UTC\n\
         - **Failure Type**: Network\n\
         - **Tries**: 3 / 3\n\
         - **Node**: worker-1\n\
         \n\
         **Error Message**\n\
         \n\
         > the warehouse is down\n\
         \n\
         **The job was abandoned after this failure and will not be retried.**"
    );
}

#[tokio::test]
async fn slack_posts_text_in_mrkdwn_with_entities_escaped() {
    // spec: R35
    let hook = Hook::start().await;
    let notifier = notifier();
    let notification = failure(
        nightly().with_name("<!channel> & co"),
        action(hook.url("/services/T1/B2/XYZ")).with_parameter("preset", "slack"),
        JobError::new("line one: a < b\nline two"),
        1,
    );
    let definition = WebhookDefinitionProvider::new(notifier.clone()).definition();
    notifier
        .post(&context(&notification, &definition))
        .await
        .unwrap();
    let body = hook.received()[0].json();
    let keys: Vec<&String> = body.as_object().unwrap().keys().collect();
    assert_eq!(keys, ["text"], "Slack takes `text` only: {body}");
    let text = body["text"].as_str().unwrap();
    assert!(text.starts_with("*Background job exception*\n"), "{text}");
    assert!(
        text.contains("*Job Name*: &lt;!channel&gt; &amp; co\n"),
        "{text}"
    );
    assert!(text.contains("*Tries*: 1 / 3\n"), "{text}");
    assert!(
        text.ends_with("*Error Message*\n> line one: a &lt; b\n> line two"),
        "{text}"
    );
    assert!(!text.contains("abandoned"), "not the final failure: {text}");
}

#[tokio::test]
async fn wecom_posts_markdown_content_in_the_culture_asked_for() {
    // spec: R35
    let hook = Hook::start().await;
    hook.then(Reply::json(200, json!({"errcode": 0, "errmsg": "ok"})));
    let got = post(
        &hook,
        &notifier(),
        nightly(),
        action(hook.url("/cgi-bin/webhook/send?key=693a91f6-7xxx"))
            .with_parameter("preset", "wecom")
            .with_parameter("culture", "zh-CN"),
        1,
    )
    .await;
    let body = got.json();
    assert_eq!(body["msgtype"], "markdown");
    let content = body["markdown"]["content"].as_str().unwrap();
    assert_eq!(body["markdown"].as_object().unwrap().len(), 1, "{body}");
    assert!(content.starts_with("### 后台作业异常\n"), "{content}");
    for line in [
        "- **作业名称**: Nightly report",
        "- **失败类型**: 网络",
        "- **尝试次数**: 1 / 3",
        "- **执行节点**: worker-1",
        "**错误消息**",
        "> the warehouse is down",
    ] {
        assert!(content.contains(line), "{line} in {content}");
    }
    assert_eq!(got.header("idempotency-key"), Some(ID));
}

#[tokio::test]
async fn dingtalk_posts_markdown_signed_as_its_robot_docs_describe() {
    // spec: R51
    let hook = Hook::start().await;
    hook.then(Reply::json(200, json!({"errcode": 0, "errmsg": "ok"})));
    let clock = TestClock::at(run_time());
    let notifier = Arc::new(
        WebhookNotifier::new(WebhookOptions::default())
            .unwrap()
            .with_clock(clock.clone()),
    );
    let secret = "SECb1e7c2d1f00dfeedbeef0123456789abcdef0123456789abcdef0123456789";
    let got = post(
        &hook,
        &notifier,
        nightly(),
        action(hook.url("/robot/send?access_token=0a1b2c3d4e5f"))
            .with_parameter("preset", "dingtalk")
            .with_parameter("secret", secret)
            .with_parameter("title", "告警 nightly")
            .with_parameter("culture", "zh-Hans"),
        1,
    )
    .await;
    assert_eq!(got.uri.path(), "/robot/send");
    assert_eq!(got.query("access_token").as_deref(), Some("0a1b2c3d4e5f"));
    let timestamp = got.query("timestamp").unwrap();
    assert_eq!(timestamp, run_time().timestamp_millis().to_string());
    // Recompute: Base64(HMAC-SHA256(key = secret, "{timestamp}\n{secret}")).
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(format!("{timestamp}\n{secret}").as_bytes());
    let expected = STANDARD.encode(mac.finalize().into_bytes());
    assert_eq!(got.query("sign"), Some(expected.clone()));
    assert!(
        got.uri.query().unwrap().contains("sign=") && !got.uri.query().unwrap().contains('+'),
        "the sign is URL-encoded: {}",
        got.uri
    );

    let body = got.json();
    assert_eq!(body["msgtype"], "markdown");
    assert_eq!(body["markdown"]["title"], "告警 nightly");
    let text = body["markdown"]["text"].as_str().unwrap();
    assert!(text.starts_with("### 告警 nightly\n"), "{text}");
    assert!(text.contains("- **作业分组**: reports"), "{text}");
}

#[tokio::test]
async fn json_with_a_secret_signs_the_body_and_extra_headers_are_sent() {
    // spec: R51
    let hook = Hook::start().await;
    let clock = TestClock::at(run_time());
    let notifier = Arc::new(
        WebhookNotifier::new(WebhookOptions::default())
            .unwrap()
            .with_clock(clock),
    );
    let got = post(
        &hook,
        &notifier,
        nightly(),
        action(hook.url("/hooks/bgtasks"))
            .with_parameter("secret", "s3cret-value")
            .with_parameter(
                "headers",
                r#"{"Authorization": "Bearer t0ken-value", "X-Team": "billing", "Idempotency-Key": "mine"}"#,
            ),
        2,
    )
    .await;
    assert_eq!(got.header("authorization"), Some("Bearer t0ken-value"));
    assert_eq!(got.header("x-team"), Some("billing"));
    assert_eq!(
        got.header("idempotency-key"),
        Some(ID),
        "the notification's identity wins"
    );
    let timestamp = got.header("x-bgtasks-timestamp").unwrap();
    assert_eq!(timestamp, run_time().timestamp_millis().to_string());
    let mut mac = Hmac::<Sha256>::new_from_slice(b"s3cret-value").unwrap();
    mac.update(format!("{timestamp}.").as_bytes());
    mac.update(&got.body);
    let hex: String = mac
        .finalize()
        .into_bytes()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    assert_eq!(
        got.header("x-bgtasks-signature"),
        Some(format!("sha256={hex}").as_str())
    );
    assert_eq!(got.json()["firstFailure"], Value::Bool(false));
}

#[tokio::test]
async fn a_registered_template_and_context_shape_the_text() {
    // spec: R34
    let hook = Hook::start().await;
    let notifier = Arc::new(
        WebhookNotifier::new(WebhookOptions::default())
            .unwrap()
            .with_template(
                "short",
                "{{team}}: {{model.name}} failed on {{run.node}} ({{run.failure_type}}): {{model.message}}",
            )
            .unwrap(),
    );
    let got = post(
        &hook,
        &notifier,
        nightly().with_arg("TenantId", "acme"),
        action(hook.url("/t"))
            .with_parameter("preset", "slack")
            .with_parameter("template", "short")
            .with_parameter("context", r#"{"team": "Billing"}"#),
        1,
    )
    .await;
    assert_eq!(
        got.json(),
        json!({"text": "Billing: Nightly report failed on worker-1 (Network): the warehouse is down"})
    );
}
