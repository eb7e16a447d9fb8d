//! Cron lateness in memory.

use crate::ours::cron;
use crate::report::Section;
use crate::scale::Scale;
use crate::sections::{add_row, spec};
use crate::stats::Spread;

/// The cron section.
pub(crate) async fn section(scale: &Scale) -> Section {
    let mut s = Section::new(
        "Cron lateness, in memory",
        format!(
            "A Period job on `0/1 * * * * ?`; {} ticks per run. Milliseconds from the whole \
             second the run was due to the first line of the runnable (wall clock).",
            scale.cron_ticks
        ),
        vec!["p50 ms", "p99 ms", "max ms"],
        3,
    );
    add_row(
        &mut s,
        scale,
        spec(
            "ours",
            "bgtasks",
            "in memory, default listeners",
            Some(scale.cron_ticks),
            "tick → runnable start",
        ),
        || async {
            let samples = cron::run(scale).await?;
            let spread = Spread::of(&samples);
            Ok(vec![spread.p50, spread.p99, spread.max])
        },
    )
    .await;
    s
}
