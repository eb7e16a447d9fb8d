//! The application's own tables, in the same SQLite file as the job store's.

use bgtasks::sqlite::sqlx::{self, SqliteConnection, SqlitePool};

/// The application's schema: its signups, and the outbox the welcome job writes to.
const SCHEMA: [&str; 2] = [
    "CREATE TABLE IF NOT EXISTS signups (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        email TEXT NOT NULL UNIQUE COLLATE NOCASE,
        created_at INTEGER NOT NULL,
        welcomed_at INTEGER
    )",
    "CREATE TABLE IF NOT EXISTS sent_mails (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        signup_id INTEGER NOT NULL REFERENCES signups (id),
        from_address TEXT NOT NULL,
        to_address TEXT NOT NULL,
        subject TEXT NOT NULL,
        sent_at INTEGER NOT NULL
    )",
];

/// Creates the application's tables when they are missing.
pub(crate) async fn migrate(pool: &SqlitePool) -> Result<(), sqlx::Error> {
    for statement in SCHEMA {
        sqlx::query(statement).execute(pool).await?;
    }
    Ok(())
}

/// Now, in Unix seconds.
pub(crate) fn now() -> i64 {
    bgtasks::chrono::Utc::now().timestamp()
}

/// What inserting a signup did.
pub(crate) enum Inserted {
    /// The new row's id.
    Row(i64),
    /// The address is already signed up.
    Taken,
}

/// Inserts a signup for `email` on `conn` (in the caller's transaction).
pub(crate) async fn insert_signup(
    conn: &mut SqliteConnection,
    email: &str,
) -> Result<Inserted, sqlx::Error> {
    let id: Option<i64> = sqlx::query_scalar(
        "INSERT INTO signups (email, created_at) VALUES (?, ?) \
         ON CONFLICT (email) DO NOTHING RETURNING id",
    )
    .bind(email)
    .bind(now())
    .fetch_optional(&mut *conn)
    .await?;
    Ok(id.map_or(Inserted::Taken, Inserted::Row))
}

/// How many signups there are, as `conn` sees them.
pub(crate) async fn count_signups(conn: &mut SqliteConnection) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar("SELECT count(*) FROM signups")
        .fetch_one(&mut *conn)
        .await
}
