//! The plans of a claim and of the next due time on a large table whose statistics are
//! stale (a bulk insert autovacuum has not analyzed yet): in index order, never a sort
//! of every due row. Needs the test server (`BGTASKS_TEST_POSTGRES_URL`, set by
//! `scripts/test.sh`).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use sqlx::{Connection, PgConnection, Row};

use super::begin_keyed;
use crate::claims::{NEXT_DUE, SELECT_DUE};
use crate::{PostgresJobStore, PostgresStoreOptions};

/// Due jobs inserted behind the planner's back: enough that, without the keyed settings,
/// the planner picks a bitmap scan and a sort (at 100,000 it still picks the index).
const ROWS: i64 = 300_000;

/// A store on a database of its own.
async fn fresh_store() -> PostgresJobStore {
    let admin = std::env::var("BGTASKS_TEST_POSTGRES_URL").expect(
        "BGTASKS_TEST_POSTGRES_URL is not set: run `bash scripts/test.sh`, which starts a \
         PostgreSQL server and sets it",
    );
    let name = format!("bgtasks_t_{}", uuid::Uuid::new_v4().simple());
    let mut connection = PgConnection::connect(&admin).await.expect("connect");
    sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
        .execute(&mut connection)
        .await
        .expect("create a test database");
    connection.close().await.ok();
    let (server, _) = admin.rsplit_once('/').expect("a URL with a database");
    PostgresJobStore::connect(&format!("{server}/{name}"), PostgresStoreOptions::default())
        .await
        .expect("connect the store")
}

/// The text of the plan of `sql` with the claim's or next-due's arguments, in a keyed
/// transaction.
async fn keyed_plan(store: &PostgresJobStore, sql: &str, claim: bool) -> String {
    let mut tx = begin_keyed(store.pool()).await.expect("begin");
    let explain = format!("EXPLAIN {sql}");
    let query = sqlx::query(sqlx::AssertSqlSafe(explain));
    let query = if claim {
        query
            .bind(None::<chrono::DateTime<chrono::Utc>>)
            .bind("node")
            .bind(100_i64)
            .bind(None::<Vec<String>>)
    } else {
        query.bind("node").bind(None::<Vec<String>>)
    };
    let rows = query.fetch_all(&mut *tx).await.expect("explain");
    tx.rollback().await.expect("rollback");
    rows.iter()
        .map(|row| row.get::<String, _>(0))
        .collect::<Vec<_>>()
        .join("\n")
}

#[tokio::test]
async fn claims_and_the_next_due_time_read_in_index_order_on_a_table_never_analyzed() {
    let store = fresh_store().await;
    let pool = store.pool();
    sqlx::query("ALTER TABLE bgtasks_jobs SET (autovacuum_enabled = false)")
        .execute(pool)
        .await
        .expect("keep autovacuum off the table");
    sqlx::query(
        "INSERT INTO bgtasks_jobs (id, name, job_group, job_type, args, status, description, \
           creation_time, begin_time, next_run_time, kind, trigger_count, try_count, \
           max_try_count, max_count, is_abandoned, interval_secs, priority, \
           lock_timeout_secs, source) \
         SELECT 'j' || i, 'j' || i, 'default', 'noop', '{}', 5, '', now(), now(), \
           now() - interval '1 minute', 0, 0, 0, 50, 0, false, 300, 15, 0, 0 \
         FROM generate_series(1, $1) AS i",
    )
    .bind(ROWS)
    .execute(pool)
    .await
    .expect("insert due jobs");
    let claim = keyed_plan(&store, SELECT_DUE, true).await;
    assert!(
        claim.contains("Index Scan using bgtasks_jobs_claim") && !claim.contains("Sort"),
        "a claim walks the claim index in order:\n{claim}"
    );
    let next = keyed_plan(&store, NEXT_DUE, false).await;
    assert!(
        next.contains("Index Scan using bgtasks_jobs_due") && !next.contains("Sort"),
        "the next due time is the first row of the due index:\n{next}"
    );
    store.close().await;
}
