//! Alerts that survive (R51): the failure mail is stored with the failed outcome and
//! delivered at least once, by any process, through the real SMTP server.
//!
//! - `alert-after-crash`: a process that stores the mails with the outcomes but never
//!   sends them is killed after a final failure; another process delivers the mail, its
//!   Message-ID the notification's identity. Then a process is killed after the server
//!   took a mail but before it heard so (the proxy holds the server's reply): a third
//!   process sends it again, under the same Message-ID.
//! - `throttle-across-nodes`: one job fails four times, on three processes in turn and
//!   then on a restarted one, with `notify = first-and-final`: exactly two mails.
//!
//! `smtp-outage` is in [`super::alerts_outage`].

use std::time::Duration;

use bgtasks::actions::{JobAction, Notification};
use bgtasks::exception_handling::JOB_EXECUTED_FAILED_ACTION;
use bgtasks::store::{NotificationQuery, NotificationRecord, NotificationState};
use bgtasks::{JobInfo, JobStatus};

use super::record;
use crate::harness::{Context, Env, Res, Spec, StoreKind, Suite, ensure, runs_of, wait_for};
use crate::mail::ReceivedMail;
use crate::proxy::{ProxyMode, TcpProxy};

/// The domain of the workers' sender (`jobs@bgtasks.test`), which the failure mail's
/// Message-ID carries.
pub(crate) const MAIL_DOMAIN: &str = "bgtasks.test";

/// The failure-mail action with the `notify` policy.
pub(crate) fn mail_action(notify: &str) -> JobAction {
    JobAction::new(JOB_EXECUTED_FAILED_ACTION)
        .with_parameter("to", "ops@example.com")
        .with_parameter("notify", notify)
}

/// A `record` job that fails every run, `max_try` tries from an interval of 1 s (retries
/// 2 s, 3 s … apart).
pub(crate) fn failing(id: impl Into<String>, max_try: i32) -> JobInfo {
    record(id, 0)
        .with_arg("fail", true)
        .with_interval(1)
        .with_max_try_count(max_try)
}

/// The worker arguments for the failure mail through `smtp` (`host:port`), and more.
pub(crate) fn mail_args(smtp: &str, more: &[&str]) -> Vec<String> {
    ["--smtp", smtp]
        .iter()
        .chain(more)
        .map(|s| (*s).to_owned())
        .collect()
}

/// The notifications of job `id`, oldest first.
pub(crate) async fn notifications_of(env: &Env, id: &str) -> Res<Vec<NotificationRecord>> {
    let mut items = env
        .store
        .jobs
        .list_notifications(&NotificationQuery {
            job_id: Some(id.to_owned()),
            limit: 100,
            ..NotificationQuery::default()
        })
        .await
        .ctx("list the job's notifications")?
        .items;
    items.reverse();
    Ok(items)
}

/// The Message-ID the failure mail of `notification` carries.
pub(crate) fn message_id_of(notification: &NotificationRecord) -> Res<String> {
    Notification::from_record(notification)
        .map(|n| n.message_id(MAIL_DOMAIN))
        .map_err(|e| format!("notification {} does not decode: {e}", notification.id))
}

/// Waits (at most `within`) until job `id` holds no lease and `done` accepts its state.
pub(crate) async fn wait_job(
    env: &Env,
    id: &str,
    what: &str,
    within: Duration,
    done: impl Fn(&JobInfo) -> bool,
) -> Res<JobInfo> {
    wait_for(within, &format!("job {id}: {what}"), || async {
        let found = env.store.jobs.find(id).await.ctx("find a job")?;
        Ok(found.and_then(|r| (r.lease.is_none() && done(&r.job)).then_some(r.job)))
    })
    .await
}

/// Waits until the failures of job `id` reached `tries` (its outcome saved).
async fn wait_tries(env: &Env, id: &str, tries: i32) -> Res<JobInfo> {
    wait_job(
        env,
        id,
        &format!("{tries} failed tries"),
        Duration::from_secs(30),
        |job| job.try_count >= tries,
    )
    .await
}

/// Waits until every notification of job `id` is delivered (there are `count`).
async fn wait_delivered(env: &Env, id: &str, count: usize) -> Res<Vec<NotificationRecord>> {
    wait_for(
        Duration::from_secs(30),
        &format!("the {count} notifications of {id} to be delivered"),
        || async {
            let all = notifications_of(env, id).await?;
            let delivered = all.len() == count
                && all
                    .iter()
                    .all(|n| n.state == NotificationState::Delivered && n.leased_to.is_none());
            Ok(delivered.then_some(all))
        },
    )
    .await
}

/// Waits until at least `count` mails about job `id` reached the server.
async fn wait_mails(
    smtp: &crate::mail::SmtpServer,
    id: &str,
    count: usize,
) -> Res<Vec<ReceivedMail>> {
    wait_for(
        Duration::from_secs(30),
        &format!("{count} mails about {id}"),
        || async {
            let mails = smtp.received(|job| job == id);
            Ok((mails.len() >= count).then_some(mails))
        },
    )
    .await
}

/// Job `id` was abandoned after its one try, and ran once, on `node`.
fn check_failed_once(env: &Env, job: &JobInfo, node: &str) -> Res<()> {
    ensure!(
        job.status == JobStatus::Stopped && job.is_abandoned && job.try_count == 1,
        "job {}: expected Stopped, abandoned, try count 1; got {} / {} / {}",
        job.id,
        job.status,
        job.is_abandoned,
        job.try_count
    );
    let runs = env.runs()?;
    let runs = runs_of(&runs, &job.id);
    ensure!(
        runs.len() == 1 && runs[0].node == node && runs[0].finished(),
        "job {} should have run once, on {node}: {runs:?}",
        job.id
    );
    Ok(())
}

/// `alert-after-crash`.
pub(crate) async fn alert_after_crash(suite: &Suite, kind: StoreKind) -> Res<String> {
    // spec: R51
    let env = suite.env(kind, "alert-crash").await?;
    let smtp = suite.smtp().await?;
    let direct = format!("{}:{}", smtp.host, smtp.port);
    let proxy = TcpProxy::start(direct.clone(), ProxyMode::Forward).await?;
    let tag = &uuid::Uuid::new_v4().simple().to_string()[..8];
    let saved = format!("crash-saved-{tag}");
    let sent = format!("crash-sent-{tag}");
    let spec = Spec {
        workers: 2,
        ..Spec::default()
    };
    // A claimed mail is leased for 6 s; the SMTP transport gives up after 5 s.
    let delivering = mail_args(
        &proxy.address(),
        &["--alert-lease-ms", "6000", "--alert-timeout-ms", "5500"],
    );

    // 1. The outcome and its mail are saved; the process dies before it sends.
    let mut planner = env
        .spawn_with(
            "planner",
            spec,
            &mail_args(&direct, &["--alerts", "plan-only"]),
        )
        .await?;
    env.queue(vec![failing(&saved, 1).with_action(mail_action("final"))])
        .await?;
    wait_tries(&env, &saved, 1).await?;
    let stored = notifications_of(&env, &saved).await?;
    ensure!(
        stored.len() == 1
            && stored[0].state == NotificationState::Pending
            && stored[0].attempts == 0
            && stored[0].leased_to.is_none(),
        "job {saved}: expected one pending, untried notification saved with the final failure, got {stored:?}"
    );
    ensure!(
        smtp.received(|job| job == saved).is_empty(),
        "a mail about {saved} went out from a process that never sends"
    );
    planner.kill9().await?;
    let saved_id = message_id_of(&stored[0])?;

    // 2. Another process delivers it.
    let mut courier = env.spawn_with("courier", spec, &delivering).await?;
    let delivered = wait_delivered(&env, &saved, 1).await?;
    let mails = wait_mails(&smtp, &saved, 1).await?;
    ensure!(
        mails.iter().all(|m| m.message_id == saved_id),
        "job {saved}: the mails carry {:?}, expected the notification's identity {saved_id}",
        mails.iter().map(|m| &m.message_id).collect::<Vec<_>>()
    );
    let courier_log = courier.log_count(&format!("delivered notification `{}`", stored[0].id));
    ensure!(
        courier_log == 1,
        "the courier logged the delivery of {} {courier_log} times",
        stored[0].id
    );

    // 3. The server takes the next mail but its reply never comes back; the process dies
    //    before it can record the delivery, and a third one sends the mail again.
    proxy.set(ProxyMode::HoldDataReply);
    env.queue(vec![failing(&sent, 1).with_action(mail_action("final"))])
        .await?;
    wait_tries(&env, &sent, 1).await?;
    wait_mails(&smtp, &sent, 1).await?;
    let unrecorded = notifications_of(&env, &sent).await?;
    ensure!(
        unrecorded.len() == 1
            && unrecorded[0].state == NotificationState::Pending
            && unrecorded[0].attempts == 1
            && unrecorded[0]
                .leased_to
                .as_ref()
                .is_some_and(|(node, _)| node == "courier"),
        "job {sent}: the server has the mail, so its notification should be pending, tried once and \
         leased to the courier, which still waits for the reply; got {unrecorded:?}"
    );
    courier.kill9().await?;
    let held = proxy.stats().held_replies;
    proxy.set(ProxyMode::Forward);
    let mut relief = env.spawn_with("relief", spec, &delivering).await?;
    let redelivered = wait_delivered(&env, &sent, 1).await?;
    let sent_id = message_id_of(&redelivered[0])?;
    let repeats = wait_mails(&smtp, &sent, 2).await?;
    ensure!(
        repeats.iter().all(|m| m.message_id == sent_id),
        "job {sent}: the mail and its repeat carry {:?}, expected {sent_id} on both",
        repeats.iter().map(|m| &m.message_id).collect::<Vec<_>>()
    );
    ensure!(
        redelivered[0].attempts >= 2,
        "job {sent}: delivered after {} attempts, expected a second one",
        redelivered[0].attempts
    );
    ensure!(
        relief.log_count(&format!("delivered notification `{}`", redelivered[0].id)) == 1,
        "the relief process did not deliver {}",
        redelivered[0].id
    );

    // Neither job ran again: their outcomes were saved before the crashes.
    for (id, node) in [(&saved, "planner"), (&sent, "courier")] {
        let job = wait_job(&env, id, "its final state", Duration::from_secs(5), |_| {
            true
        })
        .await?;
        check_failed_once(&env, &job, node)?;
    }
    let (status, _) = relief.terminate(Duration::from_secs(20)).await?;
    ensure!(status.success(), "the relief process exited with {status}");
    let final_count = smtp.received(|job| job == saved || job == sent);
    env.raw.close().await;
    Ok(format!(
        "killed after the final failure was saved with its mail (pending, 0 attempts, 0 mails): \
         another process delivered it ({} mail, Message-ID = the notification's identity, \
         Delivered after {} attempt); killed after the server took a mail whose reply the proxy \
         held ({held} reply held): a third process took the lapsed lease over and sent it again \
         ({} mails, 1 Message-ID, Delivered after {} attempts); each job ran once ({} mails in all)",
        mails.len(),
        delivered[0].attempts,
        repeats.len(),
        redelivered[0].attempts,
        final_count.len()
    ))
}

/// `throttle-across-nodes`.
pub(crate) async fn throttle_across_nodes(suite: &Suite, kind: StoreKind) -> Res<String> {
    // spec: R33, R51
    let env = suite.env(kind, "throttle").await?;
    let smtp = suite.smtp().await?;
    let args = mail_args(&format!("{}:{}", smtp.host, smtp.port), &[]);
    let spec = Spec {
        workers: 2,
        ..Spec::default()
    };
    let mut n1 = env.spawn_with("n1", spec, &args).await?;
    let mut n2 = env.spawn_with("n2", spec, &args).await?;
    let mut n3 = env.spawn_with("n3", spec, &args).await?;
    n2.hold().await?;
    n3.hold().await?;
    let id = format!(
        "throttle-{}",
        &uuid::Uuid::new_v4().simple().to_string()[..8]
    );
    env.queue(vec![
        failing(&id, 4).with_action(mail_action("first-and-final")),
    ])
    .await?;

    // Each failure on another process: only the one whose turn it is may claim. The
    // notifications are saved with the outcome, so they can be counted at once.
    let stored_after = |tries: i32| {
        let env = &env;
        let id = &id;
        async move {
            wait_tries(env, id, tries).await?;
            Ok::<usize, String>(notifications_of(env, id).await?.len())
        }
    };
    let mut counts = vec![stored_after(1).await?];
    wait_delivered(&env, &id, 1).await?;
    let first_mails = wait_mails(&smtp, &id, 1).await?.len();
    n1.hold().await?;
    n2.release().await?;
    counts.push(stored_after(2).await?);
    n2.hold().await?;
    n3.release().await?;
    counts.push(stored_after(3).await?);
    n3.hold().await?;
    let (status, _) = n1.terminate(Duration::from_secs(20)).await?;
    ensure!(status.success(), "n1 exited with {status}");
    let mut restarted = env.spawn_with("n1-restarted", spec, &args).await?;
    counts.push(stored_after(4).await?);
    ensure!(
        counts == [1, 1, 1, 2],
        "notifications stored after each failure: {counts:?}, expected [1, 1, 1, 2] (first and final)"
    );

    let job = wait_job(&env, &id, "abandoned", Duration::from_secs(5), |job| {
        job.is_abandoned
    })
    .await?;
    ensure!(
        job.status == JobStatus::Stopped && job.try_count == 4,
        "job {id}: expected Stopped at try 4, got {} at try {}",
        job.status,
        job.try_count
    );
    let runs = env.runs()?;
    let nodes: Vec<&str> = runs_of(&runs, &id)
        .iter()
        .map(|r| r.node.as_str())
        .collect();
    ensure!(
        nodes == ["n1", "n2", "n3", "n1-restarted"],
        "job {id} ran on {nodes:?}, expected n1, n2, n3, n1-restarted in turn"
    );
    let delivered = wait_delivered(&env, &id, 2).await?;
    let planned: Vec<(String, i32, bool, bool)> = delivered
        .iter()
        .map(|n| {
            Notification::from_record(n)
                .map(|n| {
                    (
                        n.run.node,
                        n.run.try_count,
                        n.run.first_failure,
                        n.run.final_failure,
                    )
                })
                .map_err(|e| format!("notification {} does not decode: {e}", n.id))
        })
        .collect::<Res<_>>()?;
    ensure!(
        planned
            == [
                ("n1".to_owned(), 1, true, false),
                ("n1-restarted".to_owned(), 4, false, true)
            ],
        "the notifications tell of (node, try, first, final) {planned:?}, expected the first failure on n1 and the final one on n1-restarted"
    );

    for worker in [&mut n2, &mut n3, &mut restarted] {
        let (status, _) = worker.terminate(Duration::from_secs(20)).await?;
        ensure!(status.success(), "{} exited with {status}", worker.node);
    }
    // Every process is gone: no mail can arrive any more.
    let mails = smtp.received(|job| job == id);
    let mut ids: Vec<&str> = mails.iter().map(|m| m.message_id.as_str()).collect();
    ids.sort_unstable();
    let mut expected = delivered
        .iter()
        .map(message_id_of)
        .collect::<Res<Vec<_>>>()?;
    expected.sort_unstable();
    ensure!(
        mails.len() == 2 && ids == expected,
        "job {id}: {} mails with Message-IDs {ids:?}, expected exactly 2: {expected:?}",
        mails.len()
    );
    env.raw.close().await;
    Ok(format!(
        "4 failures on n1, n2, n3 and a restarted n1 (first-and-final): notifications stored after \
         each {counts:?}; {first_mails} mail after the first failure, none for the 2nd and 3rd, \
         2 mails in all with 2 distinct Message-IDs (the first failure, planned on n1; the \
         abandoning one, on n1-restarted)"
    ))
}
