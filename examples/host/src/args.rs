//! The host's command line.

use std::time::Duration;

/// What the host was asked to do.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct HostArgs {
    /// How long the demo runs before the host shuts down.
    pub(crate) duration: Duration,
}

pub(crate) const USAGE: &str = "\
bgtasks example host: runs a few jobs that show scheduling, retry and abandonment.

USAGE:
    bgtasks-example-host [--duration SECONDS]

OPTIONS:
    --duration SECONDS   how long the demo runs before shutting down (default 14)
    -h, --help           print this help
";

/// Parses the arguments after the program name. `Ok(None)` means help was asked for.
pub(crate) fn parse(args: impl IntoIterator<Item = String>) -> Result<Option<HostArgs>, String> {
    let mut parsed = HostArgs {
        duration: Duration::from_secs(14),
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
