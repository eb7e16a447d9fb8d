//! Measurements that need a clean process: the binary runs itself again with a hidden
//! subcommand, and the child prints one `RESULT key=value ...` line.

use std::collections::HashMap;
use std::process::Command;

use crate::BenchResult;

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
    let mut values = HashMap::new();
    for pair in line.split_whitespace() {
        if let Some((key, value)) = pair.split_once('=') {
            values.insert(key.to_owned(), value.parse::<f64>()?);
        }
    }
    Ok(values)
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
