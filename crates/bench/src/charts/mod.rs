//! SVG charts of a run, written beside the document the table goes into (`bench/` next
//! to docs/benchmarks.md): the drains per store, the enqueue → start latency
//! distributions, and the enqueue rates.

mod draw;

use std::path::{Path, PathBuf};

use plotters::style::RGBColor;

use self::draw::{Bar, Panel, Rows, Strip, chart};
use crate::BenchResult;
use crate::report::Section;
use crate::sections::latency::{MAX, P50, P90, P99};
use crate::targets::Results;

const OURS: RGBColor = RGBColor(31, 119, 180);
const OURS_TUNED: RGBColor = RGBColor(107, 174, 214);
const OURS_OFF: RGBColor = RGBColor(189, 215, 238);
const APALIS: RGBColor = RGBColor(230, 126, 34);
const APALIS_LIGHT: RGBColor = RGBColor(248, 189, 133);
const GRAPHILE: RGBColor = RGBColor(44, 160, 44);
const GRAPHILE_LIGHT: RGBColor = RGBColor(161, 217, 155);
const FLOOR: RGBColor = RGBColor(110, 110, 110);
const FLOOR_LIGHT: RGBColor = RGBColor(190, 190, 190);

/// The short label and colour of a row of a drain section.
fn drain_style(key: &str) -> (&'static str, RGBColor) {
    match key {
        "ours_on" => ("bgtasks, default options", OURS),
        "ours_tuned" => ("bgtasks, prefetch 256", OURS_TUNED),
        "ours_off" => ("bgtasks, listeners off", OURS_OFF),
        "ours_opted_out" => ("bgtasks, job type opted out", OURS_OFF),
        "apalis_inline" => ("apalis, inline", APALIS),
        "apalis_spawn" => ("apalis, spawning", APALIS_LIGHT),
        "apalis" => ("apalis (N smaller)", APALIS),
        "graphile_tuned" => ("graphile_worker, tuned", GRAPHILE),
        "graphile_default" => ("graphile_worker, default", GRAPHILE_LIGHT),
        "floor" => ("floor: tokio spawn", FLOOR),
        "floor_1" => ("floor: raw SQL, batch 1", FLOOR_LIGHT),
        "floor_100" => ("floor: raw SQL, batch 100", FLOOR),
        _ => ("?", FLOOR),
    }
}

/// The short label and colour of a row of an enqueue section.
fn enqueue_style(key: &str) -> (String, RGBColor) {
    let (system, mode) = key.split_once('_').unwrap_or((key, ""));
    let (name, color) = match system {
        "ours" => ("bgtasks", OURS),
        "apalis" => ("apalis", APALIS),
        _ => ("graphile_worker", GRAPHILE),
    };
    let mode = match mode {
        "single" => "1 per call, 1 caller",
        "concurrent" => "1 per call, 16 callers",
        _ => "1,000 per call",
    };
    (format!("{mode}: {name}"), color)
}

/// A row of the latency chart: key, label, colour.
type LatencyRow = (&'static str, &'static str, RGBColor);

/// The stores of the latency chart and their rows.
const LATENCY: [(&str, &[LatencyRow]); 3] = [
    (
        "in memory",
        &[
            ("ours_memory", "bgtasks", OURS),
            ("apalis_memory", "apalis, inline", APALIS),
            ("apalis_memory_spawn", "apalis, spawning", APALIS_LIGHT),
        ],
    ),
    (
        "SQLite",
        &[
            ("ours_sqlite", "bgtasks", OURS),
            ("apalis_sqlite", "apalis", APALIS),
        ],
    ),
    (
        "PostgreSQL",
        &[
            ("ours_postgres", "bgtasks (queued by another pool)", OURS),
            (
                "graphile_default",
                "graphile_worker, default",
                GRAPHILE_LIGHT,
            ),
            ("graphile_tuned", "graphile_worker, tuned", GRAPHILE),
            ("apalis_postgres", "apalis", APALIS),
        ],
    ),
];

/// The bars of the measured rows of `section`, in table order.
fn bars(section: &Section, style: impl Fn(&str) -> (String, RGBColor)) -> Vec<Bar> {
    section
        .rows
        .iter()
        .filter_map(|row| {
            let summary = row.values.as_ref().ok()?.first()?;
            let (label, color) = style(row.key);
            summary.median.is_finite().then_some(Bar {
                label,
                value: summary.median,
                range: (summary.min, summary.max),
                color,
            })
        })
        .collect()
}

fn panels(
    results: &Results,
    ids: &[(&str, &str)],
    log: bool,
    style: &dyn Fn(&str) -> (String, RGBColor),
) -> Vec<Panel> {
    ids.iter()
        .filter_map(|(id, title)| {
            let rows = bars(results.section(id)?, style);
            (!rows.is_empty()).then(|| Panel {
                title: (*title).to_owned(),
                unit: if log { "jobs/s (log scale)" } else { "jobs/s" }.to_owned(),
                log,
                rows: Rows::Bars(rows),
            })
        })
        .collect()
}

fn latency_panels(results: &Results) -> Vec<Panel> {
    let Some(section) = results.section("latency") else {
        return Vec::new();
    };
    LATENCY
        .iter()
        .filter_map(|(store, rows)| {
            let strips: Vec<Strip> = rows
                .iter()
                .filter_map(|(key, label, color)| {
                    let marks = [("p50", P50), ("p90", P90), ("p99", P99), ("max", MAX)]
                        .iter()
                        .map(|(name, column)| Some((*name, section.median(key, *column)?)))
                        .collect::<Option<Vec<_>>>()?;
                    Some(Strip {
                        label: (*label).to_owned(),
                        marks,
                        color: *color,
                    })
                })
                .collect();
            (!strips.is_empty()).then(|| Panel {
                title: format!("{store}: enqueue → start"),
                unit: "ms (log scale)".to_owned(),
                log: true,
                rows: Rows::Strips(strips),
            })
        })
        .collect()
}

/// Writes the charts whose sections ran into `dir`; returns the files written.
pub(crate) fn write_all(dir: &Path, results: &Results) -> BenchResult<Vec<PathBuf>> {
    let systems = [
        ("bgtasks", OURS),
        ("apalis", APALIS),
        ("graphile_worker", GRAPHILE),
        ("floor", FLOOR),
    ];
    let drain_style = |key: &str| {
        let (label, color) = drain_style(key);
        (label.to_owned(), color)
    };
    let charts = [
        (
            "drain.svg",
            "Drain: jobs per second (median; the whisker spans the runs)",
            &systems[..],
            panels(
                results,
                &[
                    ("drain-memory", "in memory"),
                    ("drain-sqlite", "SQLite (WAL, synchronous FULL)"),
                    ("drain-postgres", "PostgreSQL (fsync on)"),
                ],
                false,
                &drain_style,
            ),
        ),
        (
            "latency.svg",
            "Enqueue → start, ms (medians of the runs): ● p50   ▲ p90   ■ p99   ✕ max",
            &systems[..3],
            latency_panels(results),
        ),
        (
            "enqueue.svg",
            "Enqueue: jobs per second (median; the whisker spans the runs)",
            &systems[..3],
            panels(
                results,
                &[
                    ("enqueue-memory", "in memory"),
                    ("enqueue-sqlite", "SQLite (WAL, synchronous FULL)"),
                    ("enqueue-postgres", "PostgreSQL (fsync on)"),
                ],
                true,
                &enqueue_style,
            ),
        ),
    ];
    let mut written = Vec::new();
    for (file, title, legend, panels) in charts {
        if panels.is_empty() {
            continue;
        }
        std::fs::create_dir_all(dir)?;
        let path = dir.join(file);
        std::fs::write(&path, chart(title, legend, &panels)?)?;
        written.push(path);
    }
    Ok(written)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::Row;
    use crate::stats::Summary;

    fn section(keys: &[(&'static str, &[f64])]) -> Section {
        let mut s = Section::new("t", "i", vec!["a"; 6], 0);
        for (key, values) in keys {
            s.rows.push(Row {
                key,
                system: (*key).to_owned(),
                setup: String::new(),
                n: Some(1),
                note: String::new(),
                values: Ok(values
                    .iter()
                    .map(|v| Summary::of(&[v * 0.9, *v, v * 1.1]))
                    .collect()),
            });
        }
        s
    }

    pub(super) fn sample() -> Results {
        let mut results = Results::default();
        let drains = [
            ("ours_on", &[9_000.0][..]),
            ("graphile_tuned", &[27_000.0][..]),
        ];
        results.sections.push(("drain-postgres", section(&drains)));
        let latency = [
            ("ours_memory", &[0.15, 0.2, 0.29, 0.5, 1000.0, 0.0][..]),
            ("apalis_memory", &[0.05, 0.1, 0.2, 0.4, 1000.0, 0.0][..]),
            ("ours_postgres", &[2.3, 3.0, 5.3, 18.8, 1000.0, 0.0][..]),
        ];
        results.sections.push(("latency", section(&latency)));
        let enqueue = [
            ("ours_bulk", &[50_000.0][..]),
            ("apalis_bulk", &[20_000.0][..]),
        ];
        results.sections.push(("enqueue-sqlite", section(&enqueue)));
        results
    }

    #[test]
    fn charts_have_a_label_per_row_and_only_the_sections_that_ran() {
        let dir = tempfile::tempdir().expect("temp dir");
        let written = write_all(dir.path(), &sample()).expect("charts");
        let names: Vec<_> = written.iter().filter_map(|p| p.file_name()).collect();
        assert_eq!(names, ["drain.svg", "latency.svg", "enqueue.svg"]);
        let drain = std::fs::read_to_string(dir.path().join("drain.svg")).expect("drain");
        assert!(drain.starts_with("<svg"), "{drain}");
        assert_eq!(drain.matches("bgtasks, default options").count(), 1);
        assert_eq!(drain.matches("graphile_worker, tuned").count(), 1);
        assert!(drain.contains("27,000"), "the median is written at the bar");
        assert!(
            !drain.contains(">\nin memory\n<"),
            "no panel for a section that did not run"
        );
        let latency = std::fs::read_to_string(dir.path().join("latency.svg")).expect("latency");
        assert!(latency.contains("PostgreSQL: enqueue → start"));
        assert!(
            !latency.contains("SQLite: enqueue"),
            "no SQLite rows, no panel"
        );
    }

    #[test]
    fn no_chart_without_its_sections() {
        let dir = tempfile::tempdir().expect("temp dir");
        let written = write_all(dir.path(), &Results::default()).expect("charts");
        assert!(written.is_empty());
        assert_eq!(std::fs::read_dir(dir.path()).expect("dir").count(), 0);
    }
}
