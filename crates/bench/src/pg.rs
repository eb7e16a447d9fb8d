//! Throwaway databases on the benchmark's PostgreSQL server: one fresh database per run.

use std::sync::atomic::{AtomicUsize, Ordering};

use sqlx::postgres::PgConnection;
use sqlx::{AssertSqlSafe, Connection};

use crate::BenchResult;

static NEXT: AtomicUsize = AtomicUsize::new(0);

/// The server the benchmark uses, from `BGTASKS_BENCH_POSTGRES_URL` or
/// `BGTASKS_TEST_POSTGRES_URL` (a superuser URL; `scripts/bench.sh` starts one).
pub(crate) fn server_url() -> BenchResult<String> {
    std::env::var("BGTASKS_BENCH_POSTGRES_URL")
        .or_else(|_| std::env::var("BGTASKS_TEST_POSTGRES_URL"))
        .map_err(|_| {
            "set BGTASKS_BENCH_POSTGRES_URL (or run scripts/bench.sh, which starts a throwaway \
             PostgreSQL)"
                .into()
        })
}

/// A fresh, empty database; dropped (with its connections) when the guard is dropped
/// through [`FreshDatabase::drop_now`].
#[derive(Debug)]
pub(crate) struct FreshDatabase {
    admin: String,
    name: String,
    /// The URL of the new database.
    pub(crate) url: String,
}

impl FreshDatabase {
    /// Creates a database named after `label`.
    pub(crate) async fn create(label: &str) -> BenchResult<Self> {
        let admin = server_url()?;
        let name = format!(
            "bench_{}_{}_{}",
            label,
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        );
        let mut conn = PgConnection::connect(&admin).await?;
        sqlx::query(AssertSqlSafe(format!(
            "DROP DATABASE IF EXISTS {name} WITH (FORCE)"
        )))
        .execute(&mut conn)
        .await?;
        sqlx::query(AssertSqlSafe(format!("CREATE DATABASE {name}")))
            .execute(&mut conn)
            .await?;
        conn.close().await?;
        let url = with_database(&admin, &name);
        Ok(Self { admin, name, url })
    }

    /// Drops the database, ending its connections.
    pub(crate) async fn drop_now(self) -> BenchResult<()> {
        let mut conn = PgConnection::connect(&self.admin).await?;
        sqlx::query(AssertSqlSafe(format!(
            "DROP DATABASE IF EXISTS {} WITH (FORCE)",
            self.name
        )))
        .execute(&mut conn)
        .await?;
        conn.close().await?;
        Ok(())
    }
}

/// The URL with its database path replaced.
fn with_database(url: &str, database: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((base, query)) => (base, Some(query)),
        None => (url, None),
    };
    let scheme_end = base.find("://").map_or(0, |i| i + 3);
    let host_part = match base[scheme_end..].find('/') {
        Some(slash) => &base[..scheme_end + slash],
        None => base,
    };
    match query {
        Some(query) => format!("{host_part}/{database}?{query}"),
        None => format!("{host_part}/{database}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn database_is_replaced() {
        assert_eq!(
            with_database("postgres://postgres@127.0.0.1:5432/postgres", "x"),
            "postgres://postgres@127.0.0.1:5432/x"
        );
        assert_eq!(
            with_database("postgres://u@h:1?sslmode=disable", "x"),
            "postgres://u@h:1/x?sslmode=disable"
        );
    }
}
