//! The host's command line.

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
}

impl HostArgs {
    /// The store URL to open: the one given, else `sqlite://DATA_DIR/bgtasks.db`.
    pub(crate) fn store_url(&self) -> String {
        self.store_url
            .clone()
            .unwrap_or_else(|| format!("sqlite://{}", self.data_dir.join("bgtasks.db").display()))
    }
}

pub(crate) const USAGE: &str = "\
bgtasks example host: runs a few jobs that show scheduling, retry and abandonment.

USAGE:
    bgtasks-example-host [--duration SECONDS] [--data-dir DIR] [--store URL]

OPTIONS:
    --duration SECONDS   how long the demo runs before shutting down (default 14)
    --data-dir DIR       where the host keeps its files (default: $BGTASKS_DATA_DIR or ./data)
    --store URL          the job store: sqlite://PATH, postgres://USER@HOST:PORT/DB or memory:
                         (default: $BGTASKS_STORE_URL, else sqlite://DATA_DIR/bgtasks.db)
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
        store_url: std::env::var("BGTASKS_STORE_URL")
            .ok()
            .filter(|u| !u.trim().is_empty()),
    };
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
            other => return Err(format!("unknown argument `{other}`")),
        }
    }
    Ok(Some(parsed))
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
}
