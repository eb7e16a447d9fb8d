//! The schema: embedded migrations, applied at start-up in one write transaction, and the
//! checks that refuse a file that is not ours or is newer than this build.
//!
//! The version lives in `bgtasks_schema (version INTEGER)`. The migrations are run by
//! this module rather than by sqlx's migrator: its lock is a no-op on SQLite, so two
//! processes opening a new file at once could both apply a migration; here the check and
//! the migrations run inside one `BEGIN IMMEDIATE` transaction, so they take turns.

use std::time::{Duration, Instant};

use bgtasks_store::StoreError;
use sqlx::{Connection, SqliteConnection};

use crate::errors::{is_busy, open_error, other};

/// One embedded migration: the version it brings the schema to, and its SQL.
struct Migration {
    version: i64,
    sql: &'static str,
}

/// Every migration, oldest first.
const MIGRATIONS: &[Migration] = &[
    Migration {
        version: 1,
        sql: include_str!("../migrations/0001_jobs_logs_actions_locks.sql"),
    },
    Migration {
        version: 2,
        sql: include_str!("../migrations/0002_revision_interrupts_tokens_nodes.sql"),
    },
    Migration {
        version: 3,
        sql: include_str!("../migrations/0003_actions_attempts_outbox.sql"),
    },
];

/// The schema version this build writes and understands: 3 (the `bgtasks-store`
/// contract v3: revisions, interruptions and triggers of runs in flight, store-wide lease
/// tokens, nodes; actions and time limits stored with their jobs, attempts and rescues
/// counted, failure types of run logs, the notification outbox).
pub const SCHEMA_VERSION: i64 = 3;

/// Checks that the database `db` is empty or ours (or, with `application_tables`, holds
/// an application's tables) and not newer than this build, then applies the missing
/// migrations, all in one write transaction.
pub(crate) async fn prepare(
    conn: &mut SqliteConnection,
    db: &str,
    application_tables: bool,
) -> Result<(), StoreError> {
    let mut tx = conn
        .begin_with("BEGIN IMMEDIATE")
        .await
        .map_err(|e| open_error(db, e))?;
    let tables: Vec<String> = sqlx::query_scalar(
        "SELECT name FROM sqlite_schema WHERE type = 'table' AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\' ORDER BY name",
    )
    .fetch_all(&mut *tx)
    .await
    .map_err(|e| open_error(db, e))?;
    let found = if tables.iter().any(|t| t == "bgtasks_schema") {
        sqlx::query_scalar::<_, Option<i64>>("SELECT MAX(version) FROM bgtasks_schema")
            .fetch_one(&mut *tx)
            .await
            .map_err(|e| open_error(db, e))?
            .unwrap_or(0)
    } else if tables.is_empty() || application_tables {
        0
    } else {
        return Err(other(format!(
            "`{db}` is a SQLite database of something else (it has tables ({}) but no \
             `bgtasks_schema`); refusing to add bgtasks tables to it: use a file of its own, \
             or set `SqliteStoreOptions::application_tables` to keep the jobs beside your \
             tables",
            list(&tables)
        )));
    };
    if found > SCHEMA_VERSION {
        return Err(other(format!(
            "`{db}` has bgtasks schema version {found}, newer than version {SCHEMA_VERSION} that \
             this build knows; run a newer bgtasks on it (refusing to start)"
        )));
    }
    if found < SCHEMA_VERSION {
        sqlx::raw_sql("CREATE TABLE IF NOT EXISTS bgtasks_schema (version INTEGER NOT NULL)")
            .execute(&mut *tx)
            .await
            .map_err(|e| open_error(db, e))?;
        for migration in MIGRATIONS.iter().filter(|m| m.version > found) {
            sqlx::raw_sql(migration.sql)
                .execute(&mut *tx)
                .await
                .map_err(|e| {
                    other(format!(
                        "could not apply migration {} to `{db}`: {e}",
                        migration.version
                    ))
                })?;
        }
        sqlx::query("DELETE FROM bgtasks_schema")
            .execute(&mut *tx)
            .await
            .map_err(|e| open_error(db, e))?;
        sqlx::query("INSERT INTO bgtasks_schema (version) VALUES (?)")
            .bind(SCHEMA_VERSION)
            .execute(&mut *tx)
            .await
            .map_err(|e| open_error(db, e))?;
    }
    tx.commit().await.map_err(|e| open_error(db, e))?;
    if found < SCHEMA_VERSION {
        tracing::info!(
            db,
            from = found,
            to = SCHEMA_VERSION,
            "migrated the job store's schema"
        );
    }
    Ok(())
}

/// Puts the file in WAL mode (persistent in the file, so done once). Switching needs a
/// moment when no other connection is reading; it is retried until `wait` has passed.
pub(crate) async fn use_wal(
    conn: &mut SqliteConnection,
    db: &str,
    wait: Duration,
) -> Result<(), StoreError> {
    let started = Instant::now();
    loop {
        match sqlx::query_scalar::<_, String>("PRAGMA journal_mode = WAL")
            .fetch_one(&mut *conn)
            .await
        {
            Ok(mode) if mode.eq_ignore_ascii_case("wal") => return Ok(()),
            Ok(mode) => {
                return Err(other(format!(
                    "`{db}` cannot use WAL mode (it stays in `{mode}` mode)"
                )));
            }
            Err(e) if is_busy(&e) && started.elapsed() < wait => {
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            Err(e) => return Err(open_error(db, e)),
        }
    }
}

/// The schema version the database holds.
pub(crate) async fn version(conn: &mut SqliteConnection) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar::<_, Option<i64>>("SELECT MAX(version) FROM bgtasks_schema")
        .fetch_one(conn)
        .await
        .map(|v| v.unwrap_or(0))
}

fn list(tables: &[String]) -> String {
    const SHOWN: usize = 5;
    let mut names: Vec<String> = tables
        .iter()
        .take(SHOWN)
        .map(|t| format!("`{t}`"))
        .collect();
    if tables.len() > SHOWN {
        names.push(format!("and {} more", tables.len() - SHOWN));
    }
    names.join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn migrations_lead_one_by_one_to_the_schema_version() {
        let versions: Vec<i64> = MIGRATIONS.iter().map(|m| m.version).collect();
        assert_eq!(versions, (1..=SCHEMA_VERSION).collect::<Vec<_>>());
    }
}
