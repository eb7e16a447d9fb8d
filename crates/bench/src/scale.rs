//! How big each workload is: the full run, or the quick smoke run for CI.

use std::time::Duration;

/// Workers (or permits, or concurrency) every system gets.
pub(crate) const WORKERS: usize = 16;
/// Concurrent claim loops (one connection each) of the raw SQL floors.
pub(crate) const FLOOR_CONNECTIONS: usize = 4;

/// The sizes of one benchmark run.
#[derive(Debug, Clone)]
pub(crate) struct Scale {
    /// Runs per figure (the median is reported).
    pub(crate) runs: usize,
    /// Drain size in memory.
    pub(crate) drain_memory: usize,
    /// Drain size on SQLite and PostgreSQL.
    pub(crate) drain_sql: usize,
    /// Drain size of apalis's SQL backends (they slow down as their backlog grows).
    pub(crate) drain_apalis_sql: usize,
    /// Drain size of graphile_worker in its default mode (about concurrency jobs per
    /// poll second).
    pub(crate) drain_graphile_default: usize,
    /// Jobs per latency run.
    pub(crate) latency_jobs: usize,
    /// The most a latency run may take before it stops with the samples it has.
    pub(crate) latency_budget: Duration,
    /// Cron ticks observed per run.
    pub(crate) cron_ticks: usize,
    /// Pending in-memory jobs of the memory workload.
    pub(crate) memory_pending: usize,
    /// Scheduled Period/Persistent jobs of the memory workload.
    pub(crate) memory_scheduled: usize,
    /// Jobs due in an hour of the idle workload.
    pub(crate) idle_jobs: usize,
    /// How long the idle workload watches the CPU.
    pub(crate) idle_window: Duration,
    /// Jobs per enqueue run in memory.
    pub(crate) enqueue_memory: EnqueueSizes,
    /// Jobs per enqueue run on SQLite.
    pub(crate) enqueue_sqlite: EnqueueSizes,
    /// Jobs per enqueue run on PostgreSQL.
    pub(crate) enqueue_postgres: EnqueueSizes,
    /// The large drain of the scale section (PostgreSQL), compared with `drain_sql`.
    pub(crate) scale_large: usize,
    /// Jobs run through the store by the churn of the scale section.
    pub(crate) scale_churn: usize,
    /// Jobs kept waiting while the churn runs (the producer tops the queue up to this).
    pub(crate) scale_backlog: usize,
    /// Jobs drained by 1, 2 and 4 processes together.
    pub(crate) scale_processes: usize,
}

/// Jobs per enqueue run, by how they are enqueued.
#[derive(Debug, Clone, Copy)]
pub(crate) struct EnqueueSizes {
    /// One job per call, one caller.
    pub(crate) single: usize,
    /// One job per call, [`CALLERS`](crate::enqueue::CALLERS) callers at once.
    pub(crate) concurrent: usize,
    /// [`BULK`](crate::enqueue::BULK) jobs per call, one caller.
    pub(crate) bulk: usize,
}

impl Scale {
    /// The full benchmark.
    pub(crate) fn full() -> Self {
        Self {
            runs: 3,
            drain_memory: 100_000,
            drain_sql: 20_000,
            drain_apalis_sql: 5_000,
            drain_graphile_default: 320,
            latency_jobs: 1_000,
            latency_budget: Duration::from_secs(180),
            cron_ticks: 20,
            memory_pending: 1_000_000,
            memory_scheduled: 100_000,
            idle_jobs: 1_000,
            idle_window: Duration::from_secs(10),
            enqueue_memory: EnqueueSizes {
                single: 100_000,
                concurrent: 100_000,
                bulk: 100_000,
            },
            enqueue_sqlite: EnqueueSizes {
                single: 2_000,
                concurrent: 4_000,
                bulk: 50_000,
            },
            enqueue_postgres: EnqueueSizes {
                single: 5_000,
                concurrent: 20_000,
                bulk: 100_000,
            },
            scale_large: 1_000_000,
            scale_churn: 1_000_000,
            scale_backlog: 20_000,
            scale_processes: 40_000,
        }
    }

    /// The smoke run: every workload once, small.
    pub(crate) fn quick() -> Self {
        Self {
            runs: 1,
            drain_memory: 5_000,
            drain_sql: 500,
            drain_apalis_sql: 100,
            drain_graphile_default: 32,
            latency_jobs: 30,
            latency_budget: Duration::from_secs(40),
            cron_ticks: 2,
            memory_pending: 20_000,
            memory_scheduled: 5_000,
            idle_jobs: 1_000,
            idle_window: Duration::from_secs(1),
            enqueue_memory: EnqueueSizes {
                single: 2_000,
                concurrent: 2_000,
                bulk: 2_000,
            },
            enqueue_sqlite: EnqueueSizes {
                single: 100,
                concurrent: 160,
                bulk: 2_000,
            },
            enqueue_postgres: EnqueueSizes {
                single: 100,
                concurrent: 160,
                bulk: 2_000,
            },
            scale_large: 2_000,
            scale_churn: 2_000,
            scale_backlog: 200,
            scale_processes: 600,
        }
    }
}
