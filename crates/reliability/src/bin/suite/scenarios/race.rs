//! Scenario 3: the rescuer and a late completion race. A process is frozen (`SIGSTOP`)
//! while its runs finish, for about as long as their lease, then thawed: each run's
//! completion races the rescue of its expired lease by the other process's rescuer, and
//! the frozen node's lease watchdog (R45), which finds on thawing that it renewed
//! nothing for longer than the lease less the safety margin, interrupts its runs and lets
//! their leases lapse. Every job must end Completed — by the frozen node, or rescued and
//! run again, the earlier run's outcome refused (by the fencing token, or as interrupted)
//! — never corrupted, never lost, and never run again without a rescue in its run log
//! whose lease expired during a freeze or was let lapse by the watchdog. The jobs
//! are pinned to the frozen node, so that the other process cannot claim them before the
//! freeze; a rescued run is therefore re-run by the frozen node once it thaws.

use std::time::Duration;

use bgtasks_reliability::runlog::{self, now_micros};
use bgtasks_reliability::settings;

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
    // A store that stalls for seconds (a loaded disk holding SQLite's write lock through
    // a commit) makes the watchdog interrupt the re-runs too, round after round; after
    // `max_rescues` rescues in a row R43 would then fail the job as crash-looping. That
    // is scenario 19's subject, not this one's: here a job is rescued as often as its
    // leases lapse, and must still complete.
    let never_charged = settings::args(&[("max_rescues", "0".to_owned())]);
    let mut frozen = env.spawn_with("frozen", spec, &never_charged).await?;
    let mut rescuer = env.spawn_with("rescuer", spec, &never_charged).await?;
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
        env.wait_completed(&prefix, WORK_MS.len(), Duration::from_secs(60))
            .await?;
        ids.extend(round_ids);
    }
    ensure!(
        frozen.alive() && rescuer.alive(),
        "a worker died during the races"
    );

    let runs = env.runs()?;
    let watchdog = watchdog_interruptions(&frozen);
    let (mut by_frozen, mut rescued, mut twice, mut lapsed) = (0, 0, 0, 0);
    for id in &ids {
        let job_runs = runs_of(&runs, id);
        let finished = job_runs.iter().filter(|r| r.finished()).count();
        let logs = logs_of(&env, id, 1).await?;
        let mut rescues: Vec<(i64, i64)> = logs
            .iter()
            .filter(|l| l.message.contains("rescued"))
            .map(|l| {
                lease_expiry(l)
                    .map(|expired| (l.run_time.timestamp_micros(), expired))
                    .ok_or_else(|| format!("job {id}: a rescue log without the expiry: {l:?}"))
            })
            .collect::<Res<_>>()?;
        rescues.sort_unstable();
        // At least once, and more only after a lapsed lease (docs/stores.md,
        // "Guarantees"): one rescue recorded in the run log per claim after the first,
        // the k-th rescue before the (k+1)-th claim. (Not necessarily after the k-th
        // claim's line: a claim that stalls past the lease may be rescued before the
        // node writes that line.)
        ensure!(
            !job_runs.is_empty() && job_runs.len() == rescues.len() + 1,
            "job {id}: {} runs but {} rescues in its run log (each run after the first needs one): \
             runs {job_runs:?}, logs {logs:?}",
            job_runs.len(),
            rescues.len()
        );
        for (pair, (rescued_at, expired)) in job_runs.windows(2).zip(&rescues) {
            let (before, after) = (&pair[0], &pair[1]);
            ensure!(
                *rescued_at <= after.claimed,
                "job {id}: run {} was claimed again without a rescue after run {} (rescue at {rescued_at}): {job_runs:?}",
                after.token.unwrap_or_default(),
                before.token.unwrap_or_default()
            );
            // A lease lapses for one of two documented reasons: it expired while its
            // node was frozen (or just as it thawed, before its first renewal), or the
            // node's watchdog, having renewed nothing for the lease less the safety
            // margin, interrupted the run and let the lease lapse (R45; the lease may
            // have been renewed once more as the node thawed, so it can expire up to
            // a lease after the thaw). Any other rescue is a lease the node gave up
            // wrongly — for example a fresh run interrupted for the loss of an older
            // lease of its job.
            let in_freeze = freezes
                .iter()
                .any(|(from, to)| *expired >= *from && *expired <= to + 500_000);
            let by_watchdog = before.token.is_some_and(|token| {
                watchdog
                    .iter()
                    .any(|(at, job, t)| job == id && *t == token && *at <= *expired)
            });
            ensure!(
                in_freeze || by_watchdog,
                "job {id}: its lease (token {:?}) expired at {expired} and was rescued, but it neither \
                 expired during a freeze {freezes:?} nor was its run interrupted by the watchdog: {logs:?}",
                before.token
            );
            if !in_freeze {
                lapsed += 1;
            }
        }
        let last = job_runs.last().map(|r| r.finished()).unwrap_or_default();
        ensure!(
            last,
            "job {id}: its last run did not finish its work: {job_runs:?}"
        );
        match (rescues.len(), finished) {
            (0, _) => by_frozen += 1,
            (_, 1) => rescued += 1,
            _ => {
                rescued += 1;
                twice += 1;
            }
        }
    }
    check_completed_once(&env, &ids).await?;
    let refused = frozen.log_count("its result is discarded");
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
         {rescued} rescued and run again, one run more per rescue ({lapsed} rescues of a lease the watchdog let \
         lapse, {} runs interrupted by the watchdog; {twice} jobs whose first run had finished its work, its outcome \
         refused: {refused} late completions refused by the fence, {lost_leases} lost leases detected on renewal); \
         all Completed once in the store, 0 corrupted, 0 lost; {}",
        ids.len(),
        FREEZES_MS.len(),
        FREEZES_MS[0] as f64 / 1000.0,
        FREEZES_MS[FREEZES_MS.len() - 1] as f64 / 1000.0,
        LEASE_MS as f64 / 1000.0,
        watchdog.len(),
        if overlaps.is_empty() {
            "0 overlapping runs".to_owned()
        } else {
            format!(
                "{} overlaps of the frozen node's stale run with its re-run, each stale run ended ≤ {worst_tail:.1} s after thawing",
                overlaps.len()
            )
        },
    ))
}

/// The runs the frozen node's lease watchdog interrupted (R45): when, the job and the
/// lease token, from its log lines "could not renew the lease of job `ID` … token=N".
fn watchdog_interruptions(worker: &crate::harness::Worker) -> Vec<(i64, String, i64)> {
    worker
        .log_lines("could not renew the lease of job `")
        .into_iter()
        .filter_map(|(at, line)| {
            let job = line.split("of job `").nth(1)?.split('`').next()?.to_owned();
            let token = line
                .split(" token=")
                .nth(1)?
                .split_whitespace()
                .next()?
                .parse()
                .ok()?;
            Some((at, job, token))
        })
        .collect()
}
