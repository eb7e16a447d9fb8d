//! The set-based SQL of the data path agrees with the rules: for every mix of what may
//! happen to a run in flight (pause, stop, trigger, resume, start, a definition update)
//! and every way the run ends (completed in each way, given back each way, rescued), the
//! store answers and leaves the job exactly as `bgtasks_store::rules` does on the record
//! the store held just before.

use bgtasks_abstractions::{JobInfo, JobStatus};
use bgtasks_sqlite::{SqliteJobStore, SqliteStoreOptions};
use bgtasks_store::{
    CompletionOutcome, DefinitionUpdate, GiveBack, JobControl, JobDefinitions, JobRecord, JobRuns,
    RunCompletion, rules,
};

use crate::{claim, queued, seed, t};

/// What happens to the job while its run is in flight.
#[derive(Debug, Clone, Copy)]
enum Meanwhile {
    Nothing,
    Pause,
    Stop,
    Trigger,
    PauseResume,
    PauseTrigger,
    TriggerPause,
    StopStart,
    TriggerStop,
    Update,
}

const MEANWHILE: [Meanwhile; 10] = [
    Meanwhile::Nothing,
    Meanwhile::Pause,
    Meanwhile::Stop,
    Meanwhile::Trigger,
    Meanwhile::PauseResume,
    Meanwhile::PauseTrigger,
    Meanwhile::TriggerPause,
    Meanwhile::StopStart,
    Meanwhile::TriggerStop,
    Meanwhile::Update,
];

/// How the run ends.
#[derive(Debug, Clone, Copy)]
enum End {
    Completed,
    Retry,
    Abandoned,
    Again,
    GiveBack(GiveBack),
    Rescue,
}

/// Every way a run ends.
fn ends() -> [End; 8] {
    [
        End::Completed,
        End::Retry,
        End::Abandoned,
        End::Again,
        End::GiveBack(GiveBack::RunAgain),
        End::GiveBack(GiveBack::KeepSchedule),
        End::GiveBack(GiveBack::RunAt(t(77))),
        End::Rescue,
    ]
}

async fn happen(store: &SqliteJobStore, id: &str, meanwhile: Meanwhile) {
    // A refusal changes nothing; the rules are checked on what the store then holds.
    let pause = || async { drop(store.pause(id).await.unwrap()) };
    let stop = || async { drop(store.stop(id).await.unwrap()) };
    let trigger = || async { drop(store.trigger(id, t(2)).await.unwrap()) };
    match meanwhile {
        Meanwhile::Nothing => {}
        Meanwhile::Pause => pause().await,
        Meanwhile::Stop => stop().await,
        Meanwhile::Trigger => trigger().await,
        Meanwhile::PauseResume => {
            pause().await;
            drop(store.resume(id, t(3)).await.unwrap());
        }
        Meanwhile::PauseTrigger => {
            pause().await;
            trigger().await;
        }
        Meanwhile::TriggerPause => {
            trigger().await;
            pause().await;
        }
        Meanwhile::StopStart => {
            stop().await;
            drop(store.start(id, t(3)).await.unwrap());
        }
        Meanwhile::TriggerStop => {
            trigger().await;
            stop().await;
        }
        Meanwhile::Update => {
            let update = DefinitionUpdate {
                description: Some("edited during the run".into()),
                begin_time: Some(t(500)),
                max_try_count: Some(9),
                ..DefinitionUpdate::default()
            };
            drop(store.update(id, &update, None, t(3)).await.unwrap());
        }
    }
}

/// The run's outcome for a completion.
fn outcome(claimed: &JobInfo, end: End) -> JobInfo {
    let mut job = claimed.clone();
    job.description = "stale".into();
    job.last_run_time = Some(t(1));
    match end {
        End::Completed => {
            job.status = JobStatus::Completed;
            job.trigger_count += 1;
            job.next_run_time = None;
            job.result = Some("done".into());
        }
        End::Retry => {
            job.status = JobStatus::FailedRetry;
            job.try_count += 1;
            job.interval = 450;
            job.base_interval = Some(300);
            job.next_run_time = Some(t(451));
            job.result = Some("boom".into());
        }
        End::Abandoned => {
            job.status = JobStatus::Stopped;
            job.try_count = 5;
            job.is_abandoned = true;
            job.next_run_time = None;
        }
        End::Again | End::GiveBack(_) | End::Rescue => {
            job.status = JobStatus::Running;
            job.trigger_count += 1;
        }
    }
    job
}

/// Runs one scenario on a store of its own; panics naming it where the store and the
/// rules disagree.
async fn scenario(kind: &str, start: JobInfo, meanwhile: Meanwhile, end: End) {
    let name = format!("{kind}, {meanwhile:?}, {end:?}");
    let store = SqliteJobStore::connect("sqlite::memory:", SqliteStoreOptions::default())
        .await
        .unwrap();
    seed(&store, &[start]).await;
    let run = claim(&store, "a", 1, 1).await.remove(0);
    happen(&store, &run.job.id, meanwhile).await;
    let before: JobRecord = store.find(&run.job.id).await.unwrap().unwrap();
    let mut expected = before.clone();
    match end {
        End::GiveBack(how) => {
            let rule = rules::give_back(&mut expected, run.lease.token, how);
            let got = store.give_back(&run.lease, how).await.unwrap();
            assert_eq!(got, rule, "{name}: the outcome");
        }
        End::Rescue => {
            assert!(rules::rescue(&mut expected), "{name}");
            let rescued = store.rescue(t(40)).await.unwrap();
            assert_eq!(rescued.len(), 1, "{name}: rescued");
        }
        End::Completed | End::Retry | End::Abandoned | End::Again => {
            let completion = RunCompletion::new(run.lease.clone(), outcome(&run.job, end));
            let rule = rules::complete(&mut expected, &completion);
            let got = store.complete(&[completion], &[]).await.unwrap();
            assert_eq!(got, vec![rule], "{name}: the outcome");
            assert_ne!(rule, CompletionOutcome::LeaseLost, "{name}");
        }
    }
    let after = store.find(&run.job.id).await.unwrap().unwrap();
    assert_eq!(
        after, expected,
        "{name}: the job as the rules leave it (before: {before:?})"
    );
    store.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_data_path_leaves_jobs_as_the_rules_do() {
    // spec: R20, R37, R38, R39, R40, R47
    let once = queued("once", 0);
    let mut persistent = JobInfo::persistent("persistent", "t", 60, 0);
    persistent.status = JobStatus::Running;
    persistent.trigger_count = 2;
    persistent.try_count = 1;
    persistent.next_run_time = Some(t(0));
    for (kind, start) in [("Once", once), ("Persistent", persistent)] {
        for meanwhile in MEANWHILE {
            for end in ends() {
                scenario(kind, start.clone(), meanwhile, end).await;
            }
        }
    }
}
