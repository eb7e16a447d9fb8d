//! Definitions: insert, find, update under a revision, remove under a condition.

use bgtasks_abstractions::{JobArgs, JobInfo, JobPriority, JobStatus};
use bgtasks_store::{DefinitionUpdate, Refusal, RemoveIf};

use crate::DynStoreFactory;
use crate::support::{claim_one, log, queued, record, seed, t};

/// R27: insert refuses existing and repeated ids; find; remove returns the job.
pub async fn insert_find_remove(factory: &dyn DynStoreFactory) {
    let store = factory.fresh().await;
    let job = queued("j", 0);
    assert_eq!(
        store.insert(std::slice::from_ref(&job)).await.unwrap(),
        vec![true]
    );
    let mut changed = job.clone();
    changed.description = "must not replace".into();
    assert_eq!(
        store.insert(&[changed]).await.unwrap(),
        vec![false],
        "an existing id is refused"
    );
    assert_eq!(record(store.as_ref(), "j").await.job, job);
    let batch = [
        queued("m1", 0),
        queued("j", 0),
        queued("m2", 0),
        queued("m1", 5),
    ];
    assert_eq!(
        store.insert(&batch).await.unwrap(),
        vec![true, false, true, false],
        "existing and repeated ids are refused; the first of repeated ids wins"
    );
    assert_eq!(
        record(store.as_ref(), "m1").await.job.next_run_time,
        Some(t(0))
    );
    assert!(store.insert(&[]).await.unwrap().is_empty());
    let removed = store.remove("j", RemoveIf::Always).await.unwrap().unwrap();
    assert_eq!(removed.job, job, "remove returns the job as it was");
    assert_eq!(
        store.remove("j", RemoveIf::Always).await.unwrap(),
        Err(Refusal::NotFound)
    );
    assert!(store.find("j").await.unwrap().is_none());
    assert!(store.find("never").await.unwrap().is_none());
}

/// R37: a removal allowed for Stopped jobs only refuses others, naming their state.
pub async fn removal_of_stopped_jobs_only_refuses_the_others(factory: &dyn DynStoreFactory) {
    let store = factory.fresh().await;
    let mut stopped = queued("stopped", 0);
    stopped.status = JobStatus::Stopped;
    seed(store.as_ref(), &[stopped, queued("active", 0)]).await;
    match store.remove("active", RemoveIf::Stopped).await.unwrap() {
        Err(Refusal::StateChanged(current)) => {
            assert_eq!(current.job.status, JobStatus::Queuing)
        }
        other => panic!("expected a refusal naming the state, got {other:?}"),
    }
    assert!(
        store.find("active").await.unwrap().is_some(),
        "nothing removed"
    );
    assert!(
        store
            .remove("stopped", RemoveIf::Stopped)
            .await
            .unwrap()
            .is_ok()
    );
    assert!(store.find("stopped").await.unwrap().is_none());
}

/// R46: removing a job removes its run logs and its actions: a job queued again under
/// the id inherits neither.
pub async fn removing_a_job_removes_its_logs(factory: &dyn DynStoreFactory) {
    let store = factory.fresh().await;
    let mailed = queued("gone", 0).with_action(
        bgtasks_abstractions::JobAction::new("mail").with_parameter("to", "old@example.com"),
    );
    seed(store.as_ref(), &[mailed, queued("kept", 0)]).await;
    assert_eq!(
        store.find("gone").await.unwrap().unwrap().job.actions.len(),
        1,
        "the actions are stored with the job"
    );
    store
        .append_logs(&[
            log("gone", 1, "a"),
            log("gone", 2, "b"),
            log("kept", 3, "c"),
        ])
        .await
        .unwrap();
    store
        .remove("gone", RemoveIf::Always)
        .await
        .unwrap()
        .unwrap();
    assert!(store.list_logs("gone", 10).await.unwrap().is_empty());
    assert_eq!(store.list_logs("kept", 10).await.unwrap().len(), 1);
    seed(store.as_ref(), &[queued("gone", 0)]).await;
    assert!(
        store.list_logs("gone", 10).await.unwrap().is_empty(),
        "a job queued again under the id inherits no logs"
    );
    assert!(
        store
            .find("gone")
            .await
            .unwrap()
            .unwrap()
            .job
            .actions
            .is_empty(),
        "a job queued again under the id inherits no actions"
    );
}

/// R37: an update writes the definition fields it names, grows the revision, and is
/// refused when the caller's revision is no longer the job's.
pub async fn updates_are_conditioned_on_the_revision(factory: &dyn DynStoreFactory) {
    let store = factory.fresh().await;
    let mut job = queued("j", 0);
    job.trigger_count = 3;
    job.try_count = 1;
    job.status = JobStatus::FailedRetry;
    seed(store.as_ref(), &[job]).await;
    let update = DefinitionUpdate {
        description: Some("new text".into()),
        args: Some(JobArgs::new().with("k", "v")),
        priority: Some(JobPriority::High),
        max_try_count: Some(9),
        node_name: Some(Some("node-b".into())),
        time_limit: Some(Some(45)),
        actions: Some(vec![
            bgtasks_abstractions::JobAction::new("JobExecutedFailedProvider")
                .with_parameter("to", "ops@example.com"),
        ]),
        ..DefinitionUpdate::default()
    };
    let updated = store
        .update("j", &update, Some(1), t(5))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(updated.revision, 2);
    assert_eq!(updated.job.description, "new text");
    assert_eq!(updated.job.args.get_str("k").unwrap(), "v");
    assert_eq!(
        (updated.job.priority, updated.job.max_try_count),
        (JobPriority::High, 9)
    );
    assert_eq!(updated.job.node_name.as_deref(), Some("node-b"));
    assert_eq!(updated.job.time_limit, Some(45));
    assert_eq!(updated.job.actions.len(), 1);
    assert_eq!(
        updated.job.actions[0].parameter_text("to").as_deref(),
        Some("ops@example.com")
    );
    assert_eq!(
        (
            updated.job.status,
            updated.job.trigger_count,
            updated.job.try_count
        ),
        (JobStatus::FailedRetry, 3, 1),
        "the run state is left alone"
    );
    assert_eq!(
        updated.job.next_run_time,
        Some(t(0)),
        "the schedule did not change"
    );
    assert_eq!(record(store.as_ref(), "j").await, updated);
    let stale = DefinitionUpdate {
        description: Some("from a stale read".into()),
        ..DefinitionUpdate::default()
    };
    match store.update("j", &stale, Some(1), t(5)).await.unwrap() {
        Err(Refusal::StateChanged(current)) => assert_eq!(current.revision, 2),
        other => panic!("a stale revision is refused, got {other:?}"),
    }
    assert_eq!(
        record(store.as_ref(), "j").await.job.description,
        "new text"
    );
    let unconditioned = store
        .update("j", &stale, None, t(5))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(unconditioned.revision, 3);
    assert_eq!(
        store.update("none", &stale, None, t(5)).await.unwrap(),
        Err(Refusal::NotFound)
    );
    let nodes = DefinitionUpdate {
        node_name: Some(None),
        ..DefinitionUpdate::default()
    };
    let unpinned = store
        .update("j", &nodes, None, t(5))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(unpinned.job.node_name, None);
}

/// R37: a changed schedule reschedules a job that waits, not one that runs.
pub async fn a_changed_schedule_reschedules_a_waiting_job(factory: &dyn DynStoreFactory) {
    let store = factory.fresh().await;
    let mut period = JobInfo::period("cron", "t", "0 0 * * * ?");
    period.status = JobStatus::Queuing;
    period.next_run_time = Some(t(3600));
    let mut persistent = JobInfo::persistent("later", "t", 60, 0);
    persistent.status = JobStatus::Queuing;
    persistent.begin_time = t(-1000);
    persistent.next_run_time = Some(t(-1000));
    seed(store.as_ref(), &[period, persistent, queued("busy", 0)]).await;
    let every_ten = DefinitionUpdate {
        cron: Some("0/10 * * * * ?".into()),
        ..DefinitionUpdate::default()
    };
    let cron = store
        .update("cron", &every_ten, None, t(1))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(cron.job.cron.as_deref(), Some("0/10 * * * * ?"));
    assert_eq!(
        cron.job.next_run_time,
        Some(t(10)),
        "the first new tick from now"
    );
    let begin = DefinitionUpdate {
        begin_time: Some(t(500)),
        ..DefinitionUpdate::default()
    };
    let later = store
        .update("later", &begin, None, t(1))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        later.job.next_run_time,
        Some(t(500)),
        "a job that never ran begins anew"
    );
    let run = claim_one(store.as_ref(), "a", 1).await;
    assert_eq!(run.job.id, "busy");
    let busy = store
        .update("busy", &begin, None, t(2))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        busy.job.next_run_time, None,
        "a running job keeps the schedule its claim gave it"
    );
    assert!(busy.lease.is_some());
}

/// R37: two handles updating from the same read: exactly one wins; inserts of one id
/// race to one winner.
pub async fn concurrent_writers_of_one_job_never_mix(factory: &dyn DynStoreFactory) {
    let store = factory.fresh().await;
    let other = factory.reopen(&store).await;
    let mut a = queued("shared", 0);
    a.description = "from a".into();
    let mut b = queued("shared", 0);
    b.description = "from b".into();
    let (ra, rb) = tokio::join!(
        store.insert(std::slice::from_ref(&a)),
        other.insert(std::slice::from_ref(&b))
    );
    let winners = [ra.unwrap()[0], rb.unwrap()[0]];
    assert_eq!(winners.iter().filter(|w| **w).count(), 1, "one insert wins");
    for round in 0..10 {
        let seen = record(store.as_ref(), "shared").await.revision;
        let from_a = DefinitionUpdate {
            description: Some(format!("a {round}")),
            priority: Some(JobPriority::High),
            ..DefinitionUpdate::default()
        };
        let from_b = DefinitionUpdate {
            description: Some(format!("b {round}")),
            priority: Some(JobPriority::Low),
            ..DefinitionUpdate::default()
        };
        let (ra, rb) = tokio::join!(
            store.update("shared", &from_a, Some(seen), t(0)),
            other.update("shared", &from_b, Some(seen), t(0))
        );
        let (ra, rb) = (ra.unwrap(), rb.unwrap());
        assert_eq!(
            usize::from(ra.is_ok()) + usize::from(rb.is_ok()),
            1,
            "round {round}: exactly one update from revision {seen} applies"
        );
        let saved = record(other.as_ref(), "shared").await;
        assert_eq!(saved.revision, seen + 1);
        let whole_a = saved.job.description == format!("a {round}")
            && saved.job.priority == JobPriority::High;
        let whole_b =
            saved.job.description == format!("b {round}") && saved.job.priority == JobPriority::Low;
        assert!(whole_a || whole_b, "a whole update, never a mix: {saved:?}");
    }
}
