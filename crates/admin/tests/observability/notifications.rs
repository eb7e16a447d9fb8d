//! `bgtasks_notifications_total {notifier, result}` against real deliveries: a running
//! runtime on SQLite whose failing job carries the failure e-mail (to the real SMTP server
//! of the tests, `BGTASKS_TEST_SMTP_HOST`/`_PORT`/`BGTASKS_TEST_MAILDIR`) and the webhook
//! (to a real HTTP receiver on loopback), both delivered through the outbox by the
//! delivery loop. `delivered` counts exactly what the servers received; with both pointed
//! at a closed port, each notification counts `retry` then `failed`, and nothing is
//! `delivered`.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use bgtasks_abstractions::{JobAction, JobError, JobInfo, job_fn};
use bgtasks_actions::{DeliveryOptions, JobActionDefinitionManager, JobActionsExt};
use bgtasks_admin::prometheus_builder;
use bgtasks_core::metrics::names;
use bgtasks_core::retry::FixedIntervalRetryPolicy;
use bgtasks_core::store::{NotificationOutbox, NotificationQuery, NotificationState};
use bgtasks_core::{JobScheduler, Runtime};
use bgtasks_exception_handling::{
    JOB_EXECUTED_FAILED_ACTION, JOB_ID_HEADER, JobExecutedFailedDefinitionProvider,
    JobExecutedFailedNotifier, SmtpMailTransport, SmtpTls,
};
use bgtasks_sqlite::{SqliteJobStore, SqliteStoreOptions};
use bgtasks_webhook::{WEBHOOK_ACTION, WebhookDefinitionProvider, WebhookNotifier, WebhookOptions};

use crate::scrape::Scrape;

/// The notifier names the counter's `notifier` label carries.
const EMAIL: &str = "JobExecutedFailedNotifier";
const WEBHOOK: &str = "JobExecutedWebhookNotifier";

/// The test SMTP server: host, port and the Maildir it writes each message into.
struct Smtp {
    host: String,
    port: u16,
    maildir: PathBuf,
}

/// The shared SMTP server of the tests. Fails (never skips) when it is not set.
fn smtp() -> Smtp {
    let var =
        |name: &str| {
            std::env::var(name).ok().filter(|v| !v.trim().is_empty()).unwrap_or_else(|| {
            panic!(
                "{name} is not set: this test delivers to the real SMTP server of the tests \
                 (BGTASKS_TEST_SMTP_HOST, BGTASKS_TEST_SMTP_PORT, BGTASKS_TEST_MAILDIR). Run \
                 `bash scripts/test.sh`, which starts one and sets them."
            )
        })
        };
    let port = var("BGTASKS_TEST_SMTP_PORT");
    Smtp {
        host: var("BGTASKS_TEST_SMTP_HOST"),
        port: port
            .parse()
            .unwrap_or_else(|e| panic!("BGTASKS_TEST_SMTP_PORT=`{port}` is not a port: {e}")),
        maildir: PathBuf::from(var("BGTASKS_TEST_MAILDIR")),
    }
}

impl Smtp {
    /// How many messages about `job_id` the server has received.
    fn received(&self, job_id: &str) -> usize {
        let Ok(entries) = std::fs::read_dir(self.maildir.join("new")) else {
            return 0;
        };
        let header = JOB_ID_HEADER.to_ascii_lowercase();
        entries
            .filter_map(Result::ok)
            .filter_map(|entry| std::fs::read_to_string(entry.path()).ok())
            .filter(|message| {
                message
                    .lines()
                    .take_while(|line| !line.is_empty())
                    .filter_map(|line| line.split_once(':'))
                    .any(|(name, value)| {
                        name.trim().to_ascii_lowercase() == header && value.trim() == job_id
                    })
            })
            .count()
    }
}

/// An SMTP transport to `host:port`, without TLS.
fn transport(host: &str, port: u16) -> SmtpMailTransport {
    SmtpMailTransport::builder(host)
        .port(port)
        .tls(SmtpTls::None)
        .from("Jobs <jobs@bgtasks.test>".parse().unwrap())
        .timeout(Duration::from_secs(5))
        .build()
        .unwrap()
}

/// An HTTP receiver on loopback that answers 200 to every request and counts them.
struct Receiver {
    base: String,
    requests: Arc<AtomicUsize>,
    task: tokio::task::JoinHandle<()>,
}

impl Receiver {
    async fn start() -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let requests = Arc::new(AtomicUsize::new(0));
        let counted = requests.clone();
        let app = axum::Router::new().fallback(move || {
            let counted = counted.clone();
            async move {
                counted.fetch_add(1, Ordering::SeqCst);
                "ok"
            }
        });
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Self {
            base,
            requests,
            task,
        }
    }
}

impl Drop for Receiver {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// A loopback URL and port nothing listens on.
fn closed_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().port()
}

/// A started runtime on a fresh SQLite file whose `fails` jobs always fail (a Network
/// failure), retried every 50 ms, with the failure e-mail sent by `mail` and the webhook,
/// delivered with `delivery`.
async fn runtime(
    mail: SmtpMailTransport,
    delivery: DeliveryOptions,
) -> (Runtime, Arc<SqliteJobStore>, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let options = SqliteStoreOptions::default().watch_interval(Some(Duration::from_millis(50)));
    let store = Arc::new(
        SqliteJobStore::open(dir.path().join("jobs.db"), options)
            .await
            .unwrap(),
    );
    let email = Arc::new(JobExecutedFailedNotifier::new(Arc::new(mail)));
    let webhook = Arc::new(WebhookNotifier::new(WebhookOptions::default()).unwrap());
    let definitions = JobActionDefinitionManager::new()
        .with_provider(&JobExecutedFailedDefinitionProvider::new(email))
        .with_provider(&WebhookDefinitionProvider::new(webhook));
    let runtime = Runtime::builder()
        .store(store.clone())
        .node_name("notifying-node")
        .retry_policy(Arc::new(FixedIntervalRetryPolicy::new(
            Duration::from_millis(50),
        )))
        .configure(|o| o.shutdown_grace = Duration::from_secs(1))
        .runnable(
            "fails",
            job_fn(|_ctx| async { Err::<(), JobError>(JobError::http(503, "warehouse is down")) }),
        )
        .job_actions_with(Arc::new(definitions), delivery)
        .unwrap()
        .build()
        .unwrap();
    runtime.start().await.unwrap();
    (runtime, store, dir)
}

/// A `fails` job of `tries` tries carrying the failure e-mail and the webhook to `url`,
/// each notifying every failure.
fn failing_job(id: &str, tries: i32, url: &str) -> JobInfo {
    JobInfo::once(id, "fails")
        .with_max_try_count(tries)
        .with_action(
            JobAction::new(JOB_EXECUTED_FAILED_ACTION)
                .with_parameter("to", "ops@example.com")
                .with_parameter("notify", "every"),
        )
        .with_action(
            JobAction::new(WEBHOOK_ACTION)
                .with_parameter("url", url)
                .with_parameter("notify", "every"),
        )
}

/// Waits (at most 60 s) until the job has `count` notifications, all in `state`.
async fn until_all(store: &SqliteJobStore, job_id: &str, count: usize, state: NotificationState) {
    let query = NotificationQuery {
        job_id: Some(job_id.to_owned()),
        limit: 100,
        ..NotificationQuery::default()
    };
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    loop {
        let page = store.list_notifications(&query).await.unwrap();
        if page.items.len() == count && page.items.iter().all(|n| n.state == state) {
            return;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "job {job_id}: expected {count} notifications {state:?}; found {:?}",
            page.items
                .iter()
                .map(|n| (n.action.clone(), n.state, n.attempts, n.last_error.clone()))
                .collect::<Vec<_>>()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn count(scrape: &Scrape, notifier: &str, result: &str) -> Option<f64> {
    scrape.value(
        names::NOTIFICATIONS_TOTAL,
        &[("notifier", notifier), ("result", result)],
    )
}

#[tokio::test]
async fn delivered_counts_exactly_what_the_smtp_and_http_servers_received() {
    // spec: R51
    let recorder = prometheus_builder().unwrap().build_recorder();
    let handle = recorder.handle();
    let _recorder = metrics::set_default_local_recorder(&recorder);
    let smtp = smtp();
    let receiver = Receiver::start().await;
    let delivery = DeliveryOptions {
        poll_interval: Duration::from_millis(50),
        notifier_timeout: Duration::from_secs(10),
        ..DeliveryOptions::default()
    };
    let (runtime, store, _dir) = runtime(transport(&smtp.host, smtp.port), delivery).await;
    let id = format!("metrics-mail-{}", uuid::Uuid::new_v4().simple());
    runtime
        .queue(failing_job(&id, 3, &format!("{}/hook", receiver.base)))
        .await
        .unwrap();
    // Three failures, each notified by both notifiers.
    until_all(&store, &id, 6, NotificationState::Delivered).await;
    runtime.shutdown().await.unwrap();

    let mails = smtp.received(&id);
    let requests = receiver.requests.load(Ordering::SeqCst);
    assert_eq!((mails, requests), (3, 3), "what the servers received");
    let scrape = Scrape::parse(&handle.render());
    assert_eq!(count(&scrape, EMAIL, "delivered"), Some(mails as f64));
    assert_eq!(count(&scrape, WEBHOOK, "delivered"), Some(requests as f64));
    for result in ["retry", "failed"] {
        assert_eq!(
            scrape.sum(names::NOTIFICATIONS_TOTAL, &[("result", result)]),
            0.0,
            "nothing {result}: {}",
            scrape.text
        );
    }
}

#[tokio::test]
async fn a_closed_port_counts_retries_and_failures_and_no_delivery() {
    // spec: R51
    let recorder = prometheus_builder().unwrap().build_recorder();
    let handle = recorder.handle();
    let _recorder = metrics::set_default_local_recorder(&recorder);
    // Two attempts each: the first is retried, the second fails for good.
    let delivery = DeliveryOptions {
        poll_interval: Duration::from_millis(50),
        notifier_timeout: Duration::from_secs(10),
        first_retry: Duration::from_millis(100),
        max_retry: Duration::from_millis(500),
        max_attempts: 2,
        ..DeliveryOptions::default()
    };
    let (runtime, store, _dir) = runtime(transport("127.0.0.1", closed_port()), delivery).await;
    let id = format!("metrics-closed-{}", uuid::Uuid::new_v4().simple());
    let url = format!("http://127.0.0.1:{}/hook", closed_port());
    runtime.queue(failing_job(&id, 2, &url)).await.unwrap();
    // Two failures, each notified by both notifiers: four notifications, failed for good.
    until_all(&store, &id, 4, NotificationState::Failed).await;
    runtime.shutdown().await.unwrap();

    let scrape = Scrape::parse(&handle.render());
    for notifier in [EMAIL, WEBHOOK] {
        assert_eq!(count(&scrape, notifier, "retry"), Some(2.0), "{notifier}");
        assert_eq!(count(&scrape, notifier, "failed"), Some(2.0), "{notifier}");
        assert_eq!(count(&scrape, notifier, "delivered"), None, "{notifier}");
    }
    assert_eq!(
        scrape.sum(names::NOTIFICATIONS_TOTAL, &[]),
        8.0,
        "{}",
        scrape.text
    );
}
