//! Drain sections: in memory, SQLite, PostgreSQL.

use crate::floors::{sql_postgres, sql_sqlite, tokio_spawn};
use crate::ours::StoreKind;
use crate::ours::drain::{self, DrainSetup};
use crate::peers::{apalis_memory, apalis_postgres, apalis_sqlite, graphile};
use crate::report::Section;
use crate::scale::{FLOOR_CONNECTIONS, Scale, WORKERS};
use crate::sections::{add_row, spec};

/// Prefetch of our tuned durable rows.
pub(crate) const TUNED_PREFETCH: usize = 256;

const SAVED: &str = "last run finished and its state saved (none in flight)";
const REPORTED: &str = "last run finished (none in flight; no state saved)";
const HANDLER: &str = "last handler returned (no state kept)";
const STORE_DONE: &str = "store shows every job Done";
const TABLE_EMPTY: &str = "jobs table empty (completed jobs are deleted)";
const FLOOR: &str = "every batch marked done";

fn ours_on() -> DrainSetup {
    DrainSetup {
        listeners: true,
        prefetch: None,
        opted_out: false,
    }
}

fn ours_off() -> DrainSetup {
    DrainSetup {
        listeners: false,
        ..ours_on()
    }
}

fn ours_opted_out() -> DrainSetup {
    DrainSetup {
        opted_out: true,
        ..ours_on()
    }
}

fn ours_tuned() -> DrainSetup {
    DrainSetup {
        prefetch: Some(TUNED_PREFETCH),
        ..ours_on()
    }
}

fn drain_section(title: &str) -> Section {
    Section::new(
        title,
        "N no-op jobs queued first, then the runtime started; jobs per second from start \
         until the event in the last column.",
        vec!["jobs/s"],
        0,
    )
}

/// Drain in memory.
pub(crate) async fn memory(scale: &Scale) -> Section {
    let n = scale.drain_memory;
    let mut s = drain_section("Drain, in memory");
    let w = WORKERS;
    add_row(
        &mut s,
        scale,
        spec(
            "ours_on",
            "bgtasks",
            format!("{w} workers, default listeners (executed + log events)"),
            Some(n),
            SAVED,
        ),
        || async { Ok(vec![drain::run(StoreKind::Memory, n, ours_on()).await?]) },
    )
    .await;
    add_row(
        &mut s,
        scale,
        spec(
            "ours_off",
            "bgtasks",
            format!("{w} workers, listeners off"),
            Some(n),
            REPORTED,
        ),
        || async { Ok(vec![drain::run(StoreKind::Memory, n, ours_off()).await?]) },
    )
    .await;
    add_row(
        &mut s,
        scale,
        spec(
            "apalis_inline",
            "apalis 1.0 MemoryStorage",
            format!("concurrency {w}, inline (no spawn per job)"),
            Some(n),
            HANDLER,
        ),
        || async {
            Ok(vec![
                apalis_memory::drain(n, apalis_memory::Mode::Inline).await?,
            ])
        },
    )
    .await;
    add_row(
        &mut s,
        scale,
        spec(
            "apalis_spawn",
            "apalis 1.0 MemoryStorage",
            format!("concurrency {w}, spawning (`.parallelize(tokio::spawn)`)"),
            Some(n),
            HANDLER,
        ),
        || async {
            Ok(vec![
                apalis_memory::drain(n, apalis_memory::Mode::Spawning).await?,
            ])
        },
    )
    .await;
    add_row(
        &mut s,
        scale,
        spec(
            "floor",
            "floor: raw tokio",
            format!("spawn + await through a semaphore of {w} permits"),
            Some(n),
            "last task awaited",
        ),
        || async { Ok(vec![tokio_spawn::drain(n).await?]) },
    )
    .await;
    for ours in ["ours_on", "ours_off"] {
        for other in ["apalis_inline", "apalis_spawn", "floor"] {
            s.ratios.push((ours, other));
        }
    }
    s
}

/// Our four rows of a durable drain on `kind`: default listeners with the default
/// prefetch and with the tuned one, listeners off, and a job type that opts out. `setup` ends each row's setup.
async fn add_our_rows(s: &mut Section, scale: &Scale, kind: StoreKind, setup: &str) {
    let n = scale.drain_sql;
    let w = WORKERS;
    add_row(
        s,
        scale,
        spec(
            "ours_on",
            "bgtasks",
            format!("{w} workers, default listeners, default (adaptive) prefetch{setup}"),
            Some(n),
            SAVED,
        ),
        || async { Ok(vec![drain::run(kind, n, ours_on()).await?]) },
    )
    .await;
    add_row(
        s,
        scale,
        spec(
            "ours_tuned",
            "bgtasks",
            format!("{w} workers, default listeners, prefetch {TUNED_PREFETCH}{setup}"),
            Some(n),
            SAVED,
        ),
        || async { Ok(vec![drain::run(kind, n, ours_tuned()).await?]) },
    )
    .await;
    add_row(
        s,
        scale,
        spec(
            "ours_off",
            "bgtasks",
            format!("{w} workers, listeners off, default prefetch{setup}"),
            Some(n),
            REPORTED,
        ),
        || async { Ok(vec![drain::run(kind, n, ours_off()).await?]) },
    )
    .await;
    add_row(
        s,
        scale,
        spec(
            "ours_opted_out",
            "bgtasks",
            format!(
                "{w} workers, default listeners, job type opted out of state handling and \
                 logging, default prefetch{setup}"
            ),
            Some(n),
            REPORTED,
        ),
        || async { Ok(vec![drain::run(kind, n, ours_opted_out()).await?]) },
    )
    .await;
}

/// Drain on SQLite.
pub(crate) async fn sqlite(scale: &Scale) -> Section {
    let n = scale.drain_sql;
    let na = scale.drain_apalis_sql;
    let w = WORKERS;
    let c = FLOOR_CONNECTIONS;
    let mut s = drain_section("Drain, SQLite (WAL, synchronous FULL)");
    add_our_rows(&mut s, scale, StoreKind::Sqlite, "").await;
    add_row(
        &mut s,
        scale,
        spec(
            "apalis",
            "apalis 1.0 + apalis-sqlite",
            format!("concurrency {w}, inline, default config (batch 10)"),
            Some(na),
            STORE_DONE,
        ),
        || async { Ok(vec![apalis_sqlite::drain(na).await?]) },
    )
    .await;
    add_row(
        &mut s,
        scale,
        spec(
            "floor_1",
            "floor: raw SQL",
            format!("claim + complete, batch 1, {c} connections"),
            Some(n),
            FLOOR,
        ),
        || async { Ok(vec![sql_sqlite::drain(n, 1).await?]) },
    )
    .await;
    add_row(
        &mut s,
        scale,
        spec(
            "floor_100",
            "floor: raw SQL",
            format!("claim + complete, batch 100, {c} connections"),
            Some(n),
            FLOOR,
        ),
        || async { Ok(vec![sql_sqlite::drain(n, 100).await?]) },
    )
    .await;
    for ours in ["ours_on", "ours_tuned", "ours_off"] {
        for other in ["apalis", "floor_1", "floor_100"] {
            s.ratios.push((ours, other));
        }
    }
    s
}

/// Drain on PostgreSQL.
pub(crate) async fn postgres(scale: &Scale) -> Section {
    let n = scale.drain_sql;
    let na = scale.drain_apalis_sql;
    let ng = scale.drain_graphile_default;
    let w = WORKERS;
    let c = FLOOR_CONNECTIONS;
    let mut s = drain_section("Drain, PostgreSQL (fsync on)");
    add_our_rows(&mut s, scale, StoreKind::Postgres, ", pool 8").await;
    let tuned = format!(
        "concurrency {w}, tuned: local queue {}, poll {} ms, completions batched every {} ms; spawns per job",
        graphile::TUNED_LOCAL_QUEUE,
        graphile::TUNED_POLL.as_millis(),
        graphile::TUNED_COMPLETION_DELAY.as_millis()
    );
    add_row(
        &mut s,
        scale,
        spec(
            "graphile_tuned",
            "graphile_worker 0.14",
            tuned,
            Some(n),
            TABLE_EMPTY,
        ),
        || async { Ok(vec![graphile::drain(n, graphile::Mode::Tuned).await?]) },
    )
    .await;
    add_row(
        &mut s,
        scale,
        spec(
            "graphile_default",
            "graphile_worker 0.14",
            format!("concurrency {w}, default options (poll 1 s, no local queue); spawns per job"),
            Some(ng),
            TABLE_EMPTY,
        ),
        || async { Ok(vec![graphile::drain(ng, graphile::Mode::Default).await?]) },
    )
    .await;
    add_row(
        &mut s,
        scale,
        spec(
            "apalis",
            "apalis 1.0 + apalis-postgres",
            format!("concurrency {w}, inline, default config (batch 10)"),
            Some(na),
            STORE_DONE,
        ),
        || async { Ok(vec![apalis_postgres::drain(na).await?]) },
    )
    .await;
    add_row(
        &mut s,
        scale,
        spec(
            "floor_1",
            "floor: raw SQL",
            format!("claim (SKIP LOCKED) + complete, batch 1, {c} connections"),
            Some(n),
            FLOOR,
        ),
        || async { Ok(vec![sql_postgres::drain(n, 1).await?]) },
    )
    .await;
    add_row(
        &mut s,
        scale,
        spec(
            "floor_100",
            "floor: raw SQL",
            format!("claim (SKIP LOCKED) + complete, batch 100, {c} connections"),
            Some(n),
            FLOOR,
        ),
        || async { Ok(vec![sql_postgres::drain(n, 100).await?]) },
    )
    .await;
    for ours in ["ours_on", "ours_tuned", "ours_off"] {
        for other in [
            "graphile_tuned",
            "graphile_default",
            "apalis",
            "floor_1",
            "floor_100",
        ] {
            s.ratios.push((ours, other));
        }
    }
    s
}
