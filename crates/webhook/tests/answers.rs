//! How answers are judged: what is delivered, what is retried, what fails for good and
//! with which reason — against a real HTTP server on loopback.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::sync::Arc;
use std::time::Duration;

use bgtasks_abstractions::{JobAction, JobError, JobInfo};
use bgtasks_actions::{DeliveryError, JobActionNotifier};
use bgtasks_webhook::{
    RequestFailure, WEBHOOK_ACTION, WebhookDefinitionProvider, WebhookError, WebhookNotifier,
    WebhookOptions,
};
use serde_json::json;
use support::{Hook, Reply, context, failure};

fn notifier(options: WebhookOptions) -> Arc<WebhookNotifier> {
    Arc::new(WebhookNotifier::new(options).unwrap())
}

/// Posts a failure of job `job-7` with `parameters` through `notifier`.
async fn post(
    notifier: &Arc<WebhookNotifier>,
    parameters: &[(&str, String)],
) -> Result<u16, WebhookError> {
    let mut action = JobAction::new(WEBHOOK_ACTION);
    for (name, value) in parameters {
        action = action.with_parameter(*name, value.clone());
    }
    let job = JobInfo::new("job-7", "sync").with_max_try_count(5);
    let notification = failure(job, action, JobError::new("boom"), 1);
    let definition = WebhookDefinitionProvider::new(notifier.clone()).definition();
    notifier.post(&context(&notification, &definition)).await
}

/// The same through the notifier hook the delivery loop calls.
async fn notify(
    notifier: &Arc<WebhookNotifier>,
    parameters: &[(&str, String)],
) -> Result<(), DeliveryError> {
    let mut action = JobAction::new(WEBHOOK_ACTION);
    for (name, value) in parameters {
        action = action.with_parameter(*name, value.clone());
    }
    let job = JobInfo::new("job-7", "sync").with_max_try_count(5);
    let notification = failure(job, action, JobError::new("boom"), 1);
    let definition = WebhookDefinitionProvider::new(notifier.clone()).definition();
    notifier
        .notify_error(&context(&notification, &definition))
        .await
}

#[tokio::test]
async fn client_errors_fail_for_good_with_the_status_and_a_short_body() {
    // spec: R51
    let hook = Hook::start().await;
    hook.then(Reply::json(400, json!({"error": "invalid_payload"})))
        .then(Reply::Status(
            404,
            format!("no_service {}", "x".repeat(400)),
        ));
    let notifier = notifier(WebhookOptions::default());
    let url = hook.url("/services/hook");

    let bad = notify(&notifier, &[("url", url.clone())])
        .await
        .unwrap_err();
    assert!(bad.is_permanent());
    assert_eq!(
        bad.to_string(),
        format!(
            "job `job-7`: the json webhook at {} answered 400 Bad Request: {{\"error\":\"invalid_payload\"}}",
            hook.base
        )
    );
    let gone = notify(&notifier, &[("url", url)]).await.unwrap_err();
    assert!(gone.is_permanent());
    let text = gone.to_string();
    assert!(
        text.contains("answered 404 Not Found: no_service xxx"),
        "{text}"
    );
    assert!(text.ends_with("x…"), "the body is cut short: {text}");
    assert!(text.len() < 350, "{}", text.len());
}

#[tokio::test]
async fn server_errors_throttling_and_408_are_retried() {
    // spec: R51
    let hook = Hook::start().await;
    let notifier = notifier(WebhookOptions::default());
    for status in [500, 502, 503, 429, 408] {
        hook.then(Reply::Status(status, "later".into()));
        let error = notify(&notifier, &[("url", hook.url("/h"))])
            .await
            .unwrap_err();
        assert!(!error.is_permanent(), "{status}: {error}");
        assert!(
            error.to_string().contains(&format!("answered {status}")),
            "{error}"
        );
    }
    assert_eq!(
        notify(&notifier, &[("url", hook.url("/h"))]).await.ok(),
        Some(())
    );
    assert_eq!(hook.received().len(), 6);
}

#[tokio::test]
async fn robots_that_answer_200_are_judged_by_their_errcode() {
    // spec: R51
    let hook = Hook::start().await;
    let notifier = notifier(WebhookOptions::default());
    let cases = [
        (
            "wecom",
            json!({"errcode": 45009, "errmsg": "api freq out of limit"}),
            false,
        ),
        (
            "wecom",
            json!({"errcode": 93000, "errmsg": "invalid webhook url"}),
            true,
        ),
        (
            "dingtalk",
            json!({"errcode": 130101, "errmsg": "send too fast, exceed 20 times per minute"}),
            false,
        ),
        (
            "dingtalk",
            json!({"errcode": 410100, "errmsg": "send too fast"}),
            false,
        ),
        (
            "dingtalk",
            json!({"errcode": 310000, "errmsg": "keywords not in content"}),
            true,
        ),
        (
            "dingtalk",
            json!({"errcode": -1, "errmsg": "system busy"}),
            false,
        ),
    ];
    for (preset, answer, permanent) in cases {
        hook.then(Reply::json(200, answer.clone()));
        let error = post(
            &notifier,
            &[("url", hook.url("/robot")), ("preset", preset.into())],
        )
        .await
        .unwrap_err();
        assert_eq!(error.is_permanent(), permanent, "{answer}: {error}");
        assert!(
            matches!(&error, WebhookError::Refused { errcode, .. } if json!(errcode) == answer["errcode"]),
            "{error:?}"
        );
        assert_eq!(
            error.to_string(),
            format!(
                "job `job-7`: the {preset} webhook at {} refused the message: errcode {}: {}",
                hook.base,
                answer["errcode"],
                answer["errmsg"].as_str().unwrap()
            )
        );
    }
    hook.then(Reply::json(200, json!({"errcode": 0, "errmsg": "ok"})));
    assert_eq!(
        post(
            &notifier,
            &[("url", hook.url("/robot")), ("preset", "wecom".into())]
        )
        .await
        .unwrap(),
        200
    );
    hook.then(Reply::json(200, json!({"errcode": 45009})));
    assert_eq!(
        post(
            &notifier,
            &[("url", hook.url("/slack")), ("preset", "slack".into())]
        )
        .await
        .unwrap(),
        200,
        "Slack's 200 is a success whatever the body"
    );
}

#[tokio::test]
async fn a_receiver_that_never_answers_times_out_and_is_retried() {
    // spec: R51
    let hook = Hook::start().await;
    hook.otherwise(Reply::Hang);
    let notifier = notifier(WebhookOptions {
        timeout: Duration::from_millis(300),
        ..WebhookOptions::default()
    });
    let error = post(&notifier, &[("url", hook.url("/slow"))])
        .await
        .unwrap_err();
    assert!(
        matches!(
            &error,
            WebhookError::Request { failure: RequestFailure::Timeout(t), .. } if *t == Duration::from_millis(300)
        ),
        "{error:?}"
    );
    assert!(!error.is_permanent());
    assert!(
        error.to_string().starts_with(&format!(
            "job `job-7`: the json webhook at {} did not answer within 300ms",
            hook.base
        )),
        "{error}"
    );
    assert_eq!(hook.received().len(), 1, "the request arrived");
}

#[tokio::test]
async fn a_server_that_is_down_is_retried() {
    // spec: R51
    let closed = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap()
    };
    let notifier = notifier(WebhookOptions::default());
    let error = post(&notifier, &[("url", format!("http://{closed}/h"))])
        .await
        .unwrap_err();
    assert!(
        matches!(
            &error,
            WebhookError::Request {
                failure: RequestFailure::Connect,
                ..
            }
        ),
        "{error:?}"
    );
    assert!(!error.is_permanent());
    assert!(
        error.to_string().starts_with(&format!(
            "job `job-7`: the json webhook at http://{closed} could not be reached"
        )),
        "{error}"
    );
}

#[tokio::test]
async fn only_307_and_308_redirects_are_followed_and_only_a_few() {
    // spec: R51
    let hook = Hook::start().await;
    hook.then(Reply::Redirect(307, "/moved".into()));
    let notifier = notifier(WebhookOptions::default());
    assert_eq!(
        post(&notifier, &[("url", hook.url("/old"))]).await.unwrap(),
        200
    );
    let received = hook.received();
    assert_eq!(received.len(), 2);
    assert_eq!(received[1].uri.path(), "/moved");
    assert_eq!(received[1].method, "POST", "307 keeps the method");
    assert_eq!(received[1].body, received[0].body, "and the body");

    hook.then(Reply::Redirect(302, "/elsewhere".into()));
    let found = post(&notifier, &[("url", hook.url("/old"))])
        .await
        .unwrap_err();
    assert!(found.is_permanent());
    assert!(found.to_string().contains("answered 302 Found"), "{found}");
    assert_eq!(hook.received().len(), 3, "a 302 is not followed");

    hook.otherwise(Reply::Redirect(308, "/again".into()));
    let looping = post(&notifier, &[("url", hook.url("/loop"))])
        .await
        .unwrap_err();
    assert!(
        matches!(
            &looping,
            WebhookError::Request {
                failure: RequestFailure::Redirect,
                ..
            }
        ),
        "{looping:?}"
    );
    assert!(looping.is_permanent());
    assert_eq!(
        hook.received().len(),
        3 + 4,
        "the first request and 3 redirects"
    );
}

#[tokio::test]
async fn bad_parameters_are_refused_with_a_clear_error() {
    // spec: R32
    let notifier = notifier(WebhookOptions::default());
    let cases = [
        (
            vec![(
                "url",
                "ftp://files.example.com/drop?token=abcdefgh12345".to_owned(),
            )],
            "job `job-7`: invalid webhook `url`: `ftp://files.example.com`: the scheme `ftp` is not allowed: use http or https",
        ),
        (
            vec![("url", "hooks.example.com/services/abcdefgh12345".to_owned())],
            "job `job-7`: invalid webhook `url`: not an absolute http or https URL (relative URL without a base)",
        ),
        (
            vec![
                ("url", "https://hooks.example.com/x".to_owned()),
                ("preset", "teams".into()),
            ],
            "job `job-7`: unknown webhook preset `teams`: expected `json`, `slack`, `wecom` or `dingtalk`",
        ),
        (
            vec![
                ("url", "https://hooks.example.com/x".to_owned()),
                ("headers", r#"{"X-Key": ["abcdefgh12345"]}"#.into()),
            ],
            "job `job-7`: invalid `headers` parameter: the value of header `X-Key` must be text, a number or a boolean",
        ),
    ];
    for (parameters, expected) in cases {
        let error = notify(&notifier, &parameters).await.unwrap_err();
        assert!(error.is_permanent(), "{error}");
        assert_eq!(error.to_string(), expected);
        let mut action = JobAction::new(WEBHOOK_ACTION);
        for (name, value) in &parameters {
            action = action.with_parameter(*name, value.clone());
        }
        assert_eq!(
            notifier.check("job-7", &action).unwrap_err().to_string(),
            expected
        );
    }
    let missing = notifier
        .check("job-7", &JobAction::new(WEBHOOK_ACTION))
        .unwrap_err();
    assert_eq!(
        missing.to_string(),
        "job `job-7`: the webhook action has no `url` parameter"
    );
    assert!(
        notifier
            .check(
                "job-7",
                &JobAction::new(WEBHOOK_ACTION)
                    .with_parameter("url", "https://hooks.example.com/x")
            )
            .is_ok()
    );
}
