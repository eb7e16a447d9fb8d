//! A raw view of the jobs table, for checks no API offers.

use sqlx::{PgPool, SqlitePool};

use crate::harness::{Context, Res, StoreKind, ensure};

/// A job's row as the suite reads it directly.
#[derive(Debug, Clone)]
pub(crate) struct JobState {
    pub(crate) id: String,
    pub(crate) status: i64,
    pub(crate) trigger_count: i64,
    pub(crate) try_count: i64,
    pub(crate) leased: bool,
}

/// A direct connection to the jobs table, for checks no API offers (is a lease still
/// held?) and for counting ten thousand rows at once.
pub(crate) enum RawDb {
    Sqlite(SqlitePool),
    Postgres(PgPool),
}

impl RawDb {
    pub(crate) async fn connect(kind: StoreKind, url: &str) -> Res<Self> {
        Ok(match kind {
            StoreKind::Sqlite => RawDb::Sqlite(
                sqlx::sqlite::SqlitePoolOptions::new()
                    .max_connections(1)
                    .connect(url)
                    .await
                    .ctx("open the SQLite file directly")?,
            ),
            StoreKind::Postgres => RawDb::Postgres(
                sqlx::postgres::PgPoolOptions::new()
                    .max_connections(2)
                    .connect(url)
                    .await
                    .ctx("connect to the database directly")?,
            ),
        })
    }

    /// Every job whose id starts with `prefix` (letters, digits and dashes only).
    pub(crate) async fn states(&self, prefix: &str) -> Res<Vec<JobState>> {
        ensure!(
            prefix
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-'),
            "bad prefix {prefix}"
        );
        let sql = format!(
            "SELECT id, CAST(status AS BIGINT), CAST(trigger_count AS BIGINT), \
             CAST(try_count AS BIGINT), CAST(CASE WHEN lease_node IS NULL THEN 0 ELSE 1 END AS BIGINT) \
             FROM bgtasks_jobs WHERE id LIKE '{prefix}%'"
        );
        let rows: Vec<(String, i64, i64, i64, i64)> = match self {
            RawDb::Sqlite(pool) => sqlx::query_as(sqlx::AssertSqlSafe(sql))
                .fetch_all(pool)
                .await
                .ctx("read the jobs table")?,
            RawDb::Postgres(pool) => sqlx::query_as(sqlx::AssertSqlSafe(sql))
                .fetch_all(pool)
                .await
                .ctx("read the jobs table")?,
        };
        Ok(rows
            .into_iter()
            .map(|(id, status, trigger_count, try_count, leased)| JobState {
                id,
                status,
                trigger_count,
                try_count,
                leased: leased != 0,
            })
            .collect())
    }

    /// The ids of the jobs whose id starts with `prefix` and whose lease `node` holds.
    pub(crate) async fn leased_to(&self, prefix: &str, node: &str) -> Res<Vec<String>> {
        ensure!(
            prefix
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-'),
            "bad prefix {prefix}"
        );
        let pattern = format!("{prefix}%");
        let mut ids: Vec<String> = match self {
            RawDb::Sqlite(pool) => sqlx::query_scalar(
                "SELECT id FROM bgtasks_jobs WHERE id LIKE ?1 AND lease_node = ?2",
            )
            .bind(pattern)
            .bind(node.to_owned())
            .fetch_all(pool)
            .await
            .ctx("read the leases")?,
            RawDb::Postgres(pool) => sqlx::query_scalar(
                "SELECT id FROM bgtasks_jobs WHERE id LIKE $1 AND lease_node = $2",
            )
            .bind(pattern)
            .bind(node.to_owned())
            .fetch_all(pool)
            .await
            .ctx("read the leases")?,
        };
        ids.sort();
        Ok(ids)
    }

    /// The run-log table of this store.
    pub(crate) fn logs_table(&self) -> &'static str {
        match self {
            RawDb::Sqlite(_) => "bgtasks_job_logs",
            RawDb::Postgres(_) => "bgtasks_logs",
        }
    }

    /// Runs one statement of a scenario's own (a row written straight into the table);
    /// how many rows it touched.
    pub(crate) async fn execute(&self, sql: &str) -> Res<u64> {
        let sql = sqlx::AssertSqlSafe(sql.to_owned());
        match self {
            RawDb::Sqlite(pool) => sqlx::query(sql)
                .execute(pool)
                .await
                .map(|d| d.rows_affected()),
            RawDb::Postgres(pool) => sqlx::query(sql)
                .execute(pool)
                .await
                .map(|d| d.rows_affected()),
        }
        .ctx("run a statement on the database")
    }

    /// The number a query of one row and one `BIGINT` column answers (a count).
    pub(crate) async fn number(&self, sql: &str) -> Res<i64> {
        let sql = sqlx::AssertSqlSafe(sql.to_owned());
        match self {
            RawDb::Sqlite(pool) => sqlx::query_scalar(sql).fetch_one(pool).await,
            RawDb::Postgres(pool) => sqlx::query_scalar(sql).fetch_one(pool).await,
        }
        .ctx("read a number from the database")
    }

    /// The rows of a query of three columns: a text, a `BIGINT` and a nullable text.
    pub(crate) async fn text_rows(&self, sql: &str) -> Res<Vec<(String, i64, Option<String>)>> {
        let sql = sqlx::AssertSqlSafe(sql.to_owned());
        match self {
            RawDb::Sqlite(pool) => sqlx::query_as(sql).fetch_all(pool).await,
            RawDb::Postgres(pool) => sqlx::query_as(sql).fetch_all(pool).await,
        }
        .ctx("read rows from the database")
    }

    pub(crate) async fn close(&self) {
        match self {
            RawDb::Sqlite(pool) => pool.close().await,
            RawDb::Postgres(pool) => pool.close().await,
        }
    }
}
