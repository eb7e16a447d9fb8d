//! The set-based statements of the data path (complete, give back, rescue) give the
//! results of the rules of `bgtasks_store::rules`, whatever was asked of the job during
//! its run (a pause, a stop, triggers, and their withdrawals): every scenario is played
//! on the store and, by the rule, on the record the store showed just before, and the two
//! must agree.
// spec: R37, R39, R40

use bgtasks_abstractions::{JobInfo, JobStatus};
use bgtasks_store::{
    ClaimRequest, CompletionOutcome, GiveBack, JobControl, JobDefinitions, JobRecord, JobRuns,
    RunCompletion, rules,
};
use bgtasks_store_conformance::support::finished;
use bgtasks_store_conformance::{queued, t};

use super::LEASE;
use crate::support;

/// A control transition asked of the job while it runs.
#[derive(Debug, Clone, Copy)]
enum Op {
    Pause,
    Stop,
    Trigger,
    Resume,
    Start,
}

/// What may be asked of a job while it runs, in order.
const ASKED: [&[Op]; 9] = [
    &[],
    &[Op::Pause],
    &[Op::Stop],
    &[Op::Trigger],
    &[Op::Trigger, Op::Trigger],
    &[Op::Pause, Op::Resume],
    &[Op::Stop, Op::Start],
    &[Op::Pause, Op::Trigger],
    &[Op::Trigger, Op::Pause],
];

/// How the run ends.
#[derive(Debug, Clone, Copy)]
enum Ending {
    Completed,
    Failed,
    Abandoned,
    GiveBack(GiveBack),
    Rescue,
}

fn endings() -> [Ending; 7] {
    [
        Ending::Completed,
        Ending::Failed,
        Ending::Abandoned,
        Ending::GiveBack(GiveBack::RunAgain),
        Ending::GiveBack(GiveBack::KeepSchedule),
        Ending::GiveBack(GiveBack::RunAt(t(50))),
        Ending::Rescue,
    ]
}

fn job(kind: usize, id: &str) -> JobInfo {
    let mut job = match kind {
        0 => queued(id, 0),
        1 => JobInfo::persistent(id, "t", 60, 0),
        _ => JobInfo::period(id, "t", "0/10 * * * * ?"),
    };
    job.status = JobStatus::Queuing;
    job.creation_time = t(-1000);
    job.begin_time = t(-1000);
    job.next_run_time = Some(t(0));
    job.trigger_count = 2;
    // Pinned to a node of its own, so that each scenario claims its own job.
    job.node_name = Some(id.to_owned());
    job
}

async fn ask(store: &impl JobControl, id: &str, asked: &[Op]) {
    for op in asked {
        let done = match op {
            Op::Pause => store.pause(id).await,
            Op::Stop => store.stop(id).await,
            Op::Trigger => store.trigger(id, t(2)).await,
            Op::Resume => store.resume(id, t(3)).await,
            Op::Start => store.start(id, t(3)).await,
        };
        done.unwrap()
            .unwrap_or_else(|refusal| panic!("{op:?} {id}: {refusal}"));
    }
}

fn completion(run: &bgtasks_store::ClaimedRun, ending: Ending) -> RunCompletion {
    match ending {
        Ending::Failed => {
            let mut done = finished(run, JobStatus::FailedRetry);
            done.job.try_count += 1;
            done.job.next_run_time = Some(t(451));
            done.job.result = Some("boom".into());
            done
        }
        Ending::Abandoned => {
            let mut done = finished(run, JobStatus::Stopped);
            done.job.try_count = 50;
            done.job.is_abandoned = true;
            done.job.next_run_time = None;
            done
        }
        _ => finished(run, JobStatus::Completed),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn complete_give_back_and_rescue_agree_with_the_rules() {
    let url = support::fresh_database().await;
    let store = support::connect_fixed(&url).await;
    let mut scenarios = 0;
    for kind in 0..3 {
        for (a, asked) in ASKED.into_iter().enumerate() {
            for (e, ending) in endings().into_iter().enumerate() {
                let id = format!("job-{kind}-{a}-{e}");
                let context = format!("kind {kind}, {asked:?}, {ending:?}");
                store.insert(&[job(kind, &id)]).await.unwrap();
                let mut runs = store
                    .claim(&ClaimRequest {
                        node: &id,
                        now: t(1),
                        limit: 1,
                        lease: LEASE,
                        job_types: None,
                    })
                    .await
                    .unwrap();
                assert_eq!(runs.len(), 1, "{context}");
                let run = runs.remove(0);
                ask(&store, &id, asked).await;
                let mut expected: JobRecord = store.find(&id).await.unwrap().unwrap();
                let (outcome, want) = match ending {
                    Ending::GiveBack(how) => (
                        store.give_back(&run.lease, how).await.unwrap(),
                        rules::give_back(&mut expected, run.lease.token, how),
                    ),
                    Ending::Rescue => {
                        let rescued = store.rescue(t(1000)).await.unwrap();
                        assert!(rescued.iter().any(|r| r.job_id == id), "{context}");
                        assert!(rules::rescue(&mut expected), "{context}");
                        (CompletionOutcome::Saved, CompletionOutcome::Saved)
                    }
                    _ => {
                        let done = completion(&run, ending);
                        let outcome = store
                            .complete(std::slice::from_ref(&done), &[])
                            .await
                            .unwrap();
                        (outcome[0], rules::complete(&mut expected, &done))
                    }
                };
                assert_eq!(outcome, want, "{context}");
                let stored = store.find(&id).await.unwrap().unwrap();
                assert_eq!(stored, expected, "{context}");
                scenarios += 1;
            }
        }
    }
    assert_eq!(scenarios, 3 * 9 * 7);
}
