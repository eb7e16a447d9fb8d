//! Runs the example service: `cargo run -p bgtasks-example-axum-service`.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use bgtasks_example_axum_service::{Config, Service};

const USAGE: &str = "\
bgtasks example axum service: an HTTP API whose handlers queue background jobs.

USAGE:
    bgtasks-example-axum-service [--addr ADDR] [--data-dir DIR] [--max-signups N]

OPTIONS:
    --addr ADDR        where to listen (default: $BGTASKS_HTTP_ADDR, else 127.0.0.1:3000)
    --data-dir DIR     where the SQLite file app.db is kept
                       (default: $BGTASKS_DATA_DIR, else ./data)
    --max-signups N    how many signups the service takes in all (default 1000)
    -h, --help         print this help
";

/// The command line.
struct Args {
    addr: SocketAddr,
    config: Config,
}

fn parse(args: impl IntoIterator<Item = String>) -> Result<Option<Args>, String> {
    let env = |name: &str| std::env::var(name).ok().filter(|v| !v.trim().is_empty());
    let mut addr = env("BGTASKS_HTTP_ADDR").unwrap_or_else(|| "127.0.0.1:3000".to_owned());
    let mut config = Config::default();
    if let Some(dir) = env("BGTASKS_DATA_DIR") {
        config.data_dir = PathBuf::from(dir);
    }
    let mut args = args.into_iter();
    while let Some(arg) = args.next() {
        let mut value = || args.next().ok_or_else(|| format!("{arg} needs a value"));
        match arg.as_str() {
            "-h" | "--help" => return Ok(None),
            "--addr" => addr = value()?,
            "--data-dir" => config.data_dir = PathBuf::from(value()?),
            "--max-signups" => {
                let text = value()?;
                config.max_signups = text
                    .parse()
                    .ok()
                    .filter(|n| *n >= 0)
                    .ok_or_else(|| format!("--max-signups expects a count, got `{text}`"))?;
            }
            other => return Err(format!("unknown argument `{other}`")),
        }
    }
    let addr = addr
        .parse()
        .map_err(|_| format!("expected an address such as 127.0.0.1:3000, got `{addr}`"))?;
    Ok(Some(Args { addr, config }))
}

#[tokio::main]
async fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| "info,sqlx=warn".into()),
        )
        .init();
    let args = match parse(std::env::args().skip(1)) {
        Ok(Some(args)) => args,
        Ok(None) => {
            print!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        Err(message) => {
            eprintln!("error: {message}\n\n{USAGE}");
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

async fn run(args: Args) -> Result<(), Box<dyn std::error::Error>> {
    let data_dir = args.config.data_dir.clone();
    let service = Service::start(args.config).await?;
    let listener = tokio::net::TcpListener::bind(args.addr)
        .await
        .map_err(|error| format!("cannot listen on {}: {error}", args.addr))?;
    println!(
        "listening on http://{} (data in {}); Ctrl-C stops",
        listener.local_addr()?,
        data_dir.join("app.db").display()
    );
    axum::serve(listener, service.router())
        .with_graceful_shutdown(async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await?;
    service.shutdown().await?;
    Ok(())
}
