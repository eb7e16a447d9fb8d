//! The outbox on one file: notifications outlive their job (an alert about a removed job
//! still goes out), and a stored notification that does not decode is set aside without
//! stopping the claims of the others.

use std::time::Duration;

use bgtasks_abstractions::JobStatus;
use bgtasks_store::{
    JobDefinitions, JobRuns, NewNotification, NotificationKind, NotificationOutbox,
    NotificationQuery, NotificationState, RemoveIf, RunCompletion,
};

use crate::{LEASE, claim, open, queued, seed, t};

fn alert(id: &str, at: i64) -> NewNotification {
    NewNotification {
        id: id.into(),
        job_id: "j".into(),
        action: "JobExecutedFailedProvider".into(),
        kind: NotificationKind::Failure,
        payload: serde_json::json!({"to": ["ops@example.com"]}),
        created_at: t(at),
        min_interval: None,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn notifications_outlive_their_job_and_a_bad_row_is_set_aside() {
    // spec: R42, R51
    let dir = tempfile::tempdir().unwrap();
    let store = open(&dir.path().join("jobs.db")).await;
    seed(&store, &[queued("j", 0)]).await;
    let run = claim(&store, "a", 1, 1).await.remove(0);
    let mut failed = run.job.clone();
    failed.status = JobStatus::FailedRetry;
    failed.try_count = 1;
    let mut completion = RunCompletion::new(run.lease.clone(), failed);
    completion.notifications = vec![alert("bad", 1), alert("good", 2)];
    let outcomes = store.complete(&[completion], &[]).await.unwrap();
    assert!(outcomes[0].is_saved());
    store.remove("j", RemoveIf::Always).await.unwrap().unwrap();
    sqlx::query("UPDATE bgtasks_notifications SET payload = 'not json' WHERE id = 'bad'")
        .execute(store.pool())
        .await
        .unwrap();

    let claimed = store
        .claim_notifications("a", t(5), 10, LEASE)
        .await
        .unwrap();
    let ids: Vec<&str> = claimed.iter().map(|c| c.notification.id.as_str()).collect();
    assert_eq!(ids, ["good"], "the job is gone, its alert still goes out");
    let (state, error): (i64, Option<String>) =
        sqlx::query_as("SELECT state, last_error FROM bgtasks_notifications WHERE id = 'bad'")
            .fetch_one(store.pool())
            .await
            .unwrap();
    assert_eq!(state, i64::from(NotificationState::Failed.code()));
    let error = error.unwrap_or_default();
    assert!(
        error.contains("`bad`") && error.contains("`payload`"),
        "the reason names the notification and the column: {error}"
    );
    assert!(
        store
            .claim_notifications("b", t(20), 10, Duration::from_secs(30))
            .await
            .unwrap()
            .is_empty(),
        "held, and the bad one is finished"
    );
    let pending = store
        .list_notifications(&NotificationQuery {
            state: Some(NotificationState::Pending),
            limit: 10,
            ..NotificationQuery::default()
        })
        .await
        .unwrap();
    assert_eq!(pending.total, 1);
}
