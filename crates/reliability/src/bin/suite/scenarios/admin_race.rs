//! Scenario 13, `admin-vs-completion` (R37): thousands of short jobs drained by two
//! worker processes while the suite's process pauses, resumes and triggers them at random
//! and polls (publishes waiting jobs) — every operation racing claims and completions.
//! Afterwards every job is in the state its last applied operation implies (Paused after
//! a pause; else Completed), no job ran more often than its triggers allow, none ran
//! twice at once, none was lost, no lease is left.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use bgtasks::{JobInfo, JobScheduler, JobStatus};
use bgtasks_reliability::runlog;

use super::record;
use crate::harness::{
    Context, Env, Res, Spec, StoreKind, Suite, deaths, describe_states, ensure, wait_for,
};

/// An operation the suite applies to a job.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Op {
    Pause,
    Resume,
    Trigger,
}

fn jobs(kind: StoreKind) -> usize {
    match kind {
        StoreKind::Postgres => 2000,
        StoreKind::Sqlite => 1000,
    }
}

const RACERS: usize = 4;
const RACE: Duration = Duration::from_secs(6);

/// One racer: applies random operations to its own jobs (ids `i % RACERS == k`) until
/// the race ends; returns the operations each store applied, in order.
async fn race(env: &Env, ids: Vec<String>, seed: u64) -> Res<(HashMap<String, Vec<Op>>, usize)> {
    let admin = env.admin()?;
    let mut rng = fastrand::Rng::with_seed(seed);
    let mut applied: HashMap<String, Vec<Op>> = HashMap::new();
    let mut attempts = 0;
    let started = Instant::now();
    while started.elapsed() < RACE {
        attempts += 1;
        let id = &ids[rng.usize(..ids.len())];
        let roll = rng.u8(..100);
        let (op, outcome) = if roll < 10 {
            env.store
                .jobs
                .publish_waiting("suite", chrono::Utc::now(), 100)
                .await
                .ctx("poll")?;
            continue;
        } else if roll < 45 {
            (Op::Pause, admin.pause(id).await.ctx("pause")?)
        } else if roll < 80 {
            (Op::Resume, admin.resume(id).await.ctx("resume")?)
        } else {
            let job = JobInfo::once(id.clone(), "record");
            (Op::Trigger, admin.trigger(job).await.ctx("trigger")?)
        };
        if outcome.is_ok() {
            applied.entry(id.clone()).or_default().push(op);
        }
    }
    Ok((applied, attempts))
}

pub(crate) async fn run(suite: &Suite, kind: StoreKind) -> Res<String> {
    let env = suite.env(kind, "admin").await?;
    let spec = Spec {
        workers: 4,
        lease_ms: 5000,
        renew_ms: 1000,
        ..Spec::default()
    };
    let mut workers = vec![env.spawn("w1", spec).await?, env.spawn("w2", spec).await?];
    let count = jobs(kind);
    let ids: Vec<String> = (0..count).map(|i| format!("adm-{i:05}")).collect();
    env.queue(
        ids.iter()
            .enumerate()
            .map(|(i, id)| record(id.clone(), (i % 4) as u64))
            .collect(),
    )
    .await?;
    let racers = (0..RACERS).map(|k| {
        let own: Vec<String> = ids.iter().skip(k).step_by(RACERS).cloned().collect();
        race(&env, own, 0x5eed + k as u64)
    });
    let mut applied: HashMap<String, Vec<Op>> = HashMap::new();
    let mut attempts = 0;
    for result in futures_util::future::join_all(racers).await {
        let (ops, tried) = result?;
        applied.extend(ops);
        attempts += tried;
    }
    let ops: usize = applied.values().map(Vec::len).sum();

    // Settle: every job Completed or Paused, no lease held.
    let settled = wait_for(Duration::from_secs(90), "every job to settle", || async {
        let states = env.raw.states("adm-").await?;
        let done = states.iter().all(|s| {
            !s.leased
                && (s.status == i64::from(JobStatus::Completed.code())
                    || s.status == i64::from(JobStatus::Paused.code()))
        });
        Ok(done.then_some(states))
    })
    .await?;
    ensure!(
        settled.len() == count,
        "{} of {count} jobs are in the store",
        settled.len()
    );

    let mut wrong = Vec::new();
    let (mut paused, mut triggered_more) = (0, 0);
    for state in &settled {
        let ops = applied
            .get(&state.id)
            .map(Vec::as_slice)
            .unwrap_or_default();
        let last_pause = ops.last() == Some(&Op::Pause);
        let triggers = ops.iter().filter(|op| **op == Op::Trigger).count() as i64;
        let expected = if last_pause {
            JobStatus::Paused
        } else {
            JobStatus::Completed
        };
        let status_ok = state.status == i64::from(expected.code());
        let runs_ok = state.trigger_count <= 1 + triggers
            && (expected != JobStatus::Completed || state.trigger_count >= 1)
            && state.try_count == 0;
        if !(status_ok && runs_ok) {
            wrong.push(format!(
                "{}: status {} ({} expected after {ops:?}), {} runs, {} tries",
                state.id, state.status, expected, state.trigger_count, state.try_count
            ));
        }
        paused += usize::from(last_pause);
        triggered_more += usize::from(state.trigger_count > 1);
    }
    ensure!(
        wrong.is_empty(),
        "{} jobs are not in the state their last operation implies ({}): {:?}",
        wrong.len(),
        describe_states(&settled),
        &wrong[..wrong.len().min(5)]
    );
    let runs = env.runs()?;
    let overlaps = runlog::overlaps(&runs, &deaths(&[&workers[0], &workers[1]]));
    ensure!(
        overlaps.is_empty(),
        "{} concurrent duplicates",
        overlaps.len()
    );
    for worker in &mut workers {
        let (status, _) = worker.terminate(Duration::from_secs(20)).await?;
        ensure!(
            status.success(),
            "worker {} exited with {status}",
            worker.node
        );
    }
    env.raw.close().await;
    Ok(format!(
        "{count} jobs drained by 2 processes while the suite made {attempts} operations \
         ({ops} applied: pause, resume, trigger; plus polling) racing their completions: every \
         job in the state its last operation implies ({paused} Paused, {} Completed, \
         {triggered_more} of them run again by a trigger), none beyond its triggers, 0 \
         concurrent duplicates, 0 lost, 0 leases left",
        count - paused
    ))
}
