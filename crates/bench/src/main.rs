//! `bgtasks-bench`: bgtasks side by side with apalis and graphile_worker, and with the raw
//! floors of this machine, in one run. Prints the table and writes it into
//! docs/benchmarks.md.
//!
//! ```text
//! bgtasks-bench [--quick] [--only SECTION,...] [--rows TEXT] [--runs N] [--out PATH | --no-doc]
//! ```
//!
//! `--rows TEXT` runs only the rows whose label contains TEXT (to profile one system);
//! `--runs N` changes the runs per figure. A quick or partial run prints its table but does
//! not write docs/benchmarks.md unless `--out` is given.
//!
//! Sections: drain-memory, drain-sqlite, drain-postgres, latency, cron, memory, idle.
//! PostgreSQL comes from `BGTASKS_BENCH_POSTGRES_URL` or `BGTASKS_TEST_POSTGRES_URL`
//! (`scripts/bench.sh` starts a throwaway server and sets it).

mod child;
mod doc;
mod floors;
mod latency;
mod ours;
mod peers;
mod pg;
mod probe;
mod report;
mod scale;
mod sections;
mod stats;
mod targets;

use std::path::PathBuf;
use std::time::{Duration, Instant};

use sqlx::Connection;

use crate::ours::StoreKind;
use crate::ours::memory::MemoryCase;
use crate::scale::Scale;
use crate::targets::Results;

/// Every error of the harness.
pub(crate) type BenchResult<T> = Result<T, Box<dyn std::error::Error + Send + Sync>>;

const SECTIONS: [&str; 7] = [
    "drain-memory",
    "drain-sqlite",
    "drain-postgres",
    "latency",
    "cron",
    "memory",
    "idle",
];

/// What the command line asked for.
#[derive(Debug)]
struct Args {
    quick: bool,
    runs: Option<usize>,
    only: Vec<String>,
    out: Option<PathBuf>,
}

fn parse_args(args: &[String]) -> BenchResult<Args> {
    let mut parsed = Args {
        quick: false,
        runs: None,
        only: Vec::new(),
        out: Some(PathBuf::from(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../docs/benchmarks.md"
        ))),
    };
    let mut out_set = false;
    let mut partial = false;
    let mut it = args.iter();
    while let Some(arg) = it.next() {
        match arg.as_str() {
            "--quick" => parsed.quick = true,
            "--only" => {
                let list = it.next().ok_or("--only needs a list of sections")?;
                for name in list.split(',') {
                    if !SECTIONS.contains(&name) {
                        return Err(format!("unknown section `{name}`; one of {SECTIONS:?}").into());
                    }
                    parsed.only.push(name.to_owned());
                }
            }
            "--runs" => {
                parsed.runs = Some(it.next().ok_or("--runs needs a number")?.parse()?);
            }
            "--rows" => {
                let filter = it.next().ok_or("--rows needs a text")?.clone();
                let _ = sections::ROW_FILTER.set(filter);
                partial = true;
            }
            "--out" => {
                parsed.out = Some(PathBuf::from(it.next().ok_or("--out needs a path")?));
                out_set = true;
            }
            "--no-doc" => {
                parsed.out = None;
                out_set = true;
            }
            "-h" | "--help" => {
                println!(
                    "bgtasks-bench [--quick] [--only SECTION,...] [--rows TEXT] [--runs N] \
                     [--out PATH | --no-doc]\n\
                     sections: {}",
                    SECTIONS.join(", ")
                );
                std::process::exit(0);
            }
            other => return Err(format!("unknown argument `{other}`").into()),
        }
    }
    // A quick or partial run does not replace the full table unless asked to.
    if (parsed.quick || partial || parsed.runs.is_some() || !parsed.only.is_empty()) && !out_set {
        parsed.out = None;
    }
    Ok(parsed)
}

#[tokio::main]
async fn main() -> BenchResult<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().map(String::as_str) == Some(child::CHILD_COMMAND) {
        return run_child(&args[1..]).await;
    }
    let parsed = parse_args(&args)?;
    let mut scale = if parsed.quick {
        Scale::quick()
    } else {
        Scale::full()
    };
    if let Some(runs) = parsed.runs {
        scale.runs = runs.max(1);
    }
    let wanted = |name: &str| parsed.only.is_empty() || parsed.only.iter().any(|o| o == name);
    let machine = doc::Machine::probe();
    let load_before = doc::load_average();
    let started_at = chrono::Utc::now();
    let began = Instant::now();
    eprintln!("[bench] load average before: {load_before}");
    let needs_postgres = SECTIONS
        .iter()
        .any(|s| wanted(s) && matches!(*s, "drain-postgres" | "latency" | "idle"));
    let postgres_version = if needs_postgres {
        postgres_version().await?
    } else {
        "not used".to_owned()
    };

    let mut results = Results::default();
    if wanted("drain-memory") {
        results
            .sections
            .push(("drain-memory", sections::drain::memory(&scale).await));
    }
    if wanted("drain-sqlite") {
        results
            .sections
            .push(("drain-sqlite", sections::drain::sqlite(&scale).await));
    }
    if wanted("drain-postgres") {
        results
            .sections
            .push(("drain-postgres", sections::drain::postgres(&scale).await));
    }
    if wanted("latency") {
        results
            .sections
            .push(("latency", sections::latency::section(&scale).await));
    }
    if wanted("cron") {
        results
            .sections
            .push(("cron", sections::cron::section(&scale).await));
    }
    if wanted("memory") {
        results
            .sections
            .push(("memory", sections::memory::section(&scale).await));
    }
    if wanted("idle") {
        results
            .sections
            .push(("idle", sections::idle::section(&scale).await));
    }
    let load_after = doc::load_average();
    let verdicts = targets::evaluate(&results);

    let mut text = String::new();
    text.push_str(&format!(
        "## Latest run\n\n\
         - command: `{}`\n\
         - date: {} (took {:.0} s)\n\
         - machine: {} × {}, {} RAM, Linux {}; {}; {} build of the harness\n\
         - load average (1, 5, 15 min): {} before, {} after\n\
         - PostgreSQL {}; SQLite bundled with sqlx; peers: {}\n\
         - {} run(s) per figure; the table shows the median and, over several runs, \
         min–max.\n\n",
        std::env::var("BGTASKS_BENCH_COMMAND").unwrap_or_else(|_| {
            format!("bgtasks-bench {}", args.join(" "))
                .trim()
                .to_owned()
        }),
        started_at.format("%Y-%m-%d %H:%M UTC"),
        began.elapsed().as_secs_f64(),
        machine.cores,
        machine.cpu,
        machine.memory,
        machine.kernel,
        machine.rustc,
        if cfg!(debug_assertions) {
            "dev (unoptimised)"
        } else {
            "release"
        },
        load_before,
        load_after,
        postgres_version,
        doc::PEERS,
        scale.runs,
    ));
    for (_, section) in &results.sections {
        text.push_str(&section.markdown());
    }
    text.push_str("### Targets\n\n");
    text.push_str(&targets::markdown(&verdicts));
    println!("{text}");
    if let Some(path) = &parsed.out {
        doc::write(path, &text)?;
        eprintln!("[bench] wrote {}", path.display());
    }
    let failed: Vec<(&str, &str, bool)> = results
        .sections
        .iter()
        .flat_map(|(id, s)| s.rows.iter().map(move |r| (*id, r)))
        .filter(|(_, r)| r.values.is_err())
        .map(|(id, r)| (id, r.key, r.system == "bgtasks"))
        .collect();
    if !failed.is_empty() {
        eprintln!("[bench] rows not measured: {failed:?}");
    }
    // A smoke run fails when one of our rows could not be measured; a peer that could
    // not be measured (their idle workers can stall for a heartbeat) is only reported.
    let ours_failed = failed.iter().filter(|(_, _, ours)| *ours).count();
    if parsed.quick && ours_failed > 0 {
        return Err(format!("{ours_failed} bgtasks row(s) could not be measured").into());
    }
    Ok(())
}

/// The server's version string.
async fn postgres_version() -> BenchResult<String> {
    let mut conn = sqlx::postgres::PgConnection::connect(&pg::server_url()?).await?;
    let version: String = sqlx::query_scalar("SHOW server_version")
        .fetch_one(&mut conn)
        .await?;
    conn.close().await?;
    Ok(version)
}

/// The hidden child commands: `memory CASE N` and `idle STORE JOBS WINDOW_MS`.
async fn run_child(args: &[String]) -> BenchResult<()> {
    let arg = |i: usize| -> BenchResult<&str> {
        args.get(i)
            .map(String::as_str)
            .ok_or_else(|| format!("child: missing argument {i}").into())
    };
    match arg(0)? {
        "memory" => {
            let case = MemoryCase::parse(arg(1)?)?;
            let n: usize = arg(2)?.parse()?;
            let (before, after) = ours::memory::measure(case, n).await?;
            child::report(&[("before", before), ("after", after)]);
        }
        "idle" => {
            let kind = StoreKind::parse(arg(1)?)?;
            let jobs: usize = arg(2)?.parse()?;
            let window = Duration::from_millis(arg(3)?.parse()?);
            let cpu = ours::idle::measure(kind, jobs, window).await?;
            child::report(&[("cpu_percent", cpu)]);
        }
        other => return Err(format!("unknown child command `{other}`").into()),
    }
    Ok(())
}
