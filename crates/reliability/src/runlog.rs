//! The run log: what a worker process did, written by the process itself.
//!
//! Each node appends to `<runs-dir>/<node>.log`; every event is one line written with a
//! single `write` on a file opened with `O_APPEND`, so lines of concurrent runs never mix
//! and a line is complete once the call returns (a `SIGKILL` afterwards does not lose it).
//!
//! ```text
//! claim <job> <node> <pid> <micros> <due-micros> <lease-token>   before the runnable starts
//! start <job> <node> <pid> <micros>                              the runnable started
//! end <job> <node> <pid> <micros>                                the runnable finished its work
//! cancel <job> <node> <pid> <micros>                             the runnable saw its cancellation
//! ```
//!
//! Times are microseconds since the Unix epoch.

use std::collections::HashMap;
use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::{Mutex, PoisonError};

use chrono::{DateTime, Utc};

/// What a run-log line records.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Event {
    /// The node is about to run a claimed run (written by a before-executed listener).
    Claim,
    /// The runnable started.
    Start,
    /// The runnable finished its work.
    End,
    /// The runnable saw its cancellation signal and stopped early.
    Cancel,
}

impl Event {
    /// The word that starts the line.
    pub fn as_str(self) -> &'static str {
        match self {
            Event::Claim => "claim",
            Event::Start => "start",
            Event::End => "end",
            Event::Cancel => "cancel",
        }
    }

    fn parse(word: &str) -> Option<Self> {
        Some(match word {
            "claim" => Event::Claim,
            "start" => Event::Start,
            "end" => Event::End,
            "cancel" => Event::Cancel,
            _ => return None,
        })
    }
}

/// One line of a run log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Line {
    /// What happened.
    pub event: Event,
    /// The job id.
    pub job: String,
    /// The node name.
    pub node: String,
    /// The worker process.
    pub pid: u32,
    /// When, in microseconds since the epoch.
    pub at: i64,
    /// When the claimed run was due (claim lines only).
    pub due: Option<i64>,
    /// The lease's fencing token (claim lines only).
    pub token: Option<i64>,
}

impl Line {
    /// Parses a line; `None` for a line that is not a run-log line.
    pub fn parse(text: &str) -> Option<Self> {
        let mut words = text.split_whitespace();
        let event = Event::parse(words.next()?)?;
        let job = words.next()?.to_owned();
        let node = words.next()?.to_owned();
        let pid = words.next()?.parse().ok()?;
        let at = words.next()?.parse().ok()?;
        let (due, token) = if event == Event::Claim {
            (
                Some(words.next()?.parse().ok()?),
                Some(words.next()?.parse().ok()?),
            )
        } else {
            (None, None)
        };
        Some(Self {
            event,
            job,
            node,
            pid,
            at,
            due,
            token,
        })
    }
}

/// Microseconds since the epoch of a time.
pub fn micros(at: DateTime<Utc>) -> i64 {
    at.timestamp_micros()
}

/// Microseconds since the epoch, now.
pub fn now_micros() -> i64 {
    micros(Utc::now())
}

/// Appends the lines of one node to its run log.
#[derive(Debug)]
pub struct RunLogWriter {
    node: String,
    pid: u32,
    file: Mutex<File>,
}

impl RunLogWriter {
    /// Opens (creating it and its directory when missing) `<dir>/<node>.log` for appending.
    pub fn open(dir: &Path, node: &str) -> io::Result<Self> {
        std::fs::create_dir_all(dir)?;
        let file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(path_of(dir, node))?;
        Ok(Self {
            node: node.to_owned(),
            pid: std::process::id(),
            file: Mutex::new(file),
        })
    }

    /// Writes one event of `job` now; claim events carry when the run was due and its
    /// lease token.
    pub fn write(&self, event: Event, job: &str, claim: Option<(i64, i64)>) -> io::Result<()> {
        let mut line = format!(
            "{} {} {} {} {}",
            event.as_str(),
            job,
            self.node,
            self.pid,
            now_micros()
        );
        if let Some((due, token)) = claim {
            line.push_str(&format!(" {due} {token}"));
        }
        line.push('\n');
        let mut file = self.file.lock().unwrap_or_else(PoisonError::into_inner);
        file.write_all(line.as_bytes())?;
        file.flush()
    }
}

/// The run log of `node` in `dir`.
pub fn path_of(dir: &Path, node: &str) -> PathBuf {
    dir.join(format!("{node}.log"))
}

/// Every line of every run log in `dir`, in no particular order. A torn last line (a
/// process killed mid-write) is skipped.
pub fn read_dir(dir: &Path) -> io::Result<Vec<Line>> {
    let mut lines = Vec::new();
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(lines),
        Err(e) => return Err(e),
    };
    for entry in entries {
        let path = entry?.path();
        if path.extension().is_some_and(|e| e == "log") {
            let text = std::fs::read_to_string(&path)?;
            lines.extend(text.lines().filter_map(Line::parse));
        }
    }
    Ok(lines)
}

/// One run of a job as the run logs tell it: the claim, the start and how it ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Run {
    /// The job id.
    pub job: String,
    /// The node.
    pub node: String,
    /// The process.
    pub pid: u32,
    /// When the run was due (from the claim line), if seen.
    pub due: Option<i64>,
    /// The lease token (from the claim line), if seen.
    pub token: Option<i64>,
    /// When the node was about to run it (claim line), else when it started.
    pub claimed: i64,
    /// When the runnable started, if it did.
    pub start: Option<i64>,
    /// When it finished its work, if it did.
    pub end: Option<i64>,
    /// When it saw its cancellation, if it did.
    pub cancel: Option<i64>,
}

impl Run {
    /// Whether the runnable finished its work.
    pub fn finished(&self) -> bool {
        self.end.is_some()
    }

    /// When the run stopped: its end or cancel line, else `died` (when its process was
    /// killed), else never (`i64::MAX`).
    pub fn stop(&self, died: Option<i64>) -> i64 {
        self.end.or(self.cancel).or(died).unwrap_or(i64::MAX)
    }
}

/// Assembles runs from lines: per process and job, a claim line opens a run, the next
/// start, end or cancel line of the same job in the same process belongs to it. Sorted
/// by job, then claim time.
pub fn runs(lines: &[Line]) -> Vec<Run> {
    let mut sorted: Vec<&Line> = lines.iter().collect();
    sorted.sort_by_key(|l| (l.pid, l.at));
    let mut open: HashMap<(u32, &str), Run> = HashMap::new();
    let mut done = Vec::new();
    for line in sorted {
        let key = (line.pid, line.job.as_str());
        match line.event {
            Event::Claim => {
                if let Some(previous) = open.remove(&key) {
                    done.push(previous);
                }
                open.insert(
                    key,
                    Run {
                        job: line.job.clone(),
                        node: line.node.clone(),
                        pid: line.pid,
                        due: line.due,
                        token: line.token,
                        claimed: line.at,
                        start: None,
                        end: None,
                        cancel: None,
                    },
                );
            }
            Event::Start => {
                let run = open.entry(key).or_insert_with(|| Run {
                    job: line.job.clone(),
                    node: line.node.clone(),
                    pid: line.pid,
                    due: None,
                    token: None,
                    claimed: line.at,
                    start: None,
                    end: None,
                    cancel: None,
                });
                if run.start.is_some() {
                    // A start without a claim line of its own: a new run.
                    let previous = std::mem::replace(
                        run,
                        Run {
                            claimed: line.at,
                            due: None,
                            token: None,
                            start: None,
                            end: None,
                            cancel: None,
                            ..run.clone()
                        },
                    );
                    done.push(previous);
                }
                run.start = Some(line.at);
            }
            Event::End | Event::Cancel => {
                if let Some(mut run) = open.remove(&key) {
                    if line.event == Event::End {
                        run.end = Some(line.at);
                    } else {
                        run.cancel = Some(line.at);
                    }
                    done.push(run);
                }
            }
        }
    }
    done.extend(open.into_values());
    done.sort_by(|a, b| a.job.cmp(&b.job).then(a.claimed.cmp(&b.claimed)));
    done
}

/// Two runs of one job whose executions overlapped in time (in any processes): a
/// concurrent duplicate. A run's execution lasts from its start to its end or cancel line,
/// or to its process's death (`died`, by pid) when it has neither.
pub fn overlaps(runs: &[Run], died: &HashMap<u32, i64>) -> Vec<(Run, Run)> {
    let mut found = Vec::new();
    let mut by_job: HashMap<&str, Vec<&Run>> = HashMap::new();
    for run in runs.iter().filter(|r| r.start.is_some()) {
        by_job.entry(run.job.as_str()).or_default().push(run);
    }
    for list in by_job.values() {
        for (i, a) in list.iter().enumerate() {
            for b in &list[i + 1..] {
                let (a_start, b_start) = (a.start.unwrap_or(0), b.start.unwrap_or(0));
                let a_stop = a.stop(died.get(&a.pid).copied());
                let b_stop = b.stop(died.get(&b.pid).copied());
                if a_start < b_stop && b_start < a_stop {
                    found.push(((*a).clone(), (*b).clone()));
                }
            }
        }
    }
    found
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn line(event: Event, job: &str, pid: u32, at: i64) -> Line {
        Line {
            event,
            job: job.to_owned(),
            node: format!("n{pid}"),
            pid,
            at,
            due: (event == Event::Claim).then_some(at),
            token: (event == Event::Claim).then_some(1),
        }
    }

    #[test]
    fn lines_round_trip_and_torn_lines_are_skipped() {
        let dir = tempfile::tempdir().unwrap();
        let writer = RunLogWriter::open(dir.path(), "a").unwrap();
        writer.write(Event::Claim, "j1", Some((5, 7))).unwrap();
        writer.write(Event::Start, "j1", None).unwrap();
        std::fs::OpenOptions::new()
            .append(true)
            .open(path_of(dir.path(), "a"))
            .unwrap()
            .write_all(b"end j1 a 12")
            .unwrap();
        let lines = read_dir(dir.path()).unwrap();
        assert_eq!(lines.len(), 2);
        assert_eq!(lines[0].event, Event::Claim);
        assert_eq!((lines[0].due, lines[0].token), (Some(5), Some(7)));
        assert_eq!(lines[1].pid, std::process::id());
    }

    #[test]
    fn overlapping_runs_of_one_job_are_found_and_sequential_ones_are_not() {
        let lines = vec![
            line(Event::Claim, "j", 1, 10),
            line(Event::Start, "j", 1, 11),
            line(Event::End, "j", 1, 20),
            line(Event::Claim, "j", 2, 21),
            line(Event::Start, "j", 2, 22),
            line(Event::End, "j", 2, 30),
            line(Event::Claim, "k", 1, 10),
            line(Event::Start, "k", 1, 11),
            line(Event::Claim, "k", 2, 15),
            line(Event::Start, "k", 2, 16),
            line(Event::End, "k", 2, 18),
        ];
        let runs = runs(&lines);
        assert_eq!(runs.len(), 4);
        // k's first run never ended: its process died at 17, during the second run.
        let died = HashMap::from([(1, 17)]);
        let found = overlaps(&runs, &died);
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].0.job, "k");
        // Had it died at 14, before the second run started, there is no overlap.
        assert!(overlaps(&runs, &HashMap::from([(1, 14)])).is_empty());
    }
}
