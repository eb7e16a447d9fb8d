//! Idle CPU, each run in a fresh child process.

use crate::child;
use crate::ours::StoreKind;
use crate::report::Section;
use crate::scale::{Scale, WORKERS};
use crate::sections::{add_row, spec};

async fn measure(kind: StoreKind, scale: &Scale) -> crate::BenchResult<Vec<f64>> {
    let args = vec![
        "idle".to_owned(),
        kind.name().to_owned(),
        scale.idle_jobs.to_string(),
        scale.idle_window.as_millis().to_string(),
    ];
    let values = tokio::task::spawn_blocking(move || child::run(&args)).await??;
    Ok(vec![
        values
            .get("cpu_percent")
            .copied()
            .ok_or("no `cpu_percent`")?,
    ])
}

/// The idle section.
pub(crate) async fn section(scale: &Scale) -> Section {
    let mut s = Section::new(
        "Idle CPU",
        format!(
            "A started runtime ({WORKERS} workers, default listeners) whose {} jobs are all due \
             in an hour; user + system CPU of the whole process (/proc/self/stat) over {} s, \
             after 1 s to settle, as a share of one core.",
            scale.idle_jobs,
            scale.idle_window.as_secs_f64()
        ),
        vec!["% of one core"],
        3,
    );
    for (key, kind, setup) in [
        ("memory", StoreKind::Memory, "in memory"),
        (
            "sqlite",
            StoreKind::Sqlite,
            "SQLite (watches the file every 500 ms)",
        ),
        (
            "postgres",
            StoreKind::Postgres,
            "PostgreSQL (LISTEN/NOTIFY)",
        ),
    ] {
        add_row(
            &mut s,
            scale,
            spec(
                key,
                "bgtasks",
                setup,
                Some(scale.idle_jobs),
                "fresh child process",
            ),
            || measure(kind, scale),
        )
        .await;
    }
    s
}
