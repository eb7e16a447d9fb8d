//! A worker process the suite started: signals, exit, its stdout lines and its log.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::ExitStatus;
use std::time::{Duration, Instant};

use bgtasks_reliability::runlog::now_micros;
use tokio::process::{Child, Command};
use tokio::sync::mpsc;

use crate::harness::{Context, Res, ensure};

/// A worker process.
pub(crate) struct Worker {
    pub(crate) node: String,
    pub(crate) pid: u32,
    pub(crate) child: Child,
    pub(crate) stdout: mpsc::UnboundedReceiver<String>,
    /// When it died (killed or exited), in microseconds since the epoch.
    pub(crate) died: Option<i64>,
    pub(crate) exit: Option<ExitStatus>,
    pub(crate) stderr_path: PathBuf,
}

impl Worker {
    /// Sends a signal by name (`TERM`, `STOP`, `CONT`).
    pub(crate) async fn signal(&self, name: &str) -> Res<()> {
        let status = Command::new("kill")
            .args(["-s", name, &self.pid.to_string()])
            .status()
            .await
            .ctx("run `kill`")?;
        ensure!(status.success(), "kill -s {name} {} failed", self.pid);
        Ok(())
    }

    /// `SIGKILL`, and waits for the process to be gone.
    pub(crate) async fn kill9(&mut self) -> Res<()> {
        self.child.start_kill().ctx("SIGKILL the worker")?;
        self.died = Some(now_micros());
        self.exit = Some(self.child.wait().await.ctx("wait for the worker")?);
        Ok(())
    }

    /// `SIGTERM`, then waits at most `within` for the process to exit; gives its exit
    /// status and how long it took.
    pub(crate) async fn terminate(&mut self, within: Duration) -> Res<(ExitStatus, Duration)> {
        let sent = Instant::now();
        self.signal("TERM").await?;
        self.wait_exit(sent, within).await
    }

    /// Waits at most `within` (from `since`) for the process to exit.
    pub(crate) async fn wait_exit(
        &mut self,
        since: Instant,
        within: Duration,
    ) -> Res<(ExitStatus, Duration)> {
        let left = within.saturating_sub(since.elapsed());
        match tokio::time::timeout(left, self.child.wait()).await {
            Ok(status) => {
                let status = status.ctx("wait for the worker")?;
                self.died = Some(now_micros());
                self.exit = Some(status);
                Ok((status, since.elapsed()))
            }
            Err(_) => Err(format!(
                "worker `{}` did not exit within {:.1} s",
                self.node,
                within.as_secs_f64()
            )),
        }
    }

    /// Whether the process is still running.
    pub(crate) fn alive(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }

    /// Whether the worker printed `stopped` (a clean shutdown) so far.
    pub(crate) fn said_stopped(&mut self) -> bool {
        while let Ok(line) = self.stdout.try_recv() {
            if line.starts_with("stopped") {
                return true;
            }
        }
        false
    }

    /// Waits at most `within` for the worker to print a line starting with `prefix`.
    pub(crate) async fn wait_line(&mut self, prefix: &str, within: Duration) -> Res<()> {
        let found = tokio::time::timeout(within, async {
            while let Some(line) = self.stdout.recv().await {
                if line.starts_with(prefix) {
                    return true;
                }
            }
            false
        })
        .await;
        match found {
            Ok(true) => Ok(()),
            Ok(false) => Err(format!(
                "worker `{}` exited before it said `{prefix}`: {}",
                self.node,
                self.stderr_tail(10)
            )),
            Err(_) => Err(format!(
                "worker `{}` did not say `{prefix}` within {:.0} s",
                self.node,
                within.as_secs_f64()
            )),
        }
    }

    /// Holds the worker's claims (`SIGUSR1`): once this returns it takes no new run, and
    /// the runs it had claimed but not started are given back.
    pub(crate) async fn hold(&mut self) -> Res<()> {
        self.signal("USR1").await?;
        self.wait_line("held ", Duration::from_secs(30)).await
    }

    /// Lets a held worker claim again (`SIGUSR2`).
    pub(crate) async fn release(&mut self) -> Res<()> {
        self.signal("USR2").await?;
        self.wait_line("released ", Duration::from_secs(30)).await
    }

    /// The last lines of the worker's log.
    pub(crate) fn stderr_tail(&self, lines: usize) -> String {
        let text = std::fs::read_to_string(&self.stderr_path).unwrap_or_default();
        let all: Vec<&str> = text.lines().collect();
        all[all.len().saturating_sub(lines)..].join(" | ")
    }

    /// How many lines of the worker's log contain `needle`.
    pub(crate) fn log_count(&self, needle: &str) -> usize {
        count_in_file(&self.stderr_path, needle)
    }

    /// The lines of the worker's log that contain `needle`, each with the time it was
    /// written (its leading RFC 3339 stamp, in microseconds since the epoch); lines
    /// without a stamp are left out.
    pub(crate) fn log_lines(&self, needle: &str) -> Vec<(i64, String)> {
        std::fs::read_to_string(&self.stderr_path)
            .unwrap_or_default()
            .lines()
            .filter(|l| l.contains(needle))
            .filter_map(|l| {
                let stamp = l.split_whitespace().next()?;
                let at = chrono::DateTime::parse_from_rfc3339(stamp).ok()?;
                Some((at.timestamp_micros(), l.to_owned()))
            })
            .collect()
    }
}

/// How many lines of a file contain `needle`.
pub(crate) fn count_in_file(path: &Path, needle: &str) -> usize {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .filter(|l| l.contains(needle))
        .count()
}

/// When each worker process died, by pid.
pub(crate) fn deaths(workers: &[&Worker]) -> HashMap<u32, i64> {
    workers
        .iter()
        .filter_map(|w| w.died.map(|d| (w.pid, d)))
        .collect()
}
