//! The webhook's secrets — the URL's path and query, the signing secret, header values —
//! never reach a log line or a recorded error, whatever goes wrong: a 404 that echoes the
//! URL, a robot that quotes its key, a server that is down or never answers, a bad URL,
//! a bad header.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::sync::Arc;
use std::time::Duration;

use bgtasks_abstractions::{JobAction, JobError, JobInfo};
use bgtasks_actions::{DeliveryOptions, JobActionDefinitionManager, NotificationDelivery};
use bgtasks_core::JobScheduler;
use bgtasks_core::store::{InMemoryJobStore, NotificationState};
use bgtasks_webhook::{WEBHOOK_ACTION, WebhookDefinitionProvider, WebhookNotifier, WebhookOptions};
use serde_json::json;
use support::{Hook, Logs, Reply, TestClock, notifications, planning_runtime, until};

const SECRETS: [&str; 11] = [
    "T0001ABCD",
    "B0002EFGH",
    "SuperSecretToken123",
    "QuerySecret456",
    "WecomKeySecret42",
    "DownSecretPath99",
    "DownToken77",
    "FtpSecretPath55",
    "HeaderSecret31",
    "SECDingSecret64",
    "DingToken88",
];

#[tokio::test(start_paused = true)]
async fn no_secret_reaches_the_logs_or_the_recorded_errors() {
    // spec: R51
    let logs = Logs::default();
    let _guard = logs.capture();

    let slack = Hook::start().await;
    slack.otherwise(Reply::Status(
        404,
        "no_service: /services/T0001ABCD/B0002EFGH/SuperSecretToken123?key=QuerySecret456".into(),
    ));
    let wecom = Hook::start().await;
    wecom.otherwise(Reply::json(
        200,
        json!({"errcode": 93000, "errmsg": "invalid webhook url, hint: key=WecomKeySecret42"}),
    ));
    let ding = Hook::start().await;
    ding.otherwise(Reply::json(
        200,
        json!({"errcode": 310000, "errmsg": "sign not match, access_token=DingToken88"}),
    ));
    let slow = Hook::start().await;
    slow.otherwise(Reply::Hang);
    let down = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap()
    };

    let webhook = |url: String| JobAction::new(WEBHOOK_ACTION).with_parameter("url", url);
    let actions = [
        (
            "echoing-404",
            webhook(
                slack.url("/services/T0001ABCD/B0002EFGH/SuperSecretToken123?key=QuerySecret456"),
            )
            .with_parameter("preset", "slack"),
        ),
        (
            "wecom-refusal",
            webhook(wecom.url("/cgi-bin/webhook/send?key=WecomKeySecret42"))
                .with_parameter("preset", "wecom"),
        ),
        (
            "dingtalk-refusal",
            webhook(ding.url("/robot/send?access_token=DingToken88"))
                .with_parameter("preset", "dingtalk")
                .with_parameter("secret", "SECDingSecret64"),
        ),
        (
            "never-answers",
            webhook(slow.url("/hooks/SuperSecretToken123"))
                .with_parameter("headers", json!({"Authorization": "Bearer HeaderSecret31"})),
        ),
        (
            "server-down",
            webhook(format!(
                "http://{down}/hooks/DownSecretPath99?token=DownToken77"
            )),
        ),
        (
            "not-http",
            webhook("ftp://127.0.0.1/FtpSecretPath55".into()),
        ),
        (
            "bad-header",
            webhook(slack.url("/services/T0001ABCD/B0002EFGH/SuperSecretToken123")).with_parameter(
                "headers",
                r#"{"Authorization": "Bearer HeaderSecret31\r\n"}"#,
            ),
        ),
    ];

    let notifier = Arc::new(
        WebhookNotifier::new(WebhookOptions {
            timeout: Duration::from_millis(500),
            ..WebhookOptions::default()
        })
        .unwrap(),
    );
    let definitions = Arc::new(
        JobActionDefinitionManager::new()
            .with_provider(&WebhookDefinitionProvider::new(notifier.clone())),
    );
    let store = Arc::new(InMemoryJobStore::new());
    let runtime = planning_runtime(store.clone(), definitions.clone()).await;
    for (id, action) in &actions {
        runtime
            .queue(
                JobInfo::once(*id, "fails")
                    .with_begin_time(runtime.clock().now())
                    .with_max_try_count(1)
                    .with_action(action.clone()),
            )
            .await
            .unwrap();
    }
    let stored = until(store.as_ref(), "every alert stored", |all| {
        all.len() == actions.len()
    })
    .await;
    runtime.shutdown().await.unwrap();

    tokio::time::resume();
    let now = stored.iter().map(|n| n.next_attempt_at).max().unwrap();
    let delivery = NotificationDelivery::new(
        store.clone(),
        definitions,
        DeliveryOptions {
            notifier_timeout: Duration::from_secs(10),
            ..DeliveryOptions::default()
        },
    )
    .with_clock(TestClock::at(now));
    assert_eq!(delivery.deliver_due("n", now).await.unwrap(), actions.len());

    let records = notifications(store.as_ref()).await;
    let outcome = |job: &str| {
        let record = records.iter().find(|r| r.job_id == job).unwrap();
        (record.state, record.last_error.clone().unwrap_or_default())
    };
    let (state, error) = outcome("echoing-404");
    assert_eq!(state, NotificationState::Failed);
    assert_eq!(
        error,
        format!(
            "job `echoing-404`: the slack webhook at {} answered 404 Not Found: no_service: /***/***/***/***?***",
            slack.base
        )
    );
    let (state, error) = outcome("wecom-refusal");
    assert_eq!(state, NotificationState::Failed);
    assert!(
        error.ends_with("errcode 93000: invalid webhook url, hint: ***"),
        "{error}"
    );
    let (state, error) = outcome("dingtalk-refusal");
    assert_eq!(state, NotificationState::Failed);
    assert!(
        error.ends_with("errcode 310000: sign not match, ***"),
        "{error}"
    );
    let (state, error) = outcome("never-answers");
    assert_eq!(state, NotificationState::Pending, "a timeout is retried");
    assert!(
        error.contains(&format!("at {} did not answer within 500ms", slow.base)),
        "{error}"
    );
    let (state, error) = outcome("server-down");
    assert_eq!(
        state,
        NotificationState::Pending,
        "a server that is down is retried"
    );
    assert!(
        error.contains(&format!("at http://{down} could not be reached")),
        "{error}"
    );
    let (state, error) = outcome("not-http");
    assert_eq!(state, NotificationState::Failed);
    assert_eq!(
        error,
        "job `not-http`: invalid webhook `url`: `ftp://127.0.0.1`: the scheme `ftp` is not allowed: use http or https"
    );
    let (state, error) = outcome("bad-header");
    assert_eq!(state, NotificationState::Failed);
    assert_eq!(
        error,
        "job `bad-header`: invalid `headers` parameter: the value of header `Authorization` holds characters a header cannot carry"
    );

    let text = logs.text();
    for record in &records {
        let error = record.last_error.as_deref().unwrap_or_default();
        assert!(text.contains(error), "the reason is logged: {error}");
    }
    assert!(
        text.contains(&slack.base),
        "the endpoint is logged by scheme and host"
    );
    let errors: Vec<String> = records
        .iter()
        .filter_map(|r| r.last_error.clone())
        .collect();
    for secret in SECRETS {
        assert!(
            !text.contains(secret),
            "`{secret}` leaked into the logs:\n{text}"
        );
        for error in &errors {
            assert!(!error.contains(secret), "`{secret}` leaked into `{error}`");
        }
    }
    assert!(!format!("{notifier:?}").contains("Secret"));

    // A composed request shows its address by scheme and host, its headers by name.
    let definition = WebhookDefinitionProvider::new(notifier.clone()).definition();
    for (_, action) in [&actions[0], &actions[2], &actions[3]] {
        let notification = support::failure(
            JobInfo::new("debug", "fails"),
            action.clone(),
            JobError::new("boom"),
            1,
        );
        let request = notifier
            .request(&support::context(&notification, &definition))
            .unwrap();
        let shown = format!("{request:?}");
        assert!(shown.contains("WebhookUrl(\"http://127.0.0.1:"), "{shown}");
        for secret in SECRETS {
            assert!(!shown.contains(secret), "`{secret}` leaked into `{shown}`");
        }
    }
}
