//! What every scenario uses: a store of its own (a SQLite file or a PostgreSQL database),
//! worker processes, the run logs, and a raw view of the jobs table.

use std::collections::HashMap;
use std::fmt::Display;
use std::future::Future;
use std::path::{Path, PathBuf};
use std::process::{ExitStatus, Stdio};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use bgtasks::abstractions::SystemClock;
use bgtasks::stores::{OpenedStore, open_store};
use bgtasks::{
    BackgroundTasks, JobError, JobInfo, JobRunnableContext, JobScheduler, JobStatus, job_fn,
};
use bgtasks_reliability::runlog::{self, Run, now_micros};
use sqlx::{PgPool, SqlitePool};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};
use tokio::sync::mpsc;

use crate::postgres;

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
        std::fs::create_dir_all(&self.logs_dir).ctx("create the logs directory")?;
        let stderr_path = self.logs_dir.join(format!("{node}.stderr"));
        let stderr = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&stderr_path)
            .ctx("open the worker's log file")?;
        let mut child = Command::new(&self.worker_bin)
            .arg("--store")
            .arg(&self.url)
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

    /// Queues jobs through a runtime on this store that never starts (validation and
    /// first fire times as in production), in batches of 1000. (It knows the job types
    /// by name only; the workers run them.)
    pub(crate) async fn queue(&self, jobs: Vec<JobInfo>) -> Res<()> {
        let idle = || job_fn(|_ctx: JobRunnableContext| async { Ok::<(), JobError>(()) });
        let runtime = BackgroundTasks::builder()
            .store(self.store.jobs.clone())
            .runnable("record", idle())
            .runnable("tick", idle())
            .build()
            .ctx("build the seeding runtime")?;
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

/// A worker process.
pub(crate) struct Worker {
    pub(crate) node: String,
    pub(crate) pid: u32,
    child: Child,
    stdout: mpsc::UnboundedReceiver<String>,
    /// When it died (killed or exited), in microseconds since the epoch.
    pub(crate) died: Option<i64>,
    pub(crate) exit: Option<ExitStatus>,
    pub(crate) stderr_path: PathBuf,
}

impl Worker {
    /// Sends a signal by name (`TERM`, `STOP`, `CONT`).
    pub(crate) async fn signal(&self, name: &str) -> Res<()> {
        let status = Command::new("kill")
            .args(["-s", name, &self.pid.to_string()])
            .status()
            .await
            .ctx("run `kill`")?;
        ensure!(status.success(), "kill -s {name} {} failed", self.pid);
        Ok(())
    }

    /// `SIGKILL`, and waits for the process to be gone.
    pub(crate) async fn kill9(&mut self) -> Res<()> {
        self.child.start_kill().ctx("SIGKILL the worker")?;
        self.died = Some(now_micros());
        self.exit = Some(self.child.wait().await.ctx("wait for the worker")?);
        Ok(())
    }

    /// `SIGTERM`, then waits at most `within` for the process to exit; gives its exit
    /// status and how long it took.
    pub(crate) async fn terminate(&mut self, within: Duration) -> Res<(ExitStatus, Duration)> {
        let sent = Instant::now();
        self.signal("TERM").await?;
        self.wait_exit(sent, within).await
    }

    /// Waits at most `within` (from `since`) for the process to exit.
    pub(crate) async fn wait_exit(
        &mut self,
        since: Instant,
        within: Duration,
    ) -> Res<(ExitStatus, Duration)> {
        let left = within.saturating_sub(since.elapsed());
        match tokio::time::timeout(left, self.child.wait()).await {
            Ok(status) => {
                let status = status.ctx("wait for the worker")?;
                self.died = Some(now_micros());
                self.exit = Some(status);
                Ok((status, since.elapsed()))
            }
            Err(_) => Err(format!(
                "worker `{}` did not exit within {:.1} s",
                self.node,
                within.as_secs_f64()
            )),
        }
    }

    /// Whether the process is still running.
    pub(crate) fn alive(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }

    /// Whether the worker printed `stopped` (a clean shutdown) so far.
    pub(crate) fn said_stopped(&mut self) -> bool {
        while let Ok(line) = self.stdout.try_recv() {
            if line.starts_with("stopped") {
                return true;
            }
        }
        false
    }

    /// Waits at most `within` for the worker to print a line starting with `prefix`.
    async fn wait_line(&mut self, prefix: &str, within: Duration) -> Res<()> {
        let found = tokio::time::timeout(within, async {
            while let Some(line) = self.stdout.recv().await {
                if line.starts_with(prefix) {
                    return true;
                }
            }
            false
        })
        .await;
        match found {
            Ok(true) => Ok(()),
            Ok(false) => Err(format!(
                "worker `{}` exited before it said `{prefix}`: {}",
                self.node,
                self.stderr_tail(10)
            )),
            Err(_) => Err(format!(
                "worker `{}` did not say `{prefix}` within {:.0} s",
                self.node,
                within.as_secs_f64()
            )),
        }
    }

    /// Holds the worker's claims (`SIGUSR1`): once this returns it takes no new run, and
    /// the runs it had claimed but not started are given back.
    pub(crate) async fn hold(&mut self) -> Res<()> {
        self.signal("USR1").await?;
        self.wait_line("held ", Duration::from_secs(30)).await
    }

    /// Lets a held worker claim again (`SIGUSR2`).
    pub(crate) async fn release(&mut self) -> Res<()> {
        self.signal("USR2").await?;
        self.wait_line("released ", Duration::from_secs(30)).await
    }

    /// The last lines of the worker's log.
    pub(crate) fn stderr_tail(&self, lines: usize) -> String {
        let text = std::fs::read_to_string(&self.stderr_path).unwrap_or_default();
        let all: Vec<&str> = text.lines().collect();
        all[all.len().saturating_sub(lines)..].join(" | ")
    }

    /// How many lines of the worker's log contain `needle`.
    pub(crate) fn log_count(&self, needle: &str) -> usize {
        count_in_file(&self.stderr_path, needle)
    }
}

/// How many lines of a file contain `needle`.
pub(crate) fn count_in_file(path: &Path, needle: &str) -> usize {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .filter(|l| l.contains(needle))
        .count()
}

/// When each worker process died, by pid.
pub(crate) fn deaths(workers: &[&Worker]) -> HashMap<u32, i64> {
    workers
        .iter()
        .filter_map(|w| w.died.map(|d| (w.pid, d)))
        .collect()
}

/// A job's row as the suite reads it directly.
#[derive(Debug, Clone)]
pub(crate) struct JobState {
    pub(crate) id: String,
    pub(crate) status: i64,
    pub(crate) trigger_count: i64,
    pub(crate) try_count: i64,
    pub(crate) leased: bool,
}

/// A direct connection to the jobs table, for checks no API offers (is a lease still
/// held?) and for counting ten thousand rows at once.
pub(crate) enum RawDb {
    Sqlite(SqlitePool),
    Postgres(PgPool),
}

impl RawDb {
    async fn connect(kind: StoreKind, url: &str) -> Res<Self> {
        Ok(match kind {
            StoreKind::Sqlite => RawDb::Sqlite(
                sqlx::sqlite::SqlitePoolOptions::new()
                    .max_connections(1)
                    .connect(url)
                    .await
                    .ctx("open the SQLite file directly")?,
            ),
            StoreKind::Postgres => RawDb::Postgres(
                sqlx::postgres::PgPoolOptions::new()
                    .max_connections(2)
                    .connect(url)
                    .await
                    .ctx("connect to the database directly")?,
            ),
        })
    }

    /// Every job whose id starts with `prefix` (letters, digits and dashes only).
    pub(crate) async fn states(&self, prefix: &str) -> Res<Vec<JobState>> {
        ensure!(
            prefix
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-'),
            "bad prefix {prefix}"
        );
        let sql = format!(
            "SELECT id, CAST(status AS BIGINT), CAST(trigger_count AS BIGINT), \
             CAST(try_count AS BIGINT), CAST(CASE WHEN lease_node IS NULL THEN 0 ELSE 1 END AS BIGINT) \
             FROM bgtasks_jobs WHERE id LIKE '{prefix}%'"
        );
        let rows: Vec<(String, i64, i64, i64, i64)> = match self {
            RawDb::Sqlite(pool) => sqlx::query_as(sqlx::AssertSqlSafe(sql))
                .fetch_all(pool)
                .await
                .ctx("read the jobs table")?,
            RawDb::Postgres(pool) => sqlx::query_as(sqlx::AssertSqlSafe(sql))
                .fetch_all(pool)
                .await
                .ctx("read the jobs table")?,
        };
        Ok(rows
            .into_iter()
            .map(|(id, status, trigger_count, try_count, leased)| JobState {
                id,
                status,
                trigger_count,
                try_count,
                leased: leased != 0,
            })
            .collect())
    }

    pub(crate) async fn close(&self) {
        match self {
            RawDb::Sqlite(pool) => pool.close().await,
            RawDb::Postgres(pool) => pool.close().await,
        }
    }
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
