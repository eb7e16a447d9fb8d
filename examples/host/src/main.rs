//! The bgtasks example host: a cron job, a repeating job, a job that fails with a network
//! failure twice and then succeeds, and a job refused by a business rule until it is
//! abandoned — and mails its failures. The jobs are typed (serde values queued with
//! `enqueue` and declared with `schedule`). Each run is printed as it happens; the host
//! stops by itself.

mod admin;
mod args;
mod jobs;
mod printer;

use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use bgtasks::prelude::*;
use bgtasks::{BackgroundTasksOptions, ReferenceRetryPolicy, SystemClock, notifications, stores};
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
    let mail_dir = args.data_dir.join("mail");
    let transport = notifications::mail_transport_from_env(&mail_dir)?;
    let store = stores::open_store(&args.store_url(), Arc::new(SystemClock)).await?;
    let definitions = notifications::failure_email_definitions(transport.clone());
    let runtime = BackgroundTasks::builder()
        .options(options)
        .store(store.jobs.clone())
        .lock_provider(store.locks.clone())
        .job_actions(definitions.clone())
        // The reference's retry ladder, its interval capped at 1 s so that the demo's
        // retries happen within seconds (the default cap is a day).
        .retry_policy(Arc::new(ReferenceRetryPolicy::new(Duration::from_secs(1))))
        .register_fn(jobs::heartbeat)
        .register::<jobs::Report>()
        .register::<jobs::SyncPartner>()
        .register::<jobs::SendInvoice>()
        .build()?;
    let mut reports = runtime.subscribe();
    let started = runtime.clock().now();
    runtime.start().await?;
    let running_for = match args.run_time() {
        Some(duration) => format!(
            "running for {:.0}s (Ctrl-C stops early)",
            duration.as_secs_f64()
        ),
        None => "running until Ctrl-C".to_owned(),
    };
    println!(
        "bgtasks example host: node `{}`, {} workers, {}; {running_for}",
        runtime.node_name(),
        runtime.options().workers,
        store.description,
    );
    let dashboard = admin::start(&args, &runtime, definitions).await?;
    println!("failure e-mails go to {}\n", transport.endpoint());
    jobs::declare(&runtime).await?;
    let deadline = async {
        match args.run_time() {
            Some(duration) => tokio::time::sleep(duration).await,
            None => std::future::pending().await,
        }
    };
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
    if let Some(dashboard) = dashboard {
        dashboard.shutdown().await?;
    }
    runtime.shutdown().await?;
    println!("\nFinal state:");
    for id in jobs::DEMO_JOBS {
        if let Some(job) = runtime.store().find(id).await?.map(|r| r.job) {
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
    print_mail_summary(&mail_dir, transport.endpoint());
    Ok(())
}

fn print_mail_summary(mail_dir: &std::path::Path, endpoint: String) {
    let Ok(entries) = std::fs::read_dir(mail_dir) else {
        println!("\nFailure e-mails were sent to {endpoint}.");
        return;
    };
    let mut files: Vec<_> = entries
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "eml"))
        .collect();
    files.sort();
    println!(
        "\nFailure e-mails ({} in {}; open them with any mail reader):",
        files.len(),
        mail_dir.display()
    );
    for file in files.iter().rev().take(6) {
        println!("  {}", file.display());
    }
}
