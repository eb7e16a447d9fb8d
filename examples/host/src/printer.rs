//! Prints each run as it happens.

use bgtasks::RunReport;
use bgtasks::chrono::{DateTime, Utc};

/// One line for a run: outcome, failure type, tries, next run, priority and status.
pub(crate) fn describe(report: &RunReport, started: DateTime<Utc>) -> String {
    let at = (report.run_time - started).num_milliseconds() as f64 / 1000.0;
    let outcome = match (&report.interruption, &report.error) {
        (Some(why), _) => format!("interrupted ({why:?})"),
        (None, Some(error)) => format!(
            "FAILED [{}] {}",
            report
                .exception_type
                .map(|t| t.name())
                .unwrap_or_else(|| "?".into()),
            error.innermost_message()
        ),
        (None, None) => "ok".to_owned(),
    };
    let state = match &report.job {
        Some(job) => {
            let next = match job.next_run_time {
                Some(next) => format!(
                    "next in {:.0}s",
                    (next - report.run_time).num_milliseconds() as f64 / 1000.0
                ),
                None => "no next run".to_owned(),
            };
            let cadence = match (&job.kind, &job.cron) {
                (bgtasks::JobKind::Period, Some(cron)) => format!("cron {cron}"),
                _ => format!("interval {}s", job.interval),
            };
            format!(
                "tries {}/{} | {} | {} | priority {} | status {}{}",
                job.try_count,
                job.max_try_count,
                cadence,
                next,
                job.priority,
                job.status,
                if job.is_abandoned { " (abandoned)" } else { "" }
            )
        }
        None => "state not saved".to_owned(),
    };
    format!(
        "[+{at:5.1}s] {:<13} {:<58} {state}",
        report.job_id,
        truncate(&outcome, 58)
    )
}

fn truncate(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        text.to_owned()
    } else {
        let cut: String = text.chars().take(max - 1).collect();
        format!("{cut}…")
    }
}
