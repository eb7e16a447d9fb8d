//! Scenario 7: a Period job on `0/1 * * * * ?` (every second) with three processes
//! competing for it: each tick runs at most once, and a tick is left out only when the
//! run of the tick before it was claimed after it was due ("missed ticks are not
//! replayed"). Which process wins a tick is not promised; so that every process takes
//! part for sure, the scenario holds two of them in turn (`SIGUSR1`) until the third has
//! run ticks on its own. Then all three stop for four and a half seconds and start again:
//! the missed ticks are not replayed; the job runs once for the time it was down and is
//! back on its schedule (docs/stores.md, "Guarantees").

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use bgtasks::JobInfo;
use bgtasks_reliability::runlog::{Run, now_micros};

use crate::harness::{
    Env, Res, Spec, StoreKind, Suite, Worker, ensure, runs_with_prefix, wait_for,
};

const SECOND: i64 = 1_000_000;
const NODES: [&str; 3] = ["c1", "c2", "c3"];

/// How long the three processes compete for the ticks with nobody held, before and again
/// after the rounds in which each process runs alone: 10 s on either store (the claim path
/// is the same for every tick; the suite's time budget goes to other scenarios).
const COMPETING: Duration = Duration::from_secs(10);

/// How many ticks each process runs alone while the other two are held.
const ALONE_TICKS: usize = 2;
const DOWN: Duration = Duration::from_millis(4500);
/// How many ticks must run after the restart.
const AFTER_RESTART_TICKS: usize = 4;
/// The latest a tick may start after it was due (a generous bound: a loaded machine
/// delays runs, it must not lose them).
const LATENESS_BOUND: i64 = 10 * SECOND;
/// The longest any wait for runs may take.
const PATIENCE: Duration = Duration::from_secs(60);

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
        let (status, _) = worker.wait_exit(sent, Duration::from_secs(30)).await?;
        ensure!(
            status.success(),
            "worker {} exited with {status}",
            worker.node
        );
    }
    Ok(())
}

/// Waits until the tick runs that satisfy `counted` reach `count`.
async fn wait_for_ticks(
    env: &Env,
    what: &str,
    count: usize,
    counted: impl Fn(&Run) -> bool,
) -> Res<()> {
    wait_for(PATIENCE, what, || async {
        let runs = env.runs()?;
        let done = runs_with_prefix(&runs, "cron-tick")
            .into_iter()
            .filter(|r| r.finished() && counted(r))
            .count();
        Ok((done >= count).then_some(()))
    })
    .await
}

/// Runs ticks with each process alone in turn: the other two are held until it has run
/// [`ALONE_TICKS`] ticks, then released.
async fn each_alone(env: &Env, workers: &mut [Worker]) -> Res<()> {
    for alone in 0..workers.len() {
        for (i, worker) in workers.iter_mut().enumerate() {
            if i != alone {
                worker.hold().await?;
            }
        }
        let pid = workers[alone].pid;
        let since = now_micros();
        wait_for_ticks(
            env,
            &format!("{ALONE_TICKS} ticks on {} alone", workers[alone].node),
            ALONE_TICKS,
            |r| r.pid == pid && r.claimed >= since,
        )
        .await?;
        for (i, worker) in workers.iter_mut().enumerate() {
            if i != alone {
                worker.release().await?;
            }
        }
    }
    Ok(())
}

/// The ticks of these runs: the due time of each (sorted), the ones that ran more than
/// once, and the ticks left out between two runs that the lateness of the earlier run
/// does not explain. (A claim moves the job on to the first tick after the claim, so a
/// run claimed at `c` leaves out the ticks up to `c`; the claim line is written just
/// after the claim, so a tick due after it cannot have been left out legitimately.)
struct Ticks {
    dues: Vec<i64>,
    twice: Vec<i64>,
    unexplained_gaps: Vec<(i64, i64)>,
    latest: i64,
}

fn ticks(runs: &[&Run]) -> Res<Ticks> {
    let mut by_due: BTreeMap<i64, Vec<&Run>> = BTreeMap::new();
    for run in runs {
        let due = run
            .due
            .ok_or_else(|| format!("a run without its claim line: {run:?}"))?;
        ensure!(
            due % SECOND == 0,
            "a run due off the second: {due} ({run:?})"
        );
        by_due.entry(due).or_default().push(run);
    }
    let dues: Vec<i64> = by_due.keys().copied().collect();
    let twice = by_due
        .iter()
        .filter(|(_, runs)| runs.len() > 1)
        .map(|(d, _)| *d)
        .collect();
    let mut unexplained_gaps = Vec::new();
    for pair in dues.windows(2) {
        let (earlier, later) = (pair[0], pair[1]);
        let claimed = by_due[&earlier]
            .iter()
            .map(|r| r.claimed)
            .max()
            .unwrap_or(0);
        if later > earlier + SECOND && claimed < later - SECOND {
            unexplained_gaps.push((earlier, later));
        }
    }
    let latest = runs
        .iter()
        .map(|r| r.claimed - r.due.unwrap_or(r.claimed))
        .max()
        .unwrap_or(0);
    Ok(Ticks {
        dues,
        twice,
        unexplained_gaps,
        latest,
    })
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
    let queued_end = now_micros();
    let started = Instant::now();
    tokio::time::sleep(COMPETING).await;
    each_alone(&env, &mut workers).await?;
    tokio::time::sleep(COMPETING).await;
    let window = started.elapsed();
    stop_all(&mut workers).await?;
    let down_from = now_micros();
    tokio::time::sleep(DOWN).await;
    let up_at = now_micros();
    let mut restarted = start_all(&env, spec).await?;
    wait_for_ticks(
        &env,
        &format!("{AFTER_RESTART_TICKS} ticks after the restart"),
        AFTER_RESTART_TICKS,
        |r| r.claimed >= up_at,
    )
    .await?;
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

    let first_part = ticks(&before)?;
    ensure!(
        first_part.twice.is_empty(),
        "ticks that ran more than once: {:?}",
        first_part.twice
    );
    ensure!(
        first_part.unexplained_gaps.is_empty(),
        "ticks left out although the run before them was claimed in time: {:?}",
        first_part.unexplained_gaps
    );
    ensure!(
        first_part.latest <= LATENESS_BOUND,
        "a tick started {:.1} s after it was due",
        first_part.latest as f64 / 1e6
    );
    let first = *first_part.dues.first().ok_or("no tick ran")?;
    let last = *first_part.dues.last().ok_or("no tick ran")?;
    // The first fire time is the first tick at or after the moment the job was queued.
    ensure!(
        first >= queued - SECOND && first <= queued_end + SECOND,
        "the first tick was due {:.1} s after queuing began",
        (first - queued) as f64 / 1e6
    );
    ensure!(
        last >= down_from - LATENESS_BOUND,
        "ticks stopped {:.1} s before the processes did",
        (down_from - last) as f64 / 1e6
    );
    let mut per_node: BTreeMap<&str, usize> = BTreeMap::new();
    for run in &before {
        *per_node.entry(run.node.as_str()).or_default() += 1;
    }
    // Each process ran ticks alone (each_alone waited for them): a check on the run
    // logs' bookkeeping, not on how the runtime spreads work.
    ensure!(
        per_node.len() == NODES.len(),
        "the run logs miss the ticks a process ran alone: {per_node:?}"
    );

    // After the restart: one run for the missed time (the tick the job was due at when
    // everything stopped), then the schedule again; the ticks in between are not
    // replayed.
    let second_part = ticks(&after)?;
    ensure!(
        second_part.twice.is_empty(),
        "ticks that ran more than once after the restart: {:?}",
        second_part.twice
    );
    let catch_up = *second_part
        .dues
        .first()
        .ok_or("no tick ran after the restart")?;
    let last_run = before
        .iter()
        .filter(|r| r.due == Some(last))
        .map(|r| r.claimed)
        .max()
        .unwrap_or(last);
    ensure!(
        catch_up > last && (catch_up == last + SECOND || last_run >= catch_up - SECOND),
        "the first run after the restart was due {:.1} s after the last before it, which was \
         claimed {:.1} s after it was due (expected the first tick after that claim)",
        (catch_up - last) as f64 / 1e6,
        (last_run - last) as f64 / 1e6
    );
    let missed: Vec<i64> = (catch_up + SECOND..up_at)
        .step_by(SECOND as usize)
        .collect();
    ensure!(
        missed.len() >= 2,
        "the stop left only {} ticks to miss; the check below would prove nothing",
        missed.len()
    );
    let replayed: Vec<i64> = second_part
        .dues
        .iter()
        .copied()
        .filter(|d| missed.contains(d))
        .collect();
    ensure!(
        replayed.is_empty(),
        "missed ticks were replayed: {replayed:?}"
    );
    let later: Vec<&Run> = after
        .iter()
        .copied()
        .filter(|r| r.due != Some(catch_up))
        .collect();
    let on_schedule = ticks(&later)?;
    ensure!(
        on_schedule.unexplained_gaps.is_empty(),
        "ticks left out after the restart although the run before them was claimed in time: {:?}",
        on_schedule.unexplained_gaps
    );
    // The catch-up run is late by the time everything was down; the runs after it are not.
    ensure!(
        on_schedule.latest <= LATENESS_BOUND,
        "a tick after the restart started {:.1} s after it was due",
        on_schedule.latest as f64 / 1e6
    );
    env.raw.close().await;
    let shares: Vec<String> = per_node.iter().map(|(n, c)| format!("{n} {c}")).collect();
    Ok(format!(
        "{} ticks in {:.0} s across 3 processes ({}; each also ran {ALONE_TICKS} alone): \
         0 twice, 0 left out unexplained, latest start {:.2} s after due; all stopped {:.1} s, \
         restarted: 1 catch-up run, {} missed ticks not replayed, then {} ticks on schedule, 0 twice",
        first_part.dues.len(),
        window.as_secs_f64(),
        shares.join(", "),
        first_part.latest.max(on_schedule.latest) as f64 / 1e6,
        DOWN.as_secs_f64(),
        missed.len(),
        on_schedule.dues.len()
    ))
}
