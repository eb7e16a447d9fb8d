//! The schema: embedded migrations, applied at start-up, and the version check that keeps
//! an old build off a database a newer build has upgraded.

use bgtasks_store::StoreError;
use sqlx::migrate::{MigrateError, Migration, MigrationType, Migrator};
use sqlx::{AssertSqlSafe, Connection, PgConnection, SqlSafeStr};

use crate::errors::store_error;

/// The schema version this build writes and understands. A database at a newer version
/// (upgraded by a newer build) is refused at start-up; an older one is migrated.
///
/// Version 2 (the `bgtasks-store` contract) added the definition revision, the interrupt
/// and trigger flags of a running job, the store-wide lease token sequence and the node
/// registry. Version 3 moved each job's actions into its row (dropping
/// `bgtasks_job_actions`), added time limits, attempts and rescues to the jobs, failure
/// types to the run logs, and the notification outbox (`bgtasks_notifications`).
pub const SCHEMA_VERSION: i32 = 3;

/// The table sqlx records applied migrations in: our own, so that an application's
/// migrations in the same schema do not collide with ours.
const MIGRATIONS_TABLE: &str = "bgtasks_migrations";

/// The embedded migrations, one per file of `migrations/`, in version order.
const MIGRATIONS: &[(i64, &str, &str)] = &[
    (1, "initial", include_str!("../migrations/0001_initial.sql")),
    (
        2,
        "store contract",
        include_str!("../migrations/0002_store_contract.sql"),
    ),
    (
        3,
        "outbox and robustness",
        include_str!("../migrations/0003_outbox_and_robustness.sql"),
    ),
];

fn migrator() -> Migrator {
    let migrations = MIGRATIONS
        .iter()
        .map(|(version, description, sql)| {
            Migration::new(
                *version,
                (*description).into(),
                MigrationType::Simple,
                sql.into_sql_str(),
                false,
            )
        })
        .collect();
    let mut migrator = Migrator::with_migrations(migrations);
    migrator.dangerous_set_table_name(MIGRATIONS_TABLE);
    migrator
}

/// Brings the schema `schema` to [`SCHEMA_VERSION`] on `conn` (whose `search_path` is
/// already `schema`), or checks that it is there when `migrate` is off.
pub(crate) async fn prepare(
    conn: &mut PgConnection,
    server: &str,
    schema: &str,
    migrate: bool,
) -> Result<(), StoreError> {
    let found = stored_version(conn, server).await?;
    if let Some(version) = found
        && version > SCHEMA_VERSION
    {
        return Err(StoreError::other(format!(
            "the bgtasks schema in PostgreSQL at {server} (schema `{schema}`) is at version \
             {version}, newer than this build of bgtasks-postgres knows (version \
             {SCHEMA_VERSION}); upgrade bgtasks-postgres on this node"
        )));
    }
    if !migrate {
        return match found {
            Some(SCHEMA_VERSION) => Ok(()),
            Some(version) => Err(StoreError::other(format!(
                "the bgtasks schema in PostgreSQL at {server} (schema `{schema}`) is at \
                 version {version}, older than this build needs (version {SCHEMA_VERSION}), \
                 and migrations are off"
            ))),
            None => Err(StoreError::other(format!(
                "PostgreSQL at {server} has no bgtasks schema in schema `{schema}`, and \
                 migrations are off"
            ))),
        };
    }
    if schema != crate::options::DEFAULT_SCHEMA {
        // `schema` is a plain identifier (checked with the options).
        sqlx::query(AssertSqlSafe(format!(
            "CREATE SCHEMA IF NOT EXISTS {schema}"
        )))
        .execute(&mut *conn)
        .await
        .map_err(|e| store_error(server, &format!("create schema `{schema}`"), e))?;
    }
    // `run_direct` is sqlx's way around `run(&mut conn)` futures that the compiler cannot
    // prove `Send` ("implementation of `Acquire` is not general enough").
    let migrated = migrator().run_direct(None, &mut *conn, false).await;
    migrated.map_err(|e| match e {
        MigrateError::Execute(e) | MigrateError::ExecuteMigration(e, _) => {
            store_error(server, "apply the bgtasks migrations", e)
        }
        other => StoreError::Other {
            message: format!("PostgreSQL at {server}: the bgtasks migrations failed: {other}"),
            source: Some(Box::new(other)),
        },
    })?;
    Ok(())
}

/// The version recorded in the schema's version table, if the table exists.
async fn stored_version(conn: &mut PgConnection, server: &str) -> Result<Option<i32>, StoreError> {
    let exists: bool = sqlx::query_scalar("SELECT to_regclass('bgtasks_schema') IS NOT NULL")
        .fetch_one(&mut *conn)
        .await
        .map_err(|e| store_error(server, "read the schema version", e))?;
    if !exists {
        return Ok(None);
    }
    sqlx::query_scalar("SELECT max(version) FROM bgtasks_schema")
        .fetch_one(&mut *conn)
        .await
        .map_err(|e| store_error(server, "read the schema version", e))
}

/// Closes the set-up connection, ignoring a failure (it is closed either way).
pub(crate) async fn close(conn: PgConnection) {
    if let Err(error) = conn.close().await {
        tracing::debug!(%error, "closing the set-up connection failed");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_migration_file_is_embedded_and_the_version_is_the_last() {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/migrations");
        let mut files: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|name| name.ends_with(".sql"))
            .collect();
        files.sort();
        assert_eq!(files.len(), MIGRATIONS.len(), "{files:?}");
        for (file, (version, _, _)) in files.iter().zip(MIGRATIONS) {
            let number: i64 = file.split('_').next().unwrap().parse().unwrap();
            assert_eq!(number, *version, "{file}");
        }
        assert_eq!(
            MIGRATIONS.last().map(|m| m.0),
            Some(i64::from(SCHEMA_VERSION))
        );
        let last = MIGRATIONS.last().unwrap().2;
        assert!(
            last.contains(&format!("version) VALUES ({SCHEMA_VERSION})"))
                || last.contains(&format!("SET version = {SCHEMA_VERSION}")),
            "the last migration records the schema version"
        );
    }
}
