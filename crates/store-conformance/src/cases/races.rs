//! The races between the control path and runs in flight, each from a second handle
//! onto the same data (as another node or an admin would hold): every one is decided by
//! the store, atomically, never by a row written back.

use bgtasks_abstractions::{Interruption, JobInfo, JobStatus};
use bgtasks_store::{CompletionOutcome, GiveBack, RemoveIf, RenewOutcome};

use crate::DynStoreFactory;
use crate::support::{LEASE, claim, claim_one, complete, finished, queued, record, seed, t};

/// R38: a job removed while it runs and queued again under its id is a new job: the old
/// run can neither complete, renew nor give back anything of it, and the new job's run is
/// its own.
pub async fn an_old_run_cannot_touch_a_job_queued_again_under_its_id(
    factory: &dyn DynStoreFactory,
) {
    let store = factory.fresh().await;
    let admin = factory.reopen(&store).await;
    seed(store.as_ref(), &[queued("j", 0)]).await;
    let old = claim_one(store.as_ref(), "b", 1).await;
    admin.remove("j", RemoveIf::Always).await.unwrap().unwrap();
    let mut again = queued("j", 2);
    again.description = "the new job".into();
    seed(admin.as_ref(), &[again]).await;
    let new = claim_one(admin.as_ref(), "a", 3).await;
    assert_ne!(new.lease.token, old.lease.token, "R38: tokens never repeat");
    assert_eq!(
        complete(store.as_ref(), finished(&old, JobStatus::Completed)).await,
        CompletionOutcome::LeaseLost,
        "the old run's completion is refused"
    );
    assert_eq!(
        store
            .renew("b", std::slice::from_ref(&old.lease), LEASE, t(4))
            .await
            .unwrap(),
        vec![RenewOutcome::LeaseLost]
    );
    assert_eq!(
        store
            .give_back(&old.lease, GiveBack::RunAgain)
            .await
            .unwrap(),
        CompletionOutcome::LeaseLost
    );
    assert_eq!(
        admin
            .renew("a", std::slice::from_ref(&new.lease), LEASE, t(4))
            .await
            .unwrap(),
        vec![RenewOutcome::Renewed],
        "the new run's lease is untouched"
    );
    let current = record(admin.as_ref(), "j").await;
    assert_eq!(
        (
            current.job.status,
            current.job.trigger_count,
            current.job.description.as_str()
        ),
        (JobStatus::Queuing, 0, "the new job")
    );
    assert_eq!(
        complete(admin.as_ref(), finished(&new, JobStatus::Completed)).await,
        CompletionOutcome::Saved
    );
    assert_eq!(record(admin.as_ref(), "j").await.job.trigger_count, 1);
}

/// R39: a pause from another handle reaches the run at its renewal; whatever the run
/// returns, it is recorded as interrupted: Paused, nothing counted; resumed, it runs
/// exactly once more.
pub async fn a_pause_from_elsewhere_interrupts_the_run_and_charges_nothing(
    factory: &dyn DynStoreFactory,
) {
    let store = factory.fresh().await;
    let admin = factory.reopen(&store).await;
    seed(store.as_ref(), &[queued("j", 0)]).await;
    let run = claim_one(store.as_ref(), "b", 1).await;
    let paused = admin.pause("j").await.unwrap().unwrap();
    assert_eq!(
        (paused.job.status, paused.interrupt),
        (JobStatus::Paused, Some(Interruption::Paused))
    );
    assert_eq!(
        store
            .renew("b", std::slice::from_ref(&run.lease), LEASE, t(2))
            .await
            .unwrap(),
        vec![RenewOutcome::Interrupt(Interruption::Paused)]
    );
    assert_eq!(
        complete(store.as_ref(), finished(&run, JobStatus::Completed)).await,
        CompletionOutcome::Interrupted(Interruption::Paused),
        "a success that comes after the pause is not a success"
    );
    let after = record(admin.as_ref(), "j").await;
    assert_eq!(
        (
            after.job.status,
            after.job.trigger_count,
            after.job.try_count,
            after.lease
        ),
        (JobStatus::Paused, 0, 0, None)
    );
    assert!(claim(store.as_ref(), "b", 10, 1).await.is_empty(), "paused");
    admin.resume("j", t(20)).await.unwrap().unwrap();
    let again = claim_one(store.as_ref(), "b", 20).await;
    assert_eq!(
        complete(store.as_ref(), finished(&again, JobStatus::Completed)).await,
        CompletionOutcome::Saved
    );
    assert!(
        claim(store.as_ref(), "b", 30, 1).await.is_empty(),
        "exactly once more"
    );
    assert_eq!(
        record(admin.as_ref(), "j").await.job.status,
        JobStatus::Completed
    );
}

/// R39: a run given back after its pause (the node interrupted it) runs again once
/// resumed, with nothing counted.
pub async fn a_paused_run_given_back_runs_once_resumed(factory: &dyn DynStoreFactory) {
    let store = factory.fresh().await;
    let mut job = JobInfo::persistent("p", "t", 60, 0);
    job.status = JobStatus::Queuing;
    job.next_run_time = Some(t(0));
    seed(store.as_ref(), &[job]).await;
    let run = claim_one(store.as_ref(), "b", 1).await;
    store.pause("p").await.unwrap().unwrap();
    assert_eq!(
        store
            .give_back(&run.lease, GiveBack::KeepSchedule)
            .await
            .unwrap(),
        CompletionOutcome::Saved
    );
    let paused = record(store.as_ref(), "p").await;
    assert_eq!(
        (
            paused.job.status,
            paused.job.next_run_time,
            paused.interrupt
        ),
        (JobStatus::Paused, Some(t(0)), None),
        "due at its run's due time once resumed"
    );
    store.resume("p", t(5)).await.unwrap().unwrap();
    let again = claim_one(store.as_ref(), "b", 5).await;
    assert_eq!(again.lease.due_at, t(5));
}

/// R39: a stop from another handle reaches the run; the run's outcome does not revive
/// the job.
pub async fn a_stop_during_a_run_is_not_overwritten(factory: &dyn DynStoreFactory) {
    let store = factory.fresh().await;
    let admin = factory.reopen(&store).await;
    let mut job = JobInfo::persistent("p", "t", 60, 0);
    job.status = JobStatus::Running;
    job.trigger_count = 2;
    job.next_run_time = Some(t(0));
    seed(store.as_ref(), &[job]).await;
    let run = claim_one(store.as_ref(), "b", 1).await;
    admin.stop("p").await.unwrap().unwrap();
    assert_eq!(
        store
            .renew("b", std::slice::from_ref(&run.lease), LEASE, t(2))
            .await
            .unwrap(),
        vec![RenewOutcome::Interrupt(Interruption::Stopped)]
    );
    let mut failed = finished(&run, JobStatus::FailedRetry);
    failed.job.try_count = 1;
    failed.job.next_run_time = Some(t(450));
    assert_eq!(
        complete(store.as_ref(), failed).await,
        CompletionOutcome::Interrupted(Interruption::Stopped)
    );
    let stopped = record(admin.as_ref(), "p").await.job;
    assert_eq!(
        (
            stopped.status,
            stopped.next_run_time,
            stopped.try_count,
            stopped.trigger_count
        ),
        (JobStatus::Stopped, None, 0, 2)
    );
}

/// R40: triggers during a run are remembered: the job runs once more when the run ends,
/// however many triggers came.
pub async fn a_trigger_during_a_run_makes_it_run_once_more(factory: &dyn DynStoreFactory) {
    let store = factory.fresh().await;
    let admin = factory.reopen(&store).await;
    seed(store.as_ref(), &[queued("j", 0)]).await;
    let run = claim_one(store.as_ref(), "b", 1).await;
    for _ in 0..3 {
        let triggered = admin.trigger("j", t(2)).await.unwrap().unwrap();
        assert!(triggered.triggered && triggered.lease.is_some());
    }
    assert_eq!(
        complete(store.as_ref(), finished(&run, JobStatus::Completed)).await,
        CompletionOutcome::Saved
    );
    let after = record(admin.as_ref(), "j").await;
    assert_eq!(
        (after.job.status, after.job.trigger_count, after.triggered),
        (JobStatus::Running, 1, false),
        "not Completed: a trigger is waiting"
    );
    let again = claim_one(store.as_ref(), "b", 3).await;
    assert_eq!(
        complete(store.as_ref(), finished(&again, JobStatus::Completed)).await,
        CompletionOutcome::Saved
    );
    assert!(
        claim(store.as_ref(), "b", 100, 1).await.is_empty(),
        "once, not three times"
    );
    assert_eq!(
        record(admin.as_ref(), "j").await.job.status,
        JobStatus::Completed
    );
}

/// R37: a pause and a resume during a run leave the run alone; its completion stands, and
/// a Completed job is never revived by a late resume.
pub async fn pause_and_resume_during_a_run_never_revive_a_finished_job(
    factory: &dyn DynStoreFactory,
) {
    let store = factory.fresh().await;
    let admin = factory.reopen(&store).await;
    seed(store.as_ref(), &[queued("j", 0)]).await;
    let run = claim_one(store.as_ref(), "b", 1).await;
    admin.pause("j").await.unwrap().unwrap();
    admin.resume("j", t(2)).await.unwrap().unwrap();
    assert_eq!(
        store
            .renew("b", std::slice::from_ref(&run.lease), LEASE, t(3))
            .await
            .unwrap(),
        vec![RenewOutcome::Renewed],
        "the pause was withdrawn before the node learned of it"
    );
    assert_eq!(
        complete(store.as_ref(), finished(&run, JobStatus::Completed)).await,
        CompletionOutcome::Saved
    );
    assert!(admin.resume("j", t(4)).await.unwrap().is_err());
    assert!(admin.pause("j").await.unwrap().is_err());
    let done = record(admin.as_ref(), "j").await.job;
    assert_eq!((done.status, done.trigger_count), (JobStatus::Completed, 1));
    assert!(
        claim(store.as_ref(), "b", 100, 1).await.is_empty(),
        "it ran once"
    );
}

/// R30, R37: polling gives a first fire time to waiting jobs that have none, and never
/// touches a job in flight or one that finished.
pub async fn polling_never_touches_a_job_in_flight_or_finished(factory: &dyn DynStoreFactory) {
    let store = factory.fresh().await;
    let admin = factory.reopen(&store).await;
    let mut unscheduled = queued("outside", 0);
    unscheduled.next_run_time = None;
    unscheduled.begin_time = t(-5);
    let mut elsewhere = queued("pinned-elsewhere", 0);
    elsewhere.next_run_time = None;
    elsewhere.node_name = Some("other".into());
    let mut ended = queued("ended", 0);
    ended.next_run_time = None;
    ended.begin_time = t(-20);
    ended.end_time = Some(t(-10));
    seed(
        store.as_ref(),
        &[queued("once", 0), unscheduled, elsewhere, ended],
    )
    .await;
    let run = claim_one(store.as_ref(), "b", 1).await;
    assert_eq!(run.job.id, "once");
    assert_eq!(
        run.job.next_run_time, None,
        "in flight with no next run time"
    );
    let published = admin.publish_waiting("b", t(2), 100).await.unwrap();
    assert_eq!(published, vec!["outside".to_owned()]);
    assert_eq!(
        record(admin.as_ref(), "outside").await.job.next_run_time,
        Some(t(-5))
    );
    assert_eq!(
        record(admin.as_ref(), "pinned-elsewhere")
            .await
            .job
            .next_run_time,
        None
    );
    assert_eq!(record(admin.as_ref(), "once").await.job.next_run_time, None);
    assert_eq!(
        complete(store.as_ref(), finished(&run, JobStatus::Completed)).await,
        CompletionOutcome::Saved
    );
    assert!(
        admin
            .publish_waiting("b", t(3), 100)
            .await
            .unwrap()
            .is_empty()
    );
    let done = record(admin.as_ref(), "once").await.job;
    assert_eq!(
        (done.status, done.next_run_time),
        (JobStatus::Completed, None)
    );
}

/// R29, R37: checking stops only Running jobs scheduled nowhere — not one that another
/// node runs, not one with a next run.
pub async fn checking_stops_only_jobs_scheduled_nowhere(factory: &dyn DynStoreFactory) {
    let store = factory.fresh().await;
    let other_node = factory.reopen(&store).await;
    let running = |id: &str, next: Option<i64>| {
        let mut job = queued(id, 0);
        job.status = JobStatus::Running;
        job.trigger_count = 1;
        job.next_run_time = next.map(t);
        job
    };
    let mut pinned_elsewhere = running("lost-elsewhere", None);
    pinned_elsewhere.node_name = Some("c".into());
    seed(
        store.as_ref(),
        &[
            running("lost", None),
            running("scheduled", Some(50)),
            running("in-flight", Some(0)),
            pinned_elsewhere,
        ],
    )
    .await;
    let run = claim_one(other_node.as_ref(), "b", 1).await;
    assert_eq!(run.job.id, "in-flight");
    assert_eq!(
        store.stop_lost("a", 100).await.unwrap(),
        vec!["lost".to_owned()]
    );
    assert_eq!(
        record(store.as_ref(), "lost").await.job.status,
        JobStatus::Stopped
    );
    for id in ["scheduled", "in-flight", "lost-elsewhere"] {
        assert_eq!(
            record(store.as_ref(), id).await.job.status,
            JobStatus::Running,
            "{id} is left alone"
        );
    }
}
