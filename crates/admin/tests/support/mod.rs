//! What the admin tests share: a started runtime on a real store (SQLite in a temporary
//! directory, or a fresh PostgreSQL database), its admin served on 127.0.0.1:0, and an
//! HTTP client that calls it as nobody, a reader or an operator.

#![allow(dead_code, unreachable_pub, clippy::unwrap_used, clippy::expect_used)]

pub mod postgres;

use std::sync::Arc;
use std::time::Duration;

use bgtasks_abstractions::{JobError, JobInfo, job_fn};
use bgtasks_actions::{
    JobActionDefinition, JobActionDefinitionManager, JobActionParameterDefinition, JobActionType,
};
use bgtasks_admin::{Admin, AdminConfig, AdminServer, serve};
use bgtasks_core::{JobScheduler, Runtime};
use bgtasks_sqlite::{SqliteJobStore, SqliteStoreOptions};
use bgtasks_store::JobStore;
use serde_json::Value;

/// The operator's token in the tests.
pub const OPERATOR: &str = "operator-token-for-tests";
/// The reader's token in the tests.
pub const READER: &str = "read-only-token-for-tests";

/// Who makes a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Caller {
    /// No Authorization header.
    Nobody,
    /// A token that is not configured.
    Stranger,
    /// The read-only token.
    Reader,
    /// The operator token.
    Operator,
}

/// A store to run the tests on.
pub enum Backend {
    /// A SQLite file in a temporary directory.
    Sqlite,
    /// A fresh database on the test PostgreSQL server.
    Postgres,
}

/// A response: status, JSON body (or `Null`), headers.
#[derive(Debug)]
pub struct Answer {
    pub status: u16,
    pub body: Value,
    pub text: String,
    pub headers: reqwest::header::HeaderMap,
}

impl Answer {
    /// The error's message (`error.message`).
    pub fn message(&self) -> String {
        self.body["error"]["message"]
            .as_str()
            .unwrap_or_default()
            .to_owned()
    }

    /// Asserts the status, showing the body when it differs.
    #[track_caller]
    pub fn expect(&self, status: u16) -> &Self {
        assert_eq!(self.status, status, "unexpected answer: {}", self.text);
        self
    }
}

/// A started runtime with its admin served on loopback.
pub struct TestServer {
    pub base: String,
    pub runtime: Runtime,
    pub store: Arc<dyn JobStore>,
    pub client: reqwest::Client,
    server: Option<AdminServer>,
    _dir: Option<tempfile::TempDir>,
}

/// The action definitions the tests configure: `mail` (fires on failures, needs `to`).
pub fn action_definitions() -> Arc<JobActionDefinitionManager> {
    let mut definitions = JobActionDefinitionManager::new();
    definitions.add(
        JobActionDefinition::new("mail", JobActionType::Failed)
            .with_display_name("Failure e-mail")
            .with_parameter(JobActionParameterDefinition::required(
                "to",
                "To",
                "Who gets it",
            ))
            .with_parameter(JobActionParameterDefinition::optional(
                "smtpPassword",
                "SMTP password",
                "A secret",
            )),
    );
    Arc::new(definitions)
}

/// Opens the store of `backend`.
pub async fn open_store(backend: &Backend) -> (Arc<dyn JobStore>, Option<tempfile::TempDir>) {
    match backend {
        Backend::Sqlite => {
            let dir = tempfile::tempdir().unwrap();
            let options =
                SqliteStoreOptions::default().watch_interval(Some(Duration::from_millis(50)));
            let store = SqliteJobStore::open(dir.path().join("jobs.db"), options)
                .await
                .unwrap();
            (Arc::new(store), Some(dir))
        }
        Backend::Postgres => {
            let url = postgres::fresh_database().await;
            (Arc::new(postgres::connect(&url).await), None)
        }
    }
}

/// A runtime on `store` with the test job types: `ok` succeeds, `fail` fails with a
/// Business failure, `flaky` times out on every third run, `slow` runs until it is
/// cancelled (or 30 s).
pub fn runtime(store: Arc<dyn JobStore>, node: &str) -> Runtime {
    Runtime::builder()
        .store(store)
        .node_name(node)
        .workers(4)
        .configure(|o| {
            o.lease_duration = Duration::from_secs(10);
            o.lease_renewal_interval = Duration::from_millis(500);
            o.shutdown_grace = Duration::from_secs(1);
            o.interrupt_grace = Duration::from_secs(1);
        })
        .runnable(
            "ok",
            job_fn(|ctx| async move {
                ctx.set_result("done");
                Ok::<(), JobError>(())
            }),
        )
        .runnable(
            "fail",
            job_fn(
                |_ctx| async move { Err::<(), JobError>(JobError::business("invoice 7 is void")) },
            ),
        )
        .runnable(
            "flaky",
            job_fn(|ctx| async move {
                if ctx.trigger_count() % 3 == 1 {
                    return Err(JobError::timeout(
                        "partner.example did not answer within 2 s",
                    ));
                }
                ctx.set_result("synced");
                Ok(())
            }),
        )
        .runnable(
            "slow",
            job_fn(|ctx| async move {
                tokio::select! {
                    _ = ctx.cancellation().cancelled() => {}
                    _ = tokio::time::sleep(Duration::from_secs(30)) => {}
                }
                Ok::<(), JobError>(())
            }),
        )
        .build()
        .unwrap()
}

impl TestServer {
    /// A server on `backend` with both tokens and the test action definitions.
    pub async fn start(backend: Backend) -> Self {
        let config = AdminConfig::new()
            .operator_token(OPERATOR)
            .read_only_token(READER)
            .action_definitions(action_definitions())
            .max_body_bytes(64 * 1024)
            .node_liveness(Duration::from_secs(20));
        Self::start_with(backend, config).await
    }

    /// A server on `backend` with `config`.
    pub async fn start_with(backend: Backend, config: AdminConfig) -> Self {
        let (store, dir) = open_store(&backend).await;
        let runtime = runtime(store.clone(), "admin-test-node");
        runtime.start().await.unwrap();
        let admin = Admin::new(runtime.clone(), config);
        let server = serve("127.0.0.1:0".parse().unwrap(), &admin).await.unwrap();
        let base = format!("http://{}", server.local_addr());
        Self {
            base,
            runtime,
            store,
            client: reqwest::Client::new(),
            server: Some(server),
            _dir: dir,
        }
    }

    /// Sends a request.
    pub async fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        caller: Caller,
        body: Option<&Value>,
    ) -> Answer {
        let mut request = self.client.request(method, format!("{}{path}", self.base));
        request = match caller {
            Caller::Nobody => request,
            Caller::Stranger => request.bearer_auth("not-a-token"),
            Caller::Reader => request.bearer_auth(READER),
            Caller::Operator => request.bearer_auth(OPERATOR),
        };
        if let Some(body) = body {
            request = request.json(body);
        }
        let response = request.send().await.unwrap();
        answer(response).await
    }

    pub async fn get(&self, path: &str, caller: Caller) -> Answer {
        self.call(reqwest::Method::GET, path, caller, None).await
    }

    pub async fn put(&self, path: &str, body: Option<&Value>) -> Answer {
        self.call(reqwest::Method::PUT, path, Caller::Operator, body)
            .await
    }

    pub async fn post(&self, path: &str, body: &Value) -> Answer {
        self.call(reqwest::Method::POST, path, Caller::Operator, Some(body))
            .await
    }

    pub async fn delete(&self, path: &str, body: Option<&Value>) -> Answer {
        self.call(reqwest::Method::DELETE, path, Caller::Operator, body)
            .await
    }

    /// Queues jobs through the runtime.
    pub async fn queue(&self, jobs: Vec<JobInfo>) {
        for inserted in self.runtime.queue_many(jobs).await.unwrap() {
            assert!(inserted);
        }
    }

    /// Waits (up to 30 s) until the job's JSON satisfies `check`; returns it.
    pub async fn wait_for_job(&self, id: &str, check: impl Fn(&Value) -> bool) -> Value {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
        loop {
            let answer = self
                .get(&format!("/api/background-jobs/{id}"), Caller::Reader)
                .await;
            if answer.status == 200 && check(&answer.body) {
                return answer.body;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "job {id} never reached the expected state; last: {}",
                answer.text
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Stops the server and the runtime.
    pub async fn stop(mut self) {
        if let Some(server) = self.server.take() {
            server.shutdown().await.unwrap();
        }
        self.runtime.shutdown().await.unwrap();
    }
}

/// Reads a response.
pub async fn answer(response: reqwest::Response) -> Answer {
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let text = response.text().await.unwrap();
    let body = serde_json::from_str(&text).unwrap_or(Value::Null);
    Answer {
        status,
        body,
        text,
        headers,
    }
}

/// Percent-encodes a path segment.
pub fn segment(text: &str) -> String {
    let mut out = String::new();
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || b"-._~".contains(&byte) {
            out.push(byte as char);
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}
