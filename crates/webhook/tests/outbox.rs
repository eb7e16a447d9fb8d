//! The webhook alert on the action seam: planned with the failed run's outcome, stored in
//! the outbox, and delivered by the delivery loop — retried after a 500, skipped when
//! the action has no `url` — against a real HTTP server on loopback.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::sync::Arc;
use std::time::Duration;

use bgtasks_abstractions::{JobAction, JobError, JobInfo, JobStatus, job_fn};
use bgtasks_actions::{
    DeliveryOptions, JobActionDefinitionManager, JobActionsExt, NotificationDelivery,
};
use bgtasks_core::store::{InMemoryJobStore, JobDefinitions, NotificationState};
use bgtasks_core::{JobScheduler, Runtime};
use bgtasks_webhook::{
    WEBHOOK_ACTION, WebhookDefinitionProvider, WebhookNotifier, WebhookOptions, WebhookPayload,
};
use support::{Hook, Logs, Reply, TestClock, notifications, planning_runtime, until};

fn definitions() -> Arc<JobActionDefinitionManager> {
    let notifier = Arc::new(WebhookNotifier::new(WebhookOptions::default()).unwrap());
    Arc::new(
        JobActionDefinitionManager::new().with_provider(&WebhookDefinitionProvider::new(notifier)),
    )
}

#[tokio::test(start_paused = true)]
async fn a_500_then_a_200_is_retried_with_back_off_then_delivered() {
    // spec: R51
    let hook = Hook::start().await;
    hook.then(Reply::Status(500, "upstream is down".into()))
        .then(Reply::ok());
    let store = Arc::new(InMemoryJobStore::new());
    let definitions = definitions();
    let runtime = planning_runtime(store.clone(), definitions.clone()).await;
    runtime
        .queue(
            JobInfo::once("nightly", "fails")
                .with_begin_time(runtime.clock().now())
                .with_max_try_count(1)
                .with_action(JobAction::new(WEBHOOK_ACTION).with_parameter("url", hook.url("/h"))),
        )
        .await
        .unwrap();
    let stored = until(store.as_ref(), "the alert stored with the outcome", |all| {
        all.len() == 1
    })
    .await;
    runtime.shutdown().await.unwrap();
    assert_eq!(stored[0].state, NotificationState::Pending);
    assert_eq!(hook.received().len(), 0, "planned, not yet delivered");

    // Real time from here on: the requests go over loopback; the outbox's time is set.
    tokio::time::resume();
    let t0 = stored[0].next_attempt_at;
    let clock = TestClock::at(t0);
    let delivery = NotificationDelivery::new(
        store.clone(),
        definitions.clone(),
        DeliveryOptions::default(),
    )
    .with_clock(clock.clone());
    assert_eq!(delivery.deliver_due("b", t0).await.unwrap(), 1);
    let first = notifications(store.as_ref()).await.remove(0);
    assert_eq!(first.state, NotificationState::Pending, "{first:?}");
    assert_eq!(first.attempts, 1);
    assert_eq!(
        first.last_error.as_deref(),
        Some(
            format!(
                "job `nightly`: the json webhook at {} answered 500 Internal Server Error: upstream is down",
                hook.base
            )
            .as_str()
        )
    );
    let wait = first.next_attempt_at - t0;
    assert!(
        wait > chrono::Duration::seconds(8) && wait <= chrono::Duration::seconds(10),
        "the first retry waits about 10 s: {wait}"
    );
    assert_eq!(
        delivery
            .deliver_due("b", t0 + chrono::Duration::seconds(5))
            .await
            .unwrap(),
        0,
        "not due before its retry time"
    );
    clock.set(first.next_attempt_at);
    assert_eq!(
        delivery
            .deliver_due("b", first.next_attempt_at)
            .await
            .unwrap(),
        1
    );
    let done = notifications(store.as_ref()).await.remove(0);
    assert_eq!(done.state, NotificationState::Delivered, "{done:?}");
    assert_eq!(done.attempts, 2);

    let received = hook.received();
    assert_eq!(received.len(), 2);
    for (n, request) in received.iter().enumerate() {
        assert_eq!(request.header("idempotency-key"), Some(done.id.as_str()));
        assert_eq!(
            request.header("x-bgtasks-notification-id"),
            Some(done.id.as_str())
        );
        let payload: WebhookPayload = serde_json::from_value(request.json()).unwrap();
        assert_eq!(payload.notification_id, done.id);
        assert_eq!(payload.attempt, u32::try_from(n + 1).unwrap());
        assert!(payload.final_failure);
    }
    assert_eq!(
        store.find("nightly").await.unwrap().unwrap().job.status,
        JobStatus::Stopped,
        "the job's state is what its retry policy made it"
    );
}

#[tokio::test(start_paused = true)]
async fn an_action_without_url_is_logged_and_skipped_by_the_planner() {
    // spec: R32
    let logs = Logs::default();
    let _guard = logs.capture();
    let store = Arc::new(InMemoryJobStore::new());
    let runtime = planning_runtime(store.clone(), definitions()).await;
    runtime
        .queue(
            JobInfo::once("no-url", "fails")
                .with_begin_time(runtime.clock().now())
                .with_max_try_count(1)
                .with_action(JobAction::new(WEBHOOK_ACTION).with_parameter("preset", "slack")),
        )
        .await
        .unwrap();
    for _ in 0..100 {
        if store
            .find("no-url")
            .await
            .unwrap()
            .is_some_and(|r| r.job.status == JobStatus::Stopped)
        {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    runtime.shutdown().await.unwrap();
    assert_eq!(
        store.find("no-url").await.unwrap().unwrap().job.status,
        JobStatus::Stopped
    );
    assert!(notifications(store.as_ref()).await.is_empty());
    let text = logs.text();
    assert!(
        text.contains(
            "skipping job action `JobExecutedWebhook` of job `no-url`: missing required parameters: url"
        ),
        "{text}"
    );
}

#[tokio::test]
async fn a_failed_run_reaches_the_receiver_through_a_running_node() {
    // spec: R51
    let hook = Hook::start().await;
    let store = Arc::new(InMemoryJobStore::new());
    let runtime = Runtime::builder()
        .store(store.clone())
        .runnable(
            "fails",
            job_fn(|_| async { Err(JobError::http(503, "the warehouse is down")) }),
        )
        .job_actions_with(
            definitions(),
            DeliveryOptions {
                poll_interval: Duration::from_millis(50),
                notifier_timeout: Duration::from_secs(15),
                ..DeliveryOptions::default()
            },
        )
        .unwrap()
        .build()
        .unwrap();
    runtime.start().await.unwrap();
    runtime
        .queue(
            JobInfo::once("invoice-42", "fails")
                .with_max_try_count(1)
                .with_action(
                    JobAction::new(WEBHOOK_ACTION)
                        .with_parameter("url", hook.url("/services/T1/B2/C3"))
                        .with_parameter("preset", "slack"),
                ),
        )
        .await
        .unwrap();
    let done = until(store.as_ref(), "the alert delivered", |all| {
        all.len() == 1 && all[0].state == NotificationState::Delivered
    })
    .await;
    runtime.shutdown().await.unwrap();
    let received = hook.received();
    assert_eq!(received.len(), 1);
    assert_eq!(received[0].uri.path(), "/services/T1/B2/C3");
    assert_eq!(
        received[0].header("idempotency-key"),
        Some(done[0].id.as_str())
    );
    let text = received[0].json()["text"].as_str().unwrap().to_owned();
    assert!(text.contains("*Job Id*: invoice-42"), "{text}");
    assert!(text.contains("> the warehouse is down"), "{text}");
}
