//! Test support: a real HTTP server on loopback that records every request it receives
//! and answers as scripted, log capture, a clock the test sets, and notifications of
//! failed runs.

#![allow(dead_code, unreachable_pub)]

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use bgtasks_abstractions::{
    Clock, JobAction, JobError, JobEventContext, JobEventData, JobInfo, JobStatus,
};
use bgtasks_actions::{
    JobActionDefinition, JobActionExecuteContext, Notification, NotificationKind, RunSummary,
};
use chrono::{DateTime, TimeZone, Utc};
use serde_json::Value;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

/// One request the server received.
#[derive(Debug, Clone)]
pub struct Received {
    pub method: Method,
    pub uri: Uri,
    pub headers: HeaderMap,
    pub body: Bytes,
}

impl Received {
    /// The body as JSON.
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).expect("the body is JSON")
    }

    /// A header as text.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// A query parameter, decoded.
    pub fn query(&self, name: &str) -> Option<String> {
        let url = reqwest::Url::parse(&format!("http://x{}", self.uri)).ok()?;
        url.query_pairs()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.into_owned())
    }
}

/// How the server answers a request.
#[derive(Debug, Clone)]
pub enum Reply {
    /// This status and body (sent as JSON when it parses as JSON).
    Status(u16, String),
    /// A redirect with this status to this location.
    Redirect(u16, String),
    /// Never answers.
    Hang,
}

impl Reply {
    pub fn ok() -> Self {
        Reply::Status(200, "ok".into())
    }

    pub fn json(status: u16, body: Value) -> Self {
        Reply::Status(status, body.to_string())
    }
}

#[derive(Default)]
struct Recorder {
    received: Mutex<Vec<Received>>,
    script: Mutex<VecDeque<Reply>>,
    otherwise: Mutex<Option<Reply>>,
}

/// A webhook receiver on 127.0.0.1, on a port of its own. It answers the scripted
/// replies in order, then the fallback (`200 ok` unless set).
pub struct Hook {
    pub base: String,
    recorder: Arc<Recorder>,
    task: JoinHandle<()>,
}

impl Hook {
    pub async fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let recorder = Arc::new(Recorder::default());
        let app = Router::new().fallback(answer).with_state(recorder.clone());
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Self {
            base,
            recorder,
            task,
        }
    }

    /// The URL of `path_and_query` on this server.
    pub fn url(&self, path_and_query: &str) -> String {
        format!("{}{path_and_query}", self.base)
    }

    /// Answers the next request with `reply`.
    pub fn then(&self, reply: Reply) -> &Self {
        self.recorder.script.lock().unwrap().push_back(reply);
        self
    }

    /// Answers every request after the scripted ones with `reply`.
    pub fn otherwise(&self, reply: Reply) {
        *self.recorder.otherwise.lock().unwrap() = Some(reply);
    }

    /// What it received so far.
    pub fn received(&self) -> Vec<Received> {
        self.recorder.received.lock().unwrap().clone()
    }
}

impl Drop for Hook {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn answer(
    State(recorder): State<Arc<Recorder>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    recorder.received.lock().unwrap().push(Received {
        method,
        uri,
        headers,
        body,
    });
    let scripted = recorder.script.lock().unwrap().pop_front();
    let reply = scripted
        .or_else(|| recorder.otherwise.lock().unwrap().clone())
        .unwrap_or_else(Reply::ok);
    match reply {
        Reply::Status(status, body) => {
            let status = StatusCode::from_u16(status).unwrap();
            let content_type = if serde_json::from_str::<Value>(&body).is_ok() {
                "application/json"
            } else {
                "text/plain"
            };
            (status, [("content-type", content_type)], body).into_response()
        }
        Reply::Redirect(status, location) => {
            let status = StatusCode::from_u16(status).unwrap();
            (status, [("location", location)]).into_response()
        }
        Reply::Hang => {
            std::future::pending::<()>().await;
            StatusCode::OK.into_response()
        }
    }
}

/// Captures formatted log lines, every level, while the guard lives (current-thread
/// runtime).
#[derive(Clone, Default)]
pub struct Logs(Arc<Mutex<Vec<u8>>>);

impl Logs {
    pub fn capture(&self) -> tracing::subscriber::DefaultGuard {
        let subscriber = tracing_subscriber::fmt()
            .with_max_level(tracing::Level::TRACE)
            .with_ansi(false)
            .with_writer(self.clone())
            .finish();
        tracing::subscriber::set_default(subscriber)
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap()).into_owned()
    }
}

impl std::io::Write for Logs {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for Logs {
    type Writer = Logs;

    fn make_writer(&'a self) -> Self::Writer {
        self.clone()
    }
}

/// A clock the test sets.
#[derive(Debug)]
pub struct TestClock(Mutex<DateTime<Utc>>);

impl TestClock {
    pub fn at(now: DateTime<Utc>) -> Arc<Self> {
        Arc::new(Self(Mutex::new(now)))
    }

    pub fn set(&self, now: DateTime<Utc>) {
        *self.0.lock().unwrap() = now;
    }
}

impl Clock for TestClock {
    fn now(&self) -> DateTime<Utc> {
        *self.0.lock().unwrap()
    }
}

/// 2026-03-09 07:05:01 UTC.
pub fn run_time() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, 9, 7, 5, 1).single().unwrap()
}

/// The failure notification of a run of `job` failing with `error`, its job left at
/// `try_count` tries (abandoned when that reaches the max).
pub fn failure(job: JobInfo, action: JobAction, error: JobError, try_count: i32) -> Notification {
    let mut data = JobEventData::new(job.clone(), run_time(), "worker-1");
    data.error = Some(error);
    let mut outcome = job;
    outcome.try_count = try_count;
    if outcome.max_try_count > 0 && try_count >= outcome.max_try_count {
        outcome.is_abandoned = true;
        outcome.status = JobStatus::Stopped;
    } else {
        outcome.status = JobStatus::FailedRetry;
    }
    let run = RunSummary::of(&JobEventContext::standalone(data), &outcome);
    Notification {
        id: Notification::identity(
            &outcome.id,
            42,
            0,
            "JobExecutedWebhookNotifier",
            NotificationKind::Failure,
        ),
        kind: NotificationKind::Failure,
        attempt: 1,
        created_at: run_time(),
        action,
        notifier: "JobExecutedWebhookNotifier".into(),
        run,
    }
}

/// The context of delivering `notification` of `definition`.
pub fn context<'a>(
    notification: &'a Notification,
    definition: &'a JobActionDefinition,
) -> JobActionExecuteContext<'a> {
    JobActionExecuteContext::new(notification, definition)
}

/// Every notification in the store, oldest first.
pub async fn notifications(
    store: &dyn bgtasks_core::store::JobStore,
) -> Vec<bgtasks_core::store::NotificationRecord> {
    let mut all = store
        .list_notifications(&bgtasks_core::store::NotificationQuery {
            limit: 100,
            ..Default::default()
        })
        .await
        .unwrap()
        .items;
    all.sort_by(|a, b| a.job_id.cmp(&b.job_id).then(a.id.cmp(&b.id)));
    all
}

/// A runtime on the paused tokio clock that plans notifications from `definitions` but
/// does not deliver them, with job types `fails` (a 503) and `works`.
pub async fn planning_runtime(
    store: Arc<bgtasks_core::store::InMemoryJobStore>,
    definitions: Arc<bgtasks_actions::JobActionDefinitionManager>,
) -> bgtasks_core::Runtime {
    use bgtasks_core::JobScheduler;
    let runtime = bgtasks_core::Runtime::builder()
        .clock(Arc::new(bgtasks_core::clock::TokioClock::new()))
        .store(store)
        .node_name("planner")
        .runnable(
            "fails",
            bgtasks_abstractions::job_fn(|_| async {
                Err(JobError::http(503, "the warehouse is down"))
            }),
        )
        .notification_planner(Arc::new(bgtasks_actions::JobActionPlanner::new(
            definitions,
        )))
        .build()
        .unwrap();
    runtime.start().await.unwrap();
    runtime
}

/// Waits (in paused time) until `check` holds for the store's notifications.
pub async fn until(
    store: &dyn bgtasks_core::store::JobStore,
    what: &str,
    check: impl Fn(&[bgtasks_core::store::NotificationRecord]) -> bool,
) -> Vec<bgtasks_core::store::NotificationRecord> {
    for _ in 0..600 {
        let all = notifications(store).await;
        if check(&all) {
            return all;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    panic!("{what}: {:#?}", notifications(store).await);
}
