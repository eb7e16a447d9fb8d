//! What the PostgreSQL tests share: the server from `BGTASKS_TEST_POSTGRES_URL` and a
//! fresh database per test, so that tests run in parallel.

#![allow(dead_code, unreachable_pub, clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use bgtasks_postgres::{PostgresJobStore, PostgresStoreOptions, TimeSource};
use sqlx::{Connection, PgConnection};

/// The superuser URL of the test server. Fails (never skips) when it is not set.
pub fn admin_url() -> String {
    match std::env::var("BGTASKS_TEST_POSTGRES_URL") {
        Ok(url) if !url.trim().is_empty() => url,
        _ => panic!(
            "BGTASKS_TEST_POSTGRES_URL is not set: the PostgreSQL store's tests need a \
             PostgreSQL server. Run `bash scripts/test.sh`, which starts one and sets it \
             (or `. scripts/postgres.sh && start_postgres` in your shell)."
        ),
    }
}

/// The URL of database `name` on the test server.
pub fn url_of(name: &str) -> String {
    let admin = admin_url();
    let (base, query) = match admin.split_once('?') {
        Some((base, query)) => (base.to_owned(), format!("?{query}")),
        None => (admin.clone(), String::new()),
    };
    let scheme_end = base.find("://").map_or(0, |i| i + 3);
    let server = match base[scheme_end..].find('/') {
        Some(slash) => &base[..scheme_end + slash],
        None => base.as_str(),
    };
    format!("{server}/{name}{query}")
}

/// A connection to the test server's `postgres` database, as its superuser.
pub async fn admin_connection() -> PgConnection {
    PgConnection::connect(&admin_url())
        .await
        .expect("connect to the test server as its superuser")
}

/// Creates an empty database of its own and returns its URL.
pub async fn fresh_database() -> String {
    let name = format!("bgtasks_t_{}", uuid::Uuid::new_v4().simple());
    let mut admin = admin_connection().await;
    sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
        .execute(&mut admin)
        .await
        .expect("create a test database");
    admin.close().await.ok();
    url_of(&name)
}

/// The options the tests use: a small pool, on the database's clock (the default).
pub fn options() -> PostgresStoreOptions {
    PostgresStoreOptions::default()
        .with_max_connections(4)
        .with_connect_timeout(Duration::from_secs(5))
}

/// [`options`] on the caller's clock, for tests that pass fixed times.
pub fn caller_clock_options() -> PostgresStoreOptions {
    options().with_time_source(TimeSource::Caller)
}

/// A store on the database at `url`, on the database's clock.
pub async fn connect(url: &str) -> PostgresJobStore {
    PostgresJobStore::connect(url, options())
        .await
        .expect("connect the store")
}

/// A store on the database at `url`, on the caller's clock (fixed times).
pub async fn connect_fixed(url: &str) -> PostgresJobStore {
    PostgresJobStore::connect(url, caller_clock_options())
        .await
        .expect("connect the store")
}
