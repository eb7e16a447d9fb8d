//! Scale sections, PostgreSQL: a large drain against the usual one, the table size
//! through a long churn, and several processes draining one database.

use crate::ours::drain::{self, DrainSetup};
use crate::ours::{StoreKind, churn, processes};
use crate::progress;
use crate::report::{Section, format_number};
use crate::scale::{Scale, WORKERS};
use crate::sections::{add_row, spec};

const SAVED: &str = "last run finished and its state saved (none in flight)";

/// The processes of the processes section.
pub(crate) const PROCESSES: [usize; 3] = [1, 2, 4];

/// The row key of `p` processes.
pub(crate) fn processes_key(p: usize) -> &'static str {
    match p {
        1 => "processes_1",
        2 => "processes_2",
        _ => "processes_4",
    }
}

const DEFAULTS: DrainSetup = DrainSetup {
    listeners: true,
    prefetch: None,
    opted_out: false,
};

async fn drains(scale: &Scale) -> Section {
    let mut s = Section::new(
        "Scale: drain, PostgreSQL (fsync on)",
        "As the PostgreSQL drain above, at default options, with the usual N and with a \
         large one (one run: filling the store takes most of a minute).",
        vec!["jobs/s"],
        0,
    );
    let w = WORKERS;
    let n = scale.drain_sql;
    progress::step("scale-drain");
    add_row(
        &mut s,
        scale,
        spec(
            "base",
            "bgtasks",
            format!("{w} workers, default options, usual N"),
            Some(n),
            SAVED,
        ),
        || async { Ok(vec![drain::run(StoreKind::Postgres, n, DEFAULTS).await?]) },
    )
    .await;
    progress::step("scale-large");
    let large = scale.scale_large;
    let once = Scale {
        runs: 1,
        ..scale.clone()
    };
    add_row(
        &mut s,
        &once,
        spec(
            "large",
            "bgtasks",
            format!("{w} workers, default options, large N"),
            Some(large),
            SAVED,
        ),
        || async {
            Ok(vec![
                drain::run(StoreKind::Postgres, large, DEFAULTS).await?,
            ])
        },
    )
    .await;
    s.ratios.push(("large", "base"));
    s
}

async fn churn(scale: &Scale) -> Section {
    let total = scale.scale_churn;
    let backlog = scale.scale_backlog;
    let waiting = format_number(backlog as f64, 0);
    let mut s = Section::new(
        "Scale: table size through a churn, PostgreSQL",
        format!(
            "A runtime at default options ({WORKERS} workers, default retention) runs N jobs \
             while the producer keeps {waiting} waiting (`queue_many` of 1,000). Size of \
             bgtasks' tables with their indexes and TOAST (`pg_total_relation_size`) once the \
             first {waiting} are queued, and after the last ran and the runtime's connections \
             closed; live and dead rows from `pg_stat_user_tables` then. One run."
        ),
        vec![
            "MiB at start",
            "MiB after",
            "after ÷ start",
            "live rows after (thousands)",
            "dead rows after (thousands)",
            "jobs/s",
        ],
        1,
    );
    progress::step("scale-churn");
    let once = Scale {
        runs: 1,
        ..scale.clone()
    };
    add_row(
        &mut s,
        &once,
        spec(
            "churn",
            "bgtasks",
            "default options and retention",
            Some(total),
            "after: every run saved, connections closed",
        ),
        || async {
            let c = churn::run(total, backlog).await?;
            Ok(vec![
                c.bytes_before / 1_048_576.0,
                c.bytes_after / 1_048_576.0,
                c.bytes_after / c.bytes_before,
                c.live_after / 1e3,
                c.dead_after / 1e3,
                c.jobs_per_second,
            ])
        },
    )
    .await;
    s
}

async fn several(scale: &Scale) -> Section {
    let n = scale.scale_processes;
    let mut s = Section::new(
        "Scale: processes on one database, PostgreSQL",
        format!(
            "N jobs queued, then 1, 2 or 4 processes (this binary again), each a runtime at \
             default options ({WORKERS} workers, pool 8, its own node name), told to start at \
             once; total jobs per second until the last process found nothing due and none \
             of its runs in flight."
        ),
        vec!["jobs/s"],
        0,
    );
    progress::step("scale-processes");
    for p in PROCESSES {
        let setup = if p == 1 {
            "1 process".to_owned()
        } else {
            format!("{p} processes")
        };
        add_row(
            &mut s,
            scale,
            spec(
                processes_key(p),
                "bgtasks",
                setup,
                Some(n),
                "every process drained",
            ),
            || async move { Ok(vec![processes::run(n, p).await?]) },
        )
        .await;
    }
    s.ratios.push((processes_key(2), processes_key(1)));
    s.ratios.push((processes_key(4), processes_key(1)));
    s
}

/// The scale sections, with their ids: `scale-drain`, `scale-churn`,
/// `scale-processes`.
pub(crate) async fn sections(scale: &Scale) -> Vec<(&'static str, Section)> {
    vec![
        ("scale-drain", drains(scale).await),
        ("scale-churn", churn(scale).await),
        ("scale-processes", several(scale).await),
    ]
}
