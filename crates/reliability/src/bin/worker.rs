//! `bgtasks-reliability-worker`: one bgtasks node in a process of its own, for the
//! reliability suite.
//!
//! ```text
//! bgtasks-reliability-worker --store URL --node NAME --runs-dir DIR
//!     [--workers N] [--lease-ms MS] [--renew-ms MS] [--rescue-ms MS] [--grace-ms MS]
//!     [--interrupt-grace-ms MS]
//! ```
//!
//! It opens the store (`sqlite://PATH` or `postgres://…`), registers the job types
//! `record` and `tick` (both append `start`, then after `sleep_ms` milliseconds from the
//! job's args `end` — or `cancel` if the run is interrupted first — to the node's run
//! log) and a listener that appends a `claim` line with the lease before each run, starts
//! the runtime and prints `ready <node> <pid>`. `SIGUSR1` holds its claims (the runtime
//! stands by: no new claims, runs going finish, claimed runs are given back) and prints
//! `held <node>`; `SIGUSR2` lets it claim again and prints `released <node>` — so that a
//! scenario can make work go to the processes it wants instead of hoping for it. On
//! `SIGTERM` or `SIGINT` it shuts the runtime down (running runs get the grace period, the
//! rest is given back at once), prints `stopped <node>` and exits 0. Bad arguments or a store that does not open exit
//! with status 2 or 1 and a message on stderr.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use bgtasks::abstractions::SystemClock;
use bgtasks::stores::open_store;
use bgtasks::{
    BackgroundTasks, BoxError, JobError, JobEvent, JobEventContext, JobRunnableContext,
    JobScheduler, job_fn,
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
}

const USAGE: &str = "usage: bgtasks-reliability-worker --store URL --node NAME --runs-dir DIR \
[--workers N] [--lease-ms MS] [--renew-ms MS] [--rescue-ms MS] [--grace-ms MS] [--interrupt-grace-ms MS]";

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

#[async_trait]
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

/// The `record` job: `start`, sleep `sleep_ms` (watching the cancellation signal), `end`.
async fn record(log: Arc<RunLogWriter>, ctx: JobRunnableContext) -> Result<(), JobError> {
    let sleep_ms: u64 = ctx.get_or("sleep_ms", 0)?;
    let write = |event| {
        log.write(event, ctx.job_id(), None)
            .map_err(|e| JobError::new(format!("could not write the run log: {e}")))
    };
    write(Event::Start)?;
    if sleep_ms > 0 {
        tokio::select! {
            _ = tokio::time::sleep(Duration::from_millis(sleep_ms)) => {}
            _ = ctx.cancellation().cancelled() => {
                write(Event::Cancel)?;
                return Err(JobError::new("interrupted before the work was done"));
            }
        }
    }
    write(Event::End)?;
    ctx.set_result(format!("recorded by pid {}", std::process::id()));
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
    let record_log = log.clone();
    let tick_log = log.clone();
    let runtime = BackgroundTasks::builder()
        .node_name(args.node.clone())
        .workers(args.workers)
        .configure(|o| {
            o.lease_duration = args.lease;
            o.lease_renewal_interval = args.renew;
            o.rescue_interval = args.rescue;
            o.shutdown_grace = args.grace;
            o.interrupt_grace = args.interrupt_grace;
        })
        .store(store.jobs.clone())
        .lock_provider(store.locks.clone())
        .listener(Arc::new(ClaimRecorder(log)))
        .runnable("record", job_fn(move |ctx| record(record_log.clone(), ctx)))
        .runnable("tick", job_fn(move |ctx| record(tick_log.clone(), ctx)))
        .build()
        .map_err(|e| e.to_string())?;
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
