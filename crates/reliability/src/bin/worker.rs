//! `bgtasks-reliability-worker`: one bgtasks node in a process of its own, for the
//! reliability suite.
//!
//! ```text
//! bgtasks-reliability-worker --store URL --node NAME --runs-dir DIR
//!     [--workers N] [--lease-ms MS] [--renew-ms MS] [--rescue-ms MS] [--grace-ms MS]
//!     [--interrupt-grace-ms MS] [--types T1,T2,...] [--smtp HOST:PORT]
//!     [--alerts deliver|plan-only] [--alert-retry-ms MS] [--alert-max-retry-ms MS]
//!     [--alert-lease-ms MS] [--alert-timeout-ms MS] [--claim-delay-ms MS]
//!     [--set NAME=VALUE]...
//! ```
//!
//! It opens the store (`sqlite://PATH` or `postgres://…`), registers the job types named
//! by `--types` (default `record,tick`; every one appends `start`, then after `sleep_ms`
//! milliseconds from the job's args `end` — or `cancel` if the run is interrupted first,
//! unless the arg `ignore_cancel` is true — to the node's run log, and sets the result
//! `tag <tag> by pid <pid>` from the arg `tag`; with the arg `fail` true the run then
//! fails; with the arg `abort` true the process aborts right after `start`, as a job that
//! takes its node down would), and a listener that appends a `claim`
//! line with the lease before each run. With `--smtp` it also plans the failed-job e-mail
//! of jobs that carry that action with each outcome and delivers the outbox's mails
//! (polling every 200 ms, retrying after `--alert-retry-ms`, default 1000, doubling up to
//! `--alert-max-retry-ms`, default 10 s, 60 attempts; each claimed mail leased for
//! `--alert-lease-ms`, default 15 s, each send cut after `--alert-timeout-ms`, default
//! 10 s); with `--alerts plan-only` it stores the mails with the outcomes but
//! never delivers any — a node that dies before it sends. With `--claim-delay-ms` every claim that took runs
//! prints `claimed <count> <node>` and hands them to the runtime only after that delay —
//! a slow store answer, so that a scenario can stop the process mid-claim. It starts the
//! runtime and prints `ready <node> <pid>`. `SIGUSR1` holds its claims (the runtime
//! stands by: no new claims, runs going finish, claimed runs are given back) and prints
//! `held <node>`; `SIGUSR2` lets it claim again and prints `released <node>` — so that a
//! scenario can make work go to the processes it wants instead of hoping for it. On
//! `SIGTERM` or `SIGINT` it shuts the runtime down (running runs get the grace period, the
//! rest is given back at once), prints `stopped <node>` and exits 0. `--set` sets one of
//! the runtime's bounds (rescues in a row, store timeout, retention…; see
//! [`bgtasks_reliability::settings`]). Bad arguments or a store that does not open exit
//! with status 2 or 1 and a message on stderr.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use bgtasks::abstractions::SystemClock;
use bgtasks::actions::{DeliveryOptions, JobActionPlanner, JobActionsExt};
use bgtasks::store::{ClaimRequest, ClaimedRun, JobRuns, StoreError};
use bgtasks::stores::open_store;
use bgtasks::{
    BackgroundTasks, BoxError, JobError, JobEvent, JobEventContext, JobRunnableContext,
    JobScheduler, JobStore, job_fn,
};
use bgtasks_reliability::runlog::{Event, RunLogWriter, micros};
use tokio::signal::unix::{SignalKind, signal};

/// What the command line asks for.
struct Args {
    store: String,
    node: String,
    runs_dir: PathBuf,
    workers: usize,
    lease: Duration,
    renew: Duration,
    rescue: Duration,
    grace: Duration,
    interrupt_grace: Duration,
    types: Vec<String>,
    smtp: Option<(String, u16)>,
    deliver_alerts: bool,
    delivery: DeliveryOptions,
    claim_delay: Option<Duration>,
    settings: Vec<String>,
}

const USAGE: &str = "usage: bgtasks-reliability-worker --store URL --node NAME --runs-dir DIR \
[--workers N] [--lease-ms MS] [--renew-ms MS] [--rescue-ms MS] [--grace-ms MS] [--interrupt-grace-ms MS] \
[--types T1,T2,...] [--smtp HOST:PORT] [--alerts deliver|plan-only] [--alert-retry-ms MS] \
[--alert-max-retry-ms MS] [--alert-lease-ms MS] [--alert-timeout-ms MS] [--claim-delay-ms MS] \
[--set NAME=VALUE]...";

fn parse_args(mut argv: impl Iterator<Item = String>) -> Result<Args, String> {
    let mut store = None;
    let mut node = None;
    let mut runs_dir = None;
    let mut args = Args {
        store: String::new(),
        node: String::new(),
        runs_dir: PathBuf::new(),
        workers: 4,
        lease: Duration::from_secs(2),
        renew: Duration::from_millis(500),
        rescue: Duration::from_millis(500),
        grace: Duration::from_secs(5),
        interrupt_grace: Duration::from_secs(1),
        types: vec!["record".to_owned(), "tick".to_owned()],
        smtp: None,
        deliver_alerts: true,
        delivery: DeliveryOptions {
            batch_size: 16,
            lease: Duration::from_secs(15),
            poll_interval: Duration::from_millis(200),
            notifier_timeout: Duration::from_secs(10),
            first_retry: Duration::from_secs(1),
            max_retry: Duration::from_secs(10),
            max_attempts: 60,
        },
        claim_delay: None,
        settings: Vec::new(),
    };
    while let Some(flag) = argv.next() {
        let mut value = || argv.next().ok_or_else(|| format!("`{flag}` needs a value"));
        let millis = |text: String| {
            text.parse::<u64>()
                .map(Duration::from_millis)
                .map_err(|e| format!("`{flag}` = `{text}`: not a number of milliseconds: {e}"))
        };
        match flag.as_str() {
            "--store" => store = Some(value()?),
            "--node" => node = Some(value()?),
            "--runs-dir" => runs_dir = Some(PathBuf::from(value()?)),
            "--workers" => {
                let text = value()?;
                args.workers = text
                    .parse()
                    .map_err(|e| format!("`--workers` = `{text}`: {e}"))?;
            }
            "--lease-ms" => args.lease = millis(value()?)?,
            "--renew-ms" => args.renew = millis(value()?)?,
            "--rescue-ms" => args.rescue = millis(value()?)?,
            "--grace-ms" => args.grace = millis(value()?)?,
            "--interrupt-grace-ms" => args.interrupt_grace = millis(value()?)?,
            "--claim-delay-ms" => args.claim_delay = Some(millis(value()?)?),
            "--set" => {
                let setting = value()?;
                let mut checked = bgtasks::BackgroundTasksOptions::default();
                bgtasks_reliability::settings::apply(&mut checked, &setting)?;
                args.settings.push(setting);
            }
            "--alert-retry-ms" => args.delivery.first_retry = millis(value()?)?,
            "--alert-max-retry-ms" => args.delivery.max_retry = millis(value()?)?,
            "--alert-lease-ms" => args.delivery.lease = millis(value()?)?,
            "--alert-timeout-ms" => args.delivery.notifier_timeout = millis(value()?)?,
            "--alerts" => {
                args.deliver_alerts = match value()?.as_str() {
                    "deliver" => true,
                    "plan-only" => false,
                    other => {
                        return Err(format!(
                            "`--alerts` = `{other}`: expected `deliver` or `plan-only`"
                        ));
                    }
                };
            }
            "--types" => {
                args.types = value()?
                    .split(',')
                    .map(str::trim)
                    .filter(|t| !t.is_empty())
                    .map(str::to_owned)
                    .collect();
            }
            "--smtp" => {
                let text = value()?;
                let (host, port) = text
                    .rsplit_once(':')
                    .ok_or_else(|| format!("`--smtp` = `{text}`: expected HOST:PORT"))?;
                let port = port
                    .parse()
                    .map_err(|e| format!("`--smtp` = `{text}`: bad port: {e}"))?;
                args.smtp = Some((host.to_owned(), port));
            }
            "--help" | "-h" => return Err(USAGE.to_owned()),
            other => return Err(format!("unknown argument `{other}`\n{USAGE}")),
        }
    }
    args.store = store.ok_or_else(|| format!("`--store` is required\n{USAGE}"))?;
    args.node = node.ok_or_else(|| format!("`--node` is required\n{USAGE}"))?;
    args.runs_dir = runs_dir.ok_or_else(|| format!("`--runs-dir` is required\n{USAGE}"))?;
    Ok(args)
}

/// Writes a `claim` line, with the run's due time and lease token, before every run.
struct ClaimRecorder(Arc<RunLogWriter>);

impl JobEvent for ClaimRecorder {
    fn name(&self) -> &str {
        "ClaimRecorder"
    }

    async fn on_before_executed(&self, context: &JobEventContext) -> Result<(), BoxError> {
        let data = context.data();
        let claim = data
            .lease
            .as_ref()
            .map(|lease| (micros(lease.due_at), lease.token))
            .unwrap_or((micros(data.run_time), 0));
        self.0.write(Event::Claim, data.key(), Some(claim))?;
        Ok(())
    }
}

/// A store whose claims answer late: the runs are leased in the store at once, and handed
/// to the runtime only after `delay` (a slow store), announced on stdout.
struct DelayedClaims {
    inner: Arc<dyn JobStore>,
    delay: Duration,
    node: String,
}

bgtasks::store::forward_capabilities!(
    impl[] DelayedClaims => |this| this.inner;
    JobDefinitions, JobControl, RunLogs, Maintenance, NodeRegistry, JobStatistics,
    NotificationOutbox
);

impl JobRuns for DelayedClaims {
    async fn claim(&self, request: &ClaimRequest<'_>) -> Result<Vec<ClaimedRun>, StoreError> {
        let runs = self.inner.claim(request).await?;
        if !runs.is_empty() {
            println!("claimed {} {}", runs.len(), self.node);
            tokio::time::sleep(self.delay).await;
        }
        Ok(runs)
    }
    async fn next_due_time(
        &self,
        node: &str,
        job_types: Option<&[String]>,
    ) -> Result<Option<chrono::DateTime<chrono::Utc>>, StoreError> {
        self.inner.next_due_time(node, job_types).await
    }
    async fn renew(
        &self,
        node: &str,
        leases: &[bgtasks::abstractions::RunLease],
        lease: Duration,
        now: chrono::DateTime<chrono::Utc>,
    ) -> Result<Vec<bgtasks::store::RenewOutcome>, StoreError> {
        self.inner.renew(node, leases, lease, now).await
    }
    async fn complete(
        &self,
        runs: &[bgtasks::store::RunCompletion],
        logs: &[bgtasks::JobLog],
    ) -> Result<Vec<bgtasks::CompletionOutcome>, StoreError> {
        self.inner.complete(runs, logs).await
    }
    async fn give_back(
        &self,
        lease: &bgtasks::abstractions::RunLease,
        how: bgtasks::store::GiveBack,
    ) -> Result<bgtasks::CompletionOutcome, StoreError> {
        self.inner.give_back(lease, how).await
    }
    async fn rescue(
        &self,
        now: chrono::DateTime<chrono::Utc>,
    ) -> Result<Vec<bgtasks::store::Rescued>, StoreError> {
        self.inner.rescue(now).await
    }
    fn prefers_batched_writes(&self) -> bool {
        self.inner.prefers_batched_writes()
    }
    fn subscribe_due(&self) -> Option<Arc<tokio::sync::Notify>> {
        self.inner.subscribe_due()
    }
    fn subscribe_control(&self) -> Option<Arc<tokio::sync::Notify>> {
        self.inner.subscribe_control()
    }
}

/// The `record` job: `start`, sleep `sleep_ms` (watching the cancellation signal unless
/// `ignore_cancel`), `end`.
async fn record(log: Arc<RunLogWriter>, ctx: JobRunnableContext) -> Result<(), JobError> {
    let sleep_ms: u64 = ctx.get_or("sleep_ms", 0)?;
    let ignore_cancel: bool = ctx.get_or("ignore_cancel", false)?;
    let tag: String = ctx.get_or("tag", String::new())?;
    let fail: bool = ctx.get_or("fail", false)?;
    let abort: bool = ctx.get_or("abort", false)?;
    let write = |event| {
        log.write(event, ctx.job_id(), None)
            .map_err(|e| JobError::new(format!("could not write the run log: {e}")))
    };
    write(Event::Start)?;
    if abort {
        std::process::abort();
    }
    if sleep_ms > 0 && ignore_cancel {
        tokio::time::sleep(Duration::from_millis(sleep_ms)).await;
    } else if sleep_ms > 0 {
        tokio::select! {
            _ = tokio::time::sleep(Duration::from_millis(sleep_ms)) => {}
            _ = ctx.cancellation().cancelled() => {
                write(Event::Cancel)?;
                return Err(JobError::new("interrupted before the work was done"));
            }
        }
    }
    write(Event::End)?;
    if fail {
        return Err(JobError::new(format!(
            "deliberate failure of job `{}`",
            ctx.job_id()
        )));
    }
    ctx.set_result(format!("tag {tag} by pid {}", std::process::id()));
    Ok(())
}

async fn run(args: Args) -> Result<(), String> {
    let log = Arc::new(RunLogWriter::open(&args.runs_dir, &args.node).map_err(|e| {
        format!(
            "could not open the run log in `{}`: {e}",
            args.runs_dir.display()
        )
    })?);
    let store = open_store(&args.store, Arc::new(SystemClock))
        .await
        .map_err(|e| format!("could not open the store: {e}"))?;
    let jobs: Arc<dyn JobStore> = match args.claim_delay {
        Some(delay) => Arc::new(DelayedClaims {
            inner: store.jobs.clone(),
            delay,
            node: args.node.clone(),
        }),
        None => store.jobs.clone(),
    };
    let mut options = bgtasks::BackgroundTasksOptions::default();
    for setting in &args.settings {
        bgtasks_reliability::settings::apply(&mut options, setting)?;
    }
    let mut builder = BackgroundTasks::builder()
        .options(options)
        .node_name(args.node.clone())
        .workers(args.workers)
        .configure(|o| {
            o.lease_duration = args.lease;
            o.lease_renewal_interval = args.renew;
            o.rescue_interval = args.rescue;
            o.shutdown_grace = args.grace;
            o.interrupt_grace = args.interrupt_grace;
        })
        .store(jobs)
        .lock_provider(store.locks.clone())
        .listener(Arc::new(ClaimRecorder(log.clone())));
    for job_type in &args.types {
        let log = log.clone();
        builder = builder.runnable(
            job_type.clone(),
            job_fn(move |ctx| record(log.clone(), ctx)),
        );
    }
    if let Some((host, port)) = &args.smtp {
        let from = "Jobs <jobs@bgtasks.test>"
            .parse()
            .map_err(|e| format!("the sender address: {e}"))?;
        let transport = bgtasks::exception_handling::SmtpMailTransport::builder(host.clone())
            .port(*port)
            .tls(bgtasks::exception_handling::SmtpTls::None)
            .from(from)
            .timeout(Duration::from_secs(5))
            .build()
            .map_err(|e| format!("the SMTP transport: {e}"))?;
        let definitions = bgtasks::notifications::failure_email_definitions(Arc::new(transport));
        builder = if args.deliver_alerts {
            builder
                .job_actions_with(definitions, args.delivery.clone())
                .map_err(|e| e.to_string())?
        } else {
            builder.notification_planner(Arc::new(JobActionPlanner::new(definitions)))
        };
    }
    let runtime = builder.build().map_err(|e| e.to_string())?;
    let mut term = signal(SignalKind::terminate()).map_err(|e| format!("SIGTERM: {e}"))?;
    let mut int = signal(SignalKind::interrupt()).map_err(|e| format!("SIGINT: {e}"))?;
    let mut hold = signal(SignalKind::user_defined1()).map_err(|e| format!("SIGUSR1: {e}"))?;
    let mut release = signal(SignalKind::user_defined2()).map_err(|e| format!("SIGUSR2: {e}"))?;
    runtime
        .start()
        .await
        .map_err(|e| format!("could not start: {e}"))?;
    println!("ready {} {}", args.node, std::process::id());
    loop {
        tokio::select! {
            _ = term.recv() => break,
            _ = int.recv() => break,
            _ = hold.recv() => {
                runtime.stop().await.map_err(|e| format!("could not hold claims: {e}"))?;
                println!("held {}", args.node);
            }
            _ = release.recv() => {
                runtime.start().await.map_err(|e| format!("could not release claims: {e}"))?;
                println!("released {}", args.node);
            }
        }
    }
    tracing::info!(node = %args.node, "signal received; shutting down");
    runtime
        .shutdown()
        .await
        .map_err(|e| format!("shutdown failed: {e}"))?;
    println!("stopped {}", args.node);
    Ok(())
}

fn main() -> ExitCode {
    let args = match parse_args(std::env::args().skip(1)) {
        Ok(args) => args,
        Err(message) => {
            eprintln!("{message}");
            return ExitCode::from(2);
        }
    };
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_ansi(false)
        .with_writer(std::io::stderr)
        .init();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("could not start tokio: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(args)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("bgtasks-reliability-worker: {message}");
            ExitCode::FAILURE
        }
    }
}
