//! The outbox (R51): notifications stored with the outcome that called for them,
//! throttled and deduplicated in the store, delivered under fenced leases.

use std::time::Duration;

use bgtasks_abstractions::JobStatus;
use bgtasks_store::{
    DeliveryOutcome, JobStore, NewNotification, NotificationKind, NotificationQuery,
    NotificationRecord, NotificationState, RunCompletion,
};

use crate::DynStoreFactory;
use crate::support::{LEASE, claim_one, complete, finished, queued, seed, t};

fn mail(id: &str, job: &str, at: i64, min_interval: Option<u64>) -> NewNotification {
    NewNotification {
        id: id.into(),
        job_id: job.into(),
        action: "JobExecutedFailedProvider".into(),
        kind: NotificationKind::Failure,
        payload: serde_json::json!({"to": ["ops@example.com"], "message": "boom", "n": at}),
        created_at: t(at),
        min_interval: min_interval.map(Duration::from_secs),
    }
}

async fn all(store: &dyn JobStore, job: Option<&str>) -> Vec<NotificationRecord> {
    store
        .list_notifications(&NotificationQuery {
            job_id: job.map(str::to_owned),
            limit: 100,
            ..NotificationQuery::default()
        })
        .await
        .unwrap()
        .items
}

fn with(mut completion: RunCompletion, notifications: Vec<NewNotification>) -> RunCompletion {
    completion.notifications = notifications;
    completion
}

/// R51: a saved outcome stores its notifications in the same step; an outcome that is not
/// saved (lease lost, job paused during the run) stores none.
pub async fn notifications_are_stored_with_the_outcome_or_not_at_all(
    factory: &dyn DynStoreFactory,
) {
    let store = factory.fresh().await;
    seed(
        store.as_ref(),
        &[queued("j", 0), queued("lost", 0), queued("paused", 0)],
    )
    .await;
    let run = claim_one(store.as_ref(), "a", 1).await;
    let done = with(
        finished(&run, JobStatus::FailedRetry),
        vec![mail("n-1", &run.job.id, 1, None)],
    );
    assert!(complete(store.as_ref(), done).await.is_saved());
    let lost_run = claim_one(store.as_ref(), "a", 1).await;
    let paused_run = claim_one(store.as_ref(), "a", 1).await;
    assert_eq!(
        store
            .rescue(t(1 + LEASE.as_secs() as i64 + 1))
            .await
            .unwrap()
            .len(),
        2
    );
    let stale = with(
        finished(&lost_run, JobStatus::FailedRetry),
        vec![mail("n-lost", &lost_run.job.id, 1, None)],
    );
    assert!(!complete(store.as_ref(), stale).await.is_saved());
    let stored = all(store.as_ref(), None).await;
    let ids: Vec<&str> = stored.iter().map(|n| n.id.as_str()).collect();
    assert_eq!(ids, ["n-1"], "only the saved outcome's notification");
    let n = &stored[0];
    assert_eq!(
        (
            n.job_id.as_str(),
            n.kind,
            n.state,
            n.attempts,
            n.next_attempt_at
        ),
        (
            run.job.id.as_str(),
            NotificationKind::Failure,
            NotificationState::Pending,
            0,
            t(1)
        )
    );
    assert_eq!(n.payload["message"], "boom", "the payload round-trips");
    assert_eq!(
        (n.finished_at, n.last_error.clone(), n.leased_to.clone()),
        (None, None, None)
    );

    // A run whose job was paused meanwhile is interrupted: no notification either.
    let again = claim_one(store.as_ref(), "a", 100).await;
    store.pause(&again.job.id).await.unwrap().unwrap();
    let interrupted = with(
        finished(&again, JobStatus::FailedRetry),
        vec![mail("n-paused", &again.job.id, 100, None)],
    );
    assert!(!complete(store.as_ref(), interrupted).await.is_saved());
    assert_eq!(all(store.as_ref(), None).await.len(), 1);
    assert!(paused_run.lease.token > 0);
}

/// R51: throttling state lives in the store — a notification of the same job and action
/// within the minimum interval is not stored — and an identity is stored once.
pub async fn notifications_are_throttled_and_deduplicated_in_the_store(
    factory: &dyn DynStoreFactory,
) {
    let store = factory.fresh().await;
    let other = factory.reopen(&store).await;
    seed(store.as_ref(), &[queued("j", 0)]).await;
    let mut at = 0;
    for (n, (when, min_interval)) in [
        (0, Some(600)),
        (100, Some(600)),
        (700, Some(600)),
        (710, None),
    ]
    .into_iter()
    .enumerate()
    {
        at = at.max(when);
        let handle = if n % 2 == 0 { &store } else { &other };
        let run = claim_one(handle.as_ref(), "a", at).await;
        let id = format!("n-{n}");
        let done = with(
            finished(&run, JobStatus::Running),
            vec![
                mail(&id, "j", when, min_interval),
                mail(&id, "j", when, min_interval),
            ],
        );
        let mut reset = done.clone();
        reset.job.next_run_time = Some(t(when + 1));
        assert!(complete(handle.as_ref(), reset).await.is_saved());
    }
    let mut ids: Vec<String> = all(store.as_ref(), Some("j"))
        .await
        .into_iter()
        .map(|n| n.id)
        .collect();
    ids.sort();
    assert_eq!(
        ids,
        ["n-0", "n-2", "n-3"],
        "n-1 came 100 s after n-0 (interval 600 s); each identity once; n-3 has no interval"
    );
}

/// R51: the notifications of one completion (an action carried out by two notifiers, a
/// mail and a webhook) are created at the same instant and never throttle each other;
/// the next completion within the interval is throttled for each of them.
pub async fn one_completions_notifications_never_throttle_each_other(
    factory: &dyn DynStoreFactory,
) {
    let store = factory.fresh().await;
    seed(store.as_ref(), &[queued("j", 0)]).await;
    let run = claim_one(store.as_ref(), "a", 10).await;
    let mut done = with(
        finished(&run, JobStatus::Running),
        vec![
            mail("mail-1", "j", 10, Some(600)),
            mail("hook-1", "j", 10, Some(600)),
        ],
    );
    done.job.next_run_time = Some(t(20));
    assert!(complete(store.as_ref(), done).await.is_saved());
    let run = claim_one(store.as_ref(), "a", 20).await;
    let done = with(
        finished(&run, JobStatus::Running),
        vec![
            mail("mail-2", "j", 20, Some(600)),
            mail("hook-2", "j", 20, Some(600)),
        ],
    );
    assert!(complete(store.as_ref(), done).await.is_saved());
    let mut ids: Vec<String> = all(store.as_ref(), Some("j"))
        .await
        .into_iter()
        .map(|n| n.id)
        .collect();
    ids.sort();
    assert_eq!(ids, ["hook-1", "mail-1"]);
}

/// R51: deliveries are claimed under leases with fresh tokens; an outcome is recorded only
/// under its lease; a transient failure retries at its time, a permanent one ends it; a
/// lease that expired is taken over by another node.
pub async fn deliveries_are_fenced_retried_and_finished(factory: &dyn DynStoreFactory) {
    let store = factory.fresh().await;
    let other = factory.reopen(&store).await;
    seed(store.as_ref(), &[queued("j", 0)]).await;
    let run = claim_one(store.as_ref(), "a", 0).await;
    let notes = vec![
        mail("n-a", "j", 0, None),
        mail("n-b", "j", 0, None),
        mail("n-c", "j", 0, None),
    ];
    assert!(
        complete(
            store.as_ref(),
            with(finished(&run, JobStatus::FailedRetry), notes)
        )
        .await
        .is_saved()
    );
    let lease = Duration::from_secs(30);
    let claimed = store
        .claim_notifications("a", t(1), 2, lease)
        .await
        .unwrap();
    assert_eq!(claimed.len(), 2, "the limit holds");
    assert!(claimed.iter().all(|c| c.notification.attempts == 1));
    assert!(claimed.iter().all(|c| {
        c.notification
            .leased_to
            .as_ref()
            .is_some_and(|(n, until)| n == "a" && *until == t(31))
    }));
    let rest = other
        .claim_notifications("b", t(1), 10, lease)
        .await
        .unwrap();
    assert_eq!(rest.len(), 1, "held ones are not claimed twice");
    assert!(
        other
            .claim_notifications("b", t(2), 10, lease)
            .await
            .unwrap()
            .is_empty()
    );

    let (first, second) = (&claimed[0], &claimed[1]);
    assert!(
        !store
            .record_delivery(
                &first.notification.id,
                first.token + 1000,
                &DeliveryOutcome::Delivered,
                t(2)
            )
            .await
            .unwrap(),
        "another token is refused"
    );
    assert!(
        store
            .record_delivery(
                &first.notification.id,
                first.token,
                &DeliveryOutcome::Delivered,
                t(2)
            )
            .await
            .unwrap()
    );
    let retry = DeliveryOutcome::RetryAt {
        at: t(100),
        error: "421 busy".into(),
    };
    assert!(
        store
            .record_delivery(&second.notification.id, second.token, &retry, t(2))
            .await
            .unwrap()
    );
    let failed = DeliveryOutcome::Failed {
        reason: "550 no such user".into(),
    };
    assert!(
        other
            .record_delivery(&rest[0].notification.id, rest[0].token, &failed, t(2))
            .await
            .unwrap()
    );
    assert!(
        !store
            .record_delivery(
                &first.notification.id,
                first.token,
                &DeliveryOutcome::Delivered,
                t(3)
            )
            .await
            .unwrap(),
        "a finished delivery's lease is over"
    );

    assert!(
        store
            .claim_notifications("a", t(99), 10, lease)
            .await
            .unwrap()
            .is_empty(),
        "the retry waits"
    );
    let retried = other
        .claim_notifications("b", t(100), 10, lease)
        .await
        .unwrap();
    assert_eq!(retried.len(), 1);
    assert_eq!(retried[0].notification.id, second.notification.id);
    assert_eq!(
        (
            retried[0].notification.attempts,
            retried[0].notification.last_error.as_deref()
        ),
        (2, Some("421 busy"))
    );
    assert_ne!(retried[0].token, second.token);
    // Node b dies holding it: after its lease, node a takes it over; b's late outcome is refused.
    let taken_over = store
        .claim_notifications("a", t(131), 10, lease)
        .await
        .unwrap();
    assert_eq!(taken_over.len(), 1);
    assert!(
        !other
            .record_delivery(
                &retried[0].notification.id,
                retried[0].token,
                &DeliveryOutcome::Delivered,
                t(132)
            )
            .await
            .unwrap()
    );
    assert!(
        store
            .record_delivery(
                &taken_over[0].notification.id,
                taken_over[0].token,
                &DeliveryOutcome::Delivered,
                t(132)
            )
            .await
            .unwrap()
    );

    let states: Vec<(String, NotificationState, Option<String>)> = {
        let mut v: Vec<_> = all(store.as_ref(), Some("j"))
            .await
            .into_iter()
            .map(|n| (n.id, n.state, n.last_error))
            .collect();
        v.sort_by(|a, b| a.0.cmp(&b.0));
        v
    };
    let failed_id = rest[0].notification.id.clone();
    for (id, state, error) in states {
        if id == failed_id {
            assert_eq!(
                (state, error.as_deref()),
                (NotificationState::Failed, Some("550 no such user"))
            );
        } else {
            assert_eq!(state, NotificationState::Delivered, "{id}");
        }
    }
}

/// R51: notifications are listed by job and state, newest first, paged; finished ones
/// are pruned by age, pending ones never.
pub async fn notifications_are_listed_and_pruned(factory: &dyn DynStoreFactory) {
    let store = factory.fresh().await;
    seed(store.as_ref(), &[queued("j", 0), queued("k", 0)]).await;
    for (n, job) in ["j", "k"].iter().enumerate() {
        let run = claim_one(store.as_ref(), "a", 0).await;
        let notes = (0..3)
            .map(|i| {
                mail(
                    &format!("{job}-{i}"),
                    &run.job.id,
                    i64::from(i) + n as i64 * 10,
                    None,
                )
            })
            .collect();
        assert!(
            complete(
                store.as_ref(),
                with(finished(&run, JobStatus::FailedRetry), notes)
            )
            .await
            .is_saved()
        );
    }
    let page = store
        .list_notifications(&NotificationQuery {
            job_id: None,
            state: None,
            offset: 1,
            limit: 2,
        })
        .await
        .unwrap();
    assert_eq!(page.total, 6);
    assert_eq!(page.items.len(), 2);
    assert!(
        page.items[0].created_at >= page.items[1].created_at,
        "newest first"
    );
    let lease = Duration::from_secs(30);
    let claimed = store
        .claim_notifications("a", t(50), 4, lease)
        .await
        .unwrap();
    for c in &claimed {
        store
            .record_delivery(
                &c.notification.id,
                c.token,
                &DeliveryOutcome::Delivered,
                t(60),
            )
            .await
            .unwrap();
    }
    let delivered = store
        .list_notifications(&NotificationQuery {
            state: Some(NotificationState::Delivered),
            limit: 100,
            ..NotificationQuery::default()
        })
        .await
        .unwrap();
    assert_eq!(delivered.total, 4);
    assert_eq!(
        store.prune_notifications(t(60), 100).await.unwrap(),
        0,
        "finished at t(60), not before"
    );
    assert_eq!(
        store.prune_notifications(t(61), 3).await.unwrap(),
        3,
        "at most max"
    );
    assert_eq!(store.prune_notifications(t(61), 100).await.unwrap(), 1);
    let left = store
        .list_notifications(&NotificationQuery {
            limit: 100,
            ..NotificationQuery::default()
        })
        .await
        .unwrap();
    assert_eq!(left.total, 2);
    assert!(
        left.items
            .iter()
            .all(|n| n.state == NotificationState::Pending),
        "pending ones stay"
    );
}
