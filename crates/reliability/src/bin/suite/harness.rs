//! What every scenario uses: a store of its own (a SQLite file or a PostgreSQL database),
//! worker processes, the run logs, and a raw view of the jobs table.

use std::collections::HashMap;
use std::fmt::Display;
use std::future::Future;
use std::path::PathBuf;
use std::process::Stdio;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use bgtasks::abstractions::SystemClock;
use bgtasks::stores::{OpenedStore, open_store};
use bgtasks::{
    BackgroundTasks, JobError, JobInfo, JobRunnableContext, JobScheduler, JobStatus, job_fn,
};
use bgtasks_reliability::runlog::{self, Run};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::Command;
use tokio::sync::mpsc;

use crate::postgres;
pub(crate) use crate::process::{Worker, deaths};
pub(crate) use crate::rawdb::{JobState, RawDb};

/// A scenario's result: its summary line, or what went wrong.
pub(crate) type Res<T> = Result<T, String>;

/// Adds what was being done to an error.
pub(crate) trait Context<T> {
    /// The error, prefixed with `what`.
    fn ctx(self, what: &str) -> Res<T>;
}

impl<T, E: Display> Context<T> for Result<T, E> {
    fn ctx(self, what: &str) -> Res<T> {
        self.map_err(|e| format!("{what}: {e}"))
    }
}

impl<T> Context<T> for Option<T> {
    fn ctx(self, what: &str) -> Res<T> {
        self.ok_or_else(|| what.to_owned())
    }
}

/// Fails the scenario with a message unless the condition holds.
macro_rules! ensure {
    ($cond:expr, $($arg:tt)+) => {
        let holds: bool = $cond;
        if !holds {
            return Err(format!($($arg)+));
        }
    };
}
pub(crate) use ensure;

/// The two durable stores.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum StoreKind {
    Sqlite,
    Postgres,
}

impl StoreKind {
    pub(crate) fn name(self) -> &'static str {
        match self {
            StoreKind::Sqlite => "sqlite",
            StoreKind::Postgres => "postgres",
        }
    }
}

/// What the whole suite shares.
pub(crate) struct Suite {
    pub(crate) worker_bin: PathBuf,
    pub(crate) pg_admin: Option<String>,
    pub(crate) pg_bin: Option<PathBuf>,
    /// Directories and databases of the scenario in progress, removed when it passes.
    pub(crate) leftovers: Mutex<Leftovers>,
    pub(crate) smtp: tokio::sync::OnceCell<Arc<crate::mail::SmtpServer>>,
}

#[derive(Default)]
pub(crate) struct Leftovers {
    pub(crate) dirs: Vec<PathBuf>,
    pub(crate) databases: Vec<(String, String)>,
}

impl Suite {
    /// The real SMTP server (started once, on first use).
    pub(crate) async fn smtp(&self) -> Res<Arc<crate::mail::SmtpServer>> {
        self.smtp
            .get_or_try_init(|| async { crate::mail::SmtpServer::start().await.map(Arc::new) })
            .await
            .cloned()
    }

    /// A fresh environment for one scenario on `kind`: a temp directory (run logs, worker
    /// logs, the SQLite file) and the store, opened in this process.
    pub(crate) async fn env(&self, kind: StoreKind, scenario: &str) -> Res<Env> {
        let admin = match kind {
            StoreKind::Postgres => Some(self.pg_admin.clone().ctx(
                "BGTASKS_TEST_POSTGRES_URL is not set: the PostgreSQL scenarios need a server \
                 (run `bash scripts/test.sh`, which starts one)",
            )?),
            StoreKind::Sqlite => None,
        };
        self.env_on(kind, scenario, admin.as_deref()).await
    }

    /// As [`env`](Self::env), on the PostgreSQL server of `admin` (a superuser URL).
    pub(crate) async fn env_on(
        &self,
        kind: StoreKind,
        scenario: &str,
        admin: Option<&str>,
    ) -> Res<Env> {
        let dir = tempfile::Builder::new()
            .prefix(&format!("bgtasks-rel-{}-{scenario}-", kind.name()))
            .tempdir()
            .ctx("create a temp directory")?
            .keep();
        self.leftovers
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .dirs
            .push(dir.clone());
        let url = match (kind, admin) {
            (StoreKind::Sqlite, _) => format!("sqlite://{}", dir.join("jobs.db").display()),
            (StoreKind::Postgres, Some(admin)) => {
                let name = postgres::create_database(admin, scenario).await?;
                self.leftovers
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .databases
                    .push((admin.to_owned(), name.clone()));
                postgres::url_of(admin, &name)
            }
            (StoreKind::Postgres, None) => return Err("no PostgreSQL server".to_owned()),
        };
        let store = open_store(&url, Arc::new(SystemClock))
            .await
            .ctx("open the store in the suite")?;
        let raw = RawDb::connect(kind, &url).await?;
        let runs_dir = dir.join("runs");
        std::fs::create_dir_all(&runs_dir).ctx("create the runs directory")?;
        Ok(Env {
            runs_dir,
            logs_dir: dir.join("logs"),
            dir,
            url,
            store,
            raw,
            worker_bin: self.worker_bin.clone(),
        })
    }
}

/// One scenario's store, directory and worker binary.
pub(crate) struct Env {
    pub(crate) dir: PathBuf,
    pub(crate) runs_dir: PathBuf,
    pub(crate) logs_dir: PathBuf,
    pub(crate) url: String,
    pub(crate) store: OpenedStore,
    pub(crate) raw: RawDb,
    worker_bin: PathBuf,
}

/// How a worker process runs.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Spec {
    pub(crate) workers: usize,
    pub(crate) lease_ms: u64,
    pub(crate) renew_ms: u64,
    pub(crate) rescue_ms: u64,
    pub(crate) grace_ms: u64,
    pub(crate) interrupt_grace_ms: u64,
}

impl Default for Spec {
    fn default() -> Self {
        Self {
            workers: 4,
            lease_ms: 2000,
            renew_ms: 400,
            rescue_ms: 400,
            grace_ms: 5000,
            interrupt_grace_ms: 1000,
        }
    }
}

impl Env {
    /// Starts a worker process named `node` and waits (at most 60 s) until it is ready.
    pub(crate) async fn spawn(&self, node: &str, spec: Spec) -> Res<Worker> {
        self.spawn_with(node, spec, &[]).await
    }

    /// As [`spawn`](Self::spawn), with more command-line arguments for the worker
    /// (`--types`, `--smtp`, `--claim-delay-ms`).
    pub(crate) async fn spawn_with(&self, node: &str, spec: Spec, extra: &[String]) -> Res<Worker> {
        self.spawn_at(node, spec, &self.url, extra).await
    }

    /// As [`spawn_with`](Self::spawn_with), reaching the store at `store_url` (through a
    /// proxy) rather than at the scenario's URL.
    pub(crate) async fn spawn_at(
        &self,
        node: &str,
        spec: Spec,
        store_url: &str,
        extra: &[String],
    ) -> Res<Worker> {
        std::fs::create_dir_all(&self.logs_dir).ctx("create the logs directory")?;
        let stderr_path = self.logs_dir.join(format!("{node}.stderr"));
        let stderr = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&stderr_path)
            .ctx("open the worker's log file")?;
        let mut child = Command::new(&self.worker_bin)
            .arg("--store")
            .arg(store_url)
            .arg("--node")
            .arg(node)
            .arg("--runs-dir")
            .arg(&self.runs_dir)
            .args(["--workers", &spec.workers.to_string()])
            .args(["--lease-ms", &spec.lease_ms.to_string()])
            .args(["--renew-ms", &spec.renew_ms.to_string()])
            .args(["--rescue-ms", &spec.rescue_ms.to_string()])
            .args(["--grace-ms", &spec.grace_ms.to_string()])
            .args(["--interrupt-grace-ms", &spec.interrupt_grace_ms.to_string()])
            .args(extra)
            .env(
                "RUST_LOG",
                std::env::var("RELIABILITY_WORKER_LOG").unwrap_or_else(|_| "info".to_owned()),
            )
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::from(stderr))
            .kill_on_drop(true)
            .spawn()
            .map_err(|e| {
                format!(
                    "could not start `{}` (build it with `cargo build -p bgtasks-reliability --bins`): {e}",
                    self.worker_bin.display()
                )
            })?;
        let pid = child.id().ctx("the worker has no pid")?;
        let stdout = child.stdout.take().ctx("the worker's stdout")?;
        let (tx, mut rx) = mpsc::unbounded_channel();
        tokio::spawn(async move {
            let mut lines = BufReader::new(stdout).lines();
            while let Ok(Some(line)) = lines.next_line().await {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let ready = tokio::time::timeout(Duration::from_secs(60), async {
            while let Some(line) = rx.recv().await {
                if line.starts_with("ready ") {
                    return true;
                }
            }
            false
        })
        .await;
        let mut worker = Worker {
            node: node.to_owned(),
            pid,
            child,
            stdout: rx,
            died: None,
            exit: None,
            stderr_path,
        };
        match ready {
            Ok(true) => Ok(worker),
            outcome => {
                let _ = worker.child.start_kill();
                let _ = worker.child.wait().await;
                Err(format!(
                    "worker `{node}` did not become ready ({}): {}",
                    if outcome.is_err() {
                        "timed out"
                    } else {
                        "it exited"
                    },
                    worker.stderr_tail(10)
                ))
            }
        }
    }

    /// A runtime on this store that never starts: the suite's own handle for queueing
    /// and controlling jobs (validation, first fire times and transitions as in
    /// production), as another process — an admin, a producer — would hold. It knows the
    /// job types by name only; the workers run them.
    pub(crate) fn admin(&self) -> Res<BackgroundTasks> {
        let idle = || job_fn(|_ctx: JobRunnableContext| async { Ok::<(), JobError>(()) });
        BackgroundTasks::builder()
            .node_name("suite")
            .store(self.store.jobs.clone())
            .runnable("record", idle())
            .runnable("tick", idle())
            .build()
            .ctx("build the suite's runtime")
    }

    /// Queues jobs through [`admin`](Self::admin), in batches of 1000.
    pub(crate) async fn queue(&self, jobs: Vec<JobInfo>) -> Res<()> {
        let runtime = self.admin()?;
        let mut jobs = jobs;
        while !jobs.is_empty() {
            let rest = jobs.split_off(jobs.len().min(1000));
            let inserted = runtime
                .queue_many(std::mem::replace(&mut jobs, rest))
                .await
                .ctx("queue jobs")?;
            ensure!(inserted.iter().all(|i| *i), "a queued job already existed");
        }
        Ok(())
    }

    /// The runs the run logs tell of.
    pub(crate) fn runs(&self) -> Res<Vec<Run>> {
        let lines = runlog::read_dir(&self.runs_dir).ctx("read the run logs")?;
        Ok(runlog::runs(&lines))
    }

    /// Waits until the jobs with this id prefix are all Completed with no lease held.
    pub(crate) async fn wait_completed(
        &self,
        prefix: &str,
        count: usize,
        within: Duration,
    ) -> Res<()> {
        let deadline = Instant::now() + within;
        loop {
            let states = self.raw.states(prefix).await?;
            let done = states
                .iter()
                .filter(|s| s.status == i64::from(JobStatus::Completed.code()) && !s.leased)
                .count();
            if done == count && states.len() == count {
                return Ok(());
            }
            if Instant::now() >= deadline {
                return Err(format!(
                    "after {:.0} s, {done} of {count} `{prefix}*` jobs are Completed ({})",
                    within.as_secs_f64(),
                    describe_states(&states)
                ));
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }
}

/// A short census of job states: `status code × count`.
pub(crate) fn describe_states(states: &[JobState]) -> String {
    let mut counts: HashMap<(i64, bool), usize> = HashMap::new();
    for s in states {
        *counts.entry((s.status, s.leased)).or_default() += 1;
    }
    let mut parts: Vec<String> = counts
        .into_iter()
        .map(|((status, leased), n)| {
            let name = i32::try_from(status)
                .ok()
                .and_then(JobStatus::from_code)
                .map_or_else(|| format!("status {status}"), |s| s.as_str().to_owned());
            format!("{n} {name}{}", if leased { " (leased)" } else { "" })
        })
        .collect();
    parts.sort();
    parts.join(", ")
}

/// Polls `check` every 100 ms until it returns `Some`, for at most `within`.
pub(crate) async fn wait_for<T, F, Fut>(within: Duration, what: &str, mut check: F) -> Res<T>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Res<Option<T>>>,
{
    let deadline = Instant::now() + within;
    loop {
        if let Some(value) = check().await? {
            return Ok(value);
        }
        if Instant::now() >= deadline {
            return Err(format!(
                "timed out after {:.0} s waiting for {what}",
                within.as_secs_f64()
            ));
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Runs of the jobs with this id prefix.
pub(crate) fn runs_with_prefix<'a>(runs: &'a [Run], prefix: &str) -> Vec<&'a Run> {
    runs.iter().filter(|r| r.job.starts_with(prefix)).collect()
}

/// The runs of job `id` (exactly: `out-1` is not `out-10`).
pub(crate) fn runs_of<'a>(runs: &'a [Run], id: &str) -> Vec<&'a Run> {
    runs.iter().filter(|r| r.job == id).collect()
}

/// Seconds between two times in microseconds.
pub(crate) fn secs(from: i64, to: i64) -> f64 {
    (to - from) as f64 / 1e6
}
