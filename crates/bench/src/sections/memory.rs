//! Resident memory per job, each run in a fresh child process.

use crate::child;
use crate::ours::memory::MemoryCase;
use crate::report::Section;
use crate::scale::Scale;
use crate::sections::{add_row, spec};

async fn measure(case: MemoryCase, n: usize) -> crate::BenchResult<Vec<f64>> {
    let args = vec!["memory".to_owned(), case.name().to_owned(), n.to_string()];
    let values = tokio::task::spawn_blocking(move || child::run(&args)).await??;
    let before = values.get("before").copied().ok_or("no `before`")?;
    let after = values.get("after").copied().ok_or("no `after`")?;
    Ok(vec![
        (after - before) / n as f64,
        before / 1_048_576.0,
        after / 1_048_576.0,
    ])
}

/// The memory section.
pub(crate) async fn section(scale: &Scale) -> Section {
    let mut s = Section::new(
        "Memory, in memory",
        "VmRSS of a fresh process before and after queueing the jobs (10,000 per \
         `queue_many`) on a runtime that is not started; bytes per job = growth ÷ N.",
        vec!["bytes/job", "RSS before MiB", "RSS after MiB"],
        1,
    );
    let pending = scale.memory_pending;
    let scheduled = scale.memory_scheduled;
    add_row(
        &mut s,
        scale,
        spec(
            "pending",
            "bgtasks",
            "pending Once jobs (due now)",
            Some(pending),
            "fresh child process",
        ),
        || measure(MemoryCase::Pending, pending),
    )
    .await;
    add_row(
        &mut s,
        scale,
        spec(
            "scheduled",
            "bgtasks",
            "scheduled: half Period (hourly cron), half Persistent (hourly, first run in an hour)",
            Some(scheduled),
            "fresh child process",
        ),
        || measure(MemoryCase::Scheduled, scheduled),
    )
    .await;
    s
}
