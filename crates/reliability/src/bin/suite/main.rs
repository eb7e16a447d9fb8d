//! `reliability-suite`: runs every reliability scenario against SQLite and PostgreSQL with
//! real worker processes, prints one line per scenario and store, and ends with the line
//! `N passed, N failed`. Exits non-zero if any scenario failed.
//!
//! ```text
//! reliability-suite [--store sqlite|postgres]... [--only NAME[,NAME...]] [--list]
//! ```
//!
//! Needs `BGTASKS_TEST_POSTGRES_URL` (a superuser URL; `scripts/test.sh` starts a
//! throwaway server and sets it) for the PostgreSQL runs, `initdb`/`pg_ctl`
//! (`BGTASKS_TEST_POSTGRES_BIN` or `/usr/lib/postgresql/*/bin`) for the database-outage
//! scenario, and an SMTP server (`BGTASKS_TEST_SMTP_HOST`, `_PORT`, `BGTASKS_TEST_MAILDIR`,
//! else it starts `python3 -m aiosmtpd`). The worker binary `bgtasks-reliability-worker`
//! must sit next to this one (`cargo build -p bgtasks-reliability --bins`).
//!
//! The files of a failed scenario (run logs, worker logs, the SQLite file, the suite's
//! log) are kept and their directory printed (`RELIABILITY_KEEP=1` keeps them for every
//! scenario). `RELIABILITY_SUITE_LOG=1` also copies the
//! suite's own log to stderr; `RELIABILITY_WORKER_LOG` sets the workers' `RUST_LOG`.

mod harness;
mod logs;
mod mail;
mod postgres;
mod process;
mod proxy;
mod rawdb;
mod scenarios;

use std::process::ExitCode;
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use harness::{Leftovers, Res, StoreKind, Suite};

/// Every scenario, in the order they run.
const SCENARIOS: &[&str] = &[
    "kill-9-mid-run",
    "long-run-renewal",
    "rescue-race",
    "database-outage",
    "sigterm-handover",
    "load-10k",
    "cron-three-processes",
    "listener-faults",
    "retry-ladder",
    "bad-input",
    "reinsert-during-run",
    "pause-across-nodes",
    "admin-vs-completion",
    "rolling-deploy",
    "shutdown-mid-claim",
    "alert-after-crash",
    "smtp-outage",
    "throttle-across-nodes",
    "poison-crash-loop",
    "network-partition",
    "hung-runnable",
    "huge-values",
    "retention",
];

/// Scenarios that run on one store only, and why: with `--store` of another they are
/// left out (not failed), and a `NOTE` line says so.
const ONLY_ON: &[(&str, StoreKind, &str)] = &[(
    "network-partition",
    StoreKind::Postgres,
    "SQLite has no network to cut",
)];

/// The longest one scenario may take before it counts as failed.
const SCENARIO_LIMIT: Duration = Duration::from_secs(240);

async fn run_one(suite: &Suite, name: &str, kind: StoreKind) -> Res<String> {
    match name {
        "kill-9-mid-run" => scenarios::kill9::run(suite, kind).await,
        "long-run-renewal" => scenarios::renewal::run(suite, kind).await,
        "rescue-race" => scenarios::race::run(suite, kind).await,
        "database-outage" => scenarios::outage::run(suite, kind).await,
        "sigterm-handover" => scenarios::sigterm::run(suite, kind).await,
        "load-10k" => scenarios::load::run(suite, kind).await,
        "cron-three-processes" => scenarios::cron::run(suite, kind).await,
        "listener-faults" => scenarios::listeners::run(suite, kind).await,
        "retry-ladder" => scenarios::ladder::run(suite, kind).await,
        "bad-input" => scenarios::bad_input::run(suite, kind).await,
        "reinsert-during-run" => scenarios::control::reinsert_during_run(suite, kind).await,
        "pause-across-nodes" => scenarios::control::pause_across_nodes(suite, kind).await,
        "admin-vs-completion" => scenarios::admin_race::run(suite, kind).await,
        "rolling-deploy" => scenarios::deploy::run(suite, kind).await,
        "shutdown-mid-claim" => scenarios::midclaim::run(suite, kind).await,
        "alert-after-crash" => scenarios::alerts::alert_after_crash(suite, kind).await,
        "smtp-outage" => scenarios::alerts_outage::run(suite, kind).await,
        "throttle-across-nodes" => scenarios::alerts::throttle_across_nodes(suite, kind).await,
        "poison-crash-loop" => scenarios::poison::run(suite, kind).await,
        "network-partition" => scenarios::partition::run(suite, kind).await,
        "hung-runnable" => scenarios::hung::run(suite, kind).await,
        "huge-values" => scenarios::huge::run(suite, kind).await,
        "retention" => scenarios::retention::run(suite, kind).await,
        other => Err(format!("no scenario `{other}`")),
    }
}

struct Cli {
    stores: Vec<StoreKind>,
    only: Option<Vec<String>>,
}

fn parse_cli() -> Result<Cli, String> {
    let mut stores = Vec::new();
    let mut only = None;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--store" => match args.next().as_deref() {
                Some("sqlite") => stores.push(StoreKind::Sqlite),
                Some("postgres") => stores.push(StoreKind::Postgres),
                other => {
                    return Err(format!(
                        "--store takes `sqlite` or `postgres`, not {other:?}"
                    ));
                }
            },
            "--only" => {
                let names: Vec<String> = args
                    .next()
                    .ok_or("--only needs scenario names")?
                    .split(',')
                    .map(str::to_owned)
                    .collect();
                if let Some(unknown) = names.iter().find(|n| !SCENARIOS.contains(&n.as_str())) {
                    return Err(format!(
                        "no scenario `{unknown}`; the scenarios are: {}",
                        SCENARIOS.join(", ")
                    ));
                }
                only = Some(names);
            }
            "--list" => {
                for name in SCENARIOS {
                    println!("{name}");
                }
                std::process::exit(0);
            }
            other => {
                return Err(format!(
                    "unknown argument `{other}`; usage: reliability-suite [--store sqlite|postgres]... [--only NAME,...] [--list]"
                ));
            }
        }
    }
    if stores.is_empty() {
        stores = vec![StoreKind::Sqlite, StoreKind::Postgres];
    }
    Ok(Cli { stores, only })
}

/// Panics the scenarios cause on purpose (a panicking listener or notifier) say
/// "deliberate panic"; they are not printed.
fn quiet_deliberate_panics() {
    let default = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let message = info
            .payload()
            .downcast_ref::<&str>()
            .map(|s| (*s).to_owned())
            .or_else(|| info.payload().downcast_ref::<String>().cloned())
            .unwrap_or_default();
        if !message.contains("deliberate panic") {
            default(info);
        }
    }));
}

fn main() -> ExitCode {
    let cli = match parse_cli() {
        Ok(cli) => cli,
        Err(message) => {
            eprintln!("{message}");
            return ExitCode::from(2);
        }
    };
    logs::install();
    quiet_deliberate_panics();
    let worker_bin = match std::env::current_exe() {
        Ok(exe) => exe.with_file_name("bgtasks-reliability-worker"),
        Err(e) => {
            eprintln!("cannot find this executable: {e}");
            return ExitCode::FAILURE;
        }
    };
    if !worker_bin.exists() {
        eprintln!(
            "the worker binary `{}` is missing: build it with `cargo build -p bgtasks-reliability --bins`",
            worker_bin.display()
        );
    }
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
    let suite = Suite {
        worker_bin,
        pg_admin: std::env::var("BGTASKS_TEST_POSTGRES_URL")
            .ok()
            .filter(|u| !u.trim().is_empty()),
        pg_bin: postgres::find_bin(),
        leftovers: Mutex::new(Leftovers::default()),
        smtp: tokio::sync::OnceCell::new(),
    };
    let (passed, failed) = runtime.block_on(run_all(&suite, &cli));
    println!(
        "NOTE also covered by `cargo nextest` (scripts/test.sh): the retry ladder under a paused \
         clock with the failure e-mail (crates/reliability/tests/retry_ladder.rs), bad input at \
         the API (crates/reliability/tests/bad_input.rs) and the proptest fuzzing of cron and \
         job definitions (crates/abstractions/tests/fuzz_parsing.rs)"
    );
    println!("{passed} passed, {failed} failed");
    if failed == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

async fn run_all(suite: &Suite, cli: &Cli) -> (usize, usize) {
    let (mut passed, mut failed) = (0, 0);
    let started = Instant::now();
    for name in SCENARIOS {
        if cli
            .only
            .as_ref()
            .is_some_and(|only| !only.iter().any(|o| o == name))
        {
            continue;
        }
        for kind in &cli.stores {
            if let Some((_, only, why)) = ONLY_ON.iter().find(|(n, k, _)| n == name && k != kind) {
                println!("NOTE {name} runs on {} only ({why})", only.name());
                continue;
            }
            logs::clear();
            let began = Instant::now();
            let outcome =
                match tokio::time::timeout(SCENARIO_LIMIT, run_one(suite, name, *kind)).await {
                    Ok(outcome) => outcome,
                    Err(_) => Err(format!(
                        "did not finish within {} s",
                        SCENARIO_LIMIT.as_secs()
                    )),
                };
            let took = began.elapsed().as_secs_f64();
            let leftovers = std::mem::take(
                &mut *suite
                    .leftovers
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner),
            );
            match outcome {
                Ok(summary) => {
                    passed += 1;
                    println!("PASS {} {name}: {summary} ({took:.1} s)", kind.name());
                    if std::env::var_os("RELIABILITY_KEEP").is_none() {
                        clean_up(leftovers).await;
                    } else if let Some(dir) = leftovers.dirs.first() {
                        let _ = std::fs::write(dir.join("suite.log"), logs::text());
                        println!("     files kept in {}", dir.display());
                    }
                }
                Err(reason) => {
                    failed += 1;
                    let kept = leftovers
                        .dirs
                        .first()
                        .map(|dir| {
                            let _ = std::fs::write(dir.join("suite.log"), logs::text());
                            format!("; files kept in {}", dir.display())
                        })
                        .unwrap_or_default();
                    println!("FAIL {} {name}: {reason} ({took:.1} s{kept})", kind.name());
                }
            }
        }
    }
    println!("suite time {:.1} s", started.elapsed().as_secs_f64());
    (passed, failed)
}

async fn clean_up(leftovers: Leftovers) {
    for dir in leftovers.dirs {
        let _ = std::fs::remove_dir_all(dir);
    }
    for (admin, name) in leftovers.databases {
        let _ = postgres::drop_database(&admin, &name).await;
    }
}
