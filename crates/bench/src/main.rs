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
//! Sections: drain-memory, drain-sqlite, drain-postgres, enqueue, latency, cron, memory,
//! idle, scale. Progress goes to stderr, one line per figure with an estimate of the time
//! left. A run that writes the table also writes SVG charts into `bench/` beside it.
//! PostgreSQL comes from `BGTASKS_BENCH_POSTGRES_URL` or `BGTASKS_TEST_POSTGRES_URL`
//! (`scripts/bench.sh` starts a throwaway server and sets it).

mod charts;
mod child;
mod doc;
mod enqueue;
mod floors;
mod latency;
mod ours;
mod peers;
mod pg;
mod plan;
mod probe;
mod progress;
mod report;
mod scale;
mod sections;
mod stats;
mod targets;

use std::path::PathBuf;
use std::time::Instant;

use sqlx::Connection;

use crate::scale::Scale;
use crate::targets::Results;

/// Every error of the harness.
pub(crate) type BenchError = Box<dyn std::error::Error + Send + Sync>;
/// What the harness's fallible steps return.
pub(crate) type BenchResult<T> = Result<T, BenchError>;

/// The sections, in the order they run and are printed.
const SECTIONS: [&str; 9] = [
    "drain-memory",
    "drain-sqlite",
    "drain-postgres",
    "enqueue",
    "latency",
    "cron",
    "memory",
    "idle",
    "scale",
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
        return child::main(&args[1..]).await;
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
    let needs_postgres = SECTIONS.iter().any(|s| {
        wanted(s)
            && matches!(
                *s,
                "drain-postgres" | "enqueue" | "latency" | "idle" | "scale"
            )
    });
    let postgres_version = if needs_postgres {
        postgres_version().await?
    } else {
        "not used".to_owned()
    };

    let chosen: Vec<&str> = SECTIONS.iter().copied().filter(|s| wanted(s)).collect();
    progress::start(plan::steps(&chosen, &scale, parsed.quick));
    let mut results = Results::default();
    for id in chosen {
        progress::step(id);
        match id {
            "drain-memory" => results
                .sections
                .push((id, sections::drain::memory(&scale).await)),
            "drain-sqlite" => results
                .sections
                .push((id, sections::drain::sqlite(&scale).await)),
            "drain-postgres" => results
                .sections
                .push((id, sections::drain::postgres(&scale).await)),
            "enqueue" => results
                .sections
                .extend(sections::enqueue::sections(&scale).await),
            "latency" => results
                .sections
                .push((id, sections::latency::section(&scale).await)),
            "cron" => results
                .sections
                .push((id, sections::cron::section(&scale).await)),
            "memory" => results
                .sections
                .push((id, sections::memory::section(&scale).await)),
            "idle" => results
                .sections
                .push((id, sections::idle::section(&scale).await)),
            "scale" => results
                .sections
                .extend(sections::scale::sections(&scale).await),
            _ => {}
        }
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
        let dir = path
            .parent()
            .unwrap_or_else(|| std::path::Path::new("."))
            .join("bench");
        for chart in charts::write_all(&dir, &results)? {
            eprintln!("[bench] wrote {}", chart.display());
        }
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
