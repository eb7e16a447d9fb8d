//! The host's command line.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

/// What the host was asked to do.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct HostArgs {
    /// How long the demo runs before the host shuts down.
    pub(crate) duration: Duration,
    /// Where the host keeps its files (the SQLite store, and failure e-mails under `mail/`).
    pub(crate) data_dir: PathBuf,
    /// The job store's URL; `None` means the SQLite file under the data directory.
    pub(crate) store_url: Option<String>,
    /// Whether `--duration` was given (with the dashboard on, the host otherwise runs
    /// until Ctrl-C).
    pub(crate) duration_given: bool,
    /// Where to serve the admin dashboard and API; `None`: not at all.
    pub(crate) admin_addr: Option<SocketAddr>,
    /// The admin's operator token.
    pub(crate) admin_token: Option<String>,
    /// The admin's read-only token.
    pub(crate) admin_read_token: Option<String>,
}

impl HostArgs {
    /// The store URL to open: the one given, else `sqlite://DATA_DIR/bgtasks.db`.
    pub(crate) fn store_url(&self) -> String {
        self.store_url
            .clone()
            .unwrap_or_else(|| format!("sqlite://{}", self.data_dir.join("bgtasks.db").display()))
    }

    /// How long the host runs: `None` until Ctrl-C (the dashboard is on and no
    /// `--duration` was given).
    pub(crate) fn run_time(&self) -> Option<Duration> {
        if self.admin_addr.is_some() && !self.duration_given {
            None
        } else {
            Some(self.duration)
        }
    }
}

pub(crate) const USAGE: &str = "\
bgtasks example host: runs a few jobs that show scheduling, retry and abandonment.

USAGE:
    bgtasks-example-host [--duration SECONDS] [--data-dir DIR] [--store URL]
                         [--admin-addr ADDR [--admin-token TOKEN] [--admin-read-token TOKEN]]

OPTIONS:
    --duration SECONDS   how long the demo runs before shutting down (default 14)
    --data-dir DIR       where the host keeps its files (default: $BGTASKS_DATA_DIR or ./data)
    --store URL          the job store: sqlite://PATH, postgres://USER@HOST:PORT/DB or memory:
                         (default: $BGTASKS_STORE_URL, else sqlite://DATA_DIR/bgtasks.db)
    --admin-addr ADDR    serve the admin dashboard and API on ADDR, e.g. 127.0.0.1:8080
                         (default: $BGTASKS_ADMIN_ADDR, else off); with it the host runs
                         until Ctrl-C unless --duration is given. An address other than
                         loopback needs a token.
    --admin-token TOKEN  the dashboard's operator token: may change jobs
                         (default: $BGTASKS_ADMIN_TOKEN; none: open to anyone on loopback)
    --admin-read-token TOKEN
                         a read-only token (default: $BGTASKS_ADMIN_READ_TOKEN)
    -h, --help           print this help

ENVIRONMENT:
    BGTASKS_SMTP_HOST    send failure e-mails over SMTP (with BGTASKS_SMTP_PORT, _TLS,
                         _USERNAME, _PASSWORD, _FROM, _TIMEOUT_SECS); without it they are
                         written as .eml files under DATA_DIR/mail
";

/// Parses the arguments after the program name. `Ok(None)` means help was asked for.
pub(crate) fn parse(args: impl IntoIterator<Item = String>) -> Result<Option<HostArgs>, String> {
    let mut parsed = HostArgs {
        duration: Duration::from_secs(14),
        data_dir: std::env::var_os("BGTASKS_DATA_DIR")
            .filter(|d| !d.is_empty())
            .map_or_else(|| PathBuf::from("data"), PathBuf::from),
        store_url: env("BGTASKS_STORE_URL"),
        duration_given: false,
        admin_addr: None,
        admin_token: env("BGTASKS_ADMIN_TOKEN"),
        admin_read_token: env("BGTASKS_ADMIN_READ_TOKEN"),
    };
    if let Some(addr) = env("BGTASKS_ADMIN_ADDR") {
        parsed.admin_addr = Some(admin_addr(&addr)?);
    }
    let mut args = args.into_iter();
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "-h" | "--help" => return Ok(None),
            "--duration" => {
                let value = args.next().ok_or("--duration needs a number of seconds")?;
                let seconds: f64 = value
                    .parse()
                    .map_err(|_| format!("--duration expects seconds, got `{value}`"))?;
                if !seconds.is_finite() || seconds <= 0.0 || seconds > 86_400.0 {
                    return Err(format!(
                        "--duration must be between 0 and 86400 seconds, got `{value}`"
                    ));
                }
                parsed.duration = Duration::from_secs_f64(seconds);
                parsed.duration_given = true;
            }
            "--data-dir" => {
                let value = args.next().ok_or("--data-dir needs a directory")?;
                if value.trim().is_empty() {
                    return Err("--data-dir needs a directory".to_owned());
                }
                parsed.data_dir = PathBuf::from(value);
            }
            "--store" => {
                let value = args.next().ok_or("--store needs a URL")?;
                if value.trim().is_empty() {
                    return Err("--store needs a URL".to_owned());
                }
                parsed.store_url = Some(value);
            }
            "--admin-addr" => {
                let value = args
                    .next()
                    .ok_or("--admin-addr needs an address such as 127.0.0.1:8080")?;
                parsed.admin_addr = Some(admin_addr(&value)?);
            }
            "--admin-token" | "--admin-read-token" => {
                let value = args
                    .next()
                    .filter(|t| !t.trim().is_empty())
                    .ok_or_else(|| format!("{arg} needs a token"))?;
                if arg == "--admin-token" {
                    parsed.admin_token = Some(value);
                } else {
                    parsed.admin_read_token = Some(value);
                }
            }
            other => return Err(format!("unknown argument `{other}`")),
        }
    }
    Ok(Some(parsed))
}

/// A non-empty environment variable.
fn env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.trim().is_empty())
}

/// An admin address: `HOST:PORT` (an IP address), or a bare port on loopback.
fn admin_addr(text: &str) -> Result<SocketAddr, String> {
    let text = text.trim();
    if let Ok(port) = text.parse::<u16>() {
        return Ok(SocketAddr::from(([127, 0, 0, 1], port)));
    }
    let text = text
        .strip_prefix("localhost:")
        .map_or_else(|| text.to_owned(), |port| format!("127.0.0.1:{port}"));
    text.parse().map_err(|_| {
        format!("--admin-addr expects an address such as 127.0.0.1:8080, got `{text}`")
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strings(args: &[&str]) -> Vec<String> {
        args.iter().map(|s| (*s).to_owned()).collect()
    }

    #[test]
    fn parses_duration_and_refuses_nonsense() {
        assert_eq!(
            parse(strings(&[])).unwrap().unwrap().duration,
            Duration::from_secs(14)
        );
        assert_eq!(
            parse(strings(&["--duration", "3"]))
                .unwrap()
                .unwrap()
                .duration,
            Duration::from_secs(3)
        );
        assert_eq!(parse(strings(&["--help"])).unwrap(), None);
        assert_eq!(
            parse(strings(&["--duration", "soon"])).unwrap_err(),
            "--duration expects seconds, got `soon`"
        );
        assert!(parse(strings(&["--duration", "-1"])).is_err());
        assert_eq!(
            parse(strings(&["--nope"])).unwrap_err(),
            "unknown argument `--nope`"
        );
    }

    #[test]
    fn admin_flags() {
        let plain = parse(strings(&[])).unwrap().unwrap();
        assert_eq!(plain.run_time(), Some(Duration::from_secs(14)));
        let admin = parse(strings(&[
            "--admin-addr",
            "127.0.0.1:8080",
            "--admin-token",
            "s3cret",
        ]))
        .unwrap()
        .unwrap();
        assert_eq!(admin.admin_addr, Some("127.0.0.1:8080".parse().unwrap()));
        assert_eq!(admin.admin_token.as_deref(), Some("s3cret"));
        assert_eq!(admin.run_time(), None, "with the dashboard, until Ctrl-C");
        let timed = parse(strings(&["--admin-addr", "9000", "--duration", "5"]))
            .unwrap()
            .unwrap();
        assert_eq!(timed.admin_addr, Some("127.0.0.1:9000".parse().unwrap()));
        assert_eq!(timed.run_time(), Some(Duration::from_secs(5)));
        assert!(parse(strings(&["--admin-addr", "somewhere"])).is_err());
        assert!(parse(strings(&["--admin-token"])).is_err());
    }
}
