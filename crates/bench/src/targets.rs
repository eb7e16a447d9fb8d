//! The targets, checked against the medians of this run.

use crate::enqueue::Mode;
use crate::report::{Section, format_number, format_ratio};
use crate::sections::enqueue::key;
use crate::sections::latency::{MAX, P50, P99};
use crate::sections::scale::{PROCESSES, processes_key};

/// The sections of one run, by id.
#[derive(Debug, Default)]
pub(crate) struct Results {
    /// (id, section) in the order they ran.
    pub(crate) sections: Vec<(&'static str, Section)>,
}

impl Results {
    /// The section with this id, if it ran.
    pub(crate) fn section(&self, id: &str) -> Option<&Section> {
        self.sections.iter().find(|(i, _)| *i == id).map(|(_, s)| s)
    }

    fn median(&self, id: &str, key: &str, column: usize) -> Option<f64> {
        self.section(id)?.median(key, column)
    }

    /// The largest value any run of a row saw in a column.
    fn worst(&self, id: &str, key: &str, column: usize) -> Option<f64> {
        let row = self.section(id)?.row(key)?;
        row.values.as_ref().ok()?.get(column).map(|s| s.max)
    }
}

/// One target and how this run did.
#[derive(Debug, Clone)]
pub(crate) struct Verdict {
    /// The target.
    pub(crate) target: String,
    /// What was measured.
    pub(crate) measured: String,
    /// Met, missed, or not measured.
    pub(crate) met: Option<bool>,
}

impl Verdict {
    /// "met", "MISSED" or "not measured".
    pub(crate) fn label(&self) -> &'static str {
        match self.met {
            Some(true) => "met",
            Some(false) => "MISSED",
            None => "not measured",
        }
    }
}

fn ratio_at_least(
    results: &Results,
    target: &str,
    (id, ours, other): (&str, &str, &str),
    at_least: f64,
) -> Verdict {
    match (results.median(id, ours, 0), results.median(id, other, 0)) {
        (Some(a), Some(b)) if b > 0.0 => Verdict {
            target: target.to_owned(),
            measured: format!(
                "{}× ({} vs {} jobs/s; `{ours}` vs `{other}`)",
                format_ratio(a / b),
                format_number(a, 0),
                format_number(b, 0)
            ),
            met: Some(a / b >= at_least),
        },
        _ => not_measured(target),
    }
}

fn not_measured(target: &str) -> Verdict {
    Verdict {
        target: target.to_owned(),
        measured: "not measured".to_owned(),
        met: None,
    }
}

fn at_most(target: &str, value: Option<f64>, limit: f64, unit: &str) -> Verdict {
    match value {
        Some(v) => Verdict {
            target: target.to_owned(),
            measured: format!("{} {unit}", format_number(v, 3)),
            met: Some(v <= limit),
        },
        None => not_measured(target),
    }
}

fn no_worse(target: &str, ours: Option<f64>, theirs: Option<f64>) -> Verdict {
    match (ours, theirs) {
        (Some(a), Some(b)) => Verdict {
            target: target.to_owned(),
            measured: format!(
                "{} ms vs {} ms ({}×)",
                format_number(a, 3),
                format_number(b, 3),
                format_ratio(a / b)
            ),
            met: Some(a <= b),
        },
        _ => not_measured(target),
    }
}

/// Every target of the issue.
pub(crate) fn evaluate(results: &Results) -> Vec<Verdict> {
    let mut v = vec![
        ratio_at_least(
            results,
            "in memory: drain, default options ≥ 0.5× apalis in memory (inline)",
            ("drain-memory", "ours_on", "apalis_inline"),
            0.5,
        ),
        ratio_at_least(
            results,
            "in memory: drain, listeners off ≥ 1× listeners on",
            ("drain-memory", "ours_off", "ours_on"),
            1.0,
        ),
        no_worse(
            "in memory: enqueue → start p99 no worse than apalis in memory (inline)",
            results.median("latency", "ours_memory", P99),
            results.median("latency", "apalis_memory", P99),
        ),
        ratio_at_least(
            results,
            "PostgreSQL: drain at default options ≥ 1.25× graphile_worker (tuned)",
            ("drain-postgres", "ours_on", "graphile_tuned"),
            1.25,
        ),
    ];
    v.extend(durable_drain(results, "drain-postgres", "PostgreSQL"));
    v.extend([
        no_worse(
            "PostgreSQL: enqueue → start p50 no worse than graphile_worker (default, LISTEN/NOTIFY)",
            results.median("latency", "ours_postgres", P50),
            results.median("latency", "graphile_default", P50),
        ),
        no_worse(
            "PostgreSQL: enqueue → start p99 no worse than graphile_worker (default, LISTEN/NOTIFY)",
            results.median("latency", "ours_postgres", P99),
            results.median("latency", "graphile_default", P99),
        ),
        at_most(
            "PostgreSQL: no enqueue → start outlier over 100 ms (max of all runs)",
            results.worst("latency", "ours_postgres", MAX),
            100.0,
            "ms",
        ),
    ]);
    v.extend(durable_drain(results, "drain-sqlite", "SQLite"));
    v.extend([
        at_most(
            "SQLite: enqueue → start p99 ≤ 10 ms",
            results.median("latency", "ours_sqlite", P99),
            10.0,
            "ms",
        ),
        at_most(
            "SQLite: no enqueue → start outlier over 100 ms (max of all runs)",
            results.worst("latency", "ours_sqlite", MAX),
            100.0,
            "ms",
        ),
        at_most(
            "cron lateness p99 ≤ 5 ms",
            results.median("cron", "ours", 1),
            5.0,
            "ms",
        ),
        at_most(
            "≤ 1 KiB resident per pending in-memory job",
            results.median("memory", "pending", 0),
            1024.0,
            "bytes/job",
        ),
        idle_cpu(results),
    ]);
    v.extend(enqueue(results));
    v.extend(scale(results));
    v
}

/// The targets every durable drain shares: default options ≥ 0.8× the raw floor at
/// batch 100 and ≥ 0.9× the tuned prefetch; listeners off and an opted-out job type at
/// least as fast as listeners on.
fn durable_drain(results: &Results, id: &str, store: &str) -> Vec<Verdict> {
    [
        (
            "drain at default options ≥ 0.8× the raw floor at batch 100",
            "ours_on",
            "floor_100",
            0.8,
        ),
        (
            "default options ≥ 0.9× the best tuned setting (prefetch 256)",
            "ours_on",
            "ours_tuned",
            0.9,
        ),
        (
            "listeners off drain ≥ 1× listeners on",
            "ours_off",
            "ours_on",
            1.0,
        ),
        (
            "a job type opted out of state handling drains ≥ 1× listeners on",
            "ours_opted_out",
            "ours_on",
            1.0,
        ),
    ]
    .into_iter()
    .map(|(target, ours, other, at_least)| {
        ratio_at_least(
            results,
            &format!("{store}: {target}"),
            (id, ours, other),
            at_least,
        )
    })
    .collect()
}

/// Idle CPU strictly under 1 % of one core, in memory.
fn idle_cpu(results: &Results) -> Verdict {
    let cpu = results.median("idle", "memory", 0);
    let mut verdict = at_most("idle CPU under 1 % of one core (in memory)", cpu, 1.0, "%");
    if let Some(cpu) = cpu {
        verdict.met = Some(cpu < 1.0);
    }
    verdict
}

/// Enqueue on each store, one per call (1 caller and many) and in bulk: ≥ 1× the best
/// peer in the same mode.
fn enqueue(results: &Results) -> Vec<Verdict> {
    let mut v = Vec::new();
    for (id, store) in [
        ("enqueue-memory", "in memory"),
        ("enqueue-sqlite", "SQLite"),
        ("enqueue-postgres", "PostgreSQL"),
    ] {
        for mode in Mode::ALL {
            let target = format!("{store}: enqueue, {} ≥ 1× the best peer", mode.describe());
            let peers = ["apalis", "graphile"].map(|p| key(p, mode));
            v.push(at_least_best(
                results,
                &target,
                id,
                key("ours", mode),
                &peers,
                1.0,
            ));
        }
    }
    v
}

/// `ours` against the best measured of `peers` (by median).
fn at_least_best(
    results: &Results,
    target: &str,
    id: &str,
    ours: &str,
    peers: &[&str],
    at_least: f64,
) -> Verdict {
    let best = peers
        .iter()
        .filter_map(|p| results.median(id, p, 0).map(|m| (*p, m)))
        .max_by(|a, b| a.1.total_cmp(&b.1));
    match best {
        Some((peer, _)) => ratio_at_least(results, target, (id, ours, peer), at_least),
        None => not_measured(target),
    }
}

/// The N of a row, for a target's text.
fn n_of(results: &Results, id: &str, key: &str) -> String {
    results
        .section(id)
        .and_then(|s| s.row(key))
        .and_then(|r| r.n)
        .map_or_else(|| "?".to_owned(), |n| format_number(n as f64, 0))
}

/// The scale targets on PostgreSQL.
fn scale(results: &Results) -> Vec<Verdict> {
    let large = n_of(results, "scale-drain", "large");
    let base = n_of(results, "scale-drain", "base");
    let churned = n_of(results, "scale-churn", "churn");
    let mut v = vec![
        ratio_at_least(
            results,
            &format!("PostgreSQL: drain at N = {large} within 20 % of N = {base} (≥ 0.8×)"),
            ("scale-drain", "large", "base"),
            0.8,
        ),
        match results.median("scale-churn", "churn", 2) {
            Some(growth) => Verdict {
                target: format!(
                    "PostgreSQL: table + index size after a churn of {churned} jobs (default \
                     retention) ≤ 2× the size at the start"
                ),
                measured: format!(
                    "{}× ({} MiB → {} MiB)",
                    format_ratio(growth),
                    format_number(
                        results
                            .median("scale-churn", "churn", 0)
                            .unwrap_or(f64::NAN),
                        1
                    ),
                    format_number(
                        results
                            .median("scale-churn", "churn", 1)
                            .unwrap_or(f64::NAN),
                        1
                    )
                ),
                met: Some(growth <= 2.0),
            },
            None => not_measured(&format!(
                "PostgreSQL: table + index size after a churn of {churned} jobs ≤ 2× the start"
            )),
        },
    ];
    let target = "PostgreSQL: 1, 2 and 4 processes on one database: total drain rate does not \
                  fall as processes are added";
    let rates: Option<Vec<f64>> = PROCESSES
        .iter()
        .map(|p| results.median("scale-processes", processes_key(*p), 0))
        .collect();
    v.push(match rates {
        Some(rates) => Verdict {
            target: target.to_owned(),
            measured: rates
                .iter()
                .map(|r| format!("{} jobs/s", format_number(*r, 0)))
                .collect::<Vec<_>>()
                .join(" → "),
            met: Some(rates.windows(2).all(|w| w[1] >= w[0])),
        },
        None => not_measured(target),
    });
    v
}

/// The verdicts as a Markdown table.
pub(crate) fn markdown(verdicts: &[Verdict]) -> String {
    let mut out = String::from("| target | measured (medians) | verdict |\n|---|---|---|\n");
    for v in verdicts {
        out.push_str(&format!(
            "| {} | {} | {} |\n",
            v.target,
            v.measured,
            v.label()
        ));
    }
    out
}
