//! Leases: fencing, renewal, rescue, give-back, completion of the run state only,
//! batches.

use bgtasks_abstractions::{Interruption, JobArgs, JobPriority, JobStatus};
use bgtasks_store::{
    CompletionOutcome, DefinitionUpdate, GiveBack, RemoveIf, RenewOutcome, RunCompletion,
};

use crate::DynStoreFactory;
use crate::support::{LEASE, claim, claim_one, complete, finished, log, queued, record, seed, t};

/// Completion is fenced: after a rescue the old owner's result is refused.
pub async fn completion_is_fenced_by_the_lease_token(factory: &dyn DynStoreFactory) {
    let store = factory.fresh().await;
    seed(store.as_ref(), &[queued("j", 0)]).await;
    let first = claim_one(store.as_ref(), "a", 1).await;
    assert!(
        store.rescue(t(20)).await.unwrap().is_empty(),
        "not expired yet"
    );
    let rescued = store.rescue(t(40)).await.unwrap();
    assert_eq!(rescued.len(), 1);
    assert_eq!(
        (
            rescued[0].job_id.as_str(),
            rescued[0].node.as_str(),
            rescued[0].expired_at
        ),
        ("j", "a", t(31))
    );
    let logs = store.list_logs("j", 5).await.unwrap();
    assert!(
        logs[0]
            .exception
            .as_deref()
            .unwrap_or_default()
            .contains("node `a`"),
        "the log shows the interruption: {logs:?}"
    );
    let after_rescue = record(store.as_ref(), "j").await;
    assert_eq!(
        (
            after_rescue.job.try_count,
            after_rescue.job.trigger_count,
            after_rescue.lease
        ),
        (0, 0, None),
        "a rescue is not a failed try"
    );
    let second = claim_one(store.as_ref(), "b", 41).await;
    assert_ne!(second.lease.token, first.lease.token);
    assert_eq!(
        second.lease.due_at,
        t(0),
        "the rescued run is the same run, due at its old time"
    );
    let mut stale = finished(&first, JobStatus::Completed);
    stale.job.result = Some("stale".into());
    assert_eq!(
        complete(store.as_ref(), stale).await,
        CompletionOutcome::LeaseLost
    );
    assert_eq!(
        store
            .renew("a", std::slice::from_ref(&first.lease), LEASE, t(42))
            .await
            .unwrap(),
        vec![RenewOutcome::LeaseLost]
    );
    let mut fresh = finished(&second, JobStatus::Completed);
    fresh.job.result = Some("fresh".into());
    assert_eq!(
        complete(store.as_ref(), fresh).await,
        CompletionOutcome::Saved
    );
    let saved = record(store.as_ref(), "j").await;
    assert_eq!(
        (saved.job.status, saved.job.result.as_deref(), saved.lease),
        (JobStatus::Completed, Some("fresh"), None)
    );
    assert_eq!(
        store
            .give_back(&second.lease, GiveBack::KeepSchedule)
            .await
            .unwrap(),
        CompletionOutcome::LeaseLost,
        "a completed run's lease is over"
    );
}

/// Renewed leases are not rescued; a given-back run can be claimed again.
pub async fn renewed_leases_are_not_rescued_and_given_back_runs_come_back(
    factory: &dyn DynStoreFactory,
) {
    let store = factory.fresh().await;
    seed(store.as_ref(), &[queued("j", 0)]).await;
    let run = claim_one(store.as_ref(), "a", 1).await;
    assert_eq!(
        store
            .renew("b", std::slice::from_ref(&run.lease), LEASE, t(70))
            .await
            .unwrap(),
        vec![RenewOutcome::LeaseLost],
        "another node cannot renew it"
    );
    assert_eq!(
        store
            .renew("a", std::slice::from_ref(&run.lease), LEASE, t(70))
            .await
            .unwrap(),
        vec![RenewOutcome::Renewed]
    );
    assert_eq!(
        record(store.as_ref(), "j")
            .await
            .lease
            .map(|l| l.expires_at),
        Some(t(100))
    );
    assert!(store.rescue(t(60)).await.unwrap().is_empty());
    assert_eq!(
        store
            .give_back(&run.lease, GiveBack::RunAgain)
            .await
            .unwrap(),
        CompletionOutcome::Saved
    );
    assert_eq!(
        record(store.as_ref(), "j").await.job.next_run_time,
        Some(t(0))
    );
    let again = claim_one(store.as_ref(), "b", 2).await;
    assert_eq!(
        store
            .give_back(&again.lease, GiveBack::RunAt(t(50)))
            .await
            .unwrap(),
        CompletionOutcome::Saved
    );
    assert!(
        claim(store.as_ref(), "b", 49, 1).await.is_empty(),
        "due at t(50)"
    );
    let third = claim_one(store.as_ref(), "b", 50).await;
    assert_eq!(
        store
            .give_back(&third.lease, GiveBack::KeepSchedule)
            .await
            .unwrap(),
        CompletionOutcome::Saved
    );
    assert!(
        claim(store.as_ref(), "b", 100, 1).await.is_empty(),
        "kept the schedule the claim gave it: a Once job has none"
    );
}

/// R26, R39: a job removed during its run is gone: its node learns it at renewal, and its
/// completion writes nothing.
pub async fn a_job_removed_during_its_run_is_gone(factory: &dyn DynStoreFactory) {
    let store = factory.fresh().await;
    let other = factory.reopen(&store).await;
    seed(store.as_ref(), &[queued("j", 0)]).await;
    let run = claim_one(store.as_ref(), "a", 1).await;
    let removed = other.remove("j", RemoveIf::Always).await.unwrap().unwrap();
    assert!(removed.lease.is_some(), "it was running when removed");
    assert_eq!(
        store
            .renew("a", std::slice::from_ref(&run.lease), LEASE, t(2))
            .await
            .unwrap(),
        vec![RenewOutcome::Interrupt(Interruption::Removed)]
    );
    assert_eq!(
        complete(store.as_ref(), finished(&run, JobStatus::Completed)).await,
        CompletionOutcome::JobGone
    );
    assert!(store.find("j").await.unwrap().is_none());
    assert!(store.rescue(t(100)).await.unwrap().is_empty());
}

/// R20: completion writes the run-state fields only; the definition edited during the run
/// is kept.
pub async fn completion_writes_only_the_run_state(factory: &dyn DynStoreFactory) {
    let store = factory.fresh().await;
    seed(store.as_ref(), &[queued("j", 0)]).await;
    let run = claim_one(store.as_ref(), "a", 1).await;
    let edit = DefinitionUpdate {
        description: Some("edited during the run".into()),
        args: Some(JobArgs::new().with("k", "new")),
        max_try_count: Some(7),
        ..DefinitionUpdate::default()
    };
    store.update("j", &edit, None, t(1)).await.unwrap().unwrap();
    let mut outcome = run.job.clone();
    outcome.description = "stale".into();
    outcome.status = JobStatus::FailedRetry;
    outcome.trigger_count = 1;
    outcome.try_count = 1;
    outcome.interval = 450;
    outcome.priority = JobPriority::BelowNormal;
    outcome.last_run_time = Some(t(1));
    outcome.next_run_time = Some(t(451));
    outcome.result = Some("boom".into());
    outcome.base_interval = Some(300);
    let completion = RunCompletion::new(run.lease.clone(), outcome);
    assert_eq!(
        complete(store.as_ref(), completion).await,
        CompletionOutcome::Saved
    );
    let saved = record(store.as_ref(), "j").await;
    assert_eq!(saved.revision, 2, "the edit's revision stands");
    let saved = saved.job;
    assert_eq!(saved.description, "edited during the run");
    assert_eq!(saved.args.get_str("k").unwrap(), "new");
    assert_eq!(saved.max_try_count, 7);
    assert_eq!(
        (
            saved.status,
            saved.trigger_count,
            saved.try_count,
            saved.interval,
            saved.priority
        ),
        (JobStatus::FailedRetry, 1, 1, 450, JobPriority::BelowNormal)
    );
    assert_eq!(
        (saved.last_run_time, saved.next_run_time),
        (Some(t(1)), Some(t(451)))
    );
    assert_eq!(
        (saved.result.as_deref(), saved.base_interval),
        (Some("boom"), Some(300))
    );
    assert_eq!(
        store.next_due_time("a", None).await.unwrap(),
        Some(t(451)),
        "due again at its retry"
    );
}

/// Batched completions answer one outcome per run, in order; logs written with them are
/// all kept.
pub async fn batched_completions_and_logs(factory: &dyn DynStoreFactory) {
    let store = factory.fresh().await;
    let jobs: Vec<_> = (0..5).map(|i| queued(&format!("j{i}"), 0)).collect();
    seed(store.as_ref(), &jobs).await;
    let mut runs = claim(store.as_ref(), "a", 1, 5).await;
    runs.sort_by(|x, y| x.job.id.cmp(&y.job.id));
    store.remove("j1", RemoveIf::Always).await.unwrap().unwrap();
    assert_eq!(store.rescue(t(100)).await.unwrap().len(), 4);
    let mut all: Vec<RunCompletion> = runs
        .iter()
        .map(|run| finished(run, JobStatus::Completed))
        .collect();
    let fresh = claim_one(store.as_ref(), "b", 101).await;
    all.push(finished(&fresh, JobStatus::Completed));
    let logs: Vec<_> = (0..50)
        .map(|i| log("logged", i, &format!("run {i}")))
        .collect();
    let outcomes = store.complete(&all, &logs[..48]).await.unwrap();
    assert_eq!(outcomes.len(), 6);
    assert_eq!(outcomes[1], CompletionOutcome::JobGone, "j1 was removed");
    for (i, outcome) in outcomes.iter().enumerate().take(5) {
        if i != 1 {
            assert_eq!(*outcome, CompletionOutcome::LeaseLost, "j{i} was rescued");
        }
    }
    assert_eq!(outcomes[5], CompletionOutcome::Saved);
    assert_eq!(
        record(store.as_ref(), &fresh.job.id).await.job.status,
        JobStatus::Completed
    );
    assert!(store.complete(&[], &[]).await.unwrap().is_empty());
    store.append_logs(&logs[48..]).await.unwrap();
    store.append_logs(&[]).await.unwrap();
    let kept = store.list_logs("logged", 100).await.unwrap();
    assert_eq!(kept.len(), 50);
    assert_eq!(kept[0].message, "run 49");
}

/// A batch of give-backs ends each lease as [`give_back`] one after the other would, in
/// order: a stale token or a lease given back twice in the batch is lost, a removed
/// job is gone, a run paused during its run stays paused, each saved run keeps its mode.
///
/// [`give_back`]: bgtasks_store::JobRuns::give_back
pub async fn batched_give_backs_end_each_lease_once(factory: &dyn DynStoreFactory) {
    let store = factory.fresh().await;
    let admin = factory.reopen(&store).await;
    let jobs: Vec<_> = ["a", "b", "c", "d", "e"]
        .into_iter()
        .map(|id| queued(id, 0))
        .collect();
    seed(store.as_ref(), &jobs).await;
    let runs = claim(store.as_ref(), "n", 1, 5).await;
    let lease = |id: &str| {
        runs.iter()
            .find(|run| run.job.id == id)
            .map(|run| run.lease.clone())
            .unwrap_or_else(|| panic!("job `{id}` was claimed"))
    };
    let mut stale = lease("c");
    stale.token += 1_000;
    admin.remove("d", RemoveIf::Always).await.unwrap().unwrap();
    admin.pause("e").await.unwrap().unwrap();
    let outcomes = store
        .give_back_many(&[
            (lease("a"), GiveBack::RunAgain),
            (lease("b"), GiveBack::RunAt(t(50))),
            (lease("a"), GiveBack::KeepSchedule),
            (stale, GiveBack::RunAgain),
            (lease("d"), GiveBack::RunAgain),
            (lease("e"), GiveBack::KeepSchedule),
        ])
        .await
        .unwrap();
    assert_eq!(
        outcomes,
        vec![
            CompletionOutcome::Saved,
            CompletionOutcome::Saved,
            CompletionOutcome::LeaseLost,
            CompletionOutcome::LeaseLost,
            CompletionOutcome::JobGone,
            CompletionOutcome::Saved,
        ]
    );
    let a = record(store.as_ref(), "a").await;
    assert_eq!(
        (a.job.next_run_time, a.lease),
        (Some(t(0)), None),
        "run again"
    );
    let b = record(store.as_ref(), "b").await;
    assert_eq!(
        (b.job.next_run_time, b.lease),
        (Some(t(50)), None),
        "run at"
    );
    assert_eq!(
        record(store.as_ref(), "c").await.lease.map(|l| l.token),
        Some(lease("c").token),
        "a stale token gives nothing back"
    );
    let e = record(store.as_ref(), "e").await;
    assert_eq!(
        (e.job.status, e.job.next_run_time, e.interrupt, e.lease),
        (JobStatus::Paused, Some(t(0)), None, None),
        "paused, due at its run's due time once resumed"
    );
    let again: Vec<String> = claim(store.as_ref(), "n", 2, 5)
        .await
        .into_iter()
        .map(|run| run.job.id)
        .collect();
    assert_eq!(
        again,
        vec!["a".to_owned()],
        "b at t(50), c leased, e paused"
    );
    admin.resume("e", t(3)).await.unwrap().unwrap();
    assert_eq!(
        claim_one(store.as_ref(), "n", 3).await.lease.due_at,
        t(3),
        "resumed, due at once"
    );
}
