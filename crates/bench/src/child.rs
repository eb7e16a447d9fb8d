//! Measurements that need a clean process or several: the binary runs itself again with
//! a hidden subcommand, and the child prints one `RESULT key=value ...` line.

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Lines, Write};
use std::process::{ChildStdin, ChildStdout, Command, Stdio};
use std::time::Duration;

use crate::BenchResult;
use crate::ours::StoreKind;
use crate::ours::memory::MemoryCase;

/// The hidden subcommand's name.
pub(crate) const CHILD_COMMAND: &str = "__child";

/// Runs this binary as `__child ARGS...` and returns the key/values of its result line.
pub(crate) fn run(args: &[String]) -> BenchResult<HashMap<String, f64>> {
    let exe = std::env::current_exe()?;
    let output = Command::new(exe).arg(CHILD_COMMAND).args(args).output()?;
    let stdout = String::from_utf8_lossy(&output.stdout);
    if !output.status.success() {
        return Err(format!(
            "child `{}` failed ({}): {}{}",
            args.join(" "),
            output.status,
            stdout,
            String::from_utf8_lossy(&output.stderr)
        )
        .into());
    }
    let line = stdout
        .lines()
        .find_map(|l| l.strip_prefix("RESULT "))
        .ok_or_else(|| format!("child `{}` printed no result: {stdout}", args.join(" ")))?;
    parse_result(line)
}

fn parse_result(line: &str) -> BenchResult<HashMap<String, f64>> {
    let mut values = HashMap::new();
    for pair in line.split_whitespace() {
        if let Some((key, value)) = pair.split_once('=') {
            values.insert(key.to_owned(), value.parse::<f64>()?);
        }
    }
    Ok(values)
}

/// A child that runs alongside the parent and others: the parent waits for a line from
/// it, sends it lines, and reads its result when it exits. Its stderr is the parent's.
pub(crate) struct Spawned {
    child: std::process::Child,
    stdin: Option<ChildStdin>,
    lines: Lines<BufReader<ChildStdout>>,
    name: String,
}

/// Starts this binary as `__child ARGS...` with piped stdin and stdout.
pub(crate) fn spawn(args: &[String]) -> BenchResult<Spawned> {
    let exe = std::env::current_exe()?;
    let mut child = Command::new(exe)
        .arg(CHILD_COMMAND)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()?;
    let stdin = child.stdin.take();
    let stdout = child.stdout.take().ok_or("child without stdout")?;
    Ok(Spawned {
        child,
        stdin,
        lines: BufReader::new(stdout).lines(),
        name: args.join(" "),
    })
}

impl Spawned {
    /// Reads lines until one equals `expected` (an error if the child ends first).
    pub(crate) fn wait_for(&mut self, expected: &str) -> BenchResult<()> {
        for line in self.lines.by_ref() {
            if line?.trim() == expected {
                return Ok(());
            }
        }
        Err(format!("child `{}` ended before it said {expected}", self.name).into())
    }

    /// Sends the child one line.
    pub(crate) fn send(&mut self, line: &str) -> BenchResult<()> {
        let stdin = self.stdin.as_mut().ok_or("child without stdin")?;
        writeln!(stdin, "{line}")?;
        stdin.flush()?;
        Ok(())
    }

    /// Waits for the child to exit and returns the key/values of its result line.
    pub(crate) fn finish(mut self) -> BenchResult<HashMap<String, f64>> {
        drop(self.stdin.take());
        let mut result = None;
        for line in self.lines.by_ref() {
            if let Some(rest) = line?.strip_prefix("RESULT ") {
                result = Some(parse_result(rest)?);
            }
        }
        let status = self.child.wait()?;
        if !status.success() {
            return Err(format!("child `{}` failed ({status})", self.name).into());
        }
        result.ok_or_else(|| format!("child `{}` printed no result", self.name).into())
    }
}

/// The hidden child commands: `memory CASE N`, `idle STORE JOBS WINDOW_MS` and
/// `drain-worker URL NODE LIMIT_S`.
pub(crate) async fn main(args: &[String]) -> BenchResult<()> {
    let arg = |i: usize| -> BenchResult<&str> {
        args.get(i)
            .map(String::as_str)
            .ok_or_else(|| format!("child: missing argument {i}").into())
    };
    match arg(0)? {
        "memory" => {
            let case = MemoryCase::parse(arg(1)?)?;
            let n: usize = arg(2)?.parse()?;
            let (before, after) = crate::ours::memory::measure(case, n).await?;
            report(&[("before", before), ("after", after)]);
        }
        "idle" => {
            let kind = StoreKind::parse(arg(1)?)?;
            let jobs: usize = arg(2)?.parse()?;
            let window = Duration::from_millis(arg(3)?.parse()?);
            let cpu = crate::ours::idle::measure(kind, jobs, window).await?;
            report(&[("cpu_percent", cpu)]);
        }
        "drain-worker" => {
            let limit = Duration::from_secs(arg(3)?.parse()?);
            crate::ours::processes::child(arg(1)?, arg(2)?, limit).await?;
        }
        other => return Err(format!("unknown child command `{other}`").into()),
    }
    Ok(())
}

/// Prints the result line a parent reads.
pub(crate) fn report(values: &[(&str, f64)]) {
    let pairs: Vec<String> = values.iter().map(|(k, v)| format!("{k}={v}")).collect();
    println!("RESULT {}", pairs.join(" "));
}

/// This process's resident set size in bytes (`VmRSS` of /proc/self/status).
pub(crate) fn resident_bytes() -> BenchResult<f64> {
    let status = std::fs::read_to_string("/proc/self/status")?;
    let kib = status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|rest| rest.split_whitespace().next())
        .ok_or("no VmRSS in /proc/self/status")?
        .parse::<f64>()?;
    Ok(kib * 1024.0)
}

/// CPU time this process used so far (user + system), in seconds, from /proc/self/stat.
pub(crate) fn cpu_seconds() -> BenchResult<f64> {
    let stat = std::fs::read_to_string("/proc/self/stat")?;
    // Fields after the command name (which may hold spaces) start after the last ')'.
    let rest = stat
        .rsplit_once(')')
        .map(|(_, rest)| rest)
        .ok_or("malformed /proc/self/stat")?;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // rest starts at field 3 (state); utime is field 14, stime field 15.
    let utime: f64 = fields.get(11).ok_or("no utime")?.parse()?;
    let stime: f64 = fields.get(12).ok_or("no stime")?.parse()?;
    Ok((utime + stime) / clock_ticks())
}

fn clock_ticks() -> f64 {
    Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(100.0)
}
