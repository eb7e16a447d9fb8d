//! `network-partition` (R45, PostgreSQL only: SQLite has no network): one process reaches
//! the database through a TCP proxy on loopback; with four runs in flight there, the proxy
//! stops forwarding without closing a connection (packets dropped, as a cut cable or a
//! firewall does). The process cannot renew its leases; its store calls fail after the
//! store timeout (1.5 s) instead of hanging, and its lease watchdog interrupts each run at
//! last successful renewal + lease (4 s) − margin (1 s) — before the lease expires in the
//! database. The other process rescues the runs once their leases expire and completes
//! each once. No two runs of a job overlap. When the network heals, the cut process's
//! late writes are refused by the fence, and it shuts down cleanly.

use std::time::Duration;

use bgtasks_reliability::runlog::{self, now_micros};
use bgtasks_reliability::settings;

use super::{check_completed_once, lease_expiry, logs_of, record};
use crate::harness::{
    Context, Res, Spec, StoreKind, Suite, deaths, ensure, runs_of, secs, wait_for,
};
use crate::proxy::{ProxyMode, TcpProxy};

const JOBS: usize = 4;
const WORK_MS: u64 = 8000;
const LEASE_MS: u64 = 4000;
const MARGIN_MS: u64 = 1000;
const STORE_TIMEOUT_MS: u64 = 1500;

/// Where the `host:port` of a database URL is.
fn address_in(url: &str) -> Res<std::ops::Range<usize>> {
    let start = url.find("://").ctx("a database URL without `://`")? + 3;
    let end = url[start..].find('/').map_or(url.len(), |i| start + i);
    let host = url[start..end].rfind('@').map_or(start, |i| start + i + 1);
    Ok(host..end)
}

/// `url` with its `host:port` replaced by `address`.
fn via(url: &str, address: &str) -> Res<String> {
    let at = address_in(url)?;
    Ok(format!("{}{address}{}", &url[..at.start], &url[at.end..]))
}

pub(crate) async fn run(suite: &Suite, kind: StoreKind) -> Res<String> {
    ensure!(
        kind == StoreKind::Postgres,
        "network-partition runs on PostgreSQL only"
    );
    let env = suite.env(kind, "partition").await?;
    let upstream = env.url[address_in(&env.url)?].to_owned();
    let proxy = TcpProxy::start(upstream, ProxyMode::Forward).await?;
    let spec = Spec {
        workers: JOBS,
        lease_ms: LEASE_MS,
        renew_ms: 500,
        rescue_ms: 300,
        ..Spec::default()
    };
    let mut rescuer = env.spawn("rescuer", spec).await?;
    rescuer.hold().await?;
    let bounds = settings::args(&[
        ("store_timeout_ms", STORE_TIMEOUT_MS.to_string()),
        ("lease_safety_margin_ms", MARGIN_MS.to_string()),
    ]);
    let mut cut = env
        .spawn_at("cut", spec, &via(&env.url, &proxy.address())?, &bounds)
        .await?;
    let ids: Vec<String> = (0..JOBS).map(|i| format!("part-{i}")).collect();
    env.queue(ids.iter().map(|id| record(id.clone(), WORK_MS)).collect())
        .await?;
    wait_for(Duration::from_secs(20), "every run to start", || async {
        let runs = env.runs()?;
        Ok((runs.iter().filter(|r| r.start.is_some()).count() >= JOBS).then_some(()))
    })
    .await?;
    rescuer.release().await?;
    // A few renewals go through before the cut.
    tokio::time::sleep(Duration::from_millis(1200)).await;
    let partitioned = now_micros();
    proxy.set(ProxyMode::Stall);

    env.wait_completed("part-", JOBS, Duration::from_secs(40))
        .await?;
    let completed = now_micros();
    let runs = env.runs()?;
    let mut margins = Vec::new();
    let mut cut_after = Vec::new();
    for id in &ids {
        let job_runs = runs_of(&runs, id);
        let stale = job_runs
            .iter()
            .find(|r| r.pid == cut.pid)
            .ctx("a job never ran on the cut process")?;
        let cancel = stale.cancel.ok_or_else(|| {
            format!("job {id}: the cut process never interrupted its run; runs: {job_runs:?}")
        })?;
        let logs = logs_of(&env, id, 2).await?;
        let expired = logs
            .iter()
            .filter(|l| {
                l.exception
                    .as_deref()
                    .is_some_and(|e| e.contains("lease of node `cut` expired"))
            })
            .find_map(lease_expiry)
            .ok_or_else(|| format!("job {id}: no rescue log naming node `cut`: {logs:?}"))?;
        ensure!(
            cancel < expired,
            "job {id}: the cut process interrupted its run {:.3} s after its lease expired",
            secs(expired, cancel)
        );
        margins.push(secs(cancel, expired));
        cut_after.push(secs(partitioned, cancel));
        let finished: Vec<_> = job_runs.iter().filter(|r| r.finished()).collect();
        ensure!(
            finished.len() == 1 && finished[0].pid == rescuer.pid,
            "job {id} should have completed exactly once, on the rescuer; runs: {job_runs:?}"
        );
    }
    let overlaps = runlog::overlaps(&runs, &deaths(&[&cut, &rescuer]));
    ensure!(overlaps.is_empty(), "concurrent duplicates: {overlaps:?}");
    let window = (LEASE_MS - MARGIN_MS) as f64 / 1000.0;
    let latest_cut = cut_after.iter().copied().fold(0.0, f64::max);
    ensure!(
        latest_cut <= window + 1.0,
        "the last run was interrupted {latest_cut:.2} s into the partition; the window is {window:.1} s"
    );
    let warned = cut.log_count("could not renew the lease");
    ensure!(
        warned >= JOBS,
        "the cut process logged {warned} interruptions for leases it could not renew, expected {JOBS}"
    );
    let timed_out = cut.log_count("did not answer");
    ensure!(
        cut.alive(),
        "the cut process died during the partition: {}",
        cut.stderr_tail(5)
    );

    // The network heals: the cut process's stale writes are refused, its runs are not
    // reopened, and it stops cleanly.
    proxy.set(ProxyMode::Forward);
    tokio::time::sleep(Duration::from_secs(3)).await;
    check_completed_once(&env, &ids).await?;
    let (status, took) = cut.terminate(Duration::from_secs(20)).await?;
    ensure!(
        status.success(),
        "the cut process exited with {status} after the partition healed"
    );
    let after = env.runs()?;
    ensure!(
        after.len() == runs.len(),
        "{} more runs after the partition healed",
        after.len() - runs.len()
    );
    let proxied = proxy.stats();
    let healed_in = secs(partitioned, completed);
    env.raw.close().await;
    Ok(format!(
        "{JOBS} runs in flight on a process whose database connections went silent (proxy holding {} \
         chunks, nothing closed): each interrupted {:.2}–{latest_cut:.2} s into the partition (lease \
         {:.0} s − margin {:.0} s), {:.2}–{:.2} s before its lease expired in the database; {timed_out} \
         store calls timed out after {:.1} s; rescued and completed exactly once by the other process, all \
         done {healed_in:.1} s into the partition; 0 overlapping runs; after healing, the cut process \
         stopped cleanly in {:.1} s",
        proxied.held,
        cut_after.iter().copied().fold(f64::MAX, f64::min),
        LEASE_MS as f64 / 1000.0,
        MARGIN_MS as f64 / 1000.0,
        margins.iter().copied().fold(f64::MAX, f64::min),
        margins.iter().copied().fold(0.0, f64::max),
        STORE_TIMEOUT_MS as f64 / 1000.0,
        took.as_secs_f64()
    ))
}
