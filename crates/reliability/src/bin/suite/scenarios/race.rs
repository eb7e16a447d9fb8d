//! Scenario 3: the rescuer and a late completion race. A process is frozen (`SIGSTOP`)
//! while its runs finish, for about as long as their lease, then thawed: each run's
//! completion races the rescue of its expired lease by the other process's rescuer. Every
//! job must end Completed — by the frozen node, or rescued and re-run once, the late
//! completion then refused by the fencing token — never corrupted, never lost. The jobs
//! are pinned to the frozen node, so that the other process cannot claim them before the
//! freeze; a rescued run is therefore re-run by the frozen node once it thaws.

use std::time::Duration;

use bgtasks_reliability::runlog::{self, now_micros};

use super::{check_completed_once, lease_expiry, logs_of, record};
use crate::harness::{
    Res, Spec, StoreKind, Suite, deaths, ensure, runs_of, runs_with_prefix, secs, wait_for,
};

const LEASE_MS: u64 = 1500;
const RENEW_MS: u64 = 300;
/// How long the node is frozen in each round: just under, at, and past its lease.
const FREEZES_MS: [u64; 4] = [1200, 1650, 2100, 2700];
/// How long each round's six runs work: they end while the node is frozen.
const WORK_MS: [u64; 6] = [700, 1000, 1300, 1600, 1900, 2200];

pub(crate) async fn run(suite: &Suite, kind: StoreKind) -> Res<String> {
    let env = suite.env(kind, "race").await?;
    let spec = Spec {
        workers: WORK_MS.len(),
        lease_ms: LEASE_MS,
        renew_ms: RENEW_MS,
        rescue_ms: 300,
        ..Spec::default()
    };
    let mut frozen = env.spawn("frozen", spec).await?;
    let mut rescuer = env.spawn("rescuer", spec).await?;
    let mut ids = Vec::new();
    let mut thawed_at = Vec::new();
    let mut freezes = Vec::new();
    for (round, freeze) in FREEZES_MS.iter().enumerate() {
        let round_ids: Vec<String> = (0..WORK_MS.len())
            .map(|i| format!("race-{round}-{i}"))
            .collect();
        env.queue(
            round_ids
                .iter()
                .zip(WORK_MS)
                .map(|(id, ms)| record(id.clone(), ms).with_node("frozen"))
                .collect(),
        )
        .await?;
        let prefix = format!("race-{round}-");
        wait_for(
            Duration::from_secs(20),
            "the round's runs to start",
            || async {
                let runs = env.runs()?;
                let started = runs_with_prefix(&runs, &prefix)
                    .iter()
                    .filter(|r| r.start.is_some())
                    .count();
                Ok((started == WORK_MS.len()).then_some(()))
            },
        )
        .await?;
        let stopped = now_micros();
        frozen.signal("STOP").await?;
        tokio::time::sleep(Duration::from_millis(*freeze)).await;
        frozen.signal("CONT").await?;
        thawed_at.push(now_micros());
        freezes.push((stopped, now_micros()));
        env.wait_completed(&prefix, WORK_MS.len(), Duration::from_secs(30))
            .await?;
        ids.extend(round_ids);
    }
    ensure!(
        frozen.alive() && rescuer.alive(),
        "a worker died during the races"
    );

    let runs = env.runs()?;
    let mut spurious = 0;
    let (mut by_frozen, mut rescued, mut twice) = (0, 0, 0);
    for id in &ids {
        let job_runs = runs_of(&runs, id);
        let finished = job_runs.iter().filter(|r| r.finished()).count();
        let logs = logs_of(&env, id, 1).await?;
        // A rescue the freeze explains: the lease expired while the node was frozen (or
        // just as it thawed, before its first renewal). Any other rescue is of a lease the
        // node abandoned after wrongly interrupting a fresh run of the job for the loss of
        // an older lease (the known defect): counted apart.
        let mut rescues = 0;
        for log in logs.iter().filter(|l| l.message.contains("rescued")) {
            let expired = lease_expiry(log)
                .ok_or_else(|| format!("job {id}: a rescue log without the expiry: {log:?}"))?;
            if freezes
                .iter()
                .any(|(from, to)| expired >= *from && expired <= to + 500_000)
            {
                rescues += 1;
            } else {
                spurious += 1;
            }
        }
        ensure!(
            rescues <= 1,
            "job {id} was rescued {rescues} times for the freeze: {logs:?}"
        );
        match (rescues, finished) {
            (0, 1) => by_frozen += 1,
            (1, 1) => rescued += 1,
            (1, 2) => {
                rescued += 1;
                twice += 1;
            }
            _ => {
                return Err(format!(
                    "job {id}: {rescues} rescues and {finished} finished runs: {job_runs:?}"
                ));
            }
        }
    }
    check_completed_once(&env, &ids).await?;
    let refused = frozen.log_count("its result is discarded");
    if spurious != 0 {
        return Err(format!(
            "{spurious} fresh run(s) interrupted for the loss of an older lease of their job"
        ));
    }
    let defect = String::new();
    let lost_leases = frozen.log_count("lost the lease");
    // Two runs of one job at once can only involve the frozen node's run, stalled past
    // its lease; it must stop soon after the node thaws and learns it lost the lease.
    let overlaps = runlog::overlaps(&runs, &deaths(&[&frozen, &rescuer]));
    let mut worst_tail = 0.0f64;
    for (a, b) in &overlaps {
        let stale = if a.pid == frozen.pid { a } else { b };
        ensure!(
            a.pid == frozen.pid || b.pid == frozen.pid,
            "two runs of {} overlapped without the frozen node: {a:?} {b:?}",
            a.job
        );
        let stop = stale.stop(None);
        let thaw = thawed_at
            .iter()
            .copied()
            .filter(|t| *t <= stop)
            .max()
            .unwrap_or_default();
        let tail = secs(thaw, stop);
        worst_tail = worst_tail.max(tail);
        ensure!(
            tail <= (RENEW_MS as f64 / 1000.0) + 1.5,
            "the stale run of {} went on {tail:.1} s after the node thawed",
            stale.job
        );
    }
    for worker in [&mut frozen, &mut rescuer] {
        let (status, _) = worker.terminate(Duration::from_secs(10)).await?;
        ensure!(
            status.success(),
            "worker {} exited with {status}",
            worker.node
        );
    }
    env.raw.close().await;
    Ok(format!(
        "{} races over {} freezes of {:.1}–{:.1} s on {:.1} s leases: {by_frozen} completed by the frozen node, \
         {rescued} rescued (of which {twice} had also finished on the frozen node: {refused} late completions \
         refused by the fence, {lost_leases} lost leases detected on renewal); all Completed once in the store, \
         0 corrupted, 0 lost; {}",
        ids.len(),
        FREEZES_MS.len(),
        FREEZES_MS[0] as f64 / 1000.0,
        FREEZES_MS[FREEZES_MS.len() - 1] as f64 / 1000.0,
        LEASE_MS as f64 / 1000.0,
        if overlaps.is_empty() {
            "0 overlapping runs".to_owned()
        } else {
            format!(
                "{} overlaps of the frozen node's stale run with its re-run, each stale run ended ≤ {worst_tail:.1} s after thawing",
                overlaps.len()
            )
        },
    ) + &defect)
}
