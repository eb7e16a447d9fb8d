//! The data path on one file: batched completions with their logs, rows that do not
//! decode, writers that wait for each other, large inserts, and listing with values
//! that look like SQL.

use std::time::Duration;

use bgtasks_abstractions::{Interruption, JobExceptionType, JobStatus};
use bgtasks_store::{
    ClaimedRun, CompletionOutcome, DefinitionUpdate, JobControl, JobDefinitions, JobLog, JobQuery,
    JobRuns, RemoveIf, RunCompletion, RunLogs, StoreError,
};

use crate::{claim, log, open, queued, raw, seed, t};

fn outcome(run: &ClaimedRun, status: JobStatus) -> RunCompletion {
    let mut job = run.job.clone();
    job.status = status;
    job.trigger_count = 1;
    RunCompletion::new(run.lease.clone(), job)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn batched_completions_and_logs_answer_as_one_by_one_would() {
    // spec: R12, R20, R26, R27, R38, R39
    let dir = tempfile::tempdir().unwrap();
    let store = open(&dir.path().join("jobs.db")).await;
    assert!(store.prefers_batched_writes());
    let jobs: Vec<_> = (0..5).map(|i| queued(&format!("j{i}"), 0)).collect();
    seed(&store, &jobs).await;
    let runs = claim(&store, "a", 1, 5).await;
    let run = |id: &str| runs.iter().find(|r| r.job.id == id).unwrap().clone();
    store.remove("j1", RemoveIf::Always).await.unwrap().unwrap();
    store.pause("j2").await.unwrap().unwrap();
    let edit = DefinitionUpdate {
        description: Some("edited during the run".into()),
        ..DefinitionUpdate::default()
    };
    store
        .update("j4", &edit, Some(1), t(1))
        .await
        .unwrap()
        .unwrap();
    // j3's lease lapses and another node takes the run.
    sqlx::query("UPDATE bgtasks_jobs SET lease_expires_at = 0 WHERE id = 'j3'")
        .execute(store.pool())
        .await
        .unwrap();
    let rescued = store.rescue(t(2)).await.unwrap();
    assert_eq!(rescued.len(), 1);
    assert_eq!(rescued[0].job_id, "j3");
    let retaken = claim(&store, "b", 3, 1).await.remove(0);
    assert_eq!(retaken.job.id, "j3");

    let mut retry = outcome(&run("j4"), JobStatus::FailedRetry);
    retry.job.try_count = 1;
    retry.job.next_run_time = Some(t(451));
    let batch = vec![
        outcome(&run("j0"), JobStatus::Completed),
        outcome(&run("j1"), JobStatus::Completed),
        outcome(&run("j2"), JobStatus::Running),
        outcome(&run("j3"), JobStatus::Completed),
        outcome(&retaken, JobStatus::Completed),
        outcome(&run("j0"), JobStatus::Completed),
        retry,
    ];
    let logs: Vec<JobLog> = (0..50)
        .map(|i| {
            let mut entry = log("logged", i, &format!("run {i}"));
            entry.exception = (i % 2 == 0).then(|| format!("boom {i}"));
            entry.exception_type = (i % 4 == 0).then_some(JobExceptionType::NETWORK);
            entry.tenant_id = (i == 7).then(uuid::Uuid::new_v4);
            entry
        })
        .collect();
    use CompletionOutcome::{Interrupted, JobGone, LeaseLost, Saved};
    assert_eq!(
        store.complete(&batch, &logs).await.unwrap(),
        vec![
            Saved,
            JobGone,
            Interrupted(Interruption::Paused),
            LeaseLost,
            Saved,
            LeaseLost,
            Saved
        ],
        "in order; a stale lease and a second completion of one lease are refused"
    );
    let find = |id: &'static str| {
        let store = store.clone();
        async move { store.find(id).await.unwrap().unwrap() }
    };
    assert_eq!(find("j0").await.job.status, JobStatus::Completed);
    let j2 = find("j2").await;
    assert_eq!(
        (
            j2.job.status,
            j2.job.trigger_count,
            j2.job.next_run_time,
            j2.lease
        ),
        (JobStatus::Paused, 0, Some(t(0)), None),
        "paused during the run: interrupted, nothing counted, due at its time once resumed"
    );
    assert_eq!(find("j3").await.job.status, JobStatus::Completed);
    let j4 = find("j4").await;
    assert_eq!(
        (
            j4.job.status,
            j4.job.try_count,
            j4.job.next_run_time,
            j4.job.description.as_str(),
            j4.revision
        ),
        (
            JobStatus::FailedRetry,
            1,
            Some(t(451)),
            "edited during the run",
            2
        ),
        "only the run state is written"
    );
    assert_eq!(store.next_due_time("a", None).await.unwrap(), Some(t(451)));
    assert!(store.complete(&[], &[]).await.unwrap().is_empty());
    let mut kept = store.list_logs("logged", 100).await.unwrap();
    kept.reverse();
    assert_eq!(kept, logs, "every log, every field, in order");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_row_that_does_not_decode_is_named_and_set_aside_without_stalling_claims() {
    // spec: R42
    let dir = tempfile::tempdir().unwrap();
    let store = open(&dir.path().join("jobs.db")).await;
    seed(&store, &[queued("bad", 0), queued("good", 5)]).await;
    sqlx::query("UPDATE bgtasks_jobs SET args = '[1, 2]' WHERE id = 'bad'")
        .execute(store.pool())
        .await
        .unwrap();
    match store.find("bad").await {
        Err(StoreError::Corrupt { job, message }) => {
            assert_eq!(job, "bad");
            assert!(message.contains("`args`"), "{message}");
        }
        other => panic!("expected a Corrupt error, got {other:?}"),
    }
    let claimed = claim(&store, "a", 10, 5).await;
    let ids: Vec<&str> = claimed.iter().map(|c| c.job.id.as_str()).collect();
    assert_eq!(
        ids,
        vec!["good"],
        "the bad row is set aside, the good one claimed"
    );
    let (status, next, result): (i64, Option<i64>, Option<String>) =
        sqlx::query_as("SELECT status, next_run_time, result FROM bgtasks_jobs WHERE id = 'bad'")
            .fetch_one(store.pool())
            .await
            .unwrap();
    assert_eq!((status, next), (30, None), "Stopped, scheduled nowhere");
    let result = result.unwrap_or_default();
    assert!(
        result.contains("`bad`") && result.contains("`args`"),
        "the reason is its result: {result}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_writer_holding_the_file_is_waited_for_not_reported() {
    // spec: R27
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("jobs.db");
    let store = open(&path).await;
    seed(&store, &[queued("j", 0)]).await;
    let mut other = raw(&path).await;
    sqlx::query("BEGIN IMMEDIATE")
        .execute(&mut other)
        .await
        .unwrap();
    let claiming = tokio::spawn({
        let store = store.clone();
        async move { claim(&store, "a", 1, 1).await }
    });
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(
        !claiming.is_finished(),
        "the claim waits for the other writer"
    );
    sqlx::query("COMMIT").execute(&mut other).await.unwrap();
    assert_eq!(claiming.await.unwrap().len(), 1);
}

#[tokio::test]
async fn a_large_insert_takes_new_ids_once_in_one_transaction() {
    // spec: R27
    let dir = tempfile::tempdir().unwrap();
    let store = open(&dir.path().join("jobs.db")).await;
    seed(&store, &[queued("old", 0)]).await;
    let mut changed = queued("old", 0);
    changed.description = "must not replace".into();
    let mut jobs: Vec<_> = (0..2500).map(|i| queued(&format!("j{i:04}"), 0)).collect();
    jobs.insert(1500, queued("j0001", 9));
    jobs.insert(2200, changed);
    let inserted = store.insert(&jobs).await.unwrap();
    assert_eq!(inserted.len(), 2502);
    assert_eq!(
        inserted.iter().filter(|i| **i).count(),
        2500,
        "a repeat in another chunk and an existing id are refused"
    );
    assert!(!inserted[1500] && !inserted[2200]);
    assert_eq!(
        store.find("old").await.unwrap().unwrap().job.description,
        ""
    );
    assert_eq!(
        store
            .find("j0001")
            .await
            .unwrap()
            .unwrap()
            .job
            .next_run_time,
        Some(t(0)),
        "the first of repeated ids wins"
    );
    let page = store
        .list(&JobQuery {
            limit: 0,
            ..JobQuery::default()
        })
        .await
        .unwrap();
    assert_eq!(page.total, 2501);
}

#[tokio::test]
async fn listing_binds_values_that_look_like_sql() {
    // spec: R37
    let dir = tempfile::tempdir().unwrap();
    let store = open(&dir.path().join("jobs.db")).await;
    let mut sale = queued("sale", 0);
    sale.description = "50% off_sale".into();
    seed(&store, &[sale, queued("a'b", 0)]).await;
    let listed = |text: &str| {
        let store = store.clone();
        let query = JobQuery {
            text: Some(text.to_owned()),
            limit: 10,
            ..JobQuery::default()
        };
        async move {
            let page = store.list(&query).await.unwrap();
            (
                page.items.into_iter().map(|r| r.job.id).collect::<Vec<_>>(),
                page.total,
            )
        }
    };
    assert_eq!(listed("% OFF_").await, (vec!["sale".to_owned()], 1));
    assert_eq!(
        listed("%_").await,
        (Vec::new(), 0),
        "% and _ are plain text"
    );
    assert_eq!(listed("A'B").await, (vec!["a'b".to_owned()], 1));
    assert_eq!(
        listed("'; DROP TABLE bgtasks_jobs; --").await,
        (Vec::new(), 0)
    );
    let by_name = JobQuery {
        name: Some("x' OR '1'='1".into()),
        limit: 10,
        ..JobQuery::default()
    };
    assert_eq!(store.list(&by_name).await.unwrap().total, 0);
    assert_eq!(store.list(&JobQuery::all()).await.unwrap().total, 2);
}
