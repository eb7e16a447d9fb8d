//! What the handlers and the jobs share.

use bgtasks::sqlite::sqlx::SqlitePool;

/// The service's shared state. The handlers hold it, and the runtime gives it to every
/// run (`RuntimeBuilder::state`), which reads it with `ctx.state::<AppState>()`.
#[derive(Debug)]
pub struct AppState {
    /// The application's database: the same file as the job store's, so that a signup
    /// and its welcome job are written in one transaction.
    pub db: SqlitePool,
    /// The sender of the service's mail.
    pub sender: String,
    /// How many signups the service takes in all (a closed beta).
    pub max_signups: i64,
}
