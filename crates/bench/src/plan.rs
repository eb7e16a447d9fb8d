//! The plan of a run, for the progress lines: each step's figures (rows × runs) and how
//! long it takes on a quiet 2-core machine (from earlier full and quick runs).

use std::time::Duration;

use crate::progress::Step;
use crate::scale::Scale;

/// (step, rows, runs per row, seconds per figure in a full run, in a quick run); `None`
/// runs means the run's `runs`.
type Entry = (&'static str, usize, Option<usize>, f64, f64);

/// The steps of each section, in the order they run.
fn entries(section: &str) -> Vec<Entry> {
    match section {
        "drain-memory" => vec![("drain-memory", 5, None, 3.0, 0.5)],
        "drain-sqlite" => vec![("drain-sqlite", 7, None, 12.0, 0.8)],
        "drain-postgres" => vec![("drain-postgres", 9, None, 8.0, 1.5)],
        "latency" => vec![("latency", 9, None, 12.0, 1.5)],
        "cron" => vec![("cron", 1, None, 21.0, 3.0)],
        "memory" => vec![("memory", 2, None, 10.0, 0.7)],
        "idle" => vec![("idle", 3, None, 12.0, 2.2)],
        "enqueue" => vec![
            ("enqueue-memory", 6, None, 1.0, 0.3),
            ("enqueue-sqlite", 6, None, 5.0, 0.5),
            ("enqueue-postgres", 9, None, 3.0, 0.6),
        ],
        "scale" => vec![
            ("scale-drain", 1, None, 4.0, 0.6),
            ("scale-large", 1, Some(1), 150.0, 1.0),
            ("scale-churn", 1, Some(1), 150.0, 1.5),
            ("scale-processes", 3, None, 8.0, 1.5),
        ],
        _ => Vec::new(),
    }
}

/// The steps of the sections `wanted` (in the order given) at `scale`.
pub(crate) fn steps(wanted: &[&str], scale: &Scale, quick: bool) -> Vec<Step> {
    wanted
        .iter()
        .flat_map(|section| entries(section))
        .map(|(id, rows, runs, full, fast)| {
            let figures = rows * runs.unwrap_or(scale.runs);
            let each = if quick { fast } else { full };
            Step {
                id,
                figures,
                expected: Duration::from_secs_f64(each * figures as f64),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_section_has_a_plan() {
        for section in crate::SECTIONS {
            assert!(!entries(section).is_empty(), "{section} has no plan");
        }
        let steps = steps(&["drain-memory", "scale"], &Scale::full(), false);
        assert_eq!(steps.len(), 5);
        assert_eq!(steps[0].figures, 15, "5 rows × 3 runs");
        assert_eq!(steps[2].figures, 1, "the large drain runs once");
    }
}
