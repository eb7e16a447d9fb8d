//! The log of a run is written only while that run still holds its job: a run whose job
//! was removed while it ran (and maybe queued again under its id) leaves no log, and the
//! normal path — a log written in flight, with its completion, or after it — still logs
//! (`rules::keeps_run_log`).

use bgtasks_abstractions::JobStatus;
use bgtasks_store::{ClaimedRun, CompletionOutcome, JobLog, RemoveIf, RunCompletion, rules};

use crate::DynStoreFactory;
use crate::support::{claim_one, complete, finished, log, queued, record, seed, t};

/// The log the runtime writes for `run`, started at `t(started)`: it names the run's
/// lease token.
fn run_log(run: &ClaimedRun, started: i64, message: &str) -> JobLog {
    let mut entry = log(&run.job.id, started, message);
    entry.node.clone_from(&run.lease.node);
    entry.lease_token = Some(run.lease.token);
    entry
}

/// The completion of `run`, started at `t(started)`, that leaves its job Completed.
fn ran(run: &ClaimedRun, started: i64) -> RunCompletion {
    let mut completion = finished(run, JobStatus::Completed);
    completion.job.last_run_time = Some(t(started));
    completion
}

/// The messages of the logs of `id`, oldest first.
async fn messages(store: &dyn bgtasks_store::JobStore, id: &str) -> Vec<String> {
    let mut logs = store.list_logs(id, 100).await.unwrap();
    logs.reverse();
    logs.into_iter().map(|entry| entry.message).collect()
}

/// R46, R37: a run whose job was removed while it ran writes no log afterwards — not by
/// appending it, not with its (refused) completion.
pub async fn a_run_whose_job_was_removed_leaves_no_log(factory: &dyn DynStoreFactory) {
    // spec: R46, R37
    let store = factory.fresh().await;
    let admin = factory.reopen(&store).await;
    seed(store.as_ref(), &[queued("j", 0)]).await;
    let run = claim_one(store.as_ref(), "a", 1).await;
    admin.remove("j", RemoveIf::Always).await.unwrap().unwrap();

    store
        .append_logs(&[run_log(&run, 1, "run interrupted: Removed")])
        .await
        .unwrap();
    assert_eq!(
        store
            .complete(&[ran(&run, 1)], &[run_log(&run, 1, "OK")])
            .await
            .unwrap(),
        vec![CompletionOutcome::JobGone]
    );
    assert!(
        store.list_logs("j", 10).await.unwrap().is_empty(),
        "no log outlives the removal"
    );
    assert!(store.find("j").await.unwrap().is_none());
}

/// R38, R46: a job removed and queued again under its id while an old run was going gets
/// no log of that run — neither before its own run, nor during it, nor after it — and its
/// own run logs as usual.
pub async fn a_job_queued_again_gets_no_log_of_the_old_run(factory: &dyn DynStoreFactory) {
    // spec: R38, R46
    let store = factory.fresh().await;
    let admin = factory.reopen(&store).await;
    seed(store.as_ref(), &[queued("j", 0)]).await;
    let old = claim_one(store.as_ref(), "a", 1).await;
    admin.remove("j", RemoveIf::Always).await.unwrap().unwrap();
    seed(admin.as_ref(), &[queued("j", 2)]).await;

    // Queued again, not yet run.
    store
        .append_logs(&[run_log(&old, 1, "old, before")])
        .await
        .unwrap();
    // Running again, on the same node as the old run.
    let new = claim_one(admin.as_ref(), "a", 3).await;
    assert_ne!(new.lease.token, old.lease.token, "R38: tokens never repeat");
    store
        .append_logs(&[run_log(&old, 1, "old, during")])
        .await
        .unwrap();
    assert_eq!(
        store
            .complete(&[ran(&old, 1)], &[run_log(&old, 1, "old, completed")])
            .await
            .unwrap(),
        vec![CompletionOutcome::LeaseLost]
    );
    // The new run completes with its log; the old run's log comes later still.
    assert_eq!(
        admin
            .complete(&[ran(&new, 3)], &[run_log(&new, 3, "new")])
            .await
            .unwrap(),
        vec![CompletionOutcome::Saved]
    );
    store
        .append_logs(&[run_log(&old, 1, "old, after")])
        .await
        .unwrap();
    assert_eq!(
        messages(admin.as_ref(), "j").await,
        vec!["new"],
        "the new job has its own run's log and none of the old run's"
    );
}

/// R12, R39: the normal path logs every run: a log written while the run holds its lease
/// (then given back), with its completion, or after its completion — one that saved the
/// outcome, or one that the store recorded as interrupted by a pause. A log that names no
/// run is appended as it is.
pub async fn a_run_that_holds_its_job_is_logged(factory: &dyn DynStoreFactory) {
    // spec: R12, R39
    let store = factory.fresh().await;
    seed(
        store.as_ref(),
        &[
            queued("in-flight", 0),
            queued("with", 1),
            queued("paused", 2),
            queued("after", 3),
        ],
    )
    .await;

    // Each claim finds one job due: the next one's due time is after it.
    let in_flight = claim_one(store.as_ref(), "a", 0).await;
    store
        .append_logs(&[run_log(&in_flight, 0, "logged in flight")])
        .await
        .unwrap();
    assert!(
        store
            .give_back(&in_flight.lease, bgtasks_store::GiveBack::KeepSchedule)
            .await
            .unwrap()
            .is_saved()
    );

    let with = claim_one(store.as_ref(), "a", 1).await;
    assert_eq!(
        store
            .complete(&[ran(&with, 1)], &[run_log(&with, 1, "logged with it")])
            .await
            .unwrap(),
        vec![CompletionOutcome::Saved]
    );

    // Paused during its run, which learns of it from its completion: recorded as
    // interrupted, nothing counted, its start kept as the last run time — and its log,
    // written after the completion as the runtime writes it, kept by that.
    let paused = claim_one(store.as_ref(), "a", 2).await;
    store.pause("paused").await.unwrap().unwrap();
    assert_eq!(
        complete(store.as_ref(), ran(&paused, 2)).await,
        CompletionOutcome::Interrupted(bgtasks_abstractions::Interruption::Paused)
    );
    let after_pause = record(store.as_ref(), "paused").await;
    assert_eq!(
        (
            after_pause.job.status,
            after_pause.job.trigger_count,
            after_pause.job.last_run_time,
            after_pause.lease
        ),
        (JobStatus::Paused, 0, Some(t(2)), None)
    );
    store
        .append_logs(&[run_log(&paused, 2, "paused meanwhile")])
        .await
        .unwrap();

    let after = claim_one(store.as_ref(), "a", 3).await;
    assert_eq!(
        complete(store.as_ref(), ran(&after, 3)).await,
        CompletionOutcome::Saved
    );
    assert!(rules::keeps_run_log(
        Some(&record(store.as_ref(), "after").await),
        &run_log(&after, 3, "")
    ));
    store
        .append_logs(&[run_log(&after, 3, "logged after it")])
        .await
        .unwrap();

    store
        .append_logs(&[log("no-such-job", 5, "imported")])
        .await
        .unwrap();

    for (id, message) in [
        ("in-flight", "logged in flight"),
        ("with", "logged with it"),
        ("paused", "paused meanwhile"),
        ("after", "logged after it"),
        ("no-such-job", "imported"),
    ] {
        assert_eq!(
            messages(store.as_ref(), id).await,
            vec![message],
            "job {id}"
        );
    }
    let kept = store.list_logs("with", 1).await.unwrap().remove(0);
    assert_eq!(
        kept.lease_token, None,
        "the token is a condition of the append, not stored"
    );
}
