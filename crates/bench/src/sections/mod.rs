//! Each workload as a section of the table: runs every system the workload compares,
//! `scale.runs` times, and keeps the medians.

use std::future::Future;
use std::sync::OnceLock;

use crate::report::{Row, Section};
use crate::scale::Scale;
use crate::stats::Summary;
use crate::{BenchResult, progress};

pub(crate) mod cron;
pub(crate) mod drain;
pub(crate) mod enqueue;
pub(crate) mod idle;
pub(crate) mod latency;
pub(crate) mod memory;
pub(crate) mod scale;

/// Only rows whose system or setup contains this text run (`--rows`), for profiling one
/// system.
pub(crate) static ROW_FILTER: OnceLock<String> = OnceLock::new();

/// Runs `measure` `scale.runs` times; each run returns one figure per column.
pub(crate) async fn repeat<F, Fut>(
    scale: &Scale,
    label: &str,
    mut measure: F,
) -> Result<Vec<Summary>, String>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = BenchResult<Vec<f64>>>,
{
    let mut columns: Vec<Vec<f64>> = Vec::new();
    for run in 1..=scale.runs {
        match measure().await {
            Ok(values) => {
                let shown: Vec<String> = values.iter().map(|v| format!("{v:.3}")).collect();
                progress::figure(label, run, scale.runs, &shown.join(" "));
                if columns.is_empty() {
                    columns = vec![Vec::new(); values.len()];
                }
                for (column, value) in columns.iter_mut().zip(values) {
                    column.push(value);
                }
            }
            Err(error) => {
                progress::figure(label, run, scale.runs, &format!("failed: {error}"));
                return Err(error.to_string());
            }
        }
    }
    Ok(columns.iter().map(|c| Summary::of(c)).collect())
}

/// What a row is, before it is measured.
#[derive(Debug, Clone)]
pub(crate) struct Spec {
    /// The row's key.
    pub(crate) key: &'static str,
    /// The system.
    pub(crate) system: &'static str,
    /// Its setup.
    pub(crate) setup: String,
    /// Jobs per run.
    pub(crate) n: Option<usize>,
    /// What the clock stopped on.
    pub(crate) note: &'static str,
}

/// A row spec.
pub(crate) fn spec(
    key: &'static str,
    system: &'static str,
    setup: impl Into<String>,
    n: Option<usize>,
    note: &'static str,
) -> Spec {
    Spec {
        key,
        system,
        setup: setup.into(),
        n,
        note,
    }
}

/// Measures a row and adds it to the section.
pub(crate) async fn add_row<F, Fut>(section: &mut Section, scale: &Scale, spec: Spec, measure: F)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = BenchResult<Vec<f64>>>,
{
    let label = format!("{} / {} / {}", section.title, spec.system, spec.setup);
    if let Some(filter) = ROW_FILTER.get()
        && !label.contains(filter.as_str())
    {
        return;
    }
    let values = repeat(scale, &label, measure).await;
    section.rows.push(Row {
        key: spec.key,
        system: spec.system.to_owned(),
        setup: spec.setup,
        n: spec.n,
        note: spec.note.to_owned(),
        values,
    });
}
