//! The machine a run happened on, and the Markdown it writes into docs/benchmarks.md
//! (between markers, so the hand-written analysis around it stays).

use std::path::Path;
use std::process::Command;

use crate::BenchResult;

/// Marks the start of the generated part.
pub(crate) const BEGIN: &str = "<!-- bgtasks-bench: generated table begins -->";
/// Marks its end.
pub(crate) const END: &str = "<!-- bgtasks-bench: generated table ends -->";

/// The peer versions this crate depends on.
pub(crate) const PEERS: &str = "apalis 1.0.0 (apalis-core 1.0.0, apalis-sqlite 1.0.0, \
    apalis-postgres 1.0.0), graphile_worker 0.14.1";

/// What the machine looked like.
#[derive(Debug, Clone)]
pub(crate) struct Machine {
    /// CPU model.
    pub(crate) cpu: String,
    /// Cores the process may use.
    pub(crate) cores: usize,
    /// Total memory.
    pub(crate) memory: String,
    /// Kernel release.
    pub(crate) kernel: String,
    /// rustc's version line.
    pub(crate) rustc: String,
}

impl Machine {
    /// Reads /proc and asks rustc.
    pub(crate) fn probe() -> Self {
        let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
        let cpu = cpuinfo
            .lines()
            .find_map(|l| l.strip_prefix("model name"))
            .and_then(|rest| rest.split_once(':'))
            .map_or_else(|| "unknown CPU".to_owned(), |(_, v)| v.trim().to_owned());
        let meminfo = std::fs::read_to_string("/proc/meminfo").unwrap_or_default();
        let memory = meminfo
            .lines()
            .find_map(|l| l.strip_prefix("MemTotal:"))
            .and_then(|v| v.split_whitespace().next()?.parse::<f64>().ok())
            .map_or_else(
                || "unknown".to_owned(),
                |kib| format!("{:.1} GiB", kib / 1_048_576.0),
            );
        let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease")
            .map(|s| s.trim().to_owned())
            .unwrap_or_default();
        let rustc = Command::new("rustc")
            .arg("--version")
            .output()
            .ok()
            .and_then(|o| String::from_utf8(o.stdout).ok())
            .map(|s| s.trim().to_owned())
            .unwrap_or_default();
        Self {
            cpu,
            cores: std::thread::available_parallelism().map_or(1, |n| n.get()),
            memory,
            kernel,
            rustc,
        }
    }
}

/// The 1, 5 and 15 minute load averages.
pub(crate) fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|_| "unknown".to_owned())
}

/// Replaces the generated part of `path` with `generated` (creating the file with a
/// short header if it does not exist).
pub(crate) fn write(path: &Path, generated: &str) -> BenchResult<()> {
    let block = format!("{BEGIN}\n{generated}\n{END}");
    let text = match std::fs::read_to_string(path) {
        Ok(existing) => match (existing.find(BEGIN), existing.find(END)) {
            (Some(start), Some(end)) if end > start => format!(
                "{}{block}{}",
                &existing[..start],
                &existing[end + END.len()..]
            ),
            _ => format!("{existing}\n{block}\n"),
        },
        Err(_) => format!("# Benchmarks\n\n{block}\n"),
    };
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent)?;
    }
    std::fs::write(path, text)?;
    Ok(())
}
