//! Scenario 7: a Period job on `0/1 * * * * ?` (every second) with three processes
//! competing for it: each tick runs exactly once — no tick twice, none skipped. Then all
//! three stop for four and a half seconds and start again: the missed ticks are not
//! replayed; the job runs once for the time it was down and is back on its schedule
//! (docs/stores.md, "Guarantees").

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use bgtasks::JobInfo;
use bgtasks_reliability::runlog::{Run, now_micros};

use crate::harness::{Env, Res, Spec, StoreKind, Suite, Worker, ensure, runs_with_prefix};

const SECOND: i64 = 1_000_000;
const NODES: [&str; 3] = ["c1", "c2", "c3"];

/// How long the three processes share the ticks: the full minute on PostgreSQL, 20 s on
/// SQLite (the suite's time budget; the claim path is the same for every tick).
fn window(kind: StoreKind) -> Duration {
    match kind {
        StoreKind::Postgres => Duration::from_secs(60),
        StoreKind::Sqlite => Duration::from_secs(20),
    }
}

const DOWN: Duration = Duration::from_millis(4500);
const AFTER_RESTART: Duration = Duration::from_secs(5);

async fn start_all(env: &Env, spec: Spec) -> Res<Vec<Worker>> {
    let mut workers = Vec::new();
    for node in NODES {
        workers.push(env.spawn(node, spec).await?);
    }
    Ok(workers)
}

async fn stop_all(workers: &mut [Worker]) -> Res<()> {
    let sent = Instant::now();
    for worker in workers.iter() {
        worker.signal("TERM").await?;
    }
    for worker in workers.iter_mut() {
        let (status, _) = worker.wait_exit(sent, Duration::from_secs(15)).await?;
        ensure!(
            status.success(),
            "worker {} exited with {status}",
            worker.node
        );
    }
    Ok(())
}

/// The due times of these runs, sorted, with the ticks that ran more than once and the
/// ticks skipped between the first and the last.
fn ticks(runs: &[&Run]) -> Res<(Vec<i64>, Vec<i64>, Vec<i64>)> {
    let mut counts: BTreeMap<i64, usize> = BTreeMap::new();
    for run in runs {
        let due = run
            .due
            .ok_or_else(|| format!("a run without its claim line: {run:?}"))?;
        ensure!(
            due % SECOND == 0,
            "a run due off the second: {due} ({run:?})"
        );
        *counts.entry(due).or_default() += 1;
    }
    let dues: Vec<i64> = counts.keys().copied().collect();
    let twice: Vec<i64> = counts
        .iter()
        .filter(|(_, n)| **n > 1)
        .map(|(d, _)| *d)
        .collect();
    let mut skipped = Vec::new();
    for pair in dues.windows(2) {
        let mut t = pair[0] + SECOND;
        while t < pair[1] {
            skipped.push(t);
            t += SECOND;
        }
    }
    Ok((dues, twice, skipped))
}

pub(crate) async fn run(suite: &Suite, kind: StoreKind) -> Res<String> {
    let env = suite.env(kind, "cron").await?;
    let spec = Spec {
        workers: 2,
        lease_ms: 3000,
        renew_ms: 500,
        rescue_ms: 500,
        grace_ms: 2000,
        interrupt_grace_ms: 1000,
    };
    let mut workers = start_all(&env, spec).await?;
    let queued = now_micros();
    env.queue(vec![JobInfo::period("cron-tick", "tick", "0/1 * * * * ?")])
        .await?;
    tokio::time::sleep(window(kind)).await;
    stop_all(&mut workers).await?;
    let down_from = now_micros();
    tokio::time::sleep(DOWN).await;
    let up_at = now_micros();
    let mut restarted = start_all(&env, spec).await?;
    tokio::time::sleep(AFTER_RESTART).await;
    stop_all(&mut restarted).await?;

    let runs = env.runs()?;
    let all = runs_with_prefix(&runs, "cron-tick");
    ensure!(
        all.iter().all(|r| r.finished()),
        "a tick run did not finish: {:?}",
        all.iter().find(|r| !r.finished())
    );
    let before: Vec<&Run> = all.iter().copied().filter(|r| r.claimed < up_at).collect();
    let after: Vec<&Run> = all.iter().copied().filter(|r| r.claimed >= up_at).collect();

    let (dues, twice, skipped) = ticks(&before)?;
    ensure!(twice.is_empty(), "ticks that ran more than once: {twice:?}");
    ensure!(skipped.is_empty(), "ticks that did not run: {skipped:?}");
    let first = *dues.first().ok_or("no tick ran")?;
    let last = *dues.last().ok_or("no tick ran")?;
    ensure!(
        first >= queued && first - queued <= 2 * SECOND,
        "the first tick was due {:.1} s after queuing",
        (first - queued) as f64 / 1e6
    );
    ensure!(
        last >= down_from - 3 * SECOND,
        "ticks stopped {:.1} s before the processes did",
        (down_from - last) as f64 / 1e6
    );
    let mut per_node: BTreeMap<&str, usize> = BTreeMap::new();
    for run in &before {
        *per_node.entry(run.node.as_str()).or_default() += 1;
    }
    ensure!(
        per_node.len() == NODES.len(),
        "not every process ran ticks: {per_node:?}"
    );

    // After the restart: one run for the missed time (the first missed tick), then the
    // schedule again; the ticks in between are not replayed.
    let (after_dues, after_twice, after_skipped) = ticks(&after)?;
    ensure!(
        after_twice.is_empty(),
        "ticks that ran more than once after the restart: {after_twice:?}"
    );
    ensure!(
        after_dues.len() >= 3,
        "only {} ticks ran after the restart",
        after_dues.len()
    );
    let catch_up = after_dues[0];
    ensure!(
        catch_up == last + SECOND,
        "the first run after the restart was due {:.1} s after the last before it (expected the first missed tick)",
        (catch_up - last) as f64 / 1e6
    );
    let missed = (down_from..up_at).step_by(SECOND as usize).count();
    let not_replayed = after_dues[1] - catch_up - SECOND;
    ensure!(
        not_replayed / SECOND >= 3,
        "after {:.1} s down, only {} ticks were left out: missed ticks were replayed",
        (up_at - down_from) as f64 / 1e6,
        not_replayed / SECOND
    );
    ensure!(
        after_skipped.len() as i64 == not_replayed / SECOND,
        "ticks skipped after the restart beyond the missed ones: {after_skipped:?}"
    );
    env.raw.close().await;
    let shares: Vec<String> = per_node.iter().map(|(n, c)| format!("{n} {c}")).collect();
    Ok(format!(
        "{} ticks in {:.0} s across 3 processes ({}): each ran exactly once, 0 twice, 0 skipped; \
         all stopped {:.1} s (~{missed} ticks missed), restarted: 1 catch-up run, {} ticks not replayed, \
         then {} ticks on schedule, 0 twice",
        dues.len(),
        window(kind).as_secs_f64(),
        shares.join(", "),
        DOWN.as_secs_f64(),
        not_replayed / SECOND,
        after_dues.len() - 1
    ))
}
