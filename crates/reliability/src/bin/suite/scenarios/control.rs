//! Scenarios 11 and 12: the control plane across processes. The suite's own process is
//! "process 1" (an admin holding a handle on the store); the worker processes run the
//! jobs.
//!
//! - `reinsert-during-run` (R38): a running job is removed and a new one queued under its
//!   id; the old run goes on (it ignores its cancellation) and finishes; its outcome is
//!   never applied to the new job, which runs once and keeps its own state.
//! - `pause-across-nodes` (R39): a job running in a worker is paused, and another removed,
//!   from the suite's process: each run is interrupted within one renewal interval,
//!   nothing is charged, the removed job is gone, and the paused one, resumed, runs
//!   exactly once more.

use std::time::{Duration, Instant};

use bgtasks::{JobScheduler, JobStatus};
use bgtasks_reliability::runlog::{self, now_micros};

use super::{check_completed_once, record};
use crate::harness::{Context, Env, Res, Spec, StoreKind, Suite, ensure, runs_of, secs, wait_for};

/// Waits until the job's run log shows a run started (by any process).
async fn started(env: &Env, id: &str) -> Res<()> {
    wait_for(
        Duration::from_secs(30),
        &format!("{id} to start"),
        || async {
            let runs = env.runs()?;
            Ok(runs_of(&runs, id)
                .iter()
                .any(|r| r.start.is_some())
                .then_some(()))
        },
    )
    .await
}

pub(crate) async fn reinsert_during_run(suite: &Suite, kind: StoreKind) -> Res<String> {
    let env = suite.env(kind, "reinsert").await?;
    let spec = Spec {
        workers: 2,
        lease_ms: 3000,
        renew_ms: 500,
        interrupt_grace_ms: 15_000,
        ..Spec::default()
    };
    let mut worker = env.spawn("w1", spec).await?;
    let admin = env.admin()?;
    let ids = ["reins-short", "reins-long"];
    let mut paths = Vec::new();
    let refusals = |worker: &crate::harness::Worker| {
        worker.log_count("its result is discarded")
            + worker.log_count("job was removed during its run")
    };
    let mut refused_before = refusals(&worker);
    for (id, old_ms) in ids.iter().zip([300u64, 4000]) {
        env.queue(vec![
            record(*id, old_ms)
                .with_arg("ignore_cancel", true)
                .with_arg("tag", "old")
                .with_description("the old job"),
        ])
        .await?;
        started(&env, id).await?;
        let removed = admin
            .remove(id)
            .await
            .ctx("remove")?
            .map_err(|r| format!("remove {id}: {r}"))?;
        ensure!(removed.lease.is_some(), "{id} was not running when removed");
        env.queue(vec![
            record(*id, 100)
                .with_arg("tag", "new")
                .with_description("the new job"),
        ])
        .await?;
        env.wait_completed(id, 1, Duration::from_secs(30)).await?;
        // The old run goes on to its end (it ignores cancellation); wait for it. (Two runs
        // of one id overlap in one process here, so count `end` lines, not assembled runs.)
        wait_for(Duration::from_secs(30), "the old run to end", || async {
            let lines = runlog::read_dir(&env.runs_dir).ctx("read the run logs")?;
            let ended = lines
                .iter()
                .filter(|l| l.job == *id && l.event == runlog::Event::End)
                .count();
            Ok((ended >= 2).then_some(()))
        })
        .await?;
        // Its outcome is the runtime's to save or drop by now; give the worker's writer
        // a moment by waiting for the lease table to show no lease of it.
        env.wait_completed(id, 1, Duration::from_secs(30)).await?;
        let job = env
            .store
            .jobs
            .find(id)
            .await
            .ctx("find")?
            .ok_or_else(|| format!("{id} is lost"))?
            .job;
        ensure!(
            job.status == JobStatus::Completed
                && job.trigger_count == 1
                && job.description == "the new job"
                && job
                    .result
                    .as_deref()
                    .is_some_and(|r| r.starts_with("tag new")),
            "{id}: the new job's state is not its own: {} runs, result {:?}, description {:?}",
            job.trigger_count,
            job.result,
            job.description
        );
        let runs = env.runs()?;
        let tokens: Vec<Option<i64>> = runs_of(&runs, id).iter().map(|r| r.token).collect();
        ensure!(
            tokens.len() == 2 && tokens[0] != tokens[1],
            "{id}: expected the old and the new run under two tokens, got {tokens:?}"
        );
        let refused = refusals(&worker);
        paths.push(if refused > refused_before {
            "completion refused"
        } else {
            "interrupted at renewal"
        });
        refused_before = refused;
    }
    check_completed_once(&env, &ids.map(str::to_owned)).await?;
    let (status, _) = worker.terminate(Duration::from_secs(20)).await?;
    ensure!(status.success(), "the worker exited with {status}");
    env.raw.close().await;
    Ok(format!(
        "2 running jobs removed and queued again under their ids (old runs of 0.3 s and 4 s \
         ignoring cancellation): each new job ran once with its own state; the old runs ended \
         and wrote nothing ({}); tokens never repeated",
        paths.join(", ")
    ))
}

pub(crate) async fn pause_across_nodes(suite: &Suite, kind: StoreKind) -> Res<String> {
    let env = suite.env(kind, "pause").await?;
    const RENEW_MS: u64 = 1000;
    let spec = Spec {
        workers: 2,
        lease_ms: 5000,
        renew_ms: RENEW_MS,
        ..Spec::default()
    };
    let mut worker = env.spawn("runner", spec).await?;
    let admin = env.admin()?;
    env.queue(vec![record("pan-pause", 6000), record("pan-remove", 6000)])
        .await?;
    started(&env, "pan-pause").await?;
    started(&env, "pan-remove").await?;
    let paused_at = now_micros();
    let paused = admin
        .pause("pan-pause")
        .await
        .ctx("pause")?
        .map_err(|r| format!("pause: {r}"))?;
    ensure!(
        paused.lease.is_some(),
        "pan-pause was not running when paused"
    );
    let removed_at = now_micros();
    admin
        .remove("pan-remove")
        .await
        .ctx("remove")?
        .map_err(|r| format!("remove: {r}"))?;
    let bound = Duration::from_millis(RENEW_MS) + Duration::from_secs(2);
    let mut delays = Vec::new();
    for (id, at) in [("pan-pause", paused_at), ("pan-remove", removed_at)] {
        let cancelled = wait_for(
            bound * 3,
            &format!("{id}'s run to be interrupted"),
            || async {
                let runs = env.runs()?;
                Ok(runs_of(&runs, id).iter().find_map(|r| r.cancel))
            },
        )
        .await?;
        let after = secs(at, cancelled);
        ensure!(
            after <= bound.as_secs_f64(),
            "{id}'s run was interrupted {after:.1} s after the change (renewal every {:.1} s)",
            RENEW_MS as f64 / 1000.0
        );
        delays.push(after);
    }
    let settled = Instant::now();
    let paused_job = wait_for(
        Duration::from_secs(20),
        "the paused run to be given back",
        || async {
            let record = env.store.jobs.find("pan-pause").await.ctx("find")?;
            Ok(record.filter(|r| r.lease.is_none()))
        },
    )
    .await?;
    ensure!(
        (
            paused_job.job.status,
            paused_job.job.trigger_count,
            paused_job.job.try_count
        ) == (JobStatus::Paused, 0, 0),
        "after the pause: {} with {} runs and {} tries counted",
        paused_job.job.status,
        paused_job.job.trigger_count,
        paused_job.job.try_count
    );
    ensure!(
        env.store
            .jobs
            .find("pan-remove")
            .await
            .ctx("find")?
            .is_none(),
        "the removed job is still in the store"
    );
    admin
        .resume("pan-pause")
        .await
        .ctx("resume")?
        .map_err(|r| format!("resume: {r}"))?;
    env.wait_completed("pan-pause", 1, Duration::from_secs(30))
        .await?;
    check_completed_once(&env, &["pan-pause".to_owned()]).await?;
    let runs = env.runs()?;
    let pause_runs = runs_of(&runs, "pan-pause");
    ensure!(
        pause_runs.len() == 2 && pause_runs[0].cancel.is_some() && pause_runs[1].finished(),
        "pan-pause: expected the interrupted run and exactly one more, got {pause_runs:?}"
    );
    let remove_runs = runs_of(&runs, "pan-remove");
    ensure!(
        remove_runs.len() == 1,
        "the removed job ran again: {remove_runs:?}"
    );
    let (status, _) = worker.terminate(Duration::from_secs(20)).await?;
    ensure!(status.success(), "the worker exited with {status}");
    env.raw.close().await;
    Ok(format!(
        "a run paused and a run removed from another process: interrupted {:.2} s and {:.2} s \
         later (renewal every {:.0} s); paused with 0 runs and 0 tries charged, removed gone; \
         resumed, it ran exactly once more (settled in {:.1} s)",
        delays[0],
        delays[1],
        RENEW_MS as f64 / 1000.0,
        settled.elapsed().as_secs_f64()
    ))
}
