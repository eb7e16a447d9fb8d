//! Scenario 14, `rolling-deploy` (R41): a process of the old version, which does not have
//! a new job type, runs beside jobs of that type. It runs its own jobs (one of them fails,
//! and its failure mail arrives: the mail path works), and leaves the new type's jobs
//! alone — never claimed, never failed, no mail — while the store reports them as jobs no
//! live node can run. A process of the new version then runs them, once each.

use std::time::Duration;

use bgtasks::JobStatus;
use bgtasks::actions::JobAction;
use bgtasks::exception_handling::JOB_EXECUTED_FAILED_ACTION;

use super::record;
use crate::harness::{Context, Res, Spec, StoreKind, Suite, ensure, runs_of, wait_for};

const NEW: usize = 5;
const OLD: usize = 5;

pub(crate) async fn run(suite: &Suite, kind: StoreKind) -> Res<String> {
    let env = suite.env(kind, "deploy").await?;
    let smtp = suite.smtp().await?;
    let smtp_arg = vec!["--smtp".to_owned(), format!("{}:{}", smtp.host, smtp.port)];
    let spec = Spec {
        workers: 2,
        ..Spec::default()
    };
    let mut old_args = smtp_arg.clone();
    old_args.extend(["--types".to_owned(), "record".to_owned()]);
    let mut old = env.spawn_with("v1", spec, &old_args).await?;

    let tag = uuid::Uuid::new_v4().simple().to_string();
    let new_ids: Vec<String> = (0..NEW)
        .map(|i| format!("deploy-new-{i}-{}", &tag[..6]))
        .collect();
    let old_ids: Vec<String> = (0..OLD)
        .map(|i| format!("deploy-old-{i}-{}", &tag[..6]))
        .collect();
    let failing = old_ids[0].clone();
    let mail = JobAction::new(JOB_EXECUTED_FAILED_ACTION)
        .with_parameter("to", "ops@example.com")
        .with_parameter("notify", "every");
    let mut jobs: Vec<_> = new_ids
        .iter()
        .map(|id| {
            let mut job = record(id.clone(), 10).with_action(mail.clone());
            job.job_type = "report-v2".into();
            job
        })
        .collect();
    jobs.extend(old_ids.iter().map(|id| {
        record(id.clone(), 10)
            .with_arg("fail", *id == failing)
            .with_max_try_count(1)
            .with_action(mail.clone())
    }));
    env.queue(jobs).await?;

    // The old process runs its own jobs: the failing one fails, and is mailed.
    wait_for(
        Duration::from_secs(30),
        "the old version's jobs to finish",
        || async {
            let states = env.raw.states("deploy-old-").await?;
            let finished = states
                .iter()
                .filter(|s| !s.leased && (s.status == 0 || s.status == 30))
                .count();
            Ok((finished == OLD).then_some(()))
        },
    )
    .await?;
    let mailed = smtp
        .settled_count(&failing, 1, Duration::from_secs(20))
        .await;
    ensure!(
        mailed == 1,
        "the failing job of the old version was mailed {mailed} times: the mail path is broken"
    );
    // The new type's jobs were due all along, and the old process claimed many times
    // meanwhile (it ran its own jobs): they are untouched.
    for id in &new_ids {
        let job = env
            .store
            .jobs
            .find(id)
            .await
            .ctx("find")?
            .ok_or_else(|| format!("{id} is lost"))?;
        ensure!(
            job.job.status == JobStatus::Queuing
                && job.job.try_count == 0
                && job.lease.is_none()
                && job.job.next_run_time.is_some(),
            "{id} was touched by the old version: {:?} tries {} leased {}",
            job.job.status,
            job.job.try_count,
            job.lease.is_some()
        );
        ensure!(smtp.count_for(id) == 0, "{id} was mailed");
    }
    let now = chrono::Utc::now();
    let orphaned = env
        .store
        .jobs
        .orphaned(now, now - chrono::Duration::seconds(30), 100)
        .await
        .ctx("list the jobs no live node runs")?;
    let mut reported: Vec<String> = orphaned.into_iter().map(|j| j.id).collect();
    reported.sort();
    ensure!(
        reported == new_ids,
        "the store reports {reported:?} as jobs no live node can run, expected the new type's"
    );
    ensure!(
        env.runs()?.iter().all(|r| !new_ids.contains(&r.job)),
        "the old version ran a job of the new type"
    );

    // The new version arrives and runs them.
    let mut new_args = smtp_arg;
    new_args.extend(["--types".to_owned(), "record,report-v2".to_owned()]);
    let mut new = env.spawn_with("v2", spec, &new_args).await?;
    env.wait_completed("deploy-new-", NEW, Duration::from_secs(30))
        .await?;
    let runs = env.runs()?;
    for id in &new_ids {
        let job_runs = runs_of(&runs, id);
        ensure!(
            job_runs.len() == 1 && job_runs[0].node == "v2" && job_runs[0].finished(),
            "{id} should have run once, on the new version: {job_runs:?}"
        );
        ensure!(smtp.count_for(id) == 0, "{id} was mailed");
    }
    for worker in [&mut old, &mut new] {
        let (status, _) = worker.terminate(Duration::from_secs(20)).await?;
        ensure!(
            status.success(),
            "worker {} exited with {status}",
            worker.node
        );
    }
    env.raw.close().await;
    Ok(format!(
        "{NEW} jobs of a type only the new version has, beside {OLD} of the old version's: the \
         old process ran its own (1 failure mailed) and left the new type's due, untried, \
         unmailed, reported as runnable by no live node; the new process ran each once"
    ))
}
