//! Enqueue sections: in memory, SQLite, PostgreSQL. Each system enqueues the same N jobs
//! one per call (one caller, then [`CALLERS`] callers) and in bulk ([`BULK`] per call).

use crate::enqueue::{BULK, CALLERS, Mode};
use crate::ours::{StoreKind, enqueue as ours};
use crate::peers::{apalis_memory, apalis_postgres, apalis_sqlite, graphile};
use crate::progress;
use crate::report::{Section, format_number};
use crate::scale::{EnqueueSizes, Scale};
use crate::sections::{add_row, spec};

const NOTE: &str = "first call → last call returned";

/// A peer of the enqueue sections.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum System {
    Ours,
    Apalis,
    Graphile,
}

/// The row key of `system` in `mode` (targets find rows by it).
pub(crate) fn key(system: &str, mode: Mode) -> &'static str {
    match (system, mode) {
        ("ours", Mode::Single) => "ours_single",
        ("ours", Mode::Concurrent) => "ours_concurrent",
        ("ours", Mode::Bulk) => "ours_bulk",
        ("apalis", Mode::Single) => "apalis_single",
        ("apalis", Mode::Concurrent) => "apalis_concurrent",
        ("apalis", Mode::Bulk) => "apalis_bulk",
        ("graphile", Mode::Single) => "graphile_single",
        ("graphile", Mode::Concurrent) => "graphile_concurrent",
        _ => "graphile_bulk",
    }
}

impl System {
    fn id(self) -> &'static str {
        match self {
            System::Ours => "ours",
            System::Apalis => "apalis",
            System::Graphile => "graphile",
        }
    }

    fn name(self, kind: StoreKind) -> &'static str {
        match (self, kind) {
            (System::Ours, _) => "bgtasks",
            (System::Apalis, StoreKind::Memory) => "apalis 1.0 MemoryStorage",
            (System::Apalis, StoreKind::Sqlite) => "apalis 1.0 + apalis-sqlite",
            (System::Apalis, StoreKind::Postgres) => "apalis 1.0 + apalis-postgres",
            (System::Graphile, _) => "graphile_worker 0.14",
        }
    }

    fn api(self, mode: Mode) -> &'static str {
        match (self, mode) {
            (System::Ours, Mode::Bulk) => "`queue_many` of `runtime.enqueue(value).to_job()`s",
            (System::Ours, _) => "`runtime.enqueue(value).await`",
            (System::Apalis, Mode::Bulk) => "`push_bulk`",
            (System::Apalis, _) => "`push`",
            (System::Graphile, Mode::Bulk) => "`add_jobs`",
            (System::Graphile, _) => "`add_job`",
        }
    }
}

fn n_of(sizes: EnqueueSizes, mode: Mode) -> usize {
    match mode {
        Mode::Single => sizes.single,
        Mode::Concurrent => sizes.concurrent,
        Mode::Bulk => sizes.bulk,
    }
}

async fn measure(system: System, kind: StoreKind, n: usize, mode: Mode) -> crate::BenchResult<f64> {
    match (system, kind) {
        (System::Ours, kind) => ours::run(kind, n, mode).await,
        (System::Apalis, StoreKind::Memory) => apalis_memory::enqueue(n, mode).await,
        (System::Apalis, StoreKind::Sqlite) => apalis_sqlite::enqueue(n, mode).await,
        (System::Apalis, StoreKind::Postgres) => apalis_postgres::enqueue(n, mode).await,
        (System::Graphile, _) => graphile::enqueue(n, mode).await,
    }
}

async fn store_section(scale: &Scale, kind: StoreKind) -> Section {
    let (title, sizes, systems) = match kind {
        StoreKind::Memory => (
            "Enqueue, in memory",
            scale.enqueue_memory,
            &[System::Ours, System::Apalis][..],
        ),
        StoreKind::Sqlite => (
            "Enqueue, SQLite (WAL, synchronous FULL)",
            scale.enqueue_sqlite,
            &[System::Ours, System::Apalis][..],
        ),
        StoreKind::Postgres => (
            "Enqueue, PostgreSQL (fsync on)",
            scale.enqueue_postgres,
            &[System::Ours, System::Graphile, System::Apalis][..],
        ),
    };
    let mut s = Section::new(
        title,
        format!(
            "N jobs enqueued into a fresh store by a producer that runs no worker (bgtasks: a \
             runtime built and not started); jobs per second from the first call until the \
             last returned. One job per call by one caller (each call awaited before the \
             next) and by {CALLERS} callers at once, or {} jobs per call.",
            format_number(BULK as f64, 0)
        ),
        vec!["jobs/s"],
        0,
    );
    for mode in Mode::ALL {
        let n = n_of(sizes, mode);
        for &system in systems {
            let setup = format!("{}; {}", mode.describe(), system.api(mode));
            let row = spec(
                key(system.id(), mode),
                system.name(kind),
                setup,
                Some(n),
                NOTE,
            );
            add_row(&mut s, scale, row, || async move {
                Ok(vec![measure(system, kind, n, mode).await?])
            })
            .await;
        }
        for &peer in systems.iter().filter(|s| **s != System::Ours) {
            s.ratios.push((key("ours", mode), key(peer.id(), mode)));
        }
    }
    s
}

/// The enqueue sections, with their ids: `enqueue-memory`, `enqueue-sqlite`,
/// `enqueue-postgres`.
pub(crate) async fn sections(scale: &Scale) -> Vec<(&'static str, Section)> {
    let mut out = Vec::new();
    for (id, kind) in [
        ("enqueue-memory", StoreKind::Memory),
        ("enqueue-sqlite", StoreKind::Sqlite),
        ("enqueue-postgres", StoreKind::Postgres),
    ] {
        progress::step(id);
        out.push((id, store_section(scale, kind).await));
    }
    out
}
