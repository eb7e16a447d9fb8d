//! The bgtasks example host: a cron job, a repeating job, a job that fails with a network
//! failure twice and then succeeds, and a job refused by a business rule until it is
//! abandoned. Each run is printed as it happens; the host stops by itself.

mod args;
mod jobs;
mod printer;

use std::process::ExitCode;

use bgtasks::prelude::*;
use bgtasks::{BackgroundTasksOptions, JobStore};
use tokio::sync::broadcast::error::RecvError;

#[tokio::main]
async fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| "warn,bgtasks_core=warn".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    let args = match args::parse(std::env::args().skip(1)) {
        Ok(Some(args)) => args,
        Ok(None) => {
            print!("{}", args::USAGE);
            return ExitCode::SUCCESS;
        }
        Err(message) => {
            eprintln!("error: {message}\n\n{}", args::USAGE);
            return ExitCode::from(2);
        }
    };
    match run(args).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error}");
            ExitCode::FAILURE
        }
    }
}

async fn run(args: args::HostArgs) -> Result<(), Box<dyn std::error::Error>> {
    let options = BackgroundTasksOptions {
        node_name: "example-host".to_owned(),
        workers: 4,
        ..BackgroundTasksOptions::default()
    };
    let runtime = BackgroundTasks::builder()
        .options(options)
        .runnable("heartbeat", jobs::heartbeat())
        .runnable("report", jobs::report())
        .runnable("sync", jobs::flaky_sync())
        .runnable("invoice", jobs::void_invoice())
        .build()?;
    let mut reports = runtime.subscribe();
    let started = runtime.clock().now();
    runtime.start().await?;
    for job in jobs::demo_jobs() {
        runtime.queue(job).await?;
    }
    println!(
        "bgtasks example host: node `{}`, {} workers, in-memory store; running for {:.0}s (Ctrl-C stops early)\n",
        runtime.node_name(),
        runtime.options().workers,
        args.duration.as_secs_f64()
    );
    let deadline = tokio::time::sleep(args.duration);
    tokio::pin!(deadline);
    loop {
        tokio::select! {
            report = reports.recv() => match report {
                Ok(report) => println!("{}", printer::describe(&report, started)),
                Err(RecvError::Lagged(missed)) => println!("({missed} runs not shown)"),
                Err(RecvError::Closed) => break,
            },
            _ = &mut deadline => break,
            _ = tokio::signal::ctrl_c() => break,
        }
    }
    runtime.shutdown().await?;
    println!("\nFinal state:");
    for job in jobs::demo_jobs() {
        if let Some(job) = runtime.store().find(&job.id).await? {
            println!(
                "  {:<13} status {:<11} runs {:<3} tries {} interval {}s priority {}{}",
                job.id,
                job.status.to_string(),
                job.trigger_count,
                job.try_count,
                job.interval,
                job.priority,
                if job.is_abandoned { " (abandoned)" } else { "" }
            );
        }
    }
    Ok(())
}
