//! `smtp-outage` (R51): the SMTP server is unreachable for a minute while jobs fail and
//! are abandoned — for 30 s it is down (the proxy closes every connection at once), for
//! 30 s the network is partitioned (connections are accepted and nothing comes back, so
//! every send times out). Every mail stays pending and is retried; once the server is
//! back each arrives, under one Message-ID per notification (repeats counted); and the
//! jobs end exactly as the same jobs without the mail action.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::time::{Duration, Instant};

use bgtasks::JobStatus;
use bgtasks::store::{NotificationRecord, NotificationState};

use super::alerts::{failing, mail_action, mail_args, message_id_of, notifications_of, wait_job};
use super::record;
use crate::harness::{Context, Res, Spec, StoreKind, Suite, ensure, runs_of, wait_for};
use crate::proxy::{ProxyMode, TcpProxy};

/// How long the server is down, then partitioned away.
const DOWN: Duration = Duration::from_secs(30);
const PARTITIONED: Duration = Duration::from_secs(30);

/// A group of jobs: how many, their tries, their policy, and the mails each calls for.
struct Group {
    name: &'static str,
    jobs: usize,
    max_try: i32,
    fails: bool,
    notify: &'static str,
    mails: usize,
}

const GROUPS: &[Group] = &[
    Group {
        name: "once",
        jobs: 4,
        max_try: 1,
        fails: true,
        notify: "every",
        mails: 1,
    },
    Group {
        name: "every",
        jobs: 2,
        max_try: 3,
        fails: true,
        notify: "every",
        mails: 3,
    },
    Group {
        name: "firstfinal",
        jobs: 2,
        max_try: 3,
        fails: true,
        notify: "first-and-final",
        mails: 2,
    },
    Group {
        name: "final",
        jobs: 2,
        max_try: 3,
        fails: true,
        notify: "final",
        mails: 1,
    },
    Group {
        name: "ok",
        jobs: 2,
        max_try: 3,
        fails: false,
        notify: "every",
        mails: 0,
    },
];

/// One job with the mail action and its twin without it.
struct Pair<'a> {
    group: &'a Group,
    mailed: String,
    plain: String,
}

pub(crate) async fn run(suite: &Suite, kind: StoreKind) -> Res<String> {
    // spec: R51
    let env = suite.env(kind, "smtp-outage").await?;
    let smtp = suite.smtp().await?;
    let proxy = TcpProxy::start(format!("{}:{}", smtp.host, smtp.port), ProxyMode::Reject).await?;
    let outage = Instant::now();
    let tag = &uuid::Uuid::new_v4().simple().to_string()[..6];
    let pairs: Vec<Pair<'_>> = GROUPS
        .iter()
        .flat_map(|group| {
            (0..group.jobs).map(move |i| Pair {
                group,
                mailed: format!("outage-m-{}-{i}-{tag}", group.name),
                plain: format!("outage-p-{}-{i}-{tag}", group.name),
            })
        })
        .collect();
    let expected_total: usize = pairs.iter().map(|p| p.group.mails).sum();
    let spec = Spec {
        workers: 4,
        ..Spec::default()
    };
    let args = mail_args(
        &proxy.address(),
        &["--alert-retry-ms", "1000", "--alert-max-retry-ms", "4000"],
    );
    let mut workers = vec![
        env.spawn_with("o1", spec, &args).await?,
        env.spawn_with("o2", spec, &args).await?,
    ];
    let mut jobs = Vec::new();
    for pair in &pairs {
        for (id, mailed) in [(&pair.mailed, true), (&pair.plain, false)] {
            let job = if pair.group.fails {
                failing(id.clone(), pair.group.max_try)
            } else {
                record(id.clone(), 0)
                    .with_interval(1)
                    .with_max_try_count(pair.group.max_try)
            };
            jobs.push(if mailed {
                job.with_action(mail_action(pair.group.notify))
            } else {
                job
            });
        }
    }
    env.queue(jobs).await?;

    // The failures pile up while the server is down: every job ends, each mail is saved
    // with its outcome, pending.
    for pair in &pairs {
        for id in [&pair.mailed, &pair.plain] {
            wait_job(&env, id, "finished", DOWN, |job| {
                job.is_abandoned || job.status == JobStatus::Completed
            })
            .await?;
        }
    }
    let pending = all_notifications(&env, &pairs).await?;
    for pair in &pairs {
        let of_job = pending.get(&pair.mailed).map_or(0, Vec::len);
        ensure!(
            of_job == pair.group.mails,
            "job {} ({} tries, notify {}) has {of_job} notifications, expected {}",
            pair.mailed,
            pair.group.max_try,
            pair.group.notify,
            pair.group.mails
        );
    }
    check_undelivered(&smtp, &pairs, &pending, "while the server was down")?;
    wait_until(outage + DOWN).await;
    let down = all_notifications(&env, &pairs).await?;
    check_undelivered(&smtp, &pairs, &down, "at the end of the down time")?;
    let tried_while_down = down.values().flatten().filter(|n| n.attempts >= 2).count();
    ensure!(
        tried_while_down == expected_total,
        "only {tried_while_down} of {expected_total} notifications were tried twice or more while the server was down"
    );

    // A partition: connections hang, every send times out.
    proxy.set(ProxyMode::Stall);
    wait_until(outage + DOWN + PARTITIONED).await;
    let partitioned = all_notifications(&env, &pairs).await?;
    check_undelivered(&smtp, &pairs, &partitioned, "during the partition")?;
    let stalled = proxy.stats();
    ensure!(
        stalled.held >= 1,
        "no send reached the partitioned proxy: {stalled:?}"
    );

    // The server is back: every mail arrives.
    proxy.set(ProxyMode::Forward);
    let back = Instant::now();
    let delivered = wait_for(
        Duration::from_secs(40),
        "every notification to be delivered after the outage",
        || async {
            let all = all_notifications(&env, &pairs).await?;
            let done = all.values().flatten().all(|n| {
                n.state == NotificationState::Delivered || n.state == NotificationState::Failed
            });
            Ok(done.then_some(all))
        },
    )
    .await?;
    let caught_up = back.elapsed();
    let failed: Vec<&NotificationRecord> = delivered
        .values()
        .flatten()
        .filter(|n| n.state != NotificationState::Delivered)
        .collect();
    ensure!(
        failed.is_empty(),
        "notifications failed for good over a transient outage: {:?}",
        failed
            .iter()
            .map(|n| (&n.id, &n.last_error))
            .collect::<Vec<_>>()
    );
    let attempts: Vec<i32> = delivered.values().flatten().map(|n| n.attempts).collect();

    for worker in &mut workers {
        let (status, _) = worker.terminate(Duration::from_secs(20)).await?;
        ensure!(status.success(), "{} exited with {status}", worker.node);
    }
    // Every process is gone: the mails are all in.
    let (distinct, repeats) = check_mails(&smtp, &pairs, &delivered)?;
    check_states(&env, &pairs).await?;
    let retries_logged: usize = workers.iter().map(|w| w.log_count("trying again at")).sum();
    let given_up: usize = workers.iter().map(|w| w.log_count("failed for good")).sum();
    ensure!(
        given_up == 0,
        "the workers logged {given_up} notifications as failed for good"
    );
    let stats = proxy.stats();
    env.raw.close().await;
    Ok(format!(
        "{} jobs with the mail action and their {} twins without it; SMTP down 30 s then \
         partitioned 30 s ({} connections closed at once, {} stalled): {expected_total} \
         notifications stayed pending, tried {}–{} times ({retries_logged} retries logged, 0 \
         failed); after the outage all delivered within {:.1} s: {distinct} distinct \
         Message-IDs, one per notification, {repeats} repeats; every job's state and run \
         count equal its twin's",
        pairs.len(),
        pairs.len(),
        stats.rejected,
        stalled.held,
        attempts.iter().min().copied().unwrap_or_default(),
        attempts.iter().max().copied().unwrap_or_default(),
        caught_up.as_secs_f64()
    ))
}

async fn wait_until(deadline: Instant) {
    tokio::time::sleep(deadline.saturating_duration_since(Instant::now())).await;
}

/// The notifications of the mailed jobs, by job id.
async fn all_notifications(
    env: &crate::harness::Env,
    pairs: &[Pair<'_>],
) -> Res<HashMap<String, Vec<NotificationRecord>>> {
    let mut all = HashMap::new();
    for pair in pairs {
        all.insert(
            pair.mailed.clone(),
            notifications_of(env, &pair.mailed).await?,
        );
    }
    Ok(all)
}

/// No mail about these jobs reached the server, and every notification is pending.
fn check_undelivered(
    smtp: &crate::mail::SmtpServer,
    pairs: &[Pair<'_>],
    notifications: &HashMap<String, Vec<NotificationRecord>>,
    when: &str,
) -> Res<()> {
    let ids: HashSet<&str> = pairs.iter().map(|p| p.mailed.as_str()).collect();
    let arrived = smtp.received(|job| ids.contains(job));
    ensure!(
        arrived.is_empty(),
        "{} mails reached the server {when}: {arrived:?}",
        arrived.len()
    );
    let settled: Vec<(&String, NotificationState)> = notifications
        .values()
        .flatten()
        .filter(|n| n.state != NotificationState::Pending)
        .map(|n| (&n.id, n.state))
        .collect();
    ensure!(
        settled.is_empty(),
        "notifications no longer pending {when}: {settled:?}"
    );
    Ok(())
}

/// Every delivered notification's Message-ID arrived, and no other about these jobs:
/// gives the distinct Message-IDs and the repeats.
fn check_mails(
    smtp: &crate::mail::SmtpServer,
    pairs: &[Pair<'_>],
    delivered: &HashMap<String, Vec<NotificationRecord>>,
) -> Res<(usize, usize)> {
    let ids: HashSet<&str> = pairs.iter().map(|p| p.mailed.as_str()).collect();
    let plain: HashSet<&str> = pairs.iter().map(|p| p.plain.as_str()).collect();
    ensure!(
        smtp.received(|job| plain.contains(job)).is_empty(),
        "a job without the mail action was mailed"
    );
    let mut by_message: BTreeMap<String, (String, usize)> = BTreeMap::new();
    for mail in smtp.received(|job| ids.contains(job)) {
        by_message
            .entry(mail.message_id.clone())
            .or_insert((mail.job_id.clone(), 0))
            .1 += 1;
    }
    let mut expected = BTreeMap::new();
    for notification in delivered.values().flatten() {
        expected.insert(message_id_of(notification)?, notification.job_id.clone());
    }
    let missing: Vec<&String> = expected
        .keys()
        .filter(|id| !by_message.contains_key(*id))
        .collect();
    ensure!(
        missing.is_empty(),
        "{} notifications were recorded as delivered but their mails never arrived: {missing:?}",
        missing.len()
    );
    let unknown: Vec<(&String, &String)> = by_message
        .iter()
        .filter(|(id, _)| !expected.contains_key(*id))
        .map(|(id, (job, _))| (id, job))
        .collect();
    ensure!(
        unknown.is_empty(),
        "mails arrived under identities no notification has (a mail sent twice under different identities?): {unknown:?}"
    );
    for (message, (job, _)) in &by_message {
        ensure!(
            expected.get(message) == Some(job),
            "the mail {message} is about {job}, its notification about {:?}",
            expected.get(message)
        );
    }
    let total: usize = by_message.values().map(|(_, n)| n).sum();
    Ok((by_message.len(), total - by_message.len()))
}

/// Each mailed job ended exactly as its twin without the mail action, as the retry ladder
/// says, after as many runs.
async fn check_states(env: &crate::harness::Env, pairs: &[Pair<'_>]) -> Res<()> {
    let runs = env.runs()?;
    for pair in pairs {
        let mut seen = Vec::new();
        for id in [&pair.mailed, &pair.plain] {
            let job = env
                .store
                .jobs
                .find(id)
                .await
                .ctx("find a job")?
                .ok_or_else(|| format!("job {id} is lost"))?
                .job;
            let ran = runs_of(&runs, id).len();
            seen.push((
                job.status,
                job.try_count,
                job.is_abandoned,
                job.priority,
                job.interval,
                job.trigger_count,
                job.next_run_time.is_none(),
                ran,
            ));
        }
        ensure!(
            seen[0] == seen[1],
            "job {} ended as {:?}, its twin {} without the mail as {:?}",
            pair.mailed,
            seen[0],
            pair.plain,
            seen[1]
        );
        let (status, tries, abandoned, runs) = (seen[0].0, seen[0].1, seen[0].2, seen[0].7);
        let expected = if pair.group.fails {
            (
                JobStatus::Stopped,
                pair.group.max_try,
                true,
                usize::try_from(pair.group.max_try).unwrap_or_default(),
            )
        } else {
            (JobStatus::Completed, 0, false, 1)
        };
        ensure!(
            (status, tries, abandoned, runs) == expected,
            "job {}: (status, tries, abandoned, runs) = {:?}, the retry ladder says {expected:?}",
            pair.mailed,
            (status, tries, abandoned, runs)
        );
    }
    Ok(())
}
