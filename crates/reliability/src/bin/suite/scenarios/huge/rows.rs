//! Rows poisoned straight in the database, as a bad migration, a hand edit or another
//! program would leave them: each job is queued through the API pinned to a node that does
//! not exist, then one column is overwritten with SQL and the pin lifted, so the worker
//! finds it due. What must happen to each is declared: set aside (Stopped, the reason as
//! its result, an error in the log), skipped (never claimed: not a due status), or run
//! (a value the schedule arithmetic saturates). An innocent job queued after them runs.

use std::time::Duration;

use bgtasks::JobInfo;

use crate::harness::{Env, Res, StoreKind, ensure, wait_for};
use crate::scenarios::record;

/// What the node must do with a poisoned row.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Expect {
    /// Stopped, its result saying why (`set aside: …`), never run.
    SetAside,
    /// Never claimed: left exactly as written.
    Skipped,
    /// Claimed and run: the value is survivable.
    Runs,
}

/// One poisoned row: the job queued first, and the SQL `SET` list for each store.
struct Poison {
    id: &'static str,
    what: &'static str,
    job: JobInfo,
    sqlite: &'static str,
    postgres: &'static str,
    expect: Expect,
}

fn poisons() -> Vec<Poison> {
    let once = |id: &str| record(id, 0);
    vec![
        Poison {
            id: "poison-interval",
            what: "an interval of i64::MAX seconds",
            job: JobInfo::persistent("poison-interval", "record", 60, 0),
            sqlite: "interval_secs = 9223372036854775807",
            postgres: "interval_secs = 9223372036854775807",
            expect: Expect::Runs,
        },
        Poison {
            id: "poison-cron",
            what: "a cron that does not parse",
            job: JobInfo::period("poison-cron", "record", "0/1 * * * * ?"),
            sqlite: "cron = 'every full moon'",
            postgres: "cron = 'every full moon'",
            expect: Expect::SetAside,
        },
        Poison {
            id: "poison-args",
            what: "arguments that are not a JSON object",
            job: once("poison-args"),
            sqlite: "args = '{\"unterminated'",
            postgres: "args = '[1, 2, 3]'::jsonb",
            expect: Expect::SetAside,
        },
        Poison {
            id: "poison-actions",
            what: "actions that are not a list",
            job: once("poison-actions"),
            sqlite: "actions = '[{\"name\": '",
            postgres: "actions = '\"not a list\"'::jsonb",
            expect: Expect::SetAside,
        },
        Poison {
            id: "poison-kind",
            what: "a job kind code that does not exist",
            job: once("poison-kind"),
            sqlite: "kind = 9",
            postgres: "kind = 9",
            expect: Expect::SetAside,
        },
        Poison {
            id: "poison-priority",
            what: "a priority code that does not exist",
            job: once("poison-priority"),
            sqlite: "priority = 99",
            postgres: "priority = 99",
            expect: Expect::SetAside,
        },
        Poison {
            id: "poison-time",
            what: "a next run time before any calendar",
            job: once("poison-time"),
            sqlite: "next_run_time = -9223372036854775808",
            postgres: "next_run_time = '-infinity'",
            expect: Expect::SetAside,
        },
        Poison {
            id: "poison-status",
            what: "a status code that does not exist",
            job: once("poison-status"),
            sqlite: "status = 77",
            postgres: "status = 77",
            expect: Expect::Skipped,
        },
        Poison {
            id: "poison-lock",
            what: "a lock timeout of i64::MAX seconds",
            job: once("poison-lock"),
            sqlite: "lock_timeout = 9223372036854775807",
            postgres: "lock_timeout_secs = 9223372036854775807",
            expect: Expect::Runs,
        },
        Poison {
            id: "poison-limit",
            what: "a time limit of i64::MAX seconds",
            job: once("poison-limit"),
            sqlite: "time_limit = 9223372036854775807",
            postgres: "time_limit_secs = 9223372036854775807",
            expect: Expect::Runs,
        },
        Poison {
            id: "poison-tries",
            what: "try counts of i32::MAX on a failing run",
            job: once("poison-tries").with_arg("fail", true),
            sqlite: "try_count = 2147483647, max_try_count = 2147483647",
            postgres: "try_count = 2147483647, max_try_count = 2147483647",
            expect: Expect::Runs,
        },
    ]
}

/// What became of the poisoned rows.
pub(super) struct Outcome {
    /// How many were set aside.
    pub(super) set_aside: usize,
    /// One line for the scenario's summary.
    pub(super) summary: String,
}

/// Writes the poisoned rows, queues the innocent job, and checks what the node did.
pub(super) async fn poison_and_claim(env: &Env, kind: StoreKind) -> Res<Outcome> {
    let poisons = poisons();
    env.queue(
        poisons
            .iter()
            .map(|p| p.job.clone().with_node("nowhere"))
            .collect(),
    )
    .await?;
    // Due now whatever their kind, so the worker meets them at its next claim.
    let due_now = match kind {
        StoreKind::Sqlite => {
            "next_run_time = CAST(unixepoch('subsec') * 1000000 AS INTEGER) - 1000000"
        }
        StoreKind::Postgres => "next_run_time = now() - interval '1 second'",
    };
    for poison in &poisons {
        let set = match kind {
            StoreKind::Sqlite => poison.sqlite,
            StoreKind::Postgres => poison.postgres,
        };
        let due = if set.contains("next_run_time") {
            String::new()
        } else {
            format!("{due_now}, ")
        };
        let touched = env
            .raw
            .execute(&format!(
                "UPDATE bgtasks_jobs SET {due}{set}, node_name = NULL WHERE id = '{}'",
                poison.id
            ))
            .await
            .map_err(|e| format!("poison {}: {e}", poison.id))?;
        ensure!(touched == 1, "poison {}: {touched} rows updated", poison.id);
    }
    env.queue(vec![record("innocent", 0)]).await?;
    env.wait_completed("innocent", 1, Duration::from_secs(30))
        .await?;

    let rows = wait_for(
        Duration::from_secs(20),
        "every poisoned row to be dealt with",
        || async {
            let rows = env
                .raw
                .text_rows(
                    "SELECT id, CAST(status AS BIGINT), result FROM bgtasks_jobs \
                     WHERE id LIKE 'poison-%' AND lease_node IS NULL",
                )
                .await?;
            let runs = env.runs()?;
            let done = poisons.iter().all(|p| match p.expect {
                Expect::SetAside => rows
                    .iter()
                    .any(|(id, status, _)| id == p.id && *status == 30),
                Expect::Skipped => true,
                Expect::Runs => {
                    runs.iter().any(|r| r.job == p.id && r.finished())
                        && rows.iter().any(|(id, _, _)| id == p.id)
                }
            });
            Ok(done.then_some(rows))
        },
    )
    .await?;
    let runs = env.runs()?;
    let mut counts = [0_usize; 3];
    for poison in &poisons {
        let (_, status, result) = rows
            .iter()
            .find(|(id, _, _)| id == poison.id)
            .ok_or_else(|| format!("poison {}: the row is gone or still leased", poison.id))?;
        let ran = runs.iter().filter(|r| r.job == poison.id).count();
        let result = result.as_deref().unwrap_or_default();
        match poison.expect {
            Expect::SetAside => {
                ensure!(
                    *status == 30 && result.starts_with("set aside") && ran == 0,
                    "poison {} ({}): expected set aside, never run; status {status}, {ran} runs, result {result:?}",
                    poison.id,
                    poison.what
                );
                counts[0] += 1;
            }
            Expect::Skipped => {
                ensure!(
                    *status == 77 && ran == 0,
                    "poison {} ({}): expected to be left alone; status {status}, {ran} runs",
                    poison.id,
                    poison.what
                );
                counts[1] += 1;
            }
            Expect::Runs => {
                ensure!(
                    ran == 1,
                    "poison {} ({}): expected to run once; {ran} runs, status {status}, result {result:?}",
                    poison.id,
                    poison.what
                );
                counts[2] += 1;
            }
        }
    }
    // Nothing poisoned is due again: only the row with the unknown status keeps its time.
    let scheduled = env
        .raw
        .number(
            "SELECT CAST(COUNT(*) AS BIGINT) FROM bgtasks_jobs \
             WHERE id LIKE 'poison-%' AND next_run_time IS NOT NULL",
        )
        .await?;
    ensure!(
        scheduled == 1,
        "{scheduled} poisoned rows are still scheduled; only the skipped one should be"
    );
    Ok(Outcome {
        set_aside: counts[0],
        summary: format!(
            "{} rows poisoned with SQL: {} set aside (Stopped, the reason as result, logged), {} skipped \
             (unknown status, left untouched), {} run once with saturating arithmetic and never scheduled \
             again (interval, lock timeout and time limit of i64::MAX, try counts of i32::MAX)",
            poisons.len(),
            counts[0],
            counts[1],
            counts[2]
        ),
    })
}
