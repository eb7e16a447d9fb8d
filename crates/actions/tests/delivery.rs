//! Delivering the outbox (R51): notifications stored with the outcome reach their
//! notifier at least once, transient failures are retried with back-off, permanent ones
//! are recorded, and a delivery whose lease was taken over records nothing.

#![allow(clippy::unwrap_used)]

mod support;

use std::sync::Arc;
use std::time::Duration;

use bgtasks_abstractions::{Clock, JobAction, JobError, JobInfo, job_fn};
use bgtasks_actions::{
    DeliveryOptions, JobActionType, JobActionsExt, NotificationDelivery, NotifyPolicy,
};
use bgtasks_core::clock::TokioClock;
use bgtasks_core::store::{
    InMemoryJobStore, JobDefinitions, JobStore, NotificationQuery, NotificationRecord,
    NotificationState,
};
use bgtasks_core::{JobScheduler, Runtime};

use support::{Behaviour, Recorder, definition, manager};

async fn notifications(store: &dyn JobStore) -> Vec<NotificationRecord> {
    let mut all = store
        .list_notifications(&NotificationQuery {
            limit: 100,
            ..NotificationQuery::default()
        })
        .await
        .unwrap()
        .items;
    all.sort_by(|a, b| a.created_at.cmp(&b.created_at).then(a.id.cmp(&b.id)));
    all
}

/// A runtime on a paused clock whose job type `fails` always fails, with the actions of
/// `recorder` (a Failed action named `alert`).
async fn runtime(
    store: Arc<InMemoryJobStore>,
    node: &str,
    recorder: &Arc<Recorder>,
    options: DeliveryOptions,
) -> Runtime {
    let runtime = Runtime::builder()
        .clock(Arc::new(TokioClock::new()))
        .store(store)
        .node_name(node)
        .runnable(
            "fails",
            job_fn(|_| async { Err(JobError::new("the warehouse is unreachable")) }),
        )
        .job_actions_with(
            manager(vec![definition(
                "alert",
                JobActionType::Failed,
                std::slice::from_ref(recorder),
            )]),
            options,
        )
        .unwrap()
        .build()
        .unwrap();
    runtime.start().await.unwrap();
    runtime
}

fn failing_job(id: &str, at: chrono::DateTime<chrono::Utc>, tries: i32) -> JobInfo {
    JobInfo::once(id, "fails")
        .with_begin_time(at)
        .with_max_try_count(tries)
        .with_action(JobAction::new("alert"))
}

/// Waits (in paused time) until `check` holds for the store's notifications.
async fn until(
    store: &dyn JobStore,
    what: &str,
    check: impl Fn(&[NotificationRecord]) -> bool,
) -> Vec<NotificationRecord> {
    for _ in 0..7200 {
        let all = notifications(store).await;
        if check(&all) {
            return all;
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
    panic!("{what}: {:#?}", notifications(store).await);
}

#[tokio::test(start_paused = true)]
async fn a_failure_is_stored_with_its_outcome_and_delivered_once() {
    // spec: R51
    let store = Arc::new(InMemoryJobStore::new());
    let mail = Recorder::new("mail");
    let node = runtime(store.clone(), "a", &mail, DeliveryOptions::default()).await;
    node.queue(failing_job("j", node.clock().now(), 1))
        .await
        .unwrap();
    let done = until(store.as_ref(), "delivered", |all| {
        all.len() == 1 && all[0].state == NotificationState::Delivered
    })
    .await;
    assert_eq!(done[0].attempts, 1);
    assert!(done[0].id.starts_with("j/"), "{}", done[0].id);
    assert_eq!(mail.calls(), ["mail:alert:error:1"]);
    tokio::time::sleep(Duration::from_secs(30)).await;
    assert_eq!(mail.calls().len(), 1, "delivered once");
    let health = node.health();
    let loop_health = health
        .loop_named(bgtasks_actions::DELIVERY_SERVICE)
        .unwrap();
    assert!(loop_health.last_iteration.is_some());
    node.shutdown().await.unwrap();
}

#[tokio::test(start_paused = true)]
async fn a_transient_failure_is_retried_with_back_off_then_delivered() {
    // spec: R51
    let store = Arc::new(InMemoryJobStore::new());
    let mail = Recorder::new("mail");
    mail.behave(Behaviour::FailTransiently);
    let node = runtime(store.clone(), "a", &mail, DeliveryOptions::default()).await;
    let start = node.clock().now();
    node.queue(failing_job("j", start, 1)).await.unwrap();
    let waiting = until(store.as_ref(), "two failed attempts", |all| {
        all.first()
            .is_some_and(|n| n.attempts == 2 && n.leased_to.is_none())
    })
    .await;
    let n = &waiting[0];
    assert_eq!(n.state, NotificationState::Pending);
    assert_eq!(n.last_error.as_deref(), Some("421 try again later"));
    let delay = (n.next_attempt_at - node.clock().now()).num_seconds();
    assert!(
        (10..=20).contains(&delay),
        "the second retry waits about 20 s (less a spread), not {delay} s"
    );
    mail.behave(Behaviour::Succeed);
    let done = until(store.as_ref(), "delivered after the outage", |all| {
        all[0].state == NotificationState::Delivered
    })
    .await;
    assert_eq!(done[0].attempts, 3);
    assert_eq!(
        mail.calls(),
        [
            "mail:alert:error:1",
            "mail:alert:error:2",
            "mail:alert:error:3"
        ]
    );
    assert_eq!(
        store.find("j").await.unwrap().unwrap().job.try_count,
        1,
        "the job's state is the same as without a notifier"
    );
    node.shutdown().await.unwrap();
}

#[tokio::test(start_paused = true)]
async fn permanent_failures_panics_hangs_and_the_last_attempt_are_recorded() {
    // spec: R51
    let options = DeliveryOptions {
        notifier_timeout: Duration::from_secs(5),
        lease: Duration::from_secs(10),
        max_attempts: 2,
        ..DeliveryOptions::default()
    };
    for (behaviour, expected) in [
        (Behaviour::FailPermanently, "550 no such mailbox"),
        (
            Behaviour::Panic,
            "gave up after 2 attempts; the last failed: the notifier panicked: the notifier panicked on purpose",
        ),
        (
            Behaviour::Hang,
            "gave up after 2 attempts; the last failed: the notifier did not finish within 5s",
        ),
    ] {
        let store = Arc::new(InMemoryJobStore::new());
        let mail = Recorder::new("mail");
        mail.behave(behaviour);
        let node = runtime(store.clone(), "a", &mail, options.clone()).await;
        node.queue(failing_job("j", node.clock().now(), 1))
            .await
            .unwrap();
        let failed = until(store.as_ref(), "failed for good", |all| {
            all.first()
                .is_some_and(|n| n.state == NotificationState::Failed)
        })
        .await;
        assert_eq!(
            failed[0].last_error.as_deref(),
            Some(expected),
            "{behaviour:?}"
        );
        assert!(failed[0].finished_at.is_some());
        let attempts = if behaviour == Behaviour::FailPermanently {
            1
        } else {
            2
        };
        assert_eq!(failed[0].attempts, attempts, "{behaviour:?}");
        node.shutdown().await.unwrap();
    }
}

#[tokio::test(start_paused = true)]
async fn a_node_that_lacks_the_action_leaves_it_to_one_that_has_it() {
    // spec: R51
    let store = Arc::new(InMemoryJobStore::new());
    let mail = Recorder::new("mail");
    let node = runtime(store.clone(), "a", &mail, DeliveryOptions::default()).await;
    node.queue(failing_job("j", node.clock().now(), 1))
        .await
        .unwrap();
    until(store.as_ref(), "delivered", |all| {
        all.first()
            .is_some_and(|n| n.state == NotificationState::Delivered)
    })
    .await;
    // A bare delivery loop without the `alert` action claims a second notification.
    let clock = Arc::new(TokioClock::new());
    let bare =
        NotificationDelivery::new(store.clone(), manager(vec![]), DeliveryOptions::default())
            .with_clock(clock.clone());
    node.shutdown().await.unwrap();
    let second = Runtime::builder()
        .clock(clock.clone())
        .store(store.clone())
        .node_name("b")
        .runnable("fails", job_fn(|_| async { Err(JobError::new("again")) }))
        .notification_planner(Arc::new(bgtasks_actions::JobActionPlanner::new(manager(
            vec![definition(
                "alert",
                JobActionType::Failed,
                std::slice::from_ref(&mail),
            )],
        ))))
        .build()
        .unwrap();
    second.start().await.unwrap();
    second
        .queue(failing_job("k", clock.now(), 1))
        .await
        .unwrap();
    until(store.as_ref(), "k's notification stored", |all| {
        all.len() == 2
    })
    .await;
    assert_eq!(bare.deliver_due("bare", clock.now()).await.unwrap(), 1);
    let k = notifications(store.as_ref()).await.pop().unwrap();
    assert_eq!(k.state, NotificationState::Pending);
    assert_eq!(
        k.last_error.as_deref(),
        Some("no action named `alert` is registered on node `bare`")
    );
    second.shutdown().await.unwrap();
}

#[tokio::test(start_paused = true)]
async fn first_and_final_holds_across_nodes_sharing_a_store() {
    // spec: R51
    let store = Arc::new(InMemoryJobStore::new());
    let mail = Recorder::failures_only("mail", NotifyPolicy::FirstAndFinal, 0);
    let a = runtime(store.clone(), "a", &mail, DeliveryOptions::default()).await;
    let b = runtime(store.clone(), "b", &mail, DeliveryOptions::default()).await;
    a.queue(
        JobInfo::new("flaky", "fails")
            .with_interval(60)
            .with_begin_time(a.clock().now())
            .with_max_try_count(4)
            .with_action(JobAction::new("alert")),
    )
    .await
    .unwrap();
    let done = until(
        store.as_ref(),
        "the job abandoned and two mails out",
        |all| all.len() == 2 && all.iter().all(|n| n.state == NotificationState::Delivered),
    )
    .await;
    let job = store.find("flaky").await.unwrap().unwrap().job;
    assert!(job.is_abandoned, "{job:?}");
    assert_eq!(mail.calls().len(), 2, "{:?}", mail.calls());
    assert!(done[0].id != done[1].id);
    a.shutdown().await.unwrap();
    b.shutdown().await.unwrap();
}

#[tokio::test(start_paused = true)]
async fn a_delivery_in_flight_at_shutdown_finishes_within_the_grace() {
    // spec: R47, R51
    let store = Arc::new(InMemoryJobStore::new());
    let mail = Recorder::new("mail");
    mail.behave(Behaviour::Slow(5));
    let node = runtime(store.clone(), "a", &mail, DeliveryOptions::default()).await;
    node.queue(failing_job("j", node.clock().now(), 1))
        .await
        .unwrap();
    for _ in 0..600 {
        if !mail.calls().is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(mail.calls(), ["mail:alert:error:1"], "the send has begun");
    let began = tokio::time::Instant::now();
    node.shutdown().await.unwrap();
    let all = notifications(store.as_ref()).await;
    assert_eq!(all.len(), 1);
    assert_eq!(
        all[0].state,
        NotificationState::Delivered,
        "the send in flight was let finish and its outcome recorded: {all:#?}"
    );
    assert!(
        began.elapsed() >= Duration::from_secs(4),
        "shutdown waited for the send ({:?})",
        began.elapsed()
    );
}

#[tokio::test(start_paused = true)]
async fn a_delivery_that_outlasts_the_grace_is_cut_and_left_to_its_lease() {
    // spec: R47, R51
    let store = Arc::new(InMemoryJobStore::new());
    let mail = Recorder::new("mail");
    mail.behave(Behaviour::Hang);
    // A notifier allowed longer than the node's 30 s shutdown grace.
    let options = DeliveryOptions {
        notifier_timeout: Duration::from_secs(300),
        lease: Duration::from_secs(600),
        ..DeliveryOptions::default()
    };
    let node = runtime(store.clone(), "a", &mail, options).await;
    node.queue(failing_job("j", node.clock().now(), 1))
        .await
        .unwrap();
    for _ in 0..600 {
        if !mail.calls().is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(mail.calls().len(), 1, "the send has begun");
    let began = tokio::time::Instant::now();
    node.shutdown().await.unwrap();
    let took = began.elapsed();
    assert!(
        took < Duration::from_secs(120),
        "shutdown is bounded by its grace, not by the hung send ({took:?})"
    );
    let all = notifications(store.as_ref()).await;
    assert_eq!(all[0].state, NotificationState::Pending, "{all:#?}");
}
