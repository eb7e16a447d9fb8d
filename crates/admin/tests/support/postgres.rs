//! The PostgreSQL test server (`BGTASKS_TEST_POSTGRES_URL`) and a fresh database per
//! test, as the PostgreSQL store's own tests do.

use std::time::Duration;

use bgtasks_postgres::{PostgresJobStore, PostgresStoreOptions};
use sqlx::{Connection, PgConnection};

/// The superuser URL of the test server. Fails (never skips) when it is not set.
pub fn admin_url() -> String {
    match std::env::var("BGTASKS_TEST_POSTGRES_URL") {
        Ok(url) if !url.trim().is_empty() => url,
        _ => panic!(
            "BGTASKS_TEST_POSTGRES_URL is not set: the admin's PostgreSQL tests need a \
             PostgreSQL server. Run `bash scripts/test.sh`, which starts one and sets it \
             (or `. scripts/postgres.sh && start_postgres` in your shell)."
        ),
    }
}

/// The URL of database `name` on the test server.
fn url_of(name: &str) -> String {
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

/// Creates an empty database of its own and returns its URL.
pub async fn fresh_database() -> String {
    let name = format!("bgtasks_admin_{}", uuid::Uuid::new_v4().simple());
    let mut admin = PgConnection::connect(&admin_url())
        .await
        .expect("connect to the test server as its superuser");
    sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
        .execute(&mut admin)
        .await
        .expect("create a test database");
    admin.close().await.ok();
    url_of(&name)
}

/// A store on the database at `url`.
pub async fn connect(url: &str) -> PostgresJobStore {
    let options = PostgresStoreOptions::default()
        .with_max_connections(4)
        .with_connect_timeout(Duration::from_secs(5));
    PostgresJobStore::connect(url, options)
        .await
        .expect("connect the store")
}
