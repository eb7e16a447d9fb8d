//! The dashboard in headless Chromium, driven by `tests/browser/dashboard.mjs`
//! (playwright-core): sign in, filter, pause a job and watch its status change without a
//! reload, trigger it, bulk-pause a filtered set, open a run log with an error, switch to
//! zh-Hans. Screenshots go to `target/dashboard-screenshots/`.
//!
//! Needs Node.js, `npm ci` in `crates/admin/tests/browser` and Debian's Chromium (with
//! `fonts-wqy-microhei`); `bash scripts/test.sh` installs them. Without them this test
//! fails — it never skips.

#![allow(clippy::unwrap_used, clippy::expect_used, unreachable_pub)]

mod support;

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use bgtasks_abstractions::{JobAction, JobExceptionType, JobInfo};
use bgtasks_core::JobScheduler;
use bgtasks_store::JobLog;
use chrono::Utc;
use support::{Backend, Caller, OPERATOR, READER, TestServer};

fn driver_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/browser")
}

fn screenshot_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/dashboard-screenshots")
}

/// Chromium, Node.js and playwright-core, or a panic saying how to get them.
fn browser_tools() -> PathBuf {
    let chromium = std::env::var_os("BGTASKS_CHROMIUM")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/usr/bin/chromium"));
    assert!(
        chromium.exists(),
        "Chromium is missing at {}: install it (`apt-get install -y chromium fonts-wqy-microhei`) \
         or run `bash scripts/test.sh`, which does",
        chromium.display()
    );
    let node = std::process::Command::new("node").arg("--version").output();
    assert!(
        node.is_ok_and(|o| o.status.success()),
        "Node.js (`node`) is missing: the browser test drives Chromium with playwright-core"
    );
    assert!(
        driver_dir()
            .join("node_modules/playwright-core/package.json")
            .exists(),
        "playwright-core is not installed: run `npm ci --prefix crates/admin/tests/browser` \
         (or `bash scripts/test.sh`, which does)"
    );
    chromium
}

/// Jobs to look at: billing invoices (one refused by a business rule), reports, a sync
/// job the test pauses and triggers, a repeating flaky job, a long run, an orphan.
async fn seed(server: &TestServer) {
    let later = Utc::now() + chrono::Duration::hours(1);
    let mut jobs: Vec<JobInfo> = (1..=4)
        .map(|i| {
            JobInfo::once(format!("invoice-100{i}"), "ok")
                .with_group("billing")
                .with_name(format!("Send invoice 100{i}"))
                .with_arg("invoice", 1000 + i)
                .with_begin_time(later)
        })
        .collect();
    jobs.extend([
        JobInfo::once("void-invoice", "fail")
            .with_group("billing")
            .with_name("Invoice refused by a business rule")
            .with_arg("invoice", 7)
            .with_max_try_count(2)
            .with_interval(1)
            .with_action(
                JobAction::new("mail")
                    .with_parameter("to", "billing@example.com")
                    .with_parameter("smtpPassword", "hunter2"),
            ),
        JobInfo::period("report-daily", "ok", "0 0 6 * * ?")
            .with_group("reports")
            .with_name("Daily sales report"),
        JobInfo::persistent("partner-sync", "flaky", 2, 0)
            .with_group("integrations")
            .with_name("Partner inventory sync")
            .with_interval(2),
        JobInfo::once("sync-partner", "ok")
            .with_group("integrations")
            .with_name("One-off partner catalogue import")
            .with_begin_time(later),
        JobInfo::once("long-export", "slow")
            .with_group("reports")
            .with_name("Quarterly export"),
        JobInfo::once("legacy-export", "legacy-export")
            .with_group("reports")
            .with_name("Export for the old warehouse system"),
        JobInfo::once("archive-2019", "ok")
            .with_group("maintenance")
            .with_name("Archive 2019 orders")
            .with_begin_time(later),
    ]);
    server.queue(jobs).await;
    server
        .runtime
        .stop_job("archive-2019")
        .await
        .unwrap()
        .unwrap();
    server
        .wait_for_job("void-invoice", |job| job["isAbandoned"] == true)
        .await;
    server
        .wait_for_job("partner-sync", |job| {
            job["triggerCount"].as_i64() >= Some(2)
        })
        .await;
    server.runtime.flush_logs().await;
}

/// An hour of earlier runs of the partner sync (a few network and business failures), so
/// that the charts have something to show.
async fn seed_history(server: &TestServer) {
    let now = Utc::now();
    let mut logs = Vec::new();
    for minute in (2..=58_i64).rev() {
        let at = now - chrono::Duration::minutes(minute);
        let runs = 6 + (minute * 7) % 11;
        for i in 0..runs {
            let network = (minute + i) % 9 == 0;
            let business = !network && (minute * 3 + i) % 29 == 0;
            let (exception, exception_type) = if network {
                (
                    Some("partner.example did not answer within 2 s".to_owned()),
                    Some(JobExceptionType::NETWORK),
                )
            } else if business {
                (
                    Some("sku 4411 is discontinued".to_owned()),
                    Some(JobExceptionType::BUSINESS),
                )
            } else {
                (None, None)
            };
            logs.push(JobLog {
                job_id: "partner-sync".to_owned(),
                job_name: "Partner inventory sync".to_owned(),
                job_group: "integrations".to_owned(),
                job_type: "flaky".to_owned(),
                message: if exception.is_some() {
                    "run failed"
                } else {
                    "synced"
                }
                .to_owned(),
                run_time: at + chrono::Duration::seconds(i * 4),
                exception,
                exception_type,
                tenant_id: None,
                node: "admin-test-node".to_owned(),
                duration_ms: 40 + u64::try_from(i * 13 % 90).unwrap(),
                lease_token: None,
            });
        }
    }
    server.store.append_logs(&logs).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dashboard_in_headless_chromium() {
    let chromium = browser_tools();
    let server = TestServer::start(Backend::Sqlite).await;
    seed(&server).await;
    seed_history(&server).await;
    let shots = screenshot_dir();
    std::fs::create_dir_all(&shots).unwrap();

    let mut driver = tokio::process::Command::new("node");
    driver
        .arg("dashboard.mjs")
        .current_dir(driver_dir())
        .env("DASHBOARD_URL", format!("{}/", server.base))
        .env("OPERATOR_TOKEN", OPERATOR)
        .env("READ_TOKEN", READER)
        .env("SCREENSHOT_DIR", &shots)
        .env("CHROMIUM", &chromium)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    let output = tokio::time::timeout(Duration::from_secs(150), driver.output())
        .await
        .expect("the browser test took more than 150 s")
        .expect("node runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    println!("{stdout}");
    eprintln!("{stderr}");
    assert!(
        output.status.success(),
        "the dashboard's browser test failed:\n{stdout}\n{stderr}"
    );

    // What the browser did is what the store holds.
    for i in 1..=4 {
        let job = server
            .get(
                &format!("/api/background-jobs/invoice-100{i}"),
                Caller::Reader,
            )
            .await;
        assert_eq!(job.body["status"], 20, "invoice-100{i} was bulk-paused");
    }
    let synced = server
        .get("/api/background-jobs/sync-partner", Caller::Reader)
        .await;
    assert_eq!(
        synced.body["triggerCount"], 1,
        "sync-partner was triggered once"
    );
    let created = server
        .get("/api/background-jobs/created-in-browser", Caller::Reader)
        .await;
    assert_eq!(created.body["name"], "Renamed in the dashboard");
    assert_eq!(created.body["revision"], 2, "one edit");
    for name in [
        "01-jobs",
        "03-job",
        "04-bulk",
        "05-run-log",
        "06-statistics",
        "07-nodes",
        "08-jobs-zh-Hans",
    ] {
        assert!(
            shots.join(format!("{name}.png")).exists(),
            "no screenshot {name}.png"
        );
    }
    server.stop().await;
}
