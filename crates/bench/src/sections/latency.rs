//! Enqueue → start latency, per store and system.

use crate::latency::LatencySamples;
use crate::ours::{StoreKind, latency as ours};
use crate::peers::{apalis_memory, apalis_postgres, apalis_sqlite, graphile};
use crate::report::Section;
use crate::scale::{Scale, WORKERS};
use crate::sections::{add_row, spec};
use crate::stats::Spread;

/// The p50 column.
pub(crate) const P50: usize = 0;
/// The p90 column.
pub(crate) const P90: usize = 1;
/// The p99 column.
pub(crate) const P99: usize = 2;
/// The max column.
pub(crate) const MAX: usize = 3;

const NOTE: &str = "instant before the enqueue call → first line of the job";

fn figures(samples: LatencySamples) -> Vec<f64> {
    let spread = Spread::of(&samples.millis);
    vec![
        spread.p50,
        spread.p90,
        spread.p99,
        spread.max,
        samples.millis.len() as f64,
        samples.timed_out as f64,
    ]
}

/// The latency section.
pub(crate) async fn section(scale: &Scale) -> Section {
    let n = scale.latency_jobs;
    let w = WORKERS;
    let mut s = Section::new(
        "Enqueue → start latency",
        format!(
            "An idle runtime; one job enqueued at a time (the next {} ms after the previous \
             returned), up to {n} jobs or {} s per run. Milliseconds. `jobs` is how many \
             started within the run's budget, `timeouts` how many did not start within {} s \
             (counted at that value).",
            2,
            scale.latency_budget.as_secs(),
            crate::latency::START_LIMIT.as_secs()
        ),
        vec!["p50 ms", "p90 ms", "p99 ms", "max ms", "jobs", "timeouts"],
        3,
    );
    add_row(
        &mut s,
        scale,
        spec(
            "ours_memory",
            "bgtasks",
            format!("in memory, {w} workers, default listeners"),
            Some(n),
            NOTE,
        ),
        || async { Ok(figures(ours::run(StoreKind::Memory, scale).await?)) },
    )
    .await;
    add_row(
        &mut s,
        scale,
        spec(
            "ours_sqlite",
            "bgtasks",
            format!("SQLite, {w} workers, default listeners, queued on the consuming runtime"),
            Some(n),
            NOTE,
        ),
        || async { Ok(figures(ours::run(StoreKind::Sqlite, scale).await?)) },
    )
    .await;
    add_row(&mut s, scale, spec("ours_postgres", "bgtasks", format!("PostgreSQL, {w} workers, default listeners, queued by a producer runtime on another pool (LISTEN/NOTIFY wake-up)"), Some(n), NOTE),
        || async { Ok(figures(ours::run(StoreKind::Postgres, scale).await?)) }).await;
    add_row(
        &mut s,
        scale,
        spec(
            "apalis_memory",
            "apalis 1.0 MemoryStorage",
            format!("concurrency {w}, inline"),
            Some(n),
            NOTE,
        ),
        || async {
            Ok(figures(
                apalis_memory::latency(scale, apalis_memory::Mode::Inline).await?,
            ))
        },
    )
    .await;
    add_row(
        &mut s,
        scale,
        spec(
            "apalis_memory_spawn",
            "apalis 1.0 MemoryStorage",
            format!("concurrency {w}, spawning"),
            Some(n),
            NOTE,
        ),
        || async {
            Ok(figures(
                apalis_memory::latency(scale, apalis_memory::Mode::Spawning).await?,
            ))
        },
    )
    .await;
    add_row(
        &mut s,
        scale,
        spec(
            "apalis_sqlite",
            "apalis 1.0 + apalis-sqlite",
            format!("concurrency {w}, inline, update-hook notifications"),
            Some(n),
            NOTE,
        ),
        || async { Ok(figures(apalis_sqlite::latency(scale).await?)) },
    )
    .await;
    add_row(
        &mut s,
        scale,
        spec(
            "apalis_postgres",
            "apalis 1.0 + apalis-postgres",
            format!("concurrency {w}, inline, LISTEN/NOTIFY pubsub"),
            Some(n),
            NOTE,
        ),
        || async { Ok(figures(apalis_postgres::latency(scale).await?)) },
    )
    .await;
    add_row(
        &mut s,
        scale,
        spec(
            "graphile_default",
            "graphile_worker 0.14",
            format!("concurrency {w}, default options (LISTEN/NOTIFY)"),
            Some(n),
            NOTE,
        ),
        || async {
            Ok(figures(
                graphile::latency(scale, graphile::Mode::Default).await?,
            ))
        },
    )
    .await;
    add_row(
        &mut s,
        scale,
        spec(
            "graphile_tuned",
            "graphile_worker 0.14",
            format!("concurrency {w}, tuned (as in the drain)"),
            Some(n),
            NOTE,
        ),
        || async {
            Ok(figures(
                graphile::latency(scale, graphile::Mode::Tuned).await?,
            ))
        },
    )
    .await;
    s.ratios = vec![
        ("ours_memory", "apalis_memory"),
        ("ours_memory", "apalis_memory_spawn"),
        ("ours_sqlite", "apalis_sqlite"),
        ("ours_postgres", "graphile_default"),
        ("ours_postgres", "graphile_tuned"),
        ("ours_postgres", "apalis_postgres"),
    ];
    s
}
